/**
 * Keeps one connection's commands in order when several are started at once.
 * The server answers in the order requests arrive, so a command may send its
 * request as soon as every earlier command has sent all of its own, and must
 * read its answers only after every earlier command has read theirs. A
 * command that streams (a large upload, a download) waits for the earlier
 * ones to finish and then has the connection to itself.
 */
export class CommandQueue {
  #sent: Promise<void> = Promise.resolve();
  #done: Promise<void> = Promise.resolve();

  /** Takes the next turn; call it synchronously when the command starts, so turns follow call order. */
  take(): Turn {
    const earlierSent = this.#sent;
    const earlierDone = this.#done;
    const sent = deferred();
    const done = deferred();
    // Each stage waits for the earlier turns too, so a command that ends early (a bad name) lets nobody skip ahead.
    this.#sent = Promise.all([earlierSent, sent.promise]).then(noop);
    this.#done = Promise.all([earlierDone, done.promise]).then(noop);
    return new Turn(earlierSent, earlierDone, sent.resolve, done.resolve);
  }
}

/** One command's place in the CommandQueue: when it may send, when it may read, and its own marks. */
export class Turn {
  /** Resolves once every earlier command has sent everything it will send. */
  readonly earlierSent: Promise<void>;
  /** Resolves once every earlier command has finished, answers read. */
  readonly earlierDone: Promise<void>;
  readonly #markSent: () => void;
  readonly #markDone: () => void;

  constructor(earlierSent: Promise<void>, earlierDone: Promise<void>, markSent: () => void, markDone: () => void) {
    this.earlierSent = earlierSent;
    this.earlierDone = earlierDone;
    this.#markSent = markSent;
    this.#markDone = markDone;
  }

  /** This command has sent all it will send: later commands may send theirs. */
  sent(): void {
    this.#markSent();
  }

  /** This command is over, however it ended. */
  finish(): void {
    this.#markSent();
    this.#markDone();
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function noop(): void {}
