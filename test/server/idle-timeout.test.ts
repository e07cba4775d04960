/**
 * The idle timeout measures the peer's silence, not the server's: a client waiting for the answer to a
 * command the server is still working on (a password hash or a storage call on a busy machine), or whose
 * upload's data the server holds while its storage catches up, is not idle.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { LpfClient } from '../../src/client/client.js';
import type { ListEntry } from '../../src/protocol/index.js';
import { createLogger } from '../../src/server/logger.js';
import { DEFAULT_LIMITS } from '../../src/server/limits/limits.js';
import { LpfServer } from '../../src/server/server.js';
import { DiskStorage } from '../../src/server/storage/disk-storage.js';
import type { ListOptions, UploadRequest, UploadSink } from '../../src/server/storage/storage.js';
import { tempDir } from '../helpers/processes.js';

const IDLE_MS = 200;

/** A disk whose listings take three idle timeouts to answer, as a slow store might. */
class SlowListing extends DiskStorage {
  override async list(user: string, path: string, options?: ListOptions): Promise<ListEntry[]> {
    await delay(3 * IDLE_MS);
    return super.list(user, path, options);
  }
}

/** As SlowListing, and every upload asks its sender to wait three idle timeouts after its first chunk (an S3 part budget spent). */
class SlowUploads extends SlowListing {
  override async createUpload(user: string, path: string, request: UploadRequest): Promise<UploadSink> {
    const sink = await super.createUpload(user, path, request);
    let held: Promise<unknown> | undefined;
    return {
      offset: sink.offset,
      digests: sink.digests,
      resumable: sink.resumable,
      write: (chunk) => {
        const room = sink.write(chunk);
        if (held) return room;
        held = delay(3 * IDLE_MS);
        return false;
      },
      onDrain: (callback) => void (held ?? Promise.resolve()).then(() => sink.onDrain(callback)),
      onError: (callback) => sink.onError(callback),
      recordBlock: (digest) => sink.recordBlock(digest),
      commit: (checksum) => sink.commit(checksum),
      suspend: () => sink.suspend(),
      abort: () => sink.abort(),
    };
  }
}

describe('idle timeout', () => {
  let dir: { path: string; cleanup(): Promise<void> };
  let server: LpfServer;
  let port: number;

  before(async () => {
    dir = await tempDir();
    const root = join(dir.path, 'root');
    server = new LpfServer({
      host: '127.0.0.1',
      port: 0,
      root,
      allowRegistration: true,
      tls: undefined,
      limits: { ...DEFAULT_LIMITS, minPasswordChars: 1, idleTimeoutMs: IDLE_MS },
      log: await createLogger('silent', false),
      storage: new SlowUploads(root),
    });
    port = (await server.listen()).port;
  });
  after(async () => {
    await server.close();
    await dir.cleanup();
  });

  test('does not cut a connection whose command the server is still answering', async () => {
    const c = await LpfClient.connect({ host: '127.0.0.1', port }, { tls: { mode: 'plain' } });
    await c.register('ida', 'idas-password');
    assert.deepEqual(await c.list(''), []);
    c.close();
  });

  test('does not cut an upload whose data the server holds for its storage', async () => {
    const c = await LpfClient.connect({ host: '127.0.0.1', port }, { tls: { mode: 'plain' } });
    await c.login('ida', 'idas-password');
    const file = join(dir.path, 'up.bin');
    await writeFile(file, randomBytes(64 * 1024)); // sent in one burst: only the server decides when it is read
    assert.equal((await c.upload(file, 'up.bin')).size, 64 * 1024);
    c.close();
  });

  test('still cuts a connection that sends nothing while the server owes it nothing', async () => {
    const c = await LpfClient.connect({ host: '127.0.0.1', port }, { tls: { mode: 'plain' } });
    await c.login('ida', 'idas-password');
    await delay(3 * IDLE_MS);
    await assert.rejects(c.ping(), (err: { code: string }) => ['LPF_ERR_TIMEOUT', 'LPF_ERR_CONNECTION_LOST'].includes(err.code));
    c.close();
  });
});
