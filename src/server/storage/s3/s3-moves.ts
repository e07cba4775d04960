/**
 * Delete, rename and copy on S3, where no change of several keys is atomic. A file rename is a copy and
 * then a delete: a crash in between leaves both names, never neither. A folder rename or copy moves every
 * object under it, one server-side copy each (the time of copying all its bytes): all copies first, then
 * all deletes, so that meanwhile both trees are seen, partly filled at the target.
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
  AbortMultipartUploadCommand,
} from '@aws-sdk/client-s3';
import { LpfError } from '../../../errors.js';
import { notFound } from '../disk-errors.js';
import type { ObjectInfo } from './bucket.js';
import { readValidS3Meta, writeS3Meta } from './s3-meta.js';
import { kindOf, requireParent, treeOf, type S3Context } from './s3-tree.js';

/** The largest object one CopyObject copies; bigger ones are copied in parts (UploadPartCopy). */
const MAX_COPY = 5 * 1024 ** 3;

/** Deletes a file or an empty folder; resolves with the bytes freed. */
export async function deleteEntry(ctx: S3Context, user: string, path: string): Promise<number> {
  const kind = await kindOf(ctx, user, path);
  if (!kind || path === '') throw notFound(path);
  if (kind.kind === 'file') {
    await ctx.bucket.delete(ctx.keys.file(user, path));
    await ctx.bucket.delete(ctx.keys.meta(user, path)).catch(() => {});
    return kind.object.size;
  }
  const marker = ctx.keys.folder(user, path);
  const under = await ctx.bucket.firstKeys(marker, 2);
  if (under.some((key) => key !== marker)) {
    throw new LpfError('LPF_ERR_NOT_EMPTY', `the folder ${JSON.stringify(path)} is not empty; delete what is in it first`);
  }
  await ctx.bucket.delete(marker);
  return 0;
}

/** Checks shared by rename and copy; resolves with what `from` is. */
async function checkMove(ctx: S3Context, user: string, from: string, to: string, verb: string) {
  if (to.startsWith(`${from}/`)) throw new LpfError('LPF_ERR_BAD_NAME', `cannot ${verb} ${JSON.stringify(from)} into itself`);
  const [source, target] = await Promise.all([kindOf(ctx, user, from), kindOf(ctx, user, to)]);
  if (!source || from === '') throw notFound(from);
  if (target) throw new LpfError('LPF_ERR_EXISTS', `${JSON.stringify(to)} already exists; delete it first or choose another name`);
  await requireParent(ctx, user, to);
  return source;
}

/** Renames a file or folder: copies, then deletes the source. */
export async function renameEntry(ctx: S3Context, user: string, from: string, to: string): Promise<void> {
  if (to === from) return;
  const source = await checkMove(ctx, user, from, to, 'move');
  if (source.kind === 'file') {
    await copyFile(ctx, user, from, to, source.object);
    await removeFile(ctx, user, from);
    return;
  }
  const tree = await treeOf(ctx, user, from);
  await copyTree(ctx, user, from, to, tree);
  for (const file of tree.files) await removeFile(ctx, user, file.path);
  for (const folder of [...tree.folders].reverse()) await ctx.bucket.delete(ctx.keys.folder(user, folder));
  await ctx.bucket.delete(ctx.keys.folder(user, from));
}

/** Copies a file or folder tree with its checksum records; refuses (LPF_ERR_QUOTA) more than `maxBytes`. */
export async function copyEntry(ctx: S3Context, user: string, from: string, to: string, maxBytes: number): Promise<number> {
  const source = await checkMove(ctx, user, from, to, 'copy');
  if (source.kind === 'file') {
    charge(source.object.size, maxBytes);
    await copyFile(ctx, user, from, to, source.object);
    return source.object.size;
  }
  const tree = await treeOf(ctx, user, from);
  const bytes = tree.files.reduce((sum, f) => sum + f.object.size, 0);
  charge(bytes, maxBytes);
  try {
    await copyTree(ctx, user, from, to, tree);
  } catch (err) {
    // Nothing half-made is left at the target when that can be helped.
    const made = await treeOf(ctx, user, to).catch(() => undefined);
    for (const file of made?.files ?? []) await removeFile(ctx, user, file.path).catch(() => {});
    for (const folder of [to, ...(made?.folders ?? [])]) await ctx.bucket.delete(ctx.keys.folder(user, folder)).catch(() => {});
    throw err;
  }
  return bytes;
}

function charge(bytes: number, maxBytes: number): void {
  if (bytes > maxBytes) {
    throw new LpfError('LPF_ERR_QUOTA', `the source grew past the ${maxBytes} bytes reserved for the copy while it was copied; try again`);
  }
}

/** Copies every folder (as a marker) and file of `tree`, from under `from` to under `to`. */
async function copyTree(ctx: S3Context, user: string, from: string, to: string, tree: Awaited<ReturnType<typeof treeOf>>): Promise<void> {
  const moved = (path: string) => to + path.slice(from.length);
  await ctx.bucket.putMarker(ctx.keys.folder(user, to));
  for (const folder of tree.folders) await ctx.bucket.putMarker(ctx.keys.folder(user, moved(folder)));
  for (const file of tree.files) await copyFile(ctx, user, file.path, moved(file.path), file.object);
}

/** Copies one file object (server-side) and its checksum record, which then names the copy's ETag. */
export async function copyFile(ctx: S3Context, user: string, from: string, to: string, object: ObjectInfo): Promise<void> {
  const target = ctx.keys.file(user, to);
  const meta = await readValidS3Meta(ctx.bucket, ctx.keys.meta(user, from), object);
  const etag = object.size > MAX_COPY ? await copyInParts(ctx, object, target) : await ctx.bucket.copy(object.key, target);
  if (meta) await writeS3Meta(ctx.bucket, ctx.keys.meta(user, to), { ...meta, etag });
}

async function removeFile(ctx: S3Context, user: string, path: string): Promise<void> {
  await ctx.bucket.delete(ctx.keys.file(user, path));
  await ctx.bucket.delete(ctx.keys.meta(user, path)).catch(() => {});
}

/** A copy above CopyObject's 5 GiB: a multipart upload of UploadPartCopy parts, completed only when all are. */
async function copyInParts(ctx: S3Context, object: ObjectInfo, target: string): Promise<string> {
  const { client, name: Bucket } = ctx.bucket;
  const partSize = Math.max(1024 ** 3, Math.ceil(object.size / 1000));
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key: target }));
  try {
    const Parts = [];
    for (let start = 0, n = 1; start < object.size; start += partSize, n++) {
      const end = Math.min(object.size, start + partSize) - 1;
      const out = await client.send(
        new UploadPartCopyCommand({
          Bucket,
          Key: target,
          UploadId,
          PartNumber: n,
          CopySource: `${Bucket}/${encodeURIComponent(object.key).replace(/%2F/g, '/')}`,
          CopySourceRange: `bytes=${start}-${end}`,
          CopySourceIfMatch: object.etag,
        }),
      );
      Parts.push({ PartNumber: n, ETag: out.CopyPartResult?.ETag ?? '' });
    }
    const done = await client.send(new CompleteMultipartUploadCommand({ Bucket, Key: target, UploadId, MultipartUpload: { Parts } }));
    return done.ETag ?? '';
  } catch (err) {
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key: target, UploadId })).catch(() => {});
    throw err;
  }
}
