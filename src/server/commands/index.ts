/**
 * Every command the server answers, one handler per message type. The table's type makes the
 * compiler check it is complete: a request added to the protocol without a handler fails to build
 * (test/server/server-commands.test.ts shows it).
 *
 * How to add a command (say `copy`):
 * 1. Protocol: add the message to `Message` and `SPECS` in src/protocol/messages.ts (and to
 *    docs/PROTOCOL.md). It is a command unless it is listed as an answer in commands/command.ts.
 * 2. Handler: a file here (or a place in files.ts) with `defineCommand({ type: 'copy', … })`,
 *    declaring what the dispatcher must enforce: `access` (login needed?), `ordered` (true for
 *    anything that reads or changes stored files: it then runs after the uploads still being
 *    stored, and its answer follows theirs), `charges` (for anything that adds bytes: the quota is
 *    reserved before run() and released if it fails; run() settles the reservation). run() does
 *    the work and sends its answer; a throw becomes the error answer.
 * 3. Storage: the method that does it, in storage/storage.ts and its implementations.
 * 4. Add it to COMMANDS below.
 * 5. Tests that list every message or command and must learn the new one: test/helpers/messages.ts
 *    (a sample, the compiler asks for it), test/protocol/codec.test.ts (its type byte, and out of the
 *    unknown bytes), test/server/server-commands.test.ts (REQUESTS). The client method goes in
 *    src/client/client.ts (most are one `request`), the CLI command in src/cli/commands/registry.ts.
 */
import { login, logout, register, session } from './auth.js';
import type { Command, CommandType } from './command.js';
import { copy } from './copy.js';
import { download } from './download.js';
import { list, mkdir, ping, remove, rename, stat } from './files.js';
import { upload } from './upload.js';

/** The handler table: one entry per CommandType, checked by the compiler. */
export type CommandTable = { readonly [T in CommandType]: Command<T> };

export const COMMANDS: CommandTable = {
  ping,
  register,
  login,
  session,
  logout,
  list,
  stat,
  delete: remove,
  mkdir,
  rename,
  copy,
  upload,
  download,
};

/** Whether a message type names a command (anything else a client sends outside its place is a protocol violation). */
export function isCommand(type: string): type is CommandType {
  return Object.hasOwn(COMMANDS, type);
}
