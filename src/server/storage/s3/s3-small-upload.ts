/**
 * An upload to S3 of less than one part: held in memory (its buffer taken from the server's PartBudget)
 * and written with one PutObject at commit, once its size and checksum matched, with the checksum in the
 * object's own metadata (s3-meta.ts).
 */
import type { UploadSink } from '../storage.js';
import { checksumMetadata } from './s3-meta.js';
import { storeError } from './s3-store.js';
import type { Checksum, UploadPlace } from './s3-upload.js';

/** A file of less than one part: one PutObject at commit. */
export class SmallUpload implements UploadSink {
  readonly offset = 0;
  readonly digests: Buffer[] = [];
  readonly resumable = false;
  readonly #place: UploadPlace;
  readonly #data: Buffer;
  #filled = 0;
  #done = false;

  /** Opens the upload once its buffer fits in the server's part budget (the caller waits meanwhile). */
  static async open(place: UploadPlace): Promise<SmallUpload> {
    await place.budget.taken(place.size);
    return new SmallUpload(place);
  }

  private constructor(place: UploadPlace) {
    this.#place = place;
    this.#data = Buffer.allocUnsafe(place.size);
  }

  write(chunk: Buffer): boolean {
    this.#filled += chunk.copy(this.#data, this.#filled);
    return true;
  }

  onDrain(): void {}
  onError(): void {}
  recordBlock(): void {}

  async commit(checksum: Checksum): Promise<{ replaced: number }> {
    const { bucket, dataKey, name } = this.#place;
    try {
      if (this.#filled !== this.#data.length) throw new Error('short upload');
      const previous = await bucket.head(dataKey);
      // The checksum goes on the object itself: no record to write, none that could name another content.
      await bucket.put(dataKey, this.#data, { metadata: checksumMetadata(checksum) });
      return { replaced: previous?.size ?? 0 };
    } catch (err) {
      throw storeError(err, `store ${JSON.stringify(name)}`);
    } finally {
      this.#finish();
    }
  }

  async suspend(): Promise<void> {
    this.#finish();
    return Promise.resolve();
  }

  async abort(): Promise<void> {
    this.#finish();
    return Promise.resolve();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#place.budget.release(this.#place.size);
    this.#place.release();
  }
}
