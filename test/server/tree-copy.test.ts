/** The storage's copy (src/server/storage/tree-copy.ts): all or nothing at the target, within its byte budget, swept if left behind. */
import assert from 'node:assert/strict';
import { mkdir, open, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { DiskStorage } from '../../src/server/storage/disk-storage.js';
import { copyEntry, type CopyPlaces } from '../../src/server/storage/tree-copy.js';
import { tempDir } from '../helpers/processes.js';

describe('copyEntry', () => {
  let dir: { path: string; cleanup(): Promise<void> };
  let places: CopyPlaces;
  let opened: number;
  /** The open that fails (1-based), if any. */
  let failingOpen: number | undefined;

  beforeEach(async () => {
    dir = await tempDir();
    const root = join(dir.path, 'files');
    await mkdir(join(root, 'src', 'inner'), { recursive: true });
    await writeFile(join(root, 'src', 'a.txt'), 'first');
    await writeFile(join(root, 'src', 'inner', 'b.txt'), 'second');
    opened = 0;
    failingOpen = undefined;
    places = {
      root,
      metaRoot: join(dir.path, 'meta'),
      scratch: join(dir.path, 'partial', 'x.copy'),
      openForReading: (path) => {
        opened++;
        if (opened === failingOpen) return Promise.reject(Object.assign(new Error('I/O error'), { code: 'EIO' }));
        return open(path, 'r');
      },
    };
  });
  afterEach(() => dir.cleanup());

  test('copies a tree and resolves with its bytes, leaving no scratch behind', async () => {
    assert.equal(await copyEntry(places, 'src', 'dst', 11), 11);
    assert.deepEqual((await readdir(join(places.root, 'dst'), { recursive: true })).sort(), ['a.txt', 'inner', 'inner/b.txt']);
    assert.deepEqual(await readdir(join(dir.path, 'partial')), []);
  });

  test('a failure midway leaves nothing at the target, and no scratch', async () => {
    failingOpen = 2;
    await assert.rejects(copyEntry(places, 'src', 'dst', 11), { code: 'LPF_ERR_SERVER' });
    await assert.rejects(stat(join(places.root, 'dst')), { code: 'ENOENT' });
    assert.deepEqual(await readdir(join(dir.path, 'partial')), []);
  });

  test('a source that holds more than the budget (it grew since it was measured) is refused', async () => {
    await assert.rejects(copyEntry(places, 'src', 'dst', 10), { code: 'LPF_ERR_QUOTA' });
    await assert.rejects(stat(join(places.root, 'dst')), { code: 'ENOENT' });
  });
});

test("the sweep removes a copy's scratch folder left by a crash", async () => {
  const dir = await tempDir();
  try {
    const scratch = join(dir.path, 'partial', 'u', 'abc.copy');
    await mkdir(join(scratch, 'data', 'inner'), { recursive: true });
    await writeFile(join(scratch, 'data', 'inner', 'half.bin'), 'half a copy');
    await utimes(scratch, new Date(0), new Date(0));
    assert.equal(await new DiskStorage(dir.path).sweepPartials(60_000), 1);
    assert.deepEqual(await readdir(join(dir.path, 'partial', 'u')), []);
  } finally {
    await dir.cleanup();
  }
});
