/**
 * `lpf-server users add|passwd|remove|list` run as separate processes on the data folder of a running
 * server, and the server honouring each change at once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAccounts } from '../../src/server/accounts/file-accounts.js';
import { LPF_SERVER, asUser, cleanEnv, collect, runLpf, startServer, type RunResult, type RunningServer } from '../helpers/processes.js';
import { skipWithoutScript, runInPty } from '../helpers/pty.js';
import { users } from '../helpers/server-cli.js';
import { RawPeer } from '../helpers/raw-client.js';
import { PROTOCOL_VERSION } from '../../src/protocol/index.js';

/** A client configuration folder of its own (its sessions.json), trusting the test server already. */
async function freshClient(server: RunningServer): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'lpf-admin-'));
  const env = { XDG_CONFIG_HOME: dir };
  assert.equal((await runLpf([server.address, '-ping'], { env })).code, 0);
  return { env, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

describe('lpf-server users, beside a running server', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop());

  test('add: the new user logs in at once; list shows it, --json too', async () => {
    const add = await users(server.root, ['add', 'Neo'], 'neo-password');
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /added user "neo"/);
    const login = await runLpf([server.address, '-list'], { env: asUser('neo', 'neo-password') });
    assert.equal(login.code, 0, login.stderr);
    const list = await users(server.root, ['list']);
    assert.equal(list.code, 0, list.stderr);
    assert.ok(list.stdout.split('\n').includes('neo'), list.stdout);
    const json = JSON.parse((await users(server.root, ['list', '--json'])).stdout) as { name: string; sessions: number }[];
    assert.deepEqual(
      json.find((u) => u.name === 'neo'),
      { name: 'neo', sessions: 0 },
    );
    assert.equal((await stat(join(server.root, 'users.txt'))).mode & 0o777, 0o600);
  });

  test('passwd: the old password and the old session are refused, the new password works', async () => {
    assert.equal((await users(server.root, ['add', 'trinity'], 'old-password')).code, 0);
    const client = await freshClient(server);
    try {
      assert.equal((await runLpf([server.address, '-login'], { env: { ...client.env, ...asUser('trinity', 'old-password') } })).code, 0);
      assert.equal((await runLpf([server.address, '-list'], { env: client.env })).code, 0, 'the session works before');
      const saved = JSON.parse(await readFile(join(client.env.XDG_CONFIG_HOME as string, 'lpf', 'sessions.json'), 'utf8')) as Record<
        string,
        { token: string }
      >;
      const token = Object.values(saved)[0]?.token as string;
      assert.ok(token);

      const passwd = await users(server.root, ['passwd', 'trinity'], 'new-password');
      assert.equal(passwd.code, 0, passwd.stderr);
      assert.match(passwd.stdout, /1 session ended/);

      const old = await runLpf([server.address, '-list'], { env: asUser('trinity', 'old-password') });
      assert.equal(old.code, 6);
      assert.match(old.stderr, /LPF_ERR_AUTH/);
      const session = await runLpf([server.address, '-list'], { env: client.env });
      assert.equal(session.code, 6, session.stderr);
      assert.match(session.stderr, /LPF_ERR_SESSION/);
      assert.equal((await runLpf([server.address, '-list'], { env: asUser('trinity', 'new-password') })).code, 0);

      // The log names connection, user and command, and never a password or a token.
      const log = JSON.stringify(server.logs);
      for (const secret of ['old-password', 'new-password', token]) assert.ok(!log.includes(secret), `the log holds ${secret}`);
      const login = server.logs.find((l) => l.msg === 'logged in' && l.user === 'trinity');
      assert.ok(login && typeof login.conn === 'number' && login.command === 'login', JSON.stringify(login));
    } finally {
      await client.cleanup();
    }
  });

  test('remove: login and session refused, files gone; the server writing sessions.txt later does not bring them back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lpf-admin-files-'));
    const [morpheus, other] = [await freshClient(server), await freshClient(server)];
    try {
      const file = join(dir, 'plan.txt');
      await writeFile(file, 'the plan');
      assert.equal((await runLpf([server.address, '-upload', file], { env: asUser('morpheus', 'morpheus-pw', true) })).code, 0);
      assert.equal((await runLpf([server.address, '-login'], { env: { ...morpheus.env, ...asUser('morpheus', 'morpheus-pw') } })).code, 0);
      assert.ok(await exists(join(server.root, 'files', 'morpheus', 'plan.txt')));

      const removed = await users(server.root, ['remove', 'morpheus', '--yes']);
      assert.equal(removed.code, 0, removed.stderr);
      assert.match(removed.stdout, /removed user "morpheus"; 1 session ended; 1 file deleted/);

      // Another login makes the server rewrite sessions.txt: it must not restore the removed session.
      assert.equal((await runLpf([server.address, '-login'], { env: { ...other.env, ...asUser('neo', 'neo-password') } })).code, 0);
      assert.doesNotMatch(await readFile(join(server.root, 'sessions.txt'), 'utf8'), / morpheus /);

      const login = await runLpf([server.address, '-list'], { env: asUser('morpheus', 'morpheus-pw') });
      assert.equal(login.code, 6);
      assert.match(login.stderr, /LPF_ERR_AUTH/);
      const session = await runLpf([server.address, '-list'], { env: morpheus.env });
      assert.equal(session.code, 6);
      assert.match(session.stderr, /LPF_ERR_SESSION/);
      for (const area of ['files', 'meta', 'partial']) assert.equal(await exists(join(server.root, area, 'morpheus')), false, area);
      assert.ok(!(await users(server.root, ['list'])).stdout.split('\n').includes('morpheus'));
    } finally {
      await Promise.all([morpheus.cleanup(), other.cleanup(), rm(dir, { recursive: true, force: true })]);
    }
  });

  test('remove --keep-files keeps them and warns', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lpf-admin-files-'));
    try {
      await writeFile(join(dir, 'keep.txt'), 'kept');
      assert.equal((await runLpf([server.address, '-upload', join(dir, 'keep.txt')], { env: asUser('tank', 'tank-pw', true) })).code, 0);
      const r = await users(server.root, ['remove', 'tank', '--yes', '--keep-files']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /warning: .*a new account named "tank" would see them/);
      assert.equal(await readFile(join(server.root, 'files', 'tank', 'keep.txt'), 'utf8'), 'kept');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('clear errors and exit statuses', async () => {
    const cases: [string[], string | undefined, number, RegExp][] = [
      [['add', 'neo'], 'another-password', 6, /the user "neo" already exists \[LPF_ERR_USER_EXISTS\]/],
      [['remove', 'nobody', '--yes'], undefined, 6, /there is no user "nobody" \[LPF_ERR_NO_SUCH_USER\]/],
      [['passwd', 'nobody'], 'some-password', 6, /LPF_ERR_NO_SUCH_USER/],
      [['add', '../etc'], 'some-password', 6, /LPF_ERR_BAD_USERNAME/],
      [['add', 'shorty'], 'short', 6, /at least 8 characters .*\[LPF_ERR_BAD_PASSWORD\]/],
      [['add', 'nopass'], undefined, 6, /--password-stdin .*\[LPF_ERR_NO_CREDENTIALS\]/],
      [['remove', 'neo'], undefined, 2, /add --yes \[LPF_ERR_USAGE\]/],
      [['frobnicate'], undefined, 2, /unknown users command/],
      [['list', '--yes'], undefined, 2, /--yes does not go with lpf-server users list/],
    ];
    for (const [args, password, code, message] of cases) {
      const r = await users(server.root, args, password);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.equal((await runLpf([server.address, '-list'], { env: asUser('neo', 'neo-password') })).code, 0, 'neo is untouched');
  });

  test('registrations over the wire and users add at the same time lose nothing', async () => {
    const n = 8;
    const wire = Array.from({ length: n }, (_, i) => runLpf([server.address, '-list'], { env: asUser(`wire${i}`, `wire-pw-${i}`, true) }));
    const cli = Array.from({ length: n }, (_, i) => users(server.root, ['add', `cli${i}`], `cli-pw-${i}`));
    const results = await Promise.all([...wire, ...cli]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const names = [...parseAccounts(await readFile(join(server.root, 'users.txt'), 'utf8')).keys()];
    for (let i = 0; i < n; i++) {
      assert.ok(names.includes(`wire${i}`), `wire${i} lost`);
      assert.ok(names.includes(`cli${i}`), `cli${i} lost`);
    }
    assert.equal(await exists(join(server.root, 'users.txt.lock')), false, 'no lock left behind');
    // The server sees them all: one of each kind logs in.
    assert.equal((await runLpf([server.address, '-list'], { env: asUser(`cli${n - 1}`, `cli-pw-${n - 1}`) })).code, 0);
    assert.equal((await runLpf([server.address, '-list'], { env: asUser('wire0', 'wire-pw-0') })).code, 0);
  });
});

/** A raw connection logged in with the password, asking for a session token too; resolves with the peer and the token. */
async function loginWithSession(port: number, user: string, password: string): Promise<{ peer: RawPeer; token: string }> {
  const peer = await RawPeer.connect(port);
  peer.send({ type: 'hello', version: PROTOCOL_VERSION, agent: 'raw-test' });
  await peer.next();
  peer.send({ type: 'login', user, password, session: true });
  const authed = await peer.next();
  assert.ok(authed.type === 'authed' && authed.token, JSON.stringify(authed));
  return { peer, token: authed.token };
}

async function loginWithToken(port: number, token: string): Promise<RawPeer> {
  const peer = await RawPeer.connect(port);
  peer.send({ type: 'hello', version: PROTOCOL_VERSION, agent: 'raw-test' });
  await peer.next();
  peer.send({ type: 'session', token });
  assert.equal((await peer.next()).type, 'authed');
  return peer;
}

/** The connection still serves: a ping is answered. */
async function assertAlive(peer: RawPeer, nonce: number): Promise<void> {
  peer.send({ type: 'ping', nonce });
  assert.deepEqual(await peer.next(), { type: 'pong', nonce });
}

/** The server ended the connection with this error (RawPeer.next waits at most 20 s). */
async function assertEndedWith(peer: RawPeer, code: string, message: RegExp): Promise<void> {
  const error = await peer.next();
  assert.ok(error.type === 'error' && error.code === code && message.test(error.message), JSON.stringify(error));
  await assert.rejects(peer.next(), /connection closed/);
}

describe('live connections of an account changed by lpf-server users', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop());

  test("passwd and remove end the account's live connections at once with a clear error; others go on", async () => {
    const byPassword = await RawPeer.session(server.port, 'smith', 'smith-old-pw', true);
    const { peer: withSession, token } = await loginWithSession(server.port, 'smith', 'smith-old-pw');
    const byToken = await loginWithToken(server.port, token);
    const jones = await RawPeer.session(server.port, 'jones', 'jones-pw', true);
    try {
      assert.equal((await users(server.root, ['passwd', 'smith'], 'smith-new-pw')).code, 0);
      for (const peer of [byPassword, withSession, byToken]) {
        await assertEndedWith(peer, 'LPF_ERR_AUTH', /^the password of your account was changed; log in again$/);
      }
      await assertAlive(jones, 1);

      // A login with the new password is not ended by that change; a removal ends it.
      const again = await RawPeer.session(server.port, 'smith', 'smith-new-pw', false);
      await assertAlive(again, 2);
      assert.equal((await users(server.root, ['remove', 'smith', '--yes'])).code, 0);
      await assertEndedWith(again, 'LPF_ERR_AUTH', /^your account was removed; log in again$/);
      await assertAlive(jones, 3);
    } finally {
      for (const peer of [byPassword, withSession, byToken, jones]) peer.close();
    }
  });

  test('a session ended by hand in sessions.txt ends the connections that use it', async () => {
    assert.equal((await users(server.root, ['add', 'kim'], 'kim-password')).code, 0);
    const { peer: withSession, token } = await loginWithSession(server.port, 'kim', 'kim-password');
    const byToken = await loginWithToken(server.port, token);
    const other = await loginWithSession(server.port, 'kim', 'kim-password');
    try {
      const path = join(server.root, 'sessions.txt');
      const hash = createHash('sha256').update(token).digest('hex');
      const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => !l.startsWith(`${hash} `));
      // Replaced whole, as a careful admin would (a file rewritten in place is acted upon once settled: test/unit/login-watch.test.ts).
      await writeFile(`${path}.edited`, lines.join('\n'));
      await rename(`${path}.edited`, path);
      for (const peer of [withSession, byToken])
        await assertEndedWith(peer, 'LPF_ERR_SESSION', /your session was ended on the server; log in again/);
      await assertAlive(other.peer, 4);
    } finally {
      for (const peer of [withSession, byToken, other.peer]) peer.close();
    }
  });
});

describe('a damaged accounts file', () => {
  test('a line cut in half keeps its name taken, a repeated name logs in with neither line; both are logged and listed', async () => {
    const root = await mkdtemp(join(tmpdir(), 'lpf-damaged-'));
    const dir = await mkdtemp(join(tmpdir(), 'lpf-damaged-files-'));
    const accountsPath = join(root, 'users.txt');
    let server = await startServer({ root });
    try {
      await writeFile(join(dir, 'diary.txt'), 'dear diary');
      assert.equal(
        (await runLpf([server.address, '-upload', join(dir, 'diary.txt')], { env: asUser('alice', 'alice-password', true) })).code,
        0,
      );
      for (const [user, password] of [
        ['bob', 'bob-first-pw'],
        ['other', 'bob-second-pw'],
        ['carol', 'carol-password'],
      ]) {
        assert.equal((await runLpf([server.address, '-list'], { env: asUser(user as string, password as string, true) })).code, 0);
      }
      await server.stop();

      // alice's line cut in half; a second line for bob (another account's line renamed, as a hand edit would).
      const lines = (await readFile(accountsPath, 'utf8')).split('\n');
      const lineOf = (user: string) => lines.findIndex((l) => l.startsWith(`${user}:`));
      const [alice, other] = [lineOf('alice'), lineOf('other')];
      lines[alice] = (lines[alice] as string).slice(0, (lines[alice] as string).length / 2);
      lines[other] = (lines[other] as string).replace(/^other:/, 'bob:');
      await writeFile(accountsPath, lines.join('\n'));

      server = await startServer({ root });
      const warned = (line: number) => server.logs.find((l) => l.level === 40 && l.line === line && l.file === accountsPath);
      assert.match(String(warned(alice + 1)?.msg), /not a valid account line \(user "alice"\)/, JSON.stringify(server.logs));
      assert.match(String(warned(other + 1)?.msg), new RegExp(`repeats the user "bob" of line ${lineOf('bob') + 1}`));

      const newcomer = await runLpf([server.address, '-list'], { env: asUser('alice', 'newcomer-password', true) });
      assert.equal(newcomer.code, 6, newcomer.stderr);
      assert.match(newcomer.stderr, /LPF_ERR_USER_EXISTS/);
      for (const password of ['bob-first-pw', 'bob-second-pw']) {
        const bob = await runLpf([server.address, '-list'], { env: asUser('bob', password) });
        assert.equal(bob.code, 6, `bob with ${password} must not log in: ${bob.stderr}`);
      }
      const list = await users(root, ['list']);
      assert.equal(list.code, 0, list.stderr);
      assert.deepEqual(list.stdout.split('\n').filter(Boolean).sort(), ['carol']);
      assert.match(list.stderr, new RegExp(`line ${alice + 1} of users.txt is not a valid account line \\(user "alice"\\)`));
      assert.match(list.stderr, new RegExp(`line ${other + 1} of users.txt repeats the user "bob"`));

      // Damaged while the server runs: reported when the server reloads the file (before the next login).
      const edited = (await readFile(accountsPath, 'utf8')).replace(/^carol:scrypt:/m, 'carol:bcrypt:');
      await writeFile(accountsPath, edited);
      assert.equal((await runLpf([server.address, '-list'], { env: asUser('carol', 'carol-password') })).code, 6);
      assert.ok(
        server.logs.some((l) => l.level === 40 && l.user === 'carol' && l.problem === 'damaged'),
        'the reload is logged',
      );

      // The admin repairs alice's account: she gets her files back.
      assert.equal((await users(root, ['passwd', 'alice'], 'alice-new-password')).code, 0);
      const back = await runLpf([server.address, '-list'], { env: asUser('alice', 'alice-new-password') });
      assert.equal(back.code, 0, back.stderr);
      assert.match(back.stdout, /diary\.txt/);
    } finally {
      await server.stop();
      await Promise.all([rm(root, { recursive: true, force: true }), rm(dir, { recursive: true, force: true })]);
    }
  });
});

/**
 * `lpf-server users add` with a file size limit (ulimit -f, in blocks of 512 bytes), the nearest thing to a
 * full disk an unprivileged test can make: writes to regular files fail (EFBIG) past the limit.
 */
function usersAddOnFullDisk(root: string, user: string, blocks: number): Promise<RunResult> {
  const child = spawn(
    'sh',
    ['-c', `ulimit -f ${blocks}; exec "$0" "$@"`, process.execPath, LPF_SERVER, 'users', 'add', user, '--root', root, '--password-stdin'],
    {
      env: cleanEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  child.stdin.end('a-long-enough-password\n');
  return collect(child, 30_000);
}

describe('lpf-server users on a full disk', () => {
  test('a failed write leaves no temporary or lock file in the root, and users.txt as it was', async () => {
    const root = await mkdtemp(join(tmpdir(), 'lpf-full-'));
    try {
      assert.equal((await users(root, ['add', 'first'], 'first-password')).code, 0);
      // Longer than one 512-byte block: the lock file (~100 bytes) can be written, the new users.txt cannot.
      await appendFile(join(root, 'users.txt'), `# ${'padding '.repeat(100)}\n`);
      const before = await readFile(join(root, 'users.txt'), 'utf8');
      for (const blocks of [0, 1]) {
        const r = await usersAddOnFullDisk(root, `second${blocks}`, blocks);
        assert.notEqual(r.code, 0, `ulimit -f ${blocks}: ${r.stderr}`);
        assert.match(r.stderr, /EFBIG/);
        assert.deepEqual((await readdir(root)).sort(), ['users.txt'], `ulimit -f ${blocks}: nothing left behind`);
        assert.equal(await readFile(join(root, 'users.txt'), 'utf8'), before);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('lpf-server users at a terminal', { skip: skipWithoutScript() }, () => {
  test('add asks for the password twice (masked); remove asks for confirmation', async () => {
    const root = await mkdtemp(join(tmpdir(), 'lpf-admin-pty-'));
    try {
      const add = await runInPty(
        [process.execPath, LPF_SERVER, 'users', 'add', 'oracle', '--root', root],
        [
          { expect: /New password:/, answer: 'cookies-and-tea' },
          { expect: /New password again:/, answer: 'cookies-and-tea' },
        ],
      );
      assert.equal(add.code, 0, add.screen);
      assert.doesNotMatch(add.screen, /cookies-and-tea/, 'the password is not echoed');
      assert.match(add.screen, /added user "oracle"/);
      const remove = await runInPty(
        [process.execPath, LPF_SERVER, 'users', 'remove', 'oracle', '--root', root],
        [{ expect: /Remove the user "oracle"/, answer: 'y' }],
      );
      assert.equal(remove.code, 0, remove.screen);
      assert.equal(parseAccounts(await readFile(join(root, 'users.txt'), 'utf8')).size, 0);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
