/** Abuse limits with their defaults or small values: throttled logins, sign-up limits, connection caps, sizes, quotas, symlinks. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROTOCOL_VERSION, type Message } from '../../src/protocol/index.js';
import { asUser, runLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';
import { storedNames } from '../helpers/stored.js';

import { RawPeer } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Pings until one is answered (bounded): the server frees a slot when it sees a close, which the test
 * cannot be told of, so it retries rather than sleeping and hoping.
 */
async function pingAnswered(server: RunningServer, when: string): Promise<void> {
  const answered = async () => (await runLpf([server.address, '-ping'])).code === 0;
  await waitFor(answered, { what: `a ping is answered ${when}` });
}

/** One login attempt on a fresh connection; resolves with the server's answer. */
async function tryLogin(port: number, user: string, password: string): Promise<Message> {
  const peer = await RawPeer.connect(port);
  try {
    peer.send({ type: 'hello', version: PROTOCOL_VERSION, agent: 'guesser' });
    await peer.next();
    peer.send({ type: 'login', user, password });
    return await peer.next();
  } finally {
    peer.close();
  }
}

const codeOf = (m: Message) => (m.type === 'error' ? m.code : m.type);

describe('login throttling', () => {
  let server: RunningServer;
  before(async () => {
    // A delay of 60 s: no slowness of the machine can outlast the window while the attempts are counted.
    // (That a window ends exactly on time is proven with a fake clock in test/unit/limits.test.ts.)
    server = await startServer({ defaultLimits: true, args: ['--login-delay', '60', '--register-limit', '100'] });
    assert.equal((await runLpf([server.address, '-list'], { env: asUser('owner', 'the-right-password', true) })).code, 0);
  });
  after(() => server.stop());

  test('20 wrong passwords in a row: only the first few are even checked, and the right one is refused during the delay', async () => {
    const replies: string[] = [];
    for (let i = 0; i < 20; i++) replies.push(codeOf(await tryLogin(server.port, 'owner', `guess-${i}`)));
    assert.deepEqual(replies, [...Array<string>(3).fill('LPF_ERR_AUTH'), ...Array<string>(17).fill('LPF_ERR_THROTTLED')]);
    // The right password during the window is refused too: the window does not depend on the password.
    assert.equal(codeOf(await tryLogin(server.port, 'owner', 'the-right-password')), 'LPF_ERR_THROTTLED');
  });

  test('an unknown user and a wrong password get identical replies, and are throttled alike', async () => {
    assert.equal((await runLpf([server.address, '-list'], { env: asUser('known', 'known-password', true) })).code, 0);
    const wrong: Message[] = [];
    const unknown: Message[] = [];
    for (let i = 0; i < 6; i++) {
      wrong.push(await tryLogin(server.port, 'known', `nope-${i}`));
      unknown.push(await tryLogin(server.port, 'stranger', `nope-${i}`));
    }
    assert.deepEqual(wrong[0], unknown[0]);
    assert.deepEqual(wrong[0], { type: 'error', code: 'LPF_ERR_AUTH', message: 'wrong user name or password' });
    assert.deepEqual(wrong.map(codeOf), unknown.map(codeOf));
  });
});

describe('login throttling, after the delay', () => {
  test('the owner gets back in once the delay has passed; attempts refused meanwhile do not lengthen it', async () => {
    const server = await startServer({ defaultLimits: true, args: ['--login-delay', '0.5'] });
    try {
      assert.equal((await runLpf([server.address, '-list'], { env: asUser('owner', 'the-right-password', true) })).code, 0);
      for (let i = 0; i < 3; i++) assert.equal(codeOf(await tryLogin(server.port, 'owner', `guess-${i}`)), 'LPF_ERR_AUTH');
      // However slow the machine, the 0.5 s window ends: polled (bounded), never waited out with a sleep.
      const replies: string[] = [];
      await waitFor(
        async () => {
          replies.push(codeOf(await tryLogin(server.port, 'owner', 'the-right-password')));
          return replies.at(-1) === 'authed';
        },
        { what: 'the owner logs in after the delay' },
      );
      assert.ok(
        replies.slice(0, -1).every((c) => c === 'LPF_ERR_THROTTLED'),
        replies.join(','),
      );
    } finally {
      await server.stop();
    }
  });
});

describe('registration limits', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ defaultLimits: true, args: ['--register-limit', '2'] });
  });
  after(() => server.stop());

  test('a short password is refused at sign-up (default minimum 8)', async () => {
    const r = await runLpf([server.address, '-list'], { env: asUser('shorty', 'short', true) });
    assert.equal(r.code, 6);
    assert.match(r.stderr, /at least 8 characters/);
  });

  test('sign-ups per address are limited', async () => {
    const codes: (number | null)[] = [];
    for (const name of ['reg1', 'reg2', 'reg3']) {
      codes.push((await runLpf([server.address, '-list'], { env: asUser(name, 'long-enough-pw', true) })).code);
    }
    // The refused short password above counted as an attempt; at most 2 in all.
    assert.ok(codes.includes(13), `codes: ${codes.join(', ')}`);
    const refused = await runLpf([server.address, '-list'], { env: asUser('reg4', 'long-enough-pw', true) });
    assert.equal(refused.code, 13);
    assert.match(refused.stderr, /LPF_ERR_THROTTLED/);
  });
});

describe('connection caps', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ defaultLimits: true, args: ['--max-per-address', '4'] });
  });
  after(() => server.stop());

  test('connections past the per-address cap get a clear refusal; freeing one lets the next in', async () => {
    const held = await Promise.all(Array.from({ length: 4 }, () => RawPeer.connect(server.port)));
    const refused = await runLpf([server.address, '-ping']);
    assert.equal(refused.code, 13, refused.stderr);
    assert.match(refused.stderr, /too many connections from your address/);
    held[0]?.close();
    await held[0]?.closed;
    await pingAnswered(server, 'once one connection is freed');
    for (const p of held) p.close();
  });
});

describe('500 connections that send nothing', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ defaultLimits: true });
  });
  after(() => server.stop());

  test('the server survives them and serves again once they are gone', async () => {
    const sockets: Socket[] = [];
    const deadline = Date.now() + 15_000;
    try {
      for (let i = 0; i < 500 && Date.now() < deadline; i++) {
        const socket = connect({ host: '127.0.0.1', port: server.port });
        socket.on('error', () => {});
        sockets.push(socket);
        if (i % 50 === 49) await sleep(10); // paces the opening; orders nothing
      }
      await sleep(500); // they are held a while: a window to survive, not an event to wait for
      assert.equal(server.process.exitCode, null, 'still running');
    } finally {
      for (const s of sockets) s.destroy();
    }
    await pingAnswered(server, 'once they are gone');
  });
});

describe('sizes and quotas', () => {
  let server: RunningServer;
  let dir: { path: string; cleanup(): Promise<void> };
  const quinn = asUser('quinn', 'quinn-password');
  before(async () => {
    server = await startServer({ args: ['--max-file-size', '8K', '--quota', '12K'] });
    dir = await tempDir();
    await runLpf([server.address, '-list'], { env: asUser('quinn', 'quinn-password', true) });
  });
  after(async () => {
    await server.stop();
    await dir.cleanup();
  });

  test('a file over --max-file-size is refused and nothing is stored', async () => {
    await writeFile(join(dir.path, 'big'), Buffer.alloc(9 * 1024));
    const r = await runLpf([server.address, '-upload', join(dir.path, 'big')], { env: quinn });
    assert.equal(r.code, 13, r.stderr);
    assert.match(r.stderr, /LPF_ERR_TOO_LARGE/);
    assert.deepEqual(await storedNames(server, 'quinn'), []);
  });

  test('the quota counts stored files, frees on delete, and allows replacing within it', async () => {
    await writeFile(join(dir.path, 'six'), Buffer.alloc(6 * 1024));
    assert.equal((await runLpf([server.address, '-upload', join(dir.path, 'six'), '--to', 'a'], { env: quinn })).code, 0);
    const over = await runLpf([server.address, '-upload', join(dir.path, 'six'), '--to', 'b'], { env: quinn });
    assert.equal(over.code, 0, 'exactly at the quota: 12 KiB');
    const full = await runLpf([server.address, '-upload', join(dir.path, 'six'), '--to', 'c'], { env: quinn });
    assert.equal(full.code, 13, full.stderr);
    assert.match(full.stderr, /LPF_ERR_QUOTA/);
    assert.equal((await runLpf([server.address, '-delete', 'b'], { env: quinn })).code, 0);
    assert.equal((await runLpf([server.address, '-upload', join(dir.path, 'six'), '--to', 'c'], { env: quinn })).code, 0);
  });
});

describe('parallel guessing', () => {
  test('wrong passwords sent in parallel are checked no more often than the free attempts allow', async () => {
    const server = await startServer({ defaultLimits: true, args: ['--login-delay', '5'] });
    try {
      assert.equal((await runLpf([server.address, '-list'], { env: asUser('victim', 'victims-password', true) })).code, 0);
      const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => tryLogin(server.port, 'victim', `parallel-${i}`)));
      const checked = replies.filter((m) => codeOf(m) === 'LPF_ERR_AUTH').length;
      assert.equal(checked, 3, replies.map(codeOf).join(','));
    } finally {
      await server.stop();
    }
  });
});

describe('private data folder', () => {
  test('the server makes its folders readable by itself only', async () => {
    const server = await startServer();
    try {
      assert.equal((await runLpf([server.address, '-list'], { env: asUser('pia', 'pias-password', true) })).code, 0);
      const { stat: statPath } = await import('node:fs/promises');
      for (const dir of ['', 'files', 'partial', 'meta']) {
        assert.equal((await statPath(join(server.root, dir))).mode & 0o077, 0, `${dir || 'root'} is private`);
      }
    } finally {
      await server.stop();
    }
  });
});
