/**
 * lpf's content checksum: SHA-256 over the SHA-256 digests of the content's
 * 4 MiB blocks, in order (the scheme Dropbox's content_hash uses). Because a
 * receiver can keep the block digests beside partial data, a resumed transfer
 * is verified end to end without re-reading what had already arrived.
 * An empty file has no blocks: its checksum is the SHA-256 of nothing.
 */
import { createHash, type Hash } from 'node:crypto';
import { BLOCK_SIZE } from './constants.js';

export const DIGEST_BYTES = 32;

export class ContentHasher {
  readonly #blockSize: number;
  readonly #onBlock: ((digest: Buffer) => void) | undefined;
  readonly #digests: Buffer[];
  #block: Hash = createHash('sha256');
  #inBlock = 0;

  /**
   * @param previous digests of the blocks already received (a resumed transfer continues after them)
   * @param onBlock called with each newly completed block's digest, e.g. to keep it beside partial data
   */
  constructor(options: { previous?: Buffer[]; onBlock?: (digest: Buffer) => void; blockSize?: number } = {}) {
    this.#blockSize = options.blockSize ?? BLOCK_SIZE;
    this.#onBlock = options.onBlock;
    this.#digests = [...(options.previous ?? [])];
  }

  /** The digests of the blocks completed so far (all of them, after digest()). */
  get digests(): readonly Buffer[] {
    return this.#digests;
  }

  /** Bytes covered so far (whole blocks before, plus the current block). */
  get length(): number {
    return this.#digests.length * this.#blockSize + this.#inBlock;
  }

  update(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.#blockSize - this.#inBlock, chunk.length - offset);
      this.#block.update(offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take));
      this.#inBlock += take;
      offset += take;
      if (this.#inBlock === this.#blockSize) this.#closeBlock();
    }
  }

  /** The checksum of everything so far, as lowercase hex. The hasher must not be used afterwards. */
  digest(): string {
    if (this.#inBlock > 0) this.#closeBlock();
    const root = createHash('sha256');
    for (const d of this.#digests) root.update(d);
    return root.digest('hex');
  }

  #closeBlock(): void {
    const digest = this.#block.digest();
    this.#digests.push(digest);
    this.#onBlock?.(digest);
    this.#block = createHash('sha256');
    this.#inBlock = 0;
  }
}

/** Splits a buffer of concatenated block digests (as kept on disk) into digests, ignoring a torn tail. */
export function splitDigests(buffer: Buffer): Buffer[] {
  const digests: Buffer[] = [];
  for (let i = 0; i + DIGEST_BYTES <= buffer.length; i += DIGEST_BYTES) digests.push(buffer.subarray(i, i + DIGEST_BYTES));
  return digests;
}
