/**
 * The schema of the accounts database, as numbered migrations that every server runs at start.
 * They run in one transaction under a transaction-scoped advisory lock, so two servers starting at
 * once apply each migration exactly once; `schema_migrations` records what was applied.
 * A migration, once released, is never edited: a change is a new migration.
 */
import { LpfError } from '../../../errors.js';
import type { Database } from './database.js';

/** The advisory lock key of the migrations (any constant shared by every lpf server). */
const MIGRATION_LOCK = 0x1f0f5e;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, login sessions, throttles, sign-ups, login changes',
    sql: `
      CREATE TABLE accounts (
        name text PRIMARY KEY,
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        changed_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE login_sessions (
        token_sha256 text PRIMARY KEY,
        user_name text NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
        expires_ms bigint NOT NULL
      );
      CREATE INDEX login_sessions_user ON login_sessions (user_name);
      CREATE INDEX login_sessions_expires ON login_sessions (expires_ms);
      CREATE TABLE login_failures (
        key text PRIMARY KEY,
        failures integer NOT NULL,
        last_failure_ms bigint NOT NULL
      );
      CREATE TABLE signups (
        key text NOT NULL,
        at_ms bigint NOT NULL
      );
      CREATE INDEX signups_key_at ON signups (key, at_ms);
      CREATE TABLE login_changes (
        seq bigserial PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('removed', 'password', 'session')),
        user_name text NOT NULL,
        token_sha256 text,
        at_ms bigint NOT NULL
      );
      CREATE INDEX login_changes_at ON login_changes (at_ms);
    `,
  },
  {
    version: 2,
    name: 'quota usage and reservations shared by the servers of a group',
    sql: `
      CREATE TABLE quota_usage (
        user_name text PRIMARY KEY REFERENCES accounts (name) ON DELETE CASCADE,
        used bigint
      );
      CREATE TABLE quota_reservations (
        id bigserial PRIMARY KEY,
        user_name text NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
        server_id text NOT NULL,
        bytes bigint NOT NULL,
        expires_ms bigint NOT NULL
      );
      CREATE INDEX quota_reservations_user ON quota_reservations (user_name, expires_ms);
      CREATE INDEX quota_reservations_expires ON quota_reservations (expires_ms);
    `,
  },
];

/** Brings the schema up to date; resolves with the versions it applied (none when up to date). */
export async function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return db.transaction(async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    const newest = Math.max(0, ...done);
    const known = Math.max(0, ...migrations.map((m) => m.version));
    if (newest > known) {
      throw new LpfError(
        'LPF_ERR_SERVER',
        `the accounts database has schema version ${newest}, newer than this lpf-server knows (${known}): upgrade lpf-server`,
      );
    }
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}
