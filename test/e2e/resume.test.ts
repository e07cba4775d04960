/** Resume after crashes and cuts, corruption in flight, stale partials, concurrent writers. */
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha256File, writeRandomFile } from '../helpers/files.js';
import { asUser, collect, runLpf, spawnLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

const MiB = 1024 * 1024;

/** Waits (bounded) until some file in `dir` has at least `bytes` bytes. */
async function waitForBytes(dir: string, bytes: number, timeoutMs = 30_000): Promise<void> {
  const reached = async () => {
    const names = await readdir(dir).catch(() => [] as string[]);
    const sizes = await Promise.all(
      names.map((n) =>
        stat(join(dir, n)).then(
          (s) => s.size,
          () => 0,
        ),
      ),
    );
    return sizes.some((s) => s >= bytes);
  };
  await waitFor(reached, { what: `a file in ${dir} reaches ${bytes} bytes`, timeoutMs, everyMs: 2 });
}

function resumedBytes(stdout: string): number {
  const m = /resumed after ([\d.]+) (B|KiB|MiB|GiB)/.exec(stdout);
  if (!m) return 0;
  return Number(m[1]) * { B: 1, KiB: 1024, MiB: MiB, GiB: 1024 * MiB }[m[2] as 'B'];
}

describe('resume', () => {
  let dir: { path: string; cleanup(): Promise<void> };
  let big: string;
  const user = asUser('rhea', 'rheas-password');

  before(async () => {
    dir = await tempDir();
    big = join(dir.path, 'big.bin');
    await writeRandomFile(big, 400 * MiB);
  });
  after(() => dir.cleanup());

  test('SIGKILL the server mid-upload, restart it: nothing under the final name, and the upload resumes', async () => {
    const root = join(dir.path, 'root-kill-server');
    let server: RunningServer = await startServer({ root });
    await runLpf([server.address, '-list'], { env: asUser('rhea', 'rheas-password', true) });
    const upload = collect(spawnLpf([server.address, '-upload', big, '--to', 'big.bin'], { env: user }), 120_000);
    await waitForBytes(join(root, 'partial', 'rhea'), 40 * MiB);
    server.process.kill('SIGKILL');
    const cut = await upload;
    assert.equal(cut.code, 4, cut.stderr);
    await assert.rejects(stat(join(root, 'files', 'rhea', 'big.bin')), 'no file under the final name');
    assert.ok(
      (await readdir(join(root, 'partial', 'rhea'))).some((n) => n.endsWith('.part')),
      'the partial is kept',
    );

    server = await startServer({ root });
    try {
      const again = await runLpf([server.address, '-upload', big, '--to', 'big.bin'], { env: user });
      assert.equal(again.code, 0, again.stderr);
      const resumed = resumedBytes(again.stdout);
      assert.ok(resumed >= 4 * MiB && resumed < 400 * MiB, `resumed part way: ${again.stdout}`);
      const log = server.logs.find((l) => l.msg === 'upload resumed');
      assert.ok(log && (log.offset as number) > 0 && (log.offset as number) % (4 * MiB) === 0);
      assert.equal(await sha256File(join(root, 'files', 'rhea', 'big.bin')), await sha256File(big));
      assert.deepEqual(await readdir(join(root, 'partial', 'rhea')), [], 'partial files cleaned up');
    } finally {
      await server.stop();
    }
  });

  test('kill the client mid-download, run it again: it resumes and ends byte-identical', async () => {
    const root = join(dir.path, 'root-kill-client');
    const server = await startServer({ root });
    try {
      await runLpf([server.address, '-list'], { env: asUser('rhea', 'rheas-password', true) });
      assert.equal((await runLpf([server.address, '-upload', big, '--to', 'big.bin'], { env: user })).code, 0);
      const target = join(dir.path, 'downloaded.bin');
      const child = spawnLpf([server.address, '-download', 'big.bin', '--to', target], { env: user });
      await waitForPartial(join(dir.path, '.downloaded.bin.lpf-part'), 40 * MiB);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      await assert.rejects(stat(target), 'no file under the final name');

      const again = await runLpf([server.address, '-download', 'big.bin', '--to', target], { env: user });
      assert.equal(again.code, 0, again.stderr);
      assert.ok(resumedBytes(again.stdout) > 0, again.stdout);
      assert.equal(await sha256File(target), await sha256File(big));
      assert.deepEqual(
        (await readdir(dir.path)).filter((n) => n.includes('lpf-part')),
        [],
        'partial files cleaned up',
      );
    } finally {
      await server.stop();
    }
  });

  test('a local file changed since the cut-off upload is sent whole, not spliced', async () => {
    const root = join(dir.path, 'root-changed');
    const server = await startServer({ root });
    try {
      await runLpf([server.address, '-list'], { env: asUser('rhea', 'rheas-password', true) });
      const file = join(dir.path, 'changing.bin');
      await writeRandomFile(file, 200 * MiB);
      const child = spawnLpf([server.address, '-upload', file, '--to', 'changing.bin'], { env: user });
      await waitForBytes(join(root, 'partial', 'rhea'), 20 * MiB);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      await writeRandomFile(file, 200 * MiB); // same size, new content and mtime
      const again = await runLpf([server.address, '-upload', file, '--to', 'changing.bin'], { env: user });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(resumedBytes(again.stdout), 0);
      assert.equal(await sha256File(join(root, 'files', 'rhea', 'changing.bin')), await sha256File(file));
    } finally {
      await server.stop();
    }
  });
});

async function waitForPartial(path: string, bytes: number, timeoutMs = 30_000): Promise<void> {
  const reached = async () => ((await stat(path).catch(() => undefined))?.size ?? 0) >= bytes;
  await waitFor(reached, { what: `${path} reaches ${bytes} bytes`, timeoutMs, everyMs: 2 });
}

describe('corruption in flight (a proxy that flips one byte)', () => {
  let server: RunningServer;
  let dir: { path: string; cleanup(): Promise<void> };
  let proxy: Server;
  let proxyPort: number;
  /** Which direction to damage, and how far into the stream. */
  let flip: { direction: 'up' | 'down'; at: number } = { direction: 'up', at: Number.MAX_SAFE_INTEGER };

  before(async () => {
    // Plain TCP: under TLS a flipped byte breaks the record MAC before lpf's checksum is reached.
    server = await startServer({ args: ['--plain'] });
    dir = await tempDir();
    proxy = createServer((client) => {
      const upstream = connect({ host: '127.0.0.1', port: server.port });
      const damage = (direction: 'up' | 'down') => {
        let seen = 0;
        return (chunk: Buffer) => {
          if (flip.direction === direction && seen <= flip.at && flip.at < seen + chunk.length) {
            chunk = Buffer.from(chunk);
            chunk[flip.at - seen] = (chunk[flip.at - seen] as number) ^ 0x01;
          }
          seen += chunk.length;
          return chunk;
        };
      };
      const up = damage('up');
      const down = damage('down');
      client.on('data', (d: Buffer) => upstream.write(up(d)));
      upstream.on('data', (d: Buffer) => client.write(down(d)));
      client.on('end', () => upstream.end());
      upstream.on('end', () => client.end());
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    proxyPort = await new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve((proxy.address() as { port: number }).port)));
    await runLpf([`127.0.0.1:${proxyPort}`, '-list', '--plain'], { env: asUser('cora', 'coras-password', true) });
  });
  after(async () => {
    await new Promise((r) => proxy.close(r));
    await server.stop();
    await dir.cleanup();
  });

  test('a flipped byte in an upload is detected, reported, and nothing is stored', async () => {
    const file = join(dir.path, 'up.bin');
    await writeRandomFile(file, 10 * MiB);
    flip = { direction: 'up', at: 3 * MiB + 1000 }; // inside a DATA payload, not a frame header
    const r = await runLpf([`127.0.0.1:${proxyPort}`, '-upload', file, '--to', 'up.bin', '--plain'], {
      env: asUser('cora', 'coras-password'),
    });
    assert.equal(r.code, 11, r.stderr);
    assert.match(r.stderr, /LPF_ERR_CHECKSUM/);
    await assert.rejects(stat(join(server.root, 'files', 'cora', 'up.bin')));
    // The damaged partial is not kept for a resume.
    await waitFor(async () => (await readdir(join(server.root, 'partial', 'cora'))).length === 0, {
      what: 'the damaged partial is removed',
    });
  });

  test('a flipped byte in a download is detected, reported, and no file appears', async () => {
    const file = join(dir.path, 'down.bin');
    await writeRandomFile(file, 10 * MiB);
    flip = { direction: 'up', at: Number.MAX_SAFE_INTEGER };
    assert.equal(
      (await runLpf([`127.0.0.1:${proxyPort}`, '-upload', file, '--to', 'down.bin', '--plain'], { env: asUser('cora', 'coras-password') }))
        .code,
      0,
    );
    flip = { direction: 'down', at: 5 * MiB + 777 };
    const target = join(dir.path, 'got.bin');
    const r = await runLpf([`127.0.0.1:${proxyPort}`, '-download', 'down.bin', '--to', target, '--plain'], {
      env: asUser('cora', 'coras-password'),
    });
    assert.equal(r.code, 11, r.stderr);
    await assert.rejects(stat(target));
    assert.deepEqual(
      (await readdir(dir.path)).filter((n) => n.includes('lpf-part')),
      [],
    );
  });
});

describe('stale partials and concurrent writers', () => {
  test('a partial nobody resumes is removed after --partial-ttl', async () => {
    const dir = await tempDir();
    const server = await startServer({ args: ['--partial-ttl', '1'] });
    try {
      await runLpf([server.address, '-list'], { env: asUser('ida', 'idas-password', true) });
      const file = join(dir.path, 'f.bin');
      await writeRandomFile(file, 300 * MiB);
      const child = spawnLpf([server.address, '-upload', file], { env: asUser('ida', 'idas-password') });
      const partial = join(server.root, 'partial', 'ida');
      await waitForBytes(partial, 10 * MiB);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      await waitFor(async () => (await readdir(partial)).length === 0, { what: 'the partial past its TTL is removed' });
    } finally {
      await server.stop();
      await dir.cleanup();
    }
  });

  test('two uploads of the same name at once both finish, and the file is one of them, whole', async () => {
    const dir = await tempDir();
    const server = await startServer();
    try {
      await runLpf([server.address, '-list'], { env: asUser('jo', 'jos-password', true) });
      const a = join(dir.path, 'a.bin');
      const b = join(dir.path, 'b.bin');
      await writeRandomFile(a, 30 * MiB);
      await writeRandomFile(b, 30 * MiB + 1);
      const [ra, rb] = await Promise.all(
        [a, b].map((f) => runLpf([server.address, '-upload', f, '--to', 'same.bin'], { env: asUser('jo', 'jos-password') })),
      );
      assert.equal(ra?.code, 0, ra?.stderr);
      assert.equal(rb?.code, 0, rb?.stderr);
      const stored = await sha256File(join(server.root, 'files', 'jo', 'same.bin'));
      assert.ok([await sha256File(a), await sha256File(b)].includes(stored));
    } finally {
      await server.stop();
      await dir.cleanup();
    }
  });

  test('-list --long shows each file checksum, the same one --checksum prints after a transfer', async () => {
    const dir = await tempDir();
    const server = await startServer();
    try {
      await runLpf([server.address, '-list'], { env: asUser('kim', 'kims-password', true) });
      const file = join(dir.path, 'doc.txt');
      await writeFile(file, 'hello lpf');
      const up = await runLpf([server.address, '-upload', file, '--checksum'], { env: asUser('kim', 'kims-password') });
      const printed = /LPF-SHA256 \(doc\.txt\) = ([0-9a-f]{64})/.exec(up.stdout)?.[1];
      assert.ok(printed, up.stdout);
      const list = await runLpf([server.address, '-list', '--long'], { env: asUser('kim', 'kims-password') });
      assert.match(list.stdout, new RegExp(`9  \\S+ \\S+  ${printed}  doc\\.txt`));
      // One block: the checksum is SHA-256 of the block's SHA-256.
      const { createHash } = await import('node:crypto');
      const block = createHash('sha256')
        .update(await readFile(file))
        .digest();
      assert.equal(printed, createHash('sha256').update(block).digest('hex'));
    } finally {
      await server.stop();
      await dir.cleanup();
    }
  });
});

describe('partials without a whole block', () => {
  test('a keyed upload cut off before its first 4 MiB can be retried at once', async () => {
    const server = await startServer();
    try {
      const { RawPeer } = await import('../helpers/raw-client.js');
      const { ContentHasher, encodeDataHeader } = await import('../../src/protocol/index.js');
      const content = Buffer.alloc(1000, 7);
      const first = await RawPeer.session(server.port, 'una', 'unas-password', true);
      first.send({ type: 'upload', name: 'small.bin', size: content.length, key: 'same-key' });
      assert.equal((await first.next()).type, 'ready');
      first.writeRaw(Buffer.concat([encodeDataHeader(500), content.subarray(0, 500)]));
      await waitForBytes(join(server.root, 'partial', 'una'), 500);
      first.close();
      await waitFor(() => server.logs.some((l) => String(l.msg).startsWith('upload interrupted')), { what: 'the server sees the cut' });

      const second = await RawPeer.session(server.port, 'una', 'unas-password', false);
      second.send({ type: 'upload', name: 'small.bin', size: content.length, key: 'same-key' });
      const ready = await second.next();
      assert.deepEqual(ready, { type: 'ready', offset: 0 });
      const hasher = new ContentHasher();
      hasher.update(content);
      second.writeRaw(Buffer.concat([encodeDataHeader(content.length), content]));
      second.send({ type: 'end', sha256: hasher.digest() });
      assert.equal((await second.next()).type, 'stored');
      second.close();
      assert.deepEqual(await readFile(join(server.root, 'files', 'una', 'small.bin')), content);
    } finally {
      await server.stop();
    }
  });
});
