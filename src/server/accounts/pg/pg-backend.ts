/** The login backend of a group of servers: accounts, sessions, throttles and sign-ups in PostgreSQL. */
import { systemClock, type Clock } from '../../limits/clock.js';
import type { ServerLimits } from '../../limits/limits.js';
import type { Logger } from '../../logger.js';
import type { LoginBackend } from '../backend.js';
import { Database } from './database.js';
import { migrate } from './migrations.js';
import { PgAccounts } from './pg-accounts.js';
import { PgRateWindow, PgThrottle } from './pg-limits.js';
import { PgQuota } from './pg-quota.js';
import { PgSessions } from './pg-sessions.js';
import { CHANGE_WINDOW_MS, PgLoginWatch } from './pg-watch.js';

/** How often expired sessions, forgotten failures, old sign-ups and old login changes are removed. */
const SWEEP_MS = 10 * 60_000;
const DEFAULT_RECHECK_MS = 30_000;

export interface PgBackendOptions {
  clock?: Clock;
  /** How often login changes are read without a NOTIFY (the fallback after a lost LISTEN connection). */
  recheckMs?: number;
  /** How long a quota reservation counts without being renewed (pg-quota.ts LEASE_MS by default). */
  quotaLeaseMs?: number;
}

/**
 * Connects to the database at `url` and brings its schema up to date; rejects with the database's
 * error (the caller names the setting) when it cannot.
 */
export async function openPgBackend(url: string, limits: ServerLimits, log: Logger, options: PgBackendOptions = {}): Promise<LoginBackend> {
  const clock = options.clock ?? systemClock;
  const db = await Database.open(url, log);
  try {
    const applied = await migrate(db);
    if (applied.length > 0) log.info({ accounts: 'postgres', versions: applied }, 'migrated the accounts database');
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  const loginSessions = new PgSessions(db, limits.sessionTtlMs, clock);
  const accountThrottle = new PgThrottle(db, limits.accountThrottle, clock);
  const addressThrottle = new PgThrottle(db, limits.addressThrottle, clock);
  const registrations = new PgRateWindow(db, limits.registrationsPerHour, 3_600_000, clock);
  const sweep = async () => {
    try {
      const sessions = await loginSessions.sweep();
      await accountThrottle.sweep();
      await addressThrottle.sweep();
      await registrations.sweep();
      await db.query('DELETE FROM login_changes WHERE at_ms < $1', [clock() - 2 * CHANGE_WINDOW_MS]);
      if (sessions > 0) log.info({ accounts: 'postgres', removed: sessions }, 'removed expired login sessions');
    } catch {
      // logged by the database; the next sweep tries again
    }
  };
  const quotas: PgQuota[] = [];
  let closed: Promise<void> | undefined;
  return {
    name: 'postgres',
    accounts: new PgAccounts(db, clock),
    loginSessions,
    accountThrottle,
    addressThrottle,
    registrations,
    quota(storage, quotaBytes) {
      const quota = new PgQuota(db, storage, quotaBytes, { clock, log, leaseMs: options.quotaLeaseMs });
      quota.start();
      quotas.push(quota);
      return quota;
    },
    async check() {
      await db.query('SELECT 1');
    },
    async watch(live) {
      const watcher = new PgLoginWatch(db, live, log, { recheckMs: options.recheckMs ?? DEFAULT_RECHECK_MS, clock });
      await watcher.start();
      void sweep();
      const sweeper = setInterval(() => void sweep(), SWEEP_MS);
      sweeper.unref();
      return () => {
        clearInterval(sweeper);
        watcher.stop();
      };
    },
    close: () => (closed ??= Promise.all(quotas.map((q) => q.stop())).then(() => db.close())), // once: a pool cannot be ended twice
  };
}
