/**
 * One client connection on the server: a small state machine over the
 * framed connection. States: hello → auth → ready ⇄ (busy | upload).
 * Input is held while an async command runs, so a pipelining client cannot
 * make the server run two commands of one connection at once. The one
 * overlap: a received upload is committed (flushed, renamed into place) in
 * the background while the next uploads arrive, so that a stream of small
 * files is not one disk flush after another. Answers still go out in order.
 */
import type { Socket } from 'node:net';
import { COMMAND_ERRORS, LpfError, toLpfError } from '../errors.js';
import {
  ContentHasher,
  LIST_PAGE_BYTES,
  LIST_PAGE_SIZE,
  MAX_DATA_PAYLOAD,
  PROTOCOL_VERSION,
  normalizeRemotePath,
  MAX_USER_NAME,
  normalizeUserName,
  paginateEntries,
  type Message,
  type MessageOf,
} from '../protocol/index.js';
import { Connection } from '../transport/connection.js';
import { noteReceived } from './reclaim.js';
import { sendRange } from '../transport/send-file.js';
import type { Accounts } from './accounts/accounts.js';
import type { LoginSessions } from './accounts/login-sessions.js';
import type { LoginThrottle } from './limits/login-throttle.js';
import type { ServerLimits } from './limits/limits.js';
import type { QuotaKeeper } from './limits/quota.js';
import type { RateWindow } from './limits/rate-window.js';
import type { Logger } from './logger.js';
import type { Storage, UploadSink } from './storage/storage.js';

export const SERVER_AGENT = 'lpf-server/0.1.0';

/**
 * Answers not yet taken by the kernel past which a connection is not read (Connection's maxUnsent):
 * a client that does not read its answers is not read either, so they cannot pile up in memory.
 * Many answers, and less than one DATA frame.
 */
export const MAX_UNSENT_ANSWERS = 64 * 1024;

/**
 * Uploads of one connection that may be committing at once. Their flushes to disk then
 * overlap; more would only queue in libuv's thread pool. See bench/profiles/2026-11-24-small-files.md.
 */
const MAX_COMMITTING = 16;

/**
 * Answers that may wait their turn behind one still owed (an upload being stored). Past it the
 * connection is not read until they are sent, so that cheap requests pipelined behind a slow store
 * (pings, say) cannot queue without bound. Uploads owe two answers each, so this leaves room for
 * MAX_COMMITTING of them and more.
 */
const MAX_OWED = 4 * MAX_COMMITTING;

/** What every session shares: the stores, and the state of the abuse limits. */
export interface SessionContext {
  accounts: Accounts;
  storage: Storage;
  log: Logger;
  allowRegistration: boolean;
  limits: ServerLimits;
  accountThrottle: LoginThrottle;
  addressThrottle: LoginThrottle;
  registrations: RateWindow;
  quota: QuotaKeeper;
  sessions: LoginSessions;
}

/** Requests a logged-in client may make. */
const COMMANDS: ReadonlySet<string> = new Set(['list', 'stat', 'delete', 'mkdir', 'rename', 'upload', 'download', 'logout']);

/** 'skip': an upload was refused; DATA and the end a pipelining client sent after it are dropped. */
type State = 'hello' | 'auth' | 'ready' | 'busy' | 'upload' | 'skip' | 'closed';

interface ActiveUpload {
  name: string;
  size: number;
  /** Bytes held so far, counting what an earlier attempt left. */
  received: number;
  hasher: ContentHasher;
  sink: UploadSink;
  /** Keyed uploads cut off midway are kept for a resume. */
  resumable: boolean;
  started: number;
}

export class Session {
  readonly #ctx: SessionContext;
  readonly #conn: Connection;
  readonly #log: Logger;
  #state: State = 'hello';
  #user: string | undefined;
  #upload: ActiveUpload | undefined;
  /** The session token this connection logged in with, if it did so with one (logout revokes it). */
  #token: string | undefined;
  readonly #loginTimer: NodeJS.Timeout;
  /** The client's address, the key of the per-address limits. */
  readonly #address: string;
  /** Answers owed to the client, in order: an upload committing in the background owes its 'stored'. */
  #answers: Promise<void> = Promise.resolve();
  /** How many answers wait in #answers. */
  #owed = 0;
  /** Input is held because MAX_OWED answers wait (one of the connection's holds). */
  #owingTooMany = false;
  /** The closing error has been sent: no answer may follow it. */
  #ending = false;
  /** The uploads committing in the background, oldest first; `answered` resolves once their answer is sent. */
  readonly #storing: { name: string; answered: Promise<void> }[] = [];

  constructor(socket: Socket, id: number, ctx: SessionContext) {
    this.#ctx = ctx;
    this.closed = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
    this.#address = socket.remoteAddress ?? 'unknown';
    this.#log = ctx.log.child({ conn: id, peer: `${socket.remoteAddress}:${socket.remotePort}` });
    this.#conn = new Connection(socket, {
      message: (m) => this.#onMessage(m),
      data: (chunk) => this.#onData(chunk),
      closed: (err) => this.#onClosed(err),
    }, { maxUnsent: MAX_UNSENT_ANSWERS, received: noteReceived });
    this.#log.info('connected');
    const { loginTimeoutMs, idleTimeoutMs } = ctx.limits;
    socket.setTimeout(idleTimeoutMs, () =>
      this.#fail(new LpfError('LPF_ERR_TIMEOUT', `no traffic for ${idleTimeoutMs / 1000} s; closing the connection`)),
    );
    this.#loginTimer = setTimeout(() => {
      if (!this.#user) this.#fail(new LpfError('LPF_ERR_TIMEOUT', `not logged in within ${loginTimeoutMs / 1000} s; closing the connection`));
    }, loginTimeoutMs);
  }

  /** Resolves once the connection is closed, for whatever reason. */
  readonly closed: Promise<void>;
  #markClosed!: () => void;
  #draining = false;

  /**
   * Graceful shutdown: an idle connection is told and closed now; one in the
   * middle of a command finishes it first (a transfer in flight completes).
   */
  drain(): void {
    this.#draining = true;
    // 'skip' waits for the next command too: its refusal was answered, and what it drops is no command.
    if (this.#state === 'hello' || this.#state === 'auth' || this.#state === 'ready' || this.#state === 'skip') this.#fail(shuttingDown());
  }

  /** The server's handshake deadline (from TCP accept) has passed: a connection that has not said hello is ended. */
  handshakeOverdue(timeoutMs: number): void {
    if (this.#state === 'hello') this.#fail(new LpfError('LPF_ERR_TIMEOUT', `no hello within ${timeoutMs / 1000} s of connecting; closing the connection`));
  }

  /**
   * The account this connection is logged in as was removed, or its password changed, by an admin: the
   * login no longer holds, so the connection ends now, whatever it is doing, with a clear reason.
   */
  accountChanged(user: string, removed: boolean): void {
    if (this.#user !== user || this.#ended()) return;
    const why = removed ? 'your account was removed' : 'the password of your account was changed';
    this.#log.info({ user, reason: why }, 'ending the connection');
    this.#fail(new LpfError('LPF_ERR_AUTH', `${why}; log in again`));
  }

  /** A connection logged in with a session token that is no longer live (ended by an admin) ends too. */
  checkSession(isLive: (token: string) => boolean): void {
    if (this.#token === undefined || this.#ended() || isLive(this.#token)) return;
    this.#log.info({ user: this.#user, reason: 'session ended' }, 'ending the connection');
    this.#fail(new LpfError('LPF_ERR_SESSION', 'your session was ended on the server; log in again'));
  }

  /** Closes the connection at once (the shutdown grace period is over). */
  destroy(): void {
    this.#conn.close(shuttingDown());
  }

  #onMessage(message: Message): void {
    switch (this.#state) {
      case 'hello':
        if (message.type !== 'hello') return this.#refuse(`expected hello, got ${message.type}`);
        return this.#hello(message);
      case 'auth':
        if (message.type === 'ping') return this.#pong(message);
        if (message.type === 'login' || message.type === 'register') return this.#run(message.type, () => this.#auth(message));
        if (message.type === 'session') return this.#run('session', () => this.#resumeSession(message));
        if (COMMANDS.has(message.type)) return this.#fail(new LpfError('LPF_ERR_NOT_LOGGED_IN', `log in before ${message.type}`));
        return this.#refuse(`unexpected ${message.type}`);
      case 'ready':
        return this.#command(message);
      case 'skip':
        this.#state = 'ready';
        return message.type === 'end' ? undefined : this.#command(message);
      case 'upload':
        if (message.type !== 'end') return this.#refuse(`expected data or end during an upload, got ${message.type}`);
        return this.#run('upload', () => this.#finishUpload(message));
      default:
        return this.#refuse(`unexpected ${message.type}`);
    }
  }

  #command(message: Message): void {
    switch (message.type) {
      case 'ping':
        return this.#pong(message);
      case 'list':
        return this.#runInOrder('list', () => this.#list(message));
      case 'stat':
        return this.#runInOrder('stat', () => this.#stat(message));
      case 'delete':
        return this.#runInOrder('delete', () => this.#delete(message));
      case 'mkdir':
        return this.#runInOrder('mkdir', () => this.#mkdir(message));
      case 'rename':
        return this.#runInOrder('rename', () => this.#rename(message));
      case 'upload':
        return this.#run('upload', () => this.#startUpload(message), 'skip');
      case 'download':
        return this.#runInOrder('download', () => this.#download(message));
      case 'logout':
        return this.#runInOrder('logout', () => this.#logout());
      default:
        return this.#refuse(`unexpected ${message.type}`);
    }
  }

  /** Runs a command once the uploads committing in the background are stored and answered. */
  #runInOrder(command: string, task: () => Promise<void>): void {
    // Not once the connection has closed meanwhile (a failed store, a shutdown): its answer could not be sent.
    this.#run(command, () => this.#answered().then(() => (this.#ended() ? undefined : task())));
  }

  /**
   * Runs an async command with input held. A failure is sent to the client as
   * an error; one of COMMAND_ERRORS (a missing file, a full quota) leaves the
   * connection ready for the next command, any other ends it.
   */
  #run(command: string, task: () => Promise<void>, afterRefusal: State = 'ready'): void {
    this.#state = 'busy';
    this.#conn.hold();
    task().then(
      () => this.#commandDone(),
      (err: unknown) => {
        if (!this.#refused(command, err)) return;
        if (this.#user && afterRefusal === 'skip') this.#state = 'skip';
        this.#commandDone();
      },
    );
  }

  /**
   * Logs a failed command and answers it: with the error, in order, when it is
   * one of COMMAND_ERRORS (true: the connection goes on), else by closing.
   * `answer` sends in order; an answer that is already in its turn is sent at once.
   */
  #refused(command: string, err: unknown, answer = (m: Message) => this.#answer(m), inTurn = false): boolean {
    const error = toLpfError(err);
    const internal = error.code === 'LPF_ERR_INTERNAL';
    this.#log[internal ? 'error' : 'info']({ user: this.#user, command, code: error.code, err: error.message }, 'command failed');
    if (this.#state !== 'closed' && COMMAND_ERRORS.has(error.code)) {
      answer({ type: 'error', code: error.code, message: error.message });
      return true;
    }
    // An unexpected failure's text may name server paths: the client gets a generic line, the log the detail.
    this.#fail(internal ? new LpfError('LPF_ERR_SERVER', `the server failed to ${command}; its log has the details`) : error, inTurn);
    return false;
  }

  #commandDone(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'busy') this.#state = this.#user ? 'ready' : 'auth';
    if (this.#draining && this.#state !== 'upload') return this.#fail(shuttingDown());
    this.#conn.release();
  }

  /** Sends an answer after every answer still owed (at once when none is). */
  #answer(message: Message): void {
    if (this.#owed === 0) return this.#send(message);
    this.#queueAnswer(() => this.#send(message));
  }

  /** Sends now, unless the connection is being ended: nothing may follow its closing error. */
  #send(message: Message): void {
    if (!this.#ending) this.#conn.send(message);
  }

  /** Queues an answer after those owed; resolves once it is sent. */
  #queueAnswer(answer: () => void | Promise<void>): Promise<void> {
    this.#owed++;
    if (this.#owed >= MAX_OWED && !this.#owingTooMany) {
      this.#owingTooMany = true;
      this.#conn.hold();
    }
    this.#answers = this.#answers.then(async () => {
      try {
        await answer();
      } finally {
        this.#owed--;
        if (this.#owingTooMany && this.#owed < MAX_OWED) {
          this.#owingTooMany = false;
          this.#conn.release();
        }
      }
    });
    return this.#answers;
  }

  /** Resolves once every owed answer is sent: commands other than uploads wait for it, so they see those files. */
  #answered(): Promise<void> {
    return this.#owed === 0 ? Promise.resolve() : this.#answers;
  }


  #hello(message: MessageOf<'hello'>): void {
    if (message.version !== PROTOCOL_VERSION) {
      return this.#fail(new LpfError('LPF_ERR_VERSION', `protocol version ${message.version} is not supported; this server speaks ${PROTOCOL_VERSION}`));
    }
    this.#conn.send({ type: 'welcome', version: PROTOCOL_VERSION, agent: SERVER_AGENT, maxData: MAX_DATA_PAYLOAD });
    this.#state = 'auth';
  }

  #pong(message: MessageOf<'ping'>): void {
    this.#answer({ type: 'pong', nonce: message.nonce });
  }

  async #auth(message: MessageOf<'login' | 'register'>): Promise<void> {
    const user = message.type === 'register' ? await this.#register(message) : await this.#login(message);
    this.#user = user;
    this.#log.info({ user, command: message.type }, message.type === 'register' ? 'registered' : 'logged in');
    if (!message.session) return void this.#conn.send({ type: 'authed', user });
    const { token, expires } = await this.#ctx.sessions.create(user);
    this.#token = token;
    this.#conn.send({ type: 'authed', user, token, expires });
  }

  /** Logs in with a session token. Tokens are 256 random bits: a wrong one still counts against the address. */
  async #resumeSession(message: MessageOf<'session'>): Promise<void> {
    const { addressThrottle, sessions } = this.#ctx;
    const addressKey = `addr:${this.#address}`;
    const wait = addressThrottle.waitFor([addressKey]);
    if (wait > 0) throw throttled(wait);
    const session = sessions.get(message.token);
    if (!session) {
      addressThrottle.failed([addressKey]);
      throw new LpfError('LPF_ERR_SESSION', 'the session has expired or was ended; log in again');
    }
    this.#user = session.user;
    this.#token = message.token;
    this.#log.info({ user: session.user, command: 'session' }, 'logged in with a session');
    this.#conn.send({ type: 'authed', user: session.user, expires: session.expires });
  }

  async #logout(): Promise<void> {
    if (this.#token) await this.#ctx.sessions.revoke(this.#token);
    this.#log.info({ user: this.#user, command: 'logout', session: this.#token !== undefined }, 'logged out');
    this.#token = undefined;
    this.#conn.send({ type: 'ok' });
  }

  async #register(message: MessageOf<'register'>): Promise<string> {
    const { accounts, allowRegistration, limits, registrations } = this.#ctx;
    if (!allowRegistration) throw new LpfError('LPF_ERR_AUTH', 'registration is turned off on this server');
    normalizeUserName(message.user);
    if ([...message.password].length < limits.minPasswordChars) {
      throw new LpfError('LPF_ERR_BAD_PASSWORD', `the password must be at least ${limits.minPasswordChars} characters long`);
    }
    if (!registrations.take(this.#address)) {
      throw new LpfError('LPF_ERR_THROTTLED', 'too many new accounts from your address; try again later');
    }
    return accounts.register(message.user, message.password);
  }

  /**
   * A login is refused unchecked while its account name or its address is in
   * a delay window; unknown names are treated exactly like real ones.
   */
  async #login(message: MessageOf<'login'>): Promise<string> {
    const { accounts, accountThrottle, addressThrottle } = this.#ctx;
    // Bounded key: a name sent by a client can be 64 KiB, a valid one is at most MAX_USER_NAME.
    const accountKey = `user:${message.user.slice(0, MAX_USER_NAME + 1).toLowerCase()}`;
    const addressKey = `addr:${this.#address}`;
    const wait = Math.max(accountThrottle.waitFor([accountKey]), addressThrottle.waitFor([addressKey]));
    if (wait > 0) throw throttled(wait);
    // Through the gates, so parallel attempts cannot all pass as free ones; the window is checked again inside.
    await accountThrottle.enter(accountKey);
    await addressThrottle.enter(addressKey);
    try {
      const inside = Math.max(accountThrottle.waitFor([accountKey]), addressThrottle.waitFor([addressKey]));
      if (inside > 0) throw throttled(inside);
      const user = await accounts.verify(message.user, message.password);
      accountThrottle.succeeded(accountKey);
      return user;
    } catch (err) {
      if (err instanceof LpfError && err.code === 'LPF_ERR_AUTH') {
        accountThrottle.failed([accountKey]);
        addressThrottle.failed([addressKey]);
      }
      throw err;
    } finally {
      addressThrottle.leave(addressKey);
      accountThrottle.leave(accountKey);
    }
  }

  async #list(message: MessageOf<'list'>): Promise<void> {
    const path = normalizeRemotePath(message.path ?? '', { allowTop: true });
    const options = { checksums: message.long === true, recursive: message.recursive === true };
    const entries = await this.#ctx.storage.list(this.#requireUser(), path, options);
    this.#log.info({ user: this.#user, command: 'list', path, recursive: options.recursive, count: entries.length }, 'list');
    const pages = paginateEntries(entries, LIST_PAGE_SIZE, LIST_PAGE_BYTES);
    for (const [i, page] of pages.entries()) {
      this.#conn.send({ type: 'list_page', entries: page, done: i === pages.length - 1 });
      await this.#conn.drained();
    }
  }

  async #stat(message: MessageOf<'stat'>): Promise<void> {
    const path = normalizeRemotePath(message.path);
    const entry = await this.#ctx.storage.stat(this.#requireUser(), path);
    this.#log.debug({ user: this.#user, command: 'stat', path }, 'stat');
    this.#conn.send({ type: 'entry', entry });
  }

  async #mkdir(message: MessageOf<'mkdir'>): Promise<void> {
    const path = normalizeRemotePath(message.path);
    await this.#ctx.storage.makeFolder(this.#requireUser(), path);
    this.#log.info({ user: this.#user, command: 'mkdir', path }, 'folder made');
    this.#conn.send({ type: 'ok' });
  }

  async #rename(message: MessageOf<'rename'>): Promise<void> {
    const from = normalizeRemotePath(message.from);
    const to = normalizeRemotePath(message.to);
    await this.#ctx.storage.rename(this.#requireUser(), from, to);
    this.#log.info({ user: this.#user, command: 'rename', from, to }, 'renamed');
    this.#conn.send({ type: 'ok' });
  }

  async #delete(message: MessageOf<'delete'>): Promise<void> {
    const name = normalizeRemotePath(message.name);
    const user = this.#requireUser();
    await this.#ctx.quota.freed(user, await this.#ctx.storage.delete(user, name));
    this.#log.info({ user: this.#user, command: 'delete', name }, 'deleted');
    this.#conn.send({ type: 'ok' });
  }

  async #startUpload(message: MessageOf<'upload'>): Promise<void> {
    const name = normalizeRemotePath(message.name);
    const user = this.#requireUser();
    // The same name committing in the background: this upload must replace it, not race it.
    if (this.#storing.some((s) => s.name === name)) await this.#answered();
    if (this.#ended()) return;
    const { limits, quota, storage } = this.#ctx;
    if (message.size > limits.maxFileSize) {
      throw new LpfError('LPF_ERR_TOO_LARGE', `the file is ${message.size} bytes; this server takes files up to ${limits.maxFileSize} bytes`);
    }
    await quota.reserve(user, message.size, { path: name, request: { size: message.size, key: message.key } });
    let sink: UploadSink;
    try {
      sink = await storage.createUpload(user, name, { size: message.size, key: message.key });
    } catch (err) {
      await quota.settle(user, message.size, undefined);
      throw err;
    }
    if (this.#ended()) {
      // The client went away while the files were made: nothing of this upload is wanted.
      await sink.abort();
      await quota.settle(user, message.size, undefined);
      return;
    }
    const hasher = new ContentHasher({ previous: sink.digests, onBlock: (digest) => sink.recordBlock(digest) });
    const upload: ActiveUpload = { name, size: message.size, received: sink.offset, hasher, sink, resumable: sink.resumable, started: Date.now() };
    this.#upload = upload;
    // A disk that fills up mid-transfer fails the upload now, not when the client has sent everything.
    // Once the upload is committing in the background, the commit reports the failure, in its turn.
    sink.onError((err) => {
      if (this.#upload !== upload) return;
      // Stop reading first: nothing the client sent after this may be taken for another command.
      this.#fail(toLpfError(err, 'LPF_ERR_SERVER'));
      void this.#abandonUpload();
    });
    this.#log.info({ user, command: 'upload', name, size: message.size, offset: sink.offset }, sink.offset > 0 ? 'upload resumed' : 'upload started');
    this.#state = 'upload';
    this.#answer({ type: 'ready', offset: sink.offset });
  }

  #onData(chunk: Buffer): void {
    if (this.#state === 'skip') return;
    const upload = this.#upload;
    if (this.#state !== 'upload' || !upload) return this.#refuse('file data outside an upload');
    upload.received += chunk.length;
    if (upload.received > upload.size) {
      const error = new LpfError('LPF_ERR_SIZE_MISMATCH', `upload is larger than the announced ${upload.size} bytes`);
      this.#fail(error);
      return void this.#abandonUpload();
    }
    upload.hasher.update(chunk);
    if (!upload.sink.write(chunk)) {
      this.#conn.hold();
      upload.sink.onDrain(() => this.#conn.release());
    }
  }

  async #finishUpload(message: MessageOf<'end'>): Promise<void> {
    const upload = this.#upload as ActiveUpload;
    if (upload.received !== upload.size) {
      await this.#abandonUpload();
      throw new LpfError('LPF_ERR_SIZE_MISMATCH', `received ${upload.received} of the announced ${upload.size} bytes`);
    }
    const sha256 = upload.hasher.digest();
    if (sha256 !== message.sha256) {
      // Bad data must not be resumed from: the next attempt starts over.
      await this.#abandonUpload();
      throw new LpfError('LPF_ERR_CHECKSUM', `checksum mismatch for ${JSON.stringify(upload.name)}: the data was corrupted in transit; nothing was stored`);
    }
    this.#upload = undefined;
    // At the limit, wait for the oldest store to be answered (not for every answer owed).
    if (this.#storing.length >= MAX_COMMITTING) await this.#storing[0]?.answered;
    if (this.#ended()) {
      // The connection ended while this upload waited its turn to be stored: it will never be answered.
      await upload.sink.abort();
      return this.#ctx.quota.settle(this.#requireUser(), upload.size, undefined);
    }
    this.#commitInBackground(upload, sha256);
  }

  /**
   * Stores a completely received upload while the connection goes on to the
   * next command; its answer ('stored', or the error) is sent in its turn.
   */
  #commitInBackground(upload: ActiveUpload, sha256: string): void {
    const user = this.#requireUser();
    const { name, size } = upload;
    const committing = upload.sink.commit({ sha256, digests: [...upload.hasher.digests] }).then(
      async (stored) => {
        await this.#ctx.quota.settle(user, size, stored);
        this.#log.info({ user, command: 'upload', name, size, ms: Date.now() - upload.started }, 'upload stored');
        return true;
      },
      async (err: unknown) => {
        await this.#ctx.quota.settle(user, size, undefined);
        return err;
      },
    );
    const entry = {
      name,
      answered: this.#queueAnswer(async () => {
        // The chain must never reject: every later answer hangs on it.
        const outcome = await committing.catch((err: unknown) => err);
        if (outcome === true) this.#send({ type: 'stored', name, size, sha256 });
        else this.#refused('upload', outcome, (m) => this.#send(m), true);
      }),
    };
    this.#storing.push(entry);
    void entry.answered.then(() => this.#storing.splice(this.#storing.indexOf(entry), 1));
  }

  /** Drops the upload in progress and its partial data (it failed: nothing of it may be resumed). */
  async #abandonUpload(): Promise<void> {
    const upload = this.#upload;
    if (!upload) return;
    this.#upload = undefined;
    await upload.sink.abort();
    await this.#ctx.quota.settle(this.#user as string, upload.size, undefined);
  }

  async #download(message: MessageOf<'download'>): Promise<void> {
    const name = normalizeRemotePath(message.name);
    const { offset, size, mtime } = message;
    const resume = offset !== undefined && size !== undefined && mtime !== undefined ? { offset, size, mtime } : undefined;
    const file = await this.#ctx.storage.read(this.#requireUser(), name, resume);
    const hasher = new ContentHasher({ previous: file.prefixDigests });
    const started = Date.now();
    this.#conn.send({ type: 'file', name, size: file.size, mtime: file.mtime, offset: file.offset });
    let sent: number;
    try {
      sent = await sendRange(this.#conn, file.reader, file.offset, file.size, {
        onChunk: (chunk) => {
          hasher.update(chunk);
          return true;
        },
      });
    } finally {
      await file.reader.close();
    }
    if (this.#conn.closed) throw new LpfError('LPF_ERR_CONNECTION_LOST', 'client went away');
    if (sent !== file.size) throw new LpfError('LPF_ERR_SERVER', `${JSON.stringify(name)} shrank while being sent`);
    const read = hasher.digest();
    // The checksum recorded at upload is what the client must end up with: a mismatch means the disk changed it.
    if (file.sha256 !== undefined && file.sha256 !== read) {
      this.#log.error({ user: this.#user, command: 'download', name, recorded: file.sha256, read }, 'stored file does not match its recorded checksum');
    }
    this.#conn.send({ type: 'end', sha256: file.sha256 ?? read });
    const log = { user: this.#user, command: 'download', name, size: file.size, offset: file.offset, ms: Date.now() - started };
    this.#log.info(log, 'download sent');
  }

  /** Whether the connection has ended or is ending (checked after an await: it may have, meanwhile). */
  #ended(): boolean {
    return this.#state === 'closed';
  }

  #requireUser(): string {
    if (!this.#user) throw new LpfError('LPF_ERR_NOT_LOGGED_IN', 'not logged in');
    return this.#user;
  }

  #refuse(why: string): void {
    this.#fail(new LpfError('LPF_ERR_PROTOCOL', why));
  }

  /**
   * Ends the connection with `error`, once every answer still owed is sent (an
   * upload stored in the background gets its 'stored' first). Nothing more is
   * read. `inTurn`: the failure is itself an owed answer in its turn (a store
   * that failed), so it goes now and the answers queued after it never do.
   */
  #fail(error: LpfError, inTurn = false): void {
    const first = this.#state !== 'closed';
    this.#state = 'closed';
    if (first) this.#conn.hold();
    if (inTurn || this.#owed === 0) return this.#endWith(error);
    if (first) void this.#answers.then(() => this.#endWith(error));
  }

  #endWith(error: LpfError): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#conn.fail(error);
  }

  #onClosed(error?: LpfError): void {
    clearTimeout(this.#loginTimer);
    const interrupted = this.#upload;
    this.#state = 'closed';
    if (interrupted) {
      this.#upload = undefined;
      const { sink, resumable, name, received, size } = interrupted;
      void (resumable ? sink.suspend() : sink.abort());
      void this.#ctx.quota.settle(this.#user as string, size, undefined);
      const what = resumable ? 'upload interrupted; partial data kept for a resume' : 'upload interrupted; partial data removed';
      this.#log.info({ user: this.#user, command: 'upload', name, received }, what);
    }
    this.#log.info({ user: this.#user, reason: error?.message ?? 'closed' }, 'disconnected');
    // Uploads received in full may still be committing: `closed` waits for them, and so does a graceful shutdown.
    void this.#answers.then(() => this.#markClosed());
  }
}

function shuttingDown(): LpfError {
  return new LpfError('LPF_ERR_SHUTDOWN', 'the server is shutting down; try again in a moment');
}

function throttled(waitMs: number): LpfError {
  return new LpfError('LPF_ERR_THROTTLED', `too many failed logins; try again in ${Math.ceil(waitMs / 1000)} s`);
}
