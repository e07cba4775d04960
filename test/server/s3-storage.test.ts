import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ContentHasher } from '../../src/protocol/index.js';
import { S3Storage } from '../../src/server/storage/s3/s3-storage.js';
import type { UploadSink } from '../../src/server/storage/storage.js';
import { s3Client, skipWithoutSwift, startSwift, type RunningSwift } from '../helpers/swift.js';
import { waitFor } from '../helpers/wait-for.js';

const skip = skipWithoutSwift();
if (skip) console.error(`\n*** ${skip} ***\n`);

const MiB = 1024 * 1024;
let swift: RunningSwift;
let storage: S3Storage;

function newStorage(): S3Storage {
  Object.assign(process.env, swift.env);
  return new S3Storage({ bucket: swift.bucket, prefix: 'lpf/', endpoint: swift.endpoint, pathStyle: true });
}

before(async () => {
  if (skip) return;
  swift = await startSwift();
  storage = newStorage();
});

after(async () => {
  storage?.close();
  await swift?.stop();
});

/** Writes `data` from the sink's offset, as the server's upload does, stopping after `stopAt` bytes when given. */
async function send(sink: UploadSink, data: Buffer, stopAt = data.length): Promise<{ sha256: string; digests: Buffer[] }> {
  const hasher = new ContentHasher({ previous: sink.digests, onBlock: (d) => sink.recordBlock(d) });
  for (let at = sink.offset; at < stopAt; at += MiB) {
    const chunk = data.subarray(at, Math.min(stopAt, at + MiB));
    hasher.update(chunk);
    if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.onDrain(resolve));
  }
  return { sha256: stopAt === data.length ? hasher.digest() : '', digests: [...hasher.digests] };
}

async function upload(s: S3Storage, user: string, path: string, data: Buffer, key?: string): Promise<{ replaced: number }> {
  const sink = await s.createUpload(user, path, { size: data.length, key });
  return sink.commit(await send(sink, data));
}

async function readAll(s: S3Storage, user: string, path: string): Promise<Buffer> {
  const file = await s.read(user, path);
  const out = Buffer.alloc(file.size);
  for (let at = 0; at < file.size;) at += await file.reader.read(out.subarray(at), at, Math.min(3 * MiB + 7, file.size - at));
  await file.reader.close();
  return out;
}

async function openUploads(): Promise<number> {
  const client = s3Client(swift);
  const out = await client.send(new ListMultipartUploadsCommand({ Bucket: swift.bucket }));
  client.destroy();
  return out.Uploads?.length ?? 0;
}

test('small and multipart uploads appear only when committed, byte-identical, with their checksum', { skip }, async () => {
  const small = randomBytes(100_000);
  const sink = await storage.createUpload('ann', 'small.bin', { size: small.length });
  const checksum = await send(sink, small);
  assert.deepEqual(await storage.list('ann', ''), []);
  assert.deepEqual(await sink.commit(checksum), { replaced: 0 });
  assert.deepEqual(await readAll(storage, 'ann', 'small.bin'), small);
  assert.equal((await storage.read('ann', 'small.bin')).sha256, checksum.sha256);

  const big = randomBytes(21 * MiB + 5);
  const multipart = await storage.createUpload('ann', 'big.bin', { size: big.length });
  const bigChecksum = await send(multipart, big);
  assert.deepEqual(
    (await storage.list('ann', '')).map((e) => e.name),
    ['small.bin'],
  );
  await multipart.commit(bigChecksum);
  assert.deepEqual(await readAll(storage, 'ann', 'big.bin'), big);
  const entries = await storage.list('ann', '', { checksums: true });
  assert.deepEqual(
    entries.map((e) => [e.name, e.size, e.sha256]),
    [
      ['big.bin', big.length, bigChecksum.sha256],
      ['small.bin', small.length, checksum.sha256],
    ],
  );
  assert.equal((await storage.stat('ann', 'big.bin')).mtime, entries[0]?.mtime);
  assert.deepEqual(await upload(storage, 'ann', 'small.bin', Buffer.from('new')), { replaced: small.length });
  assert.equal(await storage.usage('ann'), big.length + 3);
});

/** The S3 requests `run` sends through any client of this process, by command name. */
async function requestsOf(run: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const proto = S3Client.prototype as unknown as { send: (this: S3Client, ...args: unknown[]) => unknown };
  const original = proto.send;
  proto.send = function (this: S3Client, command: unknown, ...rest: unknown[]) {
    sent.push((command as object).constructor.name.replace(/Command$/, ''));
    return original.call(this, command, ...rest);
  };
  try {
    await run();
  } finally {
    proto.send = original;
  }
  return sent;
}

test('a small file costs four requests: two listings for the name rules, HEAD of the old object, one PutObject', { skip }, async () => {
  await storage.makeFolder('amy', 'in');
  const data = randomBytes(4096);
  const sent = await requestsOf(() => upload(storage, 'amy', 'in/f', data));
  assert.deepEqual(sent.sort(), ['HeadObject', 'ListObjectsV2', 'ListObjectsV2', 'PutObject']);
  // The checksum rides on the object itself: there is no record object, and reading it asks nothing more.
  const hasher = new ContentHasher();
  hasher.update(data);
  const sha256 = hasher.digest();
  const client = s3Client(swift);
  const records = await client.send(new ListObjectsV2Command({ Bucket: swift.bucket, Prefix: 'lpf/meta/amy/' }));
  client.destroy();
  assert.equal(records.KeyCount ?? 0, 0);
  const opened = await requestsOf(async () => assert.equal((await storage.read('amy', 'in/f')).sha256, sha256));
  assert.deepEqual(opened.sort(), ['HeadObject', 'ListObjectsV2']);
  const entries = await storage.list('amy', 'in', { checksums: true });
  assert.deepEqual(
    entries.map((e) => [e.name, e.sha256]),
    [['f', sha256]],
  );
  // A copy carries it (CopyObject copies the metadata), and the copy's checksum is still known.
  await storage.copy('amy', 'in/f', 'g', MiB);
  assert.equal((await storage.read('amy', 'g')).sha256, sha256);
});

test('an aborted multipart upload leaves nothing, and the old content stays readable meanwhile', { skip }, async () => {
  await upload(storage, 'bob', 'f', Buffer.from('old content'));
  const data = randomBytes(17 * MiB);
  const sink = await storage.createUpload('bob', 'f', { size: data.length });
  await send(sink, data, 16 * MiB);
  assert.equal((await readAll(storage, 'bob', 'f')).toString(), 'old content');
  await sink.abort();
  assert.equal(await openUploads(), 0);
  assert.equal((await readAll(storage, 'bob', 'f')).toString(), 'old content');
});

test('folders: markers, listings flat and recursive, the errors DiskStorage gives', { skip }, async () => {
  await storage.makeFolder('cat', 'a/b/c');
  await upload(storage, 'cat', 'a/b/x.txt', Buffer.from('x'));
  await upload(storage, 'cat', 'a-z', Buffer.from('z'));
  assert.deepEqual(
    (await storage.list('cat', '')).map((e) => [e.name, e.dir === true]),
    [
      ['a', true],
      ['a-z', false],
    ],
  );
  assert.deepEqual(
    (await storage.list('cat', '', { recursive: true })).map((e) => e.name),
    ['a', 'a/b', 'a/b/c', 'a/b/x.txt', 'a-z'],
  );
  assert.deepEqual(
    (await storage.list('cat', 'a/b')).map((e) => e.name),
    ['c', 'x.txt'],
  );
  assert.equal((await storage.stat('cat', 'a/b')).dir, true);
  await assert.rejects(storage.delete('cat', 'a/b'), { code: 'LPF_ERR_NOT_EMPTY' });
  await assert.rejects(storage.createUpload('cat', 'nope/f', { size: 1 }), { code: 'LPF_ERR_NOT_FOUND' });
  await assert.rejects(storage.createUpload('cat', 'a-z/f', { size: 1 }), { code: 'LPF_ERR_NOT_FOLDER' });
  await assert.rejects(storage.createUpload('cat', 'a/b', { size: 1 }), { code: 'LPF_ERR_IS_FOLDER' });
  await assert.rejects(storage.makeFolder('cat', 'a-z'), { code: 'LPF_ERR_EXISTS' });
  await assert.rejects(storage.read('cat', 'a'), { code: 'LPF_ERR_IS_FOLDER' });
  await assert.rejects(storage.read('cat', 'missing'), { code: 'LPF_ERR_NOT_FOUND' });
  await assert.rejects(storage.list('cat', 'missing'), { code: 'LPF_ERR_NOT_FOUND' });
  assert.equal(await storage.delete('cat', 'a/b/c'), 0);
  assert.equal(await storage.delete('cat', 'a/b/x.txt'), 1);
  assert.deepEqual(
    (await storage.list('cat', '', { recursive: true })).map((e) => e.name),
    ['a', 'a/b', 'a-z'],
  );
});

test('rename and copy of files and folders carry their checksum records', { skip }, async () => {
  const data = randomBytes(9 * MiB);
  await storage.makeFolder('dan', 'docs/sub');
  await upload(storage, 'dan', 'docs/sub/big', data);
  await upload(storage, 'dan', 'docs/one', Buffer.from('one'));
  const sha = (await storage.read('dan', 'docs/sub/big')).sha256;
  assert.ok(sha);
  await storage.rename('dan', 'docs', 'papers');
  assert.deepEqual(
    (await storage.list('dan', '', { recursive: true })).map((e) => e.name),
    ['papers', 'papers/one', 'papers/sub', 'papers/sub/big'],
  );
  assert.equal((await storage.read('dan', 'papers/sub/big')).sha256, sha);
  assert.equal(await storage.copy('dan', 'papers', 'copy', 10 * MiB), data.length + 3);
  assert.deepEqual(await readAll(storage, 'dan', 'copy/sub/big'), data);
  assert.equal((await storage.read('dan', 'copy/sub/big')).sha256, sha);
  await storage.rename('dan', 'copy/one', 'copy/two');
  assert.equal((await readAll(storage, 'dan', 'copy/two')).toString(), 'one');
  await assert.rejects(storage.copy('dan', 'papers', 'more', MiB), { code: 'LPF_ERR_QUOTA' });
  await assert.rejects(storage.rename('dan', 'papers', 'copy'), { code: 'LPF_ERR_EXISTS' });
  await assert.rejects(storage.rename('dan', 'papers', 'papers/in'), { code: 'LPF_ERR_BAD_NAME' });
  await assert.rejects(storage.rename('dan', 'nothing', 'x'), { code: 'LPF_ERR_NOT_FOUND' });
});

test('a download fails clearly when its file is replaced midway, never mixing contents', { skip }, async () => {
  await upload(storage, 'eve', 'f', randomBytes(2 * MiB));
  const file = await storage.read('eve', 'f');
  const buffer = Buffer.alloc(MiB);
  await file.reader.read(buffer, 0, 1024);
  await upload(storage, 'eve', 'f', randomBytes(2 * MiB));
  // The open stream may still hold buffered old bytes; a read at a new position asks the store again.
  await assert.rejects(file.reader.read(buffer, MiB, MiB), { code: 'LPF_ERR_SERVER', message: /replaced/ });
  await file.reader.close();
});

test('a cut-off upload resumes through another server on the same bucket, from its completed parts', { skip }, async () => {
  const data = randomBytes(30 * MiB + 123);
  const first = await storage.createUpload('fay', 'movie', { size: data.length, key: 'k1' });
  assert.equal(first.resumable, true);
  await send(first, data, 20 * MiB);
  await first.suspend();
  const other = newStorage();
  try {
    assert.equal(await other.keptPartialBytes('fay'), 16 * MiB);
    const [kept, ...more] = await other.partials('fay', '');
    assert.deepEqual({ ...kept, mtime: 0 }, { name: 'movie', size: data.length, received: 16 * MiB, mtime: 0 });
    assert.deepEqual(more, []);
    assert.deepEqual(await other.partials('fay', 'elsewhere'), []);
    assert.equal(await other.keptPartialBytes('fay', { path: 'movie', request: { size: data.length, key: 'k1' } }), 0);
    const second = await other.createUpload('fay', 'movie', { size: data.length, key: 'k1' });
    assert.equal(second.offset, 16 * MiB);
    assert.equal(second.digests.length, 4);
    await second.commit(await send(second, data));
    assert.deepEqual(await readAll(other, 'fay', 'movie'), data);
    assert.equal(await other.keptPartialBytes('fay'), 0);
    assert.deepEqual(await other.partials('fay', ''), []);
    assert.equal(await openUploads(), 0);
  } finally {
    other.close();
  }
});

test('the sweep aborts cut-off uploads older than the TTL, and multipart uploads no record names', { skip }, async () => {
  const data = randomBytes(17 * MiB);
  const cut = await storage.createUpload('gus', 'f', { size: data.length, key: 'k' });
  await send(cut, data, 9 * MiB);
  await cut.suspend();
  assert.equal(await storage.sweepPartials(3_600_000), 0);
  assert.equal(await storage.keptPartialBytes('gus'), 8 * MiB);
  assert.equal(await storage.sweepPartials(-1), 1);
  assert.equal(await storage.keptPartialBytes('gus'), 0);
  assert.equal(await openUploads(), 0);
  const again = await storage.createUpload('gus', 'f', { size: data.length, key: 'k' });
  assert.equal(again.offset, 0);
  await again.abort();
});

test('an upload holds at most two parts: one in flight and one full waiting, then asks the sender to wait', { skip }, async () => {
  const data = randomBytes(30 * MiB);
  const sink = await storage.createUpload('jon', 'f', { size: data.length });
  // Written without waiting: the first part goes out, the second waits full, and the third chunk is refused room.
  assert.equal(sink.write(data.subarray(0, 8 * MiB)), true);
  assert.equal(sink.write(data.subarray(8 * MiB, 16 * MiB)), false);
  await new Promise<void>((resolve) => sink.onDrain(resolve));
  const hasher = new ContentHasher();
  hasher.update(data);
  assert.equal(sink.write(data.subarray(16 * MiB)), false);
  await sink.commit({ sha256: hasher.digest(), digests: [...hasher.digests] });
  assert.deepEqual(await readAll(storage, 'jon', 'f'), data);
});

test(
  'uploads share one budget of part buffers: a spent budget holds the sender, and every upload still finishes whole',
  { skip },
  async () => {
    const tight = new S3Storage(
      { bucket: swift.bucket, prefix: 'lpf/', endpoint: swift.endpoint, pathStyle: true },
      { partBudget: 16 * MiB },
    );
    try {
      const files = [0, 1, 2, 3].map(() => randomBytes(20 * MiB + 1));
      const sinks = await Promise.all(files.map((_, i) => tight.createUpload('lea', `f${i}`, { size: 20 * MiB + 1 })));
      // Two parts fill the budget: the third upload's first chunk is kept and its sender told to wait.
      assert.equal(sinks[0]!.write(files[0]!.subarray(0, MiB)), true);
      assert.equal(sinks[1]!.write(files[1]!.subarray(0, MiB)), true);
      assert.equal(sinks[2]!.write(files[2]!.subarray(0, MiB)), false);
      await Promise.all(sinks.map(async (sink, i) => sink.commit(await sendFrom(sink, files[i]!, i < 3 ? MiB : 0))));
      for (const [i, data] of files.entries()) assert.deepEqual(await readAll(tight, 'lea', `f${i}`), data);
      assert.equal(await openUploads(), 0);
    } finally {
      tight.close();
    }
  },
);

test('a commit that comes while the last chunk still waits for the budget stores the whole file', { skip }, async () => {
  const tight = new S3Storage(
    { bucket: swift.bucket, prefix: 'lpf/', endpoint: swift.endpoint, pathStyle: true },
    { partBudget: 16 * MiB },
  );
  try {
    const holders = await Promise.all(['h1', 'h2'].map((name) => tight.createUpload('max', name, { size: 9 * MiB })));
    for (const holder of holders) assert.equal(holder.write(Buffer.alloc(MiB)), true); // each takes an 8 MiB buffer
    const data = randomBytes(8 * MiB);
    const sink = await tight.createUpload('max', 'f', { size: data.length });
    assert.equal(sink.write(data), false);
    const hasher = new ContentHasher();
    hasher.update(data);
    const committed = sink.commit({ sha256: hasher.digest(), digests: [...hasher.digests] });
    await Promise.all(holders.map((holder) => holder.abort()));
    await committed;
    assert.deepEqual(await readAll(tight, 'max', 'f'), data);
  } finally {
    tight.close();
  }
});

/** As send(), after `from` bytes the test wrote itself (waiting for the drain those asked for). */
async function sendFrom(sink: UploadSink, data: Buffer, from: number): Promise<{ sha256: string; digests: Buffer[] }> {
  await new Promise<void>((resolve) => sink.onDrain(resolve));
  const hasher = new ContentHasher();
  hasher.update(data.subarray(0, from));
  for (let at = from; at < data.length; at += MiB) {
    const chunk = data.subarray(at, Math.min(data.length, at + MiB));
    hasher.update(chunk);
    if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.onDrain(resolve));
  }
  return { sha256: hasher.digest(), digests: [...hasher.digests] };
}

test('the sweep also aborts old multipart uploads that no record names (a record lost)', { skip }, async () => {
  const client = s3Client(swift);
  await client.send(new CreateMultipartUploadCommand({ Bucket: swift.bucket, Key: 'lpf/files/kim/orphan' }));
  client.destroy();
  assert.equal(await openUploads(), 1);
  assert.equal(await storage.sweepPartials(3_600_000), 0, 'a young one is left alone');
  // Swift dates an upload by the next whole second: it is "older than -1 ms" once that second has come.
  await waitFor(async () => (await storage.sweepPartials(-1)) === 1, { what: 'the sweep aborts the orphan' });
  assert.equal(await openUploads(), 0);
});

test('files placed by other tools are listed with a computed checksum; keys no name can be are not', { skip }, async () => {
  const client = s3Client(swift);
  await client.send(new PutObjectCommand({ Bucket: swift.bucket, Key: 'lpf/files/hal/placed', Body: Buffer.from('placed') }));
  await client.send(new PutObjectCommand({ Bucket: swift.bucket, Key: 'lpf/files/hal/bad//name', Body: Buffer.from('x') }));
  client.destroy();
  const hasher = new ContentHasher();
  hasher.update(Buffer.from('placed'));
  const entries = await storage.list('hal', '', { checksums: true, recursive: true });
  assert.deepEqual(
    entries.map((e) => [e.name, e.sha256]),
    [['placed', hasher.digest()]],
  );
});

test('a store that goes away fails commands with LPF_ERR_SERVER, and they work again when it is back', { skip }, async () => {
  await upload(storage, 'ivy', 'f', Buffer.from('kept'));
  await swift.stopProxy();
  try {
    await assert.rejects(storage.list('ivy', ''), { code: 'LPF_ERR_SERVER', message: /object store/ });
  } finally {
    await swift.restartProxy();
  }
  assert.equal((await readAll(storage, 'ivy', 'f')).toString(), 'kept');
});
