/**
 * The lpf client library: a promise API over one connection. Commands may be
 * started together: they run in call order, and small uploads are pipelined
 * (see CommandQueue). Progress is reported as data; drawing it is the caller's job.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { access, open, realpath, type FileHandle } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { COMMAND_ERRORS, LpfError, isErrorCode, toLpfError } from '../errors.js';
import {
  BLOCK_SIZE,
  ContentHasher,
  PROTOCOL_VERSION,
  normalizeRemotePath,
  type ListEntry,
  type Message,
  type MessageOf,
  type MessageType,
} from '../protocol/index.js';
import { Connection } from '../transport/connection.js';
import { dataFrameSize, sendRange } from '../transport/send-file.js';
import { hashFileStart } from '../util/read-range.js';
import { localError } from './local-error.js';
import { CommandQueue, type Turn } from './command-queue.js';
import { LocalPartial, type PartialWriter, type ResumableDownload } from './local-partial.js';
import { VERSION } from '../version.js';
import { formatAddress, type ServerAddress } from './address.js';
import { dial, type TlsPolicy } from './dial.js';

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
  /** lpf's content checksum (see ContentHasher), lowercase hex. */
  sha256: string;
  /** Wall-clock duration of the transfer, in milliseconds. */
  ms: number;
  /** Bytes an earlier, cut-off attempt had already moved (not sent again). */
  resumedFrom: number;
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
  readonly #queue = new CommandQueue();

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
    const socket = await dial(address, options.tls, options.connectTimeoutMs ?? 10_000);
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
  ping(): Promise<number> {
    return this.#exclusive(async () => {
      const nonce = randomBytes(4).readUInt32BE(0);
      const start = performance.now();
      this.#conn.send({ type: 'ping', nonce });
      const pong = await this.#expect('pong');
      if (pong.nonce !== nonce) throw new LpfError('LPF_ERR_PROTOCOL', 'pong does not answer our ping');
      return performance.now() - start;
    });
  }

  /** Logs in; resolves with the canonical user name. */
  login(user: string, password: string): Promise<string> {
    return this.#request({ type: 'login', user, password }, 'authed').then((a) => a.user);
  }

  /** Creates an account and logs in with it; resolves with the canonical user name. */
  register(user: string, password: string): Promise<string> {
    return this.#request({ type: 'register', user, password }, 'authed').then((a) => a.user);
  }

  /** Logs in (or registers) and asks for a session token for later connections. */
  async startSession(user: string, password: string, register = false): Promise<{ user: string; token: string; expires: number }> {
    const authed = await this.#request({ type: register ? 'register' : 'login', user, password, session: true }, 'authed');
    if (authed.token === undefined || authed.expires === undefined) throw new LpfError('LPF_ERR_PROTOCOL', 'the server gave no session token');
    return { user: authed.user, token: authed.token, expires: authed.expires };
  }

  /** Logs in with a session token; LPF_ERR_SESSION when it has expired or was revoked. */
  async resumeSession(token: string): Promise<{ user: string; expires: number | undefined }> {
    const authed = await this.#request({ type: 'session', token }, 'authed');
    return { user: authed.user, expires: authed.expires };
  }

  /** Ends the session this connection logged in with, on the server. */
  async logout(): Promise<void> {
    await this.#request({ type: 'logout' }, 'ok');
  }

  /**
   * What the folder `path` holds (default: the top); with `checksums`, each file with its content
   * checksum (the server may have to compute it); with `recursive`, the whole tree, named by paths
   * relative to `path`. Names come as the server has them: check them before making local paths of them.
   */
  list(path = '', options: { checksums?: boolean; recursive?: boolean } = {}): Promise<ListEntry[]> {
    return this.#exclusive(async () => {
      const folder = normalizeRemotePath(path, { allowTop: true });
      this.#conn.send({
        type: 'list',
        ...(folder !== '' ? { path: folder } : {}),
        ...(options.checksums ? { long: true } : {}),
        ...(options.recursive ? { recursive: true } : {}),
      });
      const entries: ListEntry[] = [];
      for (;;) {
        const page = await this.#expect('list_page');
        entries.push(...page.entries);
        if (page.done) return entries;
      }
    });
  }

  /** Describes one remote file or folder; LPF_ERR_NOT_FOUND when there is none. */
  async stat(path: string): Promise<ListEntry> {
    return (await this.#request(() => ({ type: 'stat', path: normalizeRemotePath(path) }), 'entry')).entry;
  }

  /** Deletes a remote file or empty folder. */
  async delete(path: string): Promise<void> {
    await this.#request(() => ({ type: 'delete', name: normalizeRemotePath(path) }), 'ok');
  }

  /** Creates a remote folder and its missing parents; an existing folder is fine. */
  async mkdir(path: string): Promise<void> {
    await this.#request(() => ({ type: 'mkdir', path: normalizeRemotePath(path) }), 'ok');
  }

  /** Renames (moves) a remote file or folder; `to` must not exist yet. */
  async rename(from: string, to: string): Promise<void> {
    await this.#request(() => ({ type: 'rename', from: normalizeRemotePath(from), to: normalizeRemotePath(to) }), 'ok');
  }

  /**
   * Uploads a local file; the server stores it under `remoteName` only once every byte arrived intact.
   * If an earlier upload of the same unchanged file was cut off, only the rest is sent.
   */
  upload(localPath: string, remoteName: string, onProgress?: ProgressListener): Promise<TransferResult> {
    return this.#inTurn((turn) => this.#upload(turn, localPath, remoteName, onProgress));
  }

  async #upload(turn: Turn, localPath: string, remoteName: string, onProgress?: ProgressListener): Promise<TransferResult> {
    const name = normalizeRemotePath(remoteName);
    const handle = await openLocal(localPath);
    const started = performance.now();
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new LpfError('LPF_ERR_LOCAL_IO', `${localPath} is not a regular file`);
      const size = info.size;
      if (isSmallFile(size)) return await this.#uploadSmall(turn, handle, info, localPath, name, onProgress);
      const key = await contentKey(localPath, info);
      await turn.earlierDone;
      this.#conn.send({ type: 'upload', name, size, key });
      return await this.#inStep(async (exchangeOver) => {
        const { offset } = await this.#expect('ready');
        if (offset > size) throw new LpfError('LPF_ERR_PROTOCOL', `the server offered to resume at ${offset}, past the end`);
        const hasher = new ContentHasher();
        // What the server already holds is not sent again, but it is hashed here: the checksum covers the whole file.
        await hashFileStart(handle, offset, hasher).catch(rethrowLocal);
        onProgress?.(offset, size);
        const whole = await this.#sendRange(handle, offset, size, hasher, onProgress);
        // Every byte was read once and not again: a change while it was read shows in its size or times.
        if (!whole || (await changedSince(handle, info))) await this.#abandonUpload(changedWhileRead(localPath), exchangeOver);
        const sha256 = hasher.digest();
        this.#conn.send({ type: 'end', sha256 });
        const stored = await this.#expect('stored');
        if (stored.sha256 !== sha256 || stored.size !== size) {
          throw new LpfError('LPF_ERR_CHECKSUM', 'the server stored something other than what was sent');
        }
        return { name: stored.name, size, sha256, ms: performance.now() - started, resumedFrom: offset };
      });
    } finally {
      await handle.close();
    }
  }

  /**
   * Downloads a file to `localPath` through a partial file beside it, renamed into place once complete
   * and verified. A partial left by a cut-off download of the same, unchanged file is continued.
   */
  download(remoteName: string, localPath: string, options: DownloadOptions = {}): Promise<TransferResult> {
    return this.#inTurn(async (turn) => {
      const name = normalizeRemotePath(remoteName);
      if (!options.force) await refuseExisting(localPath);
      const started = performance.now();
      const partial = new LocalPartial(localPath, name, formatAddress(this.address));
      const resume = await partial.resumable();
      // The request goes as soon as the earlier ones are out: downloads started together cost no round trip each.
      await turn.earlierSent;
      this.#conn.send({ type: 'download', name, ...(resume ? { offset: resume.offset, size: resume.size, mtime: resume.mtime } : {}) });
      turn.sent();
      await turn.earlierDone;
      return this.#inStep((exchangeOver) => this.#receiveDownload(name, localPath, partial, resume, started, options, exchangeOver));
    });
  }

  async #receiveDownload(
    name: string,
    localPath: string,
    partial: LocalPartial,
    resume: ResumableDownload | undefined,
    started: number,
    options: DownloadOptions,
    exchangeOver: () => void,
  ): Promise<TransferResult> {
    // Input stays held until the partial file is open and receiving: DATA follows this answer at once,
    // and releasing delivers what is already buffered there and then.
    const file = await this.#expect('file', { keepHold: true });
    let writer: PartialWriter;
    let receiving: () => Promise<string>;
    try {
      if (file.offset !== 0 && file.offset !== resume?.offset) throw new LpfError('LPF_ERR_PROTOCOL', `the server resumed at ${file.offset}, not where asked`);
      writer = await partial.open(file, file.offset === 0 ? [] : (resume?.digests ?? []));
      receiving = this.#receiveFile(writer, file.size, file.offset, options.onProgress);
    } finally {
      this.#conn.release();
    }
    let placing = false;
    try {
      const sha256 = await receiving();
      // Every byte and the end are in: whatever fails locally from here on concerns this file only.
      exchangeOver();
      if (!options.force) await refuseExisting(localPath);
      placing = true;
      await partial.complete().catch((err: unknown) => {
        throw localError(err, `cannot create ${localPath}`);
      });
      return { name, size: file.size, sha256, ms: performance.now() - started, resumedFrom: file.offset };
    } catch (err) {
      // Damaged data must not be resumed from, nor data that cannot be put in place; anything else (a cut
      // connection, a target that exists) keeps the partial for next time.
      const code = (err as LpfError).code;
      const damaged = code === 'LPF_ERR_CHECKSUM' || code === 'LPF_ERR_SIZE_MISMATCH' || code === 'LPF_ERR_PROTOCOL';
      if (damaged || placing || !partial.keepsPartial) {
        writer.abandon();
        await partial.discard();
      } else {
        await writer.suspend();
      }
      throw err;
    }
  }

  /**
   * A file under one block cannot be resumed part-way, so it goes without a
   * key and without waiting: request, data and end in one burst, then the
   * answers. Several such uploads started together are all sent before the
   * first answer is read, so many small files cost no round trip each. (A
   * server that refuses the request drops the data and end that follow it.)
   */
  async #uploadSmall(turn: Turn, handle: FileHandle, info: Stats, localPath: string, name: string, onProgress?: ProgressListener): Promise<TransferResult> {
    const started = performance.now();
    const size = info.size;
    const content = Buffer.allocUnsafe(size);
    for (let at = 0; at < size; ) {
      const { bytesRead } = await handle.read(content, at, size - at, at).catch(rethrowLocal);
      if (bytesRead === 0) throw changedWhileRead(localPath);
      at += bytesRead;
    }
    // Checked before anything is sent: what goes is exactly what was read, so only a change meanwhile can mix it.
    if (await changedSince(handle, info)) throw changedWhileRead(localPath);
    const hasher = new ContentHasher();
    hasher.update(content);
    const sha256 = hasher.digest();
    await turn.earlierSent;
    this.#conn.send({ type: 'upload', name, size });
    const frame = dataFrameSize(this.#conn);
    for (let at = 0; at < size; at += frame) this.#conn.sendData(content.subarray(at, at + frame));
    this.#conn.send({ type: 'end', sha256 });
    turn.sent();
    await turn.earlierDone;
    return this.#inStep(async () => {
      const { offset } = await this.#expect('ready');
      if (offset !== 0) throw new LpfError('LPF_ERR_PROTOCOL', `the server offered to resume at ${offset} an upload it cannot resume`);
      onProgress?.(0, size);
      const stored = await this.#expect('stored');
      if (stored.sha256 !== sha256 || stored.size !== size) throw new LpfError('LPF_ERR_CHECKSUM', 'the server stored something other than what was sent');
      onProgress?.(size, size);
      return { name: stored.name, size, sha256, ms: performance.now() - started, resumedFrom: 0 };
    });
  }

  /** Runs a command in its turn, taken now (so turns follow call order), and ends the turn however it ends. */
  async #inTurn<T>(command: (turn: Turn) => Promise<T>): Promise<T> {
    const turn = this.#queue.take();
    try {
      return await command(turn);
    } finally {
      turn.finish();
    }
  }

  /** Runs a command that must have the connection to itself, after every command started before it. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.#inTurn(async (turn) => {
      await turn.earlierDone;
      return task();
    });
  }

  /** Sends one request (made inside the turn, so a bad name fails in order) and expects one answer. */
  #request<T extends MessageType>(request: Message | (() => Message), answer: T): Promise<MessageOf<T>> {
    return this.#exclusive(async () => {
      this.#conn.send(typeof request === 'function' ? request() : request);
      return this.#expect(answer);
    });
  }

  /** True once the connection has ended: no further command can be sent on it. */
  get closed(): boolean {
    return this.#failure !== undefined;
  }

  /**
   * Runs the part of a command after its request was sent. A refusal from the
   * server (one of COMMAND_ERRORS) leaves the connection in step for the next
   * command, and so does any failure after the task called `exchangeOver`;
   * any other failure may leave data in flight, so it ends the connection.
   */
  async #inStep<T>(task: (exchangeOver: () => void) => Promise<T>): Promise<T> {
    // Called by the task once every answer of the command is read: a failure after that leaves the connection in step.
    let over = false;
    try {
      return await task(() => {
        over = true;
      });
    } catch (err) {
      const error = toLpfError(err);
      if (!over && !COMMAND_ERRORS.has(error.code)) this.#conn.close(error);
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

  /**
   * Makes the server discard an upload whose DATA is out, so that nothing of it is stored: the protocol
   * has no cancel, but an `end` whose checksum cannot match (or that follows too few bytes) is refused
   * with a code that keeps the connection, and the partial data is deleted. Then fails with `why`.
   */
  async #abandonUpload(why: LpfError, exchangeOver: () => void): Promise<never> {
    this.#conn.send({ type: 'end', sha256: ABANDONED_UPLOAD });
    try {
      await this.#expect('stored');
    } catch (err) {
      if (!COMMAND_ERRORS.has(toLpfError(err).code)) throw err;
      exchangeOver();
      throw why;
    }
    throw new LpfError('LPF_ERR_PROTOCOL', 'the server stored an upload whose checksum cannot match');
  }

  /** Sends bytes [start, size) of the file as DATA, hashing them, with backpressure; false if the file ended early. */
  async #sendRange(handle: FileHandle, start: number, size: number, hasher: ContentHasher, onProgress?: ProgressListener): Promise<boolean> {
    // The server may refuse mid-way (disk full): stop sending and report its reason.
    const stopped = () => this.#failure !== undefined || this.#inbox.length > 0;
    const reader = { read: async (buffer: Buffer, position: number, length: number) => (await handle.read(buffer, 0, length, position)).bytesRead };
    let done = start;
    const sent = await sendRange(this.#conn, reader, start, size, {
      onChunk: (chunk) => {
        if (stopped()) return false;
        hasher.update(chunk);
        done += chunk.length;
        onProgress?.(done, size);
        return true;
      },
    }).catch(rethrowLocal);
    // The server answered early (its answer, an error, is in the inbox): that is the outcome.
    if (sent !== size && stopped()) await this.#expect('stored');
    return sent === size;
  }

  /**
   * Starts writing the DATA that arrives to `writer` from `offset` on (the sink is in place when this
   * returns); the function returned waits for the end and verifies size and checksum.
   */
  #receiveFile(writer: PartialWriter, size: number, offset: number, onProgress?: ProgressListener): () => Promise<string> {
    let received = offset;
    onProgress?.(received, size);
    writer.onError((err) => this.#conn.close(localError(err, 'cannot write the local file')));
    this.#dataSink = (chunk) => {
      received += chunk.length;
      if (received > size) throw new LpfError('LPF_ERR_PROTOCOL', 'the server sent more than the announced size');
      if (!writer.write(chunk)) {
        this.#conn.hold();
        writer.onDrain(() => this.#conn.release());
      }
      onProgress?.(received, size);
    };
    return async () => {
      try {
        const end = await this.#expect('end');
        const sha256 = await writer.finish().catch((err: unknown) => {
          throw localError(err, 'cannot write the local file');
        });
        if (received !== size) throw new LpfError('LPF_ERR_SIZE_MISMATCH', `received ${received} of ${size} bytes`);
        if (end.sha256 !== sha256) throw new LpfError('LPF_ERR_CHECKSUM', 'checksum mismatch: the data was corrupted; the partial download was removed');
        return sha256;
      } finally {
        this.#dataSink = undefined;
      }
    };
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

  /** The next message. With `keepHold`, input stays held until the caller calls #conn.release(). */
  async #next(keepHold = false): Promise<Message> {
    while (this.#inbox.length === 0) {
      if (this.#failure) throw this.#failure;
      await new Promise<void>((resolve, reject) => {
        this.#waiter = { resolve, reject };
      });
    }
    const message = this.#inbox.shift() as Message;
    // setImmediate runs after the awaiting code's microtasks: only then may more input arrive.
    if (!keepHold) setImmediate(() => this.#conn.release());
    return message;
  }

  /** The next message, which must be of `type`; a server error becomes a thrown LpfError with the server's code. */
  async #expect<T extends MessageType>(type: T, options: { keepHold?: boolean } = {}): Promise<MessageOf<T>> {
    const message = await this.#next(options.keepHold);
    if (options.keepHold && message.type !== type) setImmediate(() => this.#conn.release());
    if (message.type === type) return message as MessageOf<T>;
    if (message.type === 'error') {
      throw new LpfError(isErrorCode(message.code) ? message.code : 'LPF_ERR_SERVER', message.message);
    }
    const error = new LpfError('LPF_ERR_PROTOCOL', `expected ${type} from the server, got ${message.type}`);
    this.#conn.close(error);
    throw error;
  }
}

/**
 * Whether a file of `size` bytes is small: under one block, so it cannot be
 * resumed part-way. Its upload goes in one burst without waiting for the
 * server, and uploads or downloads of several small files started together
 * overlap. A larger upload waits for a resume offset first and then has the
 * connection to itself.
 */
export function isSmallFile(size: number): boolean {
  return size < BLOCK_SIZE;
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

/**
 * Names the content of a local file for the server, so that an upload of the
 * same, unchanged file finds its cut-off partial: path, size, mtime, inode.
 * Only a hash goes over the wire.
 */
async function contentKey(path: string, info: Stats): Promise<string> {
  const real = await realpath(path).catch(() => path);
  return createHash('sha256').update(`${real}\0${info.size}\0${info.mtimeMs}\0${info.ino}\0${info.dev}`).digest('hex');
}

/**
 * The checksum an upload is ended with to have it discarded: no content hashes to 64 zeros, so the
 * server answers LPF_ERR_CHECKSUM (or LPF_ERR_SIZE_MISMATCH, when too few bytes came) and stores nothing.
 */
const ABANDONED_UPLOAD = '0'.repeat(64);

/** Whether the open file's size, modification or change time moved since `before` (a write moves them; a read does not). */
async function changedSince(handle: FileHandle, before: Stats): Promise<boolean> {
  const now = await handle.stat().catch(rethrowLocal);
  return now.size !== before.size || now.mtimeMs !== before.mtimeMs || now.ctimeMs !== before.ctimeMs;
}

function changedWhileRead(path: string): LpfError {
  return new LpfError('LPF_ERR_LOCAL_IO', `${path} changed while it was being uploaded; it was not stored (send it again once it is still)`);
}

function rethrowLocal(err: unknown): never {
  throw localError(err, 'cannot read the local file');
}
