/**
 * Ends live connections whose login no longer holds, on every server: each server LISTENs for the
 * NOTIFY of a login change (login-changes.ts) and then reads the recorded changes it has not acted
 * upon. The same read runs periodically, as the fallback when the LISTEN connection was lost (it is
 * re-opened, with a growing pause, and a read follows each reconnection).
 */
import type { Client } from 'pg';
import type { Clock } from '../../limits/clock.js';
import type { Logger } from '../../logger.js';
import type { LiveLogin } from '../login-watch.js';
import type { Database } from './database.js';
import { changesSince, LOGIN_CHANNEL, type LoginChange } from './login-changes.js';
import { sha256 } from './pg-sessions.js';

/** How far back each read looks (covers changes committed out of order, and clocks a little apart). */
export const CHANGE_WINDOW_MS = 10 * 60_000;
const MAX_RECONNECT_PAUSE_MS = 30_000;

export interface PgWatchOptions {
  /** How often the changes are read even without a NOTIFY. */
  recheckMs: number;
  clock: Clock;
}

export class PgLoginWatch {
  readonly #db: Database;
  readonly #live: () => Iterable<LiveLogin>;
  readonly #log: Logger;
  readonly #options: PgWatchOptions;
  /** The changes acted upon (or there before the watch started), by seq, with their time. */
  readonly #applied = new Map<string, number>();
  #listener: Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reconnect: NodeJS.Timeout | undefined;
  #pauseMs = 500;
  #stopped = false;
  #checking: Promise<void> | undefined;
  #again = false;

  constructor(db: Database, live: () => Iterable<LiveLogin>, log: Logger, options: PgWatchOptions) {
    this.#db = db;
    this.#live = live;
    this.#log = log;
    this.#options = options;
  }

  /** Notes the changes already recorded (they concern connections of the past) and starts listening. */
  async start(): Promise<void> {
    for (const change of await changesSince(this.#db, this.#options.clock() - CHANGE_WINDOW_MS)) this.#applied.set(change.seq, change.atMs);
    await this.#listen().catch(() => this.#scheduleReconnect());
    this.#timer = setInterval(() => void this.check(), this.#options.recheckMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#reconnect);
    void this.#listener?.end().catch(() => {});
    this.#listener = undefined;
  }

  /** Reads the changes not acted upon yet and ends the connections they concern (one read at a time). */
  check(): Promise<void> {
    if (this.#checking) {
      this.#again = true;
      return this.#checking;
    }
    this.#checking = this.#read().finally(() => {
      this.#checking = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        void this.check();
      }
    });
    return this.#checking;
  }

  async #read(): Promise<void> {
    const since = this.#options.clock() - CHANGE_WINDOW_MS;
    let changes: LoginChange[];
    try {
      changes = await changesSince(this.#db, since);
    } catch {
      return; // logged by the database; the next NOTIFY or period tries again
    }
    for (const change of changes) {
      if (this.#applied.has(change.seq)) continue;
      this.#applied.set(change.seq, change.atMs);
      this.#apply(change);
    }
    for (const [seq, at] of this.#applied) if (at < since) this.#applied.delete(seq);
  }

  #apply(change: LoginChange): void {
    for (const client of this.#live()) {
      if (change.kind === 'session') client.checkSession((token) => sha256(token) !== change.tokenSha256);
      else client.accountChanged(change.user, change.kind === 'removed');
    }
  }

  async #listen(): Promise<void> {
    const client = this.#db.newClient();
    client.on('notification', () => void this.check());
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, undefined));
    this.#listener = client;
    await client.connect();
    await client.query(`LISTEN ${LOGIN_CHANNEL}`);
    this.#pauseMs = 500;
    void this.check(); // whatever happened while it was not listening
  }

  #lost(client: Client, err: Error | undefined): void {
    if (this.#listener !== client || this.#stopped) return;
    this.#listener = undefined;
    this.#log.warn({ accounts: 'postgres', err: err?.message }, 'lost the LISTEN connection to the accounts database; reconnecting');
    void client.end().catch(() => {});
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#reconnect) return;
    this.#reconnect = setTimeout(() => {
      this.#reconnect = undefined;
      if (this.#stopped) return;
      this.#listen().catch(() => {
        const client = this.#listener;
        this.#listener = undefined;
        void client?.end().catch(() => {});
        this.#scheduleReconnect();
      });
    }, this.#pauseMs);
    this.#reconnect.unref();
    this.#pauseMs = Math.min(this.#pauseMs * 2, MAX_RECONNECT_PAUSE_MS);
  }
}
