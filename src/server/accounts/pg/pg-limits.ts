/**
 * The login throttles and the sign-up window in PostgreSQL, shared by every server of a group: five
 * wrong passwords spread over two servers count as five. The rules are those of login-throttle.ts
 * and rate-window.ts; times come from each server's clock (keep the servers' clocks in step, NTP).
 * Only the gate (how many attempts of one key are checked at once) stays per server.
 */
import type { Clock } from '../../limits/clock.js';
import { KeyGate } from '../../limits/key-gate.js';
import { throttleDelay, type ThrottleOptions } from '../../limits/login-throttle.js';
import type { RateLimit, Throttle } from '../../limits/throttle.js';
import type { Database } from './database.js';

/** Bounds the per-server memory of failure counts (used only to size the gate). */
const MAX_CACHED = 10_000;
/** Two-key advisory locks of the sign-up window use this first key. */
const SIGNUP_LOCK_CLASS = 0x1f0f5f;

export class PgThrottle implements Throttle {
  readonly #db: Database;
  readonly #options: ThrottleOptions;
  readonly #clock: Clock;
  readonly #gate = new KeyGate();
  /** The failures of each key as read last, to size the gate without a query. */
  readonly #failures = new Map<string, number>();

  constructor(db: Database, options: ThrottleOptions, clock: Clock) {
    this.#db = db;
    this.#options = options;
    this.#clock = clock;
  }

  async waitFor(keys: string[]): Promise<number> {
    const now = this.#clock();
    const { rows } = await this.#db.query<{ key: string; failures: number; last_failure_ms: string }>(
      'SELECT key, failures, last_failure_ms FROM login_failures WHERE key = ANY($1) AND last_failure_ms >= $2',
      [keys, now - this.#forgetMs()],
    );
    let wait = 0;
    for (const key of keys) this.#failures.delete(key);
    for (const row of rows) {
      this.#remember(row.key, row.failures);
      wait = Math.max(wait, Number(row.last_failure_ms) + throttleDelay(this.#options, row.failures) - now);
    }
    return wait;
  }

  async failed(keys: string[]): Promise<void> {
    const now = this.#clock();
    // A record old enough to forget starts again from one failure.
    const { rows } = await this.#db.query<{ key: string; failures: number }>(
      `INSERT INTO login_failures AS f (key, failures, last_failure_ms) SELECT k, 1, $2 FROM unnest($1::text[]) AS k
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN f.last_failure_ms < $2 - $3 THEN 1 ELSE f.failures + 1 END,
         last_failure_ms = $2
       RETURNING key, failures`,
      [keys, now, this.#forgetMs()],
    );
    for (const row of rows) this.#remember(row.key, row.failures);
  }

  async succeeded(key: string): Promise<void> {
    this.#failures.delete(key);
    await this.#db.query('DELETE FROM login_failures WHERE key = $1', [key]);
  }

  enter(key: string): Promise<void> {
    return this.#gate.enter(key, () => Math.max(1, this.#options.freeAttempts - (this.#failures.get(key) ?? 0)));
  }

  leave(key: string): void {
    this.#gate.leave(key);
  }

  /** Removes records old enough to forget; resolves with how many. */
  async sweep(): Promise<number> {
    const { rowCount } = await this.#db.query('DELETE FROM login_failures WHERE last_failure_ms < $1', [this.#clock() - this.#forgetMs()]);
    return rowCount ?? 0;
  }

  /** A record is forgotten twice the longest delay after its last failure (as LoginThrottle does). */
  #forgetMs(): number {
    return 2 * this.#options.maxDelayMs;
  }

  #remember(key: string, failures: number): void {
    this.#failures.delete(key);
    this.#failures.set(key, failures);
    if (this.#failures.size > MAX_CACHED) this.#failures.delete(this.#failures.keys().next().value as string);
  }
}

/** The sign-up window: at most `limit` events per key within `windowMs`, counted over every server. */
export class PgRateWindow implements RateLimit {
  readonly #db: Database;
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #clock: Clock;

  constructor(db: Database, limit: number, windowMs: number, clock: Clock) {
    this.#db = db;
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#clock = clock;
  }

  take(key: string): Promise<boolean> {
    const now = this.#clock();
    // One key's count and insert are serialised over every server by a lock on the key.
    return this.#db.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SIGNUP_LOCK_CLASS, key]);
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM signups WHERE key = $1 AND at_ms > $2', [
        key,
        now - this.#windowMs,
      ]);
      if (Number(rows[0]?.n ?? 0) >= this.#limit) return false;
      await client.query('INSERT INTO signups (key, at_ms) VALUES ($1, $2)', [key, now]);
      return true;
    });
  }

  /** Removes events older than the window; resolves with how many. */
  async sweep(): Promise<number> {
    const { rowCount } = await this.#db.query('DELETE FROM signups WHERE at_ms <= $1', [this.#clock() - this.#windowMs]);
    return rowCount ?? 0;
  }
}
