/**
 * The health check (--health-port): `GET /health` answers 200 with a small JSON when the storage and the
 * accounts backend answer, 503 when one does not (PostgreSQL stopped), and again 200 once it is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HealthListener } from '../../src/server/health.js';
import { createLogger } from '../../src/server/logger.js';
import { startServer, type RunningServer } from '../helpers/processes.js';
import { skipWithoutPostgres, startPostgres, type Postgres } from '../helpers/postgres.js';
import { sharedSwift, skipWithoutSwift, type RunningSwift } from '../helpers/swift.js';
import { waitFor } from '../helpers/wait-for.js';

const skip = skipWithoutPostgres();
const skipS3 = skipWithoutSwift();

/** The health listener's address, from the server's log. */
function healthUrl(server: RunningServer, path = '/health'): string {
  const line = server.logs.find((l) => l.msg === 'health check listening');
  assert.ok(line, 'the server says where its health check listens');
  assert.equal(line.host, '127.0.0.1', 'on loopback by default');
  return `http://127.0.0.1:${String(line.port)}${path}`;
}

async function health(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('health check of a single server (files and local disk)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ args: ['--health-port', '0'] });
  });
  after(() => server?.stop());

  test('GET /health is 200 with which backends answered; anything else is refused', async () => {
    assert.deepEqual(await health(healthUrl(server)), {
      status: 200,
      body: { ok: true, storage: { backend: 'disk', ok: true }, accounts: { backend: 'files', ok: true } },
    });
    assert.equal((await fetch(healthUrl(server, '/other'))).status, 404);
    assert.equal((await fetch(healthUrl(server), { method: 'POST' })).status, 405);
  });

  test('without --health-port there is no health listener', async () => {
    const plain = await startServer();
    try {
      assert.equal(
        plain.logs.find((l) => l.msg === 'health check listening'),
        undefined,
      );
    } finally {
      await plain.stop();
    }
  });
});

describe('health check with the accounts in PostgreSQL', { skip }, () => {
  let engine: Postgres;
  let server: RunningServer;
  before(async () => {
    engine = await startPostgres();
    server = await startServer({ args: ['--accounts', await engine.newDatabase(), '--health-port', '0'] });
  });
  after(async () => {
    await server?.stop();
    await engine?.destroy();
  });

  test('503 while PostgreSQL is down, 200 again once it is back', async () => {
    const url = healthUrl(server);
    assert.deepEqual((await health(url)).body.accounts, { backend: 'postgres', ok: true });
    await engine.stop();
    try {
      const down = await health(url);
      assert.equal(down.status, 503);
      assert.deepEqual(down.body, { ok: false, storage: { backend: 'disk', ok: true }, accounts: { backend: 'postgres', ok: false } });
    } finally {
      await engine.start();
    }
    await waitFor(async () => (await health(url)).status === 200, { what: 'healthy again', timeoutMs: 30_000, everyMs: 200 });
  });
});

describe('health check with the files on S3', { skip: skipS3 }, () => {
  let swift: RunningSwift;
  let server: RunningServer;
  before(async () => {
    swift = await sharedSwift(); // this test process's own Swift (killed when it exits)
    server = await startServer({ storage: { s3Prefix: 'health' }, args: ['--health-port', '0'] });
  });
  after(() => server?.stop());

  test('503 while the object store is gone, 200 again once it is back', async () => {
    const url = healthUrl(server);
    assert.deepEqual(await health(url), {
      status: 200,
      body: { ok: true, storage: { backend: 's3', ok: true }, accounts: { backend: 'files', ok: true } },
    });
    await swift.stopProxy();
    try {
      const down = await health(url);
      assert.equal(down.status, 503);
      assert.deepEqual(down.body, { ok: false, storage: { backend: 's3', ok: false }, accounts: { backend: 'files', ok: true } });
      assert.ok(
        server.logs.some((l) => l.msg === 'health check failed' && l.backend === 's3'),
        'the log says which backend failed',
      );
    } finally {
      await swift.restartProxy();
    }
    await waitFor(async () => (await health(url)).status === 200, { what: 'healthy again', timeoutMs: 30_000, everyMs: 200 });
  });
});

describe('HealthListener', () => {
  test('a failing probe, and a draining server, answer 503', async () => {
    let storageUp = true;
    const probes = {
      storage: { backend: 's3', check: () => (storageUp ? Promise.resolve() : Promise.reject(new Error('bucket gone'))) },
      accounts: { backend: 'files', check: () => Promise.resolve() },
    };
    const listener = new HealthListener(probes, await createLogger('silent', false));
    const { port } = await listener.listen('127.0.0.1', 0);
    const url = `http://127.0.0.1:${port}/health`;
    try {
      assert.equal((await health(url)).status, 200);
      storageUp = false;
      assert.deepEqual(await health(url), {
        status: 503,
        body: { ok: false, storage: { backend: 's3', ok: false }, accounts: { backend: 'files', ok: true } },
      });
      storageUp = true;
      listener.drain();
      assert.deepEqual(await health(url), {
        status: 503,
        body: { ok: false, draining: true, storage: { backend: 's3', ok: true }, accounts: { backend: 'files', ok: true } },
      });
    } finally {
      await listener.close();
    }
  });
});
