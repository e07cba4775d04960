/**
 * An upload on disk: data in partial/<user>/<id>.part, the digests of its
 * completed blocks in <id>.blocks. A keyed upload cut off midway is kept and
 * continued by the next upload with the same key, from its last whole block:
 * the digests on disk stand in for the data, which is never re-read.
 */
import { type WriteStream } from 'node:fs';
import { lstat, open, rename, rm, stat } from 'node:fs/promises';
import { backgroundFlusher, closeDurably, openDurableFile, syncDirectory } from '../../util/durable-file.js';
import type { PartialFiles } from '../../util/partial-file.js';
import { encodeMeta } from './file-meta.js';
import type { UploadSink } from './storage.js';

export interface UploadPaths extends PartialFiles {
  finalPath: string;
  finalDir: string;
  metaPath: string;
  metaDir: string;
}

export class DiskUpload implements UploadSink {
  readonly offset: number;
  readonly digests: Buffer[];
  readonly resumable: boolean;
  readonly #paths: UploadPaths;
  readonly #data: WriteStream;
  readonly #blocks: WriteStream;
  readonly #release: () => void;
  #done = false;
  #error: Error | undefined;
  #onError: ((error: Error) => void) | undefined;
  readonly #wrapError: (err: unknown) => Error;
  readonly #flusher: { wrote(bytes: number): void };

  constructor(init: {
    paths: UploadPaths;
    resumable: boolean;
    data: WriteStream;
    blocks: WriteStream;
    offset: number;
    digests: Buffer[];
    release: () => void;
    wrapError: (err: unknown) => Error;
  }) {
    this.#paths = init.paths;
    this.#data = init.data;
    this.#blocks = init.blocks;
    this.offset = init.offset;
    this.resumable = init.resumable;
    this.digests = init.digests;
    this.#release = init.release;
    this.#wrapError = init.wrapError;
    this.#flusher = backgroundFlusher(this.#data);
    for (const stream of [this.#data, this.#blocks]) {
      stream.on('error', (err) => {
        // Once committed, suspended or aborted, a late error (from destroying the stream) concerns no one.
        if (this.#done) return;
        this.#error ??= err;
        this.#onError?.(this.#wrapError(err));
      });
    }
  }

  /** Opens the files of an upload, continuing them at `offset`, or creating them at 0. */
  static async open(
    paths: UploadPaths,
    resumable: boolean,
    start: { offset: number; digests: Buffer[] },
    openData: (path: string, offset: number) => Promise<WriteStream>,
    release: () => void,
    wrapError: (err: unknown) => Error,
  ): Promise<DiskUpload> {
    const data = await openData(paths.data, start.offset);
    const blocks = await openDurableFile(paths.blocks, { flags: 'a', mode: 0o600 }).catch((err: unknown) => {
      data.destroy();
      throw err;
    });
    return new DiskUpload({ paths, resumable, data, blocks, ...start, release, wrapError });
  }

  write(chunk: Buffer): boolean {
    const ok = this.#data.write(chunk);
    this.#flusher.wrote(chunk.length);
    return ok;
  }

  onDrain(callback: () => void): void {
    this.#data.once('drain', callback);
  }

  onError(callback: (error: Error) => void): void {
    this.#onError = callback;
    if (this.#error) callback(this.#wrapError(this.#error));
  }

  recordBlock(digest: Buffer): void {
    this.#blocks.write(digest);
  }

  async commit(checksum: { sha256: string; digests: Buffer[] }): Promise<{ replaced: number }> {
    const { data, blocks, finalPath, finalDir, metaPath, metaDir } = this.#paths;
    try {
      if (this.#error) throw this.#error;
      await closeDurably(this.#data);
      await closeDurably(this.#blocks);
      const info = await stat(data);
      const metaTemp = `${data}.meta`;
      await writeDurably(metaTemp, encodeMeta({ size: info.size, mtimeMs: info.mtimeMs, ...checksum }));
      const previous = await lstat(finalPath).catch(() => undefined);
      await rename(data, finalPath);
      await rename(metaTemp, metaPath);
      await syncDirectory(finalDir);
      await syncDirectory(metaDir);
      this.#finish();
      await rm(blocks, { force: true });
      return { replaced: previous?.isFile() ? previous.size : 0 };
    } catch (err) {
      await this.abort();
      throw this.#wrapError(err);
    }
  }

  async suspend(): Promise<void> {
    if (this.#done) return;
    this.#finish();
    // Flushed to disk, so a resume after a power cut finds what the digests promise.
    await Promise.all([closeDurably(this.#data), closeDurably(this.#blocks)]).catch(() => {});
  }

  async abort(): Promise<void> {
    if (this.#done) return;
    this.#finish();
    this.#data.destroy();
    this.#blocks.destroy();
    await Promise.all([this.#paths.data, this.#paths.blocks, `${this.#paths.data}.meta`].map((p) => rm(p, { force: true }).catch(() => {})));
  }

  #finish(): void {
    this.#done = true;
    this.#release();
  }
}

async function writeDurably(path: string, content: Buffer): Promise<void> {
  const handle = await open(path, 'w', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
