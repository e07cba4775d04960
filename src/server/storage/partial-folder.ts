/**
 * Scans of `partial/<user>/`: what its kept partial uploads hold (charged to the quota) and the sweep of
 * those nobody resumed in time. An entry is `<id>.part`, `<id>.blocks` or a copy's `<id>.copy/` folder.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** The id an entry of a partial folder belongs to. */
function idOf(entry: string): string {
  return entry.replace(/\.(part|blocks)$/, '');
}

/** Bytes held in `dir` by the entries whose id `skip` does not name (the uploads being written, the one resumed). */
export async function bytesKept(dir: string, skip: (id: string) => boolean): Promise<number> {
  let bytes = 0;
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    if (skip(idOf(entry))) continue;
    bytes += (await stat(join(dir, entry)).catch(() => undefined))?.size ?? 0;
  }
  return bytes;
}

/** Removes every entry of every user's partial folder untouched for `maxAgeMs`, but those `active` names; returns how many. */
export async function sweepOld(partialRoot: string, maxAgeMs: number, active: (user: string, id: string) => boolean): Promise<number> {
  let removed = 0;
  const now = Date.now();
  for (const user of await readdir(partialRoot).catch(() => [] as string[])) {
    const dir = join(partialRoot, user);
    for (const entry of await readdir(dir).catch(() => [] as string[])) {
      if (active(user, idOf(entry))) continue;
      const info = await stat(join(dir, entry)).catch(() => undefined);
      if (info && now - info.mtimeMs > maxAgeMs) {
        await rm(join(dir, entry), { recursive: true, force: true }); // a copy's scratch folder too
        removed++;
      }
    }
  }
  return removed;
}
