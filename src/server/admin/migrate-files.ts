/**
 * Copies the files of a data folder (ROOT/files, with the checksum records of ROOT/meta) into another
 * Storage, for `lpf-server migrate`. Everything goes through the Storage interface: read() on the source,
 * createUpload()/commit() on the target with the checksum and block digests computed while streaming (so
 * the target's own rules apply: S3 multipart parts, the object appearing only at commit). Each copied file
 * is then read back from the target and its checksum compared with the source's. A file the target holds
 * already with the same size and checksum is skipped, so running the copy again is safe and cheap.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ContentHasher, normalizeUserName, type ListEntry } from '../../protocol/index.js';
import type { PositionalReader } from '../../util/positional-reader.js';
import type { Storage, UploadSink } from '../storage/storage.js';

/** Bytes read at a time: one buffer in flight per write, so memory stays constant whatever the file size. */
const CHUNK = 1024 * 1024;

/** What happened to one user's files. */
export interface UserFilesReport {
  user: string;
  folders: number;
  copied: number;
  skipped: number;
  failed: number;
  /** Bytes copied (not counting skipped files). */
  bytes: number;
  /** One line per failed file: its path and why. */
  failures: string[];
}

export interface FilesMigration {
  source: Storage;
  target: Storage;
  /** Count what would be copied, write nothing. */
  dryRun: boolean;
  /** Replace a target file whose content differs (else it is reported and left alone). */
  overwrite: boolean;
}

/** The user names that have a folder under ROOT/files (names not in their stored form are left out). */
export async function usersWithFiles(root: string): Promise<string[]> {
  const entries = await readdir(join(root, 'files'), { withFileTypes: true }).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  });
  return entries
    .filter((e) => e.isDirectory() && isStoredName(e.name))
    .map((e) => e.name)
    .sort();
}

function isStoredName(name: string): boolean {
  try {
    return normalizeUserName(name) === name;
  } catch {
    return false;
  }
}

/** Copies one user's folders (empty ones included) and files; a failed file is reported and the others go on. */
export async function migrateUserFiles(m: FilesMigration, user: string): Promise<UserFilesReport> {
  const report: UserFilesReport = { user, folders: 0, copied: 0, skipped: 0, failed: 0, bytes: 0, failures: [] };
  const entries = await m.source.list(user, '', { recursive: true });
  // Folders first (parents before children, as the listing gives them), so each file's folder exists.
  for (const folder of entries.filter((e) => e.dir)) {
    if (!m.dryRun) await m.target.makeFolder(user, folder.name);
    report.folders++;
  }
  for (const file of entries.filter((e) => !e.dir)) {
    try {
      const outcome = await migrateFile(m, user, file);
      if (outcome === 'skipped') report.skipped++;
      else {
        report.copied++;
        report.bytes += file.size;
      }
    } catch (err) {
      report.failed++;
      report.failures.push(`${file.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return report;
}

/** Copies one file unless the target has it already; throws when the copy cannot be verified. */
async function migrateFile(m: FilesMigration, user: string, file: ListEntry): Promise<'copied' | 'skipped'> {
  const stored = await m.source.read(user, file.name);
  let sourceSha = stored.sha256;
  try {
    const there = await targetFile(m.target, user, file.name);
    if (there !== undefined) {
      // Placed by hand without a record: the checksum is computed from the source.
      sourceSha ??= (await hashReader(stored.reader, stored.size)).sha256;
      if (there.size === stored.size && there.sha256 === sourceSha) return 'skipped';
      // Perhaps a newer file uploaded through the new servers since an earlier run: never replaced silently.
      if (!m.overwrite) throw new Error('the target has another file of this name; left alone (remove it there, or run with --overwrite)');
    }
    if (m.dryRun) return 'copied';
    sourceSha = await copyInto(m.target, user, file.name, stored.reader, stored.size, sourceSha);
  } finally {
    await stored.reader.close();
  }
  await verifyCopy(m.target, user, file.name, stored.size, sourceSha);
  return 'copied';
}

/** The target's file at `path` (size and checksum), or undefined when there is none. */
async function targetFile(target: Storage, user: string, path: string): Promise<ListEntry | undefined> {
  let entries: ListEntry[];
  try {
    entries = await target.list(user, path, { checksums: true });
  } catch (err) {
    if ((err as { code?: string }).code === 'LPF_ERR_NOT_FOUND') return undefined;
    throw err;
  }
  const entry = entries.length === 1 ? entries[0] : undefined;
  return entry && !entry.dir ? entry : undefined;
}

/**
 * Streams the source into a new upload on the target, hashing on the way; commits only when the bytes
 * match the source's checksum record (if any). Resolves with the checksum of the bytes sent.
 */
async function copyInto(
  target: Storage,
  user: string,
  path: string,
  reader: PositionalReader,
  size: number,
  recorded: string | undefined,
): Promise<string> {
  const sink = await target.createUpload(user, path, { size });
  let failure: Error | undefined;
  sink.onError((err) => (failure ??= err));
  try {
    const hasher = new ContentHasher({ onBlock: (digest) => sink.recordBlock(digest) });
    await readAll(reader, size, async (chunk) => {
      if (failure) throw failure;
      hasher.update(chunk);
      if (!sink.write(chunk)) await drained(sink);
    });
    if (failure) throw failure;
    const sha256 = hasher.digest();
    if (recorded !== undefined && sha256 !== recorded) {
      throw new Error(`the source file does not match its checksum record (read ${sha256}, recorded ${recorded}); not copied`);
    }
    await sink.commit({ sha256, digests: [...hasher.digests] });
    return sha256;
  } catch (err) {
    await sink.abort().catch(() => {});
    throw err;
  }
}

function drained(sink: UploadSink): Promise<void> {
  return new Promise((resolve) => sink.onDrain(resolve));
}

/** Reads the target's copy back and compares its size and checksum with the source's. */
async function verifyCopy(target: Storage, user: string, path: string, size: number, sha256: string): Promise<void> {
  const copy = await target.read(user, path);
  try {
    if (copy.size !== size) throw new Error(`the copy has ${copy.size} bytes, the source ${size}`);
    const read = await hashReader(copy.reader, copy.size);
    if (read.sha256 !== sha256) throw new Error(`the copy read back has checksum ${read.sha256}, the source ${sha256}`);
  } finally {
    await copy.reader.close();
  }
}

/** The content checksum of `size` bytes read from `reader`. */
export async function hashReader(reader: PositionalReader, size: number): Promise<{ sha256: string }> {
  const hasher = new ContentHasher();
  await readAll(reader, size, (chunk) => {
    hasher.update(chunk);
    return Promise.resolve();
  });
  return { sha256: hasher.digest() };
}

/** Hands `size` bytes of `reader` to `each` in chunks, a fresh buffer each (a sink may keep it until written). */
async function readAll(reader: PositionalReader, size: number, each: (chunk: Buffer) => Promise<void>): Promise<void> {
  for (let position = 0; position < size;) {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK, size - position));
    const n = await reader.read(buffer, position, buffer.length);
    if (n === 0) throw new Error(`the file ended after ${position} of ${size} bytes (changed while copied?)`);
    await each(n === buffer.length ? buffer : buffer.subarray(0, n));
    position += n;
  }
}
