/** The one value that says where a client connection is, and its transitions (client-connection.ts moves it along). */
import assert from 'node:assert/strict';
import type { Login } from './commands/command.js';
import type { ReceivingUpload } from './commands/receiving-upload.js';

/**
 * Where the connection is. `draining`: a graceful shutdown came while a command ran; the
 * connection ends once it is done (an upload's once its data is in).
 */
export type State =
  | { kind: 'hello' }
  /** Said hello, not logged in. */
  | { kind: 'auth' }
  | { kind: 'ready'; login: Login }
  /** A command runs, input held. `upload`: the upload whose 'end' is being handled. */
  | { kind: 'busy'; login: Login | undefined; upload: ReceivingUpload | undefined; draining: boolean }
  /** An upload's DATA is arriving. */
  | { kind: 'upload'; login: Login; upload: ReceivingUpload; draining: boolean }
  /** An upload was refused; the DATA and 'end' a pipelining client sent after it are dropped. */
  | { kind: 'skip'; login: Login }
  /** Ended or ending: nothing more is read. `upload`: one cut off, to suspend or drop. */
  | { kind: 'closed'; login: Login | undefined; upload: ReceivingUpload | undefined };

/** Where a connection is between commands. */
export function idle(login: Login | undefined, skip: boolean): State {
  if (!login) return { kind: 'auth' };
  return skip ? { kind: 'skip', login } : { kind: 'ready', login };
}

/** The login a state carries, if any. */
export function loginOf(state: State): Login | undefined {
  return 'login' in state ? state.login : undefined;
}

/** `state` with the login just checked ('closed': the connection ended meanwhile; the log still names the user). */
export function loggedIn(state: State, login: Login): State {
  assert.ok(state.kind === 'busy' || state.kind === 'closed', `a login in state ${state.kind}`);
  return { ...state, login };
}

/** The state once an accepted upload's data starts arriving. */
export function receiving(state: State, upload: ReceivingUpload): State {
  assert.ok(state.kind === 'busy' && state.login, `an upload started in state ${state.kind}`);
  return { kind: 'upload', login: state.login, upload, draining: state.draining };
}

/**
 * The server works for the connection (a command runs, or an upload's data is held for its storage:
 * parts in flight, the S3 part budget spent): the peer's silence meanwhile is not idleness.
 */
export function serverWorks(state: State): boolean {
  return state.kind === 'busy' || (state.kind === 'upload' && state.upload.waitingForStorage);
}
