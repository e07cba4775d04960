/** What the server needs from a place to keep users' files. Names given here are already validated and NFC. */
import type { Readable } from 'node:stream';
import type { ListEntry } from '../../protocol/index.js';

/** An upload being received: bytes go to a temporary place until commit() puts them under the final name. */
export interface UploadSink {
  /** Writes a chunk; false means "wait for the drain callback before writing more". */
  write(chunk: Buffer): boolean;
  /** Registers the callback for when a full buffer has drained. */
  onDrain(callback: () => void): void;
  /** Registers the callback for a write failure (disk full, I/O error), reported as soon as it happens. */
  onError(callback: (error: Error) => void): void;
  /** Flushes everything to stable storage and atomically replaces the final name; resolves with the size of the file it replaced (0 if none). */
  commit(): Promise<{ replaced: number }>;
  /** Drops the partial data; the final name is untouched. Safe to call more than once. */
  abort(): Promise<void>;
}

export interface StoredFile {
  size: number;
  mtime: number;
  /** The file's content from the start, in large chunks; the caller must consume or destroy it. */
  stream: Readable;
}

export interface Storage {
  list(user: string): Promise<ListEntry[]>;
  /** Opens a file for reading; a concurrent replacement does not affect a reader that has opened. */
  read(user: string, name: string): Promise<StoredFile>;
  createUpload(user: string, name: string): Promise<UploadSink>;
  /** Deletes a file; resolves with its size. */
  delete(user: string, name: string): Promise<number>;
  /** Bytes the user's committed files take. */
  usage(user: string): Promise<number>;
}
