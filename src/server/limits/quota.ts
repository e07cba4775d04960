/**
 * Per-user storage quota. What the commands need of it is `Quota`: reserve room before bytes are added
 * (a Reservation, settled once), and say when bytes were freed. Two keepers implement it: QuotaKeeper
 * here, in one server's memory (the default), and PgQuota (accounts/pg/pg-quota.ts), in PostgreSQL,
 * shared by every server of a group. Both apply the one rule of `checkRoom`.
 *
 * QuotaKeeper: usage is read from storage once per user, then kept up to date from commits and deletes;
 * uploads in flight reserve their announced size, so concurrent uploads cannot together overshoot.
 * Cut-off uploads kept for a resume count too (asked of storage at each reservation: they come and go
 * with connections and the sweep), or an account could fill the disk with them.
 */
import { LpfError } from '../../errors.js';
import type { Storage, UploadRequest } from '../storage/storage.js';

/** The upload a reservation is for, whose own kept part (if it resumes one) is not counted twice. */
export interface ReservedUpload {
  path: string;
  request: UploadRequest;
}

/** What the commands need of the quota. */
export interface Quota {
  /** Reserves room for `size` bytes; throws LPF_ERR_QUOTA when they do not fit. */
  reserve(user: string, size: number, upload?: ReservedUpload): Promise<Reservation>;
  /** `bytes` of the user's stored files are gone (deleted, or a copy took less than reserved). */
  freed(user: string, bytes: number): Promise<void>;
}

/** What already takes room in a user's quota. */
export interface QuotaTaken {
  /** Bytes of stored files. */
  used: number;
  /** Bytes reserved by commands in flight. */
  reserved: number;
  /** Bytes held by cut-off uploads kept for a resume. */
  kept: number;
}

/** The quota rule, the same for every keeper: throws LPF_ERR_QUOTA when `size` more bytes do not fit. */
export function checkRoom(quotaBytes: number, size: number, { used, reserved, kept }: QuotaTaken): void {
  const taken = used + reserved + kept;
  if (taken + size <= quotaBytes) return;
  const free = Math.max(0, quotaBytes - taken);
  const partials = kept > 0 ? `; ${kept} bytes of it are held by cut-off uploads kept for a resume, until they are resumed or expire` : '';
  throw new LpfError(
    'LPF_ERR_QUOTA',
    `not enough room in your storage quota: ${size} bytes needed, ${free} of ${quotaBytes} free${partials}`,
  );
}

interface Account {
  used: number;
  reserved: number;
}

/** The quota in this server's memory: right for one server alone on its storage. */
export class QuotaKeeper implements Quota {
  readonly #storage: Storage;
  readonly #quota: number;
  readonly #accounts = new Map<string, Promise<Account>>();

  constructor(storage: Storage, quotaBytes: number) {
    this.#storage = storage;
    this.#quota = quotaBytes;
  }

  async reserve(user: string, size: number, upload?: ReservedUpload): Promise<Reservation> {
    const account = await this.#account(user);
    const kept = await this.#storage.keptPartialBytes(user, upload);
    checkRoom(this.#quota, size, { used: account.used, reserved: account.reserved, kept });
    account.reserved += size;
    return new Reservation(size, (stored) => {
      account.reserved -= size;
      if (stored) account.used += size - stored.replaced;
      return Promise.resolve();
    });
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

/** How a keeper ends a reservation: the bytes were stored (replacing `replaced` bytes), or not (undefined). */
export type Settle = (stored: { replaced: number } | undefined) => Promise<void>;

/**
 * Room reserved for one command's bytes. Settled once, whoever gets there first (the command, its
 * failure, the connection's close): later calls do nothing, so no path can release it twice.
 */
export class Reservation {
  readonly #settle: Settle;
  /** The bytes reserved. */
  readonly size: number;
  #settled = false;
  #kept = false;

  constructor(size: number, settle: Settle) {
    this.size = size;
    this.#settle = settle;
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
    return this.#end(stored);
  }

  /** Nothing was stored: the room is free again. */
  release(): Promise<void> {
    return this.#end(undefined);
  }

  #end(stored: { replaced: number } | undefined): Promise<void> {
    if (this.#settled) return Promise.resolve();
    this.#settled = true;
    return this.#settle(stored);
  }
}
