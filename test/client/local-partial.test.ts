/** The client's partial downloads on disk: what stays beside the target, and when. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BLOCK_SIZE } from '../../src/protocol/index.js';
import { LocalPartial, partialName } from '../../src/client/local-partial.js';

describe('LocalPartial', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lpf-partial-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a small file gets the data file alone, and nothing is left once it is in place', async () => {
    const target = join(dir, 'small.txt');
    const partial = new LocalPartial(target, 'small.txt', '127.0.0.1:1');
    const writer = await partial.open({ name: 'small.txt', size: 5, mtime: 0, offset: 0 }, []);
    assert.equal(partial.keepsPartial, false);
    assert.deepEqual(await readdir(dir), ['.small.txt.lpf-part']);
    writer.write(Buffer.from('hello'));
    await writer.finish();
    await partial.complete();
    assert.deepEqual(await readdir(dir), ['small.txt']);
    assert.equal(await readFile(target, 'utf8'), 'hello');
  });

  test('a small download that fails leaves nothing behind', async () => {
    const target = join(dir, 'cut.txt');
    const partial = new LocalPartial(target, 'cut.txt', '127.0.0.1:1');
    const writer = await partial.open({ name: 'cut.txt', size: 100, mtime: 0, offset: 0 }, []);
    writer.write(Buffer.from('partly'));
    writer.abandon();
    await partial.discard();
    assert.ok(!(await readdir(dir)).some((n) => n.includes('cut.txt')));
  });

  test('a file of a block or more keeps its record and digests, for a resume', async () => {
    const target = join(dir, 'big.bin');
    const partial = new LocalPartial(target, 'big.bin', '127.0.0.1:1');
    const writer = await partial.open({ name: 'big.bin', size: BLOCK_SIZE + 1, mtime: 0, offset: 0 }, []);
    assert.equal(partial.keepsPartial, true);
    writer.write(Buffer.alloc(BLOCK_SIZE, 1));
    await writer.suspend();
    const names = (await readdir(dir)).filter((n) => n.includes('big.bin')).sort();
    assert.deepEqual(names, ['.big.bin.lpf-part', '.big.bin.lpf-part.blocks', '.big.bin.lpf-part.json']);
    const resume = await new LocalPartial(target, 'big.bin', '127.0.0.1:1').resumable();
    assert.equal(resume?.offset, BLOCK_SIZE);
    await partial.discard();
  });

  test('a record left by an earlier, larger version of the file goes when the small one is downloaded', async () => {
    const target = join(dir, 'shrunk.bin');
    await writeFile(
      join(dir, '.shrunk.bin.lpf-part.json'),
      JSON.stringify({ name: 'shrunk.bin', server: '127.0.0.1:1', size: BLOCK_SIZE * 2, mtime: 1 }),
    );
    const partial = new LocalPartial(target, 'shrunk.bin', '127.0.0.1:1');
    const writer = await partial.open({ name: 'shrunk.bin', size: 2, mtime: 2, offset: 0 }, []);
    writer.write(Buffer.from('ok'));
    await writer.finish();
    await partial.complete();
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.includes('shrunk')),
      ['shrunk.bin'],
    );
  });

  test('a target name of 239 to 255 bytes gets side files whose names fit, the same on every attempt, so it still resumes', async () => {
    assert.equal(partialName('a'.repeat(238)), `.${'a'.repeat(238)}.lpf-part`, 'the longest name that keeps its readable side files');
    for (const name of ['a'.repeat(239), `${'é'.repeat(125)}.bin`, 'z'.repeat(255)]) {
      assert.ok(Buffer.byteLength(name) >= 239 && Buffer.byteLength(name) <= 255);
      const target = join(dir, name);
      const partial = new LocalPartial(target, name, '127.0.0.1:1');
      const writer = await partial.open({ name, size: BLOCK_SIZE + 1, mtime: 0, offset: 0 }, []);
      writer.write(Buffer.alloc(BLOCK_SIZE, 1));
      await writer.suspend();
      const sides = (await readdir(dir)).filter((n) => n.startsWith(partialName(name)));
      assert.equal(sides.length, 3);
      for (const side of sides) assert.ok(Buffer.byteLength(side) <= 255, side);
      assert.equal((await new LocalPartial(target, name, '127.0.0.1:1').resumable())?.offset, BLOCK_SIZE);
      await partial.discard();
    }
    assert.notEqual(partialName('a'.repeat(239)), partialName('a'.repeat(240)));
  });
});
