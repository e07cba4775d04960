/**
 * The memory that every upload of one server may hold in part buffers together: a counted budget of
 * bytes, taken before a buffer is allocated and given back once its part is stored or dropped. Without
 * it the bound would be per upload (two parts and a chunk), so 200 concurrent large uploads could hold
 * 200 × 16 MiB. An upload that finds the budget spent waits its turn (first come, first served, so a
 * large part is not passed over for ever by small ones), and its connection is held meanwhile: no data
 * is dropped. The server cannot deadlock on it: what holds the budget is a part being filled by its
 * client's data, being sent to the store, or being committed, and each of those ends without waiting for
 * the budget. The first does wait for its client, though: a client must not make the upload that holds a
 * buffer wait for one it holds up (the clients of one process once did, through their shared pool of send
 * buffers: spareWhenSpent in send-file.ts), and one that stops sending keeps its buffer until the idle timeout.
 */

/** The default budget: 8 parts of 8 MiB (measured in docs/SCALING.md, "Memory"). */
export const DEFAULT_PART_BUDGET = 64 * 1024 * 1024;

interface Waiter {
  bytes: number;
  granted: () => void;
}

export class PartBudget {
  /** Bytes that may be held at once (a single part larger than this is still granted, alone). */
  readonly limit: number;
  #used = 0;
  readonly #waiting: Waiter[] = [];

  constructor(limit: number = DEFAULT_PART_BUDGET) {
    if (!Number.isSafeInteger(limit) || limit <= 0) throw new RangeError(`a part budget must be a positive number of bytes, not ${limit}`);
    this.limit = limit;
  }

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** Uploads waiting for room. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Takes `bytes` at once if they fit and nobody waits before; false otherwise (nothing taken). */
  tryTake(bytes: number): boolean {
    if (this.#waiting.length > 0 || !this.#fits(bytes)) return false;
    this.#used += bytes;
    return true;
  }

  /**
   * Takes `bytes` now or once they fit, calling `granted` then (at once when they fit now). Returns a
   * cancel: called before the grant, the wait is given up; after it, it does nothing (release the bytes).
   */
  take(bytes: number, granted: () => void): () => void {
    if (this.tryTake(bytes)) {
      granted();
      return () => {};
    }
    const waiter: Waiter = { bytes, granted };
    this.#waiting.push(waiter);
    return () => {
      const at = this.#waiting.indexOf(waiter);
      if (at < 0) return;
      this.#waiting.splice(at, 1);
      this.#grant(); // the one behind it may fit
    };
  }

  /** Resolves once `bytes` are taken. */
  taken(bytes: number): Promise<void> {
    return new Promise((resolve) => this.take(bytes, resolve));
  }

  /** Gives back bytes taken before, and grants the waiters that now fit, in order. */
  release(bytes: number): void {
    if (bytes <= 0) return;
    if (bytes > this.#used) throw new RangeError(`released ${bytes} bytes of a part budget that holds ${this.#used}`);
    this.#used -= bytes;
    this.#grant();
  }

  /** A part larger than the whole budget would never fit: it goes when nothing else is held. */
  #fits(bytes: number): boolean {
    return this.#used === 0 || this.#used + bytes <= this.limit;
  }

  #grant(): void {
    while (this.#waiting.length > 0 && this.#fits(this.#waiting[0]!.bytes)) {
      const waiter = this.#waiting.shift()!;
      this.#used += waiter.bytes;
      waiter.granted();
    }
  }
}
