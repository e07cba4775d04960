/** Writing files so that a completed write survives a crash: fsync the data, then the directory entry. */
import { constants as fsc, createWriteStream, fdatasync, type WriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import { FlushGroups } from './flush-groups.js';

/**
 * Writes go to disk in blocks of up to this much (fs.WriteStream gathers what is queued into one
 * writev), and as much again may wait meanwhile. 512 KiB moves a 1 GiB upload as fast as 1 MiB did
 * and holds less; 256 KiB was 10% slower (bench/profiles/2026-11-24-server-memory.md).
 */
const WRITE_BUFFER = 512 * 1024;

/**
 * Opens a file for writing with fsync-on-close. `flags` 'r+' with `start`
 * continues an existing file at that offset (a resumed transfer).
 */
export function openDurableFile(
  path: string,
  options: { flags: 'w' | 'wx' | 'r+' | 'a'; mode?: number; start?: number },
): Promise<WriteStream> {
  const stream = createWriteStream(path, { ...options, flush: true, highWaterMark: WRITE_BUFFER });
  return new Promise((resolve, reject) => {
    stream.once('ready', () => {
      stream.off('error', reject);
      resolve(stream);
    });
    stream.once('error', reject);
  });
}

/** Ends the stream and resolves when its data is flushed to disk and the file is closed. */
export async function closeDurably(stream: WriteStream): Promise<void> {
  stream.end();
  await finished(stream);
}

/** Flushes of directories; callers that come while one runs share the next (see FlushGroups). */
const directoryFlushes = new FlushGroups(flushDirectory);

/**
 * Makes a rename or a new entry durable: the directory itself must reach the
 * disk. Many files stored into one folder at once share flushes of it.
 */
export function syncDirectory(dir: string): Promise<void> {
  return directoryFlushes.request(dir);
}

async function flushDirectory(dir: string): Promise<void> {
  const handle = await open(dir, fsc.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** How much may be written before a flush to disk is started in the background. */
const SYNC_EVERY = 64 * 1024 * 1024;

/**
 * Keeps a long write's dirty data flowing to disk while it is written, so the
 * final fsync has little left to do: after every SYNC_EVERY bytes, one
 * fdatasync runs in the background (never two at once). Call wrote(n) after
 * each write of n bytes.
 */
export function backgroundFlusher(stream: WriteStream): { wrote(bytes: number): void } {
  let unsynced = 0;
  let syncing = false;
  return {
    wrote(bytes: number) {
      unsynced += bytes;
      const fd = (stream as WriteStream & { fd: number | null }).fd;
      if (unsynced < SYNC_EVERY || syncing || typeof fd !== 'number' || stream.destroyed) return;
      unsynced = 0;
      syncing = true;
      // Failures surface at the final fsync, which is what decides durability.
      fdatasync(fd, () => {
        syncing = false;
      });
    },
  };
}

/**
 * Replaces the file at `path` with `content` so that a crash leaves either the
 * old file or the new one, never a torn one: write a temporary file beside it,
 * rename it over. With `durable`, the data and the rename are flushed to disk
 * before this resolves.
 */
export async function replaceFile(path: string, content: string | Buffer, options: { mode: number; durable: boolean }): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'w', options.mode);
    try {
      await handle.writeFile(content);
      if (options.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    // Every failure (a full disk while writing, a failed flush or rename) leaves no temporary file behind.
    await rm(temp, { force: true });
    throw err;
  }
  if (options.durable) await syncDirectory(dirname(path));
}
