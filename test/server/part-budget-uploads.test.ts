/**
 * Many concurrent S3 uploads of two parts each through one in-process server whose part budget is a few
 * parts: every upload must be stored (issue 13: with a 64 MiB budget, 200 uploads of 16 MiB from one
 * process stalled for good). The object store is a fake in this process (S3Client.send answered from
 * memory, a turn of the event loop later); the connections, the server, the uploads and the client
 * library are the real ones. The second test is the bench's case: the clients of one process share its
 * pool of send buffers, which the connections the server holds for the budget used to keep all of
 * (see spareWhenSpent in send-file.ts).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { LpfClient } from '../../src/client/client.js';
import { BLOCK_SIZE, ContentHasher, encodeDataHeader, MAX_DATA_PAYLOAD } from '../../src/protocol/index.js';
import { DEFAULT_LIMITS } from '../../src/server/limits/limits.js';
import { createLogger } from '../../src/server/logger.js';
import { LpfServer } from '../../src/server/server.js';
import { S3Storage } from '../../src/server/storage/s3/s3-storage.js';
import { tempDir } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait-for.js';

const MiB = 1024 * 1024;
const PART = 8 * MiB;

/** What the fake store reads of a request. */
interface CommandInput {
  Key?: string;
  Prefix?: string;
  Body?: Buffer;
  UploadId?: string;
  PartNumber?: number;
}

/** An object store in memory that keeps, of each part, its digest only (the test's uploads are large). */
class FakeStore {
  readonly objects = new Map<string, Buffer>();
  /** Completed multipart objects: the digests of their parts, in order. */
  readonly completed = new Map<string, string[]>();
  readonly #uploads = new Map<string, Map<number, string>>();
  #next = 0;

  async send(command: { constructor: { name: string }; input: CommandInput }): Promise<unknown> {
    await new Promise((resolve) => setImmediate(resolve)); // answered later, as over the network
    return this.#answer(command.constructor.name, command.input);
  }

  #answer(name: string, input: CommandInput): unknown {
    const key = String(input.Key);
    switch (name) {
      case 'PutObjectCommand':
        this.objects.set(key, Buffer.from(input.Body as Buffer));
        return { ETag: '"put"' };
      case 'GetObjectCommand':
      case 'HeadObjectCommand':
        return this.#read(name, key);
      case 'DeleteObjectCommand':
        this.objects.delete(key);
        return {};
      case 'ListObjectsV2Command': {
        const keys = [...this.objects.keys()].filter((k) => k.startsWith(input.Prefix ?? ''));
        return { Contents: keys.map((k) => ({ Key: k, Size: this.objects.get(k)!.length, ETag: '"x"' })), IsTruncated: false };
      }
      case 'CreateMultipartUploadCommand': {
        const id = `u${this.#next++}`;
        this.#uploads.set(id, new Map());
        return { UploadId: id };
      }
      case 'UploadPartCommand': {
        const body = input.Body as Buffer;
        this.#uploads.get(String(input.UploadId))!.set(Number(input.PartNumber), createHash('sha256').update(body).digest('hex'));
        return { ETag: `"p${String(input.PartNumber)}"` };
      }
      case 'CompleteMultipartUploadCommand': {
        const parts = this.#uploads.get(String(input.UploadId))!;
        this.completed.set(
          key,
          [...parts.keys()].sort((a, b) => a - b).map((n) => parts.get(n)!),
        );
        this.#uploads.delete(String(input.UploadId));
        return { ETag: '"done"' };
      }
      case 'AbortMultipartUploadCommand':
        this.#uploads.delete(String(input.UploadId));
        return {};
      default:
        throw new Error(`the fake store does not do ${name}`);
    }
  }

  #read(name: string, key: string): unknown {
    const body = this.objects.get(key);
    if (!body) throw new S3ServiceException({ name: 'NotFound', $fault: 'client', $metadata: { httpStatusCode: 404 } });
    if (name === 'HeadObjectCommand') return { ContentLength: body.length, ETag: '"put"', LastModified: new Date(), Metadata: {} };
    return { Body: { transformToByteArray: () => Promise.resolve(new Uint8Array(body)) }, LastModified: new Date() };
  }
}

function checksumOf(content: Buffer): string {
  const hasher = new ContentHasher();
  hasher.update(content);
  return hasher.digest();
}

/** Sends a whole upload (request, data in frames of the largest payload, end) without waiting for 'ready'. */
function sendUpload(peer: RawPeer, name: string, content: Buffer): void {
  peer.send({ type: 'upload', name, size: content.length });
  for (let at = 0; at < content.length; at += MAX_DATA_PAYLOAD) {
    const chunk = content.subarray(at, at + MAX_DATA_PAYLOAD);
    peer.writeRaw(encodeDataHeader(chunk.length));
    peer.writeRaw(chunk);
  }
  peer.send({ type: 'end', sha256: checksumOf(content) });
}

function partDigests(content: Buffer): string[] {
  const digests: string[] = [];
  for (let at = 0; at < content.length; at += PART)
    digests.push(
      createHash('sha256')
        .update(content.subarray(at, at + PART))
        .digest('hex'),
    );
  return digests;
}

describe('concurrent S3 uploads under a part budget of a few parts', () => {
  const store = new FakeStore();
  // S3Client inherits send: the fake is set on S3Client's own prototype, and deleted after.
  const prototype = S3Client.prototype as unknown as { send?: FakeStore['send'] };
  assert.equal(Object.hasOwn(prototype, 'send'), false);
  let dir: { path: string; cleanup(): Promise<void> };
  let server: LpfServer;
  let port: number;

  before(async () => {
    prototype.send = (command) => store.send(command);
    dir = await tempDir();
    server = new LpfServer({
      host: '127.0.0.1',
      port: 0,
      root: dir.path,
      allowRegistration: true,
      tls: undefined,
      limits: { ...DEFAULT_LIMITS, minPasswordChars: 1, maxPerAddress: 100 },
      log: await createLogger('silent', false),
      storage: new S3Storage({ bucket: 'fake-bucket', prefix: '', endpoint: 'http://127.0.0.1:9' }, { partBudget: 3 * PART }),
    });
    port = (await server.listen()).port;
    (await RawPeer.session(port, 'many', 'pw', true, { plain: true })).close();
  });
  after(async () => {
    await server.close();
    await dir.cleanup();
    delete prototype.send;
  });

  test('40 uploads of two parts each, from independent senders at once, through a budget of three parts: every one is stored whole', async () => {
    const uploads = 40;
    const size = 2 * PART;
    assert.equal(size % BLOCK_SIZE, 0);
    // One random block, shifted per upload: distinct files without uploads × size random bytes.
    const block = randomBytes(size + uploads);
    const peers = await Promise.all(Array.from({ length: uploads }, () => RawPeer.session(port, 'many', 'pw', false, { plain: true })));
    peers.forEach((peer, i) => sendUpload(peer, `f${i}.bin`, block.subarray(i, i + size)));
    const outcome = (peer: RawPeer) => peer.messages.find((m) => m.type === 'stored' || m.type === 'error');
    await waitFor(() => peers.every(outcome), {
      what: 'every upload answered',
      timeoutMs: 60_000,
    });
    peers.forEach((peer, i) => {
      assert.deepEqual(outcome(peer)?.type, 'stored', `upload ${i}: ${JSON.stringify(outcome(peer))}`);
      const key = [...store.completed.keys()].find((k) => k.endsWith(`/f${i}.bin`));
      assert.deepEqual(key && store.completed.get(key), partDigests(block.subarray(i, i + size)), `upload ${i}'s object`);
    });
    for (const peer of peers) peer.close();
  });

  test('40 clients of one process upload two parts each at once through a budget of three parts: every one is stored whole', async () => {
    const uploads = 40;
    const size = 2 * PART;
    const block = randomBytes(size + uploads);
    const files = Array.from({ length: uploads }, (_, i) => join(dir.path, `c${i}.bin`));
    for (const [i, file] of files.entries()) await writeFile(file, block.subarray(i, i + size));
    const clients: LpfClient[] = [];
    for (let i = 0; i < uploads; i++) {
      const client = await LpfClient.connect({ host: '127.0.0.1', port }, { tls: { mode: 'plain' } });
      await client.login('many', 'pw');
      clients.push(client);
    }
    let done = 0;
    const all = Promise.all(clients.map((client, i) => client.upload(files[i]!, `c${i}.bin`).finally(() => done++)));
    all.catch(() => {});
    await waitFor(() => done === uploads, {
      what: "every client's upload stored (none is, when they stall)",
      timeoutMs: 60_000,
    });
    for (const [i, result] of (await all).entries()) assert.equal(result.sha256, checksumOf(block.subarray(i, i + size)), `upload ${i}`);
    for (const client of clients) client.close();
  });
});
