/** The lpf server: accepts connections on one event loop and gives each a Session. */
import { mkdir } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { FileAccounts } from './accounts/file-accounts.js';
import type { Logger } from './logger.js';
import { Session, type SessionContext } from './session.js';
import { DiskStorage } from './storage/disk-storage.js';

export interface ServerOptions {
  /** Interface to listen on; undefined means every interface (IPv6 and IPv4). */
  host: string | undefined;
  port: number;
  /** The data folder: accounts file and users' storage. */
  root: string;
  allowRegistration: boolean;
  log: Logger;
}

export class LpfServer {
  readonly #options: ServerOptions;
  readonly #server: Server;
  readonly #sessions = new Set<Session>();
  #nextId = 1;
  #context: SessionContext | undefined;

  constructor(options: ServerOptions) {
    this.#options = options;
    this.#server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
  }

  /** Prepares the data folder and starts listening; resolves with the bound address. */
  async listen(): Promise<AddressInfo> {
    const { root, host, port, log } = this.#options;
    await mkdir(join(root, 'files'), { recursive: true });
    await mkdir(join(root, 'partial'), { recursive: true });
    const accounts = new FileAccounts(join(root, 'users.txt'));
    await accounts.load();
    this.#context = { accounts, storage: new DiskStorage(root), log, allowRegistration: this.#options.allowRegistration };
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return this.#server.address() as AddressInfo;
  }

  /** Stops accepting, drops every connection, and resolves when the listener is closed. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const session of this.#sessions) session.destroy();
    await closed;
  }

  #accept(socket: Socket): void {
    const context = this.#context;
    if (!context) {
      socket.destroy();
      return;
    }
    const session = new Session(socket, this.#nextId++, context);
    this.#sessions.add(session);
    socket.once('close', () => this.#sessions.delete(session));
  }
}
