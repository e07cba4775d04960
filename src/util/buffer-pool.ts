/**
 * Reusable buffers for file data, shared by every transfer of a process: a
 * buffer goes back to the pool once the socket (sending) or the file
 * (receiving) has written it. Memory for file data is then bounded by the
 * pool, not by the number or size of transfers, and the garbage collector is
 * not fed a new buffer per chunk.
 */
export class BufferPool {
  readonly size: number;
  readonly #max: number;
  readonly #free: Buffer[] = [];
  readonly #waiting: ((buffer: Buffer) => void)[] = [];
  /** The buffers of the pool, as against those its takers made for themselves. */
  readonly #own = new WeakSet<Buffer>();
  #allocated = 0;

  /** `max` buffers of `size` bytes at most, allocated on demand. */
  constructor(size: number, max: number) {
    this.size = size;
    this.#max = max;
  }

  /** Buffers allocated so far (in use or free). */
  get allocated(): number {
    return this.#allocated;
  }

  /** A buffer of `size` bytes; waits for one to come back when all are in use. */
  take(): Promise<Buffer> {
    const buffer = this.takeNow();
    return buffer ? Promise.resolve(buffer) : new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** A buffer of `size` bytes, or undefined when all are in use. */
  takeNow(): Buffer | undefined {
    const free = this.#free.pop();
    if (free) return free;
    if (this.#allocated >= this.#max) return undefined;
    this.#allocated++;
    const buffer = Buffer.allocUnsafe(this.size);
    this.#own.add(buffer);
    return buffer;
  }

  /** Whether `buffer` is one of this pool's (not a buffer its taker made for itself). */
  owns(buffer: Buffer): boolean {
    return this.#own.has(buffer);
  }

  /** Returns a buffer taken from this pool; its content may be overwritten at once. */
  give(buffer: Buffer): void {
    if (!this.#own.has(buffer)) return; // not the pool's: never handed out by it
    const waiter = this.#waiting.shift();
    if (waiter) waiter(buffer);
    else this.#free.push(buffer);
  }
}
