/**
 * A file's checksum (SHA-256 of the content and its 4 MiB block digests), kept one of two ways:
 *
 * - In the object's own user metadata (x-amz-meta-lpf-sha256, x-amz-meta-lpf-blocks), set by the one
 *   PutObject of an upload smaller than a part: it is part of the object, so it can never describe
 *   another content, costs no request of its own and travels with a server-side copy. HEAD returns it.
 * - In a record object meta/<user>/<path>: one JSON line {size, etag, sha256} and then the raw block
 *   digests, as file-meta.ts keeps them on disk. A multipart upload needs it: its checksum is known only
 *   at the end, after the upload has begun (and S3 metadata holds 2 KB, not the 32 bytes a block of a
 *   large file needs). It is written after the data object and trusted only while that object still has
 *   the ETag and size it names: a crash in between, or a file replaced by other means, costs a re-hash,
 *   never a wrong checksum. Files stored before the metadata was used have one too.
 */
import { createHash } from 'node:crypto';
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

/** Metadata names (S3 gives them back in lower case, without the x-amz-meta- prefix). */
const SHA256_NAME = 'lpf-sha256';
const BLOCKS_NAME = 'lpf-blocks';

/** The user metadata that records a small file's checksum on its own object (at most 2 blocks: 64 bytes of hex each). */
export function checksumMetadata(checksum: { sha256: string; digests: Buffer[] }): Record<string, string> {
  return { [SHA256_NAME]: checksum.sha256, [BLOCKS_NAME]: Buffer.concat(checksum.digests).toString('hex') };
}

/**
 * The checksum in an object's own metadata (from HEAD), if there is one that fits the object: as many
 * block digests as its size has blocks, and the content checksum they hash to.
 */
export function checksumInMetadata(object: ObjectInfo): S3Meta | undefined {
  const sha256 = object.metadata?.[SHA256_NAME];
  const hex = object.metadata?.[BLOCKS_NAME] ?? ''; // an empty file has no block (some stores drop empty values)
  if (sha256 === undefined || !/^[0-9a-f]*$/.test(hex)) return undefined;
  const digests = splitDigests(Buffer.from(hex, 'hex'));
  if (digests.length !== Math.ceil(object.size / BLOCK_SIZE) || hex.length !== digests.length * 64) return undefined;
  const root = createHash('sha256');
  for (const digest of digests) root.update(digest);
  if (root.digest('hex') !== sha256) return undefined;
  return { size: object.size, etag: object.etag, sha256, digests };
}

/** A file's recorded checksum: its own metadata when `object` came from HEAD, else its record; undefined when neither is valid. */
export async function recordedChecksum(bucket: Bucket, key: string, object: ObjectInfo): Promise<S3Meta | undefined> {
  return checksumInMetadata(object) ?? (await readValidS3Meta(bucket, key, object));
}
