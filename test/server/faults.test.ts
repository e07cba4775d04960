/**
 * Server-side storage faults (disk full, I/O errors) on a real loopback server
 * with a storage that fails on purpose: root can write anywhere, so a read-only
 * folder would prove nothing here.
 */
import assert from 'node:assert/strict';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LpfClient } from '../../src/client/client.js';
import { createLogger } from '../../src/server/logger.js';
import { DEFAULT_LIMITS } from '../../src/server/limits/limits.js';
import { LpfServer } from '../../src/server/server.js';
import { DiskStorage } from '../../src/server/storage/disk-storage.js';
import { writeRandomFile } from '../helpers/files.js';
import { tempDir } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

/** Disk storage whose uploads go to /dev/full: every write fails with a real ENOSPC. */
class FullDiskStorage extends DiskStorage {
  full = false;

  protected override async openPartial(path: string, offset: number): Promise<WriteStream> {
    const partial = await super.openPartial(path, offset);
    if (!this.full) return partial;
    partial.destroy();
    return createWriteStream('/dev/full');
  }
}

describe('storage faults', () => {
  let dir: { path: string; cleanup(): Promise<void> };
  let server: LpfServer;
  let storage: FullDiskStorage;
  let port: number;

  before(async () => {
    dir = await tempDir();
    storage = new FullDiskStorage(join(dir.path, 'root'));
    server = new LpfServer({
      host: '127.0.0.1',
      port: 0,
      root: join(dir.path, 'root'),
      allowRegistration: true,
      tls: undefined,
      limits: { ...DEFAULT_LIMITS, minPasswordChars: 1 },
      log: await createLogger('silent', false),
      storage,
    });
    port = (await server.listen()).port;
    const c = await LpfClient.connect({ host: '127.0.0.1', port }, { tls: { mode: 'plain' } });
    await c.register('fay', 'fays-password');
    c.close();
  });
  after(async () => {
    await server.close();
    await dir.cleanup();
  });

  async function client(): Promise<LpfClient> {
    const c = await LpfClient.connect({ host: '127.0.0.1', port }, { tls: { mode: 'plain' } });
    await c.login('fay', 'fays-password');
    return c;
  }

  test('a full disk reaches the client as one clear error, and nothing is left behind', async () => {
    const file = join(dir.path, 'data.bin');
    await writeRandomFile(file, 5 * 1024 * 1024);
    storage.full = true;
    const c = await client();
    await assert.rejects(c.upload(file, 'data.bin'), (err: { code: string; message: string }) => {
      assert.equal(err.code, 'LPF_ERR_SERVER');
      assert.match(err.message, /out of disk space/);
      return true;
    });
    c.close();
    storage.full = false;
    await assert.rejects(stat(join(dir.path, 'root', 'files', 'fay', 'data.bin')));
    // The partial data goes when the server closes the failed connection, a moment after the reply.
    const partial = join(dir.path, 'root', 'partial', 'fay');
    await waitFor(async () => (await readdir(partial)).length === 0, { what: 'the partial data is removed' });
  });

  test('the server goes on serving, and the same upload succeeds once there is room', async () => {
    const file = join(dir.path, 'small.txt');
    await writeFile(file, 'fits');
    const c = await client();
    const result = await c.upload(file, 'small.txt');
    assert.equal(result.size, 4);
    assert.deepEqual(
      (await c.list()).map((e) => e.name),
      ['small.txt'],
    );
    c.close();
  });
});
