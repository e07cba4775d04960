/**
 * -upload and -download of one file or many: plans the steps, runs them in
 * order over one connection, reports each, and goes on past a file that
 * fails, as cp does. A failure that ends the connection stops the rest.
 * Small files overlap: several are in flight before the first is answered.
 */
import { mkdir } from 'node:fs/promises';
import { isSmallFile, type LpfClient, type TransferResult } from '../client/client.js';
import { localError } from '../client/local-error.js';
import {
  planDownload,
  planUpload,
  type DownloadStep,
  type Plan,
  type PlanOptions,
  type RemoteView,
  type UploadStep,
} from '../client/transfer-plan.js';
import { LpfError } from '../errors.js';
import { Failures } from './failures.js';
import { formatBytes, formatDuration, formatRate } from './format.js';
import { reportWarning, type Output } from './output.js';
import { NO_PROGRESS, createProgress, transferSummary } from './progress.js';

export interface TransferOptions extends PlanOptions {
  force: boolean;
  checksum: boolean;
  showProgress: boolean;
}

/**
 * How many small transfers (files under 4 MiB) may be in flight at once: enough
 * to keep the server's disk flushes overlapping and to hide the round trips
 * (bench/profiles/2026-11-24-small-files.md), and how many of their bytes: an
 * upload's whole file is read and queued for the socket when it starts, and on
 * a slow link 16 files of 4 MiB would be 64 MiB waiting.
 */
const SMALL_FILES_OVERLAP: Window<UploadStep | DownloadStep> = {
  size: 16,
  bytes: 8 * 1024 * 1024,
  overlaps: (step) => step.kind === 'file' && isSmallFile(step.size),
};

/** Whether `step` is run overlapped in a command of several: such a step gets no progress bar (it would flash). */
function overlapped(plan: Plan<UploadStep | DownloadStep>, step: UploadStep | DownloadStep): boolean {
  return plan.steps.length > 1 && SMALL_FILES_OVERLAP.overlaps(step);
}

export async function uploadCommand(client: LpfClient, sources: string[], options: TransferOptions, out: Output): Promise<void> {
  const plan = await planUpload(sources, options, remoteView(client));
  await runPlan(
    plan,
    out,
    'uploaded',
    () => !client.closed,
    async (step: UploadStep) => {
      if (step.kind === 'folder') return void (await client.mkdir(step.remote));
      // An overlapped step calls the client before anything awaits: it takes its turn in step order.
      const progress = overlapped(plan, step) ? NO_PROGRESS : await createProgress(`↑ ${step.remote}`, options.showProgress);
      const result = await client.upload(step.local, step.remote, progress.listener).finally(() => progress.stop());
      reportTransfer(out, `uploaded ${transferSummary(result)}`, result, step.local, options.checksum);
      return result;
    },
    SMALL_FILES_OVERLAP,
  );
}

export async function downloadCommand(client: LpfClient, sources: string[], options: TransferOptions, out: Output): Promise<void> {
  const plan = await planDownload(sources, options, remoteView(client));
  await runPlan(
    plan,
    out,
    'downloaded',
    () => !client.closed,
    async (step: DownloadStep) => {
      if (step.kind === 'folder') {
        return void (await mkdir(step.local, { recursive: true }).catch((err: unknown) => {
          throw localError(err, `cannot create the folder ${step.local}`);
        }));
      }
      const progress = overlapped(plan, step) ? NO_PROGRESS : await createProgress(`↓ ${step.remote}`, options.showProgress);
      const result = await client
        .download(step.remote, step.local, { force: options.force, onProgress: progress.listener })
        .finally(() => progress.stop());
      reportTransfer(out, `downloaded ${transferSummary(result)} to ${step.local}`, result, step.local, options.checksum);
      return result;
    },
    SMALL_FILES_OVERLAP,
  );
}

/** The server as the planner sees it: a missing path is undefined, not an error. */
function remoteView(client: LpfClient): RemoteView {
  return {
    stat: (path) =>
      client.stat(path).catch((err: unknown) => {
        if (err instanceof LpfError && err.code === 'LPF_ERR_NOT_FOUND') return undefined;
        throw err;
      }),
    tree: (path) => client.list(path, { recursive: true }),
  };
}

/**
 * Steps for which `overlaps` holds may start while earlier ones are not over:
 * at most `size` steps in flight, with at most `bytes` of files among them
 * (one step alone may be larger).
 */
interface Window<Step> {
  size: number;
  bytes: number;
  overlaps(step: Step): boolean;
}

const ONE_AT_A_TIME: Window<unknown> = { size: 1, bytes: 0, overlaps: () => false };

/** A file step's size; a folder step weighs nothing. */
function stepBytes(step: { kind: string; size?: number }): number {
  return step.kind === 'file' ? (step.size ?? 0) : 0;
}

/**
 * Runs every step. One file and nothing else: its error is the command's error,
 * as it always was. Several: each failure is reported where it happens, the
 * rest goes on, and the command fails at the end with the first failure's code.
 */
async function runPlan<Step extends { kind: string; size?: number }>(
  plan: Plan<Step>,
  out: Output,
  verb: string,
  connected: () => boolean,
  run: (step: Step) => Promise<TransferResult | undefined>,
  window: Window<Step> = ONE_AT_A_TIME,
): Promise<void> {
  for (const path of plan.skipped) reportWarning(`skipped ${path}: not a regular file or folder (symbolic links are not followed)`);
  const files = plan.steps.filter((s) => s.kind === 'file').length;
  const single = plan.steps.length + plan.problems.length === 1 && plan.steps.length === files;
  if (single) {
    if (plan.problems[0]) throw plan.problems[0].error;
    await run(plan.steps[0] as Step);
    return;
  }
  const failures = new Failures(out.json, connected);
  for (const problem of plan.problems) failures.add(problem.error);
  const started = Date.now();
  let bytes = 0;
  let done = 0;
  // A folder that could not be made is one more thing that failed: the count of failures never outruns the total.
  let failedFolders = 0;
  const inFlight = new InFlight(window);
  let previous: Promise<unknown> = Promise.resolve();
  for (const step of plan.steps) {
    await inFlight.makeRoom(step);
    // A step that fails at once (an unreadable file) is reported after the steps before it, not ahead of
    // them; whether the connection was still up is noted when it failed, not when its turn to report comes.
    let connectedWhenFailed = true;
    const outcome = run(step).catch((err: unknown) => {
      connectedWhenFailed = connected();
      throw err;
    });
    outcome.catch(() => {}); // handled below, in its turn
    const attempt = previous.then(async () => {
      const failedBefore = failures.count;
      const result = await failures.attempt(
        () => outcome,
        () => connectedWhenFailed,
      );
      if (result) {
        bytes += result.size - result.resumedFrom;
        done++;
      } else if (step.kind === 'folder' && failures.count > failedBefore) {
        failedFolders++;
      }
    });
    attempt.catch(() => {}); // a lost connection fails every step in flight; the first one awaited reports it
    previous = attempt.catch(() => {});
    inFlight.add(step, attempt);
  }
  await inFlight.drain();
  const total = files + plan.problems.length + failedFolders;
  const ms = Date.now() - started;
  if (total > 1 && !out.json)
    out.result(`${verb} ${done} of ${total} files, ${formatBytes(bytes)} in ${formatDuration(ms)}, ${formatRate(bytes, ms)}`, {});
  failures.throwIfAny(total, verb);
}

/** The steps of a plan in flight, kept within a Window: each entry is over once its step is reported. */
class InFlight<Step extends { kind: string; size?: number }> {
  readonly #window: Window<Step>;
  readonly #steps: { reported: Promise<void>; bytes: number }[] = [];
  #bytes = 0;

  constructor(window: Window<Step>) {
    this.#window = window;
  }

  /** Waits until `step` may start: alone unless it overlaps, and within the window's count and bytes. */
  async makeRoom(step: Step): Promise<void> {
    if (!this.#window.overlaps(step)) await this.drain();
    const bytes = stepBytes(step);
    while (this.#steps.length > 0 && (this.#steps.length >= this.#window.size || this.#bytes + bytes > this.#window.bytes))
      await this.#oldestReported();
  }

  /** Counts `step` in flight until `reported` settles. */
  add(step: Step, reported: Promise<void>): void {
    const bytes = stepBytes(step);
    this.#steps.push({ reported, bytes });
    this.#bytes += bytes;
  }

  /** Waits for every step in flight, in order. */
  async drain(): Promise<void> {
    while (this.#steps.length > 0) await this.#oldestReported();
  }

  async #oldestReported(): Promise<void> {
    const oldest = this.#steps.shift();
    if (!oldest) return;
    this.#bytes -= oldest.bytes;
    await oldest.reported;
  }
}

function reportTransfer(out: Output, text: string, result: TransferResult, local: string, checksum: boolean): void {
  out.result(text, {
    name: result.name,
    size: result.size,
    sha256: result.sha256,
    ms: Math.round(result.ms),
    resumedFrom: result.resumedFrom,
    local,
  });
  if (checksum) out.always(`LPF-SHA256 (${result.name}) = ${result.sha256}`);
}
