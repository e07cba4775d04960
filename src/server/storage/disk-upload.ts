/**
 * An upload on disk: data in partial/<user>/<id>.part, the digests of its
 * completed blocks in <id>.blocks. A keyed upload cut off midway is kept and
 * continued by the next upload with the same key, from its last whole block:
 * the digests on disk stand in for the data, which is never re-read.
 */
import { type WriteStream } from 'node:fs';
import { lstat, mkdir, rename, rm, stat } from 'node:fs/promises';
import { syncDirectory } from '../../util/durable-file.js';
import { retryAfterMakingFolder } from '../../util/missing-folder.js';
import { PartialStreams, type PartialFiles } from '../../util/partial-file.js';
import { writeMeta } from './file-meta.js';
import type { UploadSink } from './storage.js';

export interface UploadPaths extends PartialFiles {
  finalPath: string;
  finalDir: string;
  /** The user's top folder: made again at commit if it was removed by hand meanwhile. */
  userRoot: string;
  metaPath: string;
  /** A keyed upload's `<id>.name`, which names it in a listing of kept uploads; removed with its data. */
  record: string | undefined;
}

export class DiskUpload implements UploadSink {
  readonly offset: number;
  readonly digests: Buffer[];
  readonly resumable: boolean;
  readonly #paths: UploadPaths;
  readonly #files: PartialStreams;
  /** Called once the upload's files are as it leaves them (kept, moved into place or removed). */
  readonly #release: () => void;
  readonly #wrapError: (err: unknown) => Error;
  #done = false;

  private constructor(init: {
    paths: UploadPaths;
    resumable: boolean;
    files: PartialStreams;
    offset: number;
    digests: Buffer[];
    release: () => void;
    wrapError: (err: unknown) => Error;
  }) {
    this.#paths = init.paths;
    this.#files = init.files;
    this.offset = init.offset;
    this.resumable = init.resumable;
    this.digests = init.digests;
    this.#release = init.release;
    this.#wrapError = init.wrapError;
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
    const files = await PartialStreams.open(paths, () => openData(paths.data, start.offset), 0o600, resumable);
    return new DiskUpload({ paths, resumable, files, ...start, release, wrapError });
  }

  write(chunk: Buffer): boolean {
    return this.#files.write(chunk);
  }

  onDrain(callback: () => void): void {
    this.#files.onDrain(callback);
  }

  onError(callback: (error: Error) => void): void {
    this.#files.onError((err) => callback(this.#wrapError(err)));
  }

  recordBlock(digest: Buffer): void {
    this.#files.recordBlock(digest);
  }

  async commit(checksum: { sha256: string; digests: Buffer[] }): Promise<{ replaced: number }> {
    const { data, blocks, finalPath, finalDir, metaPath, userRoot } = this.#paths;
    try {
      await this.#files.close();
      const info = await stat(data);
      const previous = await lstat(finalPath).catch(() => undefined);
      // Only the top folder is made again: a missing folder the user made is an error, as it was at the start.
      const makeTop = () => mkdir(userRoot, { recursive: true, mode: 0o700 });
      await (finalDir === userRoot ? retryAfterMakingFolder(() => rename(data, finalPath), makeTop) : rename(data, finalPath));
      await syncDirectory(finalDir);
      // After the data: a crash in between leaves metadata whose size and mtime do not match, which is ignored.
      // Not flushed, and a failure is no failure of the upload (the file is in place): metadata is a
      // cache, and a record that is missing is only a miss (the checksum is computed again when asked).
      await writeMeta(metaPath, { size: info.size, mtimeMs: info.mtimeMs, ...checksum }).catch(() => {});
      this.#done = true;
      if (this.resumable) await Promise.all(present([blocks, this.#paths.record]).map((p) => rm(p, { force: true })));
      this.#release();
      return { replaced: previous?.isFile() ? previous.size : 0 };
    } catch (err) {
      if (this.#done)
        this.#release(); // in place already: only the digests file was left
      else await this.abort();
      throw this.#wrapError(err);
    }
  }

  async suspend(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    // Flushed to disk, so a resume after a power cut finds what the digests promise.
    await this.#files.suspend().finally(this.#release);
  }

  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#files.destroy();
    const { data, blocks, record } = this.#paths;
    await Promise.all(present([data, blocks, record]).map((p) => rm(p, { force: true }).catch(() => {})));
    this.#release();
  }
}

function present(paths: (string | undefined)[]): string[] {
  return paths.filter((p) => p !== undefined);
}
