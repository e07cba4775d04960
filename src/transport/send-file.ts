/**
 * The hot path of a transfer's sending side: read a file range into pooled
 * buffers and send each as a DATA frame, with backpressure from the socket.
 * Each buffer returns to the pool once the socket has written it.
 */
import { DEFAULT_CHUNK_SIZE } from '../protocol/index.js';
import { BufferPool } from '../util/buffer-pool.js';
import type { Connection } from './connection.js';

/** Something that reads at a position, like a FileHandle. */
export interface PositionalReader {
  read(buffer: Buffer, position: number, length: number): Promise<number>;
}

/** 32 MiB of file data in flight at most, across every transfer of the process. */
export const sharedPool = new BufferPool(DEFAULT_CHUNK_SIZE, 32);

export interface SendRangeOptions {
  /** Called with each chunk before it is sent (hashing), and may return false to stop (the peer answered early). */
  onChunk(chunk: Buffer): boolean;
  pool?: BufferPool;
}

/** Sends bytes [start, end) and resolves with where it stopped (end, unless stopped early or the file shrank). */
export async function sendRange(conn: Connection, reader: PositionalReader, start: number, end: number, options: SendRangeOptions): Promise<number> {
  const pool = options.pool ?? sharedPool;
  let position = start;
  while (position < end) {
    const buffer = await pool.take();
    let handed = false;
    try {
      const bytesRead = await reader.read(buffer, position, Math.min(pool.size, end - position));
      if (bytesRead === 0 || conn.closed) break;
      const chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
      if (!options.onChunk(chunk)) break;
      position += bytesRead;
      handed = true;
      if (!conn.sendData(chunk, () => pool.give(buffer))) await conn.drained();
    } finally {
      if (!handed) pool.give(buffer);
    }
  }
  return position;
}
