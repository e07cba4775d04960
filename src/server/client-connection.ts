/**
 * One client connection on the server: a state machine over the framed connection, whose one
 * state value (State, in connection-state.ts) tells the whole story. hello → auth → ready ⇄ (busy | upload | skip).
 * Input is held while a command runs, so a pipelining client cannot make the server run two
 * commands of one connection at once. The one overlap: a received upload is committed in the
 * background while the next commands arrive (see receiving-upload.ts); answers still go out in
 * order (answers.ts). The commands themselves are in commands/, declared with what this
 * dispatcher enforces for them (login, order, quota) and run by it.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { COMMAND_ERRORS, LpfError, toLpfError } from '../errors.js';
import { MAX_DATA_PAYLOAD, PROTOCOL_VERSION, type Message, type MessageOf } from '../protocol/index.js';
import { Connection } from '../transport/connection.js';
import { VERSION } from '../version.js';
import { AnswerQueue } from './answers.js';
import { runCommand, type Command, type CommandContext, type CommandType, type Login } from './commands/command.js';
import { COMMANDS, isCommand } from './commands/index.js';
import { idle, loggedIn, loginOf, receiving, serverWorks, type State } from './connection-state.js';
import type { Logger } from './logger.js';
import { noteReceived } from './reclaim.js';
import type { ServerContext } from './server-context.js';

export const SERVER_AGENT = `lpf-server/${VERSION}`;

/**
 * Answers not yet taken by the kernel past which a connection is not read (Connection's maxUnsent):
 * a client that does not read its answers is not read either, so they cannot pile up in memory.
 * Many answers, and less than one DATA frame.
 */
export const MAX_UNSENT_ANSWERS = 64 * 1024;

export class ClientConnection {
  readonly #server: ServerContext;
  readonly #conn: Connection;
  readonly #answers: AnswerQueue;
  readonly #log: Logger;
  /** The client's address, the key of the per-address limits. */
  readonly #address: string;
  readonly #loginTimer: NodeJS.Timeout;
  readonly #context: CommandContext;
  #state: State = { kind: 'hello' };
  /**
   * The login deadline has passed. It is the peer's time to log in, not the server's time to check a
   * password: a login or sign-up still being verified when it passes (scrypt queued behind others on a
   * busy server) is let finish, and the connection ends only if it did not log in.
   */
  #loginOverdue = false;

  /** `peer` is the client's address and port: the socket's, or those a trusted balancer's PROXY header gave. */
  constructor(socket: Socket, id: number, server: ServerContext, peer: { address: string; port: number }) {
    this.#server = server;
    this.closed = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
    this.#address = peer.address;
    this.#log = server.log.child({ conn: id, peer: `${peer.address}:${peer.port}` });
    const handlers = {
      message: (m: Message) => this.#onMessage(m),
      data: (c: Buffer) => this.#onData(c),
      closed: (e?: LpfError) => this.#onClosed(e),
    };
    this.#conn = new Connection(socket, handlers, { maxUnsent: MAX_UNSENT_ANSWERS, received: noteReceived });
    this.#answers = new AnswerQueue(this.#conn);
    this.#context = this.#commandContext();
    this.#log.info('connected');
    const { loginTimeoutMs, idleTimeoutMs } = server.limits;
    socket.setTimeout(idleTimeoutMs);
    socket.on('timeout', () => {
      // Not while the server works (unless it waits on the peer to read); the timer runs again (it fires once per silence).
      if (serverWorks(this.#state) && socket.writableLength === 0) return void socket.setTimeout(idleTimeoutMs);
      this.#fail(new LpfError('LPF_ERR_TIMEOUT', `no traffic for ${idleTimeoutMs / 1000} s; closing the connection`));
    });
    this.#loginTimer = setTimeout(() => {
      this.#loginOverdue = true;
      this.#endIfNotLoggedIn();
    }, loginTimeoutMs);
  }

  /** Resolves once the connection is closed, for whatever reason (and the uploads it received are stored). */
  readonly closed: Promise<void>;
  #markClosed!: () => void;

  /**
   * Graceful shutdown: an idle connection is told and closed now; one in the
   * middle of a command finishes it first (a transfer in flight completes).
   */
  drain(): void {
    const state = this.#state;
    if (state.kind === 'busy' || state.kind === 'upload') this.#state = { ...state, draining: true };
    // 'skip' is idle too: its refusal was answered, and what it drops is no command.
    else if (state.kind !== 'closed') this.#fail(shuttingDown());
  }

  /** Ends a connection past its login deadline that is not logged in and not in the middle of a command (true if it did). */
  #endIfNotLoggedIn(): boolean {
    if (!this.#loginOverdue || this.#login() || this.#state.kind === 'busy' || this.#ended()) return false;
    const { loginTimeoutMs } = this.#server.limits;
    this.#fail(new LpfError('LPF_ERR_TIMEOUT', `not logged in within ${loginTimeoutMs / 1000} s; closing the connection`));
    return true;
  }

  /** The server's handshake deadline (from TCP accept) has passed: a connection that has not said hello is ended. */
  handshakeOverdue(timeoutMs: number): void {
    if (this.#state.kind === 'hello')
      this.#fail(new LpfError('LPF_ERR_TIMEOUT', `no hello within ${timeoutMs / 1000} s of connecting; closing the connection`));
  }

  /**
   * The account this connection is logged in as was removed, or its password changed, by an admin: the
   * login no longer holds, so the connection ends now, whatever it is doing, with a clear reason.
   */
  accountChanged(user: string, removed: boolean): void {
    if (this.#login()?.user !== user || this.#ended()) return;
    const why = removed ? 'your account was removed' : 'the password of your account was changed';
    this.#log.info({ user, reason: why }, 'ending the connection');
    this.#fail(new LpfError('LPF_ERR_AUTH', `${why}; log in again`));
  }

  /** A connection logged in with a login session token that is no longer live (ended by an admin) ends too. */
  checkSession(isLive: (token: string) => boolean): void {
    const login = this.#login();
    if (login?.token === undefined || this.#ended() || isLive(login.token)) return;
    this.#log.info({ user: login.user, reason: 'session ended' }, 'ending the connection');
    this.#fail(new LpfError('LPF_ERR_SESSION', 'your session was ended on the server; log in again'));
  }

  /** Closes the connection at once (the shutdown grace period is over). */
  destroy(): void {
    this.#conn.close(shuttingDown());
  }

  #onMessage(message: Message): void {
    const state = this.#state;
    switch (state.kind) {
      case 'hello':
        return message.type === 'hello' ? this.#hello(message) : this.#violation(`expected hello, got ${message.type}`);
      case 'auth':
        return this.#dispatch(message, undefined);
      case 'ready':
        return this.#dispatch(message, state.login);
      case 'skip':
        this.#state = { kind: 'ready', login: state.login };
        return message.type === 'end' ? undefined : this.#dispatch(message, state.login);
      case 'upload':
        if (message.type !== 'end') return this.#violation(`expected data or end during an upload, got ${message.type}`);
        return this.#run('upload', () => state.upload.finish(message));
      default:
        return this.#violation(`unexpected ${message.type}`);
    }
  }

  /** Runs a command from the table, after the checks its declaration asks for. */
  #dispatch(message: Message, login: Login | undefined): void {
    const { type } = message;
    if (!isCommand(type)) return this.#violation(`unexpected ${type}`);
    const command = COMMANDS[type] as Command<CommandType>;
    if (command.access === 'anonymous' && login) return this.#violation(`unexpected ${type}`);
    if (command.access === 'user' && !login) return this.#fail(new LpfError('LPF_ERR_NOT_LOGGED_IN', `log in before ${type}`));
    this.#run(type, () => runCommand(command, this.#context, message as MessageOf<CommandType>), command.sendsData === true);
  }

  /**
   * Runs a command with input held. A failure is answered (#answerFailure); one that leaves the
   * connection in step lets the next command come (after a refused upload, once its data is skipped).
   */
  #run(command: string, task: () => Promise<void>, sendsData = false): void {
    const state = this.#state;
    assert.ok(state.kind === 'auth' || state.kind === 'ready' || state.kind === 'upload', `a command started in state ${state.kind}`);
    const upload = state.kind === 'upload' ? state.upload : undefined;
    this.#state = { kind: 'busy', login: this.#login(), upload, draining: state.kind === 'upload' && state.draining };
    this.#conn.hold();
    task().then(
      () => this.#commandDone(false),
      (err: unknown) => {
        if (this.#answerFailure(command, err, false)) this.#commandDone(sendsData);
      },
    );
  }

  /** `skip`: the command was refused, and the data the client sent after it must be skipped. */
  #commandDone(skip: boolean): void {
    const state = this.#state;
    if (state.kind === 'closed') return;
    const draining = (state.kind === 'busy' || state.kind === 'upload') && state.draining;
    if (state.kind === 'busy') this.#state = idle(state.login, skip);
    if (draining && this.#state.kind !== 'upload') return this.#fail(shuttingDown());
    if (this.#endIfNotLoggedIn()) return;
    this.#conn.release();
  }

  /**
   * Logs a failed command and answers it: with the error when it is one of COMMAND_ERRORS (true:
   * the connection goes on), else by closing. `inTurn`: an owed answer whose turn came, sent now.
   */
  #answerFailure(command: string, err: unknown, inTurn: boolean): boolean {
    const error = toLpfError(err);
    const internal = error.code === 'LPF_ERR_INTERNAL';
    this.#log[internal ? 'error' : 'info']({ user: this.#login()?.user, command, code: error.code, err: error.message }, 'command failed');
    if (!this.#ended() && COMMAND_ERRORS.has(error.code)) {
      const answer: Message = { type: 'error', code: error.code, message: error.message };
      if (inTurn) this.#answers.send(answer);
      else this.#answers.answer(answer);
      return true;
    }
    // An unexpected failure's text may name server paths: the client gets a generic line, the log the detail.
    this.#fail(internal ? new LpfError('LPF_ERR_SERVER', `the server failed to ${command}; its log has the details`) : error, inTurn);
    return false;
  }

  #hello(message: MessageOf<'hello'>): void {
    if (message.version !== PROTOCOL_VERSION) {
      return this.#fail(
        new LpfError('LPF_ERR_VERSION', `protocol version ${message.version} is not supported; this server speaks ${PROTOCOL_VERSION}`),
      );
    }
    this.#conn.send({ type: 'welcome', version: PROTOCOL_VERSION, agent: SERVER_AGENT, maxData: MAX_DATA_PAYLOAD });
    this.#state = { kind: 'auth' };
  }

  #onData(chunk: Buffer): void {
    const state = this.#state;
    if (state.kind === 'skip') return;
    if (state.kind !== 'upload') return this.#violation('file data outside an upload');
    state.upload.write(chunk);
  }

  /** What the handlers in commands/ may use of this connection. */
  #commandContext(): CommandContext {
    const currentLogin = () => this.#login(); // for the getters below, whose own `this` is the object
    return {
      server: this.#server,
      conn: this.#conn,
      answers: this.#answers,
      log: this.#log,
      address: this.#address,
      get login() {
        return currentLogin();
      },
      get user() {
        const login = currentLogin();
        if (!login) throw new LpfError('LPF_ERR_NOT_LOGGED_IN', 'not logged in');
        return login.user;
      },
      ended: () => this.#ended(),
      setLogin: (login) => {
        this.#state = loggedIn(this.#state, login);
      },
      receive: (upload) => {
        this.#state = receiving(this.#state, upload);
      },
      fail: (error) => this.#fail(error),
      answerFailure: (command, err, inTurn) => void this.#answerFailure(command, err, inTurn),
    };
  }

  #login(): Login | undefined {
    return loginOf(this.#state);
  }

  /** Whether the connection has ended or is ending (checked after an await: it may have, meanwhile). */
  #ended(): boolean {
    return this.#state.kind === 'closed';
  }

  /** Ends the connection for a protocol violation (a message out of place). */
  #violation(why: string): void {
    this.#fail(new LpfError('LPF_ERR_PROTOCOL', why));
  }

  /**
   * Ends the connection with `error`, once every answer still owed is sent (see AnswerQueue.close).
   * Nothing more is read.
   */
  #fail(error: LpfError, inTurn = false): void {
    const state = this.#state;
    if (state.kind !== 'closed') {
      this.#state = { kind: 'closed', login: this.#login(), upload: 'upload' in state ? state.upload : undefined };
      this.#conn.hold();
    }
    this.#answers.close(error, inTurn);
  }

  #onClosed(error?: LpfError): void {
    clearTimeout(this.#loginTimer);
    const state = this.#state;
    const login = this.#login();
    this.#state = { kind: 'closed', login, upload: undefined };
    if ('upload' in state) state.upload?.interrupt();
    this.#log.info({ user: login?.user, reason: error?.message ?? 'closed' }, 'disconnected');
    // Uploads received in full may still be committing: `closed` waits for them, and so does a graceful shutdown.
    void this.#answers.settled().then(() => this.#markClosed());
  }
}

function shuttingDown(): LpfError {
  return new LpfError('LPF_ERR_SHUTDOWN', 'the server is shutting down; try again in a moment');
}
