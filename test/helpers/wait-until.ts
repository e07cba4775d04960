/** Polling for an event the test cannot be told of directly, bounded in time (never a sleep to order events). */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves with the first truthy value `check` returns, trying every `everyMs`; rejects with `what`
 * once `timeoutMs` has passed. The bound is generous: it only stops a broken test, it orders nothing.
 */
export async function waitUntil<T>(check: () => T | Promise<T>, what: string, { timeoutMs = 20_000, everyMs = 50 } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(everyMs);
  }
}
