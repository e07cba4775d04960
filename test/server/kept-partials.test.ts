import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KeptPartials } from '../../src/server/storage/partial-folder.js';

describe('KeptPartials: the quota charge of kept partial uploads', () => {
  let root: string;
  const none = () => false;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lpf-kept-'));
    await mkdir(join(root, 'alice'));
    await writeFile(join(root, 'alice', 'a.part'), Buffer.alloc(1000));
    await writeFile(join(root, 'alice', 'a.blocks'), Buffer.alloc(32));
    await writeFile(join(root, 'alice', 'b.part'), Buffer.alloc(500));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('sums data and digests by id, leaving out the one resumed and those being written', async () => {
    const kept = new KeptPartials(root);
    assert.equal(await kept.bytes('alice', none), 1532);
    assert.equal(await kept.bytes('alice', none, 'a'), 500);
    assert.equal(await kept.bytes('alice', (id) => id === 'b'), 1032);
    assert.equal(await kept.bytes('nobody', none), 0);
  });

  it('scans once until told that something changed', async () => {
    const kept = new KeptPartials(root);
    assert.equal(await kept.bytes('alice', none), 1532);
    await writeFile(join(root, 'alice', 'c.part'), Buffer.alloc(100));
    assert.equal(await kept.bytes('alice', none), 1532, 'the scan is reused');
    kept.forget('alice');
    assert.equal(await kept.bytes('alice', none), 1632);
    await rm(join(root, 'alice', 'c.part'));
    kept.forgetAll();
    assert.equal(await kept.bytes('alice', none), 1532);
  });

  it('leaves out of the scan what was being written then, so that it never counts once it is kept later', async () => {
    const kept = new KeptPartials(root);
    assert.equal(await kept.bytes('alice', (id) => id === 'a'), 500);
    assert.equal(await kept.bytes('alice', none), 500, 'an upload that ends tells forget(); until then it is not charged twice');
  });
});
