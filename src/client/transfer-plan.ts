/**
 * Turns a command's operands into the steps of a transfer: which folders to
 * make and which files to move where, as cp and scp would place them. A
 * source that cannot be sent is a problem of its own; the others still go.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import { LpfError, toLpfError } from '../errors.js';
import { localError } from './local-error.js';
import { joinRemote, normalizeRemoteName, normalizeRemotePath, remoteBaseName, type ListEntry } from '../protocol/index.js';

export type UploadStep = { kind: 'folder'; remote: string } | { kind: 'file'; local: string; remote: string; size: number };
export type DownloadStep = { kind: 'folder'; local: string } | { kind: 'file'; remote: string; local: string; size: number };

export interface Problem {
  source: string;
  error: LpfError;
}

export interface Plan<Step> {
  steps: Step[];
  /** Sources that cannot be transferred, each with why. */
  problems: Problem[];
  /** Local entries left out of a recursive upload: symbolic links and special files. */
  skipped: string[];
}

export interface PlanOptions {
  /** Where to: a name for one file, else a folder (created when missing). */
  to?: string;
  /** Folders too, with all they hold. */
  recursive: boolean;
}

/** What planning needs to know of the server. */
export interface RemoteView {
  /** The entry at `path`, or undefined when there is none. */
  stat(path: string): Promise<ListEntry | undefined>;
  /** Everything below the folder `path`, named relative to it. */
  tree(path: string): Promise<ListEntry[]>;
}

/** Where sources go: into a folder under their own names, or (one source) exactly to a name. */
type Destination<P> = { folder: P; exact?: undefined } | { folder?: undefined; exact: P };

export async function planUpload(sources: string[], options: PlanOptions, remote: RemoteView): Promise<Plan<UploadStep>> {
  const plan: Plan<UploadStep> = { steps: [], problems: [], skipped: [] };
  const dest = await remoteDestination(sources.length, options.to, remote);
  if (dest.folder !== undefined && dest.folder !== '' && options.to !== undefined) plan.steps.push({ kind: 'folder', remote: dest.folder });
  // "--to reports/q1.pdf" makes "reports" if need be, as the folder of several files would be made.
  const exactParent = dest.exact?.includes('/') ? dest.exact.slice(0, dest.exact.lastIndexOf('/')) : undefined;
  if (exactParent) plan.steps.push({ kind: 'folder', remote: exactParent });
  for (const source of sources) {
    try {
      const info = await stat(source).catch((err: unknown) => {
        throw localError(err, `cannot read ${source}`);
      });
      const target = dest.exact ?? joinRemote(dest.folder as string, normalizeRemoteName(basename(resolve(source))));
      if (info.isFile()) plan.steps.push({ kind: 'file', local: source, remote: target, size: info.size });
      else if (!info.isDirectory()) throw new LpfError('LPF_ERR_LOCAL_IO', `${source} is not a regular file`);
      else if (!options.recursive) throw new LpfError('LPF_ERR_IS_FOLDER', `${source} is a folder; use -r to send it with all it holds`);
      else await addLocalTree(source, target, plan);
    } catch (err) {
      plan.problems.push({ source, error: toLpfError(err) });
    }
  }
  return plan;
}

export async function planDownload(sources: string[], options: PlanOptions, remote: RemoteView): Promise<Plan<DownloadStep>> {
  const plan: Plan<DownloadStep> = { steps: [], problems: [], skipped: [] };
  const dest = await localDestination(sources.length, options.to);
  if (dest.folder !== undefined && options.to !== undefined) plan.steps.push({ kind: 'folder', local: dest.folder });
  for (const source of sources) {
    try {
      const path = normalizeRemotePath(source);
      const entry = await remote.stat(path);
      if (!entry) throw new LpfError('LPF_ERR_NOT_FOUND', `no such file or folder: ${JSON.stringify(path)}`);
      const target = dest.exact ?? join(dest.folder as string, remoteBaseName(path));
      if (!entry.dir) plan.steps.push({ kind: 'file', remote: path, local: target, size: entry.size });
      else if (!options.recursive) throw new LpfError('LPF_ERR_IS_FOLDER', `${JSON.stringify(path)} is a folder; use -r to fetch it with all it holds`);
      else await addRemoteTree(path, target, plan, remote);
    } catch (err) {
      plan.problems.push({ source, error: toLpfError(err) });
    }
  }
  return plan;
}

/**
 * With several sources, or a `to` ending in "/" or naming a remote folder,
 * sources go into that folder; otherwise the one source is stored as `to`.
 */
async function remoteDestination(count: number, to: string | undefined, remote: RemoteView): Promise<Destination<string>> {
  if (to === undefined) return { folder: '' };
  const path = normalizeRemotePath(to, { allowTop: true });
  if (count > 1 || path === '' || to.endsWith('/')) return { folder: path };
  return (await remote.stat(path))?.dir ? { folder: path } : { exact: path };
}

/** The same rule on the local side: a `to` ending in the separator or naming a folder takes sources into it. */
async function localDestination(count: number, to: string | undefined): Promise<Destination<string>> {
  if (to === undefined) return { folder: '.' };
  if (count > 1 || to.endsWith('/') || to.endsWith(sep)) return { folder: to };
  const info = await stat(to).catch(() => undefined);
  return info?.isDirectory() ? { folder: to } : { exact: to };
}

/** The folder `dir` as `remoteRoot`: every folder (empty ones too) and every regular file, in tree order. */
async function addLocalTree(dir: string, remoteRoot: string, plan: Plan<UploadStep>): Promise<void> {
  plan.steps.push({ kind: 'folder', remote: remoteRoot });
  const names = await readdir(dir).catch((err: unknown) => {
    throw localError(err, `cannot read the folder ${dir}`);
  });
  for (const name of names.sort()) {
    const local = join(dir, name);
    const info: Stats | undefined = await lstat(local).catch(() => undefined);
    if (!info) continue; // gone since readdir
    if (!info.isFile() && !info.isDirectory()) {
      plan.skipped.push(local);
      continue;
    }
    const remotePath = joinRemote(remoteRoot, normalizeRemoteName(name));
    if (info.isDirectory()) await addLocalTree(local, remotePath, plan);
    else plan.steps.push({ kind: 'file', local, remote: remotePath, size: info.size });
  }
}

/** The remote folder `path` as the local `root`. Every name from the server is checked before it becomes a local path. */
async function addRemoteTree(path: string, root: string, plan: Plan<DownloadStep>, remote: RemoteView): Promise<void> {
  plan.steps.push({ kind: 'folder', local: root });
  for (const entry of await remote.tree(path)) {
    const relative = normalizeRemotePath(entry.name);
    const local = join(root, ...relative.split('/'));
    if (entry.dir) plan.steps.push({ kind: 'folder', local });
    else plan.steps.push({ kind: 'file', remote: joinRemote(path, relative), local, size: entry.size });
  }
}
