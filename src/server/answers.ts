/**
 * The order of a connection's answers. A client may pipeline its requests, so each answer must go
 * out in the order of the requests. The one thing that answers late is an upload committing in
 * the background: its 'stored' (or error) is owed, and every answer after it waits its turn here.
 * The dispatcher (client-connection.ts) runs a command declared `ordered` only once every owed
 * answer is sent, so that it sees the files stored before it; the handlers just call answer().
 */
import type { LpfError } from '../errors.js';
import type { Message } from '../protocol/index.js';
import type { Connection } from '../transport/connection.js';

/**
 * Uploads of one connection that may be committing at once. Their flushes to disk then
 * overlap; more would only queue in libuv's thread pool. See bench/profiles/2026-11-24-small-files.md.
 */
export const MAX_COMMITTING = 16;

/**
 * Answers that may wait their turn behind one still owed (an upload being stored). Past it the
 * connection is not read until they are sent, so that cheap requests pipelined behind a slow store
 * (pings, say) cannot queue without bound. Uploads owe two answers each, so this leaves room for
 * MAX_COMMITTING of them and more.
 */
const MAX_OWED = 4 * MAX_COMMITTING;

export class AnswerQueue {
  readonly #conn: Connection;
  /** Answers owed to the client, in order. The chain never rejects: every later answer hangs on it. */
  #chain: Promise<void> = Promise.resolve();
  /** How many answers wait in #chain. */
  #owed = 0;
  /** Input is held because MAX_OWED answers wait (one of the connection's holds). */
  #owingTooMany = false;
  /** The closing error has been sent: no answer may follow it. */
  #closed = false;
  /** The closing error waits for the answers owed before it. */
  #closing = false;
  /** The uploads committing in the background, oldest first; `answered` resolves once their answer is sent. */
  readonly #storing: { name: string; answered: Promise<void> }[] = [];

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** Sends an answer after every answer still owed (at once when none is). */
  answer(message: Message): void {
    if (this.#owed === 0) return this.send(message);
    void this.#queue(() => this.send(message));
  }

  /** Sends now, unless the connection is being ended: nothing may follow its closing error. */
  send(message: Message): void {
    if (!this.#closed) this.#conn.send(message);
  }

  /** Resolves once every owed answer is sent. */
  answered(): Promise<void> {
    return this.#owed === 0 ? Promise.resolve() : this.#chain;
  }

  /**
   * Owes the answer to an upload of `name` being stored: `answer` runs in its turn (it sends the
   * answer itself, with send(), and must not throw). Resolves once it has run.
   */
  owe(name: string, answer: () => Promise<void>): Promise<void> {
    const entry = { name, answered: this.#queue(answer) };
    this.#storing.push(entry);
    void entry.answered.then(() => this.#storing.splice(this.#storing.indexOf(entry), 1));
    return entry.answered;
  }

  /** Whether an upload of `name` is being stored (a new upload of it must wait: replace it, not race it). */
  isStoring(name: string): boolean {
    return this.#storing.some((s) => s.name === name);
  }

  /** Resolves once the oldest store is answered when MAX_COMMITTING are under way, else at once. */
  roomToStore(): Promise<void> {
    return this.#storing.length >= MAX_COMMITTING ? (this.#storing[0]?.answered ?? Promise.resolve()) : Promise.resolve();
  }

  /**
   * Ends the connection with `error` once every answer owed is sent (an upload stored in the
   * background gets its 'stored' first). `inTurn`: the failure is itself an owed answer in its
   * turn (a store that failed), so it goes now and the answers queued after it never do.
   */
  close(error: LpfError, inTurn: boolean): void {
    if (inTurn || this.#owed === 0) return this.#closeNow(error);
    if (this.#closing) return;
    this.#closing = true;
    void this.#chain.then(() => this.#closeNow(error));
  }

  /** Resolves once every answer owed has been dealt with (sent, or dropped at a close). */
  settled(): Promise<void> {
    return this.#chain;
  }

  #closeNow(error: LpfError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.fail(error);
  }

  /** Queues an answer after those owed; resolves once it is sent. */
  #queue(answer: () => void | Promise<void>): Promise<void> {
    this.#owed++;
    if (this.#owed >= MAX_OWED && !this.#owingTooMany) {
      this.#owingTooMany = true;
      this.#conn.hold();
    }
    this.#chain = this.#chain.then(async () => {
      try {
        await answer();
      } finally {
        this.#owed--;
        if (this.#owingTooMany && this.#owed < MAX_OWED) {
          this.#owingTooMany = false;
          this.#conn.release();
        }
      }
    });
    return this.#chain;
  }
}
