/** A person at a terminal: the account question, registration and login prompts, hidden passwords. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { LPF, TEST_CONFIG_HOME, runLpf, startServer, asUser, type RunningServer } from '../helpers/processes.js';
import { writeRandomFile } from '../helpers/files.js';
import { skipWithoutScript, runInPty } from '../helpers/pty.js';

describe('interactive prompts (pseudo-terminal)', { skip: skipWithoutScript() }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
    // Remember the server's certificate (a script trusts on first use) so the dialogues below start at the account question.
    assert.equal((await runLpf([server.address, '-ping'])).code, 0);
  });
  after(() => server.stop());
  // A prompted login keeps a session; each dialogue below starts as someone who has none.
  beforeEach(() => rm(join(TEST_CONFIG_HOME, 'lpf', 'sessions.json'), { force: true }));

  test('a new user answers "n", registers with the password twice, and the command runs', async () => {
    const password = 'Tr0ub4dor&3-secret';
    const r = await runInPty(
      [process.execPath, LPF, server.address, '-list'],
      [
        { expect: /Do you have an account\? \[y\/n\]/, answer: 'n' },
        { expect: /User name/, answer: 'ivy' },
        { expect: /Password:/, answer: password },
        { expect: /Password again/, answer: password },
      ],
    );
    assert.equal(r.code, 0, r.screen);
    assert.match(r.screen, /Account "ivy" created/);
    assert.ok(!r.screen.includes(password), 'the password is never shown');
    // The account really exists: a script can now log in with it.
    assert.equal((await runLpf([server.address, '-list'], { env: asUser('ivy', password) })).code, 0);
  });

  test('an existing user answers "y" and logs in', async () => {
    await runLpf([server.address, '-list'], { env: asUser('jack', 'jacks-password', true) });
    const r = await runInPty(
      [process.execPath, LPF, server.address, '-list'],
      [
        { expect: /Do you have an account\?/, answer: 'y' },
        { expect: /User name/, answer: 'jack' },
        { expect: /Password:/, answer: 'jacks-password' },
      ],
    );
    assert.equal(r.code, 0, r.screen);
    assert.ok(!r.screen.includes('jacks-password'));
  });

  // Two failures, then a success: within the server's default 3 free attempts per account, so no throttling.
  test('a wrong password is asked again, user name first (Enter keeps it), and the third try may succeed', async () => {
    await runLpf([server.address, '-list'], { env: asUser('kate', 'kates-password', true) });
    const r = await runInPty(
      [process.execPath, LPF, server.address, '-list'],
      [
        { expect: /Do you have an account\?/, answer: 'y' },
        { expect: /User name/, answer: 'kate' },
        { expect: /Password:/, answer: 'not-her-password' },
        { expect: /Login refused: wrong user name or password; please try again[\s\S]*User name: \(kate\)/, answer: '' },
        { expect: /Password:/, answer: 'still-not-it' },
        { expect: /Login refused[\s\S]*User name: \(kate\)/, answer: 'kate' },
        { expect: /Password:/, answer: 'kates-password' },
      ],
    );
    assert.equal(r.code, 0, r.screen);
    assert.equal(r.screen.match(/Login refused/g)?.length, 2, r.screen);
    assert.ok(!/not-her-password|still-not-it|kates-password/.test(r.screen), 'no password is ever shown');
    // The third try started the session, as a first-time success does.
    const who = await runLpf([server.address, '-whoami']);
    assert.equal(who.code, 0, who.stderr);
    assert.match(who.stdout, /^kate on /);
  });

  test('three wrong passwords give up with the login error and its exit status', async () => {
    await runLpf([server.address, '-list'], { env: asUser('kim', 'kims-password', true) });
    const r = await runInPty(
      [process.execPath, LPF, server.address, '-list'],
      [
        { expect: /Do you have an account\?/, answer: 'y' },
        { expect: /User name/, answer: 'kim' },
        { expect: /Password:/, answer: 'wrong-1' },
        { expect: /Login refused[\s\S]*User name/, answer: '' },
        { expect: /Password:/, answer: 'wrong-2' },
        { expect: /Login refused[\s\S]*User name/, answer: '' },
        { expect: /Password:/, answer: 'wrong-3' },
      ],
    );
    assert.equal(r.code, 6, r.screen); // LPF_ERR_AUTH
    assert.equal(r.screen.match(/Login refused/g)?.length, 2, r.screen);
    assert.match(r.screen, /lpf: error: wrong user name or password \[LPF_ERR_AUTH\]/);
  });

  test('credentials from the environment are never asked again, even at a terminal', async () => {
    await runLpf([server.address, '-list'], { env: asUser('kit', 'kits-password', true) });
    const r = await runInPty([process.execPath, LPF, server.address, '-list'], [], { env: asUser('kit', 'wrong-password') });
    assert.equal(r.code, 6, r.screen);
    assert.doesNotMatch(r.screen, /User name|Password|Login refused/);
  });

  test('mismatched passwords at registration are asked again', async () => {
    const r = await runInPty(
      [process.execPath, LPF, server.address, '-list'],
      [
        { expect: /Do you have an account\?/, answer: 'n' },
        { expect: /User name/, answer: 'liam' },
        { expect: /Password:/, answer: 'first-try' },
        { expect: /Password again/, answer: 'typo-try' },
        { expect: /did not match[\s\S]*Password:/, answer: 'second-try' },
        { expect: /Password again/, answer: 'second-try' },
      ],
    );
    assert.equal(r.code, 0, r.screen);
    assert.match(r.screen, /did not match/);
    assert.equal((await runLpf([server.address, '-list'], { env: asUser('liam', 'second-try') })).code, 0);
  });

  test('a new server shows its fingerprint and is remembered only when the person says yes', async () => {
    const config = await mkdtemp(join(tmpdir(), 'lpf-tofu-'));
    try {
      const env = { XDG_CONFIG_HOME: config };
      const refused = await runInPty([process.execPath, LPF, server.address, '-ping'], [{ expect: /Trust this server/, answer: 'n' }], {
        env,
      });
      assert.equal(refused.code, 12, refused.screen);
      assert.match(refused.screen, /SHA256:[0-9A-F:]{95}/);
      await assert.rejects(readFile(join(config, 'lpf', 'known_hosts')));

      const trusted = await runInPty([process.execPath, LPF, server.address, '-ping'], [{ expect: /Trust this server/, answer: 'y' }], {
        env,
      });
      assert.equal(trusted.code, 0, trusted.screen);
      assert.match(trusted.screen, /pong/);
      assert.match(await readFile(join(config, 'lpf', 'known_hosts'), 'utf8'), new RegExp(`^127\\.0\\.0\\.1:${server.port} SHA256:`));
      // Known now: no question the second time.
      const again = await runInPty([process.execPath, LPF, server.address, '-ping'], [], { env });
      assert.equal(again.code, 0, again.screen);
      assert.doesNotMatch(again.screen, /Trust this server/);
    } finally {
      await rm(config, { recursive: true, force: true });
    }
  });

  test('a transfer on a terminal draws a progress bar on the way, then one summary line', async () => {
    await runLpf([server.address, '-list'], { env: asUser('pat', 'pats-password', true) });
    const dir = await mkdtemp(join(tmpdir(), 'lpf-progress-'));
    try {
      const file = join(dir, 'big.bin');
      await writeRandomFile(file, 200 * 1024 * 1024);
      const r = await runInPty([process.execPath, LPF, server.address, '-upload', file], [], { env: asUser('pat', 'pats-password') });
      assert.equal(r.code, 0, r.screen);
      assert.match(r.screen, /↑ big\.bin .*\d+% \| [\d.]+ MiB \/ 200 MiB \| [\d.]+ MiB\/s \| ETA/);
      assert.match(r.screen, /uploaded big\.bin \(200 MiB\) in [\d.]+ m?s, [\d.]+ MiB\/s/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a throttled login is not asked again: it ends at once with the wait', async () => {
    // No free attempts: the first failure starts a delay, so the retry is throttled.
    const strict = await startServer({ args: ['--login-free-attempts', '0', '--login-delay', '60'] });
    try {
      assert.equal((await runLpf([strict.address, '-list'], { env: asUser('lou', 'lous-password', true) })).code, 0);
      const r = await runInPty(
        [process.execPath, LPF, strict.address, '-list'],
        [
          { expect: /Do you have an account\?/, answer: 'y' },
          { expect: /User name/, answer: 'lou' },
          { expect: /Password:/, answer: 'wrong-1' },
          { expect: /Login refused[\s\S]*User name/, answer: '' },
          { expect: /Password:/, answer: 'lous-password' },
        ],
      );
      assert.equal(r.code, 13, r.screen); // LPF_ERR_THROTTLED
      assert.match(r.screen, /lpf: error: too many failed logins; try again in \d+ s \[LPF_ERR_THROTTLED\]/);
      assert.equal(r.screen.match(/Login refused/g)?.length, 1, r.screen);
    } finally {
      await strict.stop();
    }
  });
});
