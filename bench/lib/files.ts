/** Temporary workspace and test files: random content, checksums, flushing the page cache's dirty pages. */
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { runChecked } from './proc.js';

/** Creates the run's private folder under os.tmpdir(). */
export function makeWorkspace(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'lpf-bench-'));
}

export async function removeWorkspace(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Writes `bytes` of random data to `path` in 1 MiB blocks; resolves with its SHA-256. */
export async function writeRandomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path, { highWaterMark: 4 * 1024 * 1024 });
  const block = Buffer.allocUnsafe(1024 * 1024);
  for (let done = 0; done < bytes;) {
    const n = Math.min(block.length, bytes - done);
    // A fresh buffer per write: the stream may still hold the previous one.
    const chunk = Buffer.from(randomFillSync(block, 0, n).subarray(0, n));
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', resolve));
    done += n;
  }
  out.end();
  await finished(out);
  return hash.digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

export async function fileSize(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.size,
    () => undefined,
  );
}

/**
 * Writes every dirty page to disk (untimed, between measurements), so that a
 * tool that does not fsync does not leave its write-back to slow the next one.
 */
export async function flushDirtyPages(): Promise<void> {
  await runChecked('sync', [], { timeoutMs: 120_000 });
}
