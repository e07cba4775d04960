/**
 * Uploads from the page, as the CLI does: the content checksum is SHA-256 over the SHA-256 of each
 * 4 MiB block (Web Crypto, a block at a time), and the upload carries a key naming the file, so that
 * the same file chosen again resumes after the last whole block the server kept.
 */
import { BLOCK_SIZE, DEFAULT_CHUNK_SIZE } from '../protocol/constants.js';
import type { MessageOf } from '../protocol/messages.js';
import type { Link, LinkIo } from './link.js';

/** Bytes the page may have handed to the socket and not yet sent, before it waits. */
const MAX_BUFFERED = 8 * 1024 * 1024;

/** Told bytes sent so far (those still queued in the browser not counted). */
export type UploadProgress = (sent: number, size: number) => void;

/** Thrown by uploadFile when its signal aborted it; the server has dropped what it had received. */
export class UploadCancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

export function uploadFile(
  link: Link,
  file: File,
  remote: string,
  progress: UploadProgress,
  signal?: AbortSignal,
): Promise<MessageOf<'stored'>> {
  return link.inTurn(async (io) => {
    if (signal?.aborted) throw new UploadCancelled();
    const key = await hex(await digest(new TextEncoder().encode(`lpf-web\0${remote}\0${file.name}\0${file.size}\0${file.lastModified}`)));
    io.send({ type: 'upload', name: remote, size: file.size, key: key.slice(0, 32) });
    const { offset } = await io.next('ready');
    const digests: ArrayBuffer[] = [];
    for (let at = 0; at < offset; at += BLOCK_SIZE) digests.push(await digest(await readBlock(file, at)));
    progress(offset, file.size);
    for (let at = offset; at < file.size; at += BLOCK_SIZE) {
      const block = await readBlock(file, at);
      digests.push(await digest(block));
      if (!(await sendBlock(io, block, (n) => progress(at + n, file.size), signal))) return discard(io);
    }
    if (signal?.aborted) return discard(io);
    io.send({ type: 'end', sha256: await hex(await digest(concat(digests))) });
    const stored = await io.next('stored');
    progress(file.size, file.size);
    return stored;
  });
}

/**
 * Cancelled: an `end` that cannot match makes the server drop the partial data (no resume of a
 * cancelled upload); its refusal is the expected answer.
 */
async function discard(io: LinkIo): Promise<never> {
  io.send({ type: 'end', sha256: '0'.repeat(64) });
  await io.next('stored').catch(() => undefined);
  throw new UploadCancelled();
}

/** Sends one block in chunks; false when `signal` aborted it part-way. */
async function sendBlock(io: LinkIo, block: Uint8Array, sent: (bytes: number) => void, signal?: AbortSignal): Promise<boolean> {
  for (let at = 0; at < block.length; at += DEFAULT_CHUNK_SIZE) {
    if (signal?.aborted) return false;
    const chunk = block.subarray(at, Math.min(at + DEFAULT_CHUNK_SIZE, block.length));
    io.sendData(chunk);
    while (io.buffered() > MAX_BUFFERED) {
      if (signal?.aborted) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    sent(Math.max(0, at + chunk.length - io.buffered()));
  }
  return true;
}

async function readBlock(file: File, at: number): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await file.slice(at, Math.min(at + BLOCK_SIZE, file.size)).arrayBuffer());
}

function digest(data: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', data);
}

function concat(parts: ArrayBuffer[]): Uint8Array<ArrayBuffer> {
  const all = new Uint8Array(parts.length * 32);
  parts.forEach((p, i) => all.set(new Uint8Array(p), i * 32));
  return all;
}

async function hex(buffer: ArrayBuffer | Promise<ArrayBuffer>): Promise<string> {
  return [...new Uint8Array(await buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
