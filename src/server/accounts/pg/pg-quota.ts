/**
 * The storage quota in PostgreSQL, shared by every server of a group: the rule is that of
 * limits/quota.ts (checkRoom), the numbers are the database's.
 *
 * - `quota_usage.used`: the bytes of a user's stored files, measured once with Storage.usage by the
 *   first server that needs it (under the row's lock, so two servers never both measure), then kept up to
 *   date by every server's commits and deletes.
 * - `quota_reservations`: one row per command in flight, tied to the server that runs it, with a lease
 *   that server renews every LEASE_MS / 4. A server that dies without settling stops holding its bytes
 *   once the lease lapses (LEASE_MS, two minutes).
 *
 * reserve() locks the user's row (`SELECT … FOR UPDATE`), so reservations of one user are serialised over
 * every server: used + live reservations + kept partials are checked against the quota in one transaction.
 * A failed reserve is LPF_ERR_SERVER and nothing is stored. A settle or a delete that cannot be written
 * (the database is down) never fails its command: the bytes are stored or deleted whatever the database
 * says; the change of `used` is kept in memory and written by the next renewal, and the reservation lapses.
 */
import { randomUUID } from 'node:crypto';
import { LpfError } from '../../../errors.js';
import type { Clock } from '../../limits/clock.js';
import { checkRoom, Reservation, type Quota, type ReservedUpload } from '../../limits/quota.js';
import type { Logger } from '../../logger.js';
import type { Storage } from '../../storage/storage.js';
import type { Database, Queryable } from './database.js';

/**
 * How long a reservation counts without being renewed. Long enough to ride out a few failed renewals (a
 * database restart), short enough that a crashed server's uploads stop taking room within minutes.
 */
export const LEASE_MS = 120_000;

export interface PgQuotaOptions {
  clock: Clock;
  log: Logger;
  leaseMs?: number;
  /** Names this server in its reservation rows; a fresh random id by default. */
  serverId?: string;
}

export class PgQuota implements Quota {
  readonly #db: Database;
  readonly #storage: Storage;
  readonly #quota: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #leaseMs: number;
  readonly serverId: string;
  /** The ids of this server's reservations not settled yet: those renewals keep alive. */
  readonly #live = new Set<string>();
  /** Changes of `used` the database did not take (it was down), by user: written by the next renewal. */
  readonly #unwritten = new Map<string, number>();
  /** Reservations settled here whose rows the database did not remove (it was down): removed by the next renewal. */
  readonly #unremoved = new Set<string>();
  #renewer: NodeJS.Timeout | undefined;

  constructor(db: Database, storage: Storage, quotaBytes: number, options: PgQuotaOptions) {
    this.#db = db;
    this.#storage = storage;
    this.#quota = quotaBytes;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#leaseMs = options.leaseMs ?? LEASE_MS;
    this.serverId = options.serverId ?? randomUUID();
  }

  async reserve(user: string, size: number, upload?: ReservedUpload): Promise<Reservation> {
    const kept = await this.#storage.keptPartialBytes(user, upload);
    const now = this.#clock();
    const id = await this.#db.transaction(async (client) => {
      const used = await this.#lockUsage(client, user);
      const { rows } = await client.query<{ reserved: string }>(
        'SELECT COALESCE(sum(bytes), 0) AS reserved FROM quota_reservations WHERE user_name = $1 AND expires_ms > $2',
        [user, now],
      );
      checkRoom(this.#quota, size, { used, reserved: Number(rows[0]?.reserved ?? 0), kept });
      const inserted = await client.query<{ id: string }>(
        'INSERT INTO quota_reservations (user_name, server_id, bytes, expires_ms) VALUES ($1, $2, $3, $4) RETURNING id',
        [user, this.serverId, size, now + this.#leaseMs],
      );
      return String(inserted.rows[0]?.id);
    });
    this.#live.add(id);
    return new Reservation(size, (stored) => this.#settle(user, id, stored ? size - stored.replaced : 0));
  }

  async freed(user: string, bytes: number): Promise<void> {
    if (bytes === 0) return;
    try {
      await this.#addUsed(this.#db, user, -bytes);
    } catch (err) {
      this.#keepUnwritten(user, -bytes, err);
    }
  }

  /** Starts renewing this server's reservations (and removing long-lapsed ones) every quarter lease. */
  start(): void {
    this.#renewer ??= setInterval(() => void this.renew().catch(() => {}), this.#leaseMs / 4);
    this.#renewer.unref();
  }

  /**
   * Stops renewing, writes what the database missed and removes this server's reservations (its connections
   * are closed: nothing it reserved is still coming). Best effort: what fails lapses with its lease.
   */
  async stop(): Promise<void> {
    clearInterval(this.#renewer);
    this.#renewer = undefined;
    this.#live.clear();
    try {
      await this.#writeLeftOver();
      await this.#db.query('DELETE FROM quota_reservations WHERE server_id = $1', [this.serverId]);
    } catch {
      // logged by the database
    }
  }

  /** Extends the lease of this server's reservations, removes long-lapsed ones, writes the changes of `used` left over. */
  async renew(): Promise<void> {
    const now = this.#clock();
    if (this.#live.size > 0) {
      // A row lapsed but not yet removed comes back to life: its upload is still going on here.
      await this.#db.query('UPDATE quota_reservations SET expires_ms = $1 WHERE server_id = $2 AND id = ANY($3::bigint[])', [
        now + this.#leaseMs,
        this.serverId,
        [...this.#live],
      ]);
    }
    // Kept a lease past lapsing (it counts for nothing meanwhile), for its server to revive after a blip.
    await this.#db.query('DELETE FROM quota_reservations WHERE expires_ms <= $1', [now - this.#leaseMs]);
    await this.#writeLeftOver();
  }

  /** Settles what the database missed while it was down, in one transaction: a settled row and its bytes go together. */
  async #writeLeftOver(): Promise<void> {
    if (this.#unwritten.size === 0 && this.#unremoved.size === 0) return;
    const changes = [...this.#unwritten];
    const ids = [...this.#unremoved];
    await this.#db.transaction(async (client) => {
      await client.query('DELETE FROM quota_reservations WHERE id = ANY($1::bigint[])', [ids]);
      for (const [user, delta] of changes) await this.#addUsed(client, user, delta);
    });
    for (const id of ids) this.#unremoved.delete(id);
    for (const [user, delta] of changes) {
      const rest = (this.#unwritten.get(user) ?? 0) - delta; // more may have come meanwhile
      if (rest === 0) this.#unwritten.delete(user);
      else this.#unwritten.set(user, rest);
    }
  }

  /** The user's `used`, with the row locked until the transaction ends; measured from storage the first time. */
  async #lockUsage(client: Queryable, user: string): Promise<number> {
    await client.query('INSERT INTO quota_usage (user_name) VALUES ($1) ON CONFLICT (user_name) DO NOTHING', [user]);
    const { rows } = await client.query<{ used: string | null }>('SELECT used FROM quota_usage WHERE user_name = $1 FOR UPDATE', [user]);
    const known = rows[0]?.used;
    if (known !== null && known !== undefined) return Number(known);
    const used = await this.#storage.usage(user).catch((err: unknown) => {
      this.#log.error({ user, err: (err as Error).message }, 'could not measure the storage a user takes');
      throw new LpfError('LPF_ERR_SERVER', 'could not measure the room your files take; try again later', { cause: err });
    });
    await client.query('UPDATE quota_usage SET used = $2 WHERE user_name = $1', [user, used]);
    this.#log.info({ user, used, serverId: this.serverId }, 'measured the storage a user takes, for the quota shared by the group');
    return used;
  }

  async #settle(user: string, id: string, delta: number): Promise<void> {
    this.#live.delete(id);
    try {
      await this.#db.transaction(async (client) => {
        await client.query('DELETE FROM quota_reservations WHERE id = $1', [id]);
        await this.#addUsed(client, user, delta);
      });
    } catch (err) {
      this.#unremoved.add(id); // or it lapses with its lease, if this server stops first
      this.#keepUnwritten(user, delta, err);
    }
  }

  /** Adds `delta` to a measured `used` (one not yet measured will be, and will see the change). */
  async #addUsed(client: Queryable, user: string, delta: number): Promise<void> {
    if (delta === 0) return;
    await client.query('UPDATE quota_usage SET used = GREATEST(0, used + $2) WHERE user_name = $1 AND used IS NOT NULL', [user, delta]);
  }

  #keepUnwritten(user: string, delta: number, err: unknown): void {
    if (delta !== 0) this.#unwritten.set(user, (this.#unwritten.get(user) ?? 0) + delta);
    this.#log.warn(
      { user, delta, err: (err as Error).message },
      'could not record a change of quota usage; it is written once the database answers',
    );
  }
}
