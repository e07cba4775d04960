/** Every safety limit of the server, with its default. The CLI maps a flag onto each; docs/SECURITY.md explains them. */
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './connection-limiter.js';
import { DEFAULT_THROTTLE, type ThrottleOptions } from './login-throttle.js';

const GiB = 1024 ** 3;

export interface ServerLimits extends ConnectionLimits {
  /** From TCP accept, a connection must finish its TLS handshake and send hello within this long, whatever it sends meanwhile. */
  handshakeTimeoutMs: number;
  /** A connection must log in within this long (a person may be typing a password). */
  loginTimeoutMs: number;
  /** A connection with no traffic either way for this long is dropped; a live transfer never is. */
  idleTimeoutMs: number;
  maxFileSize: number;
  /** Storage quota of every account. */
  quotaBytes: number;
  minPasswordChars: number;
  /** Registrations accepted from one client address per hour. */
  registrationsPerHour: number;
  /** How long a login session lasts. */
  sessionTtlMs: number;
  /** Partial uploads untouched for this long are removed. */
  partialTtlMs: number;
  /** Failed logins per account name before delays start, and the delays. */
  accountThrottle: ThrottleOptions;
  /** The same per client address: more lenient, as many people may share one address. */
  addressThrottle: ThrottleOptions;
}

export const DEFAULT_LIMITS: ServerLimits = {
  ...DEFAULT_CONNECTION_LIMITS,
  handshakeTimeoutMs: 10_000,
  loginTimeoutMs: 120_000,
  idleTimeoutMs: 300_000,
  maxFileSize: 10 * GiB,
  quotaBytes: 10 * GiB,
  minPasswordChars: 8,
  registrationsPerHour: 5,
  partialTtlMs: 24 * 3_600_000,
  sessionTtlMs: 7 * 24 * 3_600_000,
  accountThrottle: DEFAULT_THROTTLE,
  addressThrottle: { ...DEFAULT_THROTTLE, freeAttempts: 20 },
};
