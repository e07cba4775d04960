// Bundles each CLI into one ES module so that a command starts with a single
// file read (start-up time matters when a script runs lpf once per file).
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { build } from 'esbuild';

const shared = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  // These stay external, loaded from node_modules when needed: the prompts, the progress bar, and
  // the certificate maker (only when the server makes its own certificate). Bundled, the x509 code
  // made the server's bundle six times larger and cost 2.5 MiB of resident memory even unused. The
  // PostgreSQL client is loaded only with --accounts. ws (CommonJS) is loaded from node_modules as it is.
  external: ['pino', 'pino-pretty', '@inquirer/prompts', 'cli-progress', '@peculiar/x509', 'reflect-metadata', 'pg', 'ws'],
  logLevel: 'warning',
};

// The web client's page: one script (the shared protocol codec included, with the `buffer` package
// standing in for Node's Buffer), its style sheet and its HTML, served by lpf-server from dist/web/.
const web = {
  bundle: true,
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  format: 'esm',
  sourcemap: 'linked',
  inject: ['src/web/buffer-shim.ts'],
  logLevel: 'warning',
};

// Chunk names carry a content hash: those of earlier builds would pile up.
await rm('dist/chunks', { recursive: true, force: true });
await mkdir('dist/web', { recursive: true });
await Promise.all([
  build({ ...shared, entryPoints: ['src/cli/lpf.ts'], outfile: 'dist/lpf.js' }),
  // The S3 storage (and the AWS SDK it brings, over 1 MiB) is a chunk of its own, loaded only by a
  // server started with --storage s3://…: a server on the local disk starts and runs without it.
  build({
    ...shared,
    entryPoints: { 'lpf-server': 'src/cli/lpf-server.ts' },
    outdir: 'dist',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    // The AWS SDK is CommonJS and requires Node's modules at run time: an ES module needs a require for that.
    banner: { js: "import { createRequire as lpfCreateRequire } from 'node:module'; const require = lpfCreateRequire(import.meta.url);" },
  }),
  build({ ...web, entryPoints: ['src/web/app.ts'], outfile: 'dist/web/app.js' }),
  copyFile('src/web/index.html', 'dist/web/index.html'),
  copyFile('src/web/app.css', 'dist/web/app.css'),
]);
