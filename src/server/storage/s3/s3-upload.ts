/**
 * Uploads to S3 of one part or more (a smaller file is a SmallUpload, s3-small-upload.ts): a multipart
 * upload whose parts of `partSize` (whole 4 MiB blocks) are sent as they fill, one in flight and at most
 * one more waiting (the connection is held meanwhile), and whose CompleteMultipartUpload runs only at
 * commit; until then readers see the old object, if any. Every part buffer is taken from the server's
 * PartBudget first (part-budget.ts): when it is spent, the upload holds its connection until a part of
 * any upload is stored. A keyed upload cut off keeps its multipart upload open, with a record of its
 * parts (s3-partials.ts) from which any server resumes it.
 */
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { BLOCK_SIZE } from '../../../protocol/index.js';
import type { UploadSink } from '../storage.js';
import type { Bucket } from './bucket.js';
import type { PartBudget } from './part-budget.js';
import { writeS3Meta } from './s3-meta.js';
import type { PartialRecord, PartialStore } from './s3-partials.js';
import { storeError } from './s3-store.js';

/** Smallest part, and most parts, that every S3 store accepts. */
const MIN_PART = 8 * 1024 * 1024;
const MAX_PARTS = 1000;

/** The part size for a file: the smallest multiple of 4 MiB that is at least 8 MiB and size/1000. */
export function partSizeFor(size: number): number {
  const least = Math.max(MIN_PART, Math.ceil(size / MAX_PARTS));
  return Math.ceil(least / BLOCK_SIZE) * BLOCK_SIZE;
}

/** Where an upload goes and what to do when it is over. */
export interface UploadPlace {
  bucket: Bucket;
  /** The user's path, for messages. */
  name: string;
  dataKey: string;
  metaKey: string;
  size: number;
  /** The server's memory for part buffers, shared by every upload. */
  budget: PartBudget;
  /** Called once, when the upload is committed, suspended or aborted. */
  release(): void;
}

export type Checksum = { sha256: string; digests: Buffer[] };

/** A file of one part or more: a multipart upload, parts sent as they fill. */
export class MultipartUpload implements UploadSink {
  readonly offset: number;
  readonly digests: Buffer[];
  readonly resumable: boolean;
  readonly #place: UploadPlace;
  readonly #partials: PartialStore;
  readonly #user: string;
  readonly #id: string;
  readonly #record: PartialRecord;
  /** Every block digest so far, those of the resumed parts included. */
  readonly #allDigests: Buffer[];
  #filling: Buffer | undefined;
  #fill = 0;
  /** Bytes of this upload's part buffers taken from the budget and not yet given back. */
  #held = 0;
  /** The rest of a chunk that waits for the budget to give it a part buffer; gives up that wait. */
  #pending: Buffer | undefined;
  #cancelWait: (() => void) | undefined;
  #nextPart: number;
  readonly #waiting: { n: number; body: Buffer }[] = [];
  #inFlight: Promise<void> | undefined;
  #saving: Promise<void> = Promise.resolve();
  #failure: Error | undefined;
  #drainCallbacks: (() => void)[] = [];
  #idleCallbacks: (() => void)[] = [];
  #errorCallback: ((error: Error) => void) | undefined;
  #done = false;

  constructor(init: { place: UploadPlace; partials: PartialStore; user: string; id: string; record: PartialRecord; resumable: boolean }) {
    this.#place = init.place;
    this.#partials = init.partials;
    this.#user = init.user;
    this.#id = init.id;
    this.#record = init.record;
    // Parts whose block digests were not all recorded are sent again (a part number written twice keeps the last).
    while (init.record.parts.length > 0 && blocksIn(keptOffset(init.record)) > init.record.digests.length) init.record.parts.pop();
    this.resumable = init.resumable;
    this.offset = keptOffset(init.record);
    this.digests = init.record.digests.slice(0, blocksIn(this.offset));
    this.#allDigests = [...this.digests];
    this.#nextPart = init.record.parts.length + 1;
  }

  write(chunk: Buffer): boolean {
    // The sender waits for the drain while a chunk is pending; one written anyway queues behind it.
    if (this.#pending) this.#pending = Buffer.concat([this.#pending, chunk]);
    else this.#fillFrom(chunk);
    this.#pump();
    return this.#roomForMore();
  }

  onDrain(callback: () => void): void {
    if (this.#roomForMore()) callback();
    else this.#drainCallbacks.push(callback);
  }

  onError(callback: (error: Error) => void): void {
    this.#errorCallback = callback;
  }

  recordBlock(digest: Buffer): void {
    this.#allDigests.push(digest);
  }

  /** Copies `chunk` into part buffers, queueing each full one; stops to wait when the budget has no room for the next. */
  #fillFrom(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (!this.#filling) {
        const length = this.#partLength(this.#nextPart);
        if (!this.#place.budget.tryTake(length)) return this.#waitForBuffer(length, chunk.subarray(at));
        this.#newBuffer(length);
      }
      const filling = this.#filling!;
      const copied = chunk.copy(filling, this.#fill, at);
      this.#fill += copied;
      at += copied;
      if (this.#fill === filling.length) {
        this.#waiting.push({ n: this.#nextPart++, body: filling });
        this.#filling = undefined;
        this.#fill = 0;
      }
    }
  }

  /** Keeps the rest of a chunk until the budget has room for a buffer of `length`, then goes on filling. */
  #waitForBuffer(length: number, rest: Buffer): void {
    this.#pending = rest;
    this.#cancelWait = this.#place.budget.take(length, () => {
      this.#cancelWait = undefined;
      this.#newBuffer(length);
      const pending = this.#pending;
      this.#pending = undefined;
      if (pending) this.#fillFrom(pending);
      this.#pump();
      this.#drainIfRoom();
    });
  }

  #newBuffer(length: number): void {
    this.#held += length;
    this.#filling = Buffer.allocUnsafe(length);
    this.#fill = 0;
  }

  /** Gives a part buffer back to the budget (once the upload is over, #finish gave back what was left). */
  #giveBack(bytes: number): void {
    if (this.#done) return;
    this.#held -= bytes;
    this.#place.budget.release(bytes);
  }

  /** One part in flight and at most one more waiting, and no chunk waiting for a buffer. */
  #roomForMore(): boolean {
    return this.#waiting.length < 2 && this.#pending === undefined;
  }

  #drainIfRoom(): void {
    if (this.#roomForMore()) for (const callback of this.#drainCallbacks.splice(0)) callback();
  }

  async commit(checksum: Checksum): Promise<{ replaced: number }> {
    const { bucket, dataKey, metaKey, name, size } = this.#place;
    try {
      await this.#idle();
      if (this.#failure) throw this.#failure;
      // Never complete a shorter object than was received, whatever the order of events that led here.
      if (keptOffset(this.#record) !== size) throw new Error('the parts stored do not cover the whole file');
      const previous = await bucket.head(dataKey);
      const out = await bucket.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket.name,
          Key: dataKey,
          UploadId: this.#record.uploadId,
          MultipartUpload: { Parts: this.#record.parts },
        }),
      );
      // The SDK turns an error in a 200 answer's body into an exception; an answer without an ETag is one too.
      if (out.ETag === undefined) throw new Error('CompleteMultipartUpload answered without an ETag');
      await writeS3Meta(bucket, metaKey, { size, etag: out.ETag, ...checksum });
      this.#finish();
      await this.#partials.remove(this.#user, this.#id).catch(() => {});
      return { replaced: previous?.size ?? 0 };
    } catch (err) {
      await this.abort();
      throw storeError(err, `store ${JSON.stringify(name)}`);
    }
  }

  async suspend(): Promise<void> {
    if (this.#done) return;
    this.#filling = undefined; // a part not filled is not kept: the resume starts at the parts sent
    this.#pending = undefined;
    await this.#idle().catch(() => {});
    await this.#saving;
    this.#finish();
  }

  async abort(): Promise<void> {
    if (this.#done) return;
    this.#finish();
    this.#waiting.length = 0;
    await this.#inFlight?.catch(() => {});
    await this.#saving;
    const { bucket, dataKey } = this.#place;
    await bucket.client
      .send(new AbortMultipartUploadCommand({ Bucket: bucket.name, Key: dataKey, UploadId: this.#record.uploadId }))
      .catch(() => {}); // the sweep aborts it later
    await this.#partials.remove(this.#user, this.#id).catch(() => {});
  }

  /** The length of part `n` (the last one may be short). */
  #partLength(n: number): number {
    const start = (n - 1) * this.#record.partSize;
    return Math.min(this.#record.partSize, this.#place.size - start);
  }

  /** Sends the next waiting part when none is in flight. */
  #pump(): void {
    if (this.#inFlight || this.#failure) return;
    const part = this.#waiting[0];
    if (!part) {
      if (this.#pending === undefined) for (const callback of this.#idleCallbacks.splice(0)) callback();
      return;
    }
    this.#inFlight = this.#send(part.n, part.body).then(
      () => {
        this.#waiting.shift();
        this.#inFlight = undefined;
        this.#giveBack(part.body.length);
        this.#drainIfRoom();
        this.#pump();
      },
      (err: unknown) => {
        this.#inFlight = undefined;
        this.#giveBack(part.body.length);
        this.#failure = storeError(err, `store ${JSON.stringify(this.#place.name)}`);
        for (const callback of this.#idleCallbacks.splice(0)) callback();
        if (!this.#done) this.#errorCallback?.(this.#failure);
      },
    );
  }

  async #send(n: number, body: Buffer): Promise<void> {
    const { bucket, dataKey } = this.#place;
    const out = await bucket.client.send(
      new UploadPartCommand({
        Bucket: bucket.name,
        Key: dataKey,
        UploadId: this.#record.uploadId,
        PartNumber: n,
        Body: body,
        ContentLength: body.length,
      }),
    );
    this.#record.parts.push({ PartNumber: n, ETag: out.ETag ?? '' });
    this.#record.digests = this.#allDigests.slice(0, blocksIn(keptOffset(this.#record)));
    // Written in order, after the part: a crash in between only costs that part again.
    const snapshot = { ...this.#record, parts: [...this.#record.parts] };
    this.#saving = this.#saving.then(() => this.#partials.save(this.#user, this.#id, snapshot).catch(() => {}));
  }

  /** Resolves once no part is waiting or in flight, and no chunk waits for a buffer (or a part failed). */
  #idle(): Promise<void> {
    const drained = this.#waiting.length === 0 && this.#pending === undefined;
    if (!this.#inFlight && (drained || this.#failure)) return Promise.resolve();
    return new Promise((resolve) => this.#idleCallbacks.push(resolve));
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#cancelWait?.();
    this.#place.budget.release(this.#held);
    this.#held = 0;
    this.#place.release();
  }
}

/** Where a record's completed parts end: a block boundary, since parts are whole blocks. */
function keptOffset(record: PartialRecord): number {
  return Math.min(record.size, record.parts.length * record.partSize);
}

/** The blocks in the first `offset` bytes, a short last one included. */
function blocksIn(offset: number): number {
  return Math.ceil(offset / BLOCK_SIZE);
}
