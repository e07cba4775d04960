/**
 * The page's lpf connection: the protocol's own frames over a WebSocket to /api/socket, decoded by
 * the shared codec. The server logs the socket in from the session cookie, so the first answers are
 * `welcome` and `authed`. One command at a time: each waits for the one before.
 */
import { FrameDecoder } from '../protocol/decoder.js';
import { encodeDataHeader, encodeMessage } from '../protocol/encoder.js';
import type { ListEntry, Message, MessageOf, MessageType } from '../protocol/messages.js';

/** A refusal or failure, with the server's code and words. */
export class LinkError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Link {
  readonly #ws: WebSocket;
  readonly #decoder: FrameDecoder;
  readonly #arrived: Message[] = [];
  #waiting: ((m: Message | LinkError) => void) | undefined;
  #failure: LinkError | undefined;
  #turn: Promise<unknown> = Promise.resolve();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    this.#decoder = new FrameDecoder({
      message: (m) => this.#arrive(m),
      data: () => this.#end(new LinkError('LPF_ERR_PROTOCOL', 'unexpected data')),
    });
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (event: MessageEvent<ArrayBuffer>) => {
      try {
        this.#decoder.push(Buffer.from(event.data));
      } catch (err) {
        this.#end(new LinkError('LPF_ERR_PROTOCOL', String(err)));
      }
    };
    ws.onclose = () => this.#end(new LinkError('LPF_ERR_CONNECTION_LOST', 'the connection to the server was lost'));
  }

  /** Connects, and resolves with the user the server logged the socket in as. */
  static async open(): Promise<{ link: Link; user: string }> {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/socket`);
    const link = new Link(ws);
    await link.#next('welcome');
    const authed = await link.#next('authed');
    return { link, user: authed.user };
  }

  /** Whether the connection has ended (a new one must be opened for the next command). */
  get lost(): boolean {
    return this.#failure !== undefined;
  }

  close(): void {
    this.#failure ??= new LinkError('LPF_ERR_CONNECTION_LOST', 'closed');
    this.#ws.close();
  }

  /** Every entry of a folder, with checksums. */
  list(path: string): Promise<ListEntry[]> {
    return this.#listing({ type: 'list', path, long: true });
  }

  /** Every folder of the user's, by its path from the top. */
  async folders(): Promise<string[]> {
    return (await this.#listing({ type: 'list', path: '', recursive: true })).filter((e) => e.dir).map((e) => e.name);
  }

  /** The cut-off uploads the server kept whose file goes in the folder `path`, with the bytes it `received`. */
  unfinished(path: string): Promise<ListEntry[]> {
    return this.#listing({ type: 'list', path, partial: true });
  }

  #listing(message: MessageOf<'list'>): Promise<ListEntry[]> {
    return this.#inTurn(async () => {
      this.#send(message);
      const entries: ListEntry[] = [];
      for (;;) {
        const page = await this.#next('list_page');
        entries.push(...page.entries);
        if (page.done) return entries;
      }
    });
  }

  /** A command answered by `ok` (mkdir, rename, delete). */
  change(message: MessageOf<'mkdir' | 'rename' | 'delete'>): Promise<void> {
    return this.#inTurn(async () => {
      this.#send(message);
      await this.#next('ok');
    });
  }

  /** Runs `task` once every earlier command is done; `send` and `next` are for it alone meanwhile. */
  inTurn<T>(task: (io: LinkIo) => Promise<T>): Promise<T> {
    return this.#inTurn(() =>
      task({
        send: (m) => this.#send(m),
        sendData: (c) => this.#sendData(c),
        next: (t) => this.#next(t),
        buffered: () => this.#ws.bufferedAmount,
      }),
    );
  }

  #inTurn<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(task, task);
    this.#turn = run.catch(() => undefined);
    return run;
  }

  #send(message: Message): void {
    if (this.#failure) throw this.#failure;
    this.#ws.send(encodeMessage(message));
  }

  #sendData(chunk: Uint8Array): void {
    if (this.#failure) throw this.#failure;
    const frame = new Uint8Array(5 + chunk.length);
    frame.set(encodeDataHeader(chunk.length), 0);
    frame.set(chunk, 5);
    this.#ws.send(frame);
  }

  async #next<T extends MessageType>(type: T): Promise<MessageOf<T>> {
    const message = this.#arrived.shift() ?? (await this.#wait());
    if (message.type === 'error') throw new LinkError(message.code, message.message);
    if (message.type !== type) throw new LinkError('LPF_ERR_PROTOCOL', `expected ${type}, got ${message.type}`);
    return message as MessageOf<T>;
  }

  #wait(): Promise<Message> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting = (m) => (m instanceof LinkError ? reject(m) : resolve(m));
    });
  }

  #arrive(message: Message): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting) waiting(message);
    else this.#arrived.push(message);
  }

  #end(error: LinkError): void {
    this.#failure ??= error;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.(this.#failure);
  }
}

/** The current connection, opened again if the last one ended (the server drops idle ones). */
export type LinkSource = () => Promise<Link>;

/** What a command that streams (an upload) uses of the link during its turn. */
export interface LinkIo {
  send(message: Message): void;
  sendData(chunk: Uint8Array): void;
  next<T extends MessageType>(type: T): Promise<MessageOf<T>>;
  /** Bytes handed to the socket and not yet sent. */
  buffered(): number;
}
