/**
 * Uploads stored in the background while the connection goes on, when
 * things go wrong: a client that hangs up, a store that fails, a shutdown.
 * In process, with a storage whose commits are slow or fail on purpose.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContentHasher, FrameDecoder, PROTOCOL_VERSION, encodeDataHeader, encodeMessage, type Message } from '../../src/protocol/index.js';
import { DEFAULT_LIMITS } from '../../src/server/limits/limits.js';
import { createLogger } from '../../src/server/logger.js';
import { LpfServer } from '../../src/server/server.js';
import { DiskStorage } from '../../src/server/storage/disk-storage.js';
import type { UploadRequest, UploadSink } from '../../src/server/storage/storage.js';
import { tempDir } from '../helpers/processes.js';

/**
 * Commits take COMMIT_MS, and wait for `gate` when it is set; a commit of a name in `failing` fails;
 * `open` counts sinks not yet ended.
 */
class SlowStorage extends DiskStorage {
  static readonly COMMIT_MS = 300;
  readonly failing = new Set<string>();
  open = 0;
  gate: Promise<void> | undefined;

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
      await sleep(SlowStorage.COMMIT_MS);
      await this.gate;
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
    sink.abort = async () => {
      end();
      return abort();
    };
    sink.suspend = async () => {
      end();
      return suspend();
    };
    return sink;
  }
}

class Peer {
  readonly messages: Message[] = [];
  readonly socket: Socket;
  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    const decoder = new FrameDecoder({ message: (m) => this.messages.push(m), data: () => {} });
    this.socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    this.socket.on('error', () => {});
  }
  send(message: Message): void {
    this.socket.write(encodeMessage(message));
  }
  upload(name: string, content: Buffer): void {
    const hasher = new ContentHasher();
    hasher.update(content);
    this.send({ type: 'upload', name, size: content.length });
    this.socket.write(Buffer.concat([encodeDataHeader(content.length), content]));
    this.send({ type: 'end', sha256: hasher.digest() });
  }
  async next(): Promise<Message> {
    for (const deadline = Date.now() + 10_000; this.messages.length === 0; await sleep(5)) {
      if (Date.now() > deadline) throw new Error('no answer within 10 s');
    }
    return this.messages.shift() as Message;
  }
  /** Every answer until the server closes the connection. */
  async rest(): Promise<string[]> {
    await new Promise((resolve) => (this.socket.closed ? resolve(undefined) : this.socket.once('close', resolve)));
    return this.messages.splice(0).map((m) => (m.type === 'error' ? `error ${m.code}` : m.type === 'stored' ? `stored ${m.name}` : m.type));
  }
}

describe('uploads stored in the background', () => {
  let dir: { path: string; cleanup(): Promise<void> };
  let storage: SlowStorage;
  let server: LpfServer;
  let port: number;
  const root = () => join(dir.path, 'root');

  async function loggedIn(user: string, register = true): Promise<Peer> {
    const peer = new Peer(port);
    peer.send({ type: 'hello', version: PROTOCOL_VERSION, agent: 'test' });
    await peer.next();
    peer.send({ type: register ? 'register' : 'login', user, password: 'pw' });
    const authed = await peer.next();
    assert.equal(authed.type, 'authed', JSON.stringify(authed));
    return peer;
  }

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
    peer.upload('same', Buffer.alloc(300, 1));
    peer.upload('same', Buffer.alloc(300, 2));
    await sleep(SlowStorage.COMMIT_MS / 3); // the second waits for the first to be stored
    peer.socket.destroy();
    await sleep(SlowStorage.COMMIT_MS * 3);
    assert.equal(storage.open, 0, 'every upload sink ended');
    assert.deepEqual(await readdir(join(root(), 'partial', 'hangs')), []);
    // 300 of 1000 bytes are used by the stored "same"; 700 must be free, not held by a leaked reservation.
    const again = await loggedIn('hangs', false);
    again.upload('more', Buffer.alloc(700, 3));
    assert.equal((await again.next()).type, 'ready');
    const stored = await again.next();
    assert.equal(stored.type === 'stored' && stored.name, 'more', JSON.stringify(stored));
    again.socket.destroy();
  });

  test('a store that fails in the background is answered in its turn, after the stores before it', async () => {
    storage.failing.add('bad');
    const peer = await loggedIn('fails');
    peer.upload('good', Buffer.from('good'));
    peer.upload('bad', Buffer.from('bad'));
    peer.upload('late', Buffer.from('late'));
    peer.send({ type: 'mkdir', path: 'after-the-failure' });
    const answers = await peer.rest();
    assert.deepEqual(answers, ['ready', 'stored good', 'ready', 'error LPF_ERR_SERVER']);
    assert.equal((await stat(join(root(), 'files', 'fails', 'good'))).size, 4);
    await assert.rejects(stat(join(root(), 'files', 'fails', 'bad')));
    await assert.rejects(stat(join(root(), 'files', 'fails', 'after-the-failure')), 'a command after the failure is not run');
    await sleep(SlowStorage.COMMIT_MS * 2);
    assert.equal(storage.open, 0);
    assert.deepEqual(await readdir(join(root(), 'partial', 'fails')), []);
  });

  test('pings pipelined behind a store, their answers unread, are not read past a small bound; then answered in order', async () => {
    let openGate!: () => void;
    storage.gate = new Promise((resolve) => (openGate = resolve));
    try {
      const peer = await loggedIn('pinger');
      peer.upload('slow', Buffer.from('slow'));
      assert.equal((await peer.next()).type, 'ready');
      // Half a million pings (8 MiB) while 'stored' is owed: about twice what the loopback's kernel buffers take.
      const ping = encodeMessage({ type: 'ping', nonce: 7 });
      const burst = Buffer.concat(Array.from({ length: 4096 }, () => ping));
      for (let i = 0; i < 128; i++) peer.socket.write(burst);
      // The server reads a few KiB past MAX_OWED answers owed and the kernel's buffers take some MiB; the
      // rest stays in the client's buffer for as long as the store lasts. Wait until it has not moved for
      // 5 s. Unbounded, the server read on (and queued an answer for each ping) until it had them all.
      let unsent = peer.socket.writableLength;
      for (let still = Date.now(), deadline = Date.now() + 30_000; unsent > 0 && Date.now() - still < 5000 && Date.now() < deadline; await sleep(50)) {
        if (peer.socket.writableLength !== unsent) [unsent, still] = [peer.socket.writableLength, Date.now()];
      }
      assert.ok(unsent >= 1024 * 1024, `the server stopped reading: ${unsent} bytes still unsent`);
      openGate();
      assert.equal((await peer.next()).type, 'stored');
      for (let i = 0; i < 1000; i++) assert.deepEqual(await peer.next(), { type: 'pong', nonce: 7 });
      peer.socket.destroy();
    } finally {
      openGate();
      storage.gate = undefined;
    }
  });

  test('a shutdown while uploads are being stored answers them, then closes, and runs nothing sent after', async () => {
    const peer = await loggedIn('stops');
    peer.upload('first', Buffer.from('first'));
    peer.upload('second', Buffer.from('second'));
    await sleep(SlowStorage.COMMIT_MS / 3);
    const stopping = server.shutdown(5000);
    peer.send({ type: 'mkdir', path: 'made-after-shutdown' });
    const answers = await peer.rest();
    await stopping;
    assert.deepEqual(answers, ['ready', 'stored first', 'ready', 'stored second', 'error LPF_ERR_SHUTDOWN']);
    await assert.rejects(stat(join(root(), 'files', 'stops', 'made-after-shutdown')));
    await start(); // for any test after this one
  });
});
