/**
 * Reads an object at positions, as a FileHandle would: one ranged GET streamed while the reads follow
 * each other, a new one after a seek. Every GET is pinned to the ETag seen when the file was opened
 * (If-Match), so a file replaced during a download fails the download instead of mixing two contents;
 * S3 keeps no old content to go on reading, as a disk's open file does.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { LpfError } from '../../../errors.js';
import type { Bucket } from './bucket.js';
import { s3Code, storeError } from './s3-store.js';

export class S3Reader {
  readonly #bucket: Bucket;
  readonly #key: string;
  readonly #etag: string;
  readonly #size: number;
  readonly #name: string;
  #body: AsyncIterator<Buffer> | undefined;
  #stream: Readable | undefined;
  /** The position of the next byte the open body gives. */
  #position = 0;
  #left: Buffer | undefined;

  constructor(bucket: Bucket, key: string, object: { etag: string; size: number }, name: string) {
    this.#bucket = bucket;
    this.#key = key;
    this.#etag = object.etag;
    this.#size = object.size;
    this.#name = name;
  }

  async read(buffer: Buffer, position: number, length: number): Promise<number> {
    const want = Math.min(length, buffer.length, this.#size - position);
    if (want <= 0) return 0;
    if (this.#body === undefined || position !== this.#position) await this.#open(position);
    let filled = 0;
    while (filled < want) {
      const chunk = await this.#next();
      if (chunk === undefined) break;
      const take = Math.min(chunk.length, want - filled);
      chunk.copy(buffer, filled, 0, take);
      if (take < chunk.length) this.#left = chunk.subarray(take);
      filled += take;
    }
    this.#position += filled;
    if (filled < want) throw new LpfError('LPF_ERR_SERVER', `the object store ended ${JSON.stringify(this.#name)} early`);
    return filled;
  }

  async close(): Promise<void> {
    this.#drop();
    return Promise.resolve();
  }

  async #next(): Promise<Buffer | undefined> {
    if (this.#left) {
      const left = this.#left;
      this.#left = undefined;
      return left;
    }
    try {
      const step = await this.#body!.next();
      return step.done === true ? undefined : step.value;
    } catch (err) {
      this.#drop();
      throw storeError(err, `read ${JSON.stringify(this.#name)}`);
    }
  }

  async #open(position: number): Promise<void> {
    this.#drop();
    try {
      const out = await this.#bucket.client.send(
        new GetObjectCommand({
          Bucket: this.#bucket.name,
          Key: this.#key,
          Range: `bytes=${position}-${this.#size - 1}`,
          IfMatch: this.#etag,
        }),
      );
      // Stores that ignore If-Match are caught here: the content must be the one opened.
      if (out.ETag !== undefined && out.ETag !== this.#etag) {
        (out.Body as Readable | undefined)?.destroy();
        throw replaced(this.#name);
      }
      this.#stream = out.Body as Readable;
      this.#body = this.#stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      this.#position = position;
    } catch (err) {
      const code = s3Code(err);
      if (code === 'PreconditionFailed' || code === 'NoSuchKey' || code === 'NotFound') throw replaced(this.#name);
      throw storeError(err, `read ${JSON.stringify(this.#name)}`);
    }
  }

  #drop(): void {
    this.#stream?.destroy();
    this.#stream = undefined;
    this.#body = undefined;
    this.#left = undefined;
  }
}

function replaced(name: string): LpfError {
  return new LpfError(
    'LPF_ERR_SERVER',
    `${JSON.stringify(name)} was replaced or deleted on the server during the download; download it again`,
  );
}
