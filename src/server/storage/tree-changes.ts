/**
 * Changes to a user's tree that carry no file data: delete and rename, with the checksum
 * metadata (meta/, a mirror tree: see file-meta.ts) following its file. `root` is the user's
 * files folder, `metaRoot` the user's metadata folder; paths are validated remote paths.
 */
import { link, mkdir, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LpfError } from '../../errors.js';
import { syncDirectory } from '../../util/durable-file.js';
import { isCode, notFound, storageError } from './disk-errors.js';
import { removeMeta } from './file-meta.js';
import { resolveInside } from './user-tree.js';

/** Deletes a file or an empty folder; resolves with the bytes freed. */
export async function deleteEntry(root: string, metaRoot: string, name: string): Promise<number> {
  const target = await resolveInside(root, name);
  try {
    if (target.info?.isFile()) {
      await unlink(target.path);
      await removeMeta(join(metaRoot, name));
      return target.info.size;
    }
    if (!target.info?.isDirectory()) throw notFound(name);
    await rmdir(target.path);
    await rm(join(metaRoot, name), { recursive: true, force: true }).catch(() => {});
    return 0;
  } catch (err) {
    if (isCode(err, 'ENOENT')) throw notFound(name);
    if (isCode(err, 'ENOTEMPTY') || isCode(err, 'EEXIST')) {
      throw new LpfError('LPF_ERR_NOT_EMPTY', `the folder ${JSON.stringify(name)} is not empty; delete what is in it first`);
    }
    throw storageError(err, `delete ${JSON.stringify(name)}`);
  }
}

/** Renames a file or folder; `to` must not exist, its folder must. */
export async function renameEntry(root: string, metaRoot: string, from: string, to: string): Promise<void> {
  if (to === from) return;
  if (to.startsWith(`${from}/`)) throw new LpfError('LPF_ERR_BAD_NAME', `cannot move ${JSON.stringify(from)} into itself`);
  const source = await resolveInside(root, from);
  if (!source.info || !(source.info.isFile() || source.info.isDirectory())) throw notFound(from);
  const target = await resolveInside(root, to);
  if (target.info) throw new LpfError('LPF_ERR_EXISTS', `${JSON.stringify(to)} already exists; delete it first or choose another name`);
  try {
    await moveInto(source.path, target.path, source.info.isFile());
  } catch (err) {
    if (isCode(err, 'EEXIST') || isCode(err, 'ENOTEMPTY')) throw new LpfError('LPF_ERR_EXISTS', `${JSON.stringify(to)} already exists`);
    if (isCode(err, 'ENOENT')) throw notFound(from);
    throw storageError(err, `rename ${JSON.stringify(from)}`);
  }
  await moveMeta(join(metaRoot, from), join(metaRoot, to));
}

/**
 * Moves a file or folder to `target` and flushes its new folder. A file is linked and then unlinked, not
 * renamed: a rename would silently replace a file created at `target` meanwhile. A folder is renamed,
 * which could replace only an empty folder made there meanwhile.
 */
export async function moveInto(path: string, target: string, isFile: boolean): Promise<void> {
  if (isFile) {
    await link(path, target);
    await unlink(path);
  } else {
    await rename(path, target);
  }
  await syncDirectory(dirname(target));
}

/** Metadata follows its file; it is checked against size and mtime when read, so a failure here costs only a re-hash. */
export async function moveMeta(from: string, target: string): Promise<void> {
  await rm(target, { recursive: true, force: true }).catch(() => {});
  await mkdir(dirname(target), { recursive: true, mode: 0o700 }).catch(() => {});
  await rename(from, target).catch(() => {});
}
