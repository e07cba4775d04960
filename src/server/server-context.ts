/** What every client connection of one server shares: the stores, and the state of the abuse limits. */
import type { Accounts } from './accounts/accounts.js';
import type { SessionStore } from './accounts/session-store.js';
import type { ServerLimits } from './limits/limits.js';
import type { Quota } from './limits/quota.js';
import type { RateLimit, Throttle } from './limits/throttle.js';
import type { Logger } from './logger.js';
import type { Storage } from './storage/storage.js';

export interface ServerContext {
  accounts: Accounts;
  storage: Storage;
  log: Logger;
  allowRegistration: boolean;
  limits: ServerLimits;
  accountThrottle: Throttle;
  addressThrottle: Throttle;
  registrations: RateLimit;
  quota: Quota;
  /** The login sessions (tokens) clients may log in with instead of a password. */
  loginSessions: SessionStore;
}
