/**
 * The web client's server: the page's assets, sign-in and downloads over HTTP(S), and the page's
 * WebSocket, all on --web-port with the server's TLS identity. Every rule is the lpf server's own:
 * requests become lpf connections of `LpfServer.attach` (see local-exchange.ts and socket-bridge.ts).
 */
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { LpfError } from '../../errors.js';
import { ConnectionLimiter, type ConnectionLimits } from '../limits/connection-limiter.js';
import type { Logger } from '../logger.js';
import type { TlsIdentity } from '../tls/certificate.js';
import { peerOf, sessionToken, signIn, signOut, whoAmI, type WebAuth } from './auth-routes.js';
import { serveDownload } from './download.js';
import { csrfTokenOf, refuse, sameOrigin, securityHeaders, sendError } from './http.js';
import type { Attach } from './local-exchange.js';
import { bridgeSocket, MAX_SOCKET_MESSAGE } from './socket-bridge.js';
import { listenOn } from '../listen.js';

export interface WebOptions {
  host: string | undefined;
  port: number;
  tls: TlsIdentity | undefined;
  /** The folder of the built page (dist/web). */
  assets: string;
  attach: Attach;
  log: Logger;
  /** --max-connections and --max-per-address, which bound the raw HTTP connections too (a tally of their own). */
  limits: ConnectionLimits;
}

const ASSETS: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/app.css': ['app.css', 'text/css; charset=utf-8'],
};

export class WebServer {
  readonly #options: WebOptions;
  readonly #server: Server;
  readonly #sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_SOCKET_MESSAGE });
  readonly #auth: WebAuth;
  readonly #assets = new Map<string, Buffer>();
  readonly #raw: ConnectionLimiter;

  constructor(options: WebOptions) {
    this.#options = options;
    this.#raw = new ConnectionLimiter(options.limits);
    this.#auth = { attach: options.attach, tls: options.tls !== undefined };
    const handler = (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res);
    const timeouts = { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000, maxHeaderSize: 16 * 1024 };
    this.#server = options.tls
      ? createHttpsServer({ ...timeouts, cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, handler)
      : createHttpServer(timeouts, handler);
    this.#server.on('connection', (socket: Socket) => this.#count(socket));
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
  }

  /** Loads the page and starts listening; resolves with the bound address. */
  async listen(): Promise<AddressInfo> {
    for (const [file] of Object.values(ASSETS)) {
      this.#assets.set(file, await readFile(join(this.#options.assets, file)));
    }
    const { host, port } = this.#options;
    return listenOn(this.#server, host, port);
  }

  /** Stops accepting; open WebSockets are lpf connections, ended by LpfServer.shutdown. */
  close(): Promise<void> {
    this.#server.closeIdleConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** Cuts every HTTP connection still open (a keep-alive one busy at close() would hold it forever). */
  closeAll(): void {
    this.#server.closeAllConnections();
  }

  /**
   * Every TCP connection to the web port, before TLS and HTTP, counts against the connection caps in a
   * tally of its own: the lpf connections its requests become are counted by attach() as any client's, and
   * a browser's idle keep-alive connections must not take the slots its WebSocket needs. Past a cap the
   * socket is closed at once (nothing was read from it yet, so there is no channel to say why).
   */
  #count(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const refusal = this.#raw.open(address);
    socket.once('close', () => this.#raw.release(address));
    if (refusal) {
      this.#options.log.warn({ address, reason: refusal }, 'web connection refused');
      socket.destroy();
    }
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    securityHeaders(res, this.#auth.tls);
    this.#route(req, res).catch((err: unknown) => {
      if (!(err instanceof LpfError)) this.#options.log.error({ err }, 'web request failed');
      sendError(res, err);
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://web.invalid');
    const method = req.method ?? 'GET';
    const asset = ASSETS[url.pathname];
    if (asset && (method === 'GET' || method === 'HEAD')) {
      res.writeHead(200, { 'Content-Type': asset[1], 'Cache-Control': 'no-cache' });
      return void res.end(method === 'HEAD' ? undefined : this.#assets.get(asset[0]));
    }
    if (url.pathname === '/favicon.ico') return void res.writeHead(204).end();
    if (method === 'GET' && url.pathname === '/api/me') return whoAmI(this.#auth, req, res);
    if ((method === 'GET' || method === 'HEAD') && url.pathname === '/api/file') {
      return serveDownload(this.#auth, req, res, url.searchParams.get('path') ?? '');
    }
    if (method === 'POST' && url.pathname.startsWith('/api/')) return this.#post(req, res, url.pathname);
    throw new LpfError('LPF_ERR_NOT_FOUND', 'no such page');
  }

  /** State changes: only from this origin; with a session, only with its CSRF token too. */
  async #post(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (!sameOrigin(req, this.#auth.tls)) return refuse(res, 'the request does not come from this site');
    if (path === '/api/login') return signIn(this.#auth, req, res, 'login');
    if (path === '/api/register') return signIn(this.#auth, req, res, 'register');
    if (path === '/api/logout') {
      const token = sessionToken(req, this.#auth.tls);
      if (token === undefined || req.headers['x-csrf-token'] !== csrfTokenOf(token)) return refuse(res, 'missing or wrong CSRF token');
      return signOut(this.#auth, req, res);
    }
    throw new LpfError('LPF_ERR_NOT_FOUND', 'no such page');
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://web.invalid');
    const token = sessionToken(req, this.#auth.tls);
    const refusal =
      url.pathname !== '/api/socket'
        ? '404 Not Found'
        : !sameOrigin(req, this.#auth.tls)
          ? '403 Forbidden'
          : token === undefined
            ? '401 Unauthorized'
            : undefined;
    if (refusal !== undefined || token === undefined) {
      this.#options.log.info({ peer: req.socket.remoteAddress, origin: req.headers.origin, refusal }, 'web socket refused');
      socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.#sockets.handleUpgrade(req, socket, head, (ws) => bridgeSocket(ws, this.#options.attach, ...peerOf(req), token));
  }
}
