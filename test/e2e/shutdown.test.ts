/** Graceful shutdown: SIGTERM lets a transfer in flight finish, tells idle clients why, and exits 0. */
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { sha256File, writeRandomFile } from '../helpers/files.js';
import { asUser, collect, runLpf, spawnLpf, startServer, tempDir } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait-for.js';

async function waitForPartialData(dir: string, timeoutMs: number): Promise<void> {
  const started = async () => {
    const parts = await readdir(dir).catch(() => [] as string[]);
    const sizes = await Promise.all(
      parts.map((p) =>
        stat(join(dir, p)).then(
          (s) => s.size,
          () => 0,
        ),
      ),
    );
    return sizes.some((s) => s > 0);
  };
  await waitFor(started, { what: 'the upload starts', timeoutMs, everyMs: 5 });
}

test('SIGTERM during an upload: the upload completes, idle clients are told, then the server exits 0', async () => {
  const dir = await tempDir();
  const server = await startServer({ args: ['--grace', '60'] });
  try {
    const big = join(dir.path, 'big.bin');
    await writeRandomFile(big, 300 * 1024 * 1024);
    await runLpf([server.address, '-list'], { env: asUser('sam', 'sams-password', true) });
    const idle = await RawPeer.session(server.port, 'sam', 'sams-password', false);

    const upload = collect(spawnLpf([server.address, '-upload', big, '--to', 'big.bin'], { env: asUser('sam', 'sams-password') }), 120_000);
    await waitForPartialData(join(server.root, 'partial', 'sam'), 20_000);
    server.process.kill('SIGTERM');

    const idleReply = await idle.next();
    assert.equal(idleReply.type === 'error' && idleReply.code, 'LPF_ERR_SHUTDOWN');

    const result = await upload;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await server.exited, 0);
    assert.equal(await sha256File(join(server.root, 'files', 'sam', 'big.bin')), await sha256File(big));
    assert.ok(server.logs.some((l) => l.msg === 'stopped'));
    // Once it is down, new clients get a clear "connection refused".
    const after = await runLpf([server.address, '-ping']);
    assert.equal(after.code, 3);
  } finally {
    await server.stop();
    await dir.cleanup();
  }
});

test('a second signal stops the server at once', async () => {
  const dir = await tempDir();
  const server = await startServer({ args: ['--grace', '60'] });
  try {
    const big = join(dir.path, 'big2.bin');
    await writeRandomFile(big, 300 * 1024 * 1024);
    await runLpf([server.address, '-list'], { env: asUser('tom', 'toms-password', true) });
    const upload = collect(spawnLpf([server.address, '-upload', big, '--to', 'big.bin'], { env: asUser('tom', 'toms-password') }), 120_000);
    await waitForPartialData(join(server.root, 'partial', 'tom'), 20_000);
    server.process.kill('SIGTERM');
    // Two signals sent at once may arrive as one: the second is sent once the first is being acted on.
    await waitFor(() => server.logs.some((l) => String(l.msg).startsWith('shutting down')), { what: 'the server starts shutting down' });
    server.process.kill('SIGTERM');
    assert.equal(await server.exited, 143);
    const result = await upload;
    assert.notEqual(result.code, 0, 'the cut-off client reports the failure');
    await assert.rejects(stat(join(server.root, 'files', 'tom', 'big.bin')));
  } finally {
    await server.stop();
    await dir.cleanup();
  }
});

test('SIGTERM while a refused upload is being skipped: that connection is told LPF_ERR_SHUTDOWN too', async () => {
  const server = await startServer({ args: ['--grace', '60', '--max-file-size', '1K'] });
  try {
    await runLpf([server.address, '-list'], { env: asUser('uma', 'umas-password', true) });
    const idle = await RawPeer.session(server.port, 'uma', 'umas-password', false);
    const skipping = await RawPeer.session(server.port, 'uma', 'umas-password', false);
    // Refused for its size: the server now drops the DATA and the end that a pipelining client would send.
    skipping.send({ type: 'upload', name: 'too-big', size: 4096 });
    const refusal = await skipping.next();
    assert.equal(refusal.type === 'error' && refusal.code, 'LPF_ERR_TOO_LARGE');
    server.process.kill('SIGTERM');
    for (const peer of [idle, skipping]) {
      const reply = await peer.next();
      assert.equal(reply.type === 'error' && reply.code, 'LPF_ERR_SHUTDOWN');
    }
    // Every connection was idle: the server stops without waiting for the 60 s grace.
    assert.equal(await server.exited, 0);
  } finally {
    await server.stop();
  }
});
