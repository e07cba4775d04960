/**
 * The check behind ending live connections: which versions of users.txt and sessions.txt it acts upon.
 * The clock is set from the files' own modification times, so no step depends on how fast the machine is.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileAccounts } from '../../src/server/accounts/file-accounts.js';
import { SETTLE_MS, loginCheck, type LiveLogin } from '../../src/server/accounts/login-watch.js';
import { LoginSessions } from '../../src/server/accounts/login-sessions.js';
import type { Logger } from '../../src/server/logger.js';
import { tempDir } from '../helpers/processes.js';

const FAST = { N: 1024, r: 8, p: 1 };
const quiet = { warn() {} } as unknown as Logger;

/** A live connection that records what it is told. */
function liveLogin(events: string[], token?: string): LiveLogin {
  return {
    accountChanged: (user, removed) => void events.push(`${user} ${removed ? 'removed' : 'changed'}`),
    checkSession: (isLive) => void (token !== undefined && !isLive(token) && events.push('session ended')),
  };
}

test('a file rewritten in place is acted upon only once left alone for SETTLE_MS; a replaced one at once', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, 'users.txt');
    const accounts = new FileAccounts(path, FAST);
    for (const user of ['alice', 'bob', 'carol']) await accounts.register(user, `${user}-pw`);
    const sessions = new LoginSessions(join(dir.path, 'sessions.txt'), 60_000, Date.now);
    await sessions.load();
    let now = 0;
    const events: string[] = [];
    const check = loginCheck(
      accounts,
      sessions,
      () => [liveLogin(events)],
      quiet,
      () => now,
    );
    const original = await readFile(path, 'utf8');
    /** Writes in place (same inode) and sets the clock `age` ms after the write. */
    const writeInPlace = async (text: string, age: number) => {
      await writeFile(path, text);
      now = (await stat(path)).mtimeMs + age;
    };

    // An editor caught halfway: the file is empty for a moment, then whole again. Nobody is ended.
    await writeInPlace('', 0);
    await check();
    await writeInPlace(original, 0);
    await check();
    now += SETTLE_MS;
    await check();
    assert.deepEqual(events, []);

    // A real edit in place (bob's line removed) counts once it has settled.
    await writeInPlace(
      original
        .split('\n')
        .filter((l) => !l.startsWith('bob:'))
        .join('\n'),
      SETTLE_MS - 1,
    );
    await check();
    assert.deepEqual(events, []);
    now += 1;
    await check();
    assert.deepEqual(events, ['bob removed']);

    // A replacement (a new inode, as lpf-server users writes) counts at once, however fresh.
    const replaced = (await readFile(path, 'utf8')).replace(/^carol:.*$/m, 'carol:scrypt:N=1024,r=8,p=1:YWJj:ZGVm');
    await writeFile(`${path}.new`, replaced);
    await rename(`${path}.new`, path);
    now = (await stat(path)).mtimeMs;
    await check();
    assert.deepEqual(events, ['bob removed', 'carol changed']);
  } finally {
    await dir.cleanup();
  }
});

test('a session ended in sessions.txt ends the connections that use it, and only those', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, 'sessions.txt');
    const accounts = new FileAccounts(join(dir.path, 'users.txt'), FAST);
    const sessions = new LoginSessions(path, 60_000, Date.now);
    await sessions.load();
    const ended = await sessions.create('alice');
    const kept = await sessions.create('alice');
    const first: string[] = [];
    const second: string[] = [];
    const check = loginCheck(accounts, sessions, () => [liveLogin(first, ended.token), liveLogin(second, kept.token)], quiet, Date.now);
    const hash = createHash('sha256').update(ended.token).digest('hex');
    const lines = (await readFile(path, 'utf8')).split('\n');
    await writeFile(`${path}.new`, lines.filter((l) => !l.startsWith(`${hash} `)).join('\n'));
    await rename(`${path}.new`, path);
    await check();
    assert.deepEqual([first, second], [['session ended'], []]);
  } finally {
    await dir.cleanup();
  }
});
