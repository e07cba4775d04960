/**
 * The server's command table and the rules its declarations carry (src/server/commands/): the
 * compiler checks the table is complete, runCommand runs an `ordered` command after the answers
 * owed, and reserves the quota of a command that `charges` it, released when the command fails.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SPECS, type MessageType } from '../../src/protocol/index.js';
import { AnswerQueue } from '../../src/server/answers.js';
import { defineCommand, runCommand, type CommandContext } from '../../src/server/commands/command.js';
import { COMMANDS, type CommandTable } from '../../src/server/commands/index.js';
import { QuotaKeeper } from '../../src/server/limits/quota.js';
import type { ServerContext } from '../../src/server/server-context.js';
import type { Storage } from '../../src/server/storage/storage.js';
import type { Connection } from '../../src/transport/connection.js';
import { settle } from '../helpers/wait-for.js';

/** What a client sends: every message but the server's answers. */
const REQUESTS: MessageType[] = [
  'hello',
  'ping',
  'register',
  'login',
  'session',
  'logout',
  'list',
  'delete',
  'mkdir',
  'rename',
  'copy',
  'stat',
  'upload',
  'end',
  'download',
];

/** A connection that records what is sent and how often input is held. */
function fakeConnection(): Connection & { sent: unknown[] } {
  const sent: unknown[] = [];
  return { sent, send: (m: unknown) => sent.push(m), hold: () => {}, release: () => {}, fail: () => {} } as unknown as Connection & {
    sent: unknown[];
  };
}

/** A storage holding nothing, for the quota. */
const EMPTY = { usage: () => Promise.resolve(0), keptPartialBytes: () => Promise.resolve(0) } as unknown as Storage;

function contextWith(quota: QuotaKeeper, answers = new AnswerQueue(fakeConnection())): CommandContext {
  return { server: { quota } as unknown as ServerContext, answers, user: 'alice', ended: () => false } as unknown as CommandContext;
}

describe('server command table', () => {
  test("has one handler for each request but the handshake and an upload's end, each under its own type", () => {
    const commands = REQUESTS.filter((type) => type !== 'hello' && type !== 'end');
    assert.deepEqual(Object.keys(COMMANDS).sort(), commands.sort());
    for (const [type, command] of Object.entries(COMMANDS)) {
      assert.equal(command.type, type);
      assert.ok(type in SPECS);
    }
  });

  test('is checked by the compiler for completeness', () => {
    const { download: _download, ...withoutDownload } = COMMANDS;
    // @ts-expect-error: a table without a handler for every command type does not compile.
    const incomplete: CommandTable = withoutDownload;
    assert.equal('download' in incomplete, false);
  });
});

describe('runCommand', () => {
  test('runs an ordered command only once the answers owed before it are sent', async () => {
    const answers = new AnswerQueue(fakeConnection());
    let storeAnswered!: () => void;
    void answers.owe('a.txt', () => new Promise<void>((resolve) => (storeAnswered = resolve)));
    const ran: string[] = [];
    const list = defineCommand({ type: 'list', access: 'user', ordered: true, run: () => void ran.push('list') });
    const running = runCommand(list, contextWith(new QuotaKeeper(EMPTY, 100), answers), { type: 'list' });
    await settle();
    assert.deepEqual(ran, [], 'ran before the owed answer was sent');
    storeAnswered();
    await running;
    assert.deepEqual(ran, ['list']);
  });

  test('refuses a command whose charge does not fit the quota, without running it', async () => {
    const quota = new QuotaKeeper(EMPTY, 100);
    let ran = false;
    const upload = defineCommand({
      type: 'upload',
      access: 'user',
      ordered: false,
      charges: (_ctx, m) => Promise.resolve({ size: m.size }),
      run: () => void (ran = true),
    });
    await assert.rejects(runCommand(upload, contextWith(quota), { type: 'upload', name: 'a', size: 101 }), { code: 'LPF_ERR_QUOTA' });
    assert.equal(ran, false);
  });

  test('releases the reservation of a charging command that fails', async () => {
    const quota = new QuotaKeeper(EMPTY, 100);
    const failing = defineCommand({
      type: 'upload',
      access: 'user',
      ordered: false,
      charges: (_ctx, m) => Promise.resolve({ size: m.size }),
      run: () => Promise.reject(new Error('disk on fire')),
    });
    await assert.rejects(runCommand(failing, contextWith(quota), { type: 'upload', name: 'a', size: 60 }), /disk on fire/);
    await quota.reserve('alice', 100); // would not fit had the 60 bytes stayed reserved
  });

  test('asserts that a charging command settles its reservation or keeps it', async () => {
    const forgetful = defineCommand({
      type: 'upload',
      access: 'user',
      ordered: false,
      charges: (_ctx, m) => Promise.resolve({ size: m.size }),
      run: () => {},
    });
    await assert.rejects(runCommand(forgetful, contextWith(new QuotaKeeper(EMPTY, 100)), { type: 'upload', name: 'a', size: 1 }), {
      name: 'AssertionError',
      message: /neither settled nor kept its quota reservation/,
    });
  });

  test('a reservation is settled once, whoever settles it first', async () => {
    const quota = new QuotaKeeper(EMPTY, 100);
    const reservation = await quota.reserve('alice', 60);
    await reservation.stored({ replaced: 0 });
    await reservation.release(); // too late: the 60 bytes are stored
    await assert.rejects(quota.reserve('alice', 41), { code: 'LPF_ERR_QUOTA' });
    await quota.reserve('alice', 40);
  });
});
