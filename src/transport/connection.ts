/**
 * A framed connection: one socket (TCP now, TLS later: anything Duplex-like
 * with pause/resume), the pure decoder on its input and the encoder on its
 * output. It owns the one close path and the one place where socket data and
 * decoder errors meet, so callers see messages, data chunks, and one `closed`.
 */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { LpfError, toLpfError } from '../errors.js';
import { FrameDecoder, encodeDataHeader, encodeMessage, type Message } from '../protocol/index.js';

/** What a queued write costs beyond its bytes, counted against ConnectionOptions.maxUnsent. */
const WRITE_OVERHEAD = 1024;

export interface ConnectionOptions {
  /**
   * Past this many bytes of messages not yet taken by the kernel (each counted with WRITE_OVERHEAD,
   * so that the bound holds for many tiny messages too), input is held until half of them are: a peer
   * that sends requests without reading the answers is no longer read either, so the answers cannot
   * pile up in memory. For the server only: a client that did the same could wait on a server that
   * waits on it.
   */
  maxUnsent?: number;
  /** Told the size of each chunk read, once it is handled (the server tunes its garbage collection by it). */
  received?: (bytes: number) => void;
}

export interface ConnectionHandlers {
  message(message: Message): void;
  data(chunk: Buffer): void;
  /** Called once, when the connection is closed for any reason; `error` is unset on a clean close. */
  closed(error?: LpfError): void;
}

export class Connection {
  readonly socket: Socket;
  /** Whether the socket is TLS (what it costs to send differs: see send-file.ts). */
  readonly encrypted: boolean;
  readonly #decoder: FrameDecoder;
  readonly #handlers: ConnectionHandlers;
  #closed = false;
  #ending = false;
  #holds = 0;
  readonly #maxUnsent: number | undefined;
  readonly #received: ((bytes: number) => void) | undefined;
  /** Messages not yet taken by the kernel, each counted with WRITE_OVERHEAD (only with maxUnsent). */
  #unsent = 0;
  /** Input is held until #unsent is down to half of maxUnsent (one of the holds). */
  #congested = false;

  constructor(socket: Socket, handlers: ConnectionHandlers, options: ConnectionOptions = {}) {
    this.socket = socket;
    this.#maxUnsent = options.maxUnsent;
    this.#received = options.received;
    this.encrypted = socket instanceof TLSSocket;
    this.#handlers = handlers;
    this.#decoder = new FrameDecoder({
      message: (m) => this.#handlers.message(m),
      data: (c) => this.#handlers.data(c),
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('end', () => this.#onEnd());
    socket.on('error', (err) => this.close(new LpfError('LPF_ERR_CONNECTION_LOST', err.message, { cause: err })));
    socket.on('close', () => this.close(this.#ending ? undefined : new LpfError('LPF_ERR_CONNECTION_LOST', 'connection closed')));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one control message. Returns false when the socket buffer is full (see drained()). */
  send(message: Message): boolean {
    if (this.#closed) return false;
    const frame = encodeMessage(message);
    const max = this.#maxUnsent;
    if (max === undefined) return this.socket.write(frame);
    const cost = frame.length + WRITE_OVERHEAD;
    this.#unsent += cost;
    // Called once the kernel has the bytes, or with an error once the socket is gone.
    const ok = this.socket.write(frame, () => this.#taken(cost, max));
    if (this.#unsent > max && !this.#congested) {
      this.#congested = true;
      this.hold();
    }
    return ok;
  }

  #taken(cost: number, max: number): void {
    this.#unsent -= cost;
    if (this.#congested && this.#unsent <= max / 2) {
      this.#congested = false;
      this.release();
    }
  }

  /**
   * Sends a DATA frame: header and payload as two writes in one cork, so the payload is not copied.
   * `written` is called once the socket is done with the payload (or the connection is gone), so its buffer can be reused.
   */
  sendData(chunk: Buffer, written?: () => void): boolean {
    if (this.#closed) {
      written?.();
      return false;
    }
    this.socket.cork();
    this.socket.write(encodeDataHeader(chunk.length));
    const ok = this.socket.write(chunk, written && (() => written()));
    this.socket.uncork();
    return ok;
  }

  /** Resolves when the socket's write buffer has drained (at once if it is not full). */
  drained(): Promise<void> {
    if (!this.socket.writableNeedDrain || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /**
   * Stops delivering input until release(): the decoder holds what it has and
   * the socket stops reading, which pushes back on the peer through TCP.
   * Holds nest, so independent reasons to wait (a busy handler, a full file
   * buffer) do not release each other.
   */
  hold(): void {
    if (this.#holds++ === 0) {
      this.#decoder.pause();
      this.socket.pause();
      readNoMore(this.socket, true);
    }
  }

  release(): void {
    if (this.#holds === 0 || --this.#holds > 0 || this.#closed) return;
    this.socket.resume();
    readNoMore(this.socket, false);
    this.#guard(() => this.#decoder.resume());
  }

  /** Ends the connection gracefully after pending writes are flushed. */
  end(): void {
    if (this.#closed) return;
    this.#ending = true;
    this.socket.end();
  }

  /** The one close path: destroys the socket and reports once. */
  close(error?: LpfError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.destroy();
    this.#handlers.closed(error);
  }

  /** Sends an error message, then closes once it has been flushed. */
  fail(error: LpfError): void {
    if (this.#closed) return;
    this.socket.write(encodeMessage({ type: 'error', code: error.code, message: error.message }));
    this.socket.end();
    // Stop reading: whatever else the peer sends is no longer our business.
    this.hold();
    // Not unref'd: a client whose only pending work is this close must still see it happen.
    const timer = setTimeout(() => this.close(error), 2000);
    this.socket.once('close', () => clearTimeout(timer));
  }

  #receive(chunk: Buffer): void {
    this.#guard(() => this.#decoder.push(chunk));
    this.#received?.(chunk.length);
  }

  #onEnd(): void {
    // The peer will send nothing more; anything still expected is lost.
    if (this.#ending)
      return; // our own end() is flushing; the close event follows
    else if (this.#decoder.bufferedBytes > 0) {
      this.close(new LpfError('LPF_ERR_CONNECTION_LOST', 'connection ended in the middle of a frame'));
    } else {
      this.close(new LpfError('LPF_ERR_CONNECTION_LOST', 'connection closed by peer'));
    }
  }

  /** The one catch where input meets the protocol: a malformed frame or a handler's throw ends the connection. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      const error = toLpfError(err);
      if (error.code === 'LPF_ERR_PROTOCOL') this.fail(error);
      else this.close(error);
    }
  }
}

/**
 * Stops (or restarts) reading from the kernel at once. Readable.pause() alone lets a socket read
 * once more (up to 64 KiB) before it stops, and keeps that until resumed: a client that sends a
 * small file in one burst (request, data, end) has it read while its request is handled, and a
 * thousand such clients held 64 MiB. This is how net.Socket stops and restarts reading itself
 * (its pause() for sockets with an `onread` buffer, Socket._read): the handle's `reading` flag
 * and readStop()/readStart(). Sockets without such a handle are left to pause() alone. It takes
 * a readable highWaterMark of 0 as well (see server.ts), or Readable reads ahead to fill it.
 */
function readNoMore(socket: Socket, stop: boolean): void {
  const handle = (socket as unknown as { _handle?: ReadingHandle | null })._handle;
  if (!handle || typeof handle.readStop !== 'function' || typeof handle.readStart !== 'function' || socket.destroyed) return;
  if (stop && handle.reading === true) {
    handle.reading = false;
    handle.readStop();
  } else if (!stop && handle.reading === false) {
    handle.reading = true;
    handle.readStart();
  }
}

interface ReadingHandle {
  reading?: boolean;
  readStop?: () => number;
  readStart?: () => number;
}
