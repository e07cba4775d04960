/** The ordering behind pipelined small uploads, on the client's side: its command queue (the server's grouped flushes: test/util/flush-groups.test.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CommandQueue } from '../../src/client/command-queue.js';
import { settle } from '../helpers/wait-for.js';

describe('CommandQueue', () => {
  test('a pipelined command may send once the earlier ones have sent, and reads only after they are done', async () => {
    const queue = new CommandQueue();
    const log: string[] = [];
    const first = queue.take();
    const second = queue.take();
    void second.earlierSent.then(() => log.push('second may send'));
    void second.earlierDone.then(() => log.push('second may read'));
    await settle();
    assert.deepEqual(log, []);
    first.sent();
    await settle();
    assert.deepEqual(log, ['second may send']);
    first.finish();
    await settle();
    assert.deepEqual(log, ['second may send', 'second may read']);
  });

  test('a command that ends early lets no later one skip past the commands before it', async () => {
    const queue = new CommandQueue();
    const log: string[] = [];
    const first = queue.take();
    const failing = queue.take();
    const third = queue.take();
    void third.earlierSent.then(() => log.push('third may send'));
    void third.earlierDone.then(() => log.push('third may read'));
    failing.finish(); // e.g. a bad name, thrown before it sent anything
    await settle();
    assert.deepEqual(log, []);
    first.finish();
    await settle();
    assert.deepEqual(log, ['third may send', 'third may read']);
  });

  test('turns follow the order they were taken in, over many commands', async () => {
    const queue = new CommandQueue();
    const order: number[] = [];
    const turns = Array.from({ length: 50 }, () => queue.take());
    const runs = turns.map(async (turn, i) => {
      await turn.earlierDone;
      order.push(i);
      // Finish in a later tick for odd turns, at once for even ones.
      if (i % 2) await settle();
      turn.finish();
    });
    await Promise.all(runs);
    assert.deepEqual(
      order,
      Array.from({ length: 50 }, (_, i) => i),
    );
  });
});
