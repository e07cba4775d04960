/**
 * A partial transfer on disk, on either side: the data received so far, and
 * beside it the digests of its completed blocks. Resuming trusts the digests
 * instead of re-reading the data.
 */
import { readFile, stat, truncate } from 'node:fs/promises';
import { BLOCK_SIZE, DIGEST_BYTES, splitDigests } from '../protocol/index.js';

export interface PartialFiles {
  data: string;
  blocks: string;
}

/**
 * Where a partial transfer of a `size`-byte file can pick up: after the whole
 * blocks that have both their data and their digest on disk (or at the end,
 * when every block is there). A torn tail is cut off so data and digests agree.
 */
export async function resumePoint(files: PartialFiles, size: number): Promise<{ offset: number; digests: Buffer[] }> {
  const dataLength = (await stat(files.data).catch(() => undefined))?.size ?? 0;
  const recorded = splitDigests(await readFile(files.blocks).catch(() => Buffer.alloc(0)));
  const totalBlocks = Math.ceil(size / BLOCK_SIZE);
  const blocks =
    dataLength >= size && recorded.length >= totalBlocks
      ? totalBlocks
      : Math.min(recorded.length, Math.floor(dataLength / BLOCK_SIZE), totalBlocks);
  const offset = Math.min(blocks * BLOCK_SIZE, size);
  if (dataLength > 0 || recorded.length > 0) {
    await truncate(files.data, offset).catch(() => {});
    await truncate(files.blocks, blocks * DIGEST_BYTES).catch(() => {});
  }
  return { offset, digests: recorded.slice(0, blocks) };
}
