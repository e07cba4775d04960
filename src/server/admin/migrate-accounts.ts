/**
 * Copies the accounts of a data folder (ROOT/users.txt) and their live login sessions (ROOT/sessions.txt)
 * into the PostgreSQL accounts database, for `lpf-server migrate`. Password hashes are copied as they are
 * (users keep their passwords), sessions by the SHA-256 kept of their token with their expiry (clients keep
 * their stored sessions). An account already in the database with the same hash is skipped; one with a
 * different hash is a conflict, reported and left alone, and its file sessions are not copied (they would
 * log in as the other account). Damaged and repeated lines of users.txt are reported, not copied.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeProblem, readAccounts, readAccountsText } from '../accounts/accounts-file.js';
import { formatHash, parseHash } from '../accounts/password-hash.js';
import type { Database } from '../accounts/pg/database.js';

export interface AccountsReport {
  copied: string[];
  skipped: string[];
  /** Accounts in the database with another password hash: left alone. */
  conflicts: string[];
  /** Lines of users.txt that could not be copied, in words. */
  damaged: string[];
  sessionsCopied: number;
  /** Live sessions already in the database. */
  sessionsPresent: number;
  /** Expired sessions, and sessions of accounts not copied. */
  sessionsSkipped: number;
}

/** Copies accounts, then sessions; with `dryRun`, only reads and reports what would be copied. */
export async function migrateAccounts(root: string, db: Database, now: number, dryRun: boolean): Promise<AccountsReport> {
  const report: AccountsReport = {
    copied: [],
    skipped: [],
    conflicts: [],
    damaged: [],
    sessionsCopied: 0,
    sessionsPresent: 0,
    sessionsSkipped: 0,
  };
  const { users, problems } = readAccounts((await readAccountsText(join(root, 'users.txt'))) ?? '');
  report.damaged = problems.map(describeProblem);
  for (const [name, hash] of [...users].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const outcome = await copyAccount(db, name, formatHash(hash), dryRun);
    report[outcome].push(name);
  }
  const usable = new Set([...report.copied, ...report.skipped]);
  for (const session of await readSessions(root)) {
    if (session.expires <= now || !usable.has(session.user)) {
      report.sessionsSkipped++;
      continue;
    }
    if (dryRun ? await sessionPresent(db, session.sha256) : !(await insertSession(db, session))) report.sessionsPresent++;
    else report.sessionsCopied++;
  }
  return report;
}

/** Inserts the account unless its name is taken; a taken name is skipped when the hash is the same, else a conflict. */
async function copyAccount(db: Database, name: string, hash: string, dryRun: boolean): Promise<'copied' | 'skipped' | 'conflicts'> {
  if (!dryRun) {
    const { rowCount } = await db.query('INSERT INTO accounts (name, password_hash) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [
      name,
      hash,
    ]);
    if (rowCount === 1) return 'copied';
  }
  const { rows } = await db.query<{ password_hash: string }>('SELECT password_hash FROM accounts WHERE name = $1', [name]);
  const stored = rows[0]?.password_hash;
  if (stored === undefined) return 'copied'; // dry run: it would be
  const parsed = parseHash(stored);
  return parsed && formatHash(parsed) === hash ? 'skipped' : 'conflicts';
}

interface FileSession {
  sha256: string;
  user: string;
  expires: number;
}

/** The lines of ROOT/sessions.txt ("<sha256 hex> <user> <expires ms>"); no file is no sessions. */
async function readSessions(root: string): Promise<FileSession[]> {
  const text = await readFile(join(root, 'sessions.txt'), 'utf8').catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  });
  const sessions: FileSession[] = [];
  for (const line of text.split('\n')) {
    const [sha256, user, expires] = line.split(' ');
    if (sha256 && /^[0-9a-f]{64}$/.test(sha256) && user && Number.isSafeInteger(Number(expires)))
      sessions.push({ sha256, user, expires: Number(expires) });
  }
  return sessions;
}

/** Inserts a session; false when one with this token is there already. */
async function insertSession(db: Database, s: FileSession): Promise<boolean> {
  const { rowCount } = await db.query(
    'INSERT INTO login_sessions (token_sha256, user_name, expires_ms) VALUES ($1, $2, $3) ON CONFLICT (token_sha256) DO NOTHING',
    [s.sha256, s.user, s.expires],
  );
  return rowCount === 1;
}

async function sessionPresent(db: Database, sha256: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM login_sessions WHERE token_sha256 = $1', [sha256]);
  return rowCount === 1;
}

/** Makes the servers measure the user's usage afresh (pg-quota.ts): the files just copied changed it. */
export async function forgetUsage(db: Database, user: string): Promise<void> {
  await db.query('UPDATE quota_usage SET used = NULL WHERE user_name = $1', [user]);
}
