/**
 * Account administration on a data folder, for `lpf-server users`: safe while a server runs on the
 * same folder, since every change goes through the same locks as the server's own (shared-file.ts),
 * and the server re-reads users.txt and sessions.txt when they change.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LpfError } from '../../errors.js';
import { checkPassword, normalizeUserName } from '../../protocol/index.js';
import {
  accountLine,
  lineUser,
  readAccounts,
  readAccountsText,
  updateAccountsFile,
  type AccountProblem,
} from '../accounts/accounts-file.js';
import { DEFAULT_SCRYPT, hashPassword, type ScryptParams } from '../accounts/password-hash.js';
import { countSessions, revokeSessionsOf } from '../accounts/login-sessions.js';
import { systemClock } from '../limits/clock.js';
import type { RemovedUser, Storage } from '../storage/storage.js';

export interface AdminOptions {
  root: string;
  /** The server's --min-password. */
  minPasswordChars: number;
  params?: ScryptParams;
}

export interface UserListing {
  /** The accounts that can log in. */
  users: { name: string; sessions: number }[];
  /** Damaged and repeated lines: their accounts cannot log in, their names stay taken. */
  problems: AccountProblem[];
}

const usersPath = (root: string) => join(root, 'users.txt');
const sessionsPath = (root: string) => join(root, 'sessions.txt');

/** The user name as stored, or LPF_ERR_BAD_USERNAME. */
export function userName(user: string): string {
  return normalizeUserName(user);
}

/** The server's rules for a new password: at least --min-password characters, at most 1024 bytes. */
export function checkNewPassword(password: string, minChars: number): void {
  if ([...password].length < minChars) {
    throw new LpfError('LPF_ERR_BAD_PASSWORD', `the password must be at least ${minChars} characters long (the server's --min-password)`);
  }
  checkPassword(password);
}

export async function listUsers(root: string): Promise<UserListing> {
  const { users, problems } = readAccounts((await readAccountsText(usersPath(root))) ?? '');
  const sessions = await countSessions(sessionsPath(root), systemClock);
  const names = [...users.keys()].sort();
  return { users: names.map((name) => ({ name, sessions: sessions.get(name) ?? 0 })), problems };
}

/** True when some line of the accounts file names the user, a damaged one included (a quick check; changes check again). */
export async function userExists(root: string, user: string): Promise<boolean> {
  return readAccounts((await readAccountsText(usersPath(root))) ?? '').taken.has(userName(user));
}

/** Whether any line names the user, readable or not. */
function named(lines: string[], name: string): boolean {
  return lines.some((line) => lineUser(line) === name);
}

export async function addUser(options: AdminOptions, user: string, password: string): Promise<string> {
  const name = userName(user);
  checkNewPassword(password, options.minPasswordChars);
  const hash = await hashPassword(password, options.params ?? DEFAULT_SCRYPT);
  await mkdir(options.root, { recursive: true, mode: 0o700 });
  await updateAccountsFile(usersPath(options.root), (lines) => {
    if (named(lines, name)) throw exists(name);
    return [...lines, accountLine(name, hash)];
  });
  return name;
}

/**
 * Changes a password and ends the user's sessions: whoever changes a password usually suspects that
 * someone else knows the old one, and a session started with it would otherwise outlive it.
 */
export async function setPassword(options: AdminOptions, user: string, password: string): Promise<{ name: string; sessionsEnded: number }> {
  const name = userName(user);
  checkNewPassword(password, options.minPasswordChars);
  const hash = await hashPassword(password, options.params ?? DEFAULT_SCRYPT);
  await updateAccountsFile(usersPath(options.root), (lines) => {
    if (!named(lines, name)) throw unknown(name);
    // Its other lines (damaged and repeated ones included) go: one account, one line. This is how an admin repairs it.
    let replaced = false;
    return lines.flatMap((line) => {
      if (lineUser(line) !== name) return [line];
      if (replaced) return [];
      replaced = true;
      return [accountLine(name, hash)];
    });
  });
  return { name, sessionsEnded: await revokeSessionsOf(sessionsPath(options.root), name, systemClock) };
}

/** What `users remove` did: the sessions it ended, and what it deleted of the storage given (none kept the files). */
export interface Removal {
  name: string;
  sessionsEnded: number;
  removed: RemovedUser | undefined;
}

/**
 * Removes an account, then its sessions (in that order, so no new session can start in between),
 * then what `files` stores for it, unless no storage is given (--keep-files).
 */
export async function removeUser(root: string, user: string, files: Storage | undefined): Promise<Removal> {
  const name = userName(user);
  await updateAccountsFile(usersPath(root), (lines) => {
    if (!named(lines, name)) throw unknown(name);
    return lines.filter((line) => lineUser(line) !== name);
  });
  const sessionsEnded = await revokeSessionsOf(sessionsPath(root), name, systemClock);
  return { name, sessionsEnded, removed: await files?.removeUser(name) };
}

/**
 * Files written by another account than the server's would lock the server out of them (mode 0600),
 * so changes are made only as the data folder's owner.
 */
export async function checkOwner(root: string): Promise<void> {
  const uid = process.getuid?.();
  const owner = await stat(root).then(
    (s) => s.uid,
    () => undefined,
  );
  if (uid === undefined || owner === undefined || owner === uid) return;
  throw new LpfError(
    'LPF_ERR_USAGE',
    `${root} belongs to user id ${owner}, not to you (${uid}): run lpf-server users as the server's account (for example with sudo -u), so that the server can still read what it writes`,
  );
}

function exists(name: string): LpfError {
  return new LpfError('LPF_ERR_USER_EXISTS', `the user "${name}" already exists`);
}

function unknown(name: string): LpfError {
  return new LpfError('LPF_ERR_NO_SUCH_USER', `there is no user "${name}"`);
}

/** The account administration `lpf-server users` needs, on users.txt (fileAdmin) or PostgreSQL (pg-users.ts). */
export interface UsersAdmin {
  kind: 'files' | 'postgres';
  exists(user: string): Promise<boolean>;
  list(): Promise<UserListing>;
  add(options: AdminOptions, user: string, password: string): Promise<string>;
  setPassword(options: AdminOptions, user: string, password: string): Promise<{ name: string; sessionsEnded: number }>;
  /** Removes the account, then its files from `files` (undefined: keeps them). */
  remove(user: string, files: Storage | undefined): Promise<Removal>;
  close(): Promise<void>;
}

/** Administration of the accounts file of a data folder. */
export function fileAdmin(root: string): UsersAdmin {
  return {
    kind: 'files',
    exists: (user) => userExists(root, user),
    list: () => listUsers(root),
    add: addUser,
    setPassword,
    remove: (user, files) => removeUser(root, user, files),
    close: () => Promise.resolve(),
  };
}
