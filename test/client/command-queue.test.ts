/** The ordering pieces behind pipelined small uploads: the client's command queue and the server's grouped flushes. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CommandQueue } from '../../src/client/command-queue.js';
import { FlushGroups } from '../../src/util/flush-groups.js';

/** Lets every pending promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

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
    assert.deepEqual(order, Array.from({ length: 50 }, (_, i) => i));
  });
});

describe('FlushGroups', () => {
  /** A flush that finishes only when told to, counting how many started. */
  function controlledFlush() {
    const pending: (() => void)[] = [];
    let started = 0;
    return {
      flush: (_key: string) => {
        started++;
        return new Promise<void>((resolve) => pending.push(resolve));
      },
      finishOne: () => pending.shift()?.(),
      get started() {
        return started;
      },
    };
  }

  test('requests made while a flush runs share one next flush, which starts after it', async () => {
    const f = controlledFlush();
    const groups = new FlushGroups(f.flush);
    const resolved: string[] = [];
    void groups.request('d').then(() => resolved.push('a'));
    const later = ['b', 'c', 'd', 'e'];
    for (const name of later) void groups.request('d').then(() => resolved.push(name));
    await settle();
    assert.equal(f.started, 1, 'the later requests wait instead of starting flushes of their own');
    f.finishOne();
    await settle();
    assert.deepEqual(resolved, ['a'], 'the first flush may have begun before the later changes: it does not answer them');
    assert.equal(f.started, 2);
    f.finishOne();
    await settle();
    assert.deepEqual(resolved, ['a', ...later]);
    assert.equal(f.started, 2, 'five requests, two flushes');
  });

  test('keys are independent, and a failed flush fails only the requests it answers', async () => {
    let calls = 0;
    const groups = new FlushGroups(async (key) => {
      calls++;
      if (key === 'bad' && calls === 1) throw new Error('EIO');
    });
    await assert.rejects(groups.request('bad'), /EIO/);
    await groups.request('bad');
    await Promise.all([groups.request('x'), groups.request('y')]);
    assert.equal(calls, 4);
  });

  test('a request after every flush is over starts a new flush at once', async () => {
    const f = controlledFlush();
    const groups = new FlushGroups(f.flush);
    const first = groups.request('d');
    f.finishOne();
    await first;
    const second = groups.request('d');
    assert.equal(f.started, 2);
    f.finishOne();
    await second;
  });
});
