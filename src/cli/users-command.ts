/**
 * `lpf-server users add|passwd|remove|list`: manages the accounts of a data folder, also while a
 * server runs on it (see src/server/admin/users.ts). Passwords come from a prompt on a terminal or
 * from one line of standard input (--password-stdin), never from the command line.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LpfError } from '../errors.js';
import { DEFAULT_LIMITS } from '../server/limits/limits.js';
import { describeProblem } from '../server/accounts/accounts-file.js';
import { checkNewPassword, checkOwner, fileAdmin, userName, type UsersAdmin } from '../server/admin/users.js';
import { DiskStorage } from '../server/storage/disk-storage.js';
import { parseCount } from './args.js';
import { chooseStorage } from './storage-setting.js';
import { accountsFailure, accountsUrl, SETTING_FLAGS, type ServerSettings } from './server-config.js';

/** Flags that only `users` takes, and which subcommand takes each. */
export const USERS_FLAGS = {
  'password-stdin': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  'keep-files': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const ALLOWED: Record<string, readonly string[]> = {
  add: ['password-stdin'],
  passwd: ['password-stdin'],
  remove: ['yes', 'keep-files'],
  list: ['json'],
};

/** The server's settings that matter to `users`; the others are refused as a likely mistake. */
const SHARED = new Set(['root', 'min-password', 'accounts', 'storage', 's3-endpoint', 's3-region', 's3-path-style']);

export const USERS_HELP = `Usage: lpf-server users COMMAND [NAME] [options]

Manages the accounts in ROOT/users.txt, also while a server runs on ROOT: the server
honours every change at the next login. Run it as the account the server runs as.
With --accounts (or LPF_ACCOUNTS), manages the accounts in that PostgreSQL database
instead: every server using it ends the connections of a removed account at once.

Commands:
  add NAME          create an account (the password is asked twice on a terminal)
  passwd NAME       set a new password; ends the account's sessions
  remove NAME       delete the account, its sessions and its stored files (with
                    --storage, its objects in the bucket: files, folder markers,
                    checksum records, partial uploads and their multipart uploads)
  list              print the user names, one a line; damaged or repeated lines of
                    users.txt are reported on standard error (those accounts cannot
                    log in, their names stay taken; passwd NAME repairs one)

Options:
  --root DIR        data folder (as for the server; also LPF_ROOT, the configuration file)
  --accounts URL    the accounts database (as for the server; also LPF_ACCOUNTS)
  --config FILE     configuration file (as for the server)
  --storage URL     remove: where the files are, s3://BUCKET[/PREFIX] (as for the
                    server, with --s3-endpoint, --s3-region, --s3-path-style; also
                    LPF_STORAGE, the configuration file; default: ROOT/files)
  --min-password N  shortest password accepted (as for the server; default: 8)
  --password-stdin  add, passwd: read the password from the first line of standard input
  -y, --yes         remove: do not ask for confirmation (needed without a terminal)
  --keep-files      remove: keep the account's files (a new account of that name would see them)
  --json            list: print a JSON array of {"name", "sessions"}
`;

type Flags = Readonly<Record<string, string | boolean | undefined>>;

export async function runUsers(args: string[], flags: Flags, settings: ServerSettings, root: string): Promise<void> {
  const [command, name, extra] = args;
  if (command === undefined)
    throw new LpfError('LPF_ERR_USAGE', 'lpf-server users needs a command: add, passwd, remove or list (see lpf-server users --help)');
  const allowed = ALLOWED[command];
  if (!allowed) throw new LpfError('LPF_ERR_USAGE', `unknown users command "${command}" (add, passwd, remove or list)`);
  for (const flag of Object.keys(flags)) {
    const own = Object.hasOwn(USERS_FLAGS, flag);
    if ((own && !allowed.includes(flag)) || (Object.hasOwn(SETTING_FLAGS, flag) && !SHARED.has(flag))) {
      throw new LpfError('LPF_ERR_USAGE', `--${flag} does not go with lpf-server users ${command}`);
    }
  }
  if (command !== 'list' && name === undefined) throw new LpfError('LPF_ERR_USAGE', `lpf-server users ${command} needs a user name`);
  if ((command === 'list' ? name : extra) !== undefined)
    throw new LpfError('LPF_ERR_USAGE', `unexpected argument "${command === 'list' ? name : extra}"`);
  const admin = await openAdmin(settings, root);
  try {
    if (command === 'list') return await list(admin, root, flags.json === true);
    await change(admin, command, name as string, flags, settings, root);
  } finally {
    await admin.close();
  }
}

async function change(
  admin: UsersAdmin,
  command: string,
  name: string,
  flags: Flags,
  settings: ServerSettings,
  root: string,
): Promise<void> {
  const user = userName(name);
  await checkOwner(root);
  const known = await admin.exists(user);
  if (command === 'add' && known) throw new LpfError('LPF_ERR_USER_EXISTS', `the user "${user}" already exists`);
  if (command !== 'add' && !known) throw new LpfError('LPF_ERR_NO_SUCH_USER', `there is no user "${user}"`);

  if (command === 'remove')
    return remove(admin, settings, root, user, { yes: flags.yes === true, keepFiles: flags['keep-files'] === true });
  const min = settings.text('min-password');
  const minPasswordChars = min ? parseCount(min.value, min.what) : DEFAULT_LIMITS.minPasswordChars;
  const password = await newPassword(flags['password-stdin'] === true, minPasswordChars);
  if (command === 'add') {
    await admin.add({ root, minPasswordChars }, user, password);
    say(`added user "${user}"`);
  } else {
    const { sessionsEnded } = await admin.setPassword({ root, minPasswordChars }, user, password);
    say(`changed the password of "${user}"; ${plural(sessionsEnded, 'session')} ended`);
  }
}

/** The accounts of the database named by --accounts, else those of ROOT/users.txt. */
async function openAdmin(settings: ServerSettings, root: string): Promise<UsersAdmin> {
  const setting = accountsUrl(settings);
  if (!setting) return fileAdmin(root);
  const { openPgAdmin } = await import('../server/admin/pg-users.js');
  try {
    return await openPgAdmin(setting.value);
  } catch (err) {
    throw accountsFailure(setting, err);
  }
}

async function list(admin: UsersAdmin, root: string, json: boolean): Promise<void> {
  const { users, problems } = await admin.list();
  if (
    admin.kind === 'files' &&
    !(await stat(join(root, 'users.txt')).then(
      () => true,
      () => false,
    ))
  )
    warn(`there is no accounts file in ${root} (is --root right?)`);
  for (const problem of problems) warn(describeProblem(problem));
  if (json) say(JSON.stringify(users));
  else for (const u of users) say(u.name);
}

async function remove(
  admin: UsersAdmin,
  settings: ServerSettings,
  root: string,
  user: string,
  { yes, keepFiles }: { yes: boolean; keepFiles: boolean },
): Promise<void> {
  if (!yes) {
    if (!process.stdin.isTTY)
      throw new LpfError('LPF_ERR_USAGE', `lpf-server users remove asks for confirmation on a terminal; without one, add --yes`);
    const { confirm } = await import('@inquirer/prompts');
    const what = keepFiles ? 'its sessions (keeping its files)' : 'its sessions and all its files';
    if (!(await confirm({ message: `Remove the user "${user}", ${what}?`, default: false }, { output: process.stderr }))) {
      throw cancelled();
    }
  }
  // Chosen (and an S3 bucket checked) before the account goes: a wrong setting changes nothing.
  const files = keepFiles ? undefined : ((await chooseStorage(settings)).storage ?? new DiskStorage(root));
  const result = await admin.remove(user, files);
  const removed = result.removed;
  const what = !removed ? 'files kept' : removed.count === 0 ? 'no files' : `${plural(removed.count, removed.unit)} deleted`;
  say(`removed user "${user}"; ${plural(result.sessionsEnded, 'session')} ended; ${what}`);
  const where = settings.text('storage')?.value ?? root;
  if (keepFiles) warn(`the files of "${user}" are kept in ${where}: a new account named "${user}" would see them`);
}

/** A new password from standard input, or asked twice on the terminal. */
async function newPassword(fromStdin: boolean, minChars: number): Promise<string> {
  if (fromStdin) {
    const password = await firstLineOfStdin();
    checkNewPassword(password, minChars);
    return password;
  }
  if (!process.stdin.isTTY) {
    throw new LpfError('LPF_ERR_NO_CREDENTIALS', 'no terminal to ask for the password: give it on standard input with --password-stdin');
  }
  const { password } = await import('@inquirer/prompts');
  const context = { output: process.stderr };
  const validate = (v: string) => {
    try {
      checkNewPassword(v, minChars);
      return true;
    } catch (err) {
      return (err as Error).message;
    }
  };
  for (let attempt = 1; ; attempt++) {
    const first = await password({ message: 'New password:', mask: true, validate }, context);
    const again = await password({ message: 'New password again:', mask: true }, context);
    if (again === first) return first;
    if (attempt === 3) throw new LpfError('LPF_ERR_BAD_PASSWORD', 'the passwords did not match');
    process.stderr.write('The passwords did not match; please try again.\n');
  }
}

async function firstLineOfStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    if (chunk.includes(0x0a)) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') throw new LpfError('LPF_ERR_NO_CREDENTIALS', '--password-stdin: standard input is empty');
  return (text.split('\n')[0] as string).replace(/\r$/, '');
}

/** Declining at the confirmation is handled like Ctrl-C at a prompt. */
function cancelled(): Error {
  return Object.assign(new Error('cancelled'), { name: 'ExitPromptError' });
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

function warn(text: string): void {
  process.stderr.write(`lpf-server: warning: ${text}\n`);
}
