/**
 * Sending a local file: a small one in one pipelined burst, a larger one resumable and streamed
 * with backpressure. The server stores it only once every byte arrived intact.
 */
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { COMMAND_ERRORS, LpfError, toLpfError } from '../errors.js';
import { BLOCK_SIZE, ContentHasher, normalizeRemotePath, type MessageOf } from '../protocol/index.js';
import { dataFrameSize, sendRange } from '../transport/send-file.js';
import { hashFileStart } from '../util/read-range.js';
import type { Turn } from './command-queue.js';
import type { ClientContext } from './context.js';
import { localError } from './local-error.js';
import type { ProgressListener, TransferResult } from './transfer-result.js';

/**
 * Whether a file of `size` bytes is small: under one block, so it cannot be
 * resumed part-way. Its upload goes in one burst without waiting for the
 * server, and uploads or downloads of several small files started together
 * overlap. A larger upload waits for a resume offset first and then has the
 * connection to itself.
 */
export function isSmallFile(size: number): boolean {
  return size < BLOCK_SIZE;
}

/** A local file open for an upload, with what it was when opened. */
interface OpenUpload {
  handle: FileHandle;
  info: Stats;
  localPath: string;
  /** The remote name, normalized. */
  name: string;
  started: number;
}

/** Uploads `localPath` as `remoteName` in the command's `turn`. */
export async function uploadFile(
  ctx: ClientContext,
  turn: Turn,
  localPath: string,
  remoteName: string,
  onProgress?: ProgressListener,
): Promise<TransferResult> {
  const name = normalizeRemotePath(remoteName);
  const handle = await openLocal(localPath);
  const started = performance.now();
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new LpfError('LPF_ERR_LOCAL_IO', `${localPath} is not a regular file`);
    const file = { handle, info, localPath, name, started };
    return isSmallFile(info.size) ? await uploadSmall(ctx, turn, file, onProgress) : await uploadResumable(ctx, turn, file, onProgress);
  } finally {
    await handle.close();
  }
}

/** Asks where to resume, sends the rest with backpressure, and has the server check the whole file's checksum. */
async function uploadResumable(ctx: ClientContext, turn: Turn, file: OpenUpload, onProgress?: ProgressListener): Promise<TransferResult> {
  const { handle, info, localPath, name } = file;
  const size = info.size;
  const key = await contentKey(localPath, info);
  await turn.earlierDone;
  ctx.conn.send({ type: 'upload', name, size, key });
  return ctx.inStep(async (exchangeOver) => {
    const { offset } = await ctx.expect('ready');
    if (offset > size) throw new LpfError('LPF_ERR_PROTOCOL', `the server offered to resume at ${offset}, past the end`);
    const hasher = new ContentHasher();
    // What the server already holds is not sent again, but it is hashed here: the checksum covers the whole file.
    await hashFileStart(handle, offset, hasher).catch(rethrowLocal);
    onProgress?.(offset, size);
    const whole = await sendFileRange(ctx, handle, offset, size, hasher, onProgress);
    // Every byte was read once and not again: a change while it was read shows in its size or times.
    if (!whole || (await changedSince(handle, info))) await abandonUpload(ctx, changedWhileRead(localPath), exchangeOver);
    const sha256 = hasher.digest();
    ctx.conn.send({ type: 'end', sha256 });
    const stored = await expectStored(ctx, sha256, size);
    return { name: stored.name, size, sha256, ms: performance.now() - file.started, resumedFrom: offset };
  });
}

/**
 * A file under one block cannot be resumed part-way, so it goes without a
 * key and without waiting: request, data and end in one burst, then the
 * answers. Several such uploads started together are all sent before the
 * first answer is read, so many small files cost no round trip each. (A
 * server that refuses the request drops the data and end that follow it.)
 */
async function uploadSmall(ctx: ClientContext, turn: Turn, file: OpenUpload, onProgress?: ProgressListener): Promise<TransferResult> {
  const { name, info } = file;
  const size = info.size;
  const content = await readSmall(file);
  const hasher = new ContentHasher();
  hasher.update(content);
  const sha256 = hasher.digest();
  await turn.earlierSent;
  ctx.conn.send({ type: 'upload', name, size });
  const frame = dataFrameSize(ctx.conn);
  for (let at = 0; at < size; at += frame) ctx.conn.sendData(content.subarray(at, at + frame));
  ctx.conn.send({ type: 'end', sha256 });
  turn.sent();
  await turn.earlierDone;
  return ctx.inStep(async () => {
    const { offset } = await ctx.expect('ready');
    if (offset !== 0) throw new LpfError('LPF_ERR_PROTOCOL', `the server offered to resume at ${offset} an upload it cannot resume`);
    onProgress?.(0, size);
    const stored = await expectStored(ctx, sha256, size);
    onProgress?.(size, size);
    return { name: stored.name, size, sha256, ms: performance.now() - file.started, resumedFrom: 0 };
  });
}

/** The whole of a small file, read before anything is sent. */
async function readSmall({ handle, info, localPath }: OpenUpload): Promise<Buffer> {
  const size = info.size;
  const content = Buffer.allocUnsafe(size);
  for (let at = 0; at < size;) {
    const { bytesRead } = await handle.read(content, at, size - at, at).catch(rethrowLocal);
    if (bytesRead === 0) throw changedWhileRead(localPath);
    at += bytesRead;
  }
  // Checked before anything is sent: what goes is exactly what was read, so only a change meanwhile can mix it.
  if (await changedSince(handle, info)) throw changedWhileRead(localPath);
  return content;
}

/** Reads the server's `stored`, which must name the checksum and size that were sent. */
async function expectStored(ctx: ClientContext, sha256: string, size: number): Promise<MessageOf<'stored'>> {
  const stored = await ctx.expect('stored');
  if (stored.sha256 !== sha256 || stored.size !== size)
    throw new LpfError('LPF_ERR_CHECKSUM', 'the server stored something other than what was sent');
  return stored;
}

/** Sends bytes [start, size) of the file as DATA, hashing them, with backpressure; false if the file ended early. */
async function sendFileRange(
  ctx: ClientContext,
  handle: FileHandle,
  start: number,
  size: number,
  hasher: ContentHasher,
  onProgress?: ProgressListener,
): Promise<boolean> {
  const reader = {
    read: async (buffer: Buffer, position: number, length: number) => (await handle.read(buffer, 0, length, position)).bytesRead,
  };
  let done = start;
  const sent = await sendRange(ctx.conn, reader, start, size, {
    spareWhenSpent: true,
    onChunk: (chunk) => {
      // The server may refuse mid-way (disk full): stop sending and report its reason.
      if (ctx.interrupted) return false;
      hasher.update(chunk);
      done += chunk.length;
      onProgress?.(done, size);
      return true;
    },
  }).catch(rethrowLocal);
  // The server answered early (its answer, an error, is in the inbox): that is the outcome.
  if (sent !== size && ctx.interrupted) await ctx.expect('stored');
  return sent === size;
}

/**
 * The checksum an upload is ended with to have it discarded: no content hashes to 64 zeros, so the
 * server answers LPF_ERR_CHECKSUM (or LPF_ERR_SIZE_MISMATCH, when too few bytes came) and stores nothing.
 */
const ABANDONED_UPLOAD = '0'.repeat(64);

/**
 * Makes the server discard an upload whose DATA is out, so that nothing of it is stored: the protocol
 * has no cancel, but an `end` whose checksum cannot match (or that follows too few bytes) is refused
 * with a code that keeps the connection, and the partial data is deleted. Then fails with `why`.
 */
async function abandonUpload(ctx: ClientContext, why: LpfError, exchangeOver: () => void): Promise<never> {
  ctx.conn.send({ type: 'end', sha256: ABANDONED_UPLOAD });
  try {
    await ctx.expect('stored');
  } catch (err) {
    if (!COMMAND_ERRORS.has(toLpfError(err).code)) throw err;
    exchangeOver();
    throw why;
  }
  throw new LpfError('LPF_ERR_PROTOCOL', 'the server stored an upload whose checksum cannot match');
}

async function openLocal(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    throw localError(err, `cannot read ${path}`);
  }
}

/**
 * Names the content of a local file for the server, so that an upload of the
 * same, unchanged file finds its cut-off partial: path, size, mtime, inode.
 * Only a hash goes over the wire.
 */
async function contentKey(path: string, info: Stats): Promise<string> {
  const real = await realpath(path).catch(() => path);
  return createHash('sha256').update(`${real}\0${info.size}\0${info.mtimeMs}\0${info.ino}\0${info.dev}`).digest('hex');
}

/** Whether the open file's size, modification or change time moved since `before` (a write moves them; a read does not). */
async function changedSince(handle: FileHandle, before: Stats): Promise<boolean> {
  const now = await handle.stat().catch(rethrowLocal);
  return now.size !== before.size || now.mtimeMs !== before.mtimeMs || now.ctimeMs !== before.ctimeMs;
}

function changedWhileRead(path: string): LpfError {
  return new LpfError(
    'LPF_ERR_LOCAL_IO',
    `${path} changed while it was being uploaded; it was not stored (send it again once it is still)`,
  );
}

function rethrowLocal(err: unknown): never {
  throw localError(err, 'cannot read the local file');
}
