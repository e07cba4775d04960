/**
 * Accounts in PostgreSQL, one row per account with the same scrypt hash text as users.txt. The
 * canonical name is the primary key: of concurrent sign-ups of one name, through any servers,
 * exactly one inserts its row; the others get LPF_ERR_USER_EXISTS.
 */
import { LpfError } from '../../../errors.js';
import { checkPassword, normalizeUserName } from '../../../protocol/index.js';
import type { Clock } from '../../limits/clock.js';
import type { Accounts } from '../accounts.js';
import {
  DEFAULT_SCRYPT,
  formatHash,
  hashPassword,
  parseHash,
  verifyPassword,
  type PasswordHash,
  type ScryptParams,
} from '../password-hash.js';
import type { Database } from './database.js';
import { recordChange } from './login-changes.js';
import { loginName } from '../accounts.js';

export class PgAccounts implements Accounts {
  readonly #db: Database;
  readonly #params: ScryptParams;
  readonly #clock: Clock;
  /** Hashed once, to spend the same time on an unknown user as on a wrong password. */
  #decoy: Promise<PasswordHash> | undefined;

  constructor(db: Database, clock: Clock, params: ScryptParams = DEFAULT_SCRYPT) {
    this.#db = db;
    this.#clock = clock;
    this.#params = params;
  }

  async register(user: string, password: string): Promise<string> {
    const name = normalizeUserName(user);
    checkPassword(password);
    await this.add(name, await hashPassword(password, this.#params));
    return name;
  }

  /** Adds an account with a hash made already; LPF_ERR_USER_EXISTS when the name is taken. */
  async add(name: string, hash: PasswordHash): Promise<void> {
    const { rowCount } = await this.#db.query('INSERT INTO accounts (name, password_hash) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [
      name,
      formatHash(hash),
    ]);
    if (rowCount !== 1) throw new LpfError('LPF_ERR_USER_EXISTS', `the user name "${name}" is taken`);
  }

  async verify(user: string, password: string): Promise<string> {
    const name = loginName(user);
    const stored = name === undefined ? undefined : await this.#hashOf(name);
    const ok = await verifyPassword(password, stored?.hash ?? (await this.#decoyHash()));
    if (!stored || !ok || name === undefined) throw new LpfError('LPF_ERR_AUTH', 'wrong user name or password');
    // The hash took ~0.1 s: an account removed or re-passworded meanwhile must not log in with the old one.
    if ((await this.#hashOf(name))?.text !== stored.text) throw new LpfError('LPF_ERR_AUTH', 'wrong user name or password');
    return name;
  }

  /** Whether the account exists. */
  async exists(name: string): Promise<boolean> {
    const { rowCount } = await this.#db.query('SELECT 1 FROM accounts WHERE name = $1', [name]);
    return rowCount === 1;
  }

  /** Sets a new password and ends the account's sessions, in one transaction; resolves with how many ended. */
  async setPassword(name: string, hash: PasswordHash): Promise<number> {
    return this.#db.transaction(async (client) => {
      const { rowCount } = await client.query('UPDATE accounts SET password_hash = $2, changed_at = now() WHERE name = $1', [
        name,
        formatHash(hash),
      ]);
      if (rowCount !== 1) throw noSuchUser(name);
      const ended = await client.query('DELETE FROM login_sessions WHERE user_name = $1', [name]);
      await recordChange(client, { kind: 'password', user: name, tokenSha256: null, atMs: this.#clock() });
      return ended.rowCount ?? 0;
    });
  }

  /** Removes an account and (by the foreign key) its sessions; resolves with how many sessions ended. */
  async remove(name: string): Promise<number> {
    return this.#db.transaction(async (client) => {
      const ended = await client.query('DELETE FROM login_sessions WHERE user_name = $1', [name]);
      const { rowCount } = await client.query('DELETE FROM accounts WHERE name = $1', [name]);
      if (rowCount !== 1) throw noSuchUser(name);
      await recordChange(client, { kind: 'removed', user: name, tokenSha256: null, atMs: this.#clock() });
      return ended.rowCount ?? 0;
    });
  }

  /** Every account with its number of live sessions, by name. */
  async list(): Promise<{ name: string; sessions: number }[]> {
    const { rows } = await this.#db.query<{ name: string; sessions: string }>(
      `SELECT a.name, count(s.token_sha256) AS sessions FROM accounts a
       LEFT JOIN login_sessions s ON s.user_name = a.name AND s.expires_ms > $1
       GROUP BY a.name ORDER BY a.name`,
      [this.#clock()],
    );
    return rows.map((r) => ({ name: r.name, sessions: Number(r.sessions) }));
  }

  async #hashOf(name: string): Promise<{ hash: PasswordHash; text: string } | undefined> {
    const { rows } = await this.#db.query<{ password_hash: string }>('SELECT password_hash FROM accounts WHERE name = $1', [name]);
    const text = rows[0]?.password_hash;
    const hash = text === undefined ? undefined : parseHash(text);
    // A damaged hash cannot log in, like a damaged line of users.txt; its name stays taken.
    return hash && text !== undefined ? { hash, text } : undefined;
  }

  #decoyHash(): Promise<PasswordHash> {
    this.#decoy ??= hashPassword('decoy password', this.#params);
    return this.#decoy;
  }
}

function noSuchUser(name: string): LpfError {
  return new LpfError('LPF_ERR_NO_SUCH_USER', `there is no user "${name}"`);
}
