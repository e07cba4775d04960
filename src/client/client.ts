/**
 * The lpf client library: a promise API over one connection. One command at a
 * time; progress is reported as data, and drawing it is the caller's job.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { WriteStream } from 'node:fs';
import { access, open, rename, rm, type FileHandle } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LpfError, isErrorCode } from '../errors.js';
import {
  DEFAULT_CHUNK_SIZE,
  PROTOCOL_VERSION,
  normalizeRemoteName,
  type ListEntry,
  type Message,
  type MessageOf,
  type MessageType,
} from '../protocol/index.js';
import { Connection } from '../transport/connection.js';
import { closeDurably, createDurableFile } from '../util/durable-file.js';
import { VERSION } from '../version.js';
import { formatAddress, type ServerAddress } from './address.js';
import { openTransport, type TlsPolicy } from './transport.js';

export const CLIENT_AGENT = `lpf/${VERSION}`;

export interface ConnectOptions {
  /** How to secure the connection; see TlsPolicy. */
  tls: TlsPolicy;
  /** Give up connecting after this long. */
  connectTimeoutMs?: number;
  /** Drop the connection when the server sends nothing for this long while a reply is awaited (0: never). */
  idleTimeoutMs?: number;
}

export type ProgressListener = (bytesDone: number, bytesTotal: number) => void;

export interface TransferResult {
  name: string;
  size: number;
  sha256: string;
  /** Wall-clock duration of the transfer, in milliseconds. */
  ms: number;
}

export interface DownloadOptions {
  /** Replace an existing local file. */
  force?: boolean;
  onProgress?: ProgressListener;
}

interface Waiter {
  resolve(): void;
  reject(error: LpfError): void;
}

export class LpfClient {
  readonly address: ServerAddress;
  readonly #conn: Connection;
  readonly #inbox: Message[] = [];
  #waiter: Waiter | undefined;
  #failure: LpfError | undefined;
  #dataSink: ((chunk: Buffer) => void) | undefined;
  #idleTimeoutMs: number;
  #serverAgent = '';

  private constructor(socket: Socket, address: ServerAddress, idleTimeoutMs: number) {
    this.address = address;
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#conn = new Connection(socket, {
      message: (m) => this.#onMessage(m),
      data: (chunk) => this.#onData(chunk),
      closed: (err) => this.#onClosed(err),
    });
    socket.on('timeout', () =>
      this.#conn.close(new LpfError('LPF_ERR_TIMEOUT', `no answer from ${formatAddress(address)} for ${this.#idleTimeoutMs / 1000} s`)),
    );
  }

  /** Connects and performs the handshake. */
  static async connect(address: ServerAddress, options: ConnectOptions): Promise<LpfClient> {
    const socket = await openTransport(address, options.tls, options.connectTimeoutMs ?? 10_000);
    const client = new LpfClient(socket, address, options.idleTimeoutMs ?? 60_000);
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
  async ping(): Promise<number> {
    const nonce = randomBytes(4).readUInt32BE(0);
    const start = performance.now();
    this.#conn.send({ type: 'ping', nonce });
    const pong = await this.#expect('pong');
    if (pong.nonce !== nonce) throw new LpfError('LPF_ERR_PROTOCOL', 'pong does not answer our ping');
    return performance.now() - start;
  }

  /** Logs in; resolves with the canonical user name. */
  async login(user: string, password: string): Promise<string> {
    this.#conn.send({ type: 'login', user, password });
    return (await this.#expect('authed')).user;
  }

  /** Creates an account and logs in with it; resolves with the canonical user name. */
  async register(user: string, password: string): Promise<string> {
    this.#conn.send({ type: 'register', user, password });
    return (await this.#expect('authed')).user;
  }

  async list(): Promise<ListEntry[]> {
    this.#conn.send({ type: 'list' });
    const entries: ListEntry[] = [];
    for (;;) {
      const page = await this.#expect('list_page');
      entries.push(...page.entries);
      if (page.done) return entries;
    }
  }

  async delete(remoteName: string): Promise<void> {
    this.#conn.send({ type: 'delete', name: normalizeRemoteName(remoteName) });
    await this.#expect('ok');
  }

  /** Uploads a local file; the server stores it under `remoteName` only once every byte arrived intact. */
  async upload(localPath: string, remoteName: string, onProgress?: ProgressListener): Promise<TransferResult> {
    const name = normalizeRemoteName(remoteName);
    const handle = await openLocal(localPath);
    const started = performance.now();
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new LpfError('LPF_ERR_LOCAL_IO', `${localPath} is not a regular file`);
      const size = info.size;
      this.#conn.send({ type: 'upload', name, size });
      await this.#expect('ready');
      onProgress?.(0, size);
      const sha256 = await this.#sendFile(handle, size, onProgress);
      this.#conn.send({ type: 'end', sha256 });
      const stored = await this.#expect('stored');
      if (stored.sha256 !== sha256 || stored.size !== size) {
        throw new LpfError('LPF_ERR_CHECKSUM', 'the server stored something other than what was sent');
      }
      return { name: stored.name, size, sha256, ms: performance.now() - started };
    } finally {
      await handle.close();
    }
  }

  /** Downloads a file to `localPath` through a temporary file, renamed into place once complete and verified. */
  async download(remoteName: string, localPath: string, options: DownloadOptions = {}): Promise<TransferResult> {
    const name = normalizeRemoteName(remoteName);
    if (!options.force) await refuseExisting(localPath);
    const started = performance.now();
    const temp = join(dirname(localPath), `.${basename(localPath)}.${randomBytes(4).toString('hex')}.lpf-part`);
    // Open the local file before asking: file data may follow the server's answer in the same packet.
    const out = await createDurableFile(temp, 0o644).catch((err: unknown) => {
      throw localError(err, `cannot write in ${dirname(localPath)}`);
    });
    try {
      const { size, sha256 } = await this.#receiveFile(name, out, options.onProgress);
      if (!options.force) await refuseExisting(localPath);
      await rename(temp, localPath).catch((err: unknown) => {
        throw localError(err, `cannot create ${localPath}`);
      });
      return { name, size, sha256, ms: performance.now() - started };
    } catch (err) {
      out.destroy();
      await rm(temp, { force: true });
      throw err;
    }
  }

  /** Stops or resumes the idle timeout (off while a person is typing at a prompt). */
  setIdleTimeout(ms: number): void {
    this.#idleTimeoutMs = ms;
    this.#conn.socket.setTimeout(ms);
  }

  /** Ends the connection. */
  close(): void {
    this.#conn.end();
  }

  async #handshake(): Promise<void> {
    this.#conn.socket.setTimeout(this.#idleTimeoutMs);
    this.#conn.send({ type: 'hello', version: PROTOCOL_VERSION, agent: CLIENT_AGENT });
    const welcome = await this.#expect('welcome');
    if (welcome.version !== PROTOCOL_VERSION) {
      throw new LpfError('LPF_ERR_VERSION', `the server speaks protocol ${welcome.version}, this client ${PROTOCOL_VERSION}`);
    }
    this.#serverAgent = welcome.agent;
  }

  async #sendFile(handle: FileHandle, size: number, onProgress?: ProgressListener): Promise<string> {
    const hash = createHash('sha256');
    if (size === 0) return hash.digest('hex');
    const stream = handle.createReadStream({ start: 0, end: size - 1, highWaterMark: DEFAULT_CHUNK_SIZE, autoClose: false });
    let sent = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        // The server may refuse mid-way (disk full); stop sending and report its reason.
        if (this.#failure || this.#inbox.length > 0) break;
        hash.update(chunk);
        sent += chunk.length;
        if (!this.#conn.sendData(chunk)) await this.#conn.drained();
        onProgress?.(sent, size);
      }
    } catch (err) {
      throw localError(err, 'cannot read the local file');
    } finally {
      stream.destroy();
    }
    if (sent !== size) {
      // Either the server answered early (its answer is in the inbox) or the file changed under us.
      if (this.#inbox.length > 0 || this.#failure) await this.#expect('stored');
      throw new LpfError('LPF_ERR_LOCAL_IO', 'the local file changed size while it was being sent');
    }
    return hash.digest('hex');
  }

  /** Asks for a file and writes what arrives to `out`, verifying size and checksum. */
  async #receiveFile(name: string, out: WriteStream, onProgress?: ProgressListener): Promise<{ size: number; sha256: string }> {
    const hash = createHash('sha256');
    out.on('error', (err) => this.#conn.close(localError(err, 'cannot write the local file')));
    let size = 0; // set from the "file" answer, which always comes before the data
    let received = 0;
    this.#dataSink = (chunk) => {
      received += chunk.length;
      if (received > size) throw new LpfError('LPF_ERR_PROTOCOL', 'the server sent more than the announced size');
      hash.update(chunk);
      if (!out.write(chunk)) {
        this.#conn.hold();
        out.once('drain', () => this.#conn.release());
      }
      onProgress?.(received, size);
    };
    try {
      this.#conn.send({ type: 'download', name });
      size = (await this.#expect('file')).size;
      onProgress?.(received, size);
      const end = await this.#expect('end');
      await closeDurably(out).catch((err: unknown) => {
        throw localError(err, 'cannot write the local file');
      });
      const sha256 = hash.digest('hex');
      if (received !== size) throw new LpfError('LPF_ERR_SIZE_MISMATCH', `received ${received} of ${size} bytes`);
      if (end.sha256 !== sha256) throw new LpfError('LPF_ERR_CHECKSUM', 'checksum mismatch: the data was corrupted in transit');
      return { size, sha256 };
    } finally {
      this.#dataSink = undefined;
    }
  }

  /**
   * Messages are consumed one at a time: input stays held from the moment a
   * message arrives until the code awaiting it has run, so file data can never
   * overtake the handling of the answer that announces it.
   */
  #onMessage(message: Message): void {
    this.#inbox.push(message);
    this.#conn.hold();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve();
  }

  #onData(chunk: Buffer): void {
    if (!this.#dataSink) throw new LpfError('LPF_ERR_PROTOCOL', 'the server sent file data unasked');
    this.#dataSink(chunk);
  }

  #onClosed(error?: LpfError): void {
    this.#failure = error ?? new LpfError('LPF_ERR_CONNECTION_LOST', 'the connection was closed');
    if (this.#failure.code === 'LPF_ERR_CONNECTION_LOST') {
      this.#failure = new LpfError('LPF_ERR_CONNECTION_LOST', `lost the connection to ${formatAddress(this.address)} (${this.#failure.message})`);
    }
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(this.#failure);
  }

  async #next(): Promise<Message> {
    while (this.#inbox.length === 0) {
      if (this.#failure) throw this.#failure;
      await new Promise<void>((resolve, reject) => {
        this.#waiter = { resolve, reject };
      });
    }
    const message = this.#inbox.shift() as Message;
    // setImmediate runs after the awaiting code's microtasks: only then may more input arrive.
    setImmediate(() => this.#conn.release());
    return message;
  }

  /** The next message, which must be of `type`; a server error becomes a thrown LpfError with the server's code. */
  async #expect<T extends MessageType>(type: T): Promise<MessageOf<T>> {
    const message = await this.#next();
    if (message.type === type) return message as MessageOf<T>;
    if (message.type === 'error') {
      throw new LpfError(isErrorCode(message.code) ? message.code : 'LPF_ERR_SERVER', message.message);
    }
    const error = new LpfError('LPF_ERR_PROTOCOL', `expected ${type} from the server, got ${message.type}`);
    this.#conn.close(error);
    throw error;
  }
}

async function openLocal(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    throw localError(err, `cannot read ${path}`);
  }
}

async function refuseExisting(path: string): Promise<void> {
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (exists) throw new LpfError('LPF_ERR_LOCAL_EXISTS', `${path} already exists (use --force to overwrite it)`);
}

function localError(err: unknown, what: string): LpfError {
  if (err instanceof LpfError) return err;
  const e = err as NodeJS.ErrnoException;
  const why = e.code === 'ENOENT' ? 'no such file or folder' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'it is a folder' : e.message;
  return new LpfError('LPF_ERR_LOCAL_IO', `${what}: ${why}`, { cause: err });
}
