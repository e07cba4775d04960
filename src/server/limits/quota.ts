/**
 * Per-user storage quota. Usage is read from storage once per user, then kept
 * up to date from commits and deletes; uploads in flight reserve their
 * announced size, so concurrent uploads cannot together overshoot.
 */
import { LpfError } from '../../errors.js';
import type { Storage } from '../storage/storage.js';

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

  /** Reserves room for an upload of `size` bytes; throws LPF_ERR_QUOTA when it does not fit. */
  async reserve(user: string, size: number): Promise<void> {
    const account = await this.#account(user);
    if (account.used + account.reserved + size > this.#quota) {
      const free = Math.max(0, this.#quota - account.used - account.reserved);
      throw new LpfError('LPF_ERR_QUOTA', `not enough room in your storage quota: ${size} bytes needed, ${free} of ${this.#quota} free`);
    }
    account.reserved += size;
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
