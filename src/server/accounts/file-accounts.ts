/**
 * The server's view of the accounts file (format in accounts-file.ts). It re-reads the file before
 * every login and sign-up if another process replaced it (`lpf-server users`, an admin's editor), so
 * added, removed and changed accounts are honoured without a restart.
 */
import { stat } from 'node:fs/promises';
import { LpfError } from '../../errors.js';
import { checkPassword, normalizeUserName } from '../../protocol/index.js';
import type { Accounts } from './accounts.js';
import { accountLine, readAccounts, readAccountsText, updateAccountsFile, type AccountProblem } from './accounts-file.js';
import { DEFAULT_SCRYPT, hashPassword, verifyPassword, type PasswordHash, type ScryptParams } from './password-hash.js';
import { asServerFailure, fileVersion, type FileVersion } from './shared-file.js';
import { loginName } from './accounts.js';

export { parseAccounts } from './accounts-file.js';

/** What the server hears from the accounts file each time it re-reads it. */
export interface AccountEvents {
  /** Its damaged and repeated lines (every time the file is read: at start and on every reload). */
  problems?(problems: AccountProblem[]): void;
}

export class FileAccounts implements Accounts {
  readonly #path: string;
  readonly #params: ScryptParams;
  readonly #events: AccountEvents;
  #users = new Map<string, PasswordHash>();
  /** The version read last (undefined: no file); #loaded undefined forces a read. */
  #file: FileVersion | undefined;
  #loaded: string | undefined;
  /** Serialises this process's changes; the file lock serialises them with other processes. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Hashed once, to spend the same time on an unknown user as on a wrong password. */
  #decoy: Promise<PasswordHash> | undefined;

  constructor(path: string, params: ScryptParams = DEFAULT_SCRYPT, events: AccountEvents = {}) {
    this.#path = path;
    this.#params = params;
    this.#events = events;
  }

  /** Reads the file if it is not the version read last (one read at a time, so a slow read never undoes a newer one). */
  load(): Promise<void> {
    return this.#serialised(() => this.#read());
  }

  /** The accounts that can log in as read last (a new map for each version read), and that version. */
  snapshot(): { users: ReadonlyMap<string, PasswordHash>; file: FileVersion | undefined } {
    return { users: this.#users, file: this.#file };
  }

  async #read(): Promise<void> {
    let file: FileVersion | undefined;
    try {
      file = fileVersion(await stat(this.#path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (file !== undefined && file.stamp === this.#loaded) return;
    // Stamped before reading: a rewrite in between makes the next call read again, never miss it.
    const { users, problems } = readAccounts(file === undefined ? '' : ((await readAccountsText(this.#path)) ?? ''));
    this.#users = users;
    this.#file = file;
    this.#loaded = file?.stamp;
    if (problems.length > 0) this.#events.problems?.(problems);
  }

  async register(user: string, password: string): Promise<string> {
    const name = normalizeUserName(user);
    checkPassword(password);
    // Hashed before taking the queue: the slow part runs in parallel, only check-and-write is serialised.
    const hash = await hashPassword(password, this.#params);
    return this.#serialised(async () => {
      try {
        await updateAccountsFile(this.#path, (lines) => {
          // Taken by any line, a damaged one included: its files must not go to a newcomer.
          if (readAccounts(lines.join('\n')).taken.has(name)) throw new LpfError('LPF_ERR_USER_EXISTS', `the user name "${name}" is taken`);
          return [...lines, accountLine(name, hash)];
        });
      } catch (err) {
        throw asServerFailure(err);
      }
      this.#loaded = undefined;
      await this.#read();
      return name;
    });
  }

  async verify(user: string, password: string): Promise<string> {
    const name = loginName(user);
    await this.load();
    const stored = name === undefined ? undefined : this.#users.get(name);
    const ok = await verifyPassword(password, stored ?? (await this.#decoyHash()));
    if (!stored || !ok || name === undefined) {
      throw new LpfError('LPF_ERR_AUTH', 'wrong user name or password');
    }
    // The hash took ~0.1 s: an account removed or re-passworded meanwhile must not log in with the old one.
    await this.load();
    if (!this.#users.get(name)?.hash.equals(stored.hash)) throw new LpfError('LPF_ERR_AUTH', 'wrong user name or password');
    return name;
  }

  #decoyHash(): Promise<PasswordHash> {
    this.#decoy ??= hashPassword('decoy password', this.#params);
    return this.#decoy;
  }

  #serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }
}
