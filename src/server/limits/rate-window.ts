/** Counts events per key in a sliding window: "at most N registrations per address per hour". */
import type { Clock } from './clock.js';
import type { RateLimit } from './throttle.js';

const MAX_KEYS = 100_000;

export class RateWindow implements RateLimit {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #clock: Clock;
  readonly #events = new Map<string, number[]>();

  constructor(limit: number, windowMs: number, clock: Clock) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#clock = clock;
  }

  /** Records an event for `key` and returns true, or returns false (recording nothing) when the key is at its limit. */
  take(key: string): boolean {
    const now = this.#clock();
    const recent = (this.#events.get(key) ?? []).filter((t) => now - t < this.#windowMs);
    if (recent.length >= this.#limit) {
      this.#events.set(key, recent);
      return false;
    }
    recent.push(now);
    this.#events.delete(key);
    this.#events.set(key, recent);
    while (this.#events.size > MAX_KEYS) this.#events.delete(this.#events.keys().next().value as string);
    return true;
  }
}
