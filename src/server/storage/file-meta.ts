/**
 * What the server remembers of a stored file beside it, in meta/<user>/<name>:
 * one JSON line {size, mtimeMs, sha256} and then the raw block digests. It is
 * trusted only while the file's size and mtime still match, so a file changed
 * behind the server's back (or a crash between the two renames) is detected.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { retryAfterMakingFolder } from '../../util/missing-folder.js';
import { BLOCK_SIZE, splitDigests } from '../../protocol/index.js';

export interface FileMeta {
  size: number;
  mtimeMs: number;
  sha256: string;
  digests: Buffer[];
}

export function encodeMeta(meta: FileMeta): Buffer {
  const header = JSON.stringify({ size: meta.size, mtimeMs: meta.mtimeMs, sha256: meta.sha256 });
  return Buffer.concat([Buffer.from(`${header}\n`), ...meta.digests]);
}

/**
 * Writes the metadata in place, making its folder when missing. Neither a temporary file nor a
 * flush: a torn or stale record fails the checks of readValidMeta and only costs a re-hash, and
 * a new file per upload is what small uploads cannot afford (bench/profiles/2026-11-24-small-files.md).
 */
export async function writeMeta(path: string, meta: FileMeta): Promise<void> {
  const content = encodeMeta(meta);
  await retryAfterMakingFolder(
    () => writeFile(path, content, { mode: 0o600 }),
    () => mkdir(dirname(path), { recursive: true, mode: 0o700 }),
  );
}

/** The metadata at `path` if it exists, parses, and still describes a file of this size and mtime. */
export async function readValidMeta(path: string, size: number, mtimeMs: number): Promise<FileMeta | undefined> {
  const raw = await readFile(path).catch(() => undefined);
  if (!raw) return undefined;
  const newline = raw.indexOf(0x0a);
  if (newline < 0) return undefined;
  try {
    const header = JSON.parse(raw.subarray(0, newline).toString('utf8')) as Partial<FileMeta>;
    const digests = splitDigests(raw.subarray(newline + 1));
    if (header.size !== size || header.mtimeMs !== mtimeMs || typeof header.sha256 !== 'string') return undefined;
    if (digests.length !== Math.ceil(size / BLOCK_SIZE)) return undefined;
    return { size, mtimeMs, sha256: header.sha256, digests };
  } catch {
    return undefined;
  }
}

export async function removeMeta(path: string): Promise<void> {
  await rm(path, { force: true }).catch(() => {});
}
