/** The pure limit modules, driven by a fake clock: no test here waits for real time to pass. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseBytes, parseCount, parseSeconds } from '../../src/cli/args.js';
import type { Clock } from '../../src/server/limits/clock.js';
import { ConnectionLimiter } from '../../src/server/limits/connection-limiter.js';
import { LoginThrottle, type ThrottleOptions } from '../../src/server/limits/login-throttle.js';
import { QuotaKeeper } from '../../src/server/limits/quota.js';
import { RateWindow } from '../../src/server/limits/rate-window.js';
import type { Storage } from '../../src/server/storage/storage.js';

/** A clock that moves only when told to. */
function fakeClock(start = 1_000_000): { clock: Clock; advance: (ms: number) => void } {
  let now = start;
  return {
    clock: () => now,
    advance: (ms) => {
      now += ms;
    },
  };
}

const THROTTLE: ThrottleOptions = { freeAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 };

describe('LoginThrottle', () => {
  test('the free attempts cost nothing; the failure that uses up the last one starts the first delay', () => {
    const { clock } = fakeClock();
    const throttle = new LoginThrottle(THROTTLE, clock);
    assert.equal(throttle.waitFor(['user:a']), 0);
    throttle.failed(['user:a']);
    throttle.failed(['user:a']);
    assert.equal(throttle.waitFor(['user:a']), 0, 'two failures: a third attempt is still checked at once');
    throttle.failed(['user:a']);
    assert.equal(throttle.waitFor(['user:a']), 1000);
  });

  test('each further failure doubles the delay, up to the maximum', () => {
    const { clock, advance } = fakeClock();
    const throttle = new LoginThrottle(THROTTLE, clock);
    for (let i = 0; i < 3; i++) throttle.failed(['user:a']);
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      const wait = throttle.waitFor(['user:a']);
      delays.push(wait);
      advance(wait); // a patient guesser tries again the moment the window ends
      assert.equal(throttle.waitFor(['user:a']), 0);
      throttle.failed(['user:a']);
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  test('the wait shrinks as time passes and ends exactly when the window does', () => {
    const { clock, advance } = fakeClock();
    const throttle = new LoginThrottle(THROTTLE, clock);
    for (let i = 0; i < 4; i++) throttle.failed(['user:a']);
    assert.equal(throttle.waitFor(['user:a']), 2000);
    advance(1500);
    assert.equal(throttle.waitFor(['user:a']), 500);
    advance(500);
    assert.equal(throttle.waitFor(['user:a']), 0);
  });

  test('the owner gets back in once the window ends: attempts in it do not count, and success clears the record', async () => {
    const { clock, advance } = fakeClock();
    const throttle = new LoginThrottle(THROTTLE, clock);
    for (let i = 0; i < 3; i++) throttle.failed(['user:owner']);
    // However many attempts come meanwhile, only failures of checked attempts count (the session refuses the others unchecked).
    advance(THROTTLE.baseDelayMs - 1);
    assert.equal(throttle.waitFor(['user:owner']), 1);
    advance(1);
    assert.equal(throttle.waitFor(['user:owner']), 0);
    await throttle.enter('user:owner'); // admitted at once: nothing else is in flight
    throttle.succeeded('user:owner');
    throttle.leave('user:owner');
    throttle.failed(['user:owner']);
    assert.equal(throttle.waitFor(['user:owner']), 0, 'a fresh record: the free attempts are back');
  });

  test('a huge number of failures stays at the maximum delay (no overflow)', () => {
    const { clock } = fakeClock();
    const throttle = new LoginThrottle({ freeAttempts: 0, baseDelayMs: 1, maxDelayMs: 5000 }, clock);
    for (let i = 0; i < 2000; i++) throttle.failed(['user:a']);
    assert.equal(throttle.waitFor(['user:a']), 5000);
  });

  test('with no free attempts, the first failure already blocks', () => {
    const { clock } = fakeClock();
    const throttle = new LoginThrottle({ ...THROTTLE, freeAttempts: 0 }, clock);
    throttle.failed(['user:a']);
    assert.ok(throttle.waitFor(['user:a']) > 0);
  });

  test('with no free attempts, the first delay is the base delay', () => {
    const { clock } = fakeClock();
    const throttle = new LoginThrottle({ ...THROTTLE, freeAttempts: 0 }, clock);
    throttle.failed(['user:a']);
    assert.equal(throttle.waitFor(['user:a']), THROTTLE.baseDelayMs);
  });

  test('waitFor over several keys is the longest of their waits; unknown keys wait nothing', () => {
    const { clock } = fakeClock();
    const throttle = new LoginThrottle(THROTTLE, clock);
    for (let i = 0; i < 3; i++) throttle.failed(['user:a']); // 1 s
    for (let i = 0; i < 5; i++) throttle.failed(['addr:x']); // 4 s
    assert.equal(throttle.waitFor(['user:a']), 1000);
    assert.equal(throttle.waitFor(['addr:x']), 4000);
    assert.equal(throttle.waitFor(['user:a', 'addr:x']), 4000);
    assert.equal(throttle.waitFor(['addr:x', 'user:a']), 4000);
    assert.equal(throttle.waitFor(['user:nobody', 'addr:elsewhere']), 0);
    assert.equal(throttle.waitFor([]), 0);
  });

  test('one failure counts against every key it is given', () => {
    const { clock } = fakeClock();
    const throttle = new LoginThrottle(THROTTLE, clock);
    for (let i = 0; i < 3; i++) throttle.failed(['user:a', 'addr:x']);
    assert.equal(throttle.waitFor(['user:a']), 1000);
    assert.equal(throttle.waitFor(['addr:x']), 1000);
  });

  test('success clears only the key it names', () => {
    const { clock } = fakeClock();
    const throttle = new LoginThrottle(THROTTLE, clock);
    for (let i = 0; i < 3; i++) throttle.failed(['user:a', 'addr:x']);
    for (let i = 0; i < 3; i++) throttle.failed(['user:b']);
    throttle.succeeded('user:a');
    assert.equal(throttle.waitFor(['user:a']), 0);
    assert.equal(throttle.waitFor(['addr:x']), 1000, 'the address keeps its record');
    assert.equal(throttle.waitFor(['user:b']), 1000, 'other accounts keep theirs');
    // The cleared key starts again from zero failures: three free attempts.
    throttle.failed(['user:a']);
    throttle.failed(['user:a']);
    assert.equal(throttle.waitFor(['user:a']), 0);
  });

  test('a record is forgotten once twice the maximum delay has passed since its last failure', () => {
    const { clock, advance } = fakeClock();
    const throttle = new LoginThrottle(THROTTLE, clock);
    for (let i = 0; i < 3; i++) throttle.failed(['user:old', 'user:kept']);
    advance(2 * THROTTLE.maxDelayMs);
    // At exactly 2 x max the record is still remembered: one more failure is the 4th (2 s delay).
    throttle.failed(['user:kept']);
    assert.equal(throttle.waitFor(['user:kept']), 2000);
    advance(1);
    // Just past 2 x max: forgotten, so a failure is the first of a fresh record, and free.
    assert.equal(throttle.waitFor(['user:old']), 0);
    throttle.failed(['user:old']);
    assert.equal(throttle.waitFor(['user:old']), 0);
    throttle.failed(['user:old']);
    throttle.failed(['user:old']);
    assert.equal(throttle.waitFor(['user:old']), 1000);
  });

  test('memory is bounded: past 100,000 keys the least recently failed is dropped', () => {
    const { clock } = fakeClock();
    const throttle = new LoginThrottle(THROTTLE, clock);
    for (let i = 0; i < 3; i++) throttle.failed(['user:victim']);
    assert.equal(throttle.waitFor(['user:victim']), 1000);
    for (let i = 0; i < 100_000; i++) throttle.failed([`user:filler${i}`]);
    assert.equal(throttle.waitFor(['user:victim']), 0);
    assert.equal(throttle.waitFor(['user:filler99999']), 0, 'one failure each: still free');
  });
});

describe('RateWindow', () => {
  test('allows `limit` events per key within the window, per key', () => {
    const { clock } = fakeClock();
    const window = new RateWindow(3, 3_600_000, clock);
    assert.deepEqual([window.take('a'), window.take('a'), window.take('a'), window.take('a')], [true, true, true, false]);
    assert.equal(window.take('b'), true, 'another key has its own count');
    assert.equal(window.take('a'), false);
  });

  test('old events slide out of the window one by one; refusals are not recorded', () => {
    const { clock, advance } = fakeClock();
    const window = new RateWindow(3, 1000, clock);
    assert.equal(window.take('a'), true); // t=0
    advance(400);
    assert.equal(window.take('a'), true); // t=400
    advance(400);
    assert.equal(window.take('a'), true); // t=800
    advance(199);
    assert.equal(window.take('a'), false); // t=999: all three still inside
    advance(1);
    assert.equal(window.take('a'), true, 't=1000: the event of t=0 has left the window');
    advance(1);
    assert.equal(window.take('a'), false, 't=1001: 400, 800 and 1000 are inside');
    advance(399);
    assert.equal(window.take('a'), true, 't=1400: the event of t=400 has left');
  });

  test('a key that waits out the whole window gets its full allowance back', () => {
    const { clock, advance } = fakeClock();
    const window = new RateWindow(2, 1000, clock);
    assert.equal(window.take('a'), true);
    assert.equal(window.take('a'), true);
    for (let i = 0; i < 5; i++) assert.equal(window.take('a'), false);
    advance(1000);
    assert.equal(window.take('a'), true);
    assert.equal(window.take('a'), true);
    assert.equal(window.take('a'), false);
  });

  test('a limit of 0 refuses everything', () => {
    const { clock } = fakeClock();
    const window = new RateWindow(0, 1000, clock);
    assert.equal(window.take('a'), false);
  });
});

describe('ConnectionLimiter', () => {
  test('caps connections per address; a refused connection still counts until released', () => {
    const limiter = new ConnectionLimiter({ maxConnections: 100, maxPerAddress: 2 });
    assert.equal(limiter.open('1.1.1.1'), undefined);
    assert.equal(limiter.open('1.1.1.1'), undefined);
    assert.equal(typeof limiter.open('1.1.1.1'), 'string', 'the third from one address is refused');
    assert.equal(limiter.open('2.2.2.2'), undefined, 'another address is not affected');
    assert.equal(limiter.total, 4);
    limiter.release('1.1.1.1'); // the refused one closes
    assert.equal(typeof limiter.open('1.1.1.1'), 'string', 'still two open from that address');
    limiter.release('1.1.1.1');
    limiter.release('1.1.1.1'); // one of the accepted ones closes
    assert.equal(limiter.open('1.1.1.1'), undefined);
  });

  test('caps connections in all, whatever the addresses', () => {
    const limiter = new ConnectionLimiter({ maxConnections: 3, maxPerAddress: 10 });
    for (const address of ['a', 'b', 'c']) assert.equal(limiter.open(address), undefined);
    assert.equal(typeof limiter.open('d'), 'string');
    assert.equal(limiter.total, 4);
    limiter.release('d');
    assert.equal(typeof limiter.open('e'), 'string', 'three are still open');
    limiter.release('e');
    limiter.release('a');
    assert.equal(limiter.total, 2);
    assert.equal(limiter.open('e'), undefined);
  });

  test('releasing everything brings the counts back to zero', () => {
    const limiter = new ConnectionLimiter({ maxConnections: 2, maxPerAddress: 1 });
    const opened = ['a', 'a', 'b', 'c', 'c', 'c'];
    for (const address of opened) limiter.open(address);
    for (const address of opened) limiter.release(address);
    assert.equal(limiter.total, 0);
    assert.equal(limiter.open('a'), undefined);
    assert.equal(limiter.open('c'), undefined);
  });
});

/** The one Storage method the quota calls: usage(), scanned once per account. */
class FakeStorage implements Pick<Storage, 'usage' | 'keptPartialBytes'> {
  readonly used = new Map<string, number>();
  /** Bytes of kept partial uploads per user, and the path of the upload each resumes (not counted for it). */
  readonly kept = new Map<string, { bytes: number; path: string }>();
  scans = 0;
  /** Scans that must fail before one succeeds. */
  failures = 0;
  /** When set, every scan waits for it before answering. */
  gate: Promise<void> | undefined;

  async usage(user: string): Promise<number> {
    this.scans += 1;
    await this.gate;
    if (this.failures > 0) {
      this.failures -= 1;
      throw Object.assign(new Error('EIO: i/o error, scandir'), { code: 'EIO' });
    }
    return this.used.get(user) ?? 0;
  }

  keptPartialBytes(user: string, resuming?: { path: string }): Promise<number> {
    const kept = this.kept.get(user);
    return Promise.resolve(kept && kept.path !== resuming?.path ? kept.bytes : 0);
  }
}

/** A QuotaKeeper over the fake: the quota never calls anything but usage() and keptPartialBytes(). */
function keeper(storage: FakeStorage, quotaBytes: number): QuotaKeeper {
  return new QuotaKeeper(storage as Pick<Storage, 'usage' | 'keptPartialBytes'> as Storage, quotaBytes);
}

describe('QuotaKeeper', () => {
  test('reserves room up to the quota, counting what is already stored', async () => {
    const storage = new FakeStorage();
    storage.used.set('alice', 60);
    const quota = keeper(storage, 100);
    await assert.rejects(quota.reserve('alice', 41), { code: 'LPF_ERR_QUOTA' });
    await quota.reserve('alice', 40);
    await assert.rejects(quota.reserve('alice', 1), { code: 'LPF_ERR_QUOTA' });
    await quota.reserve('alice', 0);
    await quota.reserve('bob', 100); // each account has its own quota
    assert.equal(storage.scans, 2, 'storage is scanned once per account');
  });

  test('a reservation that ends without storing gives its room back', async () => {
    const quota = keeper(new FakeStorage(), 100);
    const upload = await quota.reserve('alice', 70);
    await assert.rejects(quota.reserve('alice', 31), { code: 'LPF_ERR_QUOTA' });
    await upload.release();
    await upload.release(); // settled once: the second does nothing
    await quota.reserve('alice', 100);
    await assert.rejects(quota.reserve('alice', 1), { code: 'LPF_ERR_QUOTA' });
  });

  test('a stored upload keeps its room; deleting frees it', async () => {
    const quota = keeper(new FakeStorage(), 100);
    await (await quota.reserve('alice', 70)).stored({ replaced: 0 });
    await assert.rejects(quota.reserve('alice', 31), { code: 'LPF_ERR_QUOTA' });
    await (await quota.reserve('alice', 30)).release();
    await quota.freed('alice', 70);
    await quota.reserve('alice', 100);
  });

  test('replacing a file counts only the difference once stored, but needs room for both while in flight', async () => {
    const storage = new FakeStorage();
    storage.used.set('alice', 50); // one 50-byte file
    const quota = keeper(storage, 100);
    await assert.rejects(quota.reserve('alice', 60), { code: 'LPF_ERR_QUOTA' }, 'the old file still takes its room during the upload');
    await (await quota.reserve('alice', 50)).stored({ replaced: 50 }); // same name, same size: used stays 50
    await (await quota.reserve('alice', 50)).release();
    await assert.rejects(quota.reserve('alice', 51), { code: 'LPF_ERR_QUOTA' });
    // A 20-byte file replacing the 50-byte one frees 30.
    await (await quota.reserve('alice', 20)).stored({ replaced: 50 });
    await quota.reserve('alice', 80);
    await assert.rejects(quota.reserve('alice', 1), { code: 'LPF_ERR_QUOTA' });
  });

  test('kept partial uploads take room, and say so; the one an upload resumes is not counted twice', async () => {
    const storage = new FakeStorage();
    storage.used.set('alice', 20);
    storage.kept.set('alice', { bytes: 50, path: 'big.iso' });
    const quota = keeper(storage, 100);
    await assert.rejects(quota.reserve('alice', 31, { path: 'other', request: { size: 31 } }), {
      code: 'LPF_ERR_QUOTA',
      message:
        'not enough room in your storage quota: 31 bytes needed, 30 of 100 free; 50 bytes of it are held by cut-off uploads kept for a resume, until they are resumed or expire',
    });
    await quota.reserve('alice', 80, { path: 'big.iso', request: { size: 80, key: 'k' } });
  });

  test('concurrent reservations cannot together overshoot, even while the first usage scan is pending', async () => {
    const storage = new FakeStorage();
    storage.used.set('alice', 10);
    let open!: () => void;
    storage.gate = new Promise((resolve) => (open = resolve));
    const quota = keeper(storage, 100);
    const attempts = Array.from({ length: 5 }, () => quota.reserve('alice', 30));
    open();
    const results = await Promise.allSettled(attempts);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code: string }).code, 'LPF_ERR_QUOTA');
    assert.equal(storage.scans, 1, 'one scan serves every waiting reservation');
  });

  test('a failed usage scan is not cached: the next call scans again', async () => {
    const storage = new FakeStorage();
    storage.used.set('alice', 90);
    storage.failures = 1;
    const quota = keeper(storage, 100);
    await assert.rejects(quota.reserve('alice', 5), (err: NodeJS.ErrnoException) => err.code === 'EIO');
    await quota.reserve('alice', 10);
    assert.equal(storage.scans, 2);
    await assert.rejects(quota.reserve('alice', 1), { code: 'LPF_ERR_QUOTA' }, 'the retried scan counted the stored bytes');
  });

  test('calls waiting on a scan that fails all fail, and the scan after them is fresh', async () => {
    const storage = new FakeStorage();
    storage.failures = 1;
    let open!: () => void;
    storage.gate = new Promise((resolve) => (open = resolve));
    const quota = keeper(storage, 100);
    const waiting = [quota.reserve('alice', 1), quota.reserve('alice', 1)];
    open();
    for (const r of await Promise.allSettled(waiting)) assert.equal(r.status, 'rejected');
    await quota.reserve('alice', 100);
    assert.equal(storage.scans, 2);
  });
});

describe('parseBytes', () => {
  test('plain numbers and binary units, case-insensitive, with an optional B or iB', () => {
    const cases: [string, number][] = [
      ['0', 0],
      ['1048576', 1048576],
      ['1K', 1024],
      ['1k', 1024],
      ['8K', 8192],
      ['512M', 512 * 1024 ** 2],
      ['10G', 10 * 1024 ** 3],
      ['2T', 2 * 1024 ** 4],
      ['1.5K', 1536],
      ['0.5M', 512 * 1024],
      ['10GB', 10 * 1024 ** 3],
      ['10GiB', 10 * 1024 ** 3],
      ['10 G', 10 * 1024 ** 3],
      [' 10G ', 10 * 1024 ** 3],
      ['100B', 100],
      ['1.9', 1],
    ];
    for (const [text, bytes] of cases) assert.equal(parseBytes(text, '--quota'), bytes, text);
  });

  test('refuses what is not a size, and sizes past the safe-integer range', () => {
    for (const text of ['', 'G', '-1', '-1G', '1e9', '1X', '1P', '10 GBs', '1,5G', '0x10', 'Infinity', '9999999T']) {
      assert.throws(() => parseBytes(text, '--quota'), { code: 'LPF_ERR_USAGE' }, text);
    }
  });
});

describe('parseCount', () => {
  test('whole numbers of at least the minimum (1 by default)', () => {
    assert.equal(parseCount('1', '--max-connections'), 1);
    assert.equal(parseCount('1024', '--max-connections'), 1024);
    assert.equal(parseCount('007', '--max-connections'), 7);
    assert.equal(parseCount('0', '--register-limit', 0), 0);
    assert.equal(parseCount('5', '--min-password', 5), 5);
  });

  test('refuses zero below the minimum, fractions, signs, and huge numbers', () => {
    for (const text of ['0', '', '-1', '+1', '1.5', '1e3', ' 1', 'ten', '99999999999999999999']) {
      assert.throws(() => parseCount(text, '--max-connections'), { code: 'LPF_ERR_USAGE' }, text);
    }
    assert.throws(() => parseCount('4', '--min-password', 5), { code: 'LPF_ERR_USAGE' });
  });
});

describe('parseSeconds', () => {
  test('positive seconds, fractions allowed, into milliseconds', () => {
    assert.equal(parseSeconds('1', '--login-delay'), 1000);
    assert.equal(parseSeconds('120', '--login-timeout'), 120_000);
    assert.equal(parseSeconds('0.5', '--login-delay'), 500);
    assert.equal(parseSeconds('1.0004', '--login-delay'), 1000);
    assert.equal(parseSeconds('0.0006', '--login-delay'), 1);
  });

  test('refuses zero, signs, and what is not a number', () => {
    for (const text of ['0', '0.0', '', '-1', '+1', '.5', '5.', '1e3', '1s', 'Infinity', 'NaN']) {
      assert.throws(() => parseSeconds(text, '--idle-timeout'), { code: 'LPF_ERR_USAGE' }, text);
    }
  });

  test('refuses a positive value that rounds to 0 ms', () => {
    assert.throws(() => parseSeconds('0.0001', '--idle-timeout'), { code: 'LPF_ERR_USAGE' });
  });
});
