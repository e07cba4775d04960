/** Waiting for an event the test cannot be told of directly, bounded in time (never a sleep to order events). */
import { setTimeout as sleep } from 'node:timers/promises';

/** How long waitFor may take and what it waits for (named in the error when it gives up). */
export interface WaitOptions {
  /** What is awaited, for the error message: "the upload is kept". */
  what: string;
  /** Generous: the bound only stops a broken test; it orders nothing. */
  timeoutMs?: number;
  /** How often `condition` is tried. */
  everyMs?: number;
}

/**
 * Resolves with the first truthy value `condition` returns, trying it at once and then every `everyMs`;
 * rejects naming `what` once `timeoutMs` has passed.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  { what, timeoutMs = 20_000, everyMs = 50 }: WaitOptions,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(everyMs);
  }
}

/** Lets every pending promise callback run (one turn of the event loop), for in-process tests that do no I/O. */
export function settle(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
