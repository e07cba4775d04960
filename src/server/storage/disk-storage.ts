/**
 * Storage on the local file system. Layout under the root:
 *   files/<user>/<name>      committed files
 *   partial/<user>/<id>.part uploads in progress (same file system, so rename is atomic)
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc, type WriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { LpfError } from '../../errors.js';
import { DEFAULT_CHUNK_SIZE, type ListEntry } from '../../protocol/index.js';
import { closeDurably, createDurableFile, syncDirectory } from '../../util/durable-file.js';
import type { Storage, StoredFile, UploadSink } from './storage.js';

export class DiskStorage implements Storage {
  readonly #filesRoot: string;
  readonly #partialRoot: string;

  constructor(root: string) {
    this.#filesRoot = join(root, 'files');
    this.#partialRoot = join(root, 'partial');
  }

  /**
   * Regular files only, seen with lstat: a symbolic link placed in a user's
   * folder (by anyone with shell access) is neither listed nor followed.
   */
  async list(user: string): Promise<ListEntry[]> {
    const dir = await this.#userDir(user);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (isCode(err, 'ENOENT')) return [];
      throw storageError(err, 'list files');
    }
    const entries: ListEntry[] = [];
    for (const name of names.sort()) {
      const info = await lstat(join(dir, name)).catch(() => undefined); // gone since readdir: not listed
      if (info?.isFile()) entries.push({ name, size: info.size, mtime: wireTime(info.mtimeMs) });
    }
    return entries;
  }

  async usage(user: string): Promise<number> {
    return (await this.list(user)).reduce((sum, e) => sum + e.size, 0);
  }

  async read(user: string, name: string): Promise<StoredFile> {
    let handle: FileHandle;
    try {
      handle = await open(join(await this.#userDir(user), name), fsc.O_RDONLY | fsc.O_NOFOLLOW);
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ELOOP')) throw notFound(name);
      throw storageError(err, `open ${JSON.stringify(name)}`);
    }
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      throw notFound(name);
    }
    const stream = handle.createReadStream({ highWaterMark: DEFAULT_CHUNK_SIZE });
    return { size: info.size, mtime: wireTime(info.mtimeMs), stream };
  }

  async createUpload(user: string, name: string): Promise<UploadSink> {
    const partialDir = join(this.#partialRoot, user);
    const finalDir = await this.#userDir(user);
    try {
      await mkdir(partialDir, { recursive: true });
      await mkdir(finalDir, { recursive: true });
    } catch (err) {
      throw storageError(err, 'prepare the upload folder');
    }
    const partialPath = join(partialDir, `${randomBytes(12).toString('hex')}.part`);
    let stream: WriteStream;
    try {
      stream = await this.openPartial(partialPath);
    } catch (err) {
      throw storageError(err, 'create the upload file');
    }
    return new DiskUpload(stream, partialPath, finalDir, join(finalDir, name));
  }

  async delete(user: string, name: string): Promise<number> {
    const path = join(await this.#userDir(user), name);
    try {
      const info = await lstat(path);
      if (!info.isFile()) throw notFound(name);
      await unlink(path);
      return info.size;
    } catch (err) {
      if (isCode(err, 'ENOENT')) throw notFound(name);
      throw storageError(err, `delete ${JSON.stringify(name)}`);
    }
  }

  /** Creates the file an upload is written to (a seam for tests that inject write failures). */
  protected openPartial(path: string): Promise<WriteStream> {
    return createDurableFile(path, 0o600);
  }

  /** The user's folder, refusing one that has been replaced by a symbolic link (it could lead anywhere). */
  async #userDir(user: string): Promise<string> {
    const dir = join(this.#filesRoot, user);
    const info = await lstat(dir).catch(() => undefined);
    if (info && !info.isDirectory()) {
      throw new LpfError('LPF_ERR_SERVER', 'your storage folder on the server is not a plain folder; ask the admin');
    }
    return dir;
  }
}

class DiskUpload implements UploadSink {
  readonly #stream: WriteStream;
  readonly #partialPath: string;
  readonly #finalDir: string;
  readonly #finalPath: string;
  #done = false;
  #error: Error | undefined;
  #onError: ((error: Error) => void) | undefined;

  constructor(stream: WriteStream, partialPath: string, finalDir: string, finalPath: string) {
    this.#stream = stream;
    this.#partialPath = partialPath;
    this.#finalDir = finalDir;
    this.#finalPath = finalPath;
    stream.on('error', (err) => {
      this.#error ??= err;
      this.#onError?.(storageError(err, 'store the file'));
    });
  }

  onError(callback: (error: Error) => void): void {
    this.#onError = callback;
    if (this.#error) callback(storageError(this.#error, 'store the file'));
  }

  write(chunk: Buffer): boolean {
    return this.#stream.write(chunk);
  }

  onDrain(callback: () => void): void {
    this.#stream.once('drain', callback);
  }

  async commit(): Promise<{ replaced: number }> {
    try {
      if (this.#error) throw this.#error;
      await closeDurably(this.#stream);
      const previous = await lstat(this.#finalPath).catch(() => undefined);
      await rename(this.#partialPath, this.#finalPath);
      await syncDirectory(this.#finalDir);
      this.#done = true;
      return { replaced: previous?.isFile() ? previous.size : 0 };
    } catch (err) {
      await this.abort();
      throw storageError(err, 'store the file');
    }
  }

  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#stream.destroy();
    await rm(this.#partialPath, { force: true }).catch(() => {});
  }
}

/** The wire carries unsigned milliseconds: a file dated before 1970 shows as 1970. */
function wireTime(mtimeMs: number): number {
  return Math.max(0, Math.floor(mtimeMs));
}

function isCode(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

function notFound(name: string): LpfError {
  return new LpfError('LPF_ERR_NOT_FOUND', `no such file: ${JSON.stringify(name)}`);
}

/** A server-side I/O failure, described without leaking server paths to the client. */
function storageError(err: unknown, action: string): LpfError {
  if (err instanceof LpfError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const why =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? 'the server is out of disk space'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? 'the server may not write there (permission denied)'
        : `server I/O error${code ? ` (${code})` : ''}`;
  return new LpfError('LPF_ERR_SERVER', `could not ${action}: ${why}`, { cause: err });
}
