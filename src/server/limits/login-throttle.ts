/**
 * Slows password guessing: after a few free failures, each key (an account
 * name, a client address) must wait a doubling delay before its next attempt
 * is even checked. An attempt inside the window is refused without looking at
 * the password, so a guesser gains nothing by hammering. Unknown accounts are
 * throttled exactly like real ones, so the throttle reveals nothing either.
 *
 * Attempts are admitted through a gate per key: no more are checked at once
 * than the key has free attempts left, so a burst of parallel guesses cannot
 * all pass as free ones, while parallel logins of a real user just queue.
 */
import type { Clock } from './clock.js';
import { KeyGate } from './key-gate.js';
import type { Throttle } from './throttle.js';

export interface ThrottleOptions {
  /** Failures allowed before delays start. */
  freeAttempts: number;
  /** The first delay; each further failure doubles it. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { freeAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 };

interface Record {
  failures: number;
  lastFailure: number;
}

/** Bounds memory under a flood of distinct keys: the oldest entries go first. */
const MAX_KEYS = 100_000;

export class LoginThrottle implements Throttle {
  readonly #options: ThrottleOptions;
  readonly #clock: Clock;
  readonly #records = new Map<string, Record>();
  readonly #gate = new KeyGate();

  constructor(options: ThrottleOptions, clock: Clock) {
    this.#options = options;
    this.#clock = clock;
  }

  /** Milliseconds until these keys may try again; 0 when an attempt may be checked now. */
  waitFor(keys: string[]): number {
    const now = this.#clock();
    let wait = 0;
    for (const key of keys) {
      const record = this.#fresh(key, now);
      if (record) wait = Math.max(wait, record.lastFailure + this.#delay(record.failures) - now);
    }
    return wait;
  }

  /** Counts a failed attempt against every key. */
  failed(keys: string[]): void {
    const now = this.#clock();
    for (const key of keys) {
      const record = this.#fresh(key, now) ?? { failures: 0, lastFailure: now };
      record.failures += 1;
      record.lastFailure = now;
      this.#records.delete(key); // re-insert: Map order is then least-recently-failed first
      this.#records.set(key, record);
    }
    while (this.#records.size > MAX_KEYS) this.#records.delete(this.#records.keys().next().value as string);
  }

  /** Resolves when an attempt for `key` may be checked; call leave(key) once it is decided. */
  enter(key: string): Promise<void> {
    return this.#gate.enter(key, () => this.#slots(key));
  }

  /** Those waiting are woken: each re-checks its slot, and those now inside a delay window are refused by waitFor. */
  leave(key: string): void {
    this.#gate.leave(key);
  }

  /** How many attempts may be checked at once: the free attempts left, at least one. */
  #slots(key: string): number {
    const failures = this.#fresh(key, this.#clock())?.failures ?? 0;
    return Math.max(1, this.#options.freeAttempts - failures);
  }

  /** A successful login clears the account's record (not the address's: one's own account must not launder guesses). */
  succeeded(key: string): void {
    this.#records.delete(key);
  }

  /**
   * The failure that uses up the last free attempt (or, with none, the first
   * failure) starts the base delay; each further failure doubles it.
   */
  #delay(failures: number): number {
    return throttleDelay(this.#options, failures);
  }

  /** The record, unless it is old enough to forget (twice the longest delay since the last failure). */
  #fresh(key: string, now: number): Record | undefined {
    const record = this.#records.get(key);
    if (record && now - record.lastFailure > 2 * this.#options.maxDelayMs) {
      this.#records.delete(key);
      return undefined;
    }
    return record;
  }
}

/** The delay after `failures` failures: none while free attempts remain, then the base delay, doubling up to the maximum. */
export function throttleDelay(options: ThrottleOptions, failures: number): number {
  const over = failures - Math.max(options.freeAttempts, 1);
  if (over < 0) return 0;
  return Math.min(options.baseDelayMs * 2 ** Math.min(over, 30), options.maxDelayMs);
}
