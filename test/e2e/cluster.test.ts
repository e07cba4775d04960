/**
 * The cluster end to end: two real lpf-server processes with the same certificate, their files on one
 * Swift bucket (s3api) and their accounts in one PostgreSQL, behind a real HAProxy in TCP mode that
 * balances round robin and checks each server's GET /health. The real lpf client talks to HAProxy's port
 * only (but to cut an upload on server A): whichever server answers, it is one service.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createSelfSigned } from '../../src/server/tls/certificate.js';
import { sha256File, writeRandomFile } from '../helpers/files.js';
import { HAPROXY_SOURCE, skipWithoutHaproxy, startHaproxy, type RunningHaproxy } from '../helpers/haproxy.js';
import { skipWithoutPostgres, startPostgres, type Postgres } from '../helpers/postgres.js';
import { asUser, collect, runLpf, spawnLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';
import { s3Client, sharedSwift, skipWithoutSwift, type RunningSwift } from '../helpers/swift.js';
import { waitFor } from '../helpers/wait-for.js';

const MiB = 1024 * 1024;
const skip = skipWithoutSwift() || skipWithoutPostgres() || skipWithoutHaproxy();
if (skip) console.error(`\n*** ${skip}: cluster tests SKIPPED ***\n`);

/**
 * Every client reaches the servers from 127.0.0.1 (the address HAProxy's PROXY header names, or their own
 * when they connect directly): the limits per address are raised explicitly, as SERVER.md tells load
 * tests to, and short passwords are allowed.
 */
const RAISED_LIMITS = ['--max-per-address', '1000', '--register-limit', '1000', '--min-password', '1'];
const PREFIX = 'one-cluster';

/** The port a server's health check listens on, from its log. */
function healthPort(server: RunningServer): number {
  const line = server.logs.find((l) => l.msg === 'health check listening');
  assert.ok(line, 'the server says where its health check listens');
  return line.port as number;
}

/** Log lines of `server` with this message about `user`. */
function logged(server: RunningServer, msg: string, user: string): Record<string, unknown>[] {
  return server.logs.filter((l) => l.msg === msg && l.user === user);
}

describe('two servers on one bucket and one PostgreSQL, behind HAProxy', { skip }, () => {
  let dir: { path: string; cleanup(): Promise<void> };
  let engine: Postgres;
  let swift: RunningSwift;
  let s3: S3Client;
  let a: RunningServer;
  let b: RunningServer;
  let proxy: RunningHaproxy;
  /** The client's own configuration folder: its known hosts and its session for HAProxy's address. */
  let client: Record<string, string>;
  const password = 'hanas-password';

  before(async () => {
    dir = await tempDir('lpf-cluster-');
    [engine, swift] = await Promise.all([startPostgres(), sharedSwift()]);
    s3 = s3Client(swift);
    const url = await engine.newDatabase();
    // One certificate for both: the client pins HAProxy's address to it, whichever server answers.
    const identity = await createSelfSigned('lpf-cluster');
    const [cert, key] = [join(dir.path, 'cert.pem'), join(dir.path, 'key.pem')];
    await writeFile(cert, identity.cert);
    await writeFile(key, identity.key, { mode: 0o600 });
    const args = [
      '--accounts',
      url,
      '--health-port',
      '0',
      '--cert',
      cert,
      '--key',
      key,
      '--proxy-protocol',
      HAPROXY_SOURCE,
      ...RAISED_LIMITS,
    ];
    const start = () => startServer({ defaultLimits: true, storage: { s3Prefix: PREFIX }, args });
    [a, b] = await Promise.all([start(), start()]); // at once: the migrations hold when two servers start together
    proxy = await startHaproxy(dir.path, [
      { name: 'a', port: a.port, healthPort: healthPort(a) },
      { name: 'b', port: b.port, healthPort: healthPort(b) },
    ]);
    client = { XDG_CONFIG_HOME: join(dir.path, 'client') };
  });

  after(async () => {
    await proxy?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
    s3?.destroy();
    await engine?.destroy();
    await dir?.cleanup();
  });

  test('HAProxy counts both servers up by their health checks (S3 and PostgreSQL answer)', async () => {
    await proxy.waitForStates({ a: 'UP', b: 'UP' });
    for (const server of [a, b]) {
      const res = await fetch(`http://127.0.0.1:${healthPort(server)}/health`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { ok: true, storage: { backend: 's3', ok: true }, accounts: { backend: 'postgres', ok: true } });
    }
  });

  test('register, log in, upload 10 MiB and download it through both servers, list, one session for both', async () => {
    await proxy.waitForStates({ a: 'UP', b: 'UP' });
    const via = proxy.address;
    const signUp = await runLpf([via, '-list'], { env: { ...client, ...asUser('hana', password, true) } });
    assert.equal(signUp.code, 0, signUp.stderr);
    const login = await runLpf([via, '-login'], { env: { ...client, ...asUser('hana', password) } });
    assert.equal(login.code, 0, login.stderr);
    // From here on, the stored session alone.
    const file = join(dir.path, 'ten.bin');
    await writeRandomFile(file, 10 * MiB);
    const up = await runLpf([via, '-upload', file, '--to', 'ten.bin'], { env: client });
    assert.equal(up.code, 0, up.stderr);
    // Round robin: downloads through HAProxy reach both servers, each a byte-identical copy.
    const sentBy = (server: RunningServer) => logged(server, 'download sent', 'hana').length;
    for (let i = 1; sentBy(a) === 0 || sentBy(b) === 0; i++) {
      assert.ok(i <= 6, 'six downloads through HAProxy all went to the same server');
      const back = join(dir.path, `ten-back-${i}.bin`);
      const down = await runLpf([via, '-download', 'ten.bin', '--to', back], { env: client });
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await sha256File(back), await sha256File(file), `download ${i} is byte-identical`);
      await waitFor(() => sentBy(a) + sentBy(b) === i, { what: `download ${i} is logged` });
    }
    const list = await runLpf([via, '-list', '--json'], { env: client });
    assert.equal(list.code, 0, list.stderr);
    const { entries } = JSON.parse(list.stdout) as { entries: { name: string; size: number }[] };
    assert.deepEqual(
      entries.map((e) => [e.name, e.size]),
      [['ten.bin', 10 * MiB]],
    );
    const who = await runLpf([via, '-whoami'], { env: client });
    assert.equal(who.code, 0, who.stderr);
    assert.match(who.stdout, /^hana on /);
    // The one session, started through HAProxy, worked on both servers.
    await waitFor(() => [a, b].every((server) => logged(server, 'logged in with a session', 'hana').length >= 1), {
      what: 'each server took the session',
    });
    await waitFor(() => logged(a, 'upload stored', 'hana').length + logged(b, 'upload stored', 'hana').length === 1, {
      what: 'one of them stored the upload',
    });
  });

  test("through HAProxy's PROXY v2 header, each server sees the client's address, never HAProxy's", () => {
    // HAProxy connects from 127.0.0.2 (HAPROXY_SOURCE); the lpf client from 127.0.0.1, as its header says.
    for (const server of [a, b]) {
      const peers = server.logs.filter((l) => l.msg === 'connected').map((l) => String(l.peer));
      assert.ok(peers.length > 0, 'the downloads above reached both servers');
      for (const peer of peers) assert.match(peer, /^127\.0\.0\.1:\d+$/);
    }
  });

  test('kill -9 of A mid-upload: the upload resumes through HAProxy on B without resending stored parts', async () => {
    const big = join(dir.path, 'big.bin');
    await writeRandomFile(big, 120 * MiB);
    // Through A's own port, to know which server to kill.
    const upload = collect(
      spawnLpf([a.address, '-upload', big, '--to', 'big.bin'], { env: { ...client, ...asUser('hana', password) } }),
      120_000,
    );
    const records = `${PREFIX}/partials/hana/`;
    const stored = async (): Promise<{ parts: unknown[]; partSize: number } | undefined> => {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: swift.bucket, Prefix: records }));
      const key = out.Contents?.[0]?.Key;
      if (key === undefined) return undefined;
      const body = await (await s3.send(new GetObjectCommand({ Bucket: swift.bucket, Key: key }))).Body?.transformToString();
      return body ? (JSON.parse(body) as { parts: unknown[]; partSize: number }) : undefined;
    };
    await waitFor(async () => ((await stored())?.parts.length ?? 0) >= 1, { what: 'A has stored a part', everyMs: 10 });
    a.process.kill('SIGKILL');
    const cut = await upload;
    assert.equal(cut.code, 4, cut.stderr);
    const record = await stored();
    assert.ok(record, 'the record of the cut-off upload is in the bucket');
    const kept = record.parts.length * record.partSize;
    assert.ok(kept > 0 && kept < 120 * MiB, `A kept ${kept} bytes`);

    await proxy.waitForStates({ a: 'DOWN', b: 'UP' }); // its health check no longer answers
    const again = await runLpf([proxy.address, '-upload', big, '--to', 'big.bin', '--json'], { env: client });
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { resumedFrom: number }).resumedFrom, kept, 'the client sent only what A had not stored');
    const resumed = await waitFor(() => logged(b, 'upload resumed', 'hana')[0], { what: 'B logs the resume' });
    assert.equal(resumed.offset, kept);

    const back = join(dir.path, 'big-back.bin');
    const down = await runLpf([proxy.address, '-download', 'big.bin', '--to', back], { env: client });
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await sha256File(back), await sha256File(big));
    const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: swift.bucket, Prefix: `${PREFIX}/` }));
    assert.equal(open.Uploads?.length ?? 0, 0, 'no multipart upload left open');
  });
});
