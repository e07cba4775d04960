/**
 * Accounts kept in a text file, one account a line:
 *   <user>:scrypt:N=32768,r=8,p=1:<salt base64>:<hash base64>
 * Lines starting with "#" are comments. The file is rewritten whole with
 * replaceFile (temporary file, fsync, rename), so a crash never leaves it half-written.
 */
import { readFile, stat } from 'node:fs/promises';
import { LpfError } from '../../errors.js';
import { replaceFile } from '../../util/durable-file.js';
import { checkPassword, normalizeUserName } from '../../protocol/index.js';
import type { Accounts } from './accounts.js';
import { DEFAULT_SCRYPT, formatHash, hashPassword, parseHash, verifyPassword, type PasswordHash, type ScryptParams } from './password-hash.js';

const HEADER = '# lpf accounts: user:scrypt:N=..,r=..,p=..:salt:hash (base64). Edit with care.\n';

export class FileAccounts implements Accounts {
  readonly #path: string;
  readonly #params: ScryptParams;
  #users = new Map<string, PasswordHash>();
  #loadedMtime = -1;
  /** Serialises every change to the file, so that concurrent registrations never interleave. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Hashed once, to spend the same time on an unknown user as on a wrong password. */
  #decoy: Promise<PasswordHash> | undefined;

  constructor(path: string, params: ScryptParams = DEFAULT_SCRYPT) {
    this.#path = path;
    this.#params = params;
  }

  /** Reads the file if it changed since the last read (so edits by an admin are honoured). */
  async load(): Promise<void> {
    let mtime: number;
    try {
      mtime = (await stat(this.#path)).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#users = new Map();
        return;
      }
      throw err;
    }
    if (mtime === this.#loadedMtime) return;
    const text = await readFile(this.#path, 'utf8');
    this.#users = parseAccounts(text);
    this.#loadedMtime = mtime;
  }

  async register(user: string, password: string): Promise<string> {
    const name = normalizeUserName(user);
    checkPassword(password);
    // Hashed before taking the queue: the slow part runs in parallel, only check-and-write is serialised.
    const hash = await hashPassword(password, this.#params);
    return this.#serialised(async () => {
      await this.load();
      if (this.#users.has(name)) throw new LpfError('LPF_ERR_USER_EXISTS', `the user name "${name}" is taken`);
      const next = new Map(this.#users).set(name, hash);
      await this.#write(next);
      this.#users = next;
      return name;
    });
  }

  async verify(user: string, password: string): Promise<string> {
    let name: string | undefined;
    try {
      name = normalizeUserName(user);
    } catch {
      name = undefined;
    }
    await this.#serialised(() => this.load());
    const stored = name === undefined ? undefined : this.#users.get(name);
    const ok = await verifyPassword(password, stored ?? (await this.#decoyHash()));
    if (!stored || !ok || name === undefined) {
      throw new LpfError('LPF_ERR_AUTH', 'wrong user name or password');
    }
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

  async #write(users: Map<string, PasswordHash>): Promise<void> {
    const lines = [...users].map(([name, hash]) => `${name}:${formatHash(hash)}\n`);
    await replaceFile(this.#path, HEADER + lines.join(''), { mode: 0o600, durable: true });
    this.#loadedMtime = (await stat(this.#path)).mtimeMs;
  }
}

/** Parses the accounts file; malformed lines are skipped (reported by the caller's admin tools later). */
export function parseAccounts(text: string): Map<string, PasswordHash> {
  const users = new Map<string, PasswordHash>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const hash = parseHash(line.slice(colon + 1));
    if (hash) users.set(line.slice(0, colon), hash);
  }
  return users;
}
