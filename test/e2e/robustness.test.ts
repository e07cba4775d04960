/** Bad input and dying clients: the server refuses clearly, stores nothing partial, and keeps serving. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROTOCOL_VERSION, encodeDataHeader, encodeMessage } from '../../src/protocol/index.js';
import { writeRandomFile } from '../helpers/files.js';
import { asUser, runLpf, spawnLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait-for.js';

async function assertStillServing(server: RunningServer): Promise<void> {
  const r = await runLpf([server.address, '-ping']);
  assert.equal(r.code, 0, `server stopped serving: ${r.stderr}`);
}

function frame(type: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(payload.length + 1, 0);
  header[4] = type;
  return Buffer.concat([header, payload]);
}

describe('robustness', () => {
  let server: RunningServer;
  let dir: { path: string; cleanup(): Promise<void> };

  before(async () => {
    server = await startServer();
    dir = await tempDir();
    await RawPeer.session(server.port, 'mallory', 'pw', true).then((p) => p.close());
  });
  after(async () => {
    await server.stop();
    await dir.cleanup();
  });

  test('an unknown frame type gets an error reply and the connection closed', async () => {
    const peer = await RawPeer.connect(server.port);
    peer.writeRaw(frame(0x7a, Buffer.from('{}')));
    const reply = await peer.next();
    assert.equal(reply.type, 'error');
    assert.equal(reply.type === 'error' && reply.code, 'LPF_ERR_PROTOCOL');
    await peer.closed;
    await assertStillServing(server);
  });

  test('a frame announcing 4 GiB is refused at once, without waiting for it', async () => {
    const peer = await RawPeer.connect(server.port);
    peer.writeRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x01]));
    const reply = await peer.next();
    assert.equal(reply.type === 'error' && reply.code, 'LPF_ERR_PROTOCOL');
    await peer.closed;
    await assertStillServing(server);
  });

  test('a message out of order (upload before login) is refused', async () => {
    const peer = await RawPeer.connect(server.port);
    peer.send({ type: 'hello', version: PROTOCOL_VERSION, agent: 'raw' });
    assert.equal((await peer.next()).type, 'welcome');
    peer.send({ type: 'upload', name: 'x', size: 1 });
    const reply = await peer.next();
    assert.equal(reply.type === 'error' && reply.code, 'LPF_ERR_NOT_LOGGED_IN');
    await peer.closed;
  });

  test('a message before the handshake is refused, and so is a wrong version', async () => {
    const early = await RawPeer.connect(server.port);
    early.send({ type: 'list' });
    assert.equal((await early.next()).type, 'error');
    const future = await RawPeer.connect(server.port);
    future.send({ type: 'hello', version: 999, agent: 'future' });
    const reply = await future.next();
    assert.equal(reply.type === 'error' && reply.code, 'LPF_ERR_VERSION');
  });

  test('random bytes from many connections do not disturb the server', async () => {
    const peers = await Promise.all(Array.from({ length: 30 }, () => RawPeer.connect(server.port)));
    for (const p of peers) p.writeRaw(randomBytes(2048));
    // A connection the server does not close at once (its bytes may read as a frame's start) gets up to 3 s: a bound, not an ordering.
    await Promise.all(peers.map((p) => Promise.race([p.closed, sleep(3000)])));
    for (const p of peers) p.close();
    await assertStillServing(server);
  });

  test('names are checked on the server too, whatever the client sends', async () => {
    for (const name of [
      '../escape',
      '..',
      'a/../b',
      'a/./b',
      'ok/..',
      'a\\b',
      'nul\u0000byte',
      '',
      '/',
      'x'.repeat(256),
      `${'d/'.repeat(65)}x`,
      '..\\..\\windows',
      'C:\\Windows\\x',
      '\\\\server\\share',
      'ok\u0085',
      '\u202e'.repeat(300),
    ]) {
      const peer = await RawPeer.session(server.port, 'mallory', 'pw', false);
      peer.send({ type: 'upload', name, size: 1 });
      const reply = await peer.next();
      assert.equal(reply.type === 'error' && reply.code, 'LPF_ERR_BAD_NAME', JSON.stringify(name));
      peer.close();
    }
    assert.deepEqual(await readdir(join(server.root, 'files')).then((d) => d.filter((n) => n !== 'mallory')), []);
  });

  test('URL-encoded traversal is just a strange name, stored inside the user folder', async () => {
    for (const name of ['%2e%2e%2fescape', '..%2f..%2fetc', '%252e%252e%252f']) {
      const peer = await RawPeer.session(server.port, 'mallory', 'pw', false);
      peer.send({ type: 'upload', name, size: 0 });
      assert.equal((await peer.next()).type, 'ready');
      peer.send({ type: 'end', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' });
      const reply = await peer.next();
      assert.equal(reply.type, 'stored', JSON.stringify(reply));
      peer.close();
      assert.ok((await stat(join(server.root, 'files', 'mallory', name))).isFile());
    }
    assert.deepEqual((await readdir(server.root)).sort(), ['files', 'meta', 'partial', 'users.txt']);
  });

  test('more data than announced is refused and nothing is stored', async () => {
    const peer = await RawPeer.session(server.port, 'mallory', 'pw', false);
    peer.send({ type: 'upload', name: 'too-long', size: 4 });
    assert.equal((await peer.next()).type, 'ready');
    peer.writeRaw(Buffer.concat([encodeDataHeader(8), Buffer.alloc(8)]));
    const reply = await peer.next();
    assert.equal(reply.type === 'error' && reply.code, 'LPF_ERR_SIZE_MISMATCH');
    await peer.closed;
    await assert.rejects(stat(join(server.root, 'files', 'mallory', 'too-long')));
  });

  test('more data than announced, with more frames and an end right behind it, gets one clear answer', async () => {
    const peer = await RawPeer.session(server.port, 'mallory', 'pw', false);
    peer.send({ type: 'upload', name: 'overflow', size: 3 });
    assert.equal((await peer.next()).type, 'ready');
    // All in one write: the server must stop reading at the first byte too many.
    peer.writeRaw(
      Buffer.concat([
        encodeDataHeader(2),
        Buffer.from('ab'),
        encodeDataHeader(2),
        Buffer.from('cd'),
        encodeDataHeader(2),
        Buffer.from('ef'),
        encodeMessage({ type: 'end', sha256: '0'.repeat(64) }),
      ]),
    );
    await peer.closed;
    const answers = peer.messages.map((m) => (m.type === 'error' ? m.code : m.type));
    assert.deepEqual(answers, ['LPF_ERR_SIZE_MISMATCH']);
    await assert.rejects(stat(join(server.root, 'files', 'mallory', 'overflow')));
  });

  test('a wrong checksum is detected and nothing is stored', async () => {
    const peer = await RawPeer.session(server.port, 'mallory', 'pw', false);
    peer.send({ type: 'upload', name: 'corrupt', size: 3 });
    assert.equal((await peer.next()).type, 'ready');
    peer.writeRaw(Buffer.concat([encodeDataHeader(3), Buffer.from('abc')]));
    peer.send({ type: 'end', sha256: '0'.repeat(64) });
    const reply = await peer.next();
    assert.equal(reply.type === 'error' && reply.code, 'LPF_ERR_CHECKSUM');
    await assert.rejects(stat(join(server.root, 'files', 'mallory', 'corrupt')));
  });

  test('a client killed mid-upload leaves no file under the final name, keeps the partial, and the server goes on', async () => {
    const big = join(dir.path, 'big.bin');
    await writeRandomFile(big, 400 * 1024 * 1024);
    const partialDir = join(server.root, 'partial', 'mallory');
    const child = spawnLpf([server.address, '-upload', big, '--to', 'big.bin'], { env: asUser('mallory', 'pw') });
    const started = async () => {
      if (child.exitCode !== null) assert.fail('upload never started');
      const parts = await readdir(partialDir).catch(() => [] as string[]);
      const sizes = await Promise.all(
        parts.map((p) =>
          stat(join(partialDir, p)).then(
            (s) => s.size,
            () => 0,
          ),
        ),
      );
      return sizes.some((s) => s > 0);
    };
    await waitFor(started, { what: 'some bytes reach the server', everyMs: 5 });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    await assert.rejects(stat(join(server.root, 'files', 'mallory', 'big.bin')), 'no file under the final name');
    // The partial data stays aside (not under the final name) for a resume; resume itself is tested in resume.test.ts.
    assert.ok((await readdir(partialDir)).some((n) => n.endsWith('.part')));
    await assertStillServing(server);
    const list = await runLpf([server.address, '-list'], { env: asUser('mallory', 'pw') });
    assert.equal(list.code, 0, list.stderr);
  });

  test('a listing of many long names that need escaping arrives whole', async () => {
    const userDir = join(server.root, 'files', 'quoter');
    await RawPeer.session(server.port, 'quoter', 'pw', true).then((p) => p.close());
    await mkdir(userDir, { recursive: true });
    const names = Array.from({ length: 400 }, (_, i) => `${String(i).padStart(3, '0')}${'"'.repeat(240)}`);
    await Promise.all(names.map((n) => writeFile(join(userDir, n), '')));
    const peer = await RawPeer.session(server.port, 'quoter', 'pw', false);
    peer.send({ type: 'list' });
    const seen: string[] = [];
    for (;;) {
      const page = await peer.next();
      assert.equal(page.type, 'list_page');
      if (page.type !== 'list_page') break;
      seen.push(...page.entries.map((e) => e.name));
      if (page.done) break;
    }
    assert.deepEqual(seen, names);
    peer.close();
  });

  test('a file dated before 1970 is listed and downloaded (as 1970)', async () => {
    const userDir = join(server.root, 'files', 'mallory');
    await mkdir(userDir, { recursive: true });
    await writeFile(join(userDir, 'ancient.txt'), 'old');
    await utimes(join(userDir, 'ancient.txt'), -86_400, -86_400);
    const list = await runLpf([server.address, '-list'], { env: asUser('mallory', 'pw') });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /ancient\.txt/);
    const down = await runLpf([server.address, '-download', 'ancient.txt', '--to', join(dir.path, 'ancient')], {
      env: asUser('mallory', 'pw'),
    });
    assert.equal(down.code, 0, down.stderr);
  });
});

describe('deadlines', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ args: ['--login-timeout', '0.5', '--idle-timeout', '0.8'] });
  });
  after(() => server.stop());

  test('a connection that does not log in in time is closed with a reason', async () => {
    const peer = await RawPeer.connect(server.port);
    peer.send({ type: 'hello', version: PROTOCOL_VERSION, agent: 'slow' });
    assert.equal((await peer.next()).type, 'welcome');
    const reply = await peer.next();
    assert.equal(reply.type === 'error' && reply.code, 'LPF_ERR_TIMEOUT');
    await peer.closed;
  });

  test('a connection that sends nothing is dropped', async () => {
    const peer = await RawPeer.connect(server.port);
    const started = Date.now();
    await Promise.race([peer.closed, sleep(5000)]);
    assert.ok(peer.socket.destroyed || peer.socket.readableEnded, 'closed by the server');
    assert.ok(Date.now() - started < 5000);
    await assertStillServing(server);
  });
});
