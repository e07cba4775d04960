/**
 * The health check: an HTTP listener (--health-port, on loopback unless --health-host says otherwise)
 * answering `GET /health` with 200 and `{"ok":true,"storage":{…},"accounts":{…}}` when the storage and the
 * accounts backend both answer, and 503 otherwise, or while the server drains for a shutdown (so a load
 * balancer stops sending it new clients). Why a check failed goes to the log, not to the answer.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';
import type { Storage } from './storage/storage.js';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { listenOn } from './listen.js';

/** How long a backend may take to answer before it counts as failing. */
const CHECK_TIMEOUT_MS = 3_000;

/** One backend the health check asks: its name for the answer, and a probe that rejects when it does not answer. */
/**
 * The storage's probe: a storage with a check of its own (object storage) is asked; the local disk must be
 * there and writable.
 */
export function storageProbe(storage: Storage, root: string): HealthProbe {
  const custom = storage as Partial<HealthProbe> & { name?: unknown };
  if (typeof custom.check !== 'function') {
    return { backend: 'disk', check: () => access(join(root, 'files'), constants.R_OK | constants.W_OK) };
  }
  const check = custom.check;
  return { backend: typeof custom.name === 'string' ? custom.name : 'custom', check: () => check.call(storage) };
}

export interface HealthProbe {
  backend: string;
  check(): Promise<void>;
}

export interface HealthReport {
  ok: boolean;
  draining?: true;
  storage: { backend: string; ok: boolean };
  accounts: { backend: string; ok: boolean };
}

export class HealthListener {
  readonly #server: Server;
  readonly #probes: { storage: HealthProbe; accounts: HealthProbe };
  readonly #log: Logger;
  #draining = false;

  constructor(probes: { storage: HealthProbe; accounts: HealthProbe }, log: Logger) {
    this.#probes = probes;
    this.#log = log;
    this.#server = createServer((req, res) => void this.#answer(req, res));
    this.#server.requestTimeout = 10_000;
    this.#server.headersTimeout = 5_000;
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    return listenOn(this.#server, host, port);
  }

  /** The server is shutting down: report it unhealthy from now on. */
  drain(): void {
    this.#draining = true;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** Asks both backends at once. */
  async report(): Promise<HealthReport> {
    const [storage, accounts] = await Promise.all([this.#ask('storage'), this.#ask('accounts')]);
    const report: HealthReport = { ok: storage.ok && accounts.ok && !this.#draining, storage, accounts };
    if (this.#draining) report.draining = true;
    return report;
  }

  async #ask(which: 'storage' | 'accounts'): Promise<{ backend: string; ok: boolean }> {
    const probe = this.#probes[which];
    const { backend } = probe;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
    });
    try {
      await Promise.race([probe.check(), late]);
      return { backend, ok: true };
    } catch (err) {
      this.#log.warn({ health: which, backend, err: (err as Error).message }, 'health check failed');
      return { backend, ok: false };
    } finally {
      clearTimeout(timer);
    }
  }

  async #answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/health') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try GET /health\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    const report = await this.report();
    const body = `${JSON.stringify(report)}\n`;
    res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
