import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PART_BUDGET, PartBudget } from '../../src/server/storage/s3/part-budget.js';

test('takes what fits at once, and refuses what does not without taking anything', () => {
  const budget = new PartBudget(10);
  assert.equal(new PartBudget().limit, DEFAULT_PART_BUDGET);
  assert.equal(DEFAULT_PART_BUDGET, 64 * 1024 * 1024, 'eight parts of 8 MiB by default');
  assert.equal(budget.tryTake(6), true);
  assert.equal(budget.tryTake(5), false);
  assert.equal(budget.used, 6);
  assert.equal(budget.tryTake(4), true);
  budget.release(10);
  assert.equal(budget.used, 0);
  assert.throws(() => budget.release(1), RangeError);
  assert.throws(() => new PartBudget(0), RangeError);
});

test('waiters are granted in order as bytes come back, and a later small one never passes an earlier large one', () => {
  const budget = new PartBudget(10);
  const granted: string[] = [];
  assert.equal(budget.tryTake(8), true);
  budget.take(6, () => granted.push('large'));
  budget.take(1, () => granted.push('small'));
  assert.equal(budget.tryTake(1), false, 'room is not taken from under the waiters');
  assert.deepEqual(granted, []);
  assert.equal(budget.waiting, 2);
  budget.release(8);
  assert.deepEqual(granted, ['large', 'small']);
  assert.equal(budget.used, 7);
  assert.equal(budget.waiting, 0);
});

test('a part larger than the whole budget goes alone once nothing else is held', () => {
  const budget = new PartBudget(10);
  let granted = false;
  assert.equal(budget.tryTake(3), true);
  budget.take(25, () => (granted = true));
  assert.equal(granted, false);
  budget.release(3);
  assert.equal(granted, true);
  assert.equal(budget.used, 25);
});

test('a cancelled wait is given up and lets the one behind it in; a cancel after the grant does nothing', () => {
  const budget = new PartBudget(10);
  const granted: string[] = [];
  budget.tryTake(5);
  const cancelFirst = budget.take(8, () => granted.push('first'));
  const cancelSecond = budget.take(5, () => granted.push('second'));
  cancelFirst();
  assert.deepEqual(granted, ['second']);
  cancelSecond();
  assert.equal(budget.used, 10);
});

test('many takers sharing a budget all finish when each gives back what it took (no deadlock, never over the limit)', async () => {
  const budget = new PartBudget(4);
  let peak = 0;
  const worker = async (parts: number) => {
    for (let i = 0; i < parts; i++) {
      await budget.taken(1);
      peak = Math.max(peak, budget.used);
      await Promise.resolve();
      budget.release(1);
    }
  };
  await Promise.all(Array.from({ length: 50 }, () => worker(5)));
  assert.equal(budget.used, 0);
  assert.ok(peak <= 4, `peak ${peak}`);
});
