/**
 * The accounts file, ROOT/users.txt, one account a line:
 *   <user>:scrypt:N=32768,r=8,p=1:<salt base64>:<hash base64>
 * Lines starting with "#" are comments. Every change is a read-modify-write under the file's lock
 * (the server's sign-ups and `lpf-server users` may run at once), edits only the lines it concerns
 * (comments and lines it cannot parse stay as they are), and rewrites the file with replaceFile
 * (temporary file, fsync, rename), so a crash never leaves it half-written.
 */
import { readFile } from 'node:fs/promises';
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

/** Parses the accounts file; malformed lines are skipped (`lpf-server users list` reports them). */
export function parseAccounts(text: string): Map<string, PasswordHash> {
  const users = new Map<string, PasswordHash>();
  for (const line of text.split('\n')) {
    const account = parseAccountLine(line);
    if (account) users.set(account.name, account.hash);
  }
  return users;
}

/** One account line, or undefined for a comment, a blank or a malformed line. */
export function parseAccountLine(line: string): { name: string; hash: PasswordHash } | undefined {
  if (line === '' || line.startsWith('#')) return undefined;
  const colon = line.indexOf(':');
  if (colon <= 0) return undefined;
  const hash = parseHash(line.slice(colon + 1));
  return hash ? { name: line.slice(0, colon), hash } : undefined;
}

/** The user a line is about, even a malformed one (so that removing an account removes all its lines). */
export function lineUser(line: string): string | undefined {
  if (line === '' || line.startsWith('#')) return undefined;
  const colon = line.indexOf(':');
  return colon > 0 ? line.slice(0, colon) : undefined;
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
