/**
 * The idle timeout measures the peer's silence, not the server's: a client waiting for the answer to a
 * command the server is still working on (a password hash or a storage call on a busy machine) is not idle.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { LpfClient } from '../../src/client/client.js';
import type { ListEntry } from '../../src/protocol/index.js';
import { createLogger } from '../../src/server/logger.js';
import { DEFAULT_LIMITS } from '../../src/server/limits/limits.js';
import { LpfServer } from '../../src/server/server.js';
import { DiskStorage } from '../../src/server/storage/disk-storage.js';
import type { ListOptions } from '../../src/server/storage/storage.js';
import { tempDir } from '../helpers/processes.js';

const IDLE_MS = 200;

/** A disk whose listings take three idle timeouts to answer, as a slow store might. */
class SlowListing extends DiskStorage {
  override async list(user: string, path: string, options?: ListOptions): Promise<ListEntry[]> {
    await delay(3 * IDLE_MS);
    return super.list(user, path, options);
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
      storage: new SlowListing(root),
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

  test('still cuts a connection that sends nothing while the server owes it nothing', async () => {
    const c = await LpfClient.connect({ host: '127.0.0.1', port }, { tls: { mode: 'plain' } });
    await c.login('ida', 'idas-password');
    await delay(3 * IDLE_MS);
    await assert.rejects(c.ping(), (err: { code: string }) => ['LPF_ERR_TIMEOUT', 'LPF_ERR_CONNECTION_LOST'].includes(err.code));
    c.close();
  });
});
