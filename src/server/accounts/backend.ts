/**
 * Where logins are kept: the files of the data folder (users.txt, sessions.txt and this process's
 * memory for the throttles), or PostgreSQL, shared by every server of a group (pg/pg-backend.ts).
 */
import type { Quota } from '../limits/quota.js';
import type { RateLimit, Throttle } from '../limits/throttle.js';
import type { Storage } from '../storage/storage.js';
import type { Accounts } from './accounts.js';
import type { LiveLogin } from './login-watch.js';
import type { SessionStore } from './session-store.js';

export interface LoginBackend {
  /** For logs: which backend answers. */
  name: 'files' | 'postgres';
  accounts: Accounts;
  loginSessions: SessionStore;
  accountThrottle: Throttle;
  addressThrottle: Throttle;
  registrations: RateLimit;
  /** The storage quota of every account on `storage`: in this server's memory, or shared by the group in PostgreSQL. */
  quota(storage: Storage, quotaBytes: number): Quota;
  /** Resolves when the backend answers (for the health check), rejects when it does not. */
  check(): Promise<void>;
  /** Starts ending live connections whose login stopped holding (and any periodic upkeep); returns a function that stops. */
  watch(live: () => Iterable<LiveLogin>): Promise<() => void>;
  /** Releases what the backend holds (connections). */
  close(): Promise<void>;
}
