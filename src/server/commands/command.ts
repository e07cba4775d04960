/**
 * How a command is declared, and the rules that go with each declaration. A handler says what it
 * needs (a login, to run in order, room in the quota); runCommand enforces it, and the connection
 * (client-connection.ts) turns a handler's throw into an error answer. Handlers only do their work.
 */
import assert from 'node:assert/strict';
import type { LpfError } from '../../errors.js';
import type { MessageOf, MessageType } from '../../protocol/index.js';
import type { Connection } from '../../transport/connection.js';
import type { AnswerQueue } from '../answers.js';
import type { Reservation } from '../limits/quota.js';
import type { Logger } from '../logger.js';
import type { ServerContext } from '../server-context.js';
import type { UploadRequest } from '../storage/storage.js';
import type { ReceivingUpload } from './receiving-upload.js';

/** Messages only the server sends. Every other message but the handshake's and an upload's 'end' is a command. */
type AnswerType = 'welcome' | 'pong' | 'error' | 'ok' | 'authed' | 'list_page' | 'entry' | 'ready' | 'stored' | 'file';

/** The requests a client makes, each with one handler in the table (commands/index.ts). */
export type CommandType = Exclude<MessageType, AnswerType | 'hello' | 'end'>;

/** Who the connection is logged in as, and with which login session token, if any (logout revokes it). */
export interface Login {
  readonly user: string;
  readonly token: string | undefined;
}

/** What a handler may use of its connection. */
export interface CommandContext {
  readonly server: ServerContext;
  readonly conn: Connection;
  /** Answers go through here, in order (see answers.ts); conn.send only for what follows one in its turn. */
  readonly answers: AnswerQueue;
  readonly log: Logger;
  /** The client's address, the key of the per-address limits. */
  readonly address: string;
  /** The login, when there is one. */
  readonly login: Login | undefined;
  /** The logged-in user (commands declared `access: 'user'` always have one). */
  readonly user: string;
  /** Whether the connection has ended or is ending (check after an await: it may have, meanwhile). */
  ended(): boolean;
  /** The client logged in (or logged out of its login session: token undefined). */
  setLogin(login: Login): void;
  /** The upload's data follows: the connection feeds it to `upload` until its 'end'. */
  receive(upload: ReceivingUpload): void;
  /** Ends the connection with `error` (after the answers owed). */
  fail(error: LpfError): void;
  /**
   * Answers a failed `command`: an error answer when the failure leaves the connection in step,
   * else it ends the connection. `inTurn`: this answer's turn has come (an owed one), send it now.
   */
  answerFailure(command: string, err: unknown, inTurn: boolean): void;
}

/** Room a command needs in the user's quota, and for an upload the partial it may resume (not counted twice). */
export interface QuotaCharge {
  size: number;
  upload?: { path: string; request: UploadRequest };
}

export interface Command<T extends CommandType> {
  readonly type: T;
  /** 'anonymous': only before a login (login, register); 'user': only after one; 'any': both. */
  readonly access: 'anonymous' | 'user' | 'any';
  /**
   * Runs only once the uploads committing in the background are stored and answered, so that it
   * sees their files and its answer follows theirs. Anything that reads or changes stored files is.
   */
  readonly ordered: boolean;
  /**
   * The client sends DATA and an 'end' right after the request, without waiting for the answer:
   * when the command is refused, those are skipped.
   */
  readonly sendsData?: boolean;
  /**
   * For a command that adds bytes to the user's storage: how many. They are reserved before run()
   * (LPF_ERR_QUOTA when they do not fit) and released if it fails; run() must settle the
   * reservation, or keep() it when the command goes on past it.
   */
  readonly charges?: (ctx: CommandContext, message: MessageOf<T>) => Promise<QuotaCharge>;
  /** Does the work and sends the answer. A throw is answered by the dispatcher (see CommandContext.answerFailure). */
  readonly run: (ctx: CommandContext, message: MessageOf<T>, reservation: Reservation | undefined) => Promise<void> | void;
}

/** Declares a command (an identity function: it gives the declaration its type). */
export function defineCommand<T extends CommandType>(command: Command<T>): Command<T> {
  return command;
}

/** Runs a command as declared: in order if it must be, with its quota reserved if it charges any. */
export async function runCommand<T extends CommandType>(command: Command<T>, ctx: CommandContext, message: MessageOf<T>): Promise<void> {
  if (command.ordered) await ctx.answers.answered();
  // Not once the connection has closed meanwhile (a failed store, a shutdown): its answer could not be sent.
  if (ctx.ended()) return;
  if (!command.charges) return command.run(ctx, message, undefined);
  const charge = await command.charges(ctx, message);
  if (ctx.ended()) return;
  const reservation = await ctx.server.quota.reserve(ctx.user, charge.size, charge.upload);
  try {
    await command.run(ctx, message, reservation);
  } catch (err) {
    await reservation.release();
    throw err;
  }
  assert.ok(reservation.accountedFor, `the ${command.type} command neither settled nor kept its quota reservation`);
}
