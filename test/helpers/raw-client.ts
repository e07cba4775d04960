/** A bare protocol peer for tests that must send what the real client never would. */
import { createHash } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { FrameDecoder, PROTOCOL_VERSION, encodeMessage, type Message } from '../../src/protocol/index.js';

export class RawPeer {
  readonly socket: Socket;
  readonly messages: Message[] = [];
  data = 0;
  /** SHA-256 of every DATA byte received, in order. */
  readonly dataHash = createHash('sha256');
  closed: Promise<void>;
  #wake: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    const decoder = new FrameDecoder({
      message: (m) => {
        this.messages.push(m);
        this.#wake?.();
      },
      data: (c) => {
        this.data += c.length;
        this.dataHash.update(c);
      },
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#wake?.();
        resolve();
      }),
    );
  }

  /**
   * Connects over TLS (the servers under test use the shared test certificate), or over plain TCP
   * with `plain` (an in-process server started without TLS).
   */
  static connect(port: number, { plain = false } = {}): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const connected = () => resolve(new RawPeer(socket));
      const socket = plain
        ? tcpConnect(port, '127.0.0.1', connected)
        : tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, connected);
      socket.once('error', reject);
    });
  }

  /** A peer on a socket the test has connected itself (from another local address, say). */
  static over(socket: Socket): RawPeer {
    return new RawPeer(socket);
  }

  /** Connects, says hello and logs in (registering first when asked). */
  static async session(port: number, user: string, password: string, register: boolean, { plain = false } = {}): Promise<RawPeer> {
    const peer = await RawPeer.connect(port, { plain });
    peer.send({ type: 'hello', version: PROTOCOL_VERSION, agent: 'raw-test' });
    await peer.next();
    peer.send({ type: register ? 'register' : 'login', user, password });
    const authed = await peer.next();
    if (authed.type !== 'authed') throw new Error(`login failed: ${JSON.stringify(authed)}`);
    return peer;
  }

  send(message: Message): void {
    this.socket.write(encodeMessage(message));
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next message, or rejects if the connection closes first (or after `timeoutMs`: the bound only stops a broken test). */
  async next(timeoutMs = 20_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length === 0) {
      if (this.socket.destroyed || this.socket.readableEnded) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error(`no message within ${timeoutMs / 1000} s`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    return this.messages.shift() as Message;
  }

  close(): void {
    this.socket.destroy();
  }
}
