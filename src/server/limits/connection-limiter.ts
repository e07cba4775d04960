/** Caps open connections, in all and per client address, so one host cannot take every socket. */

export interface ConnectionLimits {
  maxConnections: number;
  maxPerAddress: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { maxConnections: 1024, maxPerAddress: 32 };

export class ConnectionLimiter {
  readonly #limits: ConnectionLimits;
  readonly #perAddress = new Map<string, number>();
  #total = 0;

  constructor(limits: ConnectionLimits) {
    this.#limits = limits;
  }

  /** Counts a new connection; returns why it must be refused, or undefined. Call release() when it closes either way. */
  open(address: string): string | undefined {
    this.#total += 1;
    const mine = (this.#perAddress.get(address) ?? 0) + 1;
    this.#perAddress.set(address, mine);
    if (this.#total > this.#limits.maxConnections)
      return `the server is at its limit of ${this.#limits.maxConnections} connections; try again later`;
    if (mine > this.#limits.maxPerAddress)
      return `too many connections from your address (limit ${this.#limits.maxPerAddress}); try again later`;
    return undefined;
  }

  release(address: string): void {
    this.#total -= 1;
    const mine = (this.#perAddress.get(address) ?? 1) - 1;
    if (mine <= 0) this.#perAddress.delete(address);
    else this.#perAddress.set(address, mine);
  }

  get total(): number {
    return this.#total;
  }
}
