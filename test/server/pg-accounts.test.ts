/**
 * The PostgreSQL login stores against a real PostgreSQL 15 (one engine for the file, a fresh database
 * per test): migrations, accounts, sessions, throttles, the sign-up window, the watch of login changes,
 * and what a caller sees while the engine is down. Two pools on one database stand for two servers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import { Database } from '../../src/server/accounts/pg/database.js';
import { migrate, MIGRATIONS } from '../../src/server/accounts/pg/migrations.js';
import { PgAccounts } from '../../src/server/accounts/pg/pg-accounts.js';
import { PgRateWindow, PgThrottle } from '../../src/server/accounts/pg/pg-limits.js';
import { PgSessions } from '../../src/server/accounts/pg/pg-sessions.js';
import { PgLoginWatch } from '../../src/server/accounts/pg/pg-watch.js';
import type { LiveLogin } from '../../src/server/accounts/login-watch.js';
import { parseHash } from '../../src/server/accounts/password-hash.js';
import { createLogger, type Logger } from '../../src/server/logger.js';
import { LpfError } from '../../src/errors.js';
import { skipWithoutPostgres, startPostgres, type Postgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

const FAST = { N: 1024, r: 8, p: 1 };
const THROTTLE = { freeAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 };
const skip = skipWithoutPostgres();

describe('PostgreSQL login stores', { skip }, () => {
  let engine: Postgres;
  let log: Logger;
  const opened: Database[] = [];

  /** A fresh database, migrated, and `count` pools on it (one per "server"). */
  async function databases(count: number): Promise<Database[]> {
    const url = await engine.newDatabase();
    const dbs: Database[] = [];
    for (let i = 0; i < count; i++) dbs.push(await Database.open(url, log));
    opened.push(...dbs);
    await migrate(dbs[0] as Database);
    return dbs;
  }

  before(async () => {
    engine = await startPostgres();
    log = await createLogger('silent', false);
  });
  after(async () => {
    for (const db of opened) await db.close().catch(() => {});
    await engine?.destroy();
  });

  test('migrations: two servers starting at once apply each one exactly once', async () => {
    const url = await engine.newDatabase();
    const [a, b] = [await Database.open(url, log), await Database.open(url, log)];
    opened.push(a, b);
    const applied = await Promise.all([migrate(a), migrate(b)]);
    assert.deepEqual(
      applied.flat(),
      MIGRATIONS.map((m) => m.version),
    );
    const { rows } = await a.query<{ version: number }>('SELECT version FROM schema_migrations');
    assert.deepEqual(
      rows.map((r) => r.version),
      MIGRATIONS.map((m) => m.version),
    );
    assert.deepEqual(await migrate(a), []);
    // A database migrated by a newer server is refused with a clear message.
    await a.query('INSERT INTO schema_migrations (version, name) VALUES (99, $1)', ['from the future']);
    await assert.rejects(migrate(b), (err: LpfError) => err.code === 'LPF_ERR_SERVER' && /schema version 99/.test(err.message));
  });

  test('accounts: register, verify, the hash format of users.txt, and one winner among concurrent sign-ups', async () => {
    const [a, b] = await databases(2);
    const onA = new PgAccounts(a as Database, Date.now, FAST);
    const onB = new PgAccounts(b as Database, Date.now, FAST);
    assert.equal(await onA.register('Alice', 'alice-pw'), 'alice');
    assert.equal(await onB.verify('ALICE', 'alice-pw'), 'alice');
    await assert.rejects(onB.verify('alice', 'wrong'), { code: 'LPF_ERR_AUTH' });
    await assert.rejects(onB.verify('nobody', 'wrong'), { code: 'LPF_ERR_AUTH' });
    await assert.rejects(onB.verify('bad name!', 'wrong'), { code: 'LPF_ERR_AUTH' });
    await assert.rejects(onB.register('alice', 'other-pw'), { code: 'LPF_ERR_USER_EXISTS' });
    const { rows } = await (a as Database).query<{ password_hash: string }>('SELECT password_hash FROM accounts');
    assert.ok(parseHash(rows[0]?.password_hash ?? ''), 'stored in the scrypt text form of users.txt');

    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? onA : onB).register('contested', `pw-${i}`)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as LpfError).code, 'LPF_ERR_USER_EXISTS');
    assert.deepEqual(
      (await onA.list()).map((u) => u.name),
      ['alice', 'contested'],
    );
  });

  test('sessions: only the SHA-256 is stored; a session made through one server works through another; ended, expired', async () => {
    const [a, b] = await databases(2);
    let now = 1_000_000;
    const clock = () => now;
    await new PgAccounts(a as Database, clock, FAST).register('bob', 'bob-pw');
    const onA = new PgSessions(a as Database, 60_000, clock);
    const onB = new PgSessions(b as Database, 60_000, clock);
    const { token, expires } = await onA.create('bob');
    assert.equal(expires, now + 60_000);
    assert.deepEqual(await onB.get(token), { user: 'bob', expires });
    const { rows } = await (a as Database).query<{ token_sha256: string }>('SELECT token_sha256 FROM login_sessions');
    assert.deepEqual(
      rows.map((r) => r.token_sha256),
      [createHash('sha256').update(token).digest('hex')],
    );
    assert.equal(await onB.get('not a token'), undefined);
    await onB.revoke(token);
    assert.equal(await onA.get(token), undefined);

    const second = await onA.create('bob');
    await onA.create('bob');
    assert.equal(await onB.revokeAll('bob'), 2);
    assert.equal(await onA.get(second.token), undefined);

    const third = await onA.create('bob');
    now += 60_000;
    assert.equal(await onB.get(third.token), undefined, 'expired');
    assert.equal(await onA.sweep(), 1);
    // An account removed between its password check and its session: the login does not hold.
    await assert.rejects(onA.create('ghost'), { code: 'LPF_ERR_AUTH', message: 'your account was removed; log in again' });
  });

  test('throttles: failures through two servers add up; a success clears the account; old records are forgotten', async () => {
    const [a, b] = await databases(2);
    let now = 5_000_000;
    const clock = () => now;
    const onA = new PgThrottle(a as Database, THROTTLE, clock);
    const onB = new PgThrottle(b as Database, THROTTLE, clock);
    const key = ['user:carol'];
    await onA.failed(key);
    await onB.failed(key);
    assert.equal(await onA.waitFor(key), 0, 'two failures are free');
    await onA.failed(key);
    assert.equal(await onB.waitFor(key), 1000, 'the third starts the base delay, seen by the other server');
    await onB.failed(key);
    assert.equal(await onA.waitFor(key), 2000);
    now += 500;
    assert.equal(await onA.waitFor(key), 1500);
    await onA.succeeded('user:carol');
    assert.equal(await onB.waitFor(key), 0);

    for (let i = 0; i < 4; i++) await onA.failed(['addr:10.0.0.1']);
    assert.ok((await onB.waitFor(['addr:10.0.0.1'])) > 0);
    now += 2 * THROTTLE.maxDelayMs + 1;
    assert.equal(await onB.waitFor(['addr:10.0.0.1']), 0, 'forgotten');
    await onB.failed(['addr:10.0.0.1']);
    assert.equal(await onA.waitFor(['addr:10.0.0.1']), 0, 'a forgotten record starts again from one failure');
    assert.equal(await onA.sweep(), 0);
  });

  test('the sign-up window holds over two servers, also for concurrent sign-ups', async () => {
    const [a, b] = await databases(2);
    let now = 9_000_000;
    const onA = new PgRateWindow(a as Database, 5, 3_600_000, () => now);
    const onB = new PgRateWindow(b as Database, 5, 3_600_000, () => now);
    const taken = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? onA : onB).take('127.0.0.1')));
    assert.equal(taken.filter(Boolean).length, 5);
    assert.equal(await onA.take('10.0.0.2'), true, 'per address');
    now += 3_600_000;
    assert.equal(await onB.take('127.0.0.1'), true, 'a new window');
    assert.equal(await onA.sweep(), 6);
  });

  test('the watch ends connections on another server: a removed account, a changed password, an ended session', async () => {
    const [a, b] = await databases(2);
    const accounts = new PgAccounts(a as Database, Date.now, FAST);
    const sessions = new PgSessions(a as Database, 60_000, Date.now);
    await accounts.register('dave', 'dave-pw');
    await accounts.register('erin', 'erin-pw');
    const { token } = await sessions.create('erin');
    const events: string[] = [];
    const live: LiveLogin[] = [
      {
        accountChanged: (user, removed) => void events.push(`${user} ${removed ? 'removed' : 'changed'}`),
        checkSession: (isLive) => void (!isLive(token) && events.push('erin session ended')),
      },
    ];
    const watch = new PgLoginWatch(b as Database, () => live, log, { recheckMs: 60_000, clock: Date.now });
    await watch.start();
    try {
      await sessions.revoke(token);
      await waitFor(() => events.includes('erin session ended'), { what: 'the ended session is seen through NOTIFY' });
      const hash = parseHash(
        (await (a as Database).query<{ password_hash: string }>('SELECT password_hash FROM accounts')).rows[0]!.password_hash,
      )!;
      await accounts.setPassword('dave', hash);
      await waitFor(() => events.includes('dave changed'), { what: 'the changed password is seen' });
      await accounts.remove('dave');
      await waitFor(() => events.includes('dave removed'), { what: 'the removal is seen' });
      assert.deepEqual(events, ['erin session ended', 'dave changed', 'dave removed'], 'each change acted upon once');
    } finally {
      watch.stop();
    }
  });

  test('a change whose NOTIFY was missed is acted upon at the next periodic read; a lost LISTEN connection is re-opened', async () => {
    const [a, b] = await databases(2);
    const events: string[] = [];
    const live: LiveLogin[] = [{ accountChanged: (user, removed) => void events.push(`${user} ${removed}`), checkSession: () => {} }];
    const periodic = new PgLoginWatch(b as Database, () => live, log, { recheckMs: 100, clock: Date.now });
    await periodic.start();
    try {
      // Recorded without a NOTIFY, as when the LISTEN connection was down at the time.
      await (a as Database).query('INSERT INTO login_changes (kind, user_name, at_ms) VALUES ($1, $2, $3)', ['removed', 'gus', Date.now()]);
      await waitFor(() => events.includes('gus true'), { what: 'the periodic read finds the change' });
    } finally {
      periodic.stop();
    }
    const listening = new PgLoginWatch(b as Database, () => live, log, { recheckMs: 3_600_000, clock: Date.now });
    await listening.start();
    try {
      const ended = await (a as Database).query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN lpf_logins'`,
      );
      assert.equal(ended.rowCount, 1);
      await new PgAccounts(a as Database, Date.now, FAST).register('hal', 'hal-password');
      await new PgAccounts(a as Database, Date.now, FAST).remove('hal');
      await waitFor(() => events.includes('hal true'), { what: 'the watch listens again and reads what it missed' });
      assert.equal(events.filter((e) => e === 'gus true').length, 1, 'a change is acted upon once');
    } finally {
      listening.stop();
    }
  });

  test('while the engine is down a query fails with LPF_ERR_SERVER; afterwards the same pool works again, the watch too', async () => {
    const [a, b] = await databases(2);
    const accounts = new PgAccounts(a as Database, Date.now, FAST);
    await accounts.register('frank', 'frank-pw');
    const events: string[] = [];
    const live: LiveLogin[] = [{ accountChanged: (user) => void events.push(user), checkSession: () => {} }];
    const watch = new PgLoginWatch(b as Database, () => live, log, { recheckMs: 60_000, clock: Date.now });
    await watch.start();
    try {
      await engine.stop();
      await assert.rejects(accounts.verify('frank', 'frank-pw'), (err: LpfError) => {
        assert.equal(err.code, 'LPF_ERR_SERVER');
        assert.match(err.message, /accounts database is unavailable/);
        return true;
      });
      await engine.start();
      assert.equal(await accounts.verify('frank', 'frank-pw'), 'frank', 'nothing lost, the pool reconnected');
      // The watch re-opens its LISTEN connection by itself and sees what changed.
      await waitFor(
        async () => {
          if (!events.includes('frank')) await new PgAccounts(a as Database, Date.now, FAST).remove('frank').catch(() => {});
          return events.includes('frank');
        },
        { what: 'the watch is back', timeoutMs: 30_000, everyMs: 200 },
      );
    } finally {
      watch.stop();
    }
  });
});
