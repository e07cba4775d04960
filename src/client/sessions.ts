/**
 * The client's login sessions, one per server, in
 * $XDG_CONFIG_HOME/lpf/sessions.json (mode 0600: a token is as good as a
 * password until it expires or is revoked).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { replaceFile } from '../util/durable-file.js';
import { configDir } from './known-hosts.js';

/** One server's login session as stored: who, the token, and until when. */
export interface StoredSession {
  user: string;
  token: string;
  /** Milliseconds since the epoch. */
  expires: number;
}

/** Where sessions are kept unless told otherwise. */
export function defaultSessionsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'sessions.json');
}

/** The sessions file, one session per host:port. */
export class SessionFile {
  /** The file's path. */
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** The session for `hostPort`, unless there is none or it has expired. */
  async get(hostPort: string): Promise<StoredSession | undefined> {
    const session = (await this.#read())[hostPort.toLowerCase()];
    return session && session.expires > Date.now() ? session : undefined;
  }

  /** Stores (or replaces) the session for `hostPort`. */
  async set(hostPort: string, session: StoredSession): Promise<void> {
    const all = await this.#read();
    all[hostPort.toLowerCase()] = session;
    await this.#write(all);
  }

  /** Forgets the session for `hostPort`, if there is one. */
  async delete(hostPort: string): Promise<void> {
    const all = await this.#read();
    if (!(hostPort.toLowerCase() in all)) return;
    delete all[hostPort.toLowerCase()];
    await this.#write(all);
  }

  async #read(): Promise<Record<string, StoredSession>> {
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, StoredSession>) : {};
    } catch {
      return {};
    }
  }

  async #write(all: Record<string, StoredSession>): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await replaceFile(this.path, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600, durable: false });
  }
}
