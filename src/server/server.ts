/** The lpf server: accepts connections on one event loop and gives each a ClientConnection. */
import { mkdir } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { LoginBackend } from './accounts/backend.js';
import { openFileBackend } from './accounts/file-backend.js';
import { HealthListener, storageProbe } from './health.js';
import type { Logger } from './logger.js';
import { ConnectionLimiter } from './limits/connection-limiter.js';
import type { ServerLimits } from './limits/limits.js';
import { encodeMessage } from '../protocol/index.js';
import { ClientConnection } from './client-connection.js';
import type { ServerContext } from './server-context.js';
import { DiskStorage } from './storage/disk-storage.js';
import type { Storage } from './storage/storage.js';
import type { TlsIdentity } from './tls/certificate.js';
import { keepGarbageSmall, noteConnections } from './reclaim.js';
import { sweepPeriodically } from './storage/sweeper.js';
import { warnIfReadableByOthers } from './secret-files.js';
import type { PeerStream } from './web/peer-stream.js';
import { readProxyHeader, type TrustedProxies } from './proxy/proxy-accept.js';
import type { ProxySource } from './proxy/proxy-header.js';
import { listenOn } from './listen.js';

/**
 * TLS 1.3 only; AES-128-GCM first, the fastest with AES-NI and as strong as needed. Node's own
 * handshakeTimeout is off: it only reports a `tlsClientError` and closes nothing, so the server's
 * handshake deadline (#count) is the one that holds.
 */
const TLS_OPTIONS = {
  minVersion: 'TLSv1.3',
  ciphersuites: 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
  handshakeTimeout: 0,
} as const;

/** A connection refused for a limit is destroyed this long after its LPF_ERR_BUSY answer, whatever it sends. */
const REFUSED_LINGER_MS = 2000;

/** One TCP connection, from accept to close. */
interface Accepted {
  /** The TCP socket (under TLS, the one the TLS socket wraps). */
  socket: Socket;
  /** Why it is over a limit, to tell it once the TLS handshake is done; undefined when it is welcome. */
  refusal: string | undefined;
  /** Its client connection, once the TLS handshake is done (at once with --plain). */
  client: ClientConnection | undefined;
  /** The client's address and port: the socket's, or those a trusted balancer's PROXY header names. */
  peer: ProxySource;
}

export interface ServerOptions {
  /** Interface to listen on; undefined means every interface (IPv6 and IPv4). */
  host: string | undefined;
  port: number;
  /** The data folder: accounts file and users' storage. */
  root: string;
  allowRegistration: boolean;
  /** The certificate and key to speak TLS with; undefined for plain TCP (--plain). */
  tls: TlsIdentity | undefined;
  limits: ServerLimits;
  log: Logger;
  /** Where files live; by default on disk under `root`. */
  storage?: Storage;
  /** Where accounts, sessions and throttles live; by default users.txt, sessions.txt and memory. The server closes it on shutdown. */
  logins?: LoginBackend;
  /** Where to answer `GET /health` (health.ts); no health listener when undefined. */
  health?: { host: string; port: number };
  /** Balancers whose connections begin with a PROXY protocol header naming the client (--proxy-protocol). */
  proxyProtocol?: TrustedProxies;
}

export class LpfServer {
  readonly #options: ServerOptions;
  /** The TCP listener; under TLS, it hands each connection to #tls once its PROXY header, if any, is read. */
  readonly #server: Server;
  readonly #tls: TlsServer | undefined;
  /** Connections from a trusted balancer whose PROXY header is still awaited. */
  readonly #awaitingHeader = new Set<Socket>();
  readonly #clients = new Set<ClientConnection>();
  #nextId = 1;
  #context: ServerContext | undefined;
  readonly #connectionLimits: ConnectionLimiter;
  /**
   * Every open TCP connection, client connections or not, by peer address and port (the TLS socket handed to
   * #accept is not the TCP socket counted in #count; the peer's address and port name both).
   */
  readonly #accepted = new Map<string, Accepted>();
  #sweeper: NodeJS.Timeout | undefined;
  #stopWatching: (() => void) | undefined;
  #logins: LoginBackend | undefined;
  #health: HealthListener | undefined;

  constructor(options: ServerOptions) {
    this.#options = options;
    keepGarbageSmall();
    this.#connectionLimits = new ConnectionLimiter(options.limits);
    const accept = (socket: Socket) => this.#accept(socket);
    if (options.tls) {
      const { cert, key } = options.tls;
      this.#tls = createTlsServer({ ...TLS_OPTIONS, cert, key });
      this.#tls.on('secureConnection', accept);
      // A failed handshake (a port scanner, a plain client) concerns only that connection.
      // Node leaves that socket open: it is closed here, so that it stops counting against the limits.
      this.#tls.on('tlsClientError', (err: Error, socket: TLSSocket) => {
        options.log.debug({ peer: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message }, 'TLS handshake failed');
        socket.destroy();
      });
    }
    // No read-ahead without TLS: a socket whose input is held (see Connection.hold) keeps nothing read for it.
    // Writes are unaffected (every write waits for 'drain' before the next chunk anyway).
    this.#server = createServer({ noDelay: true, ...(options.tls ? {} : { highWaterMark: 0 }) });
    this.#server.on('connection', (socket: Socket) => this.#arrive(socket));
    // A hard backstop well past the polite limit: the kernel-level accept is refused outright.
    this.#server.maxConnections = options.limits.maxConnections * 2;
  }

  /** A TCP connection: from a trusted balancer, its PROXY header first; then counted by its client's address and served. */
  #arrive(socket: Socket): void {
    const own = { address: socket.remoteAddress ?? 'unknown', port: socket.remotePort ?? 0 };
    if (!this.#options.proxyProtocol?.trusts(own.address)) return this.#admit(socket, own);
    this.#awaitingHeader.add(socket);
    readProxyHeader(socket, this.#options.limits.handshakeTimeoutMs).then(
      (client) => {
        this.#awaitingHeader.delete(socket);
        this.#admit(socket, client ?? own);
      },
      (err: Error) => {
        this.#awaitingHeader.delete(socket);
        const peer = `${own.address}:${own.port}`;
        this.#options.log.warn({ peer, err: err.message }, 'connection refused: a trusted balancer must begin with a PROXY header');
        socket.destroy();
      },
    );
  }

  /** Counted before any TLS handshake, so handshakes count against the limits too. */
  #admit(socket: Socket, peer: ProxySource): void {
    this.#count(socket, peer);
    if (this.#tls) this.#tls.emit('connection', socket);
    else this.#accept(socket);
  }

  #count(socket: Socket, peer: ProxySource): void {
    const { address } = peer;
    const key = peerKey(socket);
    const connection: Accepted = { socket, refusal: this.#connectionLimits.open(address), client: undefined, peer };
    this.#accepted.set(key, connection);
    // A plain timer, not an idle timeout: whatever trickles in (a ClientHello a byte at a time) does not push it back.
    const { handshakeTimeoutMs } = this.#options.limits;
    const deadline = setTimeout(() => this.#handshakeOverdue(connection), handshakeTimeoutMs);
    socket.once('close', () => {
      clearTimeout(deadline);
      this.#accepted.delete(key);
      this.#connectionLimits.release(address);
    });
  }

  /** The handshake deadline passed: a client connection that has said hello goes on, anything else is closed. */
  #handshakeOverdue({ socket, client }: Accepted): void {
    const { handshakeTimeoutMs } = this.#options.limits;
    if (client) client.handshakeOverdue(handshakeTimeoutMs);
    // Still in the TLS handshake: there is no channel to say why.
    else socket.destroy();
  }

  /** Prepares the data folder and starts listening; resolves with the bound address. */
  async listen(): Promise<AddressInfo> {
    const { root, host, port, log } = this.#options;
    // Private folders: other local users must not even list account or file names.
    for (const dir of [root, join(root, 'files'), join(root, 'partial'), join(root, 'meta')]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    }
    const { allowRegistration, limits } = this.#options;
    const logins = this.#options.logins ?? (await openFileBackend(root, limits, log));
    this.#logins = logins;
    await warnIfReadableByOthers(log, logins.name === 'files' ? join(root, 'users.txt') : undefined, this.#options.tls?.keyPath);
    const storage = this.#options.storage ?? new DiskStorage(root);
    this.#context = {
      accounts: logins.accounts,
      storage,
      log,
      allowRegistration,
      limits,
      accountThrottle: logins.accountThrottle,
      addressThrottle: logins.addressThrottle,
      registrations: logins.registrations,
      quota: logins.quota(storage, limits.quotaBytes),
      loginSessions: logins.loginSessions,
    };
    this.#sweeper = sweepPeriodically(storage, limits.partialTtlMs, log);
    this.#stopWatching = await logins.watch(() => this.#clients);
    if (this.#options.health) await this.#listenForHealth(this.#options.health, storage, logins);
    return listenOn(this.#server, host, port);
  }

  /**
   * Graceful shutdown: stops accepting at once, closes idle connections with a
   * reason, lets commands in flight finish for up to `graceMs`, then cuts the
   * rest. Resolves when every connection is gone.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.#health?.drain();
    clearInterval(this.#sweeper);
    this.#stopWatching?.();
    const listenerClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const clients = [...this.#clients];
    for (const client of clients) client.drain();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all(clients.map((c) => c.closed)), grace]);
    clearTimeout(timer);
    for (const client of this.#clients) client.destroy();
    for (const { socket } of this.#accepted.values()) socket.destroy(); // handshakes and refusals still pending
    for (const socket of this.#awaitingHeader) socket.destroy();
    await listenerClosed;
    await this.#health?.close();
    await this.#logins?.close();
  }

  /** Starts the health listener: storage and accounts each asked whether they answer. */
  async #listenForHealth(where: { host: string; port: number }, storage: Storage, logins: LoginBackend): Promise<void> {
    const { root, log } = this.#options;
    const accounts = { backend: logins.name, check: () => logins.check() };
    this.#health = new HealthListener({ storage: storageProbe(storage, root), accounts }, log);
    const address = await this.#health.listen(where.host, where.port);
    log.info({ host: address.address, port: address.port }, 'health check listening');
  }

  /** Stops at once, cutting every connection. */
  close(): Promise<void> {
    return this.shutdown(0);
  }

  /**
   * Serves the lpf protocol over a stream that is no TCP accept of this server (the web client's
   * WebSocket, an exchange of the web side inside this process): counted against the same connection
   * limits, and a ClientConnection like any other. Returns why it is refused, or undefined.
   */
  attach(peer: PeerStream): string | undefined {
    const context = this.#context;
    if (!context || !this.#server.listening) return 'the server is shutting down; try again in a moment';
    const address = peer.remoteAddress;
    const refusal = this.#connectionLimits.open(address);
    if (refusal) {
      this.#connectionLimits.release(address);
      return refusal;
    }
    peer.once('close', () => this.#connectionLimits.release(address));
    this.#serve(peer as unknown as Socket, context, { address, port: peer.remotePort });
    return undefined;
  }

  #serve(socket: Socket, context: ServerContext, peer: ProxySource): ClientConnection {
    const client = new ClientConnection(socket, this.#nextId++, context, peer);
    this.#clients.add(client);
    noteConnections(this.#clients.size);
    socket.once('close', () => {
      this.#clients.delete(client);
      noteConnections(this.#clients.size);
    });
    return client;
  }

  #accept(socket: Socket): void {
    const context = this.#context;
    if (!context) {
      socket.destroy();
      return;
    }
    const connection = this.#accepted.get(peerKey(socket));
    if (!connection) {
      socket.destroy(); // closed (its deadline passed) as its handshake ended
      return;
    }
    const { refusal, peer } = connection;
    if (refusal) {
      this.#options.log.warn({ peer: peer.address, reason: refusal }, 'connection refused');
      socket.end(encodeMessage({ type: 'error', code: 'LPF_ERR_BUSY', message: refusal }));
      // Read (and drop) whatever comes, so the client's close is seen and the slot freed at once;
      // a hard deadline (not an idle timeout, which traffic would keep resetting) ends it regardless.
      socket.resume();
      setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
      return;
    }
    connection.client = this.#serve(socket, context, peer);
  }
}

function peerKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
