/**
 * Ends live connections whose login no longer holds, soon after another process changed users.txt
 * (an account removed, or given a new password) or sessions.txt (a session ended): see file-watcher.ts
 * for how the change is noticed, and ClientConnection.accountChanged and checkSession for how a connection ends.
 *
 * A version of a file is acted upon only once it is complete. One that replaced the file (a new inode:
 * every writer of lpf renames a finished file into place) is, at once. One written in place (by an
 * admin's editor) may be seen half-written, and an empty users.txt for a moment must not end everyone's
 * connections: it is acted upon once it has not been modified for SETTLE_MS, at the next check.
 */
import type { PasswordHash } from './password-hash.js';
import type { FileAccounts } from './file-accounts.js';
import type { LoginSessions } from './login-sessions.js';
import type { FileVersion } from './shared-file.js';
import { watchFiles } from './file-watcher.js';
import { systemClock, type Clock } from '../limits/clock.js';
import type { Logger } from '../logger.js';
import type { ClientConnection } from '../client-connection.js';

export const SETTLE_MS = 500;

/** What loginCheck needs of a live connection. */
export type LiveLogin = Pick<ClientConnection, 'accountChanged' | 'checkSession'>;

/** Starts watching the files in `root`; returns a function that stops. */
export function watchLogins(
  root: string,
  accounts: FileAccounts,
  sessions: LoginSessions,
  live: () => Iterable<LiveLogin>,
  log: Logger,
): () => void {
  return watchFiles(root, ['users.txt', 'sessions.txt'], loginCheck(accounts, sessions, live, log, systemClock));
}

/** One check of both files against the versions last acted upon (the ones in memory at the start, first). */
export function loginCheck(
  accounts: FileAccounts,
  sessions: LoginSessions,
  live: () => Iterable<LiveLogin>,
  log: Logger,
  clock: Clock,
): () => Promise<void> {
  let accountsSeen = accounts.snapshot();
  let sessionsSeen = sessions.file;
  return async () => {
    try {
      await accounts.load();
      sessions.refresh();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not re-read the accounts or sessions file');
      return;
    }
    const now = clock();
    const current = accounts.snapshot();
    if (current.users !== accountsSeen.users && complete(current.file, accountsSeen.file, now)) {
      const changes = changedAccounts(accountsSeen.users, current.users);
      accountsSeen = current;
      for (const { user, removed } of changes) for (const client of live()) client.accountChanged(user, removed);
    }
    const file = sessions.file;
    if (file?.stamp !== sessionsSeen?.stamp && complete(file, sessionsSeen, now)) {
      sessionsSeen = file;
      for (const client of live()) client.checkSession((token) => sessions.isLive(token));
    }
  };
}

/** Whether a version can be trusted to be whole: a replacement, a removal, or one left alone for SETTLE_MS. */
function complete(version: FileVersion | undefined, before: FileVersion | undefined, now: number): boolean {
  return version === undefined || before === undefined || version.ino !== before.ino || now - version.mtimeMs >= SETTLE_MS;
}

/** The accounts of `before` that `after` no longer has, or has with another password. */
export function changedAccounts(
  before: ReadonlyMap<string, PasswordHash>,
  after: ReadonlyMap<string, PasswordHash>,
): { user: string; removed: boolean }[] {
  const changes: { user: string; removed: boolean }[] = [];
  for (const [user, old] of before) {
    const now = after.get(user);
    if (!now) changes.push({ user, removed: true });
    else if (!now.hash.equals(old.hash) || !now.salt.equals(old.salt)) changes.push({ user, removed: false });
  }
  return changes;
}
