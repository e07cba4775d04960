/** The one value that says where a client connection is (client-connection.ts moves it along). */
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
