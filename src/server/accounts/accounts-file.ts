/**
 * The accounts file, ROOT/users.txt, one account a line:
 *   <user>:scrypt:N=32768,r=8,p=1:<salt base64>:<hash base64>
 * Lines starting with "#" are comments; a damaged or repeated account line is reported, never skipped
 * silently (see readAccounts). Every change is a read-modify-write under the file's lock
 * (the server's sign-ups and `lpf-server users` may run at once), edits only the lines it concerns
 * (comments and lines it cannot parse stay as they are), and rewrites the file with replaceFile
 * (temporary file, fsync, rename), so a crash never leaves it half-written.
 */
import { readFile } from 'node:fs/promises';
import { normalizeUserName } from '../../protocol/index.js';
import { replaceFile } from '../../util/durable-file.js';
import { formatHash, parseHash, type PasswordHash } from './password-hash.js';
import { withFileLock } from './shared-file.js';

export const ACCOUNTS_HEADER = '# lpf accounts: user:scrypt:N=..,r=..,p=..:salt:hash (base64). Edit with care.';

/** The file's text, or undefined when there is no file yet. */
export async function readAccountsText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A line that names an account but cannot be used as it is: its account cannot log in until an admin fixes it. */
export interface AccountProblem {
  /** Line number, from 1. */
  line: number;
  /** The name at the start of the line, when there is one. */
  user: string | undefined;
  /** 'damaged': not a valid account line; 'duplicate': another line has the same name (`first` is the earlier one). */
  kind: 'damaged' | 'duplicate';
  first?: number;
}

/** What the accounts file says, read line by line. */
export interface AccountsText {
  /** The accounts that can log in: those with exactly one line, a valid one. */
  users: Map<string, PasswordHash>;
  /**
   * Every name found at the start of a line, readable or not: none may be registered again, or a newcomer
   * would take over the files of an account whose line was damaged.
   */
  taken: Set<string>;
  problems: AccountProblem[];
}

/**
 * Reads the accounts file. An account whose name has a damaged line, or more than one line, is not used
 * (which of its lines holds the owner's password cannot be known): each such line is a problem to report.
 */
export function readAccounts(text: string): AccountsText {
  const users = new Map<string, PasswordHash>();
  const firstLine = new Map<string, number>();
  const unusable = new Set<string>();
  const problems: AccountProblem[] = [];
  text.split('\n').forEach((line, i) => {
    const number = i + 1;
    if (line === '' || line.startsWith('#')) return;
    const user = lineUser(line);
    const account = parseAccountLine(line);
    if (user !== undefined && firstLine.has(user)) {
      problems.push({ line: number, user, kind: 'duplicate', first: firstLine.get(user) });
      unusable.add(user);
      return;
    }
    if (user !== undefined) firstLine.set(user, number);
    if (account) users.set(account.name, account.hash);
    else {
      problems.push({ line: number, user, kind: 'damaged' });
      if (user !== undefined) unusable.add(user);
    }
  });
  for (const user of unusable) users.delete(user);
  return { users, taken: new Set(firstLine.keys()), problems };
}

/** The accounts that can log in (see readAccounts). */
export function parseAccounts(text: string): Map<string, PasswordHash> {
  return readAccounts(text).users;
}

/** One line, in words, for the server's log and `lpf-server users list`. */
export function describeProblem(problem: AccountProblem): string {
  const who = problem.user === undefined ? 'no user name can be read from it' : `user "${problem.user}"`;
  const what =
    problem.kind === 'damaged' ? `is not a valid account line (${who})` : `repeats the user "${problem.user}" of line ${problem.first}`;
  const fix =
    problem.user === undefined ? 'fix or remove the line' : `\`lpf-server users passwd ${problem.user}\` rewrites it as one valid line`;
  const account = problem.user === undefined ? '' : '; that account cannot log in and its name stays taken';
  return `line ${problem.line} of users.txt ${what}${account}; ${fix}`;
}

/** One valid account line, or undefined for a comment, a blank or a malformed line (a name not in its stored form included). */
export function parseAccountLine(line: string): { name: string; hash: PasswordHash } | undefined {
  const name = lineUser(line);
  if (name === undefined || !isStoredName(line.slice(0, line.indexOf(':')))) return undefined;
  const hash = parseHash(line.slice(line.indexOf(':') + 1));
  return hash ? { name, hash } : undefined;
}

/**
 * The user a line is about, even a malformed one (so that removing an account removes all its lines, and
 * its name stays taken), in the stored (lower case) form.
 */
export function lineUser(line: string): string | undefined {
  if (line === '' || line.startsWith('#')) return undefined;
  const colon = line.indexOf(':');
  return colon > 0 ? line.slice(0, colon).toLowerCase() : undefined;
}

/** Names are stored as normalizeUserName makes them: a name written otherwise (by hand) cannot log in. */
function isStoredName(name: string): boolean {
  try {
    return normalizeUserName(name) === name;
  } catch {
    return false;
  }
}

export function accountLine(name: string, hash: PasswordHash): string {
  return `${name}:${formatHash(hash)}`;
}

/**
 * Under the lock, re-reads the file and hands its lines to `edit`, which returns the new lines
 * (or throws to change nothing); writes them back with mode 0600.
 */
export async function updateAccountsFile(path: string, edit: (lines: string[]) => string[]): Promise<void> {
  await withFileLock(path, async () => {
    const text = await readAccountsText(path);
    const lines = text === undefined ? [ACCOUNTS_HEADER] : text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    const next = edit(lines);
    await replaceFile(path, `${next.join('\n')}\n`, { mode: 0o600, durable: true });
  });
}
