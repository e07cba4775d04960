/**
 * Hostile clients against the real lpf-server: a few hundred connections at a time, from other loopback
 * addresses (127.0.0.2 and up) than the real `lpf` (127.0.0.1). For each kind: from the first connection
 * to the last close the server's resident memory grows by less than 64 KiB a connection (64 MiB a
 * thousand) beyond a fixed 24 MiB, `lpf -ping` is answered within a second while they are there, and the
 * server itself closes every one of them, by its deadlines (shortened here with their flags) or because
 * what they sent is malformed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import { PROTOCOL_VERSION, encodeDataHeader, encodeMessage } from '../../src/protocol/index.js';
import { writeRandomFile } from '../helpers/files.js';
import { asUser, runLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait-for.js';

/** Hostile connections per kind, spread over ADDRESSES client addresses. */
const HOSTILE = 200;
const ADDRESSES = 20;
const KiB = 1024;
const MiB = 1024 * KiB;
/** What one hostile connection may cost the server at most (64 MiB a thousand). */
const BYTES_PER_CONNECTION = 64 * KiB;
/**
 * Growth allowed whatever the number of connections: the 16 MiB pool that file data is sent from (shared
 * by every download: src/transport/send-file.ts), and the few MiB of heap a server grows by once it works.
 */
const SHARED_BYTES = 24 * MiB;
/** Deadlines short enough to wait for (the memory is sampled meanwhile), long enough to open a few hundred connections. */
/**
 * The handshake deadline runs from TCP accept and must outlast a few hundred TLS handshakes on a busy machine, or a
 * connection that did say hello in time would be cut as still in its handshake (with no message) rather than told
 * LPF_ERR_TIMEOUT at the login deadline.
 */
const DEADLINES = ['--handshake-timeout', '5', '--login-timeout', '2', '--idle-timeout', '2'];
/** The caps raised explicitly, so that every hostile connection is accepted and held. */
const CAPS = ['--max-connections', '5000', '--max-per-address', '1000'];
/** No wait in this file is longer: a deadline that does not fire fails the test instead of hanging it. */
const WAIT_MS = 20_000;

const hello = encodeMessage({ type: 'hello', version: PROTOCOL_VERSION, agent: 'hostile' });

/** The client address of the i-th hostile connection. */
const from = (i: number) => `127.0.0.${2 + (i % ADDRESSES)}`;

/** The server's resident memory (VmRSS), in bytes. */
function residentBytes(server: RunningServer): number {
  const status = readFileSync(`/proc/${server.process.pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  assert.ok(kib, 'VmRSS in /proc/PID/status');
  return Number(kib) * 1024;
}

/** Samples the server's memory until stop(), which returns the largest growth seen. */
function watchMemory(server: RunningServer): { stop(): number } {
  const start = residentBytes(server);
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, residentBytes(server))), 50);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, residentBytes(server)) - start;
    },
  };
}

/** Every socket this file opens, destroyed at the end whatever failed: none may keep the test process alive. */
const everySocket = new Set<Socket>();

/** A TCP connection from `localAddress`. */
function openTcp(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port, localAddress }, () => resolve(socket));
    everySocket.add(socket);
    socket.on('error', reject);
  });
}

/** A TCP connection from `localAddress` that reads and drops whatever it receives (so it sees the server close). */
async function openReadingTcp(port: number, localAddress: string): Promise<Socket> {
  const socket = await openTcp(port, localAddress);
  socket.on('data', () => {});
  socket.on('error', () => {});
  return socket;
}

/** A TLS connection from `localAddress`, handshake done; what it receives is decoded into `messages`. */
async function openTls(port: number, localAddress: string): Promise<RawPeer> {
  const tcp = await openTcp(port, localAddress);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ socket: tcp, servername: undefined, rejectUnauthorized: false }, () => resolve(RawPeer.over(socket)));
    socket.once('error', reject);
  });
}

/** Opens `count` connections, 50 at a time, within a bounded time. */
async function openMany<T>(count: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const opened: T[] = [];
  const deadline = Date.now() + WAIT_MS;
  for (let i = 0; i < count; i += 50) {
    assert.ok(Date.now() < deadline, `opened only ${opened.length} of ${count} connections in time`);
    opened.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, j) => open(i + j)))));
  }
  return opened;
}

/**
 * Resolves once the server has closed every socket (`peers`: each one's address and port, as the
 * server logs them); fails past WAIT_MS. A socket that reads sees the close; for one that does not,
 * the server's `disconnected` line tells.
 */
async function closedByServer(server: RunningServer, sockets: Socket[], peers: string[]): Promise<void> {
  const open = () => {
    const gone = new Set(server.logs.filter((l) => l.msg === 'disconnected').map((l) => l.peer));
    return sockets.filter((s, i) => !s.closed && !gone.has(peers[i])).length;
  };
  await waitFor(() => open() === 0, { what: `the server closes all ${sockets.length} hostile connections`, timeoutMs: WAIT_MS });
}

/** The real lpf pings from 127.0.0.1 and is answered within a second. */
async function assertPingAnswered(server: RunningServer): Promise<void> {
  const plain = server.process.spawnargs.includes('--plain') ? ['--plain'] : [];
  const r = await runLpf([server.address, '-ping', '--json', ...plain]);
  assert.equal(r.code, 0, r.stderr);
  const { ms } = JSON.parse(r.stdout) as { ms: number };
  assert.ok(ms < 1000, `ping answered in ${ms} ms`);
}

/**
 * Few never-readers, as each must send more than the kernel's socket buffers hold (some MiB) before
 * the server's own memory is at stake. Unbounded, one grew the server by 30 MiB over TLS before its
 * 2 s login deadline, and by 110 MiB over plain TCP before its 5 s one.
 */
const NEVER_READERS: HostileOptions = { count: 1 };

/** Says hello, then pipelines 12 MiB of pings (786,432) and never reads an answer. */
function neverReading(socket: Socket): Socket {
  const pings = Buffer.concat(Array.from({ length: 4096 }, () => encodeMessage({ type: 'ping', nonce: 1 })));
  socket.pause();
  socket.write(hello);
  for (let sent = 0; sent < 12 * MiB; sent += pings.length) socket.write(pings);
  return socket;
}

interface HostileOptions {
  /** How many (HOSTILE by default). */
  count?: number;
  /** The memory each may cost (BYTES_PER_CONNECTION by default). */
  perConnection?: number;
  /** What they do once all are open, before the ping. */
  whileThere?: (sockets: Socket[]) => Promise<void>;
}

/**
 * Runs one kind of hostile client: opens HOSTILE of them with `open`, pings while they are there,
 * checks the memory bound, then waits for the server to close them all.
 */
async function withHostile(server: RunningServer, open: (i: number) => Promise<Socket>, options: HostileOptions = {}): Promise<void> {
  const { count = HOSTILE, perConnection = BYTES_PER_CONNECTION } = options;
  const memory = watchMemory(server);
  let sockets: Socket[] = [];
  try {
    sockets = await openMany(count, open);
    const peers = sockets.map((s) => `${s.localAddress}:${s.localPort}`);
    await options.whileThere?.(sockets);
    await assertPingAnswered(server);
    await closedByServer(server, sockets, peers);
    // Sampled from the first connection to the last close, whatever they did meanwhile.
    const growth = memory.stop();
    const bound = SHARED_BYTES + count * perConnection;
    assert.ok(
      growth < bound,
      `the server grew by ${(growth / MiB).toFixed(1)} MiB for ${count} connections (bound ${(bound / MiB).toFixed(1)} MiB)`,
    );
  } finally {
    memory.stop();
    for (const s of sockets) s.destroy();
  }
}

/** Registers the account the hostile connections log in as; resolves with its login session token. */
async function ownerToken(server: RunningServer): Promise<string> {
  const owner = await openTls(server.port, '127.0.0.1');
  owner.socket.write(hello);
  await owner.next();
  owner.send({ type: 'register', user: 'mallory', password: 'mallory-password', session: true });
  const authed = await owner.next();
  assert.ok(authed.type === 'authed' && authed.token, JSON.stringify(authed));
  owner.socket.destroy();
  return authed.token;
}

/** A TLS server with the short deadlines, and a way in for hundreds of logged-in connections. */
interface HostileServer {
  server: RunningServer;
  /** A TLS connection from the i-th address, logged in with a session token (no password hashing). */
  loggedIn(i: number): Promise<RawPeer>;
}

async function startHostileServer(): Promise<HostileServer> {
  const server = await startServer({ args: [...DEADLINES, ...CAPS] });
  const token = await ownerToken(server).catch(async (err: unknown) => {
    await server.stop(); // or the suite's after() has no server to stop, and the file never exits
    throw err;
  });
  return {
    server,
    async loggedIn(i) {
      const peer = await openTls(server.port, from(i));
      peer.socket.write(hello);
      peer.send({ type: 'session', token });
      assert.equal((await peer.next()).type, 'welcome');
      assert.equal((await peer.next()).type, 'authed');
      return peer;
    },
  };
}

/** Inside each server's suite, one kind at a time: each measures that server's memory. */
const oneAtATime = { concurrency: 1 };

// The servers are apart, so their suites run side by side.
describe('hostile clients, four servers side by side', { concurrency: true }, () => {
  after(() => {
    for (const socket of everySocket) socket.destroy();
  });

  describe('hostile clients silent at every stage', oneAtATime, () => {
    let hostile: HostileServer;
    const bigFile = 'big.bin';

    before(async () => {
      hostile = await startHostileServer();
      const dir = await tempDir();
      try {
        await writeRandomFile(`${dir.path}/${bigFile}`, 8 * 1024 * 1024);
        const r = await runLpf([hostile.server.address, '-upload', `${dir.path}/${bigFile}`], {
          env: asUser('mallory', 'mallory-password'),
        });
        assert.equal(r.code, 0, r.stderr);
      } finally {
        await dir.cleanup();
      }
    });
    after(() => hostile.server.stop());

    test('silent TCP connections (no TLS handshake at all) are closed at the handshake deadline', async () => {
      await withHostile(hostile.server, (i) => openReadingTcp(hostile.server.port, from(i)));
    });

    test('connections that send only the first bytes of a ClientHello are closed at the handshake deadline', async () => {
      await withHostile(hostile.server, async (i) => {
        const socket = await openReadingTcp(hostile.server.port, from(i));
        socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
        return socket;
      });
    });

    test('silent after the TLS handshake, before hello: closed at the handshake deadline', async () => {
      await withHostile(hostile.server, async (i) => (await openTls(hostile.server.port, from(i))).socket);
    });

    test('silent after hello, before logging in: told LPF_ERR_TIMEOUT at the login deadline', async () => {
      const peers: RawPeer[] = [];
      await withHostile(hostile.server, async (i) => {
        const peer = await openTls(hostile.server.port, from(i));
        peer.socket.write(hello);
        peers.push(peer);
        return peer.socket;
      });
      const codes = new Set(peers.map((p) => p.messages.find((m) => m.type === 'error')).map((m) => m?.type === 'error' && m.code));
      assert.deepEqual([...codes], ['LPF_ERR_TIMEOUT']);
    });

    test('logged in and silent: closed at the idle deadline', async () => {
      await withHostile(hostile.server, async (i) => (await hostile.loggedIn(i)).socket);
    });

    test('stalled mid-upload: closed at the idle deadline', async () => {
      await withHostile(hostile.server, async (i) => {
        const peer = await hostile.loggedIn(i);
        peer.send({ type: 'upload', name: `stalled-${i}`, size: 1024 * 1024 });
        assert.equal((await peer.next()).type, 'ready');
        peer.socket.write(Buffer.concat([encodeDataHeader(16 * 1024), Buffer.alloc(16 * 1024)]));
        return peer.socket;
      });
    });

    test('stalled mid-download, never reading: closed at the idle deadline', async () => {
      // Over TLS a connection keeps an 82 KiB output buffer once it sent a 64 KiB DATA frame (send-file.ts).
      const perConnection = 96 * KiB;
      await withHostile(
        hostile.server,
        async (i) => {
          const peer = await hostile.loggedIn(i);
          peer.socket.pause();
          peer.send({ type: 'download', name: bigFile });
          return peer.socket;
        },
        { perConnection, count: 20 },
      );
    });
  });

  describe('hostile clients sending what they should not', oneAtATime, () => {
    let hostile: HostileServer;
    before(async () => {
      hostile = await startHostileServer();
    });
    after(() => hostile.server.stop());

    test('slow writers, a byte of hello every 200 ms: closed at the handshake deadline all the same', async () => {
      let writing = true;
      const drips: Promise<void>[] = [];
      try {
        await withHostile(hostile.server, async (i) => {
          const peer = await openTls(hostile.server.port, from(i));
          drips.push(
            (async () => {
              for (let at = 0; at < hello.length && writing && !peer.socket.destroyed; at++, await sleep(200))
                peer.socket.write(hello.subarray(at, at + 1));
            })(),
          );
          return peer.socket;
        });
      } finally {
        writing = false;
        await Promise.all(drips);
      }
    });

    test('never reading the answers of pipelined pings, before logging in: the server stops reading them', async () => {
      await withHostile(hostile.server, async (i) => neverReading((await openTls(hostile.server.port, from(i))).socket), NEVER_READERS);
    });

    test('garbage instead of a frame: refused and closed', async () => {
      const garbage = Buffer.alloc(64 * KiB, 0xab);
      await withHostile(hostile.server, async (i) => {
        const peer = await openTls(hostile.server.port, from(i));
        peer.socket.write(garbage);
        return peer.socket;
      });
    });

    test('frames announcing 4 GiB: refused at their header and closed', async () => {
      const header = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x03]);
      await withHostile(hostile.server, async (i) => {
        const peer = await openTls(hostile.server.port, from(i));
        peer.socket.write(Buffer.concat([hello, header, Buffer.alloc(1024)]));
        return peer.socket;
      });
    });

    test('thousands of tiny frames each, answers read: all answered, then closed at the idle deadline', async () => {
      const count = 2000;
      const pings = Buffer.concat(Array.from({ length: count }, (_, n) => encodeMessage({ type: 'ping', nonce: n })));
      const peers: RawPeer[] = [];
      await withHostile(
        hostile.server,
        async (i) => {
          const peer = await hostile.loggedIn(i);
          peer.socket.write(pings);
          peers.push(peer);
          return peer.socket;
        },
        {
          // 100,000 frames from 50 TLS connections. Each keeps what TLS costs once it has answered (OpenSSL's
          // buffers and Node's output buffer: about 150 KiB, bench/profiles/2026-11-24-server-memory.md); the
          // shared allowance covers the young generation's garbage of the frames decoded meanwhile.
          count: HOSTILE / 4,
          perConnection: 160 * KiB,
          whileThere: async () => {
            const answered = () => peers.every((p) => p.messages.filter((m) => m.type === 'pong').length === count);
            await waitFor(answered, { what: 'every ping answered', timeoutMs: WAIT_MS });
          },
        },
      );
    });
  });

  describe('hostile clients of a plain TCP server (--plain)', oneAtATime, () => {
    let server: RunningServer;
    before(async () => {
      // A login deadline long enough for a never-reader to show what it costs (over plain TCP the kernel takes more first).
      server = await startServer({ args: ['--plain', '--handshake-timeout', '1', '--login-timeout', '5', '--idle-timeout', '5', ...CAPS] });
    });
    after(() => server.stop());

    test('silent before hello: told LPF_ERR_TIMEOUT at the handshake deadline', async () => {
      const peers: RawPeer[] = [];
      await withHostile(server, async (i) => {
        const peer = RawPeer.over(await openTcp(server.port, from(i)));
        peers.push(peer);
        return peer.socket;
      });
      const codes = new Set(peers.map((p) => p.messages.find((m) => m.type === 'error')).map((m) => m?.type === 'error' && m.code));
      assert.deepEqual([...codes], ['LPF_ERR_TIMEOUT']);
    });

    test('never reading the answers of pipelined pings: the server stops reading them', async () => {
      await withHostile(server, async (i) => neverReading(await openTcp(server.port, from(i))), NEVER_READERS);
    });
  });

  describe('silent connections no longer lock everyone out', oneAtATime, () => {
    let server: RunningServer;
    before(async () => {
      // The caps of a small server; the silent connections come from 4 addresses, within the per-address cap.
      server = await startServer({ defaultLimits: true, args: ['--max-connections', '40', '--handshake-timeout', '1'] });
    });
    after(() => server.stop());

    test('connections that never send a byte fill the server for a moment, then the handshake deadline frees it', async () => {
      const sockets = await openMany(40, (i) => openReadingTcp(server.port, `127.0.0.${2 + (i % 4)}`));
      const peers = sockets.map((s) => `${s.localAddress}:${s.localPort}`);
      try {
        const refused = await runLpf([server.address, '-ping']);
        if (refused.code !== 0) assert.equal(refused.code, 13, refused.stderr); // LPF_ERR_BUSY, unless the deadline came first
        await closedByServer(server, sockets, peers);
        await assertPingAnswered(server);
      } finally {
        for (const s of sockets) s.destroy();
      }
    });
  });
});
