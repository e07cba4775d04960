/**
 * A copy of a file or folder tree inside a user's storage, built aside (in a scratch folder beside the
 * partial uploads, on the same file system) and moved into place only once every file and folder of it
 * is flushed: a crash or a failure midway leaves nothing at the target. Regular files and folders only,
 * found with lstat (walkTree) and opened without following a link: a symbolic link in the tree is
 * neither copied nor followed. The checksum records (file-meta.ts) come along, so nothing is hashed again.
 */
import type { FileHandle } from 'node:fs/promises';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LpfError } from '../../errors.js';
import { joinRemote } from '../../protocol/index.js';
import { closeDurably, openDurableFile, syncDirectory } from '../../util/durable-file.js';
import { isCode, notFound, notRegular, storageError } from './disk-errors.js';
import { readValidMeta, writeMeta } from './file-meta.js';
import { moveInto, moveMeta } from './tree-changes.js';
import { noSuchFolder, resolveInside, walkTree } from './user-tree.js';

/** Where a copy reads and is built. */
export interface CopyPlaces {
  /** The user's files folder. */
  root: string;
  /** The user's checksum records (a mirror tree of `root`). */
  metaRoot: string;
  /** A path that does not exist yet, on the file system of `root`: the copy is built there, and it is removed after. */
  scratch: string;
  /** Opens one of the user's files for reading without following a link or waiting on a pipe. */
  openForReading(path: string): Promise<FileHandle>;
}

/**
 * Copies the file or folder `from` to `to` (validated remote paths); `to` must not exist, its folder must.
 * Resolves with the bytes copied; refuses (LPF_ERR_QUOTA) to copy more than `maxBytes`.
 */
export async function copyEntry(places: CopyPlaces, from: string, to: string, maxBytes: number): Promise<number> {
  if (to.startsWith(`${from}/`)) throw new LpfError('LPF_ERR_BAD_NAME', `cannot copy ${JSON.stringify(from)} into itself`);
  const source = await resolveInside(places.root, from);
  if (!source.info || !(source.info.isFile() || source.info.isDirectory())) throw notFound(from);
  const target = await resolveInside(places.root, to);
  if (target.info) throw taken(to);
  const built = { data: join(places.scratch, 'data'), meta: join(places.scratch, 'meta') };
  const copier = new TreeCopier(places, maxBytes);
  try {
    await mkdir(places.scratch, { recursive: true, mode: 0o700 });
    if (source.info.isFile()) await copier.file(source.path, from, built);
    else await copier.folder(source.path, from, built);
    await place(built.data, target.path, source.info.isFile(), to);
    // After the data, as for an upload: a record that does not match its file is ignored.
    await moveMeta(built.meta, join(places.metaRoot, to));
    return copier.copied;
  } catch (err) {
    throw storageError(err, `copy ${JSON.stringify(from)}`);
  } finally {
    await rm(places.scratch, { recursive: true, force: true }).catch(() => {});
  }
}

/** Moves the finished copy to `target` (remote `to`), never over anything that appeared there meanwhile. */
async function place(built: string, target: string, isFile: boolean, to: string): Promise<void> {
  try {
    await moveInto(built, target, isFile);
  } catch (err) {
    if (isCode(err, 'EEXIST') || isCode(err, 'ENOTEMPTY')) throw taken(to);
    if (isCode(err, 'ENOENT')) throw noSuchFolder(to.split('/').slice(0, -1).join('/')); // removed meanwhile
    throw err;
  }
}

function taken(to: string): LpfError {
  return new LpfError('LPF_ERR_EXISTS', `${JSON.stringify(to)} already exists; delete it first or choose another name`);
}

/** Where one file or folder of the copy goes: its data, and its checksum record. */
interface Destination {
  data: string;
  meta: string;
}

/** Copies files and folders into the scratch folder, counting the bytes against the budget. */
class TreeCopier {
  readonly #places: CopyPlaces;
  readonly #maxBytes: number;
  copied = 0;

  constructor(places: CopyPlaces, maxBytes: number) {
    this.#places = places;
    this.#maxBytes = maxBytes;
  }

  /** Copies the folder at `path` (remote `remote`) with everything in it, its empty folders included. */
  async folder(path: string, remote: string, to: Destination): Promise<void> {
    await mkdir(to.data, { mode: 0o700 });
    const made = [to.data];
    for (const entry of await walkTree(path, true)) {
      const inside = { data: join(to.data, entry.name), meta: join(to.meta, entry.name) };
      if (entry.info.isDirectory()) {
        await mkdir(inside.data, { mode: 0o700 });
        made.push(inside.data);
      } else {
        await this.file(entry.path, joinRemote(remote, entry.name), inside);
      }
    }
    // The folders' entries reach the disk before the copy is moved into place, like its files' data.
    for (const folder of made) await syncDirectory(folder);
  }

  /** Copies the file at `path` (remote `remote`), streamed and flushed, with its checksum record if it has a valid one. */
  async file(path: string, remote: string, to: Destination): Promise<void> {
    const handle = await this.#open(path, remote);
    try {
      const before = await handle.stat();
      if (!before.isFile()) throw notRegular(remote); // swapped in since the walk
      this.#charge(before.size);
      const meta = await readValidMeta(join(this.#places.metaRoot, remote), before.size, before.mtimeMs);
      const out = await openDurableFile(to.data, { flags: 'wx', mode: 0o600 });
      if (before.size > 0) await pipeline(handle.createReadStream({ start: 0, end: before.size - 1, autoClose: false }), out);
      else await closeDurably(out);
      // The record vouches for the content only if the file did not change while it was read (size and mtime, as everywhere).
      const after = await handle.stat();
      if (meta && after.size === before.size && after.mtimeMs === before.mtimeMs) {
        const copy = await stat(to.data);
        await writeMeta(to.meta, { ...meta, size: copy.size, mtimeMs: copy.mtimeMs }).catch(() => {});
      }
    } finally {
      await handle.close();
    }
  }

  async #open(path: string, remote: string): Promise<FileHandle> {
    try {
      return await this.#places.openForReading(path);
    } catch (err) {
      if (isCode(err, 'ELOOP')) throw notRegular(remote);
      if (isCode(err, 'ENOENT')) throw notFound(remote);
      throw err;
    }
  }

  /** Counts a file's bytes; the source grown past what was reserved for it is refused. */
  #charge(size: number): void {
    this.copied += size;
    if (this.copied > this.#maxBytes) {
      throw new LpfError(
        'LPF_ERR_QUOTA',
        `the source grew past the ${this.#maxBytes} bytes reserved for the copy while it was copied; try again`,
      );
    }
  }
}
