/**
 * A user's folder tree on disk, walked one component at a time with lstat:
 * a symbolic link placed inside (by anyone with shell access) is never
 * followed, so no remote path can lead out of the user's storage.
 */
import type { Stats } from 'node:fs';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LpfError } from '../../errors.js';
import { joinRemote } from '../../protocol/index.js';

/** Where a remote path leads: its place on disk and what is there now (undefined: nothing). */
export interface Resolved {
  path: string;
  info: Stats | undefined;
}

/**
 * Resolves a normalized remote path ("" is the top) under `root`. Every folder
 * on the way must exist and be a real folder; the last component may be
 * missing, and is returned as it is (file, folder, or anything else).
 */
export async function resolveInside(root: string, remotePath: string): Promise<Resolved> {
  const parts = remotePath === '' ? [] : remotePath.split('/');
  let path = root;
  let info = await lstatOrUndefined(root);
  if (info !== undefined && !info.isDirectory()) {
    throw new LpfError('LPF_ERR_SERVER', 'your storage folder on the server is not a plain folder; ask the admin');
  }
  // A user with nothing stored yet has no folder: the same as an empty one.
  for (const [i, part] of parts.entries()) {
    if (i > 0) {
      const walked = parts.slice(0, i).join('/');
      if (info === undefined) throw noSuchFolder(walked);
      if (!info.isDirectory()) throw notAFolder(walked);
    }
    ({ path, info } = await findEntry(path, part));
  }
  return { path, info };
}

/**
 * The entry named `part` (NFC, as every remote name is) in the folder `dir`. A name placed on the disk by
 * other means may be in another Unicode form (macOS writes NFD): when there is no entry of the exact
 * name, one whose NFC form is `part` is used, so what a listing shows (NFC, see walkTree) can be
 * downloaded. Only names that hasOtherForms are looked for so (a readdir each).
 */
async function findEntry(dir: string, part: string): Promise<Resolved> {
  const exact = join(dir, part);
  const info = await lstatOrUndefined(exact);
  if (info !== undefined || !hasOtherForms(part)) return { path: exact, info };
  const names = await readdir(dir).catch(() => [] as string[]);
  const other = names.find((name) => name !== part && name.normalize('NFC') === part);
  if (other === undefined) return { path: exact, info };
  const path = join(dir, other);
  return { path, info: await lstatOrUndefined(path) };
}

/**
 * Creates the folder `remotePath` under `root` and any missing parents, one
 * component at a time (mkdir -p would follow a symbolic link on the way).
 * An existing folder is fine; a file in the way is an error.
 */
export async function makeFolders(root: string, remotePath: string): Promise<void> {
  const parts = remotePath.split('/');
  let path = root;
  for (const [i, part] of parts.entries()) {
    let info: Stats | undefined;
    ({ path, info } = await findEntry(path, part));
    const walked = parts.slice(0, i + 1).join('/');
    if (info === undefined) {
      await mkdir(path, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err; // made meanwhile by a parallel command: checked below
      });
      info = await lstat(path);
    }
    if (!info.isDirectory()) {
      if (i === parts.length - 1) throw new LpfError('LPF_ERR_EXISTS', `${JSON.stringify(walked)} already exists as a file`);
      throw notAFolder(walked);
    }
  }
}

/** An entry found by walkTree: its path relative to the walked folder, and what lstat says of it. */
export interface TreeEntry {
  name: string;
  path: string;
  info: Stats;
}

/**
 * Regular files and folders under `dir`, sorted by name, each folder just
 * before its content when `recursive`. Symbolic links and other special files
 * are left out; an entry gone since readdir is skipped. Names are given in NFC,
 * the form of every name on the wire (findEntry finds them again); of two
 * entries with the same NFC form, the one named exactly so is the one shown.
 */
export async function walkTree(dir: string, recursive: boolean, prefix = ''): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  for (const [name, onDisk] of wireNames(await readdir(dir))) {
    const path = join(dir, onDisk);
    const info = await lstatOrUndefined(path);
    if (!info || !(info.isFile() || info.isDirectory())) continue;
    const relative = joinRemote(prefix, name);
    entries.push({ name: relative, path, info });
    if (recursive && info.isDirectory()) entries.push(...(await walkTree(path, true, relative).catch(() => [])));
  }
  return entries;
}

/**
 * Whether a name in NFC may be written otherwise on disk and still be found: one with characters that
 * decompose (é, Å, 가: NFD, as macOS writes names). The rare others (a Kelvin sign for "K") are neither
 * found nor listed: what is listed can always be downloaded.
 */
function hasOtherForms(nfc: string): boolean {
  return nfc !== nfc.normalize('NFD');
}

/** [NFC name, name on disk] of each entry findEntry can find, sorted by NFC name; the exact NFC entry wins over its twins. */
function wireNames(names: string[]): [string, string][] {
  const chosen = new Map<string, string>();
  for (const onDisk of names) {
    const nfc = onDisk.normalize('NFC');
    if (onDisk !== nfc && !hasOtherForms(nfc)) continue;
    if (!chosen.has(nfc) || onDisk === nfc) chosen.set(nfc, onDisk);
  }
  return [...chosen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function noSuchFolder(path: string): LpfError {
  return new LpfError('LPF_ERR_NOT_FOUND', `no such folder: ${JSON.stringify(path === '' ? '/' : path)}`);
}

export function notAFolder(path: string): LpfError {
  return new LpfError('LPF_ERR_NOT_FOLDER', `${JSON.stringify(path)} is a file, not a folder`);
}

/**
 * Deletes a user's folder of files and the `others` beside it (records, partial uploads), the files
 * first; resolves with how many regular files the first held.
 */
export async function removeTrees(files: string, others: readonly string[]): Promise<number> {
  const tree = await walkTree(files, true).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  for (const dir of [files, ...others]) await rm(dir, { recursive: true, force: true });
  return tree.filter((e) => e.info.isFile()).length;
}
