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
  async reserve(user: string, size: number, upload?: { path: string; request: UploadRequest }): Promise<void> {
    const account = await this.#account(user);
    const kept = await this.#storage.keptPartialBytes(user, upload);
    const taken = account.used + account.reserved + kept;
    if (taken + size > this.#quota) {
      const free = Math.max(0, this.#quota - taken);
      const partials = kept > 0 ? `; ${kept} bytes of it are held by cut-off uploads kept for a resume, until they are resumed or expire` : '';
      throw new LpfError('LPF_ERR_QUOTA', `not enough room in your storage quota: ${size} bytes needed, ${free} of ${this.#quota} free${partials}`);
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
