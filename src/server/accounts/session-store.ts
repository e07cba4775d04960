/**
 * Login sessions: a random token per session, handed to the client once.
 * The server keeps only the token's SHA-256, its user and its expiry, in
 * <root>/sessions.txt ("<sha256 hex> <user> <expires ms>" a line), rewritten
 * through a temporary file and rename like the accounts file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { replaceFile } from '../../util/durable-file.js';
import type { Clock } from '../limits/clock.js';

export interface Session {
  user: string;
  expires: number;
}

export class SessionStore {
  readonly #path: string;
  readonly #ttlMs: number;
  readonly #clock: Clock;
  #sessions = new Map<string, Session>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string, ttlMs: number, clock: Clock) {
    this.#path = path;
    this.#ttlMs = ttlMs;
    this.#clock = clock;
  }

  async load(): Promise<void> {
    const text = await readFile(this.#path, 'utf8').catch(() => '');
    const now = this.#clock();
    for (const line of text.split('\n')) {
      const [hash, user, expires] = line.split(' ');
      if (hash && user && Number(expires) > now) this.#sessions.set(hash, { user, expires: Number(expires) });
    }
  }

  /** Starts a session for `user`; resolves with the token (never stored) and its expiry. */
  async create(user: string): Promise<{ token: string; expires: number }> {
    const token = randomBytes(32).toString('base64url');
    const expires = this.#clock() + this.#ttlMs;
    await this.#change(() => this.#sessions.set(hashOf(token), { user, expires }));
    return { token, expires };
  }

  /** The live session of a token, or undefined (unknown, revoked or expired). */
  get(token: string): Session | undefined {
    const session = this.#sessions.get(hashOf(token));
    return session && session.expires > this.#clock() ? session : undefined;
  }

  async revoke(token: string): Promise<void> {
    await this.#change(() => this.#sessions.delete(hashOf(token)));
  }

  /** Applies a change and rewrites the file, one change at a time; expired sessions are dropped on the way. */
  #change(apply: () => void): Promise<void> {
    const run = this.#queue.then(async () => {
      apply();
      const now = this.#clock();
      for (const [hash, s] of this.#sessions) if (s.expires <= now) this.#sessions.delete(hash);
      const text = [...this.#sessions].map(([hash, s]) => `${hash} ${s.user} ${s.expires}\n`).join('');
      await replaceFile(this.#path, text, { mode: 0o600, durable: true });
    });
    this.#queue = run.catch(() => {});
    return run;
  }
}

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
