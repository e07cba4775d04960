/** The periodic sweep of partial uploads nobody resumed within --partial-ttl. */
import type { Logger } from '../logger.js';
import type { Storage } from './storage.js';

/** Removes partial uploads older than `ttlMs`: now, then every half TTL (1 s to 1 h); clear the timer returned to stop. */
export function sweepPeriodically(storage: Storage, ttlMs: number, log: Logger): NodeJS.Timeout {
  const sweep = () =>
    storage.sweepPartials(ttlMs).then(
      (removed) => removed > 0 && log.info({ removed }, 'removed stale partial uploads'),
      (err: Error) => log.warn({ err: err.message }, 'could not sweep partial uploads'),
    );
  let sweeping: Promise<unknown> | undefined;
  const once = () => {
    sweeping ??= sweep().finally(() => (sweeping = undefined)); // never two sweeps at once
  };
  once();
  const timer = setInterval(once, Math.min(Math.max(ttlMs / 2, 1000), 3_600_000));
  timer.unref();
  return timer;
}
