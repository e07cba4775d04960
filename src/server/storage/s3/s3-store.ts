/**
 * The bucket as S3Storage sees it: the client, the key layout and the errors. Keys under the prefix:
 *   files/<user>/<path>          a file's content, one object per file
 *   files/<user>/<path>/         a folder's marker (0 bytes); a folder also exists while any key is under it
 *   meta/<user>/<path>           a file's checksum record (s3-meta.ts), valid while the file's ETag and size match
 *   partials/<user>/<id>         the record of a multipart upload in progress or cut off (s3-partials.ts)
 */
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { LpfError } from '../../../errors.js';
import type { S3Location } from './s3-location.js';

export type { S3Location } from './s3-location.js';

/** The client, built as every S3-compatible store accepts it: no default checksums, bodies of known length. */
export function makeClient(location: S3Location): S3Client {
  // The version is pinned on purpose (see docs/SERVER.md): its notice about later releases is not for operators.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    ...(location.endpoint === undefined ? {} : { endpoint: location.endpoint }),
    region: location.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: location.pathStyle === true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000, httpAgent: { maxSockets: 256, keepAlive: true } },
  });
}

/** Keys of one bucket prefix; every key of a user is checked to stay under that user's prefixes. */
export class KeySpace {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** The prefix of a user's files, ending in "/". */
  userFiles(user: string): string {
    return `${this.prefix}files/${checkedUser(user)}/`;
  }

  /** A file's key ("" is the user's top, whose key is the prefix itself). */
  file(user: string, path: string): string {
    return this.userFiles(user) + checkedPath(path);
  }

  /** A folder's marker key, ending in "/" ("" is the top). */
  folder(user: string, path: string): string {
    return path === '' ? this.userFiles(user) : `${this.file(user, path)}/`;
  }

  meta(user: string, path: string): string {
    return `${this.prefix}meta/${checkedUser(user)}/${checkedPath(path)}`;
  }

  /** The prefix of a user's checksum records, ending in "/". */
  userMeta(user: string): string {
    return this.meta(user, '');
  }

  userPartials(user: string): string {
    return `${this.prefix}partials/${checkedUser(user)}/`;
  }

  partialsRoot(): string {
    return `${this.prefix}partials/`;
  }

  filesRoot(): string {
    return `${this.prefix}files/`;
  }
}

/** User names arrive validated; this only makes sure none can name another user's keys. */
function checkedUser(user: string): string {
  if (user === '' || user.includes('/') || user === '.' || user === '..')
    throw new LpfError('LPF_ERR_INTERNAL', 'invalid user name for storage');
  return user;
}

/** Paths arrive validated (names.ts); this only makes sure no key can leave the user's prefix. */
function checkedPath(path: string): string {
  if (path === '') return '';
  if (path.split('/').some((p) => p === '' || p === '.' || p === '..')) throw new LpfError('LPF_ERR_INTERNAL', 'invalid path for storage');
  return path;
}

/** The S3 error name (NoSuchKey, NotFound, …), if `err` is an answer of the store. */
export function s3Code(err: unknown): string | undefined {
  if (err instanceof S3ServiceException) return err.name;
  return undefined;
}

export function isMissing(err: unknown): boolean {
  const code = s3Code(err);
  if (code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchUpload') return true;
  return err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404;
}

/** A failure of the object store, for the client: LPF_ERR_SERVER, saying what could not be done and why, without keys. */
export function storeError(err: unknown, action: string): LpfError {
  if (err instanceof LpfError) return err;
  let why: string;
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode;
    why = `the object store answered ${err.name}${status === undefined ? '' : ` (HTTP ${status})`}`;
  } else {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    why = code
      ? `the object store is unreachable (${code})`
      : `the object store failed (${String((err as Error | undefined)?.message ?? err)})`;
  }
  return new LpfError('LPF_ERR_SERVER', `could not ${action}: ${why}`, { cause: err });
}
