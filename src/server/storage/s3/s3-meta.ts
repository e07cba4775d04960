/**
 * A file's checksum record on S3, in its own object meta/<user>/<path>: one JSON line {size, etag, sha256}
 * and then the raw block digests, as file-meta.ts keeps them on disk. The content checksum is known only
 * at the end of an upload, after a multipart upload has begun (and S3 metadata holds 2 KB, not the 32
 * bytes a block of a large file needs), so the record is written after the data object, and trusted only
 * while that object still has the ETag and size it names: a crash in between, or a file replaced by other
 * means, costs a re-hash, never a wrong checksum.
 */
import { BLOCK_SIZE, splitDigests } from '../../../protocol/index.js';
import type { Bucket, ObjectInfo } from './bucket.js';

export interface S3Meta {
  size: number;
  etag: string;
  sha256: string;
  digests: Buffer[];
}

export function encodeS3Meta(meta: S3Meta): Buffer {
  const header = JSON.stringify({ size: meta.size, etag: meta.etag, sha256: meta.sha256 });
  return Buffer.concat([Buffer.from(`${header}\n`), ...meta.digests]);
}

/**
 * The record at `key` if it parses and still describes `object` (its ETag and size). Listings may give
 * another ETag than HEAD for the same object (Swift, for a server-side copy of a multipart object): a
 * mismatch is checked again with HEAD.
 */
export async function readValidS3Meta(bucket: Bucket, key: string, object: ObjectInfo): Promise<S3Meta | undefined> {
  const { size } = object;
  const raw = (await bucket.getBuffer(key).catch(() => undefined))?.body;
  if (!raw) return undefined;
  const newline = raw.indexOf(0x0a);
  if (newline < 0) return undefined;
  try {
    const header = JSON.parse(raw.subarray(0, newline).toString('utf8')) as Partial<S3Meta>;
    const digests = splitDigests(raw.subarray(newline + 1));
    if (header.size !== size || typeof header.etag !== 'string' || typeof header.sha256 !== 'string') return undefined;
    if (digests.length !== Math.ceil(size / BLOCK_SIZE)) return undefined;
    if (header.etag !== object.etag) {
      const now = await bucket.head(object.key).catch(() => undefined);
      if (now?.etag !== header.etag || now.size !== size) return undefined;
    }
    return { size, etag: header.etag, sha256: header.sha256, digests };
  } catch {
    return undefined;
  }
}

/** Writes a record; a failure is no failure of the upload (a missing record is only a re-hash later). */
export async function writeS3Meta(bucket: Bucket, key: string, meta: S3Meta): Promise<void> {
  await bucket.put(key, encodeS3Meta(meta)).catch(() => {});
}
