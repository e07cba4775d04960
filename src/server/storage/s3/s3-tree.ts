/**
 * A user's folder tree in S3's flat key space. A file is the object files/<user>/<path>; a folder exists
 * when its marker files/<user>/<path>/ does (made by -mkdir) or any key lies under it. Keys that no lpf
 * name can be (written by other tools) are neither listed nor reachable.
 */
import { LpfError } from '../../../errors.js';
import { joinRemote, normalizeRemoteName, type ListEntry } from '../../../protocol/index.js';
import { isAFolder, notFound } from '../disk-errors.js';
import { noSuchFolder, notAFolder } from '../user-tree.js';
import type { Bucket, ObjectInfo } from './bucket.js';
import type { KeySpace } from './s3-store.js';

/** The bucket and its key layout, as every helper of S3Storage needs them. */
export interface S3Context {
  bucket: Bucket;
  keys: KeySpace;
}

/** What a path names: a file (with its object), a folder, or nothing. */
export type Kind = { kind: 'file'; object: ObjectInfo } | { kind: 'folder' } | undefined;

export async function kindOf(ctx: S3Context, user: string, path: string): Promise<Kind> {
  if (path === '') return { kind: 'folder' };
  const [object, under] = await Promise.all([
    ctx.bucket.head(ctx.keys.file(user, path)),
    ctx.bucket.firstKeys(ctx.keys.folder(user, path), 1),
  ]);
  if (object) return { kind: 'file', object };
  return under.length > 0 ? { kind: 'folder' } : undefined;
}

/**
 * The name rules for an upload to `path`, in one round trip and, as a rule, two listings of one key:
 * `path` must not be a folder, its folder must be one. HEAD is asked only where a listing cannot tell
 * (keys under `path`: is it a file too, which then wins as in kindOf? none under the folder: a file there,
 * or nothing?), so the common case costs no HEAD. The old object's size is asked at commit instead.
 */
export async function checkUploadPlace(ctx: S3Context, user: string, path: string): Promise<void> {
  const parent = parentOf(path);
  const [under, parentHolds] = await Promise.all([
    ctx.bucket.firstKeys(ctx.keys.folder(user, path), 1),
    parent === '' ? true : ctx.bucket.firstKeys(ctx.keys.folder(user, parent), 1).then((keys) => keys.length > 0),
  ]);
  if (under.length > 0 && !(await ctx.bucket.head(ctx.keys.file(user, path)))) throw isAFolder(path, 'a file cannot replace it');
  if (!parentHolds) await requireParent(ctx, user, path);
}

/** Checks that the folder of `path` exists (an upload, a rename or a copy goes there). */
export async function requireParent(ctx: S3Context, user: string, path: string): Promise<void> {
  const parent = parentOf(path);
  if (parent === '') return;
  const kind = await kindOf(ctx, user, parent);
  if (kind?.kind === 'file') throw notAFolder(parent);
  if (!kind) throw noSuchFolder(parent);
}

/** A file found in a listing: its path from the user's top, and its object. */
export interface ListedFile {
  path: string;
  object: ObjectInfo;
}

/** One entry of a tree walk: a name relative to the listed folder, and the object when it is a file. */
interface Found {
  parts: string[];
  object: ObjectInfo | undefined;
  mtime: number;
}

/**
 * The entries of the folder whose marker key is `prefix`: its children, or with `recursive` the whole tree,
 * sorted by name with each folder just before its content (as walkTree does on disk).
 */
export async function listUnder(bucket: Bucket, prefix: string, recursive: boolean): Promise<Found[]> {
  const found = new Map<string, Found>();
  const add = (parts: string[], object: ObjectInfo | undefined, mtime: number) => {
    const name = parts.join('/');
    const existing = found.get(name);
    if (!existing || (existing.object === undefined && object === undefined && mtime > existing.mtime))
      found.set(name, { parts, object, mtime });
  };
  for await (const page of bucket.pages(prefix, !recursive)) {
    for (const rel of page.prefixes.map((p) => p.slice(prefix.length, -1))) {
      if (validParts(rel)) add(rel.split('/'), undefined, 0);
    }
    for (const object of page.objects) {
      const rel = object.key.slice(prefix.length);
      const isMarker = rel.endsWith('/');
      const path = isMarker ? rel.slice(0, -1) : rel;
      if (path === '' || !validParts(path)) continue;
      const parts = path.split('/');
      for (let i = 1; i < parts.length; i++) add(parts.slice(0, i), undefined, 0);
      add(parts, isMarker ? undefined : object, object.mtime);
    }
  }
  return [...found.values()].sort((a, b) => comparePaths(a.parts, b.parts));
}

/** Listing entries for what listUnder found under the folder `path`. */
export function entriesOf(found: Found[], path: string): { entries: ListEntry[]; files: ListedFile[] } {
  const entries: ListEntry[] = [];
  const files: ListedFile[] = [];
  for (const f of found) {
    const name = f.parts.join('/');
    if (f.object === undefined) {
      entries.push({ name, size: 0, mtime: f.mtime, dir: true });
    } else {
      entries.push({ name, size: f.object.size, mtime: f.object.mtime });
      files.push({ path: joinRemote(path, name), object: f.object });
    }
  }
  return { entries, files };
}

/** Every file under the folder `path` (recursively) and every folder, as paths from the user's top. */
export async function treeOf(ctx: S3Context, user: string, path: string): Promise<{ files: ListedFile[]; folders: string[] }> {
  const found = await listUnder(ctx.bucket, ctx.keys.folder(user, path), true);
  const { files } = entriesOf(found, path);
  const folders = found.filter((f) => f.object === undefined).map((f) => joinRemote(path, f.parts.join('/')));
  return { files, folders };
}

/** Throws what DiskStorage throws when `path` is missing. */
export function missing(path: string): LpfError {
  return notFound(path);
}

/** The folder holding `path` ("" for the top). */
function parentOf(path: string): string {
  return path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
}

function validParts(path: string): boolean {
  return path.split('/').every((part) => {
    try {
      return part !== '' && normalizeRemoteName(part) === part;
    } catch {
      return false;
    }
  });
}

function comparePaths(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
