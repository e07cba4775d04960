/**
 * Small files that the running server and `lpf-server users` both change (users.txt, sessions.txt):
 * an exclusive lock between processes for every read-modify-write, and a stamp to notice that
 * another process replaced the file.
 */
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { link, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { LpfError } from '../../errors.js';

export interface LockOptions {
  /** How long to wait for another holder before giving up with LPF_ERR_LOCKED. */
  timeoutMs?: number;
  /** A lock this old is taken as left behind even if its process seems alive (its pid may be reused). */
  staleMs?: number;
}

/** Holds are a read, a rewrite and an fsync: milliseconds. These bounds only matter after a crash. */
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_STALE_MS = 60_000;

interface Holder {
  text: string;
  pid: number | undefined;
  host: string | undefined;
  since: number;
}

/**
 * Runs `task` while holding `<path>.lock`. The lock file is made complete under a temporary name and
 * then hard-linked into place, which fails if it exists: no one ever reads a half-written lock.
 * A lock whose process is gone (same host), or that is older than `staleMs`, is broken.
 */
export async function withFileLock<T>(path: string, task: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lockPath = `${path}.lock`;
  const mine = await acquire(lockPath, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.staleMs ?? DEFAULT_STALE_MS);
  try {
    return await task();
  } finally {
    await release(lockPath, mine);
  }
}

async function acquire(lockPath: string, timeoutMs: number, staleMs: number): Promise<string> {
  const text = `${JSON.stringify({ pid: process.pid, host: hostname(), since: Date.now(), id: randomBytes(8).toString('hex') })}\n`;
  const temp = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const deadline = Date.now() + timeoutMs;
  try {
    // Inside the try: a write that fails (a full disk) may still have created the file, empty.
    await writeFile(temp, text, { mode: 0o600 });
    for (let pause = 2; ; pause = Math.min(pause * 2, 100)) {
      try {
        await link(temp, lockPath);
        return text;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = await readHolder(lockPath);
      if (!holder) continue; // released in the meantime
      if (isStale(holder, staleMs)) {
        await breakLock(lockPath, holder.text);
        continue;
      }
      if (Date.now() >= deadline) throw lockedError(lockPath, holder);
      await sleep(pause * (0.5 + Math.random()));
    }
  } finally {
    await unlink(temp).catch(() => {});
  }
}

/** Removes the lock only if it is still ours (it may have been broken as stale and taken by another). */
async function release(lockPath: string, mine: string): Promise<void> {
  const text = await readFile(lockPath, 'utf8').catch(() => undefined);
  if (text === mine) await unlink(lockPath).catch(() => {});
}

async function readHolder(lockPath: string): Promise<Holder | undefined> {
  let text: string;
  let info: Stats;
  try {
    [text, info] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const { pid, host, since } = JSON.parse(text) as { pid?: unknown; host?: unknown; since?: unknown };
    if (typeof pid === 'number' && typeof host === 'string' && typeof since === 'number') return { text, pid, host, since };
  } catch {
    // Not ours (made by hand?): judged by its age alone.
  }
  return { text, pid: undefined, host: undefined, since: info.mtimeMs };
}

function isStale(holder: Holder, staleMs: number): boolean {
  if (Date.now() - holder.since > staleMs) return true;
  return holder.pid !== undefined && holder.host === hostname() && !processExists(holder.pid);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, under another account
  }
}

/**
 * Moves the stale lock aside (only one breaker can win that rename), then checks that what was moved is
 * the lock judged stale; if another process took the lock in between, its lock is put back.
 */
async function breakLock(lockPath: string, staleText: string): Promise<void> {
  const aside = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await rename(lockPath, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = await readFile(aside, 'utf8').catch(() => undefined);
  if (moved !== staleText) await link(aside, lockPath).catch(() => {});
  await unlink(aside).catch(() => {});
}

function lockedError(lockPath: string, holder: Holder): LpfError {
  const who = holder.pid === undefined ? 'another process' : `process ${holder.pid} on ${holder.host}`;
  return new LpfError(
    'LPF_ERR_LOCKED',
    `${lockPath} is held by ${who} since ${new Date(holder.since).toISOString()}; if no lpf-server is changing the file, remove the lock file`,
  );
}

/** One version of a file, as read: its stamp, and what tells whether it may still be being written (see login-watch.ts). */
export interface FileVersion {
  stamp: string;
  ino: number;
  mtimeMs: number;
}

export function fileVersion(info: Stats): FileVersion {
  return { stamp: fileStamp(info), ino: info.ino, mtimeMs: info.mtimeMs };
}

/**
 * What identifies one version of a file. A rewrite renames a new file into place, so the inode changes
 * even when the modification time cannot tell two writes apart (coarse timestamps).
 */
export function fileStamp(info: Stats): string {
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
}

/**
 * On the server, a lock error must not reach a client (it names a server path): made an unexpected
 * failure, it is logged in full and the client gets a generic LPF_ERR_SERVER.
 */
export function asServerFailure(err: unknown): unknown {
  return err instanceof LpfError && err.code === 'LPF_ERR_LOCKED' ? new Error(err.message, { cause: err }) : err;
}
