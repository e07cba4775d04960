/**
 * Storage on the local file system. Layout under the root:
 *   files/<user>/<name>               committed files
 *   meta/<user>/<name>                their checksum and block digests (see file-meta.ts)
 *   partial/<user>/<id>.part, .blocks uploads in progress or cut off (same file system: rename is atomic)
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsc, type WriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { LpfError } from '../../errors.js';
import { BLOCK_SIZE, ContentHasher, type ListEntry } from '../../protocol/index.js';
import { openDurableFile } from '../../util/durable-file.js';
import { hashFileStart } from '../../util/read-range.js';
import { resumePoint } from '../../util/partial-file.js';
import { DiskUpload, type UploadPaths } from './disk-upload.js';
import { readValidMeta, removeMeta } from './file-meta.js';
import type { ResumeFrom, Storage, StoredFile, UploadRequest, UploadSink } from './storage.js';

export class DiskStorage implements Storage {
  readonly #filesRoot: string;
  readonly #metaRoot: string;
  readonly #partialRoot: string;
  /** Partial uploads being written now: a second upload with the same key must not write into one. */
  readonly #active = new Set<string>();

  constructor(root: string) {
    this.#filesRoot = join(root, 'files');
    this.#metaRoot = join(root, 'meta');
    this.#partialRoot = join(root, 'partial');
  }

  /**
   * Regular files only, seen with lstat: a symbolic link placed in a user's
   * folder (by anyone with shell access) is neither listed nor followed.
   */
  async list(user: string, options: { checksums?: boolean } = {}): Promise<ListEntry[]> {
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
      if (!info?.isFile()) continue;
      const entry: ListEntry = { name, size: info.size, mtime: wireTime(info.mtimeMs) };
      if (options.checksums) {
        const sha256 = await this.#checksum(user, name, info.size, info.mtimeMs).catch(() => undefined);
        if (sha256) entry.sha256 = sha256;
      }
      entries.push(entry);
    }
    return entries;
  }

  async usage(user: string): Promise<number> {
    return (await this.list(user)).reduce((sum, e) => sum + e.size, 0);
  }

  async read(user: string, name: string, resume?: ResumeFrom): Promise<StoredFile> {
    const path = join(await this.#userDir(user), name);
    let handle: FileHandle;
    try {
      handle = await open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ELOOP')) throw notFound(name);
      throw storageError(err, `open ${JSON.stringify(name)}`);
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw notFound(name);
      const mtime = wireTime(info.mtimeMs);
      const meta = await readValidMeta(join(this.#metaRoot, user, name), info.size, info.mtimeMs);
      // Resume only where the file is the one the client has a part of, and on a block boundary.
      const canResume =
        resume !== undefined &&
        resume.size === info.size &&
        resume.mtime === mtime &&
        resume.offset <= info.size &&
        (resume.offset % BLOCK_SIZE === 0 || resume.offset === info.size);
      const offset = canResume ? resume.offset : 0;
      const blocks = Math.ceil(offset / BLOCK_SIZE);
      const prefixDigests = meta ? meta.digests.slice(0, blocks) : await digestsOf(handle, offset);
      const reader = {
        read: async (buffer: Buffer, position: number, length: number) => (await handle.read(buffer, 0, length, position)).bytesRead,
        close: () => handle.close(),
      };
      return { size: info.size, mtime, offset, reader, prefixDigests, sha256: meta?.sha256 };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async createUpload(user: string, name: string, request: UploadRequest): Promise<UploadSink> {
    const partialDir = join(this.#partialRoot, user);
    const finalDir = await this.#userDir(user);
    const metaDir = join(this.#metaRoot, user);
    try {
      await Promise.all([partialDir, finalDir, metaDir].map((d) => mkdir(d, { recursive: true, mode: 0o700 })));
    } catch (err) {
      throw storageError(err, 'prepare the upload folder');
    }
    let id = request.key === undefined ? undefined : partialId(name, request.size, request.key);
    if (id !== undefined && this.#active.has(`${user}/${id}`)) id = undefined; // the same content is being sent right now
    const resumable = id !== undefined;
    id ??= randomBytes(16).toString('hex');
    const paths: UploadPaths = {
      data: join(partialDir, `${id}.part`),
      blocks: join(partialDir, `${id}.blocks`),
      finalDir,
      finalPath: join(finalDir, name),
      metaPath: join(metaDir, name),
    };
    const activeKey = `${user}/${id}`;
    this.#active.add(activeKey);
    try {
      const start = resumable ? await resumePoint(paths, request.size) : { offset: 0, digests: [] };
      return await DiskUpload.open(
        paths,
        resumable,
        start,
        (path, offset) => this.openPartial(path, offset),
        () => this.#active.delete(activeKey),
        (err) => storageError(err, 'store the file'),
      );
    } catch (err) {
      this.#active.delete(activeKey);
      throw storageError(err, 'create the upload file');
    }
  }

  async delete(user: string, name: string): Promise<number> {
    const path = join(await this.#userDir(user), name);
    try {
      const info = await lstat(path);
      if (!info.isFile()) throw notFound(name);
      await unlink(path);
      await removeMeta(join(this.#metaRoot, user, name));
      return info.size;
    } catch (err) {
      if (isCode(err, 'ENOENT')) throw notFound(name);
      throw storageError(err, `delete ${JSON.stringify(name)}`);
    }
  }

  async sweepPartials(maxAgeMs: number): Promise<number> {
    let removed = 0;
    const users = await readdir(this.#partialRoot).catch(() => [] as string[]);
    const now = Date.now();
    for (const user of users) {
      const dir = join(this.#partialRoot, user);
      for (const file of await readdir(dir).catch(() => [] as string[])) {
        const id = file.replace(/\.(part|blocks)$/, '');
        if (this.#active.has(`${user}/${id}`)) continue;
        const info = await stat(join(dir, file)).catch(() => undefined);
        if (info && now - info.mtimeMs > maxAgeMs) {
          await rm(join(dir, file), { force: true });
          removed++;
        }
      }
    }
    return removed;
  }

  /**
   * Opens the data file of an upload at `offset` (a seam for tests that inject write failures). At 0
   * it may exist: a kept partial without a whole block starts over in the same file.
   */
  protected openPartial(path: string, offset: number): Promise<WriteStream> {
    return openDurableFile(path, offset > 0 ? { flags: 'r+', start: offset } : { flags: 'w', mode: 0o600 });
  }

  /** The recorded checksum, or one computed now from the content (files placed by other means). */
  async #checksum(user: string, name: string, size: number, mtimeMs: number): Promise<string> {
    const meta = await readValidMeta(join(this.#metaRoot, user, name), size, mtimeMs);
    if (meta) return meta.sha256;
    const handle = await open(join(this.#filesRoot, user, name), fsc.O_RDONLY | fsc.O_NOFOLLOW);
    try {
      return (await hashFileStart(handle, size, new ContentHasher())).digest();
    } finally {
      await handle.close();
    }
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

/** Digests of the whole blocks in the first `length` bytes, read from the file (when no metadata has them). */
async function digestsOf(handle: FileHandle, length: number): Promise<Buffer[]> {
  const hasher = await hashFileStart(handle, length, new ContentHasher());
  if (length > 0) hasher.digest(); // closes a short last block
  return [...hasher.digests];
}

/** A partial upload's file name: the same name, size and sender key find the same partial. */
function partialId(name: string, size: number, key: string): string {
  return createHash('sha256').update(`${name}\0${size}\0${key}`).digest('hex').slice(0, 40);
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
