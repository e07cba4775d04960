/**
 * The lpf client library: a promise API over one connection. Commands may be
 * started together: they run in call order, and small uploads are pipelined
 * (see CommandQueue). Progress is reported as data; drawing it is the caller's job.
 * Each method is a few lines: the inbox and the command steps are in context.ts,
 * the streaming in upload.ts and download.ts.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { LpfError } from '../errors.js';
import { PROTOCOL_VERSION, normalizeRemotePath, type ListEntry } from '../protocol/index.js';
import { VERSION } from '../version.js';
import type { ServerAddress } from './address.js';
import { ClientContext } from './context.js';
import { dial, type TlsPolicy } from './dial.js';
import { downloadFile, type DownloadOptions } from './download.js';
import type { ProgressListener, TransferResult } from './transfer-result.js';
import { uploadFile } from './upload.js';

export type { DownloadOptions } from './download.js';
export type { ProgressListener, TransferResult } from './transfer-result.js';
export { isSmallFile } from './upload.js';

/** How this client names itself to the server in the handshake. */
export const CLIENT_AGENT = `lpf/${VERSION}`;

/** How LpfClient.connect reaches the server. */
export interface ConnectOptions {
  /** How to secure the connection; see TlsPolicy. */
  tls: TlsPolicy;
  /** Give up connecting after this long. */
  connectTimeoutMs?: number;
  /** Drop the connection when the server sends nothing for this long while a reply is awaited (0: never). */
  idleTimeoutMs?: number;
}

/** A connection to an lpf server, with one promise-returning method per command. */
export class LpfClient {
  /** The server this client is connected to. */
  readonly address: ServerAddress;
  readonly #ctx: ClientContext;
  #serverAgent = '';

  private constructor(ctx: ClientContext) {
    this.#ctx = ctx;
    this.address = ctx.address;
  }

  /** Connects and performs the handshake. */
  static async connect(address: ServerAddress, options: ConnectOptions): Promise<LpfClient> {
    const socket = await dial(address, options.tls, options.connectTimeoutMs ?? 10_000);
    const client = new LpfClient(new ClientContext(socket, address, options.idleTimeoutMs ?? 60_000));
    try {
      await client.#handshake();
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  /** The server's software name and version, from the handshake. */
  get serverAgent(): string {
    return this.#serverAgent;
  }

  /** Round-trip time of one ping, in milliseconds. */
  ping(): Promise<number> {
    return this.#ctx.exclusive(async () => {
      const nonce = randomBytes(4).readUInt32BE(0);
      const start = performance.now();
      this.#ctx.conn.send({ type: 'ping', nonce });
      const pong = await this.#ctx.expect('pong');
      if (pong.nonce !== nonce) throw new LpfError('LPF_ERR_PROTOCOL', 'pong does not answer our ping');
      return performance.now() - start;
    });
  }

  /** Logs in; resolves with the canonical user name. */
  login(user: string, password: string): Promise<string> {
    return this.#ctx.request({ type: 'login', user, password }, 'authed').then((a) => a.user);
  }

  /** Creates an account and logs in with it; resolves with the canonical user name. */
  register(user: string, password: string): Promise<string> {
    return this.#ctx.request({ type: 'register', user, password }, 'authed').then((a) => a.user);
  }

  /** Logs in (or registers) and asks for a session token for later connections. */
  async startSession(user: string, password: string, register = false): Promise<{ user: string; token: string; expires: number }> {
    const authed = await this.#ctx.request({ type: register ? 'register' : 'login', user, password, session: true }, 'authed');
    if (authed.token === undefined || authed.expires === undefined)
      throw new LpfError('LPF_ERR_PROTOCOL', 'the server gave no session token');
    return { user: authed.user, token: authed.token, expires: authed.expires };
  }

  /** Logs in with a session token; LPF_ERR_SESSION when it has expired or was revoked. */
  async resumeSession(token: string): Promise<{ user: string; expires: number | undefined }> {
    const authed = await this.#ctx.request({ type: 'session', token }, 'authed');
    return { user: authed.user, expires: authed.expires };
  }

  /** Ends the session this connection logged in with, on the server. */
  async logout(): Promise<void> {
    await this.#ctx.request({ type: 'logout' }, 'ok');
  }

  /**
   * What the folder `path` holds (default: the top); with `checksums`, each file with its content
   * checksum (the server may have to compute it); with `recursive`, the whole tree, named by paths
   * relative to `path`. Names come as the server has them: check them before making local paths of them.
   */
  list(path = '', options: { checksums?: boolean; recursive?: boolean } = {}): Promise<ListEntry[]> {
    return this.#ctx.exclusive(async () => {
      const folder = normalizeRemotePath(path, { allowTop: true });
      this.#ctx.conn.send({
        type: 'list',
        ...(folder !== '' ? { path: folder } : {}),
        ...(options.checksums ? { long: true } : {}),
        ...(options.recursive ? { recursive: true } : {}),
      });
      const entries: ListEntry[] = [];
      for (;;) {
        const page = await this.#ctx.expect('list_page');
        entries.push(...page.entries);
        if (page.done) return entries;
      }
    });
  }

  /** Describes one remote file or folder; LPF_ERR_NOT_FOUND when there is none. */
  async stat(path: string): Promise<ListEntry> {
    return (await this.#ctx.request(() => ({ type: 'stat', path: normalizeRemotePath(path) }), 'entry')).entry;
  }

  /** Deletes a remote file or empty folder. */
  async delete(path: string): Promise<void> {
    await this.#ctx.request(() => ({ type: 'delete', name: normalizeRemotePath(path) }), 'ok');
  }

  /** Creates a remote folder and its missing parents; an existing folder is fine. */
  async mkdir(path: string): Promise<void> {
    await this.#ctx.request(() => ({ type: 'mkdir', path: normalizeRemotePath(path) }), 'ok');
  }

  /** Renames (moves) a remote file or folder; `to` must not exist yet. */
  async rename(from: string, to: string): Promise<void> {
    await this.#ctx.request(() => ({ type: 'rename', from: normalizeRemotePath(from), to: normalizeRemotePath(to) }), 'ok');
  }

  /** Copies a remote file or folder on the server (no data crosses the network); `to` must not exist yet. */
  async copy(from: string, to: string): Promise<void> {
    await this.#ctx.request(() => ({ type: 'copy', from: normalizeRemotePath(from), to: normalizeRemotePath(to) }), 'ok');
  }

  /**
   * Uploads a local file; the server stores it under `remoteName` only once every byte arrived intact.
   * If an earlier upload of the same unchanged file was cut off, only the rest is sent.
   */
  upload(localPath: string, remoteName: string, onProgress?: ProgressListener): Promise<TransferResult> {
    return this.#ctx.inTurn((turn) => uploadFile(this.#ctx, turn, localPath, remoteName, onProgress));
  }

  /**
   * Downloads a file to `localPath` through a partial file beside it, renamed into place once complete
   * and verified. A partial left by a cut-off download of the same, unchanged file is continued.
   */
  download(remoteName: string, localPath: string, options: DownloadOptions = {}): Promise<TransferResult> {
    return this.#ctx.inTurn((turn) => downloadFile(this.#ctx, turn, remoteName, localPath, options));
  }

  /** True once the connection has ended: no further command can be sent on it. */
  get closed(): boolean {
    return this.#ctx.failed;
  }

  /** Stops or resumes the idle timeout (off while a person is typing at a prompt). */
  setIdleTimeout(ms: number): void {
    this.#ctx.setIdleTimeout(ms);
  }

  /** Ends the connection. */
  close(): void {
    this.#ctx.conn.end();
  }

  async #handshake(): Promise<void> {
    this.#ctx.conn.send({ type: 'hello', version: PROTOCOL_VERSION, agent: CLIENT_AGENT });
    const welcome = await this.#ctx.expect('welcome');
    if (welcome.version !== PROTOCOL_VERSION) {
      throw new LpfError('LPF_ERR_VERSION', `the server speaks protocol ${welcome.version}, this client ${PROTOCOL_VERSION}`);
    }
    this.#serverAgent = welcome.agent;
  }
}
