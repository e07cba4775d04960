/**
 * Receiving a remote file: into a partial file beside the target, with backpressure from the local
 * disk, renamed into place once complete and verified; a cut-off download of the same, unchanged
 * file is continued.
 */
import { access } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { LpfError } from '../errors.js';
import { normalizeRemotePath, type MessageOf } from '../protocol/index.js';
import { formatAddress } from './address.js';
import type { Turn } from './command-queue.js';
import type { ClientContext } from './context.js';
import { localError } from './local-error.js';
import { LocalPartial, type PartialWriter, type ResumableDownload } from './local-partial.js';
import type { ProgressListener, TransferResult } from './transfer-result.js';

/** How LpfClient.download treats the local side. */
export interface DownloadOptions {
  /** Replace an existing local file. */
  force?: boolean;
  onProgress?: ProgressListener;
}

/** One download under way: where it goes, and what a cut-off attempt left to resume from. */
interface DownloadJob {
  name: string;
  localPath: string;
  partial: LocalPartial;
  resume: ResumableDownload | undefined;
  started: number;
  options: DownloadOptions;
}

/** Downloads `remoteName` to `localPath` in the command's `turn`. */
export async function downloadFile(
  ctx: ClientContext,
  turn: Turn,
  remoteName: string,
  localPath: string,
  options: DownloadOptions,
): Promise<TransferResult> {
  const name = normalizeRemotePath(remoteName);
  if (!options.force) await refuseExisting(localPath);
  const started = performance.now();
  const partial = new LocalPartial(localPath, name, formatAddress(ctx.address));
  const resume = await partial.resumable();
  // The request goes as soon as the earlier ones are out: downloads started together cost no round trip each.
  await turn.earlierSent;
  ctx.conn.send({ type: 'download', name, ...(resume ? { offset: resume.offset, size: resume.size, mtime: resume.mtime } : {}) });
  turn.sent();
  await turn.earlierDone;
  const job = { name, localPath, partial, resume, started, options };
  return ctx.inStep((exchangeOver) => receiveDownload(ctx, job, exchangeOver));
}

/** Receives the announced file and puts it in place; on failure keeps the partial only when it can be resumed from. */
async function receiveDownload(ctx: ClientContext, job: DownloadJob, exchangeOver: () => void): Promise<TransferResult> {
  const file = await ctx.expect('file', { keepHold: true });
  const { writer, receiving } = await startReceiving(ctx, job, file);
  let placing = false;
  try {
    const sha256 = await receiving();
    // Every byte and the end are in: whatever fails locally from here on concerns this file only.
    exchangeOver();
    if (!job.options.force) await refuseExisting(job.localPath);
    placing = true;
    await job.partial.complete().catch((err: unknown) => {
      throw localError(err, `cannot create ${job.localPath}`);
    });
    return { name: job.name, size: file.size, sha256, ms: performance.now() - job.started, resumedFrom: file.offset };
  } catch (err) {
    // Damaged data must not be resumed from, nor data that cannot be put in place; anything else (a cut
    // connection, a target that exists) keeps the partial for next time.
    const code = (err as LpfError).code;
    const damaged = code === 'LPF_ERR_CHECKSUM' || code === 'LPF_ERR_SIZE_MISMATCH' || code === 'LPF_ERR_PROTOCOL';
    if (damaged || placing || !job.partial.keepsPartial) {
      writer.abandon();
      await job.partial.discard();
    } else {
      await writer.suspend();
    }
    throw err;
  }
}

/**
 * Opens the partial file and routes DATA to it. Input was kept held since the `file` answer: its DATA
 * follows at once, and releasing delivers what is already buffered there and then.
 */
async function startReceiving(
  ctx: ClientContext,
  job: DownloadJob,
  file: MessageOf<'file'>,
): Promise<{ writer: PartialWriter; receiving: () => Promise<string> }> {
  try {
    if (file.offset !== 0 && file.offset !== job.resume?.offset)
      throw new LpfError('LPF_ERR_PROTOCOL', `the server resumed at ${file.offset}, not where asked`);
    const writer = await job.partial.open(file, file.offset === 0 ? [] : (job.resume?.digests ?? []));
    return { writer, receiving: receiveFile(ctx, writer, file.size, file.offset, job.options.onProgress) };
  } finally {
    ctx.conn.release();
  }
}

/**
 * Starts writing the DATA that arrives to `writer` from `offset` on (the sink is in place when this
 * returns); the function returned waits for the end and verifies size and checksum.
 */
function receiveFile(
  ctx: ClientContext,
  writer: PartialWriter,
  size: number,
  offset: number,
  onProgress?: ProgressListener,
): () => Promise<string> {
  let received = offset;
  onProgress?.(received, size);
  writer.onError((err) => ctx.conn.close(localError(err, 'cannot write the local file')));
  ctx.setDataSink((chunk) => {
    received += chunk.length;
    if (received > size) throw new LpfError('LPF_ERR_PROTOCOL', 'the server sent more than the announced size');
    if (!writer.write(chunk)) {
      ctx.conn.hold();
      writer.onDrain(() => ctx.conn.release());
    }
    onProgress?.(received, size);
  });
  return async () => {
    try {
      const end = await ctx.expect('end');
      const sha256 = await writer.finish().catch((err: unknown) => {
        throw localError(err, 'cannot write the local file');
      });
      if (received !== size) throw new LpfError('LPF_ERR_SIZE_MISMATCH', `received ${received} of ${size} bytes`);
      if (end.sha256 !== sha256)
        throw new LpfError('LPF_ERR_CHECKSUM', 'checksum mismatch: the data was corrupted; the partial download was removed');
      return sha256;
    } finally {
      ctx.setDataSink(undefined);
    }
  };
}

async function refuseExisting(path: string): Promise<void> {
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (exists) throw new LpfError('LPF_ERR_LOCAL_EXISTS', `${path} already exists (use --force to overwrite it)`);
}
