/**
 * Where lpf-server keeps files: the local disk under ROOT by default, or an S3-compatible bucket with
 * --storage s3://BUCKET[/PREFIX] (and --s3-endpoint, --s3-region, --s3-path-style). Credentials come
 * only from the standard AWS chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, shared config files),
 * never from a flag. The bucket is checked at start-up, so a wrong setting stops the server at once.
 */
import { LpfError } from '../errors.js';
import { parseStorageUrl } from '../server/storage/s3/s3-location.js';
import type { Storage } from '../server/storage/storage.js';
import type { ServerSettings } from './server-config.js';

/** The storage to serve from, and its name for the logs ("disk" or "s3"). */
export interface ChosenStorage {
  kind: 'disk' | 's3';
  /** Undefined for the disk: the server makes its own under ROOT. */
  storage: Storage | undefined;
  /** Where, for the logs: the bucket URL and endpoint (no credentials). */
  where?: string;
}

/** Reads the storage settings and, for S3, checks that the bucket answers; errors name the setting. */
export async function chooseStorage(settings: ServerSettings): Promise<ChosenStorage> {
  const url = settings.text('storage');
  const s3Flags = (['s3-endpoint', 's3-region'] as const).map((name) => settings.text(name)).filter((s) => s !== undefined);
  if (!url) {
    const stray = s3Flags[0];
    if (stray) throw new LpfError('LPF_ERR_USAGE', `${stray.what} needs --storage s3://BUCKET (files are on the local disk without it)`);
    return { kind: 'disk', storage: undefined };
  }
  if (!url.value.startsWith('s3://'))
    throw new LpfError('LPF_ERR_USAGE', `${url.what}: expected s3://BUCKET[/PREFIX], not ${JSON.stringify(url.value)}`);
  const where = {
    ...parseStorageUrl(url.value, url.what),
    region: settings.text('s3-region')?.value,
    pathStyle: settings.on('s3-path-style'),
  };
  const endpoint = settings.text('s3-endpoint');
  if (endpoint && !/^https?:\/\/[^/\s]+\/?$/.test(endpoint.value)) {
    throw new LpfError('LPF_ERR_USAGE', `${endpoint.what}: expected http(s)://HOST[:PORT], not ${JSON.stringify(endpoint.value)}`);
  }
  // Loaded only here: a server on the disk never loads the S3 client (see scripts/build.mjs).
  const { S3Storage } = await import('../server/storage/s3/s3-storage.js');
  const storage = new S3Storage({ ...where, endpoint: endpoint?.value });
  try {
    await storage.check();
  } catch (err) {
    storage.close();
    const message = err instanceof Error ? err.message : String(err);
    const setting = /unreachable/.test(message) && endpoint ? ` (${endpoint.what} ${endpoint.value})` : ` (${url.what} ${url.value})`;
    throw new LpfError('LPF_ERR_SERVER', `${message}${setting}`, { cause: err });
  }
  return { kind: 's3', storage, where: `${url.value}${endpoint ? ` at ${endpoint.value}` : ''}` };
}
