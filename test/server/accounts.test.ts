import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { readAccounts } from '../../src/server/accounts/accounts-file.js';
import { FileAccounts, parseAccounts } from '../../src/server/accounts/file-accounts.js';
import { formatHash, hashPassword, parseHash, verifyPassword } from '../../src/server/accounts/password-hash.js';
import { tempDir } from '../helpers/processes.js';

// Cheap parameters: these tests check logic, not hashing strength.
const FAST = { N: 1024, r: 8, p: 1 };

test('a password hash verifies the right password only, and survives its text form', async () => {
  const h = await hashPassword('s3cret', FAST);
  const parsed = parseHash(formatHash(h));
  assert.ok(parsed);
  assert.equal(await verifyPassword('s3cret', parsed), true);
  assert.equal(await verifyPassword('s3cret ', parsed), false);
});

test('parseHash refuses malformed text', () => {
  for (const bad of ['', 'scrypt', 'bcrypt:N=1024,r=8,p=1:a:b', 'scrypt:N=1000,r=8,p=1:YQ==:YQ==', 'scrypt:N=1024,r=0,p=1:YQ==:YQ==']) {
    assert.equal(parseHash(bad), undefined, bad);
  }
});

test('parseAccounts skips comments and malformed lines', () => {
  const users = parseAccounts('# comment\n\nbroken line\nok:scrypt:N=1024,r=8,p=1:YWJj:ZGVm\n:scrypt:N=2,r=1,p=1:YQ==:YQ==\n');
  assert.deepEqual([...users.keys()], ['ok']);
});

test('readAccounts: a damaged or repeated line makes its account unusable, keeps its name taken, and is reported', () => {
  const valid = 'scrypt:N=1024,r=8,p=1:YWJj:ZGVm';
  const text = `# comment\nann:${valid}\nbob:scrypt:N=10\nbob:${valid}\ncy:${valid}\ncy:${valid}\nDee:${valid}\nno colon\n`;
  const { users, taken, problems } = readAccounts(text);
  assert.deepEqual([...users.keys()], ['ann']);
  assert.deepEqual([...taken].sort(), ['ann', 'bob', 'cy', 'dee']);
  assert.deepEqual(problems, [
    { line: 3, user: 'bob', kind: 'damaged' },
    { line: 4, user: 'bob', kind: 'duplicate', first: 3 },
    { line: 6, user: 'cy', kind: 'duplicate', first: 5 },
    { line: 7, user: 'dee', kind: 'damaged' },
    { line: 8, user: undefined, kind: 'damaged' },
  ]);
});

test('register and verify; unknown users and wrong passwords get the same error', async () => {
  const dir = await tempDir();
  try {
    const accounts = new FileAccounts(join(dir.path, 'users.txt'), FAST);
    assert.equal(await accounts.register('Alice', 'pw'), 'alice');
    assert.equal(await accounts.verify('ALICE', 'pw'), 'alice');
    await assert.rejects(accounts.verify('alice', 'nope'), { code: 'LPF_ERR_AUTH', message: 'wrong user name or password' });
    await assert.rejects(accounts.verify('nobody', 'pw'), { code: 'LPF_ERR_AUTH', message: 'wrong user name or password' });
    await assert.rejects(accounts.verify('bad name!', 'pw'), { code: 'LPF_ERR_AUTH' });
    await assert.rejects(accounts.register('alice', 'x'), { code: 'LPF_ERR_USER_EXISTS' });
    await assert.rejects(accounts.register('', 'x'), { code: 'LPF_ERR_BAD_USERNAME' });
    await assert.rejects(accounts.register('bob', ''), { code: 'LPF_ERR_BAD_PASSWORD' });
  } finally {
    await dir.cleanup();
  }
});

test('50 concurrent registrations, duplicates included, leave a well-formed file with exactly the expected accounts', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, 'users.txt');
    const accounts = new FileAccounts(path, FAST);
    const names = Array.from({ length: 50 }, (_, i) => `user${i % 35}`); // 15 duplicates
    const results = await Promise.allSettled(names.map((n) => accounts.register(n, `pw-${n}`)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 35);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code: string }).code, 'LPF_ERR_USER_EXISTS');
    const onDisk = parseAccounts(await readFile(path, 'utf8'));
    assert.deepEqual([...onDisk.keys()].sort(), Array.from({ length: 35 }, (_, i) => `user${i}`).sort());
    // A fresh store reading the same file accepts every password.
    const reread = new FileAccounts(path, FAST);
    for (let i = 0; i < 35; i++) assert.equal(await reread.verify(`user${i}`, `pw-user${i}`), `user${i}`);
  } finally {
    await dir.cleanup();
  }
});
