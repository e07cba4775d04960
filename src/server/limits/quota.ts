/**
 * Per-user storage quota. Usage is read from storage once per user, then kept
 * up to date from commits and deletes; uploads in flight reserve their
 * announced size, so concurrent uploads cannot together overshoot. Cut-off
 * uploads kept for a resume count too (asked of storage at each reservation:
 * they come and go with connections and the sweep), or an account could fill
 * the disk with them.
 */
import { LpfError } from '../../errors.js';
import type { Storage, UploadRequest } from '../storage/storage.js';

interface Account {
  used: number;
  reserved: number;
}

export class QuotaKeeper {
  readonly #storage: Storage;
  readonly #quota: number;
  readonly #accounts = new Map<string, Promise<Account>>();

  constructor(storage: Storage, quotaBytes: number) {
    this.#storage = storage;
    this.#quota = quotaBytes;
  }

  /**
   * Reserves room for an upload of `size` bytes to `path` (whose own kept part, if it resumes one, is not
   * counted twice); throws LPF_ERR_QUOTA when it does not fit.
   */
  async reserve(user: string, size: number, upload?: { path: string; request: UploadRequest }): Promise<Reservation> {
    const account = await this.#account(user);
    const kept = await this.#storage.keptPartialBytes(user, upload);
    const taken = account.used + account.reserved + kept;
    if (taken + size > this.#quota) {
      const free = Math.max(0, this.#quota - taken);
      const partials =
        kept > 0 ? `; ${kept} bytes of it are held by cut-off uploads kept for a resume, until they are resumed or expire` : '';
      throw new LpfError(
        'LPF_ERR_QUOTA',
        `not enough room in your storage quota: ${size} bytes needed, ${free} of ${this.#quota} free${partials}`,
      );
    }
    account.reserved += size;
    return new Reservation(this, user, size);
  }

  /** An upload reserved with reserve() ended: stored (replacing `replaced` bytes) or not. */
  async settle(user: string, size: number, stored: { replaced: number } | undefined): Promise<void> {
    const account = await this.#account(user);
    account.reserved -= size;
    if (stored) account.used += size - stored.replaced;
  }

  async freed(user: string, bytes: number): Promise<void> {
    // Not scanned yet: the first scan, after this delete, will not count the file anyway.
    const account = this.#accounts.get(user);
    if (account) (await account).used -= bytes;
  }

  #account(user: string): Promise<Account> {
    let account = this.#accounts.get(user);
    if (!account) {
      account = this.#storage.usage(user).then((used) => ({ used, reserved: 0 }));
      account.catch(() => this.#accounts.delete(user)); // retry the scan next time
      this.#accounts.set(user, account);
    }
    return account;
  }
}

/**
 * Room reserved for one command's bytes. Settled once, whoever gets there first (the command, its
 * failure, the connection's close): later calls do nothing, so no path can release it twice.
 */
export class Reservation {
  readonly #quota: QuotaKeeper;
  readonly #user: string;
  /** The bytes reserved. */
  readonly size: number;
  #settled = false;
  #kept = false;

  constructor(quota: QuotaKeeper, user: string, size: number) {
    this.#quota = quota;
    this.#user = user;
    this.size = size;
  }

  /** Whether it is settled, or kept for later by its command (an upload receiving its data). */
  get accountedFor(): boolean {
    return this.#settled || this.#kept;
  }

  /** The command goes on past its handler (an upload's data follows): it settles this itself, later. */
  keep(): this {
    this.#kept = true;
    return this;
  }

  /** The bytes were stored, replacing `replaced` bytes. */
  stored(stored: { replaced: number }): Promise<void> {
    return this.#settle(stored);
  }

  /** Nothing was stored: the room is free again. */
  release(): Promise<void> {
    return this.#settle(undefined);
  }

  #settle(stored: { replaced: number } | undefined): Promise<void> {
    if (this.#settled) return Promise.resolve();
    this.#settled = true;
    return this.#quota.settle(this.#user, this.size, stored);
  }
}
