/** The few object operations S3Storage uses, on one bucket, with missing objects as `undefined`. */
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isMissing } from './s3-store.js';

/** Deletes in flight at once in deleteAll. */
const PARALLEL_DELETES = 16;

/** What HEAD or a listing tells of an object. */
export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  /** Whole milliseconds since the epoch. */
  mtime: number;
  /** The object's user metadata (x-amz-meta-…, names in lower case): HEAD gives it, a listing does not. */
  metadata?: Record<string, string>;
}

/** One page of a listing: objects, and the folders rolled up by the delimiter. */
export interface ListPage {
  objects: ObjectInfo[];
  prefixes: string[];
}

export class Bucket {
  readonly client: S3Client;
  readonly name: string;

  constructor(client: S3Client, name: string) {
    this.client = client;
    this.name = name;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      const info = { key, size: out.ContentLength ?? 0, etag: out.ETag ?? '', mtime: out.LastModified?.getTime() ?? 0 };
      return { ...info, metadata: out.Metadata ?? {} };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** A small object's whole content (records, never users' files). */
  async getBuffer(key: string): Promise<{ body: Buffer; mtime: number } | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
      const bytes = (await out.Body?.transformToByteArray()) ?? new Uint8Array();
      return { body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), mtime: out.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** Writes a whole object from a buffer (a known length), with its user metadata if any; resolves with its ETag. */
  async put(key: string, body: Buffer, options: { contentType?: string; metadata?: Record<string, string> } = {}): Promise<string> {
    const { contentType: ContentType, metadata: Metadata } = options;
    const out = await this.client.send(
      new PutObjectCommand({ Bucket: this.name, Key: key, Body: body, ContentLength: body.length, ContentType, Metadata }),
    );
    return out.ETag ?? '';
  }

  /** Writes a folder's 0-byte marker (its key ends in "/"). */
  async putMarker(key: string): Promise<void> {
    await this.put(key, Buffer.alloc(0), { contentType: 'application/x-directory' });
  }

  /** Deletes an object; a missing one is no error (S3 says so too). */
  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.name, Key: key }));
  }

  /**
   * Deletes objects, a few requests at a time: one request each, since a multi-object delete must carry a
   * checksum header that some stores refuse.
   */
  async deleteAll(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += PARALLEL_DELETES) {
      await Promise.all(keys.slice(i, i + PARALLEL_DELETES).map((key) => this.delete(key)));
    }
  }

  /** Server-side copy of an object up to 5 GiB; resolves with the copy's ETag. */
  async copy(from: string, to: string): Promise<string> {
    const out = await this.client.send(
      new CopyObjectCommand({ Bucket: this.name, Key: to, CopySource: `${this.name}/${encodeURIComponent(from).replace(/%2F/g, '/')}` }),
    );
    return out.CopyObjectResult?.ETag ?? '';
  }

  /** Every page of the keys under `prefix` (rolled up at "/" when `delimited`), 1000 at a time. */
  async *pages(prefix: string, delimited: boolean): AsyncGenerator<ListPage> {
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.name,
          Prefix: prefix,
          ContinuationToken: token,
          ...(delimited ? { Delimiter: '/' } : {}),
        }),
      );
      const objects = (out.Contents ?? []).map((o) => ({
        key: o.Key ?? '',
        size: o.Size ?? 0,
        etag: o.ETag ?? '',
        mtime: o.LastModified?.getTime() ?? 0,
      }));
      yield { objects, prefixes: (out.CommonPrefixes ?? []).map((p) => p.Prefix ?? '') };
      token = out.IsTruncated === true ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** Every object under `prefix`, recursively. */
  async *objects(prefix: string): AsyncGenerator<ObjectInfo> {
    for await (const page of this.pages(prefix, false)) yield* page.objects;
  }

  /** Whether any key starts with `prefix` (one request, at most `limit` keys looked at). */
  async firstKeys(prefix: string, limit: number): Promise<string[]> {
    const out = await this.client.send(new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, MaxKeys: limit }));
    return (out.Contents ?? []).map((o) => o.Key ?? '');
  }
}
