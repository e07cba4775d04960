/**
 * The raw limit: the least a Node program can do to move a file between two
 * processes over loopback — one header line, then the bytes, large file
 * chunks, backpressure, fsync on the receiving side (as lpf does), and no
 * checksum or framing. lpf is measured against it.
 *
 * Wire: the client sends one line, then
 *   "U name size\n" + size bytes  → the server stores them, fsyncs, answers "K"
 *   "D name\n"                     → the server answers "size\n" + the bytes
 *   "E\n"                          → the server echoes everything back (ping baseline)
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer as createNetServer, connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { finished } from 'node:stream/promises';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { assertLoopback } from '../lib/net.js';

const READ_CHUNK = 1024 * 1024;
const WRITE_BUFFER = 4 * 1024 * 1024;
const MAX_HEADER = 1024;
const NAME = /^[A-Za-z0-9._-]{1,200}$/;

export interface TlsFiles {
  cert: string;
  key: string;
}

/** Starts the raw server on host:0; resolves with its port and a close function. */
export async function startRawServer(dir: string, host: string, tlsFiles?: TlsFiles): Promise<{ port: number; close(): Promise<void> }> {
  assertLoopback(host);
  // Failures are the client's to report; a line on stderr (the server's log) helps to tell why.
  const drop = (socket: Socket, err: unknown) => {
    process.stderr.write(`raw server: ${(err as Error).message}\n`);
    socket.destroy();
  };
  const onSocket = (socket: Socket) => {
    socket.on('error', (err) => drop(socket, err));
    readHeader(socket)
      .then(({ line, rest }) => serve(socket, dir, line, rest))
      .catch((err: unknown) => drop(socket, err));
  };
  const server = tlsFiles
    ? createTlsServer({ cert: tlsFiles.cert, key: tlsFiles.key, minVersion: 'TLSv1.3' }, onSocket)
    : createNetServer({ noDelay: true }, onSocket);
  server.on('tlsClientError', (err: Error) => process.stderr.write(`raw server: TLS: ${err.message}\n`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0, backlog: 2048 }, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function serve(socket: Socket, dir: string, line: string, rest: Buffer): Promise<void> {
  const [op, name, sizeText] = line.split(' ');
  if (op === 'E') {
    if (rest.length > 0) socket.write(rest);
    socket.pipe(socket);
    return;
  }
  if (name === undefined || !NAME.test(name)) throw new Error('bad name');
  const path = join(dir, name);
  if (op === 'U') {
    await receiveToFile(socket, path, Number(sizeText), rest);
    socket.end('K');
  } else if (op === 'D') {
    const size = (await stat(path)).size;
    socket.write(`${size}\n`);
    await sendFile(socket, path);
    socket.end();
  } else {
    throw new Error('bad request');
  }
}

/** Reads up to the first newline; what came after it is handed back, not lost. */
function readHeader(socket: Socket): Promise<{ line: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const nl = head.indexOf(10);
      if (nl < 0) {
        if (head.length > MAX_HEADER) cleanup(new Error('header too long'));
        return;
      }
      socket.pause();
      cleanup();
      resolve({ line: head.subarray(0, nl).toString('utf8'), rest: head.subarray(nl + 1) });
    };
    const onEnd = () => cleanup(new Error('connection ended before the header'));
    const cleanup = (err?: Error) => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
      socket.off('close', onEnd);
      if (err) reject(err);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onEnd);
    socket.on('close', onEnd);
  });
}

/** Streams a file to the socket in large chunks, waiting for 'drain' when the socket is full. */
async function sendFile(socket: Socket, path: string): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) {
    if (!socket.write(chunk)) await drained(socket);
  }
}

/** Resolves on 'drain'; rejects if the socket closes first (once() alone would wait forever). */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      socket.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      socket.off('drain', onDrain);
      reject(new Error('connection closed while sending'));
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/** Writes exactly `size` bytes from the socket (starting with `first`) to a new file, fsynced before it resolves. */
async function receiveToFile(socket: Socket, path: string, size: number, first: Buffer): Promise<void> {
  if (!Number.isSafeInteger(size) || size < 0) throw new Error('bad size');
  const out = createWriteStream(path, { highWaterMark: WRITE_BUFFER, flush: true });
  await once(out, 'open');
  let received = 0;
  await new Promise<void>((resolve, reject) => {
    const take = (chunk: Buffer) => {
      const piece = received + chunk.length > size ? chunk.subarray(0, size - received) : chunk;
      received += piece.length;
      if (!out.write(piece)) {
        socket.pause();
        out.once('drain', () => socket.resume());
      }
      if (received === size) {
        done();
        resolve();
      }
    };
    const lost = () => {
      done();
      reject(new Error(`connection lost after ${received} of ${size} bytes`));
    };
    const done = () => {
      socket.off('data', take);
      socket.off('end', lost);
      socket.off('close', lost);
    };
    socket.on('data', take);
    socket.on('end', lost);
    socket.on('close', lost);
    if (first.length > 0) take(first);
    if (received === size) {
      done();
      resolve();
    } else {
      socket.resume();
    }
  });
  out.end();
  await finished(out);
}

/** Connects over TCP, or TLS 1.3 trusting only `ca`. */
async function connectTo(host: string, port: number, ca?: string): Promise<Socket> {
  assertLoopback(host);
  const socket = ca ? tlsConnect({ host, port, ca, minVersion: 'TLSv1.3' }) : netConnect({ host, port, noDelay: true });
  await once(socket, ca ? 'secureConnect' : 'connect');
  return socket;
}

/** Uploads `file` as `name`; resolves once the server has it on disk. */
export async function rawPut(host: string, port: number, file: string, name: string, ca?: string): Promise<void> {
  const size = (await stat(file)).size;
  const socket = await connectTo(host, port, ca);
  try {
    const answer = new Promise<void>((resolve, reject) => {
      socket.once('data', (chunk: Buffer) => (chunk[0] === 0x4b ? resolve() : reject(new Error('bad answer'))));
      socket.once('close', () => reject(new Error('connection closed before the answer')));
    });
    answer.catch(() => {}); // observed below; this keeps an early rejection from being reported as unhandled
    socket.write(`U ${name} ${size}\n`);
    await sendFile(socket, file);
    await answer;
  } finally {
    socket.destroy();
  }
}

/** Downloads `name` to `out` (fsynced before it resolves). */
export async function rawGet(host: string, port: number, name: string, out: string, ca?: string): Promise<void> {
  const socket = await connectTo(host, port, ca);
  try {
    socket.write(`D ${name}\n`);
    const { line, rest } = await readHeader(socket);
    await receiveToFile(socket, out, Number(line), rest);
  } finally {
    socket.destroy();
  }
}

/** Round-trip times (ms) of `count` 16-byte echoes over one connection, after `warmup` untimed ones. */
export async function rawEchoTimes(host: string, port: number, count: number, warmup: number, ca?: string): Promise<number[]> {
  const socket = await connectTo(host, port, ca);
  try {
    socket.write('E\n');
    const message = Buffer.alloc(16, 0x61);
    const times: number[] = [];
    let pending = 0;
    let waiter: { resolve(): void; reject(err: Error): void } | undefined;
    socket.on('data', (chunk: Buffer) => {
      pending -= chunk.length;
      if (pending <= 0) waiter?.resolve();
    });
    socket.on('close', () => waiter?.reject(new Error('echo connection closed')));
    for (let i = 0; i < warmup + count; i++) {
      const start = performance.now();
      pending = message.length;
      await new Promise<void>((resolve, reject) => {
        waiter = { resolve, reject };
        socket.write(message);
      });
      if (i >= warmup) times.push(performance.now() - start);
    }
    return times;
  } finally {
    socket.destroy();
  }
}
