/**
 * Uploads stored in the background while the connection goes on, when
 * things go wrong: a client that hangs up, a store that fails, a shutdown.
 * In process, with a storage whose commits are slow or fail on purpose.
 */
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContentHasher, encodeDataHeader, encodeMessage } from '../../src/protocol/index.js';
import { DEFAULT_LIMITS } from '../../src/server/limits/limits.js';
import { createLogger } from '../../src/server/logger.js';
import { LpfServer } from '../../src/server/server.js';
import { DiskStorage } from '../../src/server/storage/disk-storage.js';
import type { UploadRequest, UploadSink } from '../../src/server/storage/storage.js';
import { tempDir } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Commits wait while the test holds them (holdCommits until releaseCommits), so that a test can act while
 * uploads are being stored; a commit of a name in `failing` fails; `open` counts sinks not yet ended.
 */
class SlowStorage extends DiskStorage {
  readonly failing = new Set<string>();
  open = 0;
  /** Commits begun and held, not yet let through. */
  held = 0;
  #gate: Promise<void> | undefined;
  #release = () => {};

  holdCommits(): void {
    this.#gate = new Promise((resolve) => (this.#release = resolve));
  }

  releaseCommits(): void {
    this.#release();
    this.#gate = undefined;
  }

  override async createUpload(user: string, name: string, request: UploadRequest): Promise<UploadSink> {
    const sink = await super.createUpload(user, name, request);
    this.open++;
    let ended = false;
    const end = () => {
      if (!ended) this.open--;
      ended = true;
    };
    const { commit, abort, suspend } = { commit: sink.commit.bind(sink), abort: sink.abort.bind(sink), suspend: sink.suspend.bind(sink) };
    sink.commit = async (checksum) => {
      this.held++;
      await this.#gate;
      this.held--;
      try {
        if (this.failing.has(name)) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
        return await commit(checksum);
      } catch (err) {
        await abort();
        throw err;
      } finally {
        end();
      }
    };
    // Counted as ended once done, so that a test waiting for `open` to reach 0 finds their files gone.
    sink.abort = async () => {
      try {
        return await abort();
      } finally {
        end();
      }
    };
    sink.suspend = async () => {
      try {
        return await suspend();
      } finally {
        end();
      }
    };
    return sink;
  }
}

/** Sends a whole upload (request, data, end) at once, without waiting for 'ready'. */
function sendUpload(peer: RawPeer, name: string, content: Buffer): void {
  const hasher = new ContentHasher();
  hasher.update(content);
  peer.send({ type: 'upload', name, size: content.length });
  peer.writeRaw(Buffer.concat([encodeDataHeader(content.length), content]));
  peer.send({ type: 'end', sha256: hasher.digest() });
}

/** Every answer until the server closes the connection. */
async function answersUntilClosed(peer: RawPeer): Promise<string[]> {
  await peer.closed;
  return peer.messages.splice(0).map((m) => (m.type === 'error' ? `error ${m.code}` : m.type === 'stored' ? `stored ${m.name}` : m.type));
}

describe('uploads stored in the background', () => {
  let dir: { path: string; cleanup(): Promise<void> };
  let storage: SlowStorage;
  let server: LpfServer;
  let port: number;
  const root = () => join(dir.path, 'root');

  const loggedIn = (user: string, register = true) => RawPeer.session(port, user, 'pw', register, { plain: true });

  async function start(): Promise<void> {
    storage = new SlowStorage(root());
    server = new LpfServer({
      host: '127.0.0.1',
      port: 0,
      root: root(),
      allowRegistration: true,
      tls: undefined,
      limits: { ...DEFAULT_LIMITS, minPasswordChars: 1, quotaBytes: 1000 },
      log: await createLogger('silent', false),
      storage,
    });
    port = (await server.listen()).port;
  }

  before(async () => {
    dir = await tempDir();
    await start();
  });
  after(async () => {
    await server.close();
    await dir.cleanup();
  });

  test('a client that hangs up while an upload waits for its name to be stored leaves no file open and no quota held', async () => {
    const peer = await loggedIn('hangs');
    storage.holdCommits();
    sendUpload(peer, 'same', Buffer.alloc(300, 1));
    sendUpload(peer, 'same', Buffer.alloc(300, 2));
    // Sent with the first, the second is read while the first is held: it waits for that name to be stored.
    await waitFor(() => storage.held === 1, { what: 'the first upload is being stored' });
    peer.socket.destroy();
    await peer.closed;
    storage.releaseCommits();
    await waitFor(() => storage.open === 0, { what: 'every upload sink ended' });
    assert.deepEqual(await readdir(join(root(), 'partial', 'hangs')), []);
    // 300 of 1000 bytes are used by the stored "same"; 700 must be free, not held by a leaked reservation.
    const again = await loggedIn('hangs', false);
    sendUpload(again, 'more', Buffer.alloc(700, 3));
    assert.equal((await again.next()).type, 'ready');
    const stored = await again.next();
    assert.equal(stored.type === 'stored' && stored.name, 'more', JSON.stringify(stored));
    again.socket.destroy();
  });

  test('a store that fails in the background is answered in its turn, after the stores before it', async () => {
    storage.failing.add('bad');
    const peer = await loggedIn('fails');
    storage.holdCommits();
    sendUpload(peer, 'good', Buffer.from('good'));
    sendUpload(peer, 'bad', Buffer.from('bad'));
    sendUpload(peer, 'late', Buffer.from('late'));
    peer.send({ type: 'mkdir', path: 'after-the-failure' });
    // All three are being stored at once; let through together, 'bad' fails before 'good' is stored.
    await waitFor(() => storage.held === 3, { what: 'the three uploads are being stored' });
    storage.releaseCommits();
    const answers = await answersUntilClosed(peer);
    assert.deepEqual(answers, ['ready', 'stored good', 'ready', 'error LPF_ERR_SERVER']);
    assert.equal((await stat(join(root(), 'files', 'fails', 'good'))).size, 4);
    await assert.rejects(stat(join(root(), 'files', 'fails', 'bad')));
    await assert.rejects(stat(join(root(), 'files', 'fails', 'after-the-failure')), 'a command after the failure is not run');
    await waitFor(() => storage.open === 0, { what: 'every upload sink ended' });
    assert.deepEqual(await readdir(join(root(), 'partial', 'fails')), []);
  });

  test('pings pipelined behind a store, their answers unread, are not read past a small bound; then answered in order', async () => {
    storage.holdCommits();
    try {
      const peer = await loggedIn('pinger');
      sendUpload(peer, 'slow', Buffer.from('slow'));
      assert.equal((await peer.next()).type, 'ready');
      // Half a million pings (8 MiB) while 'stored' is owed: about twice what the loopback's kernel buffers take.
      const ping = encodeMessage({ type: 'ping', nonce: 7 });
      const burst = Buffer.concat(Array.from({ length: 4096 }, () => ping));
      for (let i = 0; i < 128; i++) peer.socket.write(burst);
      // The server reads a few KiB past MAX_OWED answers owed and the kernel's buffers take some MiB; the
      // rest stays in the client's buffer for as long as the store lasts. Wait until it has not moved for
      // 5 s. Unbounded, the server read on (and queued an answer for each ping) until it had them all.
      // (Polled: that the server stopped reading shows only as nothing happening; this sleep orders nothing.)
      let unsent = peer.socket.writableLength;
      for (
        let still = Date.now(), deadline = Date.now() + 30_000;
        unsent > 0 && Date.now() - still < 5000 && Date.now() < deadline;
        await sleep(50)
      ) {
        if (peer.socket.writableLength !== unsent) [unsent, still] = [peer.socket.writableLength, Date.now()];
      }
      assert.ok(unsent >= 1024 * 1024, `the server stopped reading: ${unsent} bytes still unsent`);
      storage.releaseCommits();
      assert.equal((await peer.next()).type, 'stored');
      for (let i = 0; i < 1000; i++) assert.deepEqual(await peer.next(), { type: 'pong', nonce: 7 });
      peer.socket.destroy();
    } finally {
      storage.releaseCommits();
    }
  });

  test('a shutdown while uploads are being stored answers them, then closes, and runs nothing sent after', async () => {
    const peer = await loggedIn('stops');
    storage.holdCommits();
    sendUpload(peer, 'first', Buffer.from('first'));
    sendUpload(peer, 'second', Buffer.from('second'));
    await waitFor(() => storage.held === 2, { what: 'both uploads are being stored' });
    const stopping = server.shutdown(5000);
    peer.send({ type: 'mkdir', path: 'made-after-shutdown' });
    storage.releaseCommits();
    const answers = await answersUntilClosed(peer);
    await stopping;
    assert.deepEqual(answers, ['ready', 'stored first', 'ready', 'stored second', 'error LPF_ERR_SHUTDOWN']);
    await assert.rejects(stat(join(root(), 'files', 'stops', 'made-after-shutdown')));
    await start(); // for any test after this one
  });
});
