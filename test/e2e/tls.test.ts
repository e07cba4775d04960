/** TLS by default, trust on first use, a changed certificate, --plain, --ca, and what an eavesdropper sees. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTestPki } from '../helpers/certs.js';
import { asUser, runLpf, startServer, tempDir } from '../helpers/processes.js';

/** Runs with a known_hosts of its own, so each test starts as a client that has never met a server. */
async function freshConfig(): Promise<{ env: Record<string, string>; knownHosts: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'lpf-tls-config-'));
  return {
    env: { XDG_CONFIG_HOME: dir },
    knownHosts: join(dir, 'lpf', 'known_hosts'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

describe('TLS identity and trust on first use', () => {
  test('the server makes a private key and a certificate on first start and keeps them', async () => {
    const first = await startServer({ ownCertificate: true });
    const root = first.root;
    try {
      const key = await stat(join(root, 'tls', 'key.pem'));
      assert.equal(key.mode & 0o777, 0o600);
      const fp = first.logs.find((l) => l.msg === 'listening')?.fingerprint;
      assert.match(String(fp), /^SHA256:[0-9A-F:]{95}$/);
      first.process.kill();
      await new Promise((r) => first.process.once('exit', r));
      const second = await startServer({ root, ownCertificate: true });
      assert.equal(second.logs.find((l) => l.msg === 'listening')?.fingerprint, fp, 'same identity after a restart');
      await second.stop();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('the first connection remembers the fingerprint; a changed certificate is refused loudly', async () => {
    const config = await freshConfig();
    const a = await startServer({ ownCertificate: true });
    try {
      const first = await runLpf([a.address, '-ping'], { env: config.env });
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stderr, /trusting 127\.0\.0\.1:\d+ on first use/);
      const remembered = await readFile(config.knownHosts, 'utf8');
      assert.match(remembered, new RegExp(`^127\\.0\\.0\\.1:${a.port} SHA256:[0-9A-F:]{95}\\n$`));
      assert.equal((await stat(config.knownHosts)).mode & 0o777, 0o600);
      const quiet = await runLpf([a.address, '-ping'], { env: config.env });
      assert.equal(quiet.stderr, '', 'a known server raises no warning');

      // Another server (another certificate) on the same address.
      const port = a.port;
      await a.stop();
      const b = await startServer({ ownCertificate: true, port });
      try {
        const r = await runLpf([b.address, '-list'], { env: { ...config.env, ...asUser('eve', 'pw', true) } });
        assert.equal(r.code, 12, r.stderr);
        assert.match(r.stderr, /LPF_ERR_HOST_KEY/);
        assert.match(r.stderr, /CERTIFICATE HAS CHANGED/);
        assert.match(r.stderr, /remembered: SHA256:/);
        assert.match(r.stderr, /presented: +SHA256:/);
        assert.match(r.stderr, new RegExp(`remove the line for 127\\.0\\.0\\.1:${port}`));
        // Nothing was sent: no account was created.
        assert.ok(!b.logs.some((l) => l.msg === 'registered'));
        assert.equal(await readFile(config.knownHosts, 'utf8'), remembered, 'known_hosts untouched');
      } finally {
        await b.stop();
      }
    } finally {
      await config.cleanup();
    }
  });

  test('LPF_STRICT_HOST_KEY=1 refuses a server it has not met', async () => {
    const config = await freshConfig();
    const server = await startServer();
    try {
      const r = await runLpf([server.address, '-ping'], { env: { ...config.env, LPF_STRICT_HOST_KEY: '1' } });
      assert.equal(r.code, 12);
      assert.match(r.stderr, /LPF_STRICT_HOST_KEY=1/);
    } finally {
      await server.stop();
      await config.cleanup();
    }
  });
});

describe('--plain', () => {
  test('works when both sides say so, with a warning', async () => {
    const server = await startServer({ args: ['--plain'] });
    try {
      const r = await runLpf([server.address, '-ping', '--plain']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /warning: --plain: TLS is off/);
      assert.ok(server.logs.some((l) => l.msg === 'TLS is off (--plain): passwords and files cross the network unencrypted'));
    } finally {
      await server.stop();
    }
  });

  test('a mismatch on either side fails with a hint, not a hang', async () => {
    const tlsServer = await startServer();
    const plainServer = await startServer({ args: ['--plain'] });
    try {
      const plainToTls = await runLpf([tlsServer.address, '-ping', '--plain'], { timeoutMs: 20_000 });
      assert.notEqual(plainToTls.code, 0);
      assert.match(plainToTls.stderr, /--plain/);
      const tlsToPlain = await runLpf([plainServer.address, '-ping'], { timeoutMs: 20_000 });
      assert.notEqual(tlsToPlain.code, 0);
      assert.match(tlsToPlain.stderr, /without TLS|--plain/);
    } finally {
      await tlsServer.stop();
      await plainServer.stop();
    }
  });
});

describe('--ca', () => {
  test('a server with a CA-signed certificate is verified without trust on first use', async () => {
    const pki = await makeTestPki();
    const dir = await tempDir();
    const config = await freshConfig();
    await writeFile(join(dir.path, 'ca.pem'), pki.caCert);
    await writeFile(join(dir.path, 'server.pem'), pki.serverCert);
    await writeFile(join(dir.path, 'server.key'), pki.serverKey, { mode: 0o600 });
    const server = await startServer({ args: ['--cert', join(dir.path, 'server.pem'), '--key', join(dir.path, 'server.key')] });
    try {
      const ok = await runLpf([server.address, '-ping', '--ca', join(dir.path, 'ca.pem')], { env: config.env });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stderr, '');
      await assert.rejects(stat(config.knownHosts), 'nothing pinned with --ca');

      const otherPki = await makeTestPki();
      await writeFile(join(dir.path, 'other-ca.pem'), otherPki.caCert);
      const bad = await runLpf([server.address, '-ping', '--ca', join(dir.path, 'other-ca.pem')], { env: config.env });
      assert.equal(bad.code, 12, bad.stderr);
      assert.match(bad.stderr, /LPF_ERR_TLS/);
    } finally {
      await server.stop();
      await dir.cleanup();
      await config.cleanup();
    }
  });
});

describe('what an eavesdropper on the path sees', () => {
  let proxy: Server;
  let captured: Buffer[] = [];

  /** A pass-through proxy on loopback that records every byte in both directions. */
  function startProxy(targetPort: number): Promise<number> {
    captured = [];
    proxy = createServer((client) => {
      const upstream = connect({ host: '127.0.0.1', port: targetPort });
      client.on('data', (d: Buffer) => captured.push(Buffer.from(d)));
      upstream.on('data', (d: Buffer) => captured.push(Buffer.from(d)));
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve((proxy.address() as { port: number }).port)));
  }

  let dir: { path: string; cleanup(): Promise<void> };
  before(async () => {
    dir = await tempDir();
  });
  after(() => dir.cleanup());

  for (const plain of [false, true]) {
    test(
      plain
        ? 'with --plain, the password and the content are visible (the proxy works)'
        : 'neither the password nor the file content crosses in clear',
      async () => {
        const server = await startServer(plain ? { args: ['--plain'] } : {});
        const port = await startProxy(server.port);
        const password = `pw-${plain ? 'plain' : 'tls'}-XYZZY-4242`;
        const content = `the file content ${'PLUGH-'.repeat(50)}`;
        const file = join(dir.path, `secret-${plain}`);
        await writeFile(file, content);
        try {
          const flags = plain ? ['--plain'] : [];
          const r = await runLpf([`127.0.0.1:${port}`, '-upload', file, '--to', 'secret.txt', ...flags], {
            env: asUser('watched', password, true),
          });
          assert.equal(r.code, 0, r.stderr);
          const wire = Buffer.concat(captured);
          assert.ok(wire.length > content.length, 'the proxy saw the traffic');
          assert.equal(wire.includes(password), plain);
          assert.equal(wire.includes('PLUGH-PLUGH-'), plain);
        } finally {
          await new Promise((r) => proxy.close(r));
          await server.stop();
        }
      },
    );
  }
});
