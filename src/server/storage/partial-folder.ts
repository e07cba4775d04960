/**
 * Scans of `partial/<user>/`: what its kept partial uploads hold (charged to the quota), which they are,
 * and the sweep of those nobody resumed in time. An entry is `<id>.part`, `<id>.blocks`, `<id>.name` (a
 * keyed upload's path and size, so it can be listed) or a copy's `<id>.copy/` folder.
 */
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { remoteBaseName, remoteParent, type ListEntry } from '../../protocol/index.js';
import { keptLength } from '../../util/partial-file.js';

/** The id an entry of a partial folder belongs to. */
function idOf(entry: string): string {
  return entry.replace(/\.(part|blocks|name)$/, '');
}

/** Records what a keyed upload is for in `file` (its `<id>.name`), so that a listing can name it. */
export function recordUpload(file: string, path: string, size: number): Promise<void> {
  return writeFile(file, JSON.stringify({ path, size }), { mode: 0o600 });
}

/** The kept uploads in `dir` (one user's partial folder), but those `active`, whose file would go in the folder `folder`. */
export async function keptUploads(dir: string, folder: string, active: (id: string) => boolean): Promise<ListEntry[]> {
  const entries: ListEntry[] = [];
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    const id = idOf(entry);
    if (!entry.endsWith('.name') || active(id)) continue;
    const record = parseRecord(await readFile(join(dir, entry), 'utf8').catch(() => ''));
    if (!record || remoteParent(record.path) !== folder) continue;
    const data = await stat(join(dir, `${id}.part`)).catch(() => undefined);
    if (!data) continue; // committed or dropped meanwhile
    const received = await keptLength({ data: join(dir, `${id}.part`), blocks: join(dir, `${id}.blocks`) }, record.size);
    entries.push({ name: remoteBaseName(record.path), size: record.size, mtime: Math.floor(data.mtimeMs), received });
  }
  return entries;
}

function parseRecord(text: string): { path: string; size: number } | undefined {
  try {
    const { path, size } = JSON.parse(text) as { path: unknown; size: unknown };
    return typeof path === 'string' && typeof size === 'number' ? { path, size } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What each user's kept partial uploads hold, from one scan of `partial/<user>/` kept until something may
 * have changed it: an upload that could be kept ended (forget), or a sweep ran (forgetAll). A scan per
 * upload (a readdir and a stat per entry) cost the many-small-files case several per cent.
 */
export class KeptPartials {
  readonly #root: string;
  /** Bytes by id, of the entries that were not being written at the scan. */
  readonly #scans = new Map<string, Promise<Map<string, number>>>();

  constructor(partialRoot: string) {
    this.#root = partialRoot;
  }

  /** Bytes kept for `user`, but by the uploads being written now (`active`) and the one `resumed`. */
  async bytes(user: string, active: (id: string) => boolean, resumed?: string): Promise<number> {
    let scan = this.#scans.get(user);
    if (!scan) {
      scan = scanKept(join(this.#root, user), active);
      this.#scans.set(user, scan);
    }
    let bytes = 0;
    for (const [id, size] of await scan) if (id !== resumed && !active(id)) bytes += size;
    return bytes;
  }

  forget(user: string): void {
    this.#scans.delete(user);
  }

  forgetAll(): void {
    this.#scans.clear();
  }
}

/** Bytes by id in `dir`, leaving out the ids `skip` names: those being written change, and are charged by their reservation. */
async function scanKept(dir: string, skip: (id: string) => boolean): Promise<Map<string, number>> {
  const kept = new Map<string, number>();
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    const id = idOf(entry);
    if (skip(id)) continue;
    kept.set(id, (kept.get(id) ?? 0) + ((await stat(join(dir, entry)).catch(() => undefined))?.size ?? 0));
  }
  return kept;
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
