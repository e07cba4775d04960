/**
 * A download in progress, beside its target: `.NAME.lpf-part` (the data),
 * `.lpf-part.blocks` (digests of its whole blocks) and `.lpf-part.json` (which
 * remote file, on which server, of which size and mtime). A download that is
 * cut off leaves them; the next download of the same unchanged file continues
 * after the last whole block, without re-reading what is there.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BLOCK_SIZE, ContentHasher } from '../protocol/index.js';
import { openDurableFile } from '../util/durable-file.js';
import { PartialStreams, resumePoint, type PartialFiles } from '../util/partial-file.js';

interface PartialInfo {
  name: string;
  server: string;
  size: number;
  mtime: number;
}

/** What a cut-off download left: where to go on from, what the file was, and the digests of its whole blocks. */
export interface ResumableDownload {
  offset: number;
  size: number;
  mtime: number;
  digests: Buffer[];
}

/** The partial file (and its side files) a download writes into before it is renamed into place. */
export class LocalPartial {
  readonly #target: string;
  readonly #name: string;
  readonly #server: string;
  readonly #files: PartialFiles;
  readonly #infoPath: string;
  #resumable = true;

  constructor(target: string, remoteName: string, server: string) {
    this.#target = target;
    this.#name = remoteName;
    this.#server = server;
    const data = join(dirname(target), partialName(basename(target)));
    this.#files = { data, blocks: `${data}${LONGEST_SIDE_SUFFIX}` };
    this.#infoPath = `${data}.json`;
  }

  /** What a cut-off download of this same remote file left here, if anything worth continuing. */
  async resumable(): Promise<ResumableDownload | undefined> {
    const info = await readFile(this.#infoPath, 'utf8')
      .then((t) => JSON.parse(t) as PartialInfo)
      .catch(() => undefined);
    if (!info || info.name !== this.#name || info.server !== this.#server) return undefined;
    const { offset, digests } = await resumePoint(this.#files, info.size);
    return offset > 0 ? { offset, size: info.size, mtime: info.mtime, digests } : undefined;
  }

  /**
   * Opens the partial for the file the server announced, from its offset (0: start afresh).
   * A file under one block has no whole block to resume from: it gets the data file alone,
   * which a cut-off download removes (three files and two flushes less per small file).
   */
  async open(file: { name: string; size: number; mtime: number; offset: number }, digests: Buffer[]): Promise<PartialWriter> {
    const fresh = file.offset === 0;
    const resumable = file.size >= BLOCK_SIZE;
    // A record left by an earlier, larger version of the file must not outlive this download.
    if (fresh) await Promise.all([this.#removeData(), resumable ? undefined : rm(this.#infoPath, { force: true })]);
    if (resumable) {
      const info: PartialInfo = { name: this.#name, server: this.#server, size: file.size, mtime: file.mtime };
      await writeFile(this.#infoPath, JSON.stringify(info));
    }
    this.#resumable = resumable;
    const open = () => openDurableFile(this.#files.data, fresh ? { flags: 'wx', mode: 0o644 } : { flags: 'r+', start: file.offset });
    return new PartialWriter(await PartialStreams.open(this.#files, open, 0o644, resumable), digests);
  }

  /** Whether what open() wrote is kept for a resume when the download is cut off. */
  get keepsPartial(): boolean {
    return this.#resumable;
  }

  /** Puts the verified data under the target name and removes the rest. */
  async complete(): Promise<void> {
    await rename(this.#files.data, this.#target);
    if (this.#resumable) await Promise.all([rm(this.#files.blocks, { force: true }), rm(this.#infoPath, { force: true })]);
  }

  /** Removes everything (the data is not to be trusted). */
  async discard(): Promise<void> {
    await this.#removeData();
    await rm(this.#infoPath, { force: true });
  }

  async #removeData(): Promise<void> {
    await Promise.all([rm(this.#files.data, { force: true }), rm(this.#files.blocks, { force: true })]);
  }
}

/** The longest file name the common local file systems hold, in bytes (ext4, XFS, btrfs; others allow more). */
const MAX_LOCAL_NAME_BYTES = 255;
const PART = '.lpf-part';
/** The longest side file's suffix after the data file's name. */
const LONGEST_SIDE_SUFFIX = '.blocks';

/**
 * The data file's name for a download to `name`: `.NAME.lpf-part` while every side file's name fits in
 * MAX_LOCAL_NAME_BYTES; for a longer NAME (any name the server holds may be up to 255 bytes), a digest
 * of it instead, `.lpf-<32 hex>.lpf-part`, the same on every attempt so that a cut-off download still resumes.
 */
export function partialName(name: string): string {
  const plain = `.${name}${PART}`;
  if (Buffer.byteLength(plain + LONGEST_SIDE_SUFFIX, 'utf8') <= MAX_LOCAL_NAME_BYTES) return plain;
  return `.lpf-${createHash('sha256').update(name).digest('hex').slice(0, 32)}${PART}`;
}

/** Writes arriving data to the partial, hashing it and keeping each whole block's digest beside it. */
export class PartialWriter {
  readonly #files: PartialStreams;
  readonly #hasher: ContentHasher;

  constructor(files: PartialStreams, previous: Buffer[]) {
    this.#files = files;
    this.#hasher = new ContentHasher({ previous, onBlock: (digest) => files.recordBlock(digest) });
  }

  /** Writes and hashes a chunk; false when the file's buffer is full (wait for onDrain). */
  write(chunk: Buffer): boolean {
    this.#hasher.update(chunk);
    return this.#files.write(chunk);
  }

  /** Calls `callback` once the buffer that write() filled has drained. */
  onDrain(callback: () => void): void {
    this.#files.onDrain(callback);
  }

  /** Calls `callback` when writing the local files fails. */
  onError(callback: (error: Error) => void): void {
    this.#files.onError(callback);
  }

  /** Flushes both files to disk; resolves with the checksum of the whole content. */
  async finish(): Promise<string> {
    const sha256 = this.#hasher.digest();
    await this.#files.close();
    return sha256;
  }

  /** The transfer was cut: flush what arrived, for the next attempt. */
  suspend(): Promise<void> {
    return this.#files.suspend();
  }

  /** The transfer failed and nothing of it is kept: closes the files without flushing them. */
  abandon(): void {
    this.#files.destroy();
  }
}
