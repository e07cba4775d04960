/**
 * What only a local disk can hold, placed in the data folder behind the server's back: symbolic links, FIFOs,
 * partial files. Always on the disk (storage: 'disk'), so this file is not part of the S3 pass (npm run test:s3),
 * whose files run unchanged on either backend.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, open, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { encodeDataHeader } from '../../src/protocol/index.js';
import { asUser, runLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait-for.js';

describe('symbolic links in the data folder', () => {
  let server: RunningServer;
  let dir: { path: string; cleanup(): Promise<void> };
  const quinn = asUser('quinn', 'quinn-password');
  before(async () => {
    server = await startServer({ storage: 'disk' });
    dir = await tempDir();
    await runLpf([server.address, '-list'], { env: asUser('quinn', 'quinn-password', true) });
  });
  after(async () => {
    await server.stop();
    await dir.cleanup();
  });

  test('a symbolic link in a user folder is neither listed nor followed', async () => {
    const outside = join(dir.path, 'outside.txt');
    await writeFile(outside, 'not yours');
    const userDir = join(server.root, 'files', 'quinn');
    await mkdir(userDir, { recursive: true }); // made by a first upload, which this test does without
    await symlink(outside, join(userDir, 'link'));
    const list = await runLpf([server.address, '-list'], { env: quinn });
    assert.doesNotMatch(list.stdout, /link/);
    const down = await runLpf([server.address, '-download', 'link', '--to', join(dir.path, 'got')], { env: quinn });
    assert.equal(down.code, 7, down.stderr);
    const del = await runLpf([server.address, '-delete', 'link'], { env: quinn });
    assert.equal(del.code, 7);
    assert.equal(await readFile(outside, 'utf8'), 'not yours');
    await rm(join(userDir, 'link'));
  });

  test('a user folder replaced by a link to another folder is refused', async () => {
    await runLpf([server.address, '-list'], { env: asUser('rita', 'rita-password', true) });
    const elsewhere = join(dir.path, 'elsewhere');
    await mkdir(elsewhere);
    await writeFile(join(elsewhere, 'x'), 'x');
    await rm(join(server.root, 'files', 'rita'), { recursive: true, force: true });
    await symlink(elsewhere, join(server.root, 'files', 'rita'));
    const r = await runLpf([server.address, '-list'], { env: asUser('rita', 'rita-password') });
    assert.equal(r.code, 10, r.stderr);
    assert.doesNotMatch(r.stdout, /\bx\b/);
  });
});

describe('kept partial uploads and the quota', () => {
  test('a cut-off upload kept for a resume is charged to the quota (and the refusal says so); its resume is not charged twice', async () => {
    const MiB = 1024 * 1024;
    const server = await startServer({ storage: 'disk', args: ['--quota', '12M'] });
    const dir = await tempDir();
    const partials = join(server.root, 'partial', 'paula');
    try {
      assert.equal((await runLpf([server.address, '-list'], { env: asUser('paula', 'paula-password', true) })).code, 0);
      const first = await RawPeer.session(server.port, 'paula', 'paula-password', false);
      first.send({ type: 'upload', name: 'big.bin', size: 10 * MiB, key: 'big-key' });
      assert.deepEqual(await first.next(), { type: 'ready', offset: 0 });
      for (const length of [4 * MiB, 2 * MiB]) first.writeRaw(Buffer.concat([encodeDataHeader(length), Buffer.alloc(length, 1)]));
      const held = async () => {
        let bytes = 0;
        for (const f of await readdir(partials).catch(() => [] as string[])) bytes += (await stat(join(partials, f))).size;
        return bytes;
      };
      await waitFor(async () => (await held()) >= 6 * MiB, { what: 'the server has written the 6 MiB sent' });
      first.close();
      await waitFor(() => server.logs.some((l) => l.msg === 'upload interrupted; partial data kept for a resume'), {
        what: 'the upload is kept',
      });

      await writeFile(join(dir.path, 'seven'), Buffer.alloc(7 * MiB, 2));
      const refused = await runLpf([server.address, '-upload', join(dir.path, 'seven')], { env: asUser('paula', 'paula-password') });
      assert.equal(refused.code, 13, refused.stderr);
      assert.match(
        refused.stderr,
        /not enough room in your storage quota: 7340032 bytes needed, \d+ of 12582912 free; \d+ bytes of it are held by cut-off uploads kept for a resume.*\[LPF_ERR_QUOTA\]/,
      );

      const again = await RawPeer.session(server.port, 'paula', 'paula-password', false);
      again.send({ type: 'upload', name: 'big.bin', size: 10 * MiB, key: 'big-key' });
      assert.deepEqual(await again.next(), { type: 'ready', offset: 4 * MiB }, 'the resume fits: its own kept part is not counted again');
      again.close();
    } finally {
      await server.stop();
      await dir.cleanup();
    }
  });
});

describe('special files in a user folder', () => {
  test('four downloads of a FIFO get a clear error at once, and other users can still list and sign up', async () => {
    const server = await startServer({ storage: 'disk' });
    const fifo = join(server.root, 'files', 'alice', 'pipe');
    const bounded = { timeoutMs: 20_000 }; // a stalled server fails the test here instead of hanging it
    const peers: RawPeer[] = [];
    try {
      assert.equal((await runLpf([server.address, '-list'], { env: asUser('alice', 'alice-password', true) })).code, 0);
      assert.equal((await runLpf([server.address, '-list'], { env: asUser('bob', 'bob-password', true) })).code, 0);
      await mkdir(join(server.root, 'files', 'alice'), { recursive: true });
      await promisify(execFile)('mkfifo', [fifo]);
      // Raw clients ask for the download directly (lpf itself asks for a stat first, which never opened the file).
      for (let i = 0; i < 4; i++) peers.push(await RawPeer.session(server.port, 'alice', 'alice-password', false));
      for (const peer of peers) peer.send({ type: 'download', name: 'pipe' });
      const [list, signUp] = await Promise.all([
        runLpf([server.address, '-list'], { env: asUser('bob', 'bob-password'), ...bounded }),
        runLpf([server.address, '-list'], { env: asUser('carol', 'carol-password', true), ...bounded }),
      ]);
      assert.equal(list.code, 0, list.stderr);
      assert.equal(signUp.code, 0, signUp.stderr);
      for (const peer of peers) {
        const answer = await peer.next(); // at most 20 s
        assert.ok(answer.type === 'error' && answer.code === 'LPF_ERR_NOT_FOUND', JSON.stringify(answer));
        assert.match(
          answer.message,
          /^"pipe" is not a regular file \(a link, a pipe or a device placed on the server\): only regular files and folders are served$/,
        );
      }
      const dir = await tempDir();
      try {
        const download = await runLpf([server.address, '-download', 'pipe', '--to', join(dir.path, 'got')], {
          env: asUser('alice', 'alice-password'),
          ...bounded,
        });
        assert.equal(download.code, 7, download.stderr);
        assert.match(download.stderr, /LPF_ERR_NOT_FOUND/);
      } finally {
        await dir.cleanup();
      }
      const own = await runLpf([server.address, '-list', '--long'], { env: asUser('alice', 'alice-password'), ...bounded });
      assert.equal(own.code, 0, own.stderr);
      assert.doesNotMatch(own.stdout, /pipe/);
    } finally {
      for (const peer of peers) peer.close();
      // Frees a server that did open the FIFO (the bug), so that it can stop: a writer end releases its readers.
      await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).then(
        (h) => h.close(),
        () => {},
      );
      await server.stop('SIGKILL');
    }
  });
});
