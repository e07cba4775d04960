/**
 * The hot path of a transfer's sending side: read a file range into pooled
 * buffers and send each as a DATA frame, with backpressure from the socket.
 * Each buffer returns to the pool once the socket has written it.
 */
import { DEFAULT_CHUNK_SIZE } from '../protocol/index.js';
import { BufferPool } from '../util/buffer-pool.js';
import type { PositionalReader } from '../util/positional-reader.js';
import type { Connection } from './connection.js';

/**
 * 16 MiB of file data in flight over plain TCP, across every transfer of the process: a buffer is
 * back as soon as the kernel has taken its data, so a few are enough for many clients (a sender with
 * spareWhenSpent makes spares of its own while they are all out, and reuses them).
 */
export const sharedPool = new BufferPool(DEFAULT_CHUNK_SIZE, 16);

/**
 * Over TLS, Node encrypts a write into an output buffer sized for the whole write and keeps that
 * buffer for the life of the connection (NodeBIO's allocation hint): every connection that once
 * sent a 1 MiB frame kept 1 MiB, 200 clients 200 MiB. A 64 KiB frame keeps 82 KiB. Each is written
 * once the one before is (a write queued behind another would be joined to it), from buffers still
 * read 1 MiB at a time (bench/profiles/2026-11-24-server-memory.md).
 */
const TLS_FRAME = 64 * 1024;

/** The largest DATA payload worth sending on `conn` in one write (see TLS_FRAME). */
export function dataFrameSize(conn: Connection, bufferSize = DEFAULT_CHUNK_SIZE): number {
  return conn.encrypted ? TLS_FRAME : bufferSize;
}

export interface SendRangeOptions {
  /** Called with each chunk before it is sent (hashing), and may return false to stop (the peer answered early). */
  onChunk(chunk: Buffer): boolean;
  pool?: BufferPool;
  /**
   * With the pool spent, read into a spare buffer rather than wait for one to come back. A buffer comes
   * back only once its receiver reads it, and a receiver may hold one connection until another moves on:
   * a server whose S3 part budget is spent holds the uploads that wait for it until those holding it
   * receive the rest of their parts (part-budget.ts). When the connections stopped so hold every buffer
   * of the pool, the ones the server waits on would wait for them too, for good (issue 13). For the
   * client's uploads, each of which may have to go on while others stand still.
   */
  spareWhenSpent?: boolean;
}

/**
 * Sends bytes [start, end) and resolves with where it stopped (end, unless stopped early or the file
 * shrank). The next buffer is read while the current one is hashed and sent, so the disk read
 * overlaps the work on the main thread; only with a buffer the pool has free at once, so that a
 * few stalled receivers cannot hold two buffers each.
 */
export async function sendRange(
  conn: Connection,
  reader: PositionalReader,
  start: number,
  end: number,
  options: SendRangeOptions,
): Promise<number> {
  const pool = options.pool ?? sharedPool;
  const frame = dataFrameSize(conn, pool.size);
  const { take, giveBack } = bufferSource(pool, options.spareWhenSpent === true);
  const readInto = async (buffer: Buffer, position: number): Promise<{ buffer: Buffer; bytesRead: number }> => {
    try {
      return { buffer, bytesRead: await reader.read(buffer, position, Math.min(pool.size, end - position)) };
    } catch (err) {
      giveBack(buffer);
      throw err;
    }
  };
  const readAhead = (position: number) => {
    const buffer = pool.takeNow();
    if (!buffer) return undefined;
    const read = readInto(buffer, position);
    read.catch(() => {}); // awaited in its turn; a failure must not count as unhandled meanwhile
    return read;
  };
  let position = start;
  let next: Promise<{ buffer: Buffer; bytesRead: number }> | undefined;
  try {
    while (position < end) {
      const { buffer, bytesRead } = await (next ?? readInto(await take(), position));
      next = undefined;
      let handed = false;
      try {
        if (bytesRead === 0 || conn.closed) break;
        const chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
        if (!options.onChunk(chunk)) break;
        position += bytesRead;
        if (position < end) next = readAhead(position);
        handed = true;
        // Every piece is sent even if the connection closes meanwhile: the last one gives the buffer back.
        for (let at = 0; at < chunk.length; at += frame) {
          const last = at + frame >= chunk.length;
          const piece = at === 0 && last ? chunk : chunk.subarray(at, at + frame);
          if (!conn.sendData(piece, last ? () => giveBack(buffer) : undefined)) await conn.drained();
        }
      } finally {
        if (!handed) giveBack(buffer);
      }
    }
  } finally {
    // A read started ahead and never sent gives its buffer back.
    if (next)
      void next.then(
        ({ buffer }) => giveBack(buffer),
        () => {},
      );
  }
  return position;
}

/**
 * Where one transfer takes its buffers: the pool, waiting for one to come back; or, with `spares`, the
 * pool when it has one free, else this transfer's own spares, made when the pool is spent and reused
 * (never given to the pool).
 */
function bufferSource(pool: BufferPool, spares: boolean): { take: () => Promise<Buffer>; giveBack: (buffer: Buffer) => void } {
  const own = new Set<Buffer>();
  const free: Buffer[] = [];
  return {
    take: async () => {
      if (!spares) return pool.take();
      const buffer = pool.takeNow() ?? free.pop() ?? Buffer.allocUnsafe(pool.size);
      if (!pool.owns(buffer)) own.add(buffer);
      return buffer;
    },
    giveBack: (buffer) => (own.has(buffer) ? void free.push(buffer) : pool.give(buffer)),
  };
}
