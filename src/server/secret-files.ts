/** A loud line at start for secrets that other local users can read: a configuration mistake. */
import { stat } from 'node:fs/promises';
import type { Logger } from './logger.js';

export async function warnIfReadableByOthers(log: Logger, ...paths: (string | undefined)[]): Promise<void> {
  for (const path of paths) {
    if (!path) continue;
    const mode = await stat(path).then(
      (s) => s.mode,
      () => undefined,
    );
    if (mode !== undefined && (mode & 0o077) !== 0) {
      log.warn({ path, mode: `0${(mode & 0o777).toString(8)}` }, 'secret file is readable by other users; run chmod 600 on it');
    }
  }
}
