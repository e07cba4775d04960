/**
 * Two lpf-server processes on one bucket (a real Swift with s3api): what one stores the other serves, and
 * an upload cut off by a kill -9 of one resumes through the other from the parts already stored. Both
 * read the same accounts (one --root) until the accounts move to PostgreSQL.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { sha256File, writeRandomFile } from '../helpers/files.js';
import { spawn } from 'node:child_process';
import {
  asUser,
  cleanEnv,
  collect,
  LPF_SERVER,
  runLpf,
  s3ServerArgs,
  spawnLpf,
  startServer,
  tempDir,
  type RunningServer,
} from '../helpers/processes.js';
import { s3Client, sharedSwift, skipWithoutSwift, type RunningSwift } from '../helpers/swift.js';
import { waitFor } from '../helpers/wait-for.js';

const MiB = 1024 * 1024;
const skip = skipWithoutSwift();
if (skip) console.error(`\n*** ${skip} ***\n`);

describe('two servers on one bucket', { skip }, () => {
  let dir: { path: string; cleanup(): Promise<void> };
  let swift: RunningSwift;
  let client: S3Client;
  let a: RunningServer;
  let b: RunningServer;
  const prefix = 'cluster';
  const user = asUser('cleo', 'cleos-password');

  before(async () => {
    dir = await tempDir();
    swift = await sharedSwift();
    client = s3Client(swift);
    const root = join(dir.path, 'root');
    a = await startServer({ root, storage: { s3Prefix: prefix } });
    b = await startServer({ root, storage: { s3Prefix: prefix } });
    const signUp = await runLpf([a.address, '-list'], { env: asUser('cleo', 'cleos-password', true) });
    assert.equal(signUp.code, 0, signUp.stderr);
    // B reads the accounts file A wrote once its watcher sees the change.
    await waitFor(async () => (await runLpf([b.address, '-list'], { env: user })).code === 0, { what: 'B knows the new account' });
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
    client?.destroy();
    await dir?.cleanup();
  });

  test('logs name the S3 storage', () => {
    const listening = a.logs.find((l) => l.msg === 'listening');
    assert.equal(listening?.storage, 's3');
  });

  test('a file uploaded through A downloads through B byte-identical; listings, rename, copy and delete agree', async () => {
    const file = join(dir.path, 'report.bin');
    await writeRandomFile(file, 21 * MiB + 3);
    const up = await runLpf([a.address, '-upload', file, '--to', 'report.bin'], { env: user });
    assert.equal(up.code, 0, up.stderr);
    const back = join(dir.path, 'back.bin');
    const down = await runLpf([b.address, '-download', 'report.bin', '--to', back], { env: user });
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await sha256File(back), await sha256File(file));
    for (const args of [
      ['-mkdir', 'docs'],
      ['-rename', 'report.bin', 'docs/report.bin'],
      ['-copy', 'docs', 'copy'],
    ]) {
      const r = await runLpf([a.address, ...args], { env: user });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    const list = await runLpf([b.address, '-list', '-r', '--json'], { env: user });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /copy\/report\.bin/);
    assert.match(list.stdout, /docs\/report\.bin/);
    const gone = await runLpf([b.address, '-delete', 'copy/report.bin'], { env: user });
    assert.equal(gone.code, 0, gone.stderr);
  });

  test('concurrent multipart uploads through one server all arrive byte-identical', async () => {
    // 6 uploads of three parts each, their parts interleaved on the store.
    const files = [0, 1, 2, 3, 4, 5].map((i) => join(dir.path, `many-${i}.bin`));
    for (const file of files) await writeRandomFile(file, 20 * MiB + 1);
    const ups = await Promise.all(files.map((file, i) => runLpf([a.address, '-upload', file, '--to', `many/${i}.bin`], { env: user })));
    for (const up of ups) assert.equal(up.code, 0, up.stderr);
    for (const [i, file] of files.entries()) {
      const back = join(dir.path, `many-back-${i}.bin`);
      const down = await runLpf([b.address, '-download', `many/${i}.bin`, '--to', back], { env: user });
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await sha256File(back), await sha256File(file));
    }
  });

  test('an upload cut off by kill -9 of A resumes through B without resending its stored parts', async () => {
    const big = join(dir.path, 'big.bin');
    await writeRandomFile(big, 120 * MiB);
    const upload = collect(spawnLpf([a.address, '-upload', big, '--to', 'big.bin'], { env: user }), 120_000);
    const records = `${prefix}/partials/cleo/`;
    await waitFor(
      async () => {
        const out = await client.send(new ListObjectsV2Command({ Bucket: swift.bucket, Prefix: records }));
        return (out.Contents ?? []).some((o) => (o.Size ?? 0) > 400); // a record with parts and their digests
      },
      { what: 'A has stored a part', everyMs: 5 },
    );
    a.process.kill('SIGKILL');
    const cut = await upload;
    assert.equal(cut.code, 4, cut.stderr);
    const again = await runLpf([b.address, '-upload', big, '--to', 'big.bin'], { env: user });
    assert.equal(again.code, 0, again.stderr);
    const resumed = b.logs.find((l) => l.msg === 'upload resumed');
    assert.ok(resumed && (resumed.offset as number) >= 8 * MiB, `B resumed part way: ${JSON.stringify(resumed)}`);
    const back = join(dir.path, 'big-back.bin');
    const down = await runLpf([b.address, '-download', 'big.bin', '--to', back], { env: user });
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await sha256File(back), await sha256File(big));
    const open = await client.send(new ListMultipartUploadsCommand({ Bucket: swift.bucket, Prefix: `${prefix}/` }));
    assert.equal(open.Uploads?.length ?? 0, 0, 'no multipart upload left open');
  });
});

describe('a store that goes away', { skip }, () => {
  test('commands fail with LPF_ERR_SERVER (exit 10) while it is gone, and work again once it is back', async () => {
    const swift = await sharedSwift();
    const server = await startServer({ storage: { s3Prefix: 'away' } });
    const env = asUser('wes', 'wes-password');
    try {
      assert.equal((await runLpf([server.address, '-list'], { env: asUser('wes', 'wes-password', true) })).code, 0);
      await swift.stopProxy();
      try {
        const gone = await runLpf([server.address, '-list'], { env });
        assert.equal(gone.code, 10, gone.stderr);
        assert.match(gone.stderr, /object store is unreachable.*\[LPF_ERR_SERVER\]/);
      } finally {
        await swift.restartProxy();
      }
      const back = await runLpf([server.address, '-mkdir', 'after'], { env });
      assert.equal(back.code, 0, back.stderr);
      assert.equal(server.process.exitCode, null, 'the server kept running');
    } finally {
      await server.stop();
    }
  });
});

describe('start-up errors name the setting', { skip }, () => {
  test('a missing bucket, a bad URL', async () => {
    const dir = await tempDir();
    try {
      const s3 = await s3ServerArgs('x');
      const args = s3.args.map((arg) => arg.replace(/^s3:\/\/[^/]+/, 's3://no-such-bucket'));
      const missing = await collect(
        spawn(process.execPath, [LPF_SERVER, '--root', dir.path, '--port', '0', ...args], { env: cleanEnv(s3.env) }),
        60_000,
      );
      assert.equal(missing.code, 10);
      assert.match(missing.stderr, /bucket "no-such-bucket" does not exist/);
      const bad = await collect(
        spawn(process.execPath, [LPF_SERVER, '--root', dir.path, '--storage', 's3://A'], { env: cleanEnv() }),
        60_000,
      );
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--storage: expected s3:\/\/BUCKET/);
    } finally {
      await dir.cleanup();
    }
  });
});
