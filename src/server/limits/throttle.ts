/**
 * What the login commands need from the abuse limits, whichever store keeps them: this process's
 * memory (LoginThrottle, RateWindow) or PostgreSQL, shared by every server of a group (pg-limits.ts).
 */

/** Delays after failed logins, per key (an account name, a client address); see login-throttle.ts. */
export interface Throttle {
  /** Milliseconds until these keys may try again; 0 when an attempt may be checked now. */
  waitFor(keys: string[]): number | Promise<number>;
  /** Counts a failed attempt against every key. */
  failed(keys: string[]): void | Promise<void>;
  /** A successful login clears the key's record. */
  succeeded(key: string): void | Promise<void>;
  /** Resolves when an attempt for `key` may be checked in this process; call leave(key) once it is decided. */
  enter(key: string): Promise<void>;
  leave(key: string): void;
}

/** At most N events per key in a sliding window (sign-ups per address per hour). */
export interface RateLimit {
  /** Records an event for `key` and returns true, or returns false (recording nothing) when the key is at its limit. */
  take(key: string): boolean | Promise<boolean>;
}
