/**
 * `lpf-server users remove` with the server's files on S3 (a real Swift) and its accounts in a real
 * PostgreSQL: the account's objects leave the bucket (files, folder markers, checksum records, partial
 * records and their multipart uploads), another account's stay.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { asUser, runLpf, s3ServerArgs, startServer, tempDir, type RunningServer } from '../helpers/processes.js';
import { skipWithoutPostgres, startPostgres, type Postgres } from '../helpers/postgres.js';
import { users } from '../helpers/server-cli.js';
import { keysUnder } from '../helpers/stored.js';
import { s3Client, sharedSwift, skipWithoutSwift, type RunningSwift } from '../helpers/swift.js';

const skip = skipWithoutSwift() || skipWithoutPostgres();
const PREFIX = 'users-removed';

describe('lpf-server users remove on S3 and PostgreSQL', { skip }, () => {
  let dir: { path: string; cleanup(): Promise<void> };
  let engine: Postgres;
  let swift: RunningSwift;
  let s3: S3Client;
  let url: string;
  let server: RunningServer;

  before(async () => {
    dir = await tempDir('lpf-users-s3-');
    [engine, swift] = await Promise.all([startPostgres(), sharedSwift()]);
    s3 = s3Client(swift);
    url = await engine.newDatabase();
    server = await startServer({ storage: { s3Prefix: PREFIX }, args: ['--accounts', url] });
  });
  after(async () => {
    await server?.stop();
    s3?.destroy();
    await engine?.destroy();
    await dir?.cleanup();
  });

  test("removes the account's objects and multipart uploads from the bucket, and says how many; others stay", async () => {
    const file = join(dir.path, 'a.txt');
    await writeFile(file, 'some text');
    const steps = [
      ['-mkdir', 'docs/empty'],
      ['-upload', file, '--to', 'docs/a.txt'],
    ];
    for (const [i, args] of steps.entries()) {
      const r = await runLpf([server.address, ...args], { env: asUser('remy', 'remy-password', i === 0) });
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal((await runLpf([server.address, '-upload', file], { env: asUser('stay', 'stay-password', true) })).code, 0);
    // A multipart upload whose record was lost, and a record of an upload cut off.
    const bucket = swift.bucket;
    await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: `${PREFIX}/files/remy/big.bin` }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${PREFIX}/partials/remy/0123`, Body: '{}' }));
    const areas = ['files', 'meta', 'partials'].map((area) => `${PREFIX}/${area}/remy/`);
    const before = (await Promise.all(areas.map((p) => keysUnder(p)))).flat();
    assert.ok(before.length >= 4, before.join(' ')); // the file, its record, the folder marker, the partial record

    const s3Args = (await s3ServerArgs(PREFIX)).args;
    const removed = await users(server.root, ['remove', 'remy', '--yes', '--accounts', url, ...s3Args], undefined, swift.env);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, new RegExp(`^removed user "remy"; \\d+ sessions? ended; ${before.length} objects deleted\\n$`));

    for (const prefix of areas) assert.deepEqual(await keysUnder(prefix), [], prefix);
    const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${PREFIX}/files/remy/` }));
    assert.equal(open.Uploads?.length ?? 0, 0, 'no multipart upload of the removed account is left');
    assert.deepEqual(await keysUnder(`${PREFIX}/files/stay/`), [`${PREFIX}/files/stay/a.txt`]);
    const login = await runLpf([server.address, '-list'], { env: asUser('remy', 'remy-password') });
    assert.equal(login.code, 6, login.stderr);
  });

  test('a wrong bucket stops the removal before the account is touched', async () => {
    assert.equal((await runLpf([server.address, '-list'], { env: asUser('kept', 'kept-password', true) })).code, 0);
    const args = ['--storage', 's3://no-such-bucket-here', '--s3-endpoint', swift.endpoint, '--s3-path-style'];
    const removed = await users(server.root, ['remove', 'kept', '--yes', '--accounts', url, ...args], undefined, swift.env);
    assert.equal(removed.code, 10, removed.stderr);
    assert.match(removed.stderr, /bucket "no-such-bucket-here" does not exist.*\[LPF_ERR_SERVER\]/);
    assert.equal((await runLpf([server.address, '-list'], { env: asUser('kept', 'kept-password') })).code, 0);
  });
});
