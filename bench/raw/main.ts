/**
 * Command line of the raw Node pipe (bundled to raw-pipe.mjs by the bench):
 *   serve DIR [CERT KEY]             print {"port":N} once listening on 127.0.0.1
 *   put PORT FILE NAME [CA]          upload, exit 0 once the server has fsynced it
 *   get PORT NAME OUT [CA]           download, exit 0 once the local copy is fsynced
 *   put-all PORT PREFIX FILE...      upload each file (one connection each) as PREFIX + its base name
 * The host is always the loopback.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { LOOPBACK } from '../lib/net.js';
import { rawGet, rawPut, startRawServer } from './pipe.js';

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const read = (path: string | undefined) => (path === undefined ? undefined : readFileSync(path, 'utf8'));
  switch (command) {
    case 'serve': {
      const [dir, cert, key] = rest;
      if (dir === undefined) throw new Error('serve DIR [CERT KEY]');
      const tls = cert !== undefined && key !== undefined ? { cert: read(cert) as string, key: read(key) as string } : undefined;
      const { port } = await startRawServer(dir, LOOPBACK, tls);
      process.stdout.write(`${JSON.stringify({ msg: 'listening', port })}\n`);
      return;
    }
    case 'put': {
      const [port, file, name, ca] = rest;
      if (port === undefined || file === undefined || name === undefined) throw new Error('put PORT FILE NAME [CA]');
      await rawPut(LOOPBACK, Number(port), file, name, read(ca));
      process.exit(0);
      break;
    }
    case 'get': {
      const [port, name, out, ca] = rest;
      if (port === undefined || name === undefined || out === undefined) throw new Error('get PORT NAME OUT [CA]');
      await rawGet(LOOPBACK, Number(port), name, out, read(ca));
      process.exit(0);
      break;
    }
    case 'put-all': {
      const [port, prefix, ...files] = rest;
      if (port === undefined || prefix === undefined) throw new Error('put-all PORT PREFIX FILE...');
      for (const file of files) await rawPut(LOOPBACK, Number(port), file, `${prefix}${basename(file)}`);
      process.exit(0);
      break;
    }
    default:
      throw new Error(`unknown command ${command ?? ''}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`raw-pipe: ${(err as Error).message}\n`);
  process.exit(1);
});
