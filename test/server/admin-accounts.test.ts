/** Account administration next to a server's own stores, in one process: what each side notices of the other. */
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { FileAccounts } from '../../src/server/accounts/file-accounts.js';
import { LoginSessions, revokeSessionsOf } from '../../src/server/accounts/login-sessions.js';
import { addUser, listUsers, removeUser, setPassword } from '../../src/server/admin/users.js';
import { systemClock } from '../../src/server/limits/clock.js';
import { DiskStorage } from '../../src/server/storage/disk-storage.js';
import { tempDir } from '../helpers/processes.js';

const FAST = { N: 1024, r: 8, p: 1 };

test('the server sees accounts added, re-passworded and removed by the admin tool', async () => {
  const dir = await tempDir();
  try {
    const options = { root: dir.path, minPasswordChars: 4, params: FAST };
    const accounts = new FileAccounts(join(dir.path, 'users.txt'), FAST);
    await accounts.load();
    await addUser(options, 'Ann', 'first');
    assert.equal(await accounts.verify('ann', 'first'), 'ann');
    // Same length: the file's size does not change, only its inode (and maybe not its mtime).
    await setPassword(options, 'ann', 'other');
    await assert.rejects(accounts.verify('ann', 'first'), { code: 'LPF_ERR_AUTH' });
    assert.equal(await accounts.verify('ann', 'other'), 'ann');
    await removeUser(dir.path, 'ann', new DiskStorage(dir.path));
    await assert.rejects(accounts.verify('ann', 'other'), { code: 'LPF_ERR_AUTH' });
    await assert.rejects(addUser(options, 'bo', 'abc'), { code: 'LPF_ERR_BAD_PASSWORD', message: /at least 4 characters/ });
    await assert.rejects(setPassword(options, 'nobody', 'abcdef'), { code: 'LPF_ERR_NO_SUCH_USER' });
  } finally {
    await dir.cleanup();
  }
});

test('edits keep comments and lines they do not concern; list reports malformed lines', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, 'users.txt');
    await writeFile(path, '# my notes\nbroken line\n', { mode: 0o600 });
    const options = { root: dir.path, minPasswordChars: 1, params: FAST };
    await addUser(options, 'cy', 'pw');
    const accounts = new FileAccounts(path, FAST);
    await accounts.register('dee', 'pw');
    await removeUser(dir.path, 'cy', undefined);
    const lines = (await readFile(path, 'utf8')).split('\n');
    assert.deepEqual(lines.slice(0, 2), ['# my notes', 'broken line']);
    assert.ok(lines[2]?.startsWith('dee:scrypt:'));
    const listing = await listUsers(dir.path);
    assert.deepEqual(listing.users, [{ name: 'dee', sessions: 0 }]);
    assert.deepEqual(listing.problems, [{ line: 2, user: undefined, kind: 'damaged' }]);
  } finally {
    await dir.cleanup();
  }
});

test("the server's session store honours sessions ended by another process, and does not bring them back", async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, 'sessions.txt');
    const store = new LoginSessions(path, 60_000, systemClock);
    await store.load();
    const ann = await store.create('ann');
    const bob = await store.create('bob');
    assert.equal(store.get(ann.token)?.user, 'ann');
    assert.equal(await revokeSessionsOf(path, 'ann', systemClock), 1);
    assert.equal(store.get(ann.token), undefined, 'noticed without a restart');
    const bob2 = await store.create('bob'); // the server rewrites the file
    assert.equal(store.get(ann.token), undefined);
    assert.doesNotMatch(await readFile(path, 'utf8'), / ann /);
    assert.equal(store.get(bob.token)?.user, 'bob');
    assert.equal(store.get(bob2.token)?.user, 'bob');
    // A session the server made while another process wrote is kept too: both go through the lock.
    const other = new LoginSessions(path, 60_000, systemClock);
    await other.load();
    const [c1, c2] = await Promise.all([store.create('cy'), other.create('cy')]);
    const fresh = new LoginSessions(path, 60_000, systemClock);
    await fresh.load();
    assert.ok(fresh.get(c1.token) && fresh.get(c2.token));
  } finally {
    await dir.cleanup();
  }
});

test("removing an account with its storage deletes its files, records and partial uploads, and counts its files; another account's stay", async () => {
  const dir = await tempDir();
  try {
    const options = { root: dir.path, minPasswordChars: 1, params: FAST };
    await addUser(options, 'eve', 'pw');
    for (const path of ['files/eve/a.txt', 'files/eve/deep/b.txt', 'meta/eve/a.txt', 'partial/eve/x.part', 'files/fay/c.txt']) {
      await mkdir(join(dir.path, dirname(path)), { recursive: true });
      await writeFile(join(dir.path, path), 'x');
    }
    const removal = await removeUser(dir.path, 'eve', new DiskStorage(dir.path));
    assert.deepEqual(removal.removed, { count: 2, unit: 'file' });
    for (const area of ['files', 'meta', 'partial']) await assert.rejects(stat(join(dir.path, area, 'eve')), { code: 'ENOENT' });
    assert.equal(await readFile(join(dir.path, 'files/fay/c.txt'), 'utf8'), 'x');
  } finally {
    await dir.cleanup();
  }
});
