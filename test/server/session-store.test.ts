/**
 * The one contract of a login session store, run against both: sessions.txt (LoginSessions) and
 * PostgreSQL (PgSessions, on a real PostgreSQL 15). The clock is injected: expiry needs no waiting.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LoginSessions } from '../../src/server/accounts/login-sessions.js';
import { Database } from '../../src/server/accounts/pg/database.js';
import { migrate } from '../../src/server/accounts/pg/migrations.js';
import { PgAccounts } from '../../src/server/accounts/pg/pg-accounts.js';
import { PgSessions } from '../../src/server/accounts/pg/pg-sessions.js';
import type { SessionStore } from '../../src/server/accounts/session-store.js';
import { skipWithoutPostgres, startPostgres, type Postgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/processes.js';

const TTL = 60_000;
const skipPg = skipWithoutPostgres();

/** A store for the users given, and the clock it reads (a box, moved by the test). */
type Make = (users: string[], now: { ms: number }) => Promise<SessionStore>;

function contract(make: () => Make): void {
  test('create, get, revoke', async () => {
    const now = { ms: 1_000_000 };
    const store = await make()(['ann', 'bob'], now);
    const { token, expires } = await store.create('ann');
    assert.equal(expires, now.ms + TTL);
    assert.deepEqual(await store.get(token), { user: 'ann', expires });
    assert.equal(await store.get(`${token}x`), undefined);
    await store.revoke(token);
    assert.equal(await store.get(token), undefined);
    await store.revoke(token); // twice is harmless
  });

  test('revokeAll ends every live session of one user and says how many', async () => {
    const now = { ms: 2_000_000 };
    const store = await make()(['ann', 'bob'], now);
    const [a1, a2, b1] = [await store.create('ann'), await store.create('ann'), await store.create('bob')];
    assert.equal(await store.revokeAll('ann'), 2);
    assert.equal(await store.get(a1.token), undefined);
    assert.equal(await store.get(a2.token), undefined);
    assert.equal((await store.get(b1.token))?.user, 'bob');
    assert.equal(await store.revokeAll('ann'), 0);
  });

  test('a session is over once its expiry has come', async () => {
    const now = { ms: 3_000_000 };
    const store = await make()(['ann'], now);
    const { token } = await store.create('ann');
    now.ms += TTL - 1;
    assert.equal((await store.get(token))?.user, 'ann');
    now.ms += 1;
    assert.equal(await store.get(token), undefined);
    assert.equal(await store.revokeAll('ann'), 0, 'an expired session is not counted as ended');
  });
}

describe('sessions.txt', () => {
  const dirs: { cleanup(): Promise<void> }[] = [];
  after(() => Promise.all(dirs.map((d) => d.cleanup())));
  contract(() => async (_users, now) => {
    const dir = await tempDir();
    dirs.push(dir);
    const store = new LoginSessions(join(dir.path, 'sessions.txt'), TTL, () => now.ms);
    await store.load();
    return store;
  });
});

describe('PostgreSQL', { skip: skipPg }, () => {
  let engine: Postgres;
  const dbs: Database[] = [];
  before(async () => {
    engine = await startPostgres();
  });
  after(async () => {
    for (const db of dbs) await db.close();
    await engine?.destroy();
  });
  contract(() => async (users, now) => {
    const db = await Database.open(await engine.newDatabase());
    dbs.push(db);
    await migrate(db);
    const accounts = new PgAccounts(db, () => now.ms, { N: 1024, r: 8, p: 1 });
    for (const user of users) await accounts.register(user, `${user}-password`);
    return new PgSessions(db, TTL, () => now.ms);
  });
});
