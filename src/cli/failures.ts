/**
 * The failures of a command over many items (files, names): each is reported
 * where it happens and the rest goes on, as cp does; at the end the command
 * fails with the first failure's code. A failure that ended the connection
 * stops the rest at once.
 */
import { LpfError, toLpfError } from '../errors.js';
import { reportError } from './output.js';

export class Failures {
  readonly #list: LpfError[] = [];
  readonly #json: boolean;
  readonly #connected: () => boolean;

  constructor(json: boolean, connected: () => boolean) {
    this.#json = json;
    this.#connected = connected;
  }

  /** Records and reports a failure found before anything ran (a source that cannot be sent). */
  add(error: LpfError): void {
    this.#list.push(error);
    reportError(error, this.#json);
  }

  /**
   * Runs one item; its failure is recorded, unless the connection is gone, which ends the command.
   * `connected` tells whether it was still there when the item failed (by default: now).
   */
  async attempt<T>(task: () => Promise<T>, connected = this.#connected): Promise<T | undefined> {
    try {
      return await task();
    } catch (err) {
      const error = toLpfError(err);
      if (!connected()) throw error;
      this.add(error);
      return undefined;
    }
  }

  /** How many failures so far. */
  get count(): number {
    return this.#list.length;
  }

  /** After every item: throws when any failed, saying how many of `total`. */
  throwIfAny(total: number, verb: string): void {
    const [first] = this.#list;
    if (first) throw new LpfError(first.code, `${this.#list.length} of ${total} could not be ${verb}; the first: ${first.message}`);
  }
}
