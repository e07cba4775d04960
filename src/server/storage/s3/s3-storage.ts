/**
 * Storage in an S3-compatible bucket: one object per file, so the bucket stays readable by any S3 tool
 * (the layout is in s3-store.ts). Several servers may share a bucket: a cut-off upload is resumed by
 * whichever of them the client reaches next.
 */
import { randomBytes } from 'node:crypto';
import { LpfError } from '../../../errors.js';
import { BLOCK_SIZE, ContentHasher, remoteBaseName, remoteParent, type ListEntry } from '../../../protocol/index.js';
import { isAFolder, notFound } from '../disk-errors.js';
import type { ListOptions, RemovedUser, ResumeFrom, Storage, StoredFile, UploadRequest, UploadSink } from '../storage.js';
import { notAFolder } from '../user-tree.js';
import { Bucket, type ObjectInfo } from './bucket.js';
import { copyEntry, deleteEntry, renameEntry } from './s3-moves.js';
import { recordedChecksum } from './s3-meta.js';
import { keptBytes, PartialStore } from './s3-partials.js';
import { partialId } from '../partial-id.js';
import { removeOwner } from './s3-owner.js';
import { beginUpload, resumableRecord, sweepUploads } from './s3-resume.js';
import { S3Reader } from './s3-reader.js';
import { KeySpace, makeClient, storeError, type S3Location } from './s3-store.js';
import { checkUploadPlace, entriesOf, kindOf, listUnder, type S3Context } from './s3-tree.js';
import { PartBudget } from './part-budget.js';
import { SmallUpload } from './s3-small-upload.js';
import { MultipartUpload, partSizeFor, type UploadPlace } from './s3-upload.js';

export class S3Storage implements Storage {
  /** The backend's name in the health check's answer. */
  readonly name = 's3';
  readonly #ctx: S3Context;
  readonly #partials: PartialStore;
  /** Uploads being written by this server, as `<user>/<id>`: not resumed twice at once, not swept. */
  readonly #active = new Set<string>();
  /** The memory all uploads of this server may hold in part buffers together. */
  readonly #budget: PartBudget;

  /** `partBudget`: bytes of part buffers all uploads may hold at once (part-budget.ts; 64 MiB by default). */
  constructor(location: S3Location, options: { partBudget?: number } = {}) {
    this.#budget = new PartBudget(options.partBudget);
    const bucket = new Bucket(makeClient(location), location.bucket);
    this.#ctx = { bucket, keys: new KeySpace(location.prefix) };
    this.#partials = new PartialStore(bucket, this.#ctx.keys);
  }

  /**
   * Checks that the bucket answers (one ListObjectsV2 of at most one key under the prefix): at start-up, and
   * for the health check. Throws LPF_ERR_SERVER saying what is wrong.
   */
  async check(): Promise<void> {
    try {
      await this.#ctx.bucket.firstKeys(this.#ctx.keys.prefix, 1);
    } catch (err) {
      throw checkError(err, this.#ctx.bucket.name);
    }
  }

  /** Closes the client's connections. */
  close(): void {
    this.#ctx.bucket.client.destroy();
  }

  list(user: string, path: string, options: ListOptions = {}): Promise<ListEntry[]> {
    return this.#guard('list files', async () => {
      const kind = await kindOf(this.#ctx, user, path);
      if (!kind) {
        if (path === '') return [];
        throw notFound(path);
      }
      if (kind.kind === 'file') return [await this.#fileEntry(user, path, remoteBaseName(path), kind.object, options.checksums)];
      const found = await listUnder(this.#ctx.bucket, this.#ctx.keys.folder(user, path), options.recursive === true);
      const { entries, files } = entriesOf(found, path);
      if (options.checksums) {
        const byName = new Map(entries.map((e) => [e.name, e]));
        for (const f of files) {
          const entry = byName.get(path === '' ? f.path : f.path.slice(path.length + 1));
          const sha256 = await this.#checksum(user, f.path, f.object).catch(() => undefined);
          if (entry && sha256) entry.sha256 = sha256;
        }
      }
      return entries;
    });
  }

  stat(user: string, path: string): Promise<ListEntry> {
    return this.#guard('look the file up', async () => {
      const kind = await kindOf(this.#ctx, user, path);
      if (!kind) throw notFound(path);
      if (kind.kind === 'folder') return { name: path, size: 0, mtime: 0, dir: true };
      return this.#fileEntry(user, path, path, kind.object, false);
    });
  }

  read(user: string, name: string, resume?: ResumeFrom): Promise<StoredFile> {
    return this.#guard(`open ${JSON.stringify(name)}`, async () => {
      const kind = await kindOf(this.#ctx, user, name);
      if (kind?.kind === 'folder') throw isAFolder(name, 'download it with -r');
      if (!kind) throw notFound(name);
      const { object } = kind;
      const meta = await recordedChecksum(this.#ctx.bucket, this.#ctx.keys.meta(user, name), object);
      const canResume =
        resume !== undefined &&
        resume.size === object.size &&
        resume.mtime === object.mtime &&
        resume.offset <= object.size &&
        (resume.offset % BLOCK_SIZE === 0 || resume.offset === object.size);
      const offset = canResume ? resume.offset : 0;
      const reader = new S3Reader(this.#ctx.bucket, object.key, object, name);
      const blocks = Math.ceil(offset / BLOCK_SIZE);
      const prefixDigests = meta ? meta.digests.slice(0, blocks) : await digestsOf(reader, offset);
      return { size: object.size, mtime: object.mtime, offset, reader, prefixDigests, sha256: meta?.sha256 };
    });
  }

  createUpload(user: string, name: string, request: UploadRequest): Promise<UploadSink> {
    return this.#guard('start the upload', async () => {
      await checkUploadPlace(this.#ctx, user, name);
      const { bucket, keys } = this.#ctx;
      let id = request.key === undefined ? undefined : partialId(name, request.size, request.key);
      if (id !== undefined && this.#active.has(`${user}/${id}`)) id = undefined; // the same content is being sent right now
      const partSize = partSizeFor(request.size);
      const resumable = id !== undefined && request.size >= partSize;
      id ??= randomBytes(16).toString('hex');
      const active = `${user}/${id}`;
      this.#active.add(active);
      const place: UploadPlace = {
        bucket,
        name,
        dataKey: keys.file(user, name),
        metaKey: keys.meta(user, name),
        size: request.size,
        budget: this.#budget,
        release: () => this.#active.delete(active),
      };
      try {
        if (request.size < partSize) return await SmallUpload.open(place);
        const record =
          (resumable ? await resumableRecord(this.#ctx, this.#partials.load(user, id), name, request.size) : undefined) ??
          (await beginUpload(this.#ctx, place, partSize));
        await this.#partials.save(user, id, record);
        return new MultipartUpload({ place, partials: this.#partials, user, id, record, resumable });
      } catch (err) {
        this.#active.delete(active);
        throw err;
      }
    });
  }

  delete(user: string, path: string): Promise<number> {
    return this.#guard(`delete ${JSON.stringify(path)}`, () => deleteEntry(this.#ctx, user, path));
  }

  makeFolder(user: string, path: string): Promise<void> {
    return this.#guard(`create the folder ${JSON.stringify(path)}`, async () => {
      const parts = path.split('/');
      for (let i = 1; i <= parts.length; i++) {
        const walked = parts.slice(0, i).join('/');
        const kind = await kindOf(this.#ctx, user, walked);
        if (kind?.kind === 'file') {
          if (i === parts.length) throw new LpfError('LPF_ERR_EXISTS', `${JSON.stringify(walked)} already exists as a file`);
          throw notAFolder(walked);
        }
        if (!kind || i === parts.length) await this.#ctx.bucket.putMarker(this.#ctx.keys.folder(user, walked));
      }
    });
  }

  rename(user: string, from: string, to: string): Promise<void> {
    return this.#guard(`rename ${JSON.stringify(from)}`, () => renameEntry(this.#ctx, user, from, to));
  }

  copy(user: string, from: string, to: string, maxBytes: number): Promise<number> {
    return this.#guard(`copy ${JSON.stringify(from)}`, () => copyEntry(this.#ctx, user, from, to, maxBytes));
  }

  usage(user: string): Promise<number> {
    return this.#guard('measure your storage', async () => {
      let bytes = 0;
      for await (const object of this.#ctx.bucket.objects(this.#ctx.keys.userFiles(user))) bytes += object.size;
      return bytes;
    });
  }

  keptPartialBytes(user: string, resuming?: { path: string; request: UploadRequest }): Promise<number> {
    return this.#guard('measure your partial uploads', async () => {
      const key = resuming?.request.key;
      const resumed = resuming && key !== undefined ? partialId(resuming.path, resuming.request.size, key) : undefined;
      let bytes = 0;
      for (const found of await this.#partials.list(user, true)) {
        if (found.id === resumed || this.#active.has(`${user}/${found.id}`) || !found.record) continue;
        bytes += keptBytes(found.record);
      }
      return bytes;
    });
  }

  partials(user: string, path: string): Promise<ListEntry[]> {
    return this.#guard('list your unfinished uploads', async () => {
      const entries: ListEntry[] = [];
      for (const { id, record, mtime } of await this.#partials.list(user, true)) {
        if (!record || remoteParent(record.path) !== path || this.#active.has(`${user}/${id}`)) continue;
        entries.push({ name: remoteBaseName(record.path), size: record.size, mtime, received: keptBytes(record) });
      }
      return entries;
    });
  }

  sweepPartials(maxAgeMs: number): Promise<number> {
    return this.#guard('sweep partial uploads', () => sweepUploads(this.#ctx, this.#partials, (id) => this.#active.has(id), maxAgeMs));
  }

  removeUser(user: string): Promise<RemovedUser> {
    return this.#guard('remove the files', async () => ({ count: await removeOwner(this.#ctx, this.#partials, user), unit: 'object' }));
  }

  async #fileEntry(user: string, path: string, name: string, object: ObjectInfo, checksums = false): Promise<ListEntry> {
    const entry: ListEntry = { name, size: object.size, mtime: object.mtime };
    if (checksums) {
      const sha256 = await this.#checksum(user, path, object).catch(() => undefined);
      if (sha256) entry.sha256 = sha256;
    }
    return entry;
  }

  /** The recorded checksum, or one computed now from the content (files placed by other means). */
  async #checksum(user: string, path: string, object: ObjectInfo): Promise<string> {
    // A listing gives neither the object's metadata nor, always, the ETag GET compares (see s3-meta.ts): HEAD does.
    const current = (await this.#ctx.bucket.head(object.key)) ?? object;
    const meta = await recordedChecksum(this.#ctx.bucket, this.#ctx.keys.meta(user, path), current);
    if (meta) return meta.sha256;
    const reader = new S3Reader(this.#ctx.bucket, object.key, current, path);
    try {
      return (await hashPrefix(reader, object.size)).digest();
    } finally {
      await reader.close();
    }
  }

  /** Runs an operation, turning a failure of the store into LPF_ERR_SERVER saying what could not be done. */
  async #guard<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw storeError(err, action);
    }
  }
}

/** Hashes the first `length` bytes through the reader, 1 MiB at a time. */
async function hashPrefix(reader: S3Reader, length: number): Promise<ContentHasher> {
  const hasher = new ContentHasher();
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  for (let at = 0; at < length;) {
    const n = await reader.read(buffer, at, Math.min(buffer.length, length - at));
    hasher.update(buffer.subarray(0, n));
    at += n;
  }
  return hasher;
}

/** Digests of the blocks in the first `length` bytes, read from the store (when no record has them). */
async function digestsOf(reader: S3Reader, length: number): Promise<Buffer[]> {
  const hasher = await hashPrefix(reader, length);
  if (length > 0) hasher.digest();
  return [...hasher.digests];
}

/** What the start-up check tells an operator: which setting to fix. */
function checkError(err: unknown, bucketName: string): LpfError {
  const name = (err as { name?: string }).name;
  const bucket = JSON.stringify(bucketName);
  if (name === 'NoSuchBucket') return new LpfError('LPF_ERR_SERVER', `the bucket ${bucket} does not exist; create it first`);
  if (name === 'CredentialsProviderError' || /load credentials/i.test(String((err as Error).message))) {
    return new LpfError('LPF_ERR_SERVER', 'no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an AWS profile)');
  }
  if (name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
    return new LpfError('LPF_ERR_SERVER', `the object store refused the S3 credentials for the bucket ${bucket} (${name})`);
  }
  return storeError(err, `reach the bucket ${bucket}`);
}
