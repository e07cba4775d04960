/**
 * Trust on first use, as ssh does: the fingerprint of each server's
 * certificate is remembered per host:port in a text file, one line each:
 *   host:port SHA256:AB:CD:…
 */
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { replaceFile } from '../util/durable-file.js';

/** $XDG_CONFIG_HOME/lpf, else ~/.config/lpf. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'lpf');
}

/** Where the remembered server fingerprints are kept unless told otherwise. */
export function defaultKnownHostsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'known_hosts');
}

/** The known_hosts file: one remembered certificate fingerprint per host:port. */
export class KnownHosts {
  /** The file's path. */
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** The remembered fingerprint of `hostPort`, if any. */
  async get(hostPort: string): Promise<string | undefined> {
    return (await this.#read()).get(hostPort.toLowerCase());
  }

  /** Remembers (or, after a reset, replaces) the fingerprint of `hostPort`. */
  async set(hostPort: string, fingerprint: string): Promise<void> {
    const entries = await this.#read();
    entries.set(hostPort.toLowerCase(), fingerprint);
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const text = [...entries].map(([host, fp]) => `${host} ${fp}\n`).join('');
    await replaceFile(this.path, text, { mode: 0o600, durable: false });
  }

  async #read(): Promise<Map<string, string>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw err;
    }
    const entries = new Map<string, string>();
    for (const line of text.split('\n')) {
      const [host, fp] = line.trim().split(/\s+/);
      if (host && fp && !host.startsWith('#')) entries.set(host, fp);
    }
    return entries;
  }
}
