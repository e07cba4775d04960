/**
 * What the server needs from a place to keep users' files. Paths given here
 * are already validated and NFC: components joined by "/", "" for the top.
 */
import type { ListEntry } from '../../protocol/index.js';
import type { PositionalReader } from '../../util/positional-reader.js';

export interface UploadRequest {
  size: number;
  /** Names the sender's content: a partial upload kept under the same key is resumed. */
  key?: string;
}

/** An upload being received: bytes go to a partial file until commit() puts them under the final name. */
export interface UploadSink {
  /** Bytes already held from an earlier, cut-off upload of the same content (a block boundary, or the size). */
  readonly offset: number;
  /** Digests of the blocks before `offset`. */
  readonly digests: Buffer[];
  /** Whether a later upload with the same key can find this one (only then is it worth keeping when cut off). */
  readonly resumable: boolean;
  /** Writes a chunk; false means "wait for the drain callback before writing more". */
  write(chunk: Buffer): boolean;
  onDrain(callback: () => void): void;
  /** Registers the callback for a write failure (disk full, I/O error), reported as soon as it happens. */
  onError(callback: (error: Error) => void): void;
  /** Keeps a completed block's digest beside the partial data, so a resume need not re-read it. */
  recordBlock(digest: Buffer): void;
  /** Flushes everything to stable storage and atomically replaces the final name; resolves with the size of the file it replaced (0 if none). */
  commit(checksum: { sha256: string; digests: Buffer[] }): Promise<{ replaced: number }>;
  /** The connection was cut: flush and keep the partial data for a resume. */
  suspend(): Promise<void>;
  /** Drops the partial data; the final name is untouched. Safe to call more than once. */
  abort(): Promise<void>;
}

export interface StoredFile {
  size: number;
  /** Modification time in whole milliseconds since the epoch (0 for anything before 1970). */
  mtime: number;
  /** Where to start sending: the offset asked for, or 0 when the file is not the one the resume expected. */
  offset: number;
  /** Reads the content (of the file as opened: a later replacement does not change it); close() when done. */
  reader: PositionalReader & { close(): Promise<void> };
  /** Digests of the blocks before `offset`. */
  prefixDigests: Buffer[];
  /** The content checksum recorded when the file was stored, if it is still valid. */
  sha256: string | undefined;
}

/** A resume request: continue at `offset` if the file still has this size and mtime. */
export interface ResumeFrom {
  offset: number;
  size: number;
  mtime: number;
}

export interface ListOptions {
  /** Each file's entry carries its content checksum (computed if not recorded). */
  checksums?: boolean;
  /** The whole tree, entries named by their path relative to the listed folder. */
  recursive?: boolean;
}

/** What removeUser deleted: on the disk the user's files, on S3 every object (files, folder markers, records). */
export interface RemovedUser {
  count: number;
  unit: 'file' | 'object';
}

export interface Storage {
  /** What the folder `path` holds (a file's path lists that file). */
  list(user: string, path: string, options?: ListOptions): Promise<ListEntry[]>;
  /** Describes one file or folder; its entry is named by the path. */
  stat(user: string, path: string): Promise<ListEntry>;
  /** Opens a file for reading; a concurrent replacement does not affect a reader that has opened. */
  read(user: string, path: string, resume?: ResumeFrom): Promise<StoredFile>;
  /** Starts an upload to `path`, whose folder must exist. */
  createUpload(user: string, path: string, request: UploadRequest): Promise<UploadSink>;
  /** Deletes a file or an empty folder; resolves with the bytes freed. */
  delete(user: string, path: string): Promise<number>;
  /** Creates a folder and its missing parents; an existing folder is fine. */
  makeFolder(user: string, path: string): Promise<void>;
  /** Renames a file or folder; `to` must not exist, its folder must. */
  rename(user: string, from: string, to: string): Promise<void>;
  /**
   * Copies a file or folder tree (regular files and folders only) with its checksum records; `to` must not
   * exist, its folder must. The copy appears at `to` whole, flushed, or not at all. Refuses (LPF_ERR_QUOTA)
   * a tree that holds more than `maxBytes` by the time it is copied; resolves with the bytes copied.
   */
  copy(user: string, from: string, to: string, maxBytes: number): Promise<number>;
  /** Bytes the user's committed files take. */
  usage(user: string): Promise<number>;
  /**
   * Bytes the user's cut-off uploads kept for a resume take (their data and digests), not counting uploads
   * being written now (their reservation covers them) nor the kept one that `resuming` would continue.
   */
  keptPartialBytes(user: string, resuming?: { path: string; request: UploadRequest }): Promise<number>;
  /**
   * The cut-off uploads kept for a resume whose file would go in the folder `path` (keyed uploads only), each
   * named as in the folder, with the whole file's `size`, the bytes kept in `received` (whole blocks) and the
   * time it last grew in `mtime`.
   */
  partials(user: string, path: string): Promise<ListEntry[]>;
  /** Removes partial uploads untouched for longer than `maxAgeMs`; resolves with how many. */
  sweepPartials(maxAgeMs: number): Promise<number>;
  /**
   * Deletes everything stored for `user`: files, folders, checksum records, partial uploads (on S3 their
   * multipart uploads aborted). For `lpf-server users remove`, after the account is gone.
   */
  removeUser(user: string): Promise<RemovedUser>;
}
