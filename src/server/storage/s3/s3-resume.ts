/**
 * The life of multipart uploads around their records (s3-partials.ts): beginning one, finding a cut-off
 * one to resume (its parts checked against the store), and sweeping those nobody resumed in time. The
 * store itself never aborts an abandoned multipart upload (Swift has no lifecycle rules): the sweep does.
 */
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  type MultipartUpload,
} from '@aws-sdk/client-s3';
import type { Bucket } from './bucket.js';
import type { CompletedPart, PartialRecord, PartialStore } from './s3-partials.js';
import { isMissing } from './s3-store.js';
import type { S3Context } from './s3-tree.js';
import { partSizeFor, type UploadPlace } from './s3-upload.js';

/** Starts a multipart upload to `place`, with an empty record. */
export async function beginUpload(ctx: S3Context, place: UploadPlace, partSize: number): Promise<PartialRecord> {
  const { bucket } = ctx;
  const out = await bucket.client.send(new CreateMultipartUploadCommand({ Bucket: bucket.name, Key: place.dataKey }));
  if (out.UploadId === undefined) throw new Error('CreateMultipartUpload answered without an upload id');
  return { path: place.name, size: place.size, key: place.dataKey, uploadId: out.UploadId, partSize, parts: [], digests: [] };
}

/**
 * The record of a cut-off upload of `name` and `size` to resume, if its multipart upload is still open:
 * only its first parts that the store lists with the same ETags are kept.
 */
export async function resumableRecord(
  ctx: S3Context,
  loading: Promise<PartialRecord | undefined>,
  name: string,
  size: number,
): Promise<PartialRecord | undefined> {
  const record = await loading;
  if (!record || record.path !== name || record.size !== size || record.partSize !== partSizeFor(size)) return undefined;
  const { bucket } = ctx;
  try {
    const out = await bucket.client.send(new ListPartsCommand({ Bucket: bucket.name, Key: record.key, UploadId: record.uploadId }));
    const stored = new Map((out.Parts ?? []).map((p) => [p.PartNumber, p.ETag]));
    const parts: CompletedPart[] = [];
    for (const part of record.parts) {
      if (part.PartNumber !== parts.length + 1 || stored.get(part.PartNumber) !== part.ETag) break;
      parts.push(part);
    }
    return { ...record, parts };
  } catch (err) {
    if (isMissing(err)) return undefined; // aborted meanwhile (a sweep): start over
    throw err;
  }
}

/**
 * Aborts the multipart uploads of records untouched for `maxAgeMs` (but those `active` names, as
 * `<user>/<id>`), then any multipart upload under the files that no record names and that began longer
 * ago than that (an upload whose record was lost); resolves with how many.
 */
export async function sweepUploads(
  ctx: S3Context,
  partials: PartialStore,
  active: (id: string) => boolean,
  maxAgeMs: number,
): Promise<number> {
  const { bucket, keys } = ctx;
  // Stores date objects and uploads in whole seconds, Swift rounding up: ages are counted from a second before.
  const now = Date.now() + 1000;
  let removed = 0;
  const live = new Set<string>();
  for (const found of await partials.list(undefined, true)) {
    if (active(`${found.user}/${found.id}`) || now - found.mtime <= maxAgeMs) {
      if (found.record) live.add(found.record.uploadId);
      continue;
    }
    if (found.record) await abortUpload(bucket, found.record.key, found.record.uploadId);
    await partials.remove(found.user, found.id);
    removed++;
  }
  for await (const upload of multipartUploads(bucket, keys.filesRoot())) {
    const old = now - (upload.Initiated?.getTime() ?? now) > maxAgeMs;
    if (!old || upload.UploadId === undefined || upload.Key === undefined || live.has(upload.UploadId)) continue;
    await abortUpload(bucket, upload.Key, upload.UploadId);
    removed++;
  }
  return removed;
}

/** Every multipart upload in progress under `prefix`, page by page. */
export async function* multipartUploads(bucket: Bucket, prefix: string): AsyncGenerator<MultipartUpload> {
  let marker: { key?: string; id?: string } = {};
  for (;;) {
    const out = await bucket.client.send(
      new ListMultipartUploadsCommand({ Bucket: bucket.name, Prefix: prefix, KeyMarker: marker.key, UploadIdMarker: marker.id }),
    );
    yield* out.Uploads ?? [];
    if (out.IsTruncated !== true) return;
    marker = { key: out.NextKeyMarker, id: out.NextUploadIdMarker };
  }
}

/** Aborts a multipart upload; one already gone is no error. */
export async function abortUpload(bucket: Bucket, key: string, uploadId: string): Promise<void> {
  await bucket.client.send(new AbortMultipartUploadCommand({ Bucket: bucket.name, Key: key, UploadId: uploadId })).catch((err: unknown) => {
    if (!isMissing(err)) throw err;
  });
}
