/** The lock between processes that guards users.txt and sessions.txt, and the change stamp. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileStamp, withFileLock } from '../../src/server/accounts/shared-file.js';
import { collect, tempDir } from '../helpers/processes.js';

const lockText = (pid: number, since: number) => `${JSON.stringify({ pid, host: hostname(), since, id: 'x' })}\n`;

test('tasks under one lock never overlap, and the lock file is gone after', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, 'users.txt');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withFileLock(path, async () => {
          most = Math.max(most, ++inside);
          await sleep(2); // a task that takes a moment, so that an overlap would show: not ordering
          inside--;
        }),
      ),
    );
    assert.equal(most, 1);
    assert.deepEqual(await readdir(dir.path), [], 'no lock nor temporary file left');
  } finally {
    await dir.cleanup();
  }
});

test('four processes incrementing one counter under the lock lose no increment', async () => {
  const dir = await tempDir();
  try {
    const counter = join(dir.path, 'counter');
    await writeFile(counter, '0');
    const module = new URL('../../src/server/accounts/shared-file.ts', import.meta.url).href;
    const script = `
      const { withFileLock } = await import(${JSON.stringify(module)});
      const { readFile, writeFile } = await import('node:fs/promises');
      for (let i = 0; i < 25; i++) {
        await withFileLock(${JSON.stringify(counter)}, async () => {
          const n = Number(await readFile(${JSON.stringify(counter)}, 'utf8'));
          await new Promise((r) => setImmediate(r));
          await writeFile(${JSON.stringify(counter)}, String(n + 1));
        });
      }`;
    const runs = Array.from({ length: 4 }, () =>
      collect(
        spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] }),
        60_000,
      ),
    );
    for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(counter, 'utf8'), '100');
  } finally {
    await dir.cleanup();
  }
});

test('a lock left by a process that is gone is broken at once', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, 'users.txt');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(`${path}.lock`, lockText(dead, Date.now()));
    const started = Date.now();
    assert.equal(await withFileLock(path, () => Promise.resolve('ran'), { timeoutMs: 5000 }), 'ran');
    assert.ok(Date.now() - started < 2000);
    assert.deepEqual(await readdir(dir.path), []);
  } finally {
    await dir.cleanup();
  }
});

test('a live holder makes others wait, then fail with LPF_ERR_LOCKED naming the lock and its process', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, 'users.txt');
    await writeFile(`${path}.lock`, lockText(process.pid, Date.now()));
    await assert.rejects(
      withFileLock(path, () => Promise.resolve('ran'), { timeoutMs: 100 }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'LPF_ERR_LOCKED');
        assert.match(err.message, new RegExp(`users\\.txt\\.lock is held by process ${process.pid} on `));
        return true;
      },
    );
    assert.ok(await stat(`${path}.lock`), "the holder's lock stays");
  } finally {
    await dir.cleanup();
  }
});

test('a lock older than staleMs is broken even if its pid lives (the pid may be reused)', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, 'users.txt');
    await writeFile(`${path}.lock`, lockText(process.pid, Date.now() - 10_000));
    assert.equal(await withFileLock(path, () => Promise.resolve('ran'), { timeoutMs: 1000, staleMs: 5000 }), 'ran');
  } finally {
    await dir.cleanup();
  }
});

test('a lock file of unknown content is judged by its age', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, 'users.txt');
    await writeFile(`${path}.lock`, 'made by hand');
    await assert.rejects(
      withFileLock(path, () => Promise.resolve('ran'), { timeoutMs: 50, staleMs: 5000 }),
      { code: 'LPF_ERR_LOCKED' },
    );
    const old = new Date(Date.now() - 10_000);
    await utimes(`${path}.lock`, old, old);
    assert.equal(await withFileLock(path, () => Promise.resolve('ran'), { timeoutMs: 1000, staleMs: 5000 }), 'ran');
  } finally {
    await dir.cleanup();
  }
});

test('releasing leaves alone a lock that is no longer ours', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, 'users.txt');
    const other = lockText(process.pid, Date.now());
    await withFileLock(path, async () => {
      await writeFile(`${path}.lock`, other); // as if ours had been broken and taken meanwhile
    });
    assert.equal(await readFile(`${path}.lock`, 'utf8'), other);
  } finally {
    await dir.cleanup();
  }
});

test('the stamp changes with a rewrite by rename even when size and times are the same', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, 'f');
    await writeFile(path, 'aaaa');
    const first = await stat(path);
    await writeFile(join(dir.path, 'g'), 'bbbb');
    await utimes(join(dir.path, 'g'), first.atime, first.mtime);
    const { rename } = await import('node:fs/promises');
    await rename(join(dir.path, 'g'), path);
    const second = await stat(path);
    assert.equal(second.size, first.size);
    assert.notEqual(fileStamp(second), fileStamp(first));
  } finally {
    await dir.cleanup();
  }
});
