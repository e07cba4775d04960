/**
 * Login sessions in PostgreSQL: like sessions.txt, only the token's SHA-256 is kept, with its user and
 * expiry, so a session started through one server works through every other. Ending one records a
 * login change (login-changes.ts), so connections holding it end on every server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { LpfError } from '../../../errors.js';
import type { Clock } from '../../limits/clock.js';
import type { LoginSession, SessionStore } from '../session-store.js';
import { sqlState, type Database } from './database.js';
import { recordChange } from './login-changes.js';

const FOREIGN_KEY_VIOLATION = '23503';

export class PgSessions implements SessionStore {
  readonly #db: Database;
  readonly #ttlMs: number;
  readonly #clock: Clock;

  constructor(db: Database, ttlMs: number, clock: Clock) {
    this.#db = db;
    this.#ttlMs = ttlMs;
    this.#clock = clock;
  }

  async create(user: string): Promise<{ token: string; expires: number }> {
    const token = randomBytes(32).toString('base64url');
    const expires = this.#clock() + this.#ttlMs;
    try {
      await this.#db.query('INSERT INTO login_sessions (token_sha256, user_name, expires_ms) VALUES ($1, $2, $3)', [
        sha256(token),
        user,
        expires,
      ]);
    } catch (err) {
      // The account was removed since its password was checked: the login no longer holds.
      if (sqlState(err) === FOREIGN_KEY_VIOLATION) throw new LpfError('LPF_ERR_AUTH', 'your account was removed; log in again');
      throw err;
    }
    return { token, expires };
  }

  async get(token: string): Promise<LoginSession | undefined> {
    const { rows } = await this.#db.query<{ user_name: string; expires_ms: string }>(
      'SELECT user_name, expires_ms FROM login_sessions WHERE token_sha256 = $1 AND expires_ms > $2',
      [sha256(token), this.#clock()],
    );
    const row = rows[0];
    return row && { user: row.user_name, expires: Number(row.expires_ms) };
  }

  async revoke(token: string): Promise<void> {
    const hash = sha256(token);
    await this.#db.transaction(async (client) => {
      const { rows } = await client.query<{ user_name: string }>('DELETE FROM login_sessions WHERE token_sha256 = $1 RETURNING user_name', [
        hash,
      ]);
      const user = rows[0]?.user_name;
      if (user !== undefined) await recordChange(client, { kind: 'session', user, tokenSha256: hash, atMs: this.#clock() });
    });
  }

  async revokeAll(user: string): Promise<number> {
    return this.#db.transaction(async (client) => {
      const { rows } = await client.query<{ token_sha256: string; expires_ms: string }>(
        'DELETE FROM login_sessions WHERE user_name = $1 RETURNING token_sha256, expires_ms',
        [user],
      );
      const now = this.#clock();
      for (const row of rows) await recordChange(client, { kind: 'session', user, tokenSha256: row.token_sha256, atMs: now });
      return rows.filter((r) => Number(r.expires_ms) > now).length;
    });
  }

  /** Removes expired sessions; resolves with how many. */
  async sweep(): Promise<number> {
    const { rowCount } = await this.#db.query('DELETE FROM login_sessions WHERE expires_ms <= $1', [this.#clock()]);
    return rowCount ?? 0;
  }
}

/** The SHA-256 of a token, in hex: what is stored instead of the token. */
export function sha256(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
