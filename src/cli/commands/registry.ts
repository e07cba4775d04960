/**
 * Every command of `lpf`, one entry each. The command line is parsed
 * (invocation.ts), the help pages are written (help.ts) and commands are run
 * (lpf.ts) from this table alone.
 *
 * To add a command, say -copy: write its CommandSpec (operands, the options it
 * takes, help text with examples, run) in this folder, and add it below as
 * `copy: COPY`. That is all on the CLI side: -copy and --copy, the operand
 * count check, the refusal of options it does not take, `lpf -copy --help` and
 * its line in `lpf --help` follow from the entry. The order here is the order
 * of `lpf --help`. An entry without `run` (or any other part) does not compile.
 * If it takes a new option, add that option to OPTIONS in command.ts. Then
 * add its name to COMMANDS in test/unit/help.test.ts, which checks every help page.
 */
import type { CommandSpec } from './command.js';
import { LIST } from './list.js';
import { PING } from './ping.js';
import { COPY, DELETE, MKDIR, RENAME } from './remote-names.js';
import { LOGIN, LOGOUT, WHOAMI } from './session.js';
import { DOWNLOAD, UPLOAD } from './transfer.js';

export const COMMANDS = {
  ping: PING,
  upload: UPLOAD,
  download: DOWNLOAD,
  list: LIST,
  mkdir: MKDIR,
  rename: RENAME,
  copy: COPY,
  delete: DELETE,
  login: LOGIN,
  logout: LOGOUT,
  whoami: WHOAMI,
} as const satisfies Record<string, CommandSpec>;

/** A command as typed without its dash: "upload". */
export type CommandName = keyof typeof COMMANDS;

/** Every command, in the order of `lpf --help`. */
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

/** The command called `name` (without its dash), if there is one: never an Object.prototype member. */
export function findCommand(name: string): CommandSpec | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name as CommandName] : undefined;
}
