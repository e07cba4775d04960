/** Registration, login and the accounts file, through the real programs. */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { asUser, runLpf, startServer, type RunningServer } from '../helpers/processes.js';

describe('accounts', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop());

  test('register, then log in with the same credentials', async () => {
    const reg = await runLpf([server.address, '-list'], { env: asUser('dora', 'pa55 word', true) });
    assert.equal(reg.code, 0, reg.stderr);
    assert.match(reg.stderr, /Account "dora" created/);
    const login = await runLpf([server.address, '-list'], { env: asUser('dora', 'pa55 word') });
    assert.equal(login.code, 0, login.stderr);
  });

  test('the accounts file holds a salted scrypt hash, never the password', async () => {
    await runLpf([server.address, '-list'], { env: asUser('erin', 'sup3r-secret', true) });
    const text = await readFile(join(server.root, 'users.txt'), 'utf8');
    assert.ok(!text.includes('sup3r-secret'));
    const line = text.split('\n').find((l) => l.startsWith('erin:'));
    assert.match(line ?? '', /^erin:scrypt:N=\d+,r=\d+,p=\d+:[A-Za-z0-9+/=]{20,}:[A-Za-z0-9+/=]{40,}$/);
    assert.equal((await stat(join(server.root, 'users.txt'))).mode & 0o077, 0, 'users.txt is private');
  });

  test('a wrong password and an unknown user get the same refusal', async () => {
    await runLpf([server.address, '-list'], { env: asUser('frank', 'right', true) });
    const wrong = await runLpf([server.address, '-list'], { env: asUser('frank', 'wrong') });
    const unknown = await runLpf([server.address, '-list'], { env: asUser('nobody', 'whatever') });
    assert.equal(wrong.code, 6);
    assert.equal(unknown.code, 6);
    assert.match(wrong.stderr, /LPF_ERR_AUTH/);
    assert.equal(wrong.stderr, unknown.stderr);
  });

  test('registering a taken name is refused, in any letter case', async () => {
    await runLpf([server.address, '-list'], { env: asUser('gina', 'one', true) });
    for (const name of ['gina', 'GINA']) {
      const r = await runLpf([server.address, '-list'], { env: asUser(name, 'two', true) });
      assert.equal(r.code, 6);
      assert.match(r.stderr, /LPF_ERR_USER_EXISTS/);
    }
    // The first owner's password still works.
    assert.equal((await runLpf([server.address, '-list'], { env: asUser('gina', 'one') })).code, 0);
  });

  test('bad user names are refused with the safe set explained', async () => {
    for (const name of ['x'.repeat(33), 'has space', 'semi;colon', '../up', '-dash-first', 'ünïcode']) {
      const r = await runLpf([server.address, '-list'], { env: asUser(name, 'pw', true) });
      assert.equal(r.code, 6, `${name}: ${r.stderr}`);
      assert.match(r.stderr, /LPF_ERR_BAD_USERNAME/);
    }
    const empty = await runLpf([server.address, '-list'], { env: { LPF_USER: '', LPF_PASSWORD: 'pw', LPF_REGISTER: '1' } });
    assert.notEqual(empty.code, 0);
  });

  test('with neither a terminal nor credentials the client fails at once', async () => {
    const started = Date.now();
    const r = await runLpf([server.address, '-list']);
    assert.equal(r.code, 6);
    assert.match(r.stderr, /LPF_ERR_NO_CREDENTIALS/);
    assert.match(r.stderr, /LPF_USER/);
    assert.ok(Date.now() - started < 10_000);
  });

  test('ping needs no account', async () => {
    const r = await runLpf([server.address, '-ping']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^pong from 127\.0\.0\.1:\d+ in \d+\.\d+ ms$/m);
  });
});

describe('accounts with registration turned off', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ args: ['--no-register'] });
  });
  after(() => server.stop());

  test('registration is refused', async () => {
    const r = await runLpf([server.address, '-list'], { env: asUser('henry', 'pw', true) });
    assert.equal(r.code, 6);
    assert.match(r.stderr, /registration is turned off/);
  });
});
