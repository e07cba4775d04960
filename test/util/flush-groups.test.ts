/** The ordering behind pipelined small uploads, on the server's side: grouped flushes (the client's command queue: test/client/command-queue.test.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FlushGroups } from '../../src/util/flush-groups.js';
import { settle } from '../helpers/wait-for.js';

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
    const groups = new FlushGroups((key) => {
      calls++;
      return key === 'bad' && calls === 1 ? Promise.reject(new Error('EIO')) : Promise.resolve();
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
