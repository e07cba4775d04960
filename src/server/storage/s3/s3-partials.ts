/**
 * Records of multipart uploads, kept in the bucket at partials/<user>/<id> so that any server on the same
 * bucket can resume a cut-off upload: its S3 upload id, the parts completed with their ETags, and the
 * digests of the 4 MiB blocks those parts hold (nothing received is read back). A keyed upload's id is a
 * hash of its path, size and the sender's key; any other upload has a random id, recorded only so that
 * the sweep can tell an abandoned multipart upload from a live one. The record is rewritten after each
 * part, so its LastModified says when the upload last made progress.
 */
import { DIGEST_BYTES } from '../../../protocol/index.js';
import type { Bucket } from './bucket.js';
import type { KeySpace } from './s3-store.js';

export interface CompletedPart {
  PartNumber: number;
  ETag: string;
}

export interface PartialRecord {
  path: string;
  size: number;
  /** The data key the multipart upload writes. */
  key: string;
  uploadId: string;
  partSize: number;
  parts: CompletedPart[];
  /** Digests of the blocks of `parts`, in order. */
  digests: Buffer[];
}

/** A record found in a listing, with when it last changed. */
export interface FoundPartial {
  user: string;
  id: string;
  mtime: number;
  record: PartialRecord | undefined;
}

/** The bytes a record's completed parts hold. */
export function keptBytes(record: PartialRecord): number {
  return Math.min(record.size, record.parts.length * record.partSize);
}

export class PartialStore {
  readonly #bucket: Bucket;
  readonly #keys: KeySpace;

  constructor(bucket: Bucket, keys: KeySpace) {
    this.#bucket = bucket;
    this.#keys = keys;
  }

  async load(user: string, id: string): Promise<PartialRecord | undefined> {
    const found = await this.#bucket.getBuffer(this.#keys.userPartials(user) + id);
    return found ? decode(found.body) : undefined;
  }

  async save(user: string, id: string, record: PartialRecord): Promise<void> {
    await this.#bucket.put(this.#keys.userPartials(user) + id, encode(record), { contentType: 'application/json' });
  }

  async remove(user: string, id: string): Promise<void> {
    await this.#bucket.delete(this.#keys.userPartials(user) + id);
  }

  /** Every record of `user` (or of every user when undefined), read when `withRecords`. */
  async list(user: string | undefined, withRecords: boolean): Promise<FoundPartial[]> {
    const root = user === undefined ? this.#keys.partialsRoot() : this.#keys.userPartials(user);
    const found: FoundPartial[] = [];
    for await (const object of this.#bucket.objects(root)) {
      const [owner, id, ...rest] = object.key.slice(this.#keys.partialsRoot().length).split('/');
      if (owner === undefined || id === undefined || rest.length > 0) continue;
      const record = withRecords ? decode((await this.#bucket.getBuffer(object.key))?.body) : undefined;
      found.push({ user: owner, id, mtime: object.mtime, record });
    }
    return found;
  }
}

function encode(record: PartialRecord): Buffer {
  return Buffer.from(JSON.stringify({ ...record, digests: Buffer.concat(record.digests).toString('hex') }));
}

function decode(body: Buffer | undefined): PartialRecord | undefined {
  if (!body) return undefined;
  try {
    const raw = JSON.parse(body.toString('utf8')) as Omit<PartialRecord, 'digests'> & { digests: string };
    const all = Buffer.from(raw.digests, 'hex');
    const digests: Buffer[] = [];
    for (let i = 0; i + DIGEST_BYTES <= all.length; i += DIGEST_BYTES) digests.push(all.subarray(i, i + DIGEST_BYTES));
    if (typeof raw.uploadId !== 'string' || !Array.isArray(raw.parts) || typeof raw.partSize !== 'number') return undefined;
    return { ...raw, digests };
  } catch {
    return undefined;
  }
}
