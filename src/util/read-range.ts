/** Reading part of an open file in large chunks, without streams (a FileHandle stream closes its handle when done). */
import type { FileHandle } from 'node:fs/promises';
import { DEFAULT_CHUNK_SIZE, type ContentHasher } from '../protocol/index.js';

/**
 * Reads bytes [start, end) in chunks of `chunkSize`, calling `each` in order
 * with a fresh buffer (the callee may keep it). `each` may return false to
 * stop early. Stops at the end of the file if it is shorter than `end`.
 */
export async function readRange(
  handle: FileHandle,
  start: number,
  end: number,
  each: (chunk: Buffer) => unknown,
  chunkSize = DEFAULT_CHUNK_SIZE,
): Promise<void> {
  for (let position = start; position < end;) {
    const length = Math.min(chunkSize, end - position);
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    if ((await each(bytesRead === length ? buffer : buffer.subarray(0, bytesRead))) === false) return;
  }
}

/** Feeds the first `length` bytes of a file to `hasher` and returns it (to digest, or to go on with). */
export async function hashFileStart(handle: FileHandle, length: number, hasher: ContentHasher): Promise<ContentHasher> {
  await readRange(handle, 0, length, (chunk) => hasher.update(chunk));
  return hasher;
}
