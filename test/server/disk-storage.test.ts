import assert from 'node:assert/strict';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { BLOCK_SIZE } from '../../src/protocol/index.js';
import { DiskStorage } from '../../src/server/storage/disk-storage.js';
import { tempDir } from '../helpers/processes.js';

/** These tests are about files, not checksums: any well-formed one will do. */
const CHECKSUM = { sha256: '0'.repeat(64), digests: [] };

test('an upload is invisible until committed, and abort leaves nothing', async () => {
  const dir = await tempDir();
  try {
    const storage = new DiskStorage(dir.path);
    const upload = await storage.createUpload('u', 'a.txt', { size: 5 });
    upload.write(Buffer.from('hello'));
    assert.deepEqual(await storage.list('u', ''), []);
    await upload.commit(CHECKSUM);
    const [entry] = await storage.list('u', '');
    assert.equal(entry?.name, 'a.txt');
    assert.equal(entry?.size, 5);

    const aborted = await storage.createUpload('u', 'b.txt', { size: 7 });
    aborted.write(Buffer.from('partial'));
    await aborted.abort();
    assert.deepEqual(
      (await storage.list('u', '')).map((e) => e.name),
      ['a.txt'],
    );
    assert.deepEqual(await readdir(join(dir.path, 'partial', 'u')), []);
  } finally {
    await dir.cleanup();
  }
});

test('a reader that opened a file keeps the old content while it is replaced', async () => {
  const dir = await tempDir();
  try {
    const storage = new DiskStorage(dir.path);
    const first = await storage.createUpload('u', 'f', { size: 11 });
    first.write(Buffer.from('old version'));
    await first.commit(CHECKSUM);
    const reader = await storage.read('u', 'f');
    const second = await storage.createUpload('u', 'f', { size: 12 });
    second.write(Buffer.from('new version!'));
    await second.commit(CHECKSUM);
    const buffer = Buffer.alloc(64);
    const n = await reader.reader.read(buffer, 0, buffer.length);
    await reader.reader.close();
    assert.equal(buffer.subarray(0, n).toString(), 'old version');
    assert.equal(await readFile(join(dir.path, 'files', 'u', 'f'), 'utf8'), 'new version!');
  } finally {
    await dir.cleanup();
  }
});

test('missing files are LPF_ERR_NOT_FOUND for read and delete', async () => {
  const dir = await tempDir();
  try {
    const storage = new DiskStorage(dir.path);
    await assert.rejects(storage.read('u', 'nope'), { code: 'LPF_ERR_NOT_FOUND' });
    await assert.rejects(storage.delete('u', 'nope'), { code: 'LPF_ERR_NOT_FOUND' });
  } finally {
    await dir.cleanup();
  }
});

test('folders removed behind the server between uploads are made again (an admin clean-up, a re-added user)', async () => {
  const dir = await tempDir();
  try {
    const storage = new DiskStorage(dir.path);
    const first = await storage.createUpload('u', 'one', { size: 3 });
    first.write(Buffer.from('one'));
    await first.commit(CHECKSUM);
    // As `lpf-server users remove` does: every area of the user goes.
    for (const area of ['files', 'meta', 'partial']) await rm(join(dir.path, area, 'u'), { recursive: true, force: true });
    const second = await storage.createUpload('u', 'two', { size: 3 });
    second.write(Buffer.from('two'));
    await second.commit(CHECKSUM);
    assert.equal(await readFile(join(dir.path, 'files', 'u', 'two'), 'utf8'), 'two');
    // Only the top folder removed, by hand, while an upload is under way.
    const third = await storage.createUpload('u', 'three', { size: 5 });
    third.write(Buffer.from('three'));
    await rm(join(dir.path, 'files', 'u'), { recursive: true, force: true });
    await third.commit(CHECKSUM);
    assert.deepEqual(await readdir(join(dir.path, 'files', 'u')), ['three']);
  } finally {
    await dir.cleanup();
  }
});

test('a cut-off keyed upload is listed in its folder with the whole blocks kept, until it is committed', async () => {
  const dir = await tempDir();
  try {
    const storage = new DiskStorage(dir.path);
    await storage.makeFolder('u', 'films');
    const size = 2 * BLOCK_SIZE + 5;
    const cut = await storage.createUpload('u', 'films/movie.bin', { size, key: 'k1' });
    assert.deepEqual(await storage.partials('u', 'films'), [], 'an upload being written is not unfinished yet');
    cut.write(Buffer.alloc(BLOCK_SIZE + 10));
    cut.recordBlock(Buffer.alloc(32));
    await cut.suspend();
    const unkeyed = await storage.createUpload('u', 'films/other.bin', { size: 10 });
    unkeyed.write(Buffer.alloc(3));
    await unkeyed.suspend();
    const [kept, ...more] = await storage.partials('u', 'films');
    assert.deepEqual({ ...kept, mtime: 0 }, { name: 'movie.bin', size, received: BLOCK_SIZE, mtime: 0 });
    assert.deepEqual(more, []);
    assert.deepEqual(await storage.partials('u', ''), [], 'only the folder the file goes in');
    assert.deepEqual(await storage.partials('nobody', ''), []);

    const resumed = await storage.createUpload('u', 'films/movie.bin', { size, key: 'k1' });
    assert.equal(resumed.offset, BLOCK_SIZE);
    resumed.write(Buffer.alloc(size - BLOCK_SIZE));
    await resumed.commit(CHECKSUM);
    assert.deepEqual(await storage.partials('u', 'films'), []);
    const left = await readdir(join(dir.path, 'partial', 'u'));
    assert.deepEqual(
      left.filter((e) => !e.endsWith('.part')),
      [],
      'the record and digests go with the data',
    );
  } finally {
    await dir.cleanup();
  }
});
