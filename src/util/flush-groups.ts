/**
 * Group commit: flushes of one key (a directory) that are asked for while
 * one is under way share the next one. Each request resolves after a flush
 * that began after it was made, which is what durability needs (the flush
 * under way may have started before the caller's change); and however many
 * ask at once, at most two flushes of a key run back to back.
 */
export class FlushGroups {
  readonly #flush: (key: string) => Promise<void>;
  /** Per key: the flush under way, and the one that callers arriving meanwhile share. */
  readonly #groups = new Map<string, { running: Promise<void>; next?: Promise<void> }>();

  constructor(flush: (key: string) => Promise<void>) {
    this.#flush = flush;
  }

  request(key: string): Promise<void> {
    const group = this.#groups.get(key);
    if (group) {
      group.next ??= group.running
        .catch(() => {})
        .then(() => {
          this.#groups.delete(key);
          return this.request(key);
        });
      return group.next;
    }
    const started: { running: Promise<void>; next?: Promise<void> } = { running: this.#flush(key) };
    this.#groups.set(key, started);
    const settled = () => {
      if (!started.next) this.#groups.delete(key);
    };
    started.running.then(settled, settled);
    return started.running;
  }
}
