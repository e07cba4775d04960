/**
 * Login sessions: a random token per session, handed to the client once.
 * The server keeps only the token's SHA-256, its user and its expiry, in
 * <root>/sessions.txt ("<sha256 hex> <user> <expires ms>" a line), rewritten
 * through a temporary file and rename like the accounts file, under the same
 * kind of lock: `lpf-server users remove|passwd` ends a user's sessions by
 * removing their lines while the server runs, and the server re-reads the
 * file whenever it changed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { replaceFile } from '../../util/durable-file.js';
import type { Clock } from '../limits/clock.js';
import type { LoginSession, SessionStore } from './session-store.js';
import { asServerFailure, fileVersion, withFileLock, type FileVersion } from './shared-file.js';

export type { LoginSession } from './session-store.js';

export class LoginSessions implements SessionStore {
  readonly #path: string;
  readonly #ttlMs: number;
  readonly #clock: Clock;
  #sessions = new Map<string, LoginSession>();
  /** The version in #sessions; undefined when there is no file (or after a failed change: read afresh). */
  #file: FileVersion | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string, ttlMs: number, clock: Clock) {
    this.#path = path;
    this.#ttlMs = ttlMs;
    this.#clock = clock;
  }

  async load(): Promise<void> {
    const info = await stat(this.#path).catch(orMissing);
    const text = info ? await readFile(this.#path, 'utf8').catch(orMissing) : undefined;
    this.#sessions = parseSessions(text ?? '', this.#clock());
    this.#file = info && fileVersion(info);
  }

  /** Starts a session for `user`; resolves with the token (never stored) and its expiry. */
  async create(user: string): Promise<{ token: string; expires: number }> {
    const token = randomBytes(32).toString('base64url');
    const expires = this.#clock() + this.#ttlMs;
    await this.#change(() => this.#sessions.set(hashOf(token), { user, expires }));
    return { token, expires };
  }

  /**
   * The live session of a token, or undefined (unknown, revoked or expired). Synchronous for its
   * callers, so the file is checked with a stat (and read only when it changed) without awaiting.
   */
  get(token: string): LoginSession | undefined {
    this.#refreshSync();
    return this.#live(token);
  }

  /** Whether a token's session is live in the version read last (call refresh() first): no stat per token. */
  isLive(token: string): boolean {
    return this.#live(token) !== undefined;
  }

  #live(token: string): LoginSession | undefined {
    const session = this.#sessions.get(hashOf(token));
    return session && session.expires > this.#clock() ? session : undefined;
  }

  async revoke(token: string): Promise<void> {
    await this.#change(() => this.#sessions.delete(hashOf(token)));
  }

  async revokeAll(user: string): Promise<number> {
    let ended = 0;
    await this.#change(() => {
      const now = this.#clock();
      for (const [hash, s] of this.#sessions) {
        if (s.user !== user) continue;
        if (s.expires > now) ended++;
        this.#sessions.delete(hash);
      }
    });
    return ended;
  }

  /** Re-reads the file if another process changed it. */
  refresh(): void {
    this.#refreshSync();
  }

  /** The version of the file the sessions in memory come from (a watcher compares them to see whether any ended). */
  get file(): FileVersion | undefined {
    return this.#file;
  }

  #refreshSync(): void {
    let file: FileVersion | undefined;
    try {
      file = fileVersion(statSync(this.#path));
    } catch (err) {
      orMissing(err);
    }
    if (file?.stamp === this.#file?.stamp) return;
    let text = '';
    try {
      if (file !== undefined) text = readFileSync(this.#path, 'utf8');
    } catch (err) {
      orMissing(err);
    }
    this.#sessions = parseSessions(text, this.#clock());
    this.#file = file;
  }

  /**
   * Applies a change to the file as it is now (re-read under the lock, so another process's removals
   * stand) and rewrites it, one change at a time; expired sessions are dropped on the way.
   */
  #change(apply: () => void): Promise<void> {
    const run = this.#queue.then(() =>
      withFileLock(this.#path, async () => {
        await this.load();
        apply();
        const now = this.#clock();
        for (const [hash, s] of this.#sessions) if (s.expires <= now) this.#sessions.delete(hash);
        await replaceFile(this.#path, formatSessions(this.#sessions), { mode: 0o600, durable: true });
        this.#file = fileVersion(await stat(this.#path));
      }).catch((err: unknown) => {
        this.#file = undefined; // whatever happened, read the file afresh next time
        throw asServerFailure(err);
      }),
    );
    this.#queue = run.catch(() => {});
    return run;
  }
}

/**
 * Ends every session of `user` (after the account was removed or its password changed), from any
 * process: under the lock, like the server's own changes. Resolves with how many were ended.
 */
export async function revokeSessionsOf(path: string, user: string, clock: Clock): Promise<number> {
  return withFileLock(path, async () => {
    const text = await readFile(path, 'utf8').catch(orMissing);
    if (text === undefined) return 0;
    const sessions = parseSessions(text, clock());
    let ended = 0;
    for (const [hash, s] of sessions) {
      if (s.user === user) {
        sessions.delete(hash);
        ended++;
      }
    }
    if (ended > 0) await replaceFile(path, formatSessions(sessions), { mode: 0o600, durable: true });
    return ended;
  });
}

/** The live sessions of each user, for `lpf-server users list`. */
export async function countSessions(path: string, clock: Clock): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const text = await readFile(path, 'utf8').catch(orMissing);
  for (const s of parseSessions(text ?? '', clock()).values()) counts.set(s.user, (counts.get(s.user) ?? 0) + 1);
  return counts;
}

function parseSessions(text: string, now: number): Map<string, LoginSession> {
  const sessions = new Map<string, LoginSession>();
  for (const line of text.split('\n')) {
    const [hash, user, expires] = line.split(' ');
    if (hash && user && Number(expires) > now) sessions.set(hash, { user, expires: Number(expires) });
  }
  return sessions;
}

function formatSessions(sessions: Map<string, LoginSession>): string {
  return [...sessions].map(([hash, s]) => `${hash} ${s.user} ${s.expires}\n`).join('');
}

/** A missing file is no sessions; any other failure is raised. */
function orMissing(err: unknown): undefined {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw err;
}

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
