/**
 * The quota holds across servers: two real lpf-server processes sharing ONE PostgreSQL (--accounts) and
 * ONE data folder (--root: both DiskStorages see the same files, standing in for shared object storage),
 * with a small --quota, and the real lpf client. Uploads through A and B together never exceed the quota;
 * deletes through B free room for A.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { asUser, runLpf, startServer, type RunningServer } from '../helpers/processes.js';
import { skipWithoutPostgres, startPostgres, type Postgres } from '../helpers/postgres.js';

const skip = skipWithoutPostgres();

const KiB = 1024;

/** The bytes of a user's stored files, as found in the shared data folder. */
async function storedBytes(root: string, user: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(join(root, 'files', user)).catch(() => [] as string[]))
    total += (await stat(join(root, 'files', user, name))).size;
  return total;
}

describe('two servers on one storage and one PostgreSQL share the quota', { skip }, () => {
  let engine: Postgres;
  let root: string;
  let local: string;
  let a: RunningServer;
  let b: RunningServer;

  before(async () => {
    engine = await startPostgres();
    const url = await engine.newDatabase();
    root = await mkdtemp(join(tmpdir(), 'lpf-cluster-quota-'));
    local = await mkdtemp(join(tmpdir(), 'lpf-cluster-quota-local-'));
    const args = ['--accounts', url, '--quota', '12K'];
    [a, b] = await Promise.all([startServer({ root, args }), startServer({ root, args })]);
    await writeFile(join(local, 'five'), Buffer.alloc(5 * KiB, 5));
    await writeFile(join(local, 'three'), Buffer.alloc(3 * KiB, 3));
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await engine?.destroy();
    for (const dir of [root, local]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('an upload through one server counts on the other; deletes through B free room for A', async () => {
    const alice = asUser('alice', 'alice-password');
    assert.equal((await runLpf([a.address, '-list'], { env: asUser('alice', 'alice-password', true) })).code, 0);
    const upload = (server: RunningServer, to: string) =>
      runLpf([server.address, '-upload', join(local, 'five'), '--to', to], { env: alice });
    assert.equal((await upload(b, 'one')).code, 0, 'B measures 0 bytes, stores 5 KiB');
    assert.equal((await upload(a, 'two')).code, 0, 'A measures 5 KiB, stores 5 KiB more');
    // In one server's memory B would still think 5 KiB were used, and let 15 KiB in.
    for (const server of [b, a]) {
      const over = await upload(server, 'three');
      assert.equal(over.code, 13, over.stderr);
      assert.match(over.stderr, /not enough room in your storage quota: 5120 bytes needed, 2048 of 12288 free.*LPF_ERR_QUOTA/);
    }
    assert.equal(await storedBytes(root, 'alice'), 10 * KiB);

    assert.equal((await runLpf([b.address, '-delete', 'one'], { env: alice })).code, 0);
    const again = await upload(a, 'three');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await storedBytes(root, 'alice'), 10 * KiB);
  });

  test('concurrent uploads through A and B together never exceed the quota', async () => {
    const bob = asUser('bob', 'bob-password');
    assert.equal((await runLpf([b.address, '-list'], { env: asUser('bob', 'bob-password', true) })).code, 0);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        runLpf([(i % 2 ? a : b).address, '-upload', join(local, 'three'), '--to', `f${i}`], { env: bob }),
      ),
    );
    const stored = results.filter((r) => r.code === 0).length;
    for (const r of results) if (r.code !== 0) assert.match(r.stderr, /LPF_ERR_QUOTA/);
    assert.equal(stored, 4, 'exactly four 3 KiB files fit in 12 KiB');
    assert.equal(await storedBytes(root, 'bob'), 12 * KiB);
  });
});
