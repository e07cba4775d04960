/**
 * An lpf conversation held inside this process, for the web side's HTTP requests (sign-in, sign-up,
 * the session check, logout, downloads): the request goes to a ClientConnection over a PeerStream,
 * exactly as a client's would, so the same command handlers, throttles, sessions and limits answer.
 */
import { isErrorCode, LpfError } from '../../errors.js';
import { encodeMessage, FrameDecoder, PROTOCOL_VERSION, type Message, type MessageOf, type MessageType } from '../../protocol/index.js';
import { PeerStream } from './peer-stream.js';

/** What serves a PeerStream (LpfServer.attach): undefined when it took it, else why not. */
export type Attach = (peer: PeerStream) => string | undefined;

/** Where DATA chunks of a download go; `more` is called when the sink can take more (after it returned false). */
export type DataSink = (chunk: Buffer, more: () => void) => boolean;

export class LocalExchange {
  readonly #peer: PeerStream;
  readonly #decoder: FrameDecoder;
  readonly #arrived: Message[] = [];
  #waiting: ((message: Message | LpfError) => void) | undefined;
  #failure: LpfError | undefined;
  #sink: DataSink | undefined;
  /** The sink is full: the decoder is paused, and the server's last write waits in #resumeWith. */
  #held = false;
  #user: string | undefined;
  #resumeWith: (() => void) | undefined;

  private constructor(address: string, port: number) {
    this.#decoder = new FrameDecoder({ message: (m) => this.#arrive(m), data: (c) => this.#data(c) });
    this.#peer = new PeerStream({
      remoteAddress: address,
      remotePort: port,
      send: (chunk, done) => this.#receive(chunk, done),
      resumeSource: () => undefined,
      close: () => this.#end(new LpfError('LPF_ERR_CONNECTION_LOST', 'the server closed the connection')),
    });
  }

  /** Opens an exchange for a client at `address`, says hello, and logs in with the session `token` when given. */
  static async open(attach: Attach, address: string, port: number, token?: string): Promise<LocalExchange> {
    const exchange = new LocalExchange(address, port);
    const refusal = attach(exchange.#peer);
    if (refusal !== undefined) throw new LpfError('LPF_ERR_BUSY', refusal);
    try {
      await exchange.request({ type: 'hello', version: PROTOCOL_VERSION, agent: 'lpf-web' }, 'welcome');
      if (token !== undefined) exchange.#user = (await exchange.request({ type: 'session', token }, 'authed')).user;
      return exchange;
    } catch (err) {
      exchange.close();
      throw err;
    }
  }

  /** The user logged in by the session given to open(). */
  get user(): string | undefined {
    return this.#user;
  }

  /** Sends `message` and resolves with the answer of type `answer`; an `error` answer rejects with its code. */
  async request<T extends MessageType>(message: Message, answer: T): Promise<MessageOf<T>> {
    this.#peer.deliver(encodeMessage(message));
    return this.next(answer);
  }

  /** The next message, which must be of type `type`. */
  async next<T extends MessageType>(type: T): Promise<MessageOf<T>> {
    const message = this.#arrived.shift() ?? (await this.#wait());
    if (message.type === 'error') throw new LpfError(isErrorCode(message.code) ? message.code : 'LPF_ERR_SERVER', message.message);
    if (message.type !== type) throw new LpfError('LPF_ERR_PROTOCOL', `expected ${type}, got ${message.type}`);
    return message as MessageOf<T>;
  }

  /** Where the DATA of a download goes from now on. */
  receiveData(sink: DataSink): void {
    this.#sink = sink;
  }

  /** Ends the exchange (the server sees its client go). */
  close(): void {
    this.#end(new LpfError('LPF_ERR_CONNECTION_LOST', 'closed'));
    this.#peer.destroy();
  }

  #wait(): Promise<Message> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting = (m) => (m instanceof LpfError ? reject(m) : resolve(m));
    });
  }

  #receive(chunk: Buffer, done: (error?: Error | null) => void): void {
    try {
      this.#decoder.push(chunk);
    } catch (err) {
      this.#end(err instanceof LpfError ? err : new LpfError('LPF_ERR_PROTOCOL', String(err)));
    }
    // Held until the sink can take more: the server's sendRange waits on this stream's drain.
    if (this.#held) this.#resumeWith = () => done();
    else done();
  }

  #data(chunk: Buffer): void {
    const sink = this.#sink;
    if (!sink) return this.#end(new LpfError('LPF_ERR_PROTOCOL', 'file data nobody asked for'));
    const more = () => {
      if (!this.#held) return;
      this.#held = false;
      this.#decoder.resume();
      const resume = this.#resumeWith;
      this.#resumeWith = undefined;
      if (!this.#held) resume?.();
      else this.#resumeWith = resume;
    };
    if (!sink(chunk, more)) {
      this.#held = true;
      this.#decoder.pause();
    }
  }

  #arrive(message: Message): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting) waiting(message);
    else this.#arrived.push(message);
  }

  #end(error: LpfError): void {
    this.#failure ??= error;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.(this.#failure);
  }
}
