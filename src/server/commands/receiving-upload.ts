/**
 * An upload between its 'ready' and its 'end': the DATA the client streams, checked and written
 * to the storage's sink. Complete and verified, it is committed (flushed, renamed into place) in
 * the background while the next commands run, so that a stream of small files is not one disk
 * flush after another; its 'stored' is owed in the answer queue meanwhile.
 *
 * It ends exactly once: committed, abandoned (a failure: nothing of it may be resumed) or
 * interrupted (the connection was cut: a keyed upload is kept for a resume).
 */
import { LpfError, toLpfError } from '../../errors.js';
import { ContentHasher, type MessageOf } from '../../protocol/index.js';
import type { Reservation } from '../limits/quota.js';
import type { UploadSink } from '../storage/storage.js';
import type { CommandContext } from './command.js';

export class ReceivingUpload {
  readonly #ctx: CommandContext;
  readonly #user: string;
  readonly #name: string;
  readonly #size: number;
  readonly #sink: UploadSink;
  readonly #reservation: Reservation;
  readonly #hasher: ContentHasher;
  readonly #started = Date.now();
  /** Bytes held so far, counting what an earlier attempt left. */
  #received: number;
  /** Handed to a commit, abandoned or interrupted: nothing more may happen to it here. */
  #over = false;
  /** The sink asked to wait (a store's parts in flight, or its memory budget spent): the input is held for it. */
  #waitingForStorage = false;

  constructor(ctx: CommandContext, name: string, size: number, sink: UploadSink, reservation: Reservation) {
    this.#ctx = ctx;
    this.#user = ctx.user;
    this.#name = name;
    this.#size = size;
    this.#sink = sink;
    this.#reservation = reservation.keep();
    this.#received = sink.offset;
    this.#hasher = new ContentHasher({ previous: sink.digests, onBlock: (digest) => sink.recordBlock(digest) });
    // A disk that fills up mid-transfer fails the upload now, not when the client has sent everything.
    // Once the upload is committing in the background, the commit reports the failure, in its turn.
    sink.onError((err) => {
      if (this.#over) return;
      // Stop reading first: nothing the client sent after this may be taken for another command.
      ctx.fail(toLpfError(err, 'LPF_ERR_SERVER'));
      void this.abandon();
    });
  }

  /** One DATA chunk. */
  write(chunk: Buffer): void {
    this.#received += chunk.length;
    if (this.#received > this.#size) {
      this.#ctx.fail(new LpfError('LPF_ERR_SIZE_MISMATCH', `upload is larger than the announced ${this.#size} bytes`));
      return void this.abandon();
    }
    this.#hasher.update(chunk);
    if (!this.#sink.write(chunk)) {
      const { conn } = this.#ctx;
      conn.hold();
      this.#waitingForStorage = true;
      this.#sink.onDrain(() => {
        this.#waitingForStorage = false;
        conn.release();
      });
    }
  }

  /** Whether the server, not the client, is why no data is read now (its silence is then no idleness). */
  get waitingForStorage(): boolean {
    return this.#waitingForStorage;
  }

  /** The client's 'end': checks what was received, then commits it in the background. */
  async finish(message: MessageOf<'end'>): Promise<void> {
    if (this.#received !== this.#size) {
      await this.abandon();
      throw new LpfError('LPF_ERR_SIZE_MISMATCH', `received ${this.#received} of the announced ${this.#size} bytes`);
    }
    const sha256 = this.#hasher.digest();
    if (sha256 !== message.sha256) {
      // Bad data must not be resumed from: the next attempt starts over.
      await this.abandon();
      throw new LpfError(
        'LPF_ERR_CHECKSUM',
        `checksum mismatch for ${JSON.stringify(this.#name)}: the data was corrupted in transit; nothing was stored`,
      );
    }
    this.#over = true;
    // At the limit, wait for the oldest store to be answered (not for every answer owed).
    await this.#ctx.answers.roomToStore();
    if (this.#ctx.ended()) {
      // The connection ended while this upload waited its turn to be stored: it will never be answered.
      await this.#sink.abort();
      return this.#reservation.release();
    }
    this.#commitInBackground(sha256);
  }

  /** Drops the upload and its partial data (it failed: nothing of it may be resumed). */
  async abandon(): Promise<void> {
    if (this.#over) return;
    this.#over = true;
    await this.#sink.abort();
    await this.#reservation.release();
  }

  /** The connection was cut: a keyed upload keeps its partial data for a resume, any other drops it. */
  interrupt(): void {
    if (this.#over) return;
    this.#over = true;
    const resumable = this.#sink.resumable;
    const settled = resumable ? this.#sink.suspend() : this.#sink.abort();
    void this.#reservation.release();
    const what = resumable ? 'upload interrupted; partial data kept for a resume' : 'upload interrupted; partial data removed';
    const fields = { user: this.#user, command: 'upload', name: this.#name, received: this.#received };
    // Said once it is true: from then on a resume, or a listing of unfinished uploads, finds the kept data.
    void settled.then(
      () => this.#ctx.log.info(fields, what),
      (err: unknown) => this.#ctx.log.warn({ ...fields, err }, 'upload interrupted; its partial data could not be kept'),
    );
  }

  /** Stores the upload while the connection goes on; its answer ('stored', or the error) is sent in its turn. */
  #commitInBackground(sha256: string): void {
    const { answers, log } = this.#ctx;
    const user = this.#user;
    const name = this.#name;
    const size = this.#size;
    const committing = this.#sink.commit({ sha256, digests: [...this.#hasher.digests] }).then(
      async (stored) => {
        await this.#reservation.stored(stored);
        log.info({ user, command: 'upload', name, size, ms: Date.now() - this.#started }, 'upload stored');
        return true;
      },
      async (err: unknown) => {
        await this.#reservation.release();
        return err;
      },
    );
    void answers.owe(name, async () => {
      // The chain must never reject: every later answer hangs on it.
      const outcome = await committing.catch((err: unknown) => err);
      if (outcome === true) answers.send({ type: 'stored', name, size, sha256 });
      else this.#ctx.answerFailure('upload', outcome, true);
    });
  }
}
