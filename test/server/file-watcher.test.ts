/** watchFiles: a change to a watched file is noticed at once, and the poll notices without any notification. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { watchFiles } from '../../src/server/accounts/file-watcher.js';
import { tempDir } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

test('a change to a watched file is checked without waiting for the poll', async () => {
  const dir = await tempDir();
  let checks = 0;
  const stop = watchFiles(dir.path, ['users.txt'], () => Promise.resolve(void checks++), 3_600_000);
  try {
    await writeFile(join(dir.path, 'users.txt'), 'changed\n');
    await waitFor(() => checks > 0, { what: 'the change is checked' });
  } finally {
    stop();
    await dir.cleanup();
  }
});

test('the poll checks even when no notification comes (file systems that send none), never two checks at once', async () => {
  const dir = await tempDir();
  let checks = 0;
  let running = 0;
  let overlapped = false;
  const stop = watchFiles(
    dir.path,
    ['users.txt'],
    async () => {
      overlapped ||= running > 0;
      running++;
      await new Promise((resolve) => setTimeout(resolve, 20)); // a slow check, so that a poll could overlap it: not ordering
      running--;
      checks++;
    },
    5,
  );
  try {
    await waitFor(() => checks >= 3, { what: 'the poll runs the check' });
    assert.equal(overlapped, false);
  } finally {
    stop();
    await dir.cleanup();
  }
});
