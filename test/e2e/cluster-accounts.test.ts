/**
 * Two real lpf-server processes, each with its own --root for files, sharing one real PostgreSQL
 * (--accounts), and the real lpf client: they behave as one for accounts, sessions, throttles and
 * `lpf-server users`; a PostgreSQL restart costs the command that hit it and nothing else.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROTOCOL_VERSION } from '../../src/protocol/index.js';
import { asUser, runLpf, startServer, type RunningServer } from '../helpers/processes.js';
import { skipWithoutPostgres, startPostgres, type Postgres } from '../helpers/postgres.js';
import { RawPeer } from '../helpers/raw-client.js';
import { runServerCli, users } from '../helpers/server-cli.js';

const skip = skipWithoutPostgres();

/**
 * Five free failures per account, then a long delay: what counts is how many failures were seen, never
 * time. The address (127.0.0.1, shared by every test here) has 20 free failures: this file stays well below.
 */
const THROTTLE_ARGS = ['--login-free-attempts', '5', '--login-delay', '600'];

/** A client configuration folder of its own, trusting both servers. */
async function freshClient(
  ...servers: RunningServer[]
): Promise<{ env: Record<string, string>; sessions: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'lpf-cluster-'));
  const env = { XDG_CONFIG_HOME: dir };
  for (const server of servers) assert.equal((await runLpf([server.address, '-ping'], { env })).code, 0);
  return { env, sessions: join(dir, 'lpf', 'sessions.json'), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The server ended the connection with this error. */
async function assertEndedWith(peer: RawPeer, code: string, message: RegExp): Promise<void> {
  const error = await peer.next();
  assert.ok(error.type === 'error' && error.code === code && message.test(error.message), JSON.stringify(error));
  await assert.rejects(peer.next(), /connection closed/);
}

async function loginWithToken(port: number, token: string): Promise<RawPeer> {
  const peer = await RawPeer.connect(port);
  peer.send({ type: 'hello', version: PROTOCOL_VERSION, agent: 'raw-test' });
  await peer.next();
  peer.send({ type: 'session', token });
  assert.equal((await peer.next()).type, 'authed');
  return peer;
}

describe('two servers sharing accounts in PostgreSQL', { skip }, () => {
  let engine: Postgres;
  let url: string;
  let a: RunningServer;
  let b: RunningServer;

  before(async () => {
    engine = await startPostgres();
    url = await engine.newDatabase();
    // Started together: the migrations must hold when two servers start at once.
    [a, b] = await Promise.all([
      startServer({ args: ['--accounts', url, ...THROTTLE_ARGS] }),
      startServer({ args: ['--accounts', url, ...THROTTLE_ARGS] }),
    ]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await engine?.destroy();
  });

  test('each says which backend answers; no users.txt is written', async () => {
    for (const server of [a, b]) {
      assert.equal(server.logs.find((l) => l.msg === 'listening')?.accounts, 'postgres');
    }
    assert.equal((await runLpf([a.address, '-list'], { env: asUser('first', 'first-pw', true) })).code, 0);
    await assert.rejects(readFile(join(a.root, 'users.txt')), { code: 'ENOENT' });
  });

  test('register through A, log in through B; a session started on A works on B, and logging out on B ends it on A', async () => {
    const signUp = await runLpf([a.address, '-list'], { env: asUser('ann', 'ann-password', true) });
    assert.equal(signUp.code, 0, signUp.stderr);
    const login = await runLpf([b.address, '-whoami'], { env: asUser('ann', 'ann-password') });
    assert.equal(login.code, 0, login.stderr);

    const client = await freshClient(a, b);
    try {
      assert.equal((await runLpf([a.address, '-login'], { env: { ...client.env, ...asUser('ann', 'ann-password') } })).code, 0);
      // The client keeps sessions per address: hand A's session to B, as a load balancer in front of both would.
      const saved = JSON.parse(await readFile(client.sessions, 'utf8')) as Record<string, unknown>;
      saved[b.address] = saved[a.address];
      await writeFile(client.sessions, JSON.stringify(saved), { mode: 0o600 });
      const onB = await runLpf([b.address, '-whoami'], { env: client.env });
      assert.equal(onB.code, 0, onB.stderr);
      assert.match(onB.stdout, /^ann on /);

      assert.equal((await runLpf([b.address, '-logout'], { env: client.env })).code, 0);
      const onA = await runLpf([a.address, '-list'], { env: client.env });
      assert.equal(onA.code, 6, onA.stderr);
      assert.match(onA.stderr, /has ended|LPF_ERR_SESSION/);
    } finally {
      await client.cleanup();
    }
  });

  test('five wrong passwords spread over A and B count as five', async () => {
    assert.equal((await runLpf([a.address, '-list'], { env: asUser('bea', 'bea-password', true) })).code, 0);
    for (let i = 0; i < 5; i++) {
      const wrong = await runLpf([(i % 2 ? b : a).address, '-list'], { env: asUser('bea', `wrong-${i}`) });
      assert.equal(wrong.code, 6, wrong.stderr);
      assert.match(wrong.stderr, /LPF_ERR_AUTH/);
    }
    // Each server saw only two or three: counted apart, neither would delay the next attempt.
    for (const server of [a, b]) {
      const next = await runLpf([server.address, '-list'], { env: asUser('bea', 'bea-password') });
      assert.equal(next.code, 13, next.stderr);
      assert.match(next.stderr, /LPF_ERR_THROTTLED/);
    }
  });

  test('20 concurrent sign-ups of one name through both servers: exactly one wins', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runLpf([(i % 2 ? b : a).address, '-list'], { env: asUser('popular', `pw-${i}`, true) })),
    );
    const won = results.filter((r) => r.code === 0);
    assert.equal(won.length, 1, results.map((r) => r.stderr).join(''));
    for (const r of results) if (r.code !== 0) assert.match(r.stderr, /LPF_ERR_USER_EXISTS/);
    const listed = await users(a.root, ['list', '--accounts', url]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout.split('\n').includes('popular'));
  });

  test('lpf-server users against PostgreSQL: add, passwd and remove, seen by both servers; remove ends connections on both', async () => {
    const add = await users(a.root, ['add', 'Zed', '--accounts', url], 'zed-password');
    assert.equal(add.code, 0, add.stderr);
    const viaB = await RawPeer.session(b.port, 'zed', 'zed-password', false);
    const viaA = await RawPeer.session(a.port, 'zed', 'zed-password', false);
    const client = await freshClient(b);
    try {
      assert.equal((await runLpf([b.address, '-login'], { env: { ...client.env, ...asUser('zed', 'zed-password') } })).code, 0);
      const saved = JSON.parse(await readFile(client.sessions, 'utf8')) as Record<string, { token: string }>;
      const byToken = await loginWithToken(a.port, saved[b.address]?.token as string);
      const listed = await runServerCli(['users', 'list', '--json', '--root', a.root], { env: { LPF_ACCOUNTS: url } });
      assert.deepEqual(
        (JSON.parse(listed.stdout) as { name: string; sessions: number }[]).find((u) => u.name === 'zed'),
        { name: 'zed', sessions: 1 },
      );

      const remove = await users(a.root, ['remove', 'zed', '--yes', '--accounts', url]);
      assert.equal(remove.code, 0, remove.stderr);
      assert.match(remove.stdout, /removed user "zed"; 1 session ended/);
      for (const peer of [viaA, viaB, byToken]) await assertEndedWith(peer, 'LPF_ERR_AUTH', /^your account was removed; log in again$/);
      const session = await runLpf([b.address, '-list'], { env: client.env });
      assert.equal(session.code, 6);
      assert.match(session.stderr, /has ended|LPF_ERR_SESSION/);
      const password = await runLpf([a.address, '-list'], { env: asUser('zed', 'zed-password') });
      assert.equal(password.code, 6);
      assert.match(password.stderr, /LPF_ERR_AUTH/);
    } finally {
      for (const peer of [viaA, viaB]) peer.close();
      await client.cleanup();
    }
  });

  test('a PostgreSQL restart: the command that hits it fails with LPF_ERR_SERVER (exit 10); afterwards nothing is lost', async () => {
    assert.equal((await runLpf([a.address, '-list'], { env: asUser('cas', 'cas-password', true) })).code, 0);
    const client = await freshClient(a);
    try {
      assert.equal((await runLpf([a.address, '-login'], { env: { ...client.env, ...asUser('cas', 'cas-password') } })).code, 0);
      await engine.stop();
      const down = await runLpf([a.address, '-list'], { env: client.env });
      assert.equal(down.code, 10, down.stderr);
      assert.match(down.stderr, /accounts database is unavailable.*LPF_ERR_SERVER/);
      const signUp = await runLpf([b.address, '-list'], { env: asUser('newcomer', 'newcomer-pw', true) });
      assert.equal(signUp.code, 10, signUp.stderr);
      await engine.start();
      const back = await runLpf([a.address, '-whoami'], { env: client.env });
      assert.equal(back.code, 0, `the session is kept: ${back.stderr}`);
      assert.equal((await runLpf([b.address, '-list'], { env: asUser('cas', 'cas-password') })).code, 0);
      assert.equal((await runLpf([b.address, '-list'], { env: asUser('newcomer', 'newcomer-pw', true) })).code, 0);
      for (const server of [a, b]) assert.equal(server.process.exitCode, null, 'the servers kept running');
    } finally {
      await client.cleanup();
    }
  });
});

describe('lpf-server --accounts: start-up errors name the setting', { skip }, () => {
  test('a URL that is not a postgres URL, one with a password, an unreachable database', async () => {
    const root = await mkdtemp(join(tmpdir(), 'lpf-cluster-'));
    try {
      const notUrl = await runServerCli(['--root', root, '--port', '0', '--accounts', 'not a url']);
      assert.equal(notUrl.code, 2, notUrl.stderr);
      assert.match(notUrl.stderr, /--accounts: "not a url" is not a URL.*LPF_ERR_USAGE/);
      const mysql = await runServerCli(['--root', root, '--port', '0'], { env: { LPF_ACCOUNTS: 'mysql://u@127.0.0.1/db' } });
      assert.equal(mysql.code, 2);
      assert.match(mysql.stderr, /LPF_ACCOUNTS: expected a postgres:\/\/ URL/);
      const withPassword = await runServerCli(['--root', root, '--port', '0', '--accounts', 'postgres://u:secret@127.0.0.1/db']);
      assert.equal(withPassword.code, 2);
      assert.match(withPassword.stderr, /no password in the URL; give it in PGPASSWORD or ~\/\.pgpass/);
      assert.doesNotMatch(withPassword.stderr, /secret/);
      // A closed port: nothing listens on port 1 of the loopback.
      const closed = await runServerCli(['--root', root, '--port', '0', '--accounts', 'postgres://lpf@127.0.0.1:1/lpf']);
      assert.equal(closed.code, 10, closed.stderr);
      assert.match(closed.stderr, /--accounts: cannot use the accounts database at postgres:\/\/lpf@127\.0\.0\.1:1\/lpf: .*ECONNREFUSED/);
      const usersClosed = await users(root, ['list', '--accounts', 'postgres://lpf@127.0.0.1:1/lpf']);
      assert.equal(usersClosed.code, 10, usersClosed.stderr);
      assert.match(usersClosed.stderr, /--accounts: cannot use the accounts database/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
