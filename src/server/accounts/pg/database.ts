/**
 * The connection to the accounts database: a `pg.Pool` whose failures reach callers as one clear
 * LpfError (LPF_ERR_SERVER), logged in full here. The pool drops a broken connection and opens a new
 * one for the next query, so once the database is back the server goes on by itself.
 */
import type { Client, Pool, PoolClient, PoolConfig, QueryResultRow } from 'pg';
import { LpfError } from '../../../errors.js';
import type { Logger } from '../../logger.js';

/** How long to wait for a connection to the database before a command fails. */
const CONNECT_TIMEOUT_MS = 5_000;
/** A statement running longer than this is cancelled (a stuck lock must not hold a login forever). */
const STATEMENT_TIMEOUT_MS = 15_000;

/** The subset of a pg client the stores use: one query at a time, in or out of a transaction. */
export interface Queryable {
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

export class Database implements Queryable {
  readonly #pool: Pool;
  readonly #log: Logger | undefined;
  readonly #config: PoolConfig;
  readonly #newClient: (config: PoolConfig) => Client;

  private constructor(pool: Pool, config: PoolConfig, log: Logger | undefined, newClient: (config: PoolConfig) => Client) {
    this.#pool = pool;
    this.#config = config;
    this.#newClient = newClient;
    this.#log = log;
    // A connection that breaks while idle in the pool (the database restarted) is dropped by the pool;
    // without a listener the 'error' event would end the process.
    pool.on('error', (err) => log?.warn({ accounts: 'postgres', err: err.message }, 'lost an idle connection to the accounts database'));
  }

  /** Opens a pool on `url` (parts it leaves out come from the PG* variables; the password from PGPASSWORD or ~/.pgpass). */
  static async open(url: string, log?: Logger, max = 10): Promise<Database> {
    const { default: pg } = await import('pg');
    const config: PoolConfig = {
      connectionString: url,
      max,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      application_name: 'lpf-server',
    };
    return new Database(new pg.Pool(config), config, log, (c) => new pg.Client(c));
  }

  /** A connection of its own, outside the pool (for LISTEN); the caller connects and ends it. */
  newClient(): Client {
    return this.#newClient({ ...this.#config, statement_timeout: undefined });
  }

  async query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }> {
    try {
      return await this.#pool.query<R>(text, values);
    } catch (err) {
      throw this.#failure(err);
    }
  }

  /** Runs `work` in one transaction (committed when it resolves, rolled back when it throws). */
  async transaction<T>(work: (client: Queryable) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw this.#failure(err);
    }
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      broken = err instanceof LpfError ? undefined : err;
      await client.query('ROLLBACK').catch(() => {});
      throw broken === undefined ? err : this.#failure(err);
    } finally {
      // A connection that failed is not given back for reuse: the pool opens a fresh one.
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  /** Closes every connection. */
  close(): Promise<void> {
    return this.#pool.end();
  }

  #failure(err: unknown): LpfError {
    if (err instanceof LpfError) return err;
    this.#log?.error(
      { accounts: 'postgres', err: (err as Error).message, sqlState: (err as { code?: unknown }).code },
      'accounts database failed',
    );
    return databaseFailure(err);
  }
}

/** What a client is told when the database fails: clear, without server details (the log has them). */
export function databaseFailure(err: unknown): LpfError {
  return new LpfError('LPF_ERR_SERVER', 'the accounts database is unavailable; try again later', { cause: err });
}

/** The SQLSTATE code of a database error (raw, or wrapped by Database), if it has one. */
export function sqlState(err: unknown): string | undefined {
  const raw = err instanceof LpfError ? err.cause : err;
  const code = (raw as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
