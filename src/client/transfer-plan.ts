/**
 * Turns a command's operands into the steps of a transfer: which folders to
 * make and which files to move where, as cp and scp would place them. A
 * source that cannot be sent is a problem of its own; the others still go.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import { LpfError, toLpfError, type ErrorCode } from '../errors.js';
import { localError } from './local-error.js';
import { joinRemote, normalizeRemoteName, normalizeRemotePath, quoteName, remoteBaseName, type ListEntry } from '../protocol/index.js';

/** One step of an upload: make a remote folder, or send a local file to a remote name. */
export type UploadStep = { kind: 'folder'; remote: string } | { kind: 'file'; local: string; remote: string; size: number };
/** One step of a download: make a local folder, or fetch a remote file to a local path. */
export type DownloadStep = { kind: 'folder'; local: string } | { kind: 'file'; remote: string; local: string; size: number };

/** A source that cannot be transferred, with why. */
export interface Problem {
  source: string;
  error: LpfError;
}

/** The steps of a transfer, in order, and the sources left out. */
export interface Plan<Step> {
  steps: Step[];
  /** Sources that cannot be transferred, each with why. */
  problems: Problem[];
  /** Local entries left out of a recursive upload: symbolic links and special files. */
  skipped: string[];
}

/** Where a transfer goes, and whether it takes folders. */
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

/** Plans an upload of local `sources`, as cp would place them on the server. */
export async function planUpload(sources: string[], options: PlanOptions, remote: RemoteView): Promise<Plan<UploadStep>> {
  const plan: Plan<UploadStep> = { steps: [], problems: [], skipped: [] };
  const targets = new Targets(plan.problems, {
    verb: 'uploaded',
    code: 'LPF_ERR_EXISTS',
    describe: (path) => `remote ${JSON.stringify(path)}`,
  });
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
      const target = dest.exact ?? normalizeRemotePath(joinRemote(dest.folder, normalizeRemoteName(basename(resolve(source)))));
      if (info.isFile()) {
        if (targets.claimFile(target, source)) plan.steps.push({ kind: 'file', local: source, remote: target, size: info.size });
      } else if (!info.isDirectory()) throw new LpfError('LPF_ERR_LOCAL_IO', `${source} is not a regular file`);
      else if (!options.recursive) throw new LpfError('LPF_ERR_IS_FOLDER', `${source} is a folder; use -r to send it with all it holds`);
      else if (targets.claimFolder(target, source)) await addLocalTree(source, target, plan, targets);
    } catch (err) {
      plan.problems.push({ source, error: toLpfError(err) });
    }
  }
  return plan;
}

/** Plans a download of remote `sources`, as cp would place them locally. */
export async function planDownload(sources: string[], options: PlanOptions, remote: RemoteView): Promise<Plan<DownloadStep>> {
  const plan: Plan<DownloadStep> = { steps: [], problems: [], skipped: [] };
  const targets = new Targets(plan.problems, {
    verb: 'downloaded',
    code: 'LPF_ERR_LOCAL_EXISTS',
    describe: (path) => `the local ${path}`,
    key: (path) => resolve(path),
  });
  const dest = await localDestination(sources.length, options.to);
  if (dest.folder !== undefined && options.to !== undefined) plan.steps.push({ kind: 'folder', local: dest.folder });
  for (const source of sources) {
    try {
      const path = normalizeRemotePath(source);
      const entry = await remote.stat(path);
      if (!entry) throw new LpfError('LPF_ERR_NOT_FOUND', `no such file or folder: ${JSON.stringify(path)}`);
      const target = dest.exact ?? join(dest.folder, remoteBaseName(path));
      if (!entry.dir) {
        if (targets.claimFile(target, JSON.stringify(path)))
          plan.steps.push({ kind: 'file', remote: path, local: target, size: entry.size });
      } else if (!options.recursive)
        throw new LpfError('LPF_ERR_IS_FOLDER', `${JSON.stringify(path)} is a folder; use -r to fetch it with all it holds`);
      else if (targets.claimFolder(target, JSON.stringify(path))) await addRemoteTree(path, target, plan, remote, targets);
    } catch (err) {
      plan.problems.push({ source, error: toLpfError(err) });
    }
  }
  return plan;
}

/**
 * Where a command's sources land, so that two of them never land on one place: two local files that
 * are one remote name (café in NFC and in NFD are two files on Linux, one name for lpf), or two
 * remote files that are one local path. The first keeps the place; the second is a problem of its
 * own, as cp refuses to overwrite a file it has just made. Folders may meet (their content merges,
 * and any file in both is caught in turn); a file and a folder may not.
 */
class Targets {
  readonly #problems: Problem[];
  readonly #rules: TargetRules;
  readonly #claims = new Map<string, { source: string; folder: boolean }>();

  /** Collisions go to `problems`, worded and coded by `rules`. */
  constructor(problems: Problem[], rules: TargetRules) {
    this.#problems = problems;
    this.#rules = rules;
  }

  /** Whether the file `source` may go to `target`; when it may not, it is recorded as a collision. */
  claimFile(target: string, source: string): boolean {
    return this.#claim(target, source, false);
  }

  /** Whether the folder `source` may go to `target` (an earlier folder there is fine: they merge). */
  claimFolder(target: string, source: string): boolean {
    return this.#claim(target, source, true);
  }

  #claim(target: string, source: string, folder: boolean): boolean {
    const { verb, code, describe, key = (t: string) => t } = this.#rules;
    const earlier = this.#claims.get(key(target));
    if (earlier === undefined) {
      this.#claims.set(key(target), { source, folder });
      return true;
    }
    if (folder && earlier.folder) return true;
    const message = `${source} and ${earlier.source} would both be ${describe(target)}; ${source} was not ${verb}`;
    this.#problems.push({ source, error: new LpfError(code, message) });
    return false;
  }
}

interface TargetRules {
  verb: string;
  code: ErrorCode;
  /** How a target is named in a message. */
  describe: (target: string) => string;
  /** What makes two targets one place (default: being equal). */
  key?: (target: string) => string;
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

/**
 * The folder `dir` as `remoteRoot`: every folder (empty ones too) and every regular file, in tree order.
 * An entry that cannot be sent (a name lpf refuses, too deep a path, an unreadable folder) is a problem
 * of its own, naming it; the rest of the tree still goes.
 */
async function addLocalTree(dir: string, remoteRoot: string, plan: Plan<UploadStep>, targets: Targets): Promise<void> {
  plan.steps.push({ kind: 'folder', remote: remoteRoot });
  const names = await readdir(dir).catch((err: unknown) => {
    plan.problems.push({ source: dir, error: localError(err, `cannot read the folder ${dir}`) });
    return [];
  });
  for (const name of names.sort()) {
    const local = join(dir, name);
    const info: Stats | undefined = await lstat(local).catch(() => undefined);
    if (!info) continue; // gone since readdir
    if (!info.isFile() && !info.isDirectory()) {
      plan.skipped.push(local);
      continue;
    }
    let remotePath: string;
    try {
      remotePath = normalizeRemotePath(joinRemote(remoteRoot, normalizeRemoteName(name)));
    } catch (err) {
      plan.problems.push({ source: local, error: naming(local, 'uploaded', err) });
      continue;
    }
    if (info.isDirectory()) {
      if (targets.claimFolder(remotePath, local)) await addLocalTree(local, remotePath, plan, targets);
    } else if (targets.claimFile(remotePath, local)) {
      plan.steps.push({ kind: 'file', local, remote: remotePath, size: info.size });
    }
  }
}

/**
 * The remote folder `path` as the local `root`. Every name from the server is checked before it becomes
 * a local path; one that fails is a problem of its own, and the rest of the tree still comes.
 */
async function addRemoteTree(path: string, root: string, plan: Plan<DownloadStep>, remote: RemoteView, targets: Targets): Promise<void> {
  plan.steps.push({ kind: 'folder', local: root });
  for (const entry of await remote.tree(path)) {
    let relative: string;
    try {
      relative = normalizeRemotePath(entry.name);
    } catch (err) {
      plan.problems.push({ source: entry.name, error: naming(quoteName(joinRemote(path, entry.name)), 'downloaded', err) });
      continue;
    }
    const local = join(root, ...relative.split('/'));
    const source = quoteName(joinRemote(path, entry.name)); // as listed: a collision may come of normalising it
    if (entry.dir) {
      if (targets.claimFolder(local, source)) plan.steps.push({ kind: 'folder', local });
    } else if (targets.claimFile(local, source)) {
      plan.steps.push({ kind: 'file', remote: joinRemote(path, relative), local, size: entry.size });
    }
  }
}

/** A refusal that says which entry it is about ("x cannot be uploaded: invalid remote name …"). */
function naming(what: string, verb: string, err: unknown): LpfError {
  const error = toLpfError(err);
  return new LpfError(error.code, `${what} cannot be ${verb}: ${error.message}`, { cause: err });
}
