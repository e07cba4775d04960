/** Login sessions: log in once, run commands without being asked, log out; revoked and expired tokens. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LPF, asUser, runLpf, startServer, type RunningServer } from '../helpers/processes.js';
import { skipWithoutScript, runInPty } from '../helpers/pty.js';

/** A client configuration folder of its own, trusting the test server already. */
async function freshClient(server: RunningServer): Promise<{ env: Record<string, string>; sessions: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'lpf-sessions-'));
  const env = { XDG_CONFIG_HOME: dir };
  assert.equal((await runLpf([server.address, '-ping'], { env })).code, 0);
  return { env, sessions: join(dir, 'lpf', 'sessions.json'), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

describe('sessions', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
    await runLpf([server.address, '-list'], { env: asUser('sid', 'sids-password', true) });
  });
  after(() => server.stop());

  test('log in once, run three commands with no credentials, log out, then the next command needs them again', async () => {
    const client = await freshClient(server);
    try {
      const login = await runLpf([server.address, '-login'], { env: { ...client.env, ...asUser('sid', 'sids-password') } });
      assert.equal(login.code, 0, login.stderr);
      assert.match(login.stdout, /Logged in to 127\.0\.0\.1:\d+ as sid/);
      assert.equal((await stat(client.sessions)).mode & 0o777, 0o600);

      for (const args of [['-list'], ['-whoami'], ['-list', '--long']]) {
        const r = await runLpf([server.address, ...args], { env: client.env });
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      }
      assert.match((await runLpf([server.address, '-whoami'], { env: client.env })).stdout, /^sid on 127\.0\.0\.1:\d+/);
      // The server keeps only a hash of the token.
      const token = Object.values(JSON.parse(await readFile(client.sessions, 'utf8')) as Record<string, { token: string }>)[0]?.token;
      assert.ok(token && token.length >= 40);
      assert.ok(!(await readFile(join(server.root, 'sessions.txt'), 'utf8')).includes(token));

      const logout = await runLpf([server.address, '-logout'], { env: client.env });
      assert.equal(logout.code, 0, logout.stderr);
      const after = await runLpf([server.address, '-list'], { env: client.env });
      assert.equal(after.code, 6);
      assert.match(after.stderr, /LPF_ERR_NO_CREDENTIALS/);
      assert.equal((await runLpf([server.address, '-whoami'], { env: client.env })).code, 6);
    } finally {
      await client.cleanup();
    }
  });

  test('a revoked token is refused and forgotten', async () => {
    const client = await freshClient(server);
    try {
      await runLpf([server.address, '-login'], { env: { ...client.env, ...asUser('sid', 'sids-password') } });
      const saved = await readFile(client.sessions, 'utf8');
      assert.equal((await runLpf([server.address, '-logout'], { env: client.env })).code, 0);
      await writeFile(client.sessions, saved, { mode: 0o600 }); // as if the logout had not reached this file
      const r = await runLpf([server.address, '-list'], { env: client.env });
      assert.equal(r.code, 6, r.stderr);
      assert.match(r.stderr, /LPF_ERR_SESSION/);
      assert.match(r.stderr, /-login/);
      assert.deepEqual(JSON.parse(await readFile(client.sessions, 'utf8')), {});
    } finally {
      await client.cleanup();
    }
  });
});

describe('session expiry', () => {
  test('an expired token is refused', async () => {
    const server = await startServer({ args: ['--session-ttl', '1'] });
    const client = await freshClient(server);
    try {
      await runLpf([server.address, '-list'], { env: asUser('eve', 'eves-password', true) });
      assert.equal((await runLpf([server.address, '-login'], { env: { ...client.env, ...asUser('eve', 'eves-password') } })).code, 0);
      // Past the real 1 s TTL the server enforces (a separate process: no fake clock reaches it); not ordering.
      await sleep(1200);
      const r = await runLpf([server.address, '-list'], { env: client.env });
      assert.equal(r.code, 6, r.stderr);
    } finally {
      await client.cleanup();
      await server.stop();
    }
  });
});

describe('sessions at a terminal', { skip: skipWithoutScript() }, () => {
  test('asked once, then not again until -logout', async () => {
    const server = await startServer();
    const client = await freshClient(server);
    try {
      await runLpf([server.address, '-list'], { env: asUser('tess', 'tess-password', true) });
      const first = await runInPty(
        [process.execPath, LPF, server.address, '-list'],
        [
          { expect: /Do you have an account\?/, answer: 'y' },
          { expect: /User name/, answer: 'tess' },
          { expect: /Password:/, answer: 'tess-password' },
        ],
        { env: client.env },
      );
      assert.equal(first.code, 0, first.screen);
      for (let i = 0; i < 3; i++) {
        const again = await runInPty([process.execPath, LPF, server.address, '-list'], [], { env: client.env });
        assert.equal(again.code, 0, again.screen);
        assert.doesNotMatch(again.screen, /Do you have an account/);
      }
      assert.equal((await runInPty([process.execPath, LPF, server.address, '-logout'], [], { env: client.env })).code, 0);
      const asked = await runInPty(
        [process.execPath, LPF, server.address, '-list'],
        [
          { expect: /Do you have an account\?/, answer: 'y' },
          { expect: /User name/, answer: 'tess' },
          { expect: /Password:/, answer: 'tess-password' },
        ],
        { env: client.env },
      );
      assert.equal(asked.code, 0, asked.screen);
      assert.match(asked.screen, /Do you have an account/);
    } finally {
      await client.cleanup();
      await server.stop();
    }
  });
});
