/** Where files on S3 are, as the settings give it; no S3 client here (loaded only when used). */
import { LpfError } from '../../../errors.js';

/** Where the files are: `s3://BUCKET[/PREFIX]` and how to reach it. */
export interface S3Location {
  bucket: string;
  /** "" or a prefix ending in "/". */
  prefix: string;
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
}

/** Parses `s3://BUCKET[/PREFIX]`; throws LPF_ERR_USAGE naming the setting. */
export function parseStorageUrl(url: string, what = '--storage'): Pick<S3Location, 'bucket' | 'prefix'> {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  const bucket = match?.[1] ?? '';
  if (!match || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new LpfError(
      'LPF_ERR_USAGE',
      `${what}: expected s3://BUCKET[/PREFIX] with a valid bucket name (3 to 63 of a-z, 0-9, "." and "-"), not ${JSON.stringify(url)}`,
    );
  }
  const parts = (match[2] ?? '').split('/').filter((p) => p.length > 0);
  if (parts.some((p) => p === '.' || p === '..'))
    throw new LpfError('LPF_ERR_USAGE', `${what}: no "." or ".." in the prefix of ${JSON.stringify(url)}`);
  return { bucket, prefix: parts.length > 0 ? `${parts.join('/')}/` : '' };
}
