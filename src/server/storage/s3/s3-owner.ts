/**
 * Removing everything one user has in the bucket, for `lpf-server users remove`: the multipart uploads
 * first (those of the user's records, then any other under the user's files, whose record was lost), so
 * that no stored part outlives the account, then every object under the user's prefixes.
 */
import type { PartialStore } from './s3-partials.js';
import { abortUpload, multipartUploads } from './s3-resume.js';
import type { S3Context } from './s3-tree.js';

/** Deletes the user's uploads, records, files and folder markers; resolves with how many objects were deleted. */
export async function removeOwner(ctx: S3Context, partials: PartialStore, user: string): Promise<number> {
  const { bucket, keys } = ctx;
  for (const found of await partials.list(user, true)) {
    if (found.record) await abortUpload(bucket, found.record.key, found.record.uploadId);
  }
  for await (const upload of multipartUploads(bucket, keys.userFiles(user))) {
    if (upload.Key !== undefined && upload.UploadId !== undefined) await abortUpload(bucket, upload.Key, upload.UploadId);
  }
  let deleted = 0;
  for (const prefix of [keys.userPartials(user), keys.userFiles(user), keys.userMeta(user)]) {
    // Deleting keys a page has listed does not move the next page: it starts after the last key listed.
    for await (const page of bucket.pages(prefix, false)) {
      await bucket.deleteAll(page.objects.map((o) => o.key));
      deleted += page.objects.length;
    }
  }
  return deleted;
}
