/**
 * Storage on the local file system. Layout under the root:
 *   files/<user>/<path>               committed files, in the user's folders
 *   meta/<user>/<path>                their checksum and block digests (see file-meta.ts), in a mirror tree
 *   partial/<user>/<id>.part, .blocks, .name  uploads in progress or cut off, <id>.copy/ copies being built (same file system: rename is atomic)
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc, type Stats, type WriteStream } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BLOCK_SIZE, ContentHasher, joinRemote, remoteBaseName, type ListEntry } from '../../protocol/index.js';
import { openDurableFile } from '../../util/durable-file.js';
import { retryAfterMakingFolder } from '../../util/missing-folder.js';
import { hashFileStart } from '../../util/read-range.js';
import { resumePoint } from '../../util/partial-file.js';
import { DiskUpload, type UploadPaths } from './disk-upload.js';
import { isAFolder, isCode, notFound, notRegular, storageError } from './disk-errors.js';
import { readValidMeta } from './file-meta.js';
import type { ListOptions, RemovedUser, ResumeFrom, Storage, StoredFile, UploadRequest, UploadSink } from './storage.js';
import { KeyedLimit } from '../../util/keyed-limit.js';
import { deleteEntry, renameEntry } from './tree-changes.js';
import { copyEntry } from './tree-copy.js';
import { KeptPartials, keptUploads, recordUpload, sweepOld } from './partial-folder.js';
import { partialId } from './partial-id.js';
import { makeFolders, removeTrees, resolveInside, walkTree, type TreeEntry } from './user-tree.js';

/** Opens of one user's files in flight at once: half of libuv's default thread pool. */
const OPENS_PER_USER = 2;

export class DiskStorage implements Storage {
  readonly #filesRoot: string;
  readonly #metaRoot: string;
  readonly #partialRoot: string;
  /** Partial uploads being written now: a second upload with the same key must not write into one. */
  readonly #active = new Set<string>();
  /** Users whose storage and partial folders were made: not made again for every upload. */
  readonly #prepared = new Set<string>();
  readonly #opens = new KeyedLimit(OPENS_PER_USER);
  readonly #kept: KeptPartials;

  constructor(root: string) {
    this.#filesRoot = join(root, 'files');
    this.#metaRoot = join(root, 'meta');
    this.#partialRoot = join(root, 'partial');
    this.#kept = new KeptPartials(this.#partialRoot);
  }

  /**
   * Regular files and folders only, seen with lstat: a symbolic link placed in
   * a user's folder (by anyone with shell access) is neither listed nor followed.
   * Listing a file gives that one entry.
   */
  async list(user: string, path: string, options: ListOptions = {}): Promise<ListEntry[]> {
    const target = await resolveInside(this.#userRoot(user), path);
    if (!target.info) {
      if (path === '') return [];
      throw notFound(path);
    }
    if (target.info.isFile()) return [await this.#entry(user, path, remoteBaseName(path), target.info, options.checksums)];
    if (!target.info.isDirectory()) throw notFound(path);
    let tree: TreeEntry[];
    try {
      tree = await walkTree(target.path, options.recursive === true);
    } catch (err) {
      throw storageError(err, 'list files');
    }
    const entries: ListEntry[] = [];
    for (const e of tree) entries.push(await this.#entry(user, joinRemote(path, e.name), e.name, e.info, options.checksums));
    return entries;
  }

  async stat(user: string, path: string): Promise<ListEntry> {
    const { info } = await resolveInside(this.#userRoot(user), path);
    if (!info) throw notFound(path);
    if (!(info.isFile() || info.isDirectory())) throw notRegular(path);
    return this.#entry(user, path, path, info, false);
  }

  async usage(user: string): Promise<number> {
    const tree = await walkTree(this.#userRoot(user), true).catch((err: unknown) => {
      if (isCode(err, 'ENOENT')) return [];
      throw storageError(err, 'measure your storage');
    });
    return tree.reduce((sum, e) => sum + (e.info.isFile() ? e.info.size : 0), 0);
  }

  async keptPartialBytes(user: string, resuming?: { path: string; request: UploadRequest }): Promise<number> {
    const key = resuming?.request.key;
    const resumed = resuming && key !== undefined ? partialId(resuming.path, resuming.request.size, key) : undefined;
    return this.#kept.bytes(user, (id) => this.#active.has(`${user}/${id}`), resumed);
  }

  async read(user: string, name: string, resume?: ResumeFrom): Promise<StoredFile> {
    const target = await resolveInside(this.#userRoot(user), name);
    if (target.info?.isDirectory()) throw isAFolder(name, 'download it with -r');
    if (!target.info) throw notFound(name);
    // Refused before opening: opening a pipe waits for a writer, and would hold a thread of the pool meanwhile.
    if (!target.info.isFile()) throw notRegular(name);
    let handle: FileHandle;
    try {
      handle = await this.#openForReading(user, target.path);
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ELOOP')) throw notFound(name);
      throw storageError(err, `open ${JSON.stringify(name)}`);
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw notRegular(name); // swapped in since the lstat
      const mtime = wireTime(info.mtimeMs);
      const meta = await readValidMeta(this.#metaPath(user, name), info.size, info.mtimeMs);
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
    const metaPath = this.#metaPath(user, name);
    await this.#prepare(user);
    const target = await resolveInside(this.#userRoot(user), name);
    if (target.info?.isDirectory()) throw isAFolder(name, 'a file cannot replace it');
    let id = request.key === undefined ? undefined : partialId(name, request.size, request.key);
    if (id !== undefined && this.#active.has(`${user}/${id}`)) id = undefined; // the same content is being sent right now
    const resumable = id !== undefined;
    id ??= randomBytes(16).toString('hex');
    const paths: UploadPaths = {
      data: join(partialDir, `${id}.part`),
      blocks: join(partialDir, `${id}.blocks`),
      record: resumable ? join(partialDir, `${id}.name`) : undefined,
      finalDir: dirname(target.path),
      userRoot: this.#userRoot(user),
      finalPath: target.path,
      metaPath,
    };
    const activeKey = `${user}/${id}`;
    this.#active.add(activeKey);
    try {
      const start = resumable ? await resumePoint(paths, request.size) : { offset: 0, digests: [] };
      if (paths.record) await recordUpload(paths.record, name, request.size);
      return await DiskUpload.open(
        paths,
        resumable,
        start,
        // The folders may have been removed behind the server's back (an admin's clean-up): made again then.
        (path, offset) =>
          retryAfterMakingFolder(
            () => this.openPartial(path, offset),
            () => {
              this.#prepared.delete(user);
              return this.#prepare(user);
            },
          ),
        // A resumable upload that ends may leave, continue or drop a kept partial: the next charge scans again.
        () => {
          this.#active.delete(activeKey);
          if (resumable) this.#kept.forget(user);
        },
        (err) => storageError(err, 'store the file'),
      );
    } catch (err) {
      this.#active.delete(activeKey);
      throw storageError(err, 'create the upload file');
    }
  }

  delete(user: string, name: string): Promise<number> {
    return deleteEntry(this.#userRoot(user), join(this.#metaRoot, user), name);
  }

  async makeFolder(user: string, path: string): Promise<void> {
    const root = this.#userRoot(user);
    try {
      await mkdir(root, { recursive: true, mode: 0o700 });
      await makeFolders(root, path);
    } catch (err) {
      throw storageError(err, `create the folder ${JSON.stringify(path)}`);
    }
  }

  rename(user: string, from: string, to: string): Promise<void> {
    return renameEntry(this.#userRoot(user), join(this.#metaRoot, user), from, to);
  }

  copy(user: string, from: string, to: string, maxBytes: number): Promise<number> {
    const id = `${user}/${randomBytes(16).toString('hex')}.copy`;
    this.#active.add(id); // the sweep leaves it alone while it is built
    const places = { root: this.#userRoot(user), metaRoot: join(this.#metaRoot, user), scratch: join(this.#partialRoot, id) };
    return copyEntry({ ...places, openForReading: (path) => this.#openForReading(user, path) }, from, to, maxBytes).finally(() =>
      this.#active.delete(id),
    );
  }

  partials(user: string, path: string): Promise<ListEntry[]> {
    return keptUploads(join(this.#partialRoot, user), path, (id) => this.#active.has(`${user}/${id}`)).catch((err: unknown) => {
      throw storageError(err, 'list your unfinished uploads');
    });
  }

  sweepPartials(maxAgeMs: number): Promise<number> {
    return sweepOld(this.#partialRoot, maxAgeMs, (user, id) => this.#active.has(`${user}/${id}`)).finally(() => this.#kept.forgetAll());
  }

  async removeUser(user: string): Promise<RemovedUser> {
    this.#prepared.delete(user);
    const count = await removeTrees(this.#userRoot(user), [join(this.#metaRoot, user), join(this.#partialRoot, user)]);
    return { count, unit: 'file' };
  }

  /**
   * Opens the data file of an upload at `offset` (a seam for tests that inject write failures). At 0
   * it may exist: a kept partial without a whole block starts over in the same file.
   */
  protected openPartial(path: string, offset: number): Promise<WriteStream> {
    return openDurableFile(path, offset > 0 ? { flags: 'r+', start: offset } : { flags: 'w', mode: 0o600 });
  }

  /** A listing entry for what lstat found at remote `path`, shown as `name`. */
  async #entry(user: string, path: string, name: string, info: Stats, checksums = false): Promise<ListEntry> {
    if (info.isDirectory()) return { name, size: 0, mtime: wireTime(info.mtimeMs), dir: true };
    const entry: ListEntry = { name, size: info.size, mtime: wireTime(info.mtimeMs) };
    if (checksums) {
      const sha256 = await this.#checksum(user, path, info.size, info.mtimeMs).catch(() => undefined);
      if (sha256) entry.sha256 = sha256;
    }
    return entry;
  }

  /** The recorded checksum, or one computed now from the content (files placed by other means). */
  async #checksum(user: string, path: string, size: number, mtimeMs: number): Promise<string> {
    const meta = await readValidMeta(this.#metaPath(user, path), size, mtimeMs);
    if (meta) return meta.sha256;
    const handle = await this.#openForReading(user, (await resolveInside(this.#userRoot(user), path)).path);
    try {
      if (!(await handle.stat()).isFile()) throw notRegular(path);
      return (await hashFileStart(handle, size, new ContentHasher())).digest();
    } finally {
      await handle.close();
    }
  }

  /**
   * Opens a file of the user's for reading without ever waiting on it: O_NONBLOCK makes a pipe or device
   * swapped in after the lstat open at once (it is then refused by type), and no more than
   * OPENS_PER_USER opens of one user run at once, so that one user can never hold all of libuv's thread
   * pool (4 threads by default, shared by every file operation, sign-up and login) even where an open
   * does block (a hung network mount).
   */
  #openForReading(user: string, path: string): Promise<FileHandle> {
    return this.#opens.run(user, () => open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK));
  }

  async #prepare(user: string): Promise<void> {
    if (this.#prepared.has(user)) return;
    try {
      await Promise.all([join(this.#partialRoot, user), this.#userRoot(user)].map((d) => mkdir(d, { recursive: true, mode: 0o700 })));
    } catch (err) {
      throw storageError(err, 'prepare the upload folder');
    }
    this.#prepared.add(user);
  }

  #userRoot(user: string): string {
    return join(this.#filesRoot, user);
  }

  #metaPath(user: string, path: string): string {
    return join(this.#metaRoot, user, path);
  }
}

/** Digests of the whole blocks in the first `length` bytes, read from the file (when no metadata has them). */
async function digestsOf(handle: FileHandle, length: number): Promise<Buffer[]> {
  const hasher = await hashFileStart(handle, length, new ContentHasher());
  if (length > 0) hasher.digest(); // closes a short last block
  return [...hasher.digests];
}

/** The wire carries unsigned milliseconds: a file dated before 1970 shows as 1970. */
function wireTime(mtimeMs: number): number {
  return Math.max(0, Math.floor(mtimeMs));
}
