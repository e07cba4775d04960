/**
 * Admits at most a given number of attempts per key at once; the others wait for one to leave. The
 * number may change between attempts (the free attempts left), so it is asked for each time.
 */
export class KeyGate {
  readonly #inFlight = new Map<string, number>();
  readonly #queued = new Map<string, (() => void)[]>();

  async enter(key: string, slots: () => number): Promise<void> {
    while ((this.#inFlight.get(key) ?? 0) >= slots()) {
      await new Promise<void>((resolve) => {
        const queue = this.#queued.get(key) ?? [];
        queue.push(resolve);
        this.#queued.set(key, queue);
      });
    }
    this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
  }

  leave(key: string): void {
    const left = (this.#inFlight.get(key) ?? 1) - 1;
    if (left > 0) this.#inFlight.set(key, left);
    else this.#inFlight.delete(key);
    // Wake every waiter: each re-checks its slot.
    const queue = this.#queued.get(key);
    this.#queued.delete(key);
    for (const wake of queue ?? []) wake();
  }
}
