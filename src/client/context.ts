/**
 * The context of one client connection, after basic-ftp's FtpContext. What lives where:
 * - here: the connection and everything it delivers: the inbox of answers and `expect()`, the one
 *   place that reads them; the sink for file data; the one failure that ends the client; and the
 *   steps every command goes through (its turn in the CommandQueue, `exclusive`, `request`, `inStep`);
 * - upload.ts and download.ts: streaming a file each way, on top of this context;
 * - client.ts: LpfClient, the public API, each method a few lines;
 * - dial.ts: opening the socket (TCP or TLS, with the server's certificate checked).
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { COMMAND_ERRORS, LpfError, isErrorCode, toLpfError } from '../errors.js';
import type { Message, MessageOf, MessageType } from '../protocol/index.js';
import { Connection } from '../transport/connection.js';
import { formatAddress, type ServerAddress } from './address.js';
import { CommandQueue, type Turn } from './command-queue.js';

interface Waiter {
  resolve(): void;
  reject(error: LpfError): void;
}

/** Takes the DATA of the file being received, chunk by chunk. */
export type DataSink = (chunk: Buffer) => void;

/** One connection to a server with its inbox, its failure and its command turns: what LpfClient, uploads and downloads share. */
export class ClientContext {
  /** The server at the other end. */
  readonly address: ServerAddress;
  /** The framed connection: commands send on it, and uploads and downloads stream on it. */
  readonly conn: Connection;
  readonly #inbox: Message[] = [];
  #waiter: Waiter | undefined;
  #failure: LpfError | undefined;
  #dataSink: DataSink | undefined;
  #idleTimeoutMs = 0;
  readonly #queue = new CommandQueue();

  constructor(socket: Socket, address: ServerAddress, idleTimeoutMs: number) {
    this.address = address;
    this.conn = new Connection(socket, {
      message: (m) => this.#onMessage(m),
      data: (chunk) => this.#onData(chunk),
      closed: (err) => this.#onClosed(err),
    });
    socket.on('timeout', () =>
      this.conn.close(new LpfError('LPF_ERR_TIMEOUT', `no answer from ${formatAddress(address)} for ${this.#idleTimeoutMs / 1000} s`)),
    );
    this.setIdleTimeout(idleTimeoutMs);
  }

  /** True once the connection has ended or is ending on a failure: no further command can be sent on it. */
  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /** True when an answer is waiting to be read, or the connection ended: a sender should stop and read it. */
  get interrupted(): boolean {
    return this.#failure !== undefined || this.#inbox.length > 0;
  }

  /** Drops the connection when the server sends nothing for `ms` (0: never). */
  setIdleTimeout(ms: number): void {
    this.#idleTimeoutMs = ms;
    this.conn.socket.setTimeout(ms);
  }

  /** Routes the DATA that arrives to `sink` (unset: DATA is a protocol error). */
  setDataSink(sink: DataSink | undefined): void {
    this.#dataSink = sink;
  }

  /** Runs a command in its turn, taken now (so turns follow call order), and ends the turn however it ends. */
  async inTurn<T>(command: (turn: Turn) => Promise<T>): Promise<T> {
    const turn = this.#queue.take();
    try {
      return await command(turn);
    } finally {
      turn.finish();
    }
  }

  /** Runs a command that must have the connection to itself, after every command started before it. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.inTurn(async (turn) => {
      await turn.earlierDone;
      return task();
    });
  }

  /** Sends one request (made inside the turn, so a bad name fails in order) and expects one answer. */
  request<T extends MessageType>(request: Message | (() => Message), answer: T): Promise<MessageOf<T>> {
    return this.exclusive(async () => {
      this.conn.send(typeof request === 'function' ? request() : request);
      return this.expect(answer);
    });
  }

  /**
   * Runs the part of a command after its request was sent. A refusal from the
   * server (one of COMMAND_ERRORS) leaves the connection in step for the next
   * command, and so does any failure after the task called `exchangeOver`;
   * any other failure may leave data in flight, so it ends the connection.
   */
  async inStep<T>(task: (exchangeOver: () => void) => Promise<T>): Promise<T> {
    // Called by the task once every answer of the command is read: a failure after that leaves the connection in step.
    let over = false;
    try {
      return await task(() => {
        over = true;
      });
    } catch (err) {
      const error = toLpfError(err);
      if (!over && !COMMAND_ERRORS.has(error.code)) this.conn.close(error);
      throw err;
    }
  }

  /**
   * The next message, which must be of `type`; a server error becomes a thrown LpfError with the server's code.
   * With `keepHold`, input stays held after an answer of `type` until the caller calls conn.release().
   */
  async expect<T extends MessageType>(type: T, options: { keepHold?: boolean } = {}): Promise<MessageOf<T>> {
    const message = await this.#next(options.keepHold);
    if (options.keepHold && message.type !== type) setImmediate(() => this.conn.release());
    if (message.type === type) return message as MessageOf<T>;
    if (message.type === 'error') {
      throw new LpfError(isErrorCode(message.code) ? message.code : 'LPF_ERR_SERVER', message.message);
    }
    const error = new LpfError('LPF_ERR_PROTOCOL', `expected ${type} from the server, got ${message.type}`);
    this.conn.close(error);
    throw error;
  }

  /** The next message. With `keepHold`, input stays held until the caller calls conn.release(). */
  async #next(keepHold = false): Promise<Message> {
    while (this.#inbox.length === 0) {
      if (this.#failure) throw this.#failure;
      // Commands read their answers in turn: a second reader would steal the first one's wake-up.
      assert.equal(this.#waiter, undefined, 'two readers of the answers at once');
      await new Promise<void>((resolve, reject) => {
        this.#waiter = { resolve, reject };
      });
    }
    const message = this.#inbox.shift();
    assert(message !== undefined);
    // setImmediate runs after the awaiting code's microtasks: only then may more input arrive.
    if (!keepHold) setImmediate(() => this.conn.release());
    return message;
  }

  /**
   * Messages are consumed one at a time: input stays held from the moment a
   * message arrives until the code awaiting it has run, so file data can never
   * overtake the handling of the answer that announces it.
   */
  #onMessage(message: Message): void {
    this.#inbox.push(message);
    this.conn.hold();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve();
  }

  #onData(chunk: Buffer): void {
    try {
      if (!this.#dataSink) throw new LpfError('LPF_ERR_PROTOCOL', 'the server sent file data unasked');
      this.#dataSink(chunk);
    } catch (err) {
      // The connection tells the server and closes once that is out, and the close then says only
      // "closed by peer": the reason is kept here, as the failure every reader sees.
      this.#fail(toLpfError(err));
      throw err;
    }
  }

  #onClosed(error?: LpfError): void {
    this.#fail(describeFailure(error, this.address));
  }

  /** Ends the client's use of the connection: the first failure is the one every reader gets. */
  #fail(error: LpfError): void {
    this.#failure ??= error;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(this.#failure);
  }
}

/** The failure that ended a connection, with a lost connection naming the server. */
function describeFailure(error: LpfError | undefined, address: ServerAddress): LpfError {
  const failure = error ?? new LpfError('LPF_ERR_CONNECTION_LOST', 'the connection was closed');
  if (failure.code !== 'LPF_ERR_CONNECTION_LOST') return failure;
  return new LpfError('LPF_ERR_CONNECTION_LOST', `lost the connection to ${formatAddress(address)} (${failure.message})`);
}
