/**
 * A partial transfer on disk, on either side: the data received so far, and
 * beside it the digests of its completed blocks. Resuming trusts the digests
 * instead of re-reading the data.
 */
import type { WriteStream } from 'node:fs';
import { readFile, stat, truncate } from 'node:fs/promises';
import { BLOCK_SIZE, DIGEST_BYTES, splitDigests } from '../protocol/index.js';
import { BufferPool } from './buffer-pool.js';
import { backgroundFlusher, closeDurably, openDurableFile } from './durable-file.js';

/**
 * Received data is copied into these buffers to wait for the disk, rather than queued in the
 * buffers the socket read it into: those then die young and are freed at once (see server/reclaim.ts),
 * and the data waiting for the disk is bounded, across every transfer of the process, by the
 * pool (16 MiB) however many clients send at once. A 64 KiB buffer takes one TCP read whole.
 */
const receivePool = new BufferPool(64 * 1024, 256);

export interface PartialFiles {
  data: string;
  blocks: string;
}

/**
 * Where a partial transfer of a `size`-byte file can pick up: after the whole
 * blocks that have both their data and their digest on disk (or at the end,
 * when every block is there). A torn tail is cut off so data and digests agree.
 */
export async function resumePoint(files: PartialFiles, size: number): Promise<{ offset: number; digests: Buffer[] }> {
  const dataLength = (await stat(files.data).catch(() => undefined))?.size ?? 0;
  const recorded = splitDigests(await readFile(files.blocks).catch(() => Buffer.alloc(0)));
  const blocks = wholeBlocks(dataLength, recorded.length, size);
  const offset = Math.min(blocks * BLOCK_SIZE, size);
  if (dataLength > 0 || recorded.length > 0) {
    await truncate(files.data, offset).catch(() => {});
    await truncate(files.blocks, blocks * DIGEST_BYTES).catch(() => {});
  }
  return { offset, digests: recorded.slice(0, blocks) };
}

/** How many blocks of a `size`-byte file have both their data (`dataLength` bytes) and their digest (`digests`). */
export function wholeBlocks(dataLength: number, digests: number, size: number): number {
  const totalBlocks = Math.ceil(size / BLOCK_SIZE);
  if (dataLength >= size && digests >= totalBlocks) return totalBlocks;
  return Math.min(digests, Math.floor(dataLength / BLOCK_SIZE), totalBlocks);
}

/** The bytes a resume of the partial transfer `files` would start after, read without changing anything. */
export async function keptLength(files: PartialFiles, size: number): Promise<number> {
  const [data, blocks] = await Promise.all([files.data, files.blocks].map((f) => stat(f).catch(() => undefined)));
  return Math.min(wholeBlocks(data?.size ?? 0, Math.floor((blocks?.size ?? 0) / DIGEST_BYTES), size) * BLOCK_SIZE, size);
}

/**
 * The two open files of a partial transfer: data (flushed to disk in the
 * background as it grows) and block digests. Errors are reported once, and
 * not at all after the files were closed or destroyed on purpose.
 */
export class PartialStreams {
  readonly #data: WriteStream;
  /** Absent for a transfer that will never be resumed: its digests need no file. */
  readonly #blocks: WriteStream | undefined;
  readonly #flusher: { wrote(bytes: number): void };
  #finished = false;
  #error: Error | undefined;
  #onError: ((error: Error) => void) | undefined;
  /** The pool buffer being filled, and how much of it is. */
  #buffer: Buffer | undefined;
  #filled = 0;
  #flushQueued = false;

  constructor(data: WriteStream, blocks: WriteStream | undefined) {
    this.#data = data;
    this.#blocks = blocks;
    this.#flusher = backgroundFlusher(data);
    for (const stream of this.#streams()) {
      stream.on('error', (err) => {
        if (this.#finished || this.#error) return;
        this.#error = err;
        this.#onError?.(err);
      });
    }
  }

  /**
   * Opens `files.data` with `openData` and, when the transfer may be resumed,
   * the digests file for appending (created if need be).
   */
  static async open(files: PartialFiles, openData: () => Promise<WriteStream>, mode: number, resumable = true): Promise<PartialStreams> {
    const data = await openData();
    if (!resumable) return new PartialStreams(data, undefined);
    const blocks = await openDurableFile(files.blocks, { flags: 'a', mode }).catch((err: unknown) => {
      data.destroy();
      throw err;
    });
    return new PartialStreams(data, blocks);
  }

  #streams(): WriteStream[] {
    return this.#blocks ? [this.#data, this.#blocks] : [this.#data];
  }

  /** The first write error, if any. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Queues `chunk` for the data file; false when the caller should wait for onDrain() before writing more. */
  write(chunk: Buffer): boolean {
    this.#flusher.wrote(chunk.length);
    for (let offset = 0; offset < chunk.length;) {
      this.#buffer ??= receivePool.takeNow();
      if (!this.#buffer) {
        // Every pool buffer is in use: the rest is queued in the buffer the socket read it into.
        this.#data.write(offset === 0 ? chunk : chunk.subarray(offset));
        return false;
      }
      const copied = chunk.copy(this.#buffer, this.#filled, offset);
      this.#filled += copied;
      offset += copied;
      if (this.#filled === this.#buffer.length) this.#flush();
    }
    // A part-filled buffer goes to the disk at the end of this turn of the event loop, so that a
    // client that stops sending does not keep a pool buffer.
    if (this.#buffer && !this.#flushQueued) {
      this.#flushQueued = true;
      setImmediate(() => {
        this.#flushQueued = false;
        this.#flush();
      });
    }
    return !this.#data.writableNeedDrain;
  }

  /** Calls `callback` once the data file has room again and a pool buffer is free. */
  onDrain(callback: () => void): void {
    const withBuffer = () => {
      if (this.#buffer) return callback();
      void receivePool.take().then((buffer) => {
        if (this.#buffer || this.#finished) receivePool.give(buffer);
        else this.#buffer = buffer;
        callback();
      });
    };
    if (this.#data.writableNeedDrain) this.#data.once('drain', withBuffer);
    else withBuffer();
  }

  /** Queues the buffer being filled for the data file; it returns to the pool once written. */
  #flush(): void {
    const buffer = this.#buffer;
    if (!buffer) return;
    const filled = this.#filled;
    this.#buffer = undefined;
    this.#filled = 0;
    if (filled === 0 || this.#data.destroyed || this.#data.writableEnded) return receivePool.give(buffer);
    this.#data.write(filled === buffer.length ? buffer : buffer.subarray(0, filled), () => receivePool.give(buffer));
  }

  /** Registers the callback for the first write error (called at once if one happened already). */
  onError(callback: (error: Error) => void): void {
    this.#onError = callback;
    if (this.#error) callback(this.#error);
  }

  recordBlock(digest: Buffer): void {
    this.#blocks?.write(digest);
  }

  /** Flushes both files to disk and closes them. */
  async close(): Promise<void> {
    if (this.#error) throw this.#error;
    this.#flush();
    await Promise.all(this.#streams().map(closeDurably));
    this.#finished = true;
  }

  /** Closes both files, flushing what they hold, and ignores failures (the transfer is being left). */
  async suspend(): Promise<void> {
    this.#finished = true;
    this.#flush();
    await Promise.all(this.#streams().map(closeDurably)).catch(() => {});
  }

  destroy(): void {
    this.#finished = true;
    for (const stream of this.#streams()) stream.destroy();
    this.#flush(); // gives the buffer back: the stream is destroyed
  }
}
