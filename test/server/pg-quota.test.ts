/**
 * The quota shared by a group of servers (PgQuota) against a real PostgreSQL 15: two pools on one
 * database stand for two servers. Storage is a fake (the quota only asks it for usage and kept partials).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Database } from '../../src/server/accounts/pg/database.js';
import { migrate } from '../../src/server/accounts/pg/migrations.js';
import { PgQuota } from '../../src/server/accounts/pg/pg-quota.js';
import type { Reservation } from '../../src/server/limits/quota.js';
import { createLogger, type Logger } from '../../src/server/logger.js';
import type { Storage } from '../../src/server/storage/storage.js';
import { LpfError } from '../../src/errors.js';
import { skipWithoutPostgres, startPostgres, type Postgres } from '../helpers/postgres.js';

const skip = skipWithoutPostgres();

const LEASE = 60_000;

/** Shared storage as both servers see it: what each user's files take, and how often that was measured. */
class FakeStorage {
  readonly used = new Map<string, number>();
  readonly kept = new Map<string, number>();
  scans = 0;

  async usage(user: string): Promise<number> {
    this.scans++;
    await new Promise((resolve) => setImmediate(resolve)); // a scan takes a while: others may ask meanwhile
    return this.used.get(user) ?? 0;
  }

  keptPartialBytes(user: string): Promise<number> {
    return Promise.resolve(this.kept.get(user) ?? 0);
  }
}

/** A clock the test moves. */
function manualClock(): { now: number; clock: () => number } {
  const c = { now: 1_000_000, clock: () => c.now };
  return c;
}

describe('PgQuota: the quota shared by the servers of a group', { skip }, () => {
  let engine: Postgres;
  let log: Logger;
  const opened: Database[] = [];

  /** A fresh database with the given accounts, and one quota per "server" on pools of their own. */
  async function servers(count: number, quotaBytes: number, storage: FakeStorage, clock = manualClock().clock): Promise<PgQuota[]> {
    const url = await engine.newDatabase();
    const quotas: PgQuota[] = [];
    for (let i = 0; i < count; i++) {
      const db = await Database.open(url, log);
      opened.push(db);
      if (i === 0) {
        await migrate(db);
        for (const name of ['alice', 'bob']) await db.query("INSERT INTO accounts (name, password_hash) VALUES ($1, 'x')", [name]);
      }
      quotas.push(
        new PgQuota(db, storage as Pick<Storage, 'usage' | 'keptPartialBytes'> as Storage, quotaBytes, { clock, log, leaseMs: LEASE }),
      );
    }
    return quotas;
  }

  before(async () => {
    engine = await startPostgres();
    log = await createLogger('silent', false);
  });
  after(async () => {
    for (const db of opened) await db.close().catch(() => {});
    await engine?.destroy();
  });

  test('usage is measured once for the whole group, even when both servers first ask at once', async () => {
    const storage = new FakeStorage();
    storage.used.set('alice', 30);
    const [a, b] = (await servers(2, 100, storage)) as [PgQuota, PgQuota];
    await Promise.all([a.reserve('alice', 10), b.reserve('alice', 10)]);
    assert.equal(storage.scans, 1);
    await assert.rejects(b.reserve('alice', 51), { code: 'LPF_ERR_QUOTA', message: /51 bytes needed, 50 of 100 free/ });
  });

  test('concurrent reservations through two servers never exceed the quota', async () => {
    const storage = new FakeStorage();
    storage.used.set('alice', 30);
    const [a, b] = (await servers(2, 100, storage)) as [PgQuota, PgQuota];
    const attempts = Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).reserve('alice', 10));
    const outcomes = await Promise.allSettled(attempts);
    const granted = outcomes.filter((o) => o.status === 'fulfilled');
    assert.equal(granted.length, 7, 'exactly the 70 free bytes are granted');
    for (const o of outcomes) if (o.status === 'rejected') assert.equal((o.reason as LpfError).code, 'LPF_ERR_QUOTA');
    await b.reserve('bob', 100); // each account has its own quota
  });

  test('settling: stored bytes stay counted on every server, released ones and deleted files free room', async () => {
    const storage = new FakeStorage();
    const [a, b] = (await servers(2, 100, storage)) as [PgQuota, PgQuota];
    const upload = await a.reserve('alice', 70);
    await assert.rejects(b.reserve('alice', 31), { code: 'LPF_ERR_QUOTA' });
    await upload.stored({ replaced: 0 });
    await upload.release(); // settled once: this does nothing
    await assert.rejects(b.reserve('alice', 31), { code: 'LPF_ERR_QUOTA' }, 'the stored file takes its room');
    const failed = await b.reserve('alice', 30);
    await failed.release();
    const replacing = await b.reserve('alice', 30);
    await replacing.stored({ replaced: 70 }); // a 30-byte file replaced the 70-byte one
    await (await a.reserve('alice', 70)).release();
    await b.freed('alice', 30);
    await a.reserve('alice', 100);
    assert.equal(storage.scans, 1);
  });

  test('kept partial uploads count, and the refusal says so (the rule shared with the in-memory keeper)', async () => {
    const storage = new FakeStorage();
    storage.used.set('alice', 20);
    storage.kept.set('alice', 50);
    const [a] = (await servers(1, 100, storage)) as [PgQuota];
    await assert.rejects(a.reserve('alice', 31), {
      code: 'LPF_ERR_QUOTA',
      message:
        'not enough room in your storage quota: 31 bytes needed, 30 of 100 free; 50 bytes of it are held by cut-off uploads kept for a resume, until they are resumed or expire',
    });
  });

  test("a server that ends without settling: its reservations stop counting once their lease lapses; a live one's renewals keep them", async () => {
    const time = manualClock();
    const [a, b] = (await servers(2, 100, new FakeStorage(), time.clock)) as [PgQuota, PgQuota];
    await a.reserve('alice', 60); // a crashes: never settled, never renewed
    const live = await b.reserve('alice', 30); // b stays up and renews
    await assert.rejects(b.reserve('alice', 11), { code: 'LPF_ERR_QUOTA' });
    time.now += LEASE * 0.75;
    await b.renew();
    await assert.rejects(b.reserve('alice', 11), { code: 'LPF_ERR_QUOTA' }, 'within the lease, the crashed server still holds its bytes');
    time.now += LEASE * 0.5;
    const after = await b.reserve('alice', 70); // a's 60 lapsed; b's 30, renewed, still count
    await assert.rejects(b.reserve('alice', 1), { code: 'LPF_ERR_QUOTA' });
    await after.release();
    await live.release();
    // Long-lapsed rows are removed by any server's renewal.
    time.now += LEASE * 2;
    await b.renew();
    const { rows } = await (opened.at(-1) as Database).query<{ n: string }>('SELECT count(*) AS n FROM quota_reservations');
    assert.equal(Number(rows[0]?.n), 0);
  });

  test('a server that stops removes its reservations at once; a stopped server renews nothing', async () => {
    const [a, b] = (await servers(2, 100, new FakeStorage())) as [PgQuota, PgQuota];
    a.start();
    await a.reserve('alice', 60);
    await assert.rejects(b.reserve('alice', 41), { code: 'LPF_ERR_QUOTA' });
    await a.stop();
    await b.reserve('alice', 100);
  });

  test('with the database down: a reservation is refused with LPF_ERR_SERVER; a settle never fails its command and is written once the database is back', async () => {
    const storage = new FakeStorage();
    const [a, b] = (await servers(2, 100, storage)) as [PgQuota, PgQuota];
    const stored: Reservation = await a.reserve('alice', 60);
    const other = await a.reserve('alice', 10);
    await engine.stop();
    try {
      await assert.rejects(b.reserve('alice', 1), (err: LpfError) => err.code === 'LPF_ERR_SERVER' && /unavailable/.test(err.message));
      await stored.stored({ replaced: 0 }); // the file is stored whatever the database says
      await other.release();
      await a.freed('alice', 5);
    } finally {
      await engine.start();
    }
    await a.renew(); // writes the 60 stored and the 5 freed, removes both reservations
    await assert.rejects(b.reserve('alice', 46), { code: 'LPF_ERR_QUOTA', message: /46 bytes needed, 45 of 100 free/ }, '60 - 5 used');
    await b.reserve('alice', 45);
  });
});
