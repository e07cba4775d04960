/** KeyedLimit: what bounds one user's share of the thread pool (opens of its files). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedLimit } from '../../src/util/keyed-limit.js';
import { settle } from '../helpers/wait-for.js';

/** A task that runs until released, recording its start. */
function gated(started: string[], name: string): { task: () => Promise<string>; release(): void } {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return {
    task: async () => {
      started.push(name);
      await done;
      return name;
    },
    release: () => release(),
  };
}

test('at most `limit` tasks of one key run at once, the rest in order; other keys are not held up', async () => {
  const limit = new KeyedLimit(2);
  const started: string[] = [];
  const tasks = ['a1', 'a2', 'a3', 'a4'].map((n) => gated(started, n));
  const other = gated(started, 'b1');
  const results = tasks.map((t) => limit.run('alice', t.task));
  const otherResult = limit.run('bob', other.task);
  await settle();
  assert.deepEqual(started, ['a1', 'a2', 'b1']);
  other.release();
  assert.equal(await otherResult, 'b1');
  tasks[1]?.release();
  assert.equal(await results[1], 'a2');
  await settle();
  assert.deepEqual(started, ['a1', 'a2', 'b1', 'a3']);
  for (const t of tasks) t.release();
  assert.deepEqual(await Promise.all(results), ['a1', 'a2', 'a3', 'a4']);
});

test('a task that fails frees its slot', async () => {
  const limit = new KeyedLimit(1);
  await assert.rejects(
    limit.run('k', () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.equal(await limit.run('k', () => Promise.resolve('next')), 'next');
});
