/**
 * A byte stream that a ClientConnection can serve as it serves a TCP socket, for carriers that are
 * not a socket of this server: a WebSocket from the page, or an exchange inside this process (the
 * web side's login, logout and download requests). It has what Connection and ClientConnection use
 * of a socket (remote address, an idle timeout, setNoDelay), and carries backpressure both ways:
 * `deliver` returns false when the connection holds its input, and `resumeSource` is called when it
 * reads again; a write completes only when the carrier says it took the bytes.
 */
import { Duplex } from 'node:stream';

export interface PeerCarrier {
  remoteAddress: string;
  remotePort: number;
  /** Takes bytes the server sends; calls `done` once they are taken (that is the backpressure). */
  send(chunk: Buffer, done: (error?: Error | null) => void): void;
  /** The server stopped being held: the carrier may deliver again. */
  resumeSource(): void;
  /** The server closed the stream (or it failed): the carrier ends. */
  close(): void;
}

export class PeerStream extends Duplex {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly #carrier: PeerCarrier;
  #idleMs = 0;
  #onIdle: (() => void) | undefined;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(carrier: PeerCarrier) {
    super({ allowHalfOpen: false });
    this.#carrier = carrier;
    this.remoteAddress = carrier.remoteAddress;
    this.remotePort = carrier.remotePort;
  }

  /** Bytes from the peer; false when the server holds its input (the carrier should pause until resumeSource). */
  deliver(chunk: Buffer): boolean {
    if (this.destroyed) return false;
    this.#touch();
    return this.push(chunk);
  }

  /** The peer is gone: no more input. */
  finish(): void {
    if (!this.destroyed) this.push(null);
  }

  /** As net.Socket's: `callback` runs after `ms` without traffic either way. */
  setTimeout(ms: number, callback?: () => void): this {
    this.#idleMs = ms;
    this.#onIdle = callback;
    this.#touch();
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  override _read(): void {
    this.#carrier.resumeSource();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#touch();
    this.#carrier.send(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#carrier.close();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#idleTimer);
    this.#carrier.close();
    callback(error);
  }

  #touch(): void {
    clearTimeout(this.#idleTimer);
    if (this.#idleMs > 0 && this.#onIdle && !this.destroyed) {
      const onIdle = this.#onIdle;
      this.#idleTimer = setTimeout(onIdle, this.#idleMs);
      this.#idleTimer.unref();
    }
  }
}
