/**
 * `lpf-server migrate --from ROOT [--storage s3://…] [--accounts postgres://…]`: moves a single-machine
 * installation onto the shared backends (src/server/admin/migrate-*.ts). The targets are read like the
 * server's settings (flags, LPF_* variables, configuration file). Safe to run again: what is there
 * already is skipped. Exit status: 0 when everything is there, 10 when a file failed, 6 on a conflict.
 */
import { resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { LpfError } from '../errors.js';
import { DiskStorage } from '../server/storage/disk-storage.js';
import type { Storage } from '../server/storage/storage.js';
import type { Database } from '../server/accounts/pg/database.js';
import { forgetUsage, migrateAccounts, type AccountsReport } from '../server/admin/migrate-accounts.js';
import { migrateUserFiles, usersWithFiles, type UserFilesReport } from '../server/admin/migrate-files.js';
import { accountsFailure, accountsUrl, SETTING_FLAGS, type ServerSettings } from './server-config.js';
import { chooseStorage } from './storage-setting.js';

/** Flags that only `migrate` takes (`--json` is shared with `users list`). */
export const MIGRATE_FLAGS = {
  from: { type: 'string' },
  'dry-run': { type: 'boolean' },
  overwrite: { type: 'boolean' },
} as const;

/** The server's settings that matter to `migrate`; the others are refused as a likely mistake. */
const SHARED = new Set(['root', 'accounts', 'storage', 's3-endpoint', 's3-region', 's3-path-style']);

export const MIGRATE_HELP = `Usage: lpf-server migrate --from ROOT [--storage s3://BUCKET[/PREFIX] ...] [--accounts URL]

Moves a single-machine installation onto the backends a group of servers shares: the accounts
of ROOT/users.txt (password hashes unchanged: users keep their passwords) and the live sessions
of ROOT/sessions.txt into the PostgreSQL database of --accounts; every user's files and folders
(empty ones too), with their checksums, into the S3 storage of --storage. Each copied file is
read back from the target and its checksum compared with the source's. Give either target or
both; they are read like the server's (flags, LPF_* variables, --config FILE).

Safe to run again (stop the old server first, or run it again after stopping it): an account
already there with the same password hash and a file already there with the same size and
checksum are skipped. An account there with another password is a conflict: reported and left
alone. Modification times are not kept (the target dates files when it stores them).

Options:
  --from ROOT        the old server's data folder (its --root)
  --storage URL      s3://BUCKET[/PREFIX], with --s3-endpoint URL, --s3-region R, --s3-path-style
                     (as for the server; credentials from the AWS variables or shared config)
  --accounts URL     postgres://USER@HOST:PORT/DATABASE (as for the server; PGPASSWORD or ~/.pgpass)
  --config FILE      configuration file of the new servers (as for the server)
  --dry-run          read everything, write nothing: say what would be copied
  --overwrite        replace a file the target has with other content (by default reported,
                     left alone: it may be newer, uploaded through a new server since)
  --json             print the summary as one JSON object on standard output

Exit status: 0 when everything is in place, 10 when a file could not be copied or verified,
6 when an account conflicts (and nothing failed).
`;

type Flags = Readonly<Record<string, string | boolean | undefined>>;

interface Targets {
  storage: Storage | undefined;
  db: Database | undefined;
}

export async function runMigrate(args: string[], flags: Flags, settings: ServerSettings): Promise<void> {
  if (args.length > 0) throw new LpfError('LPF_ERR_USAGE', `unexpected argument "${args[0]}" (see lpf-server migrate --help)`);
  for (const flag of Object.keys(flags)) {
    if ((Object.hasOwn(SETTING_FLAGS, flag) && !SHARED.has(flag)) || ['password-stdin', 'yes', 'keep-files'].includes(flag))
      throw new LpfError('LPF_ERR_USAGE', `--${flag} does not go with lpf-server migrate`);
  }
  if (typeof flags.from !== 'string') throw new LpfError('LPF_ERR_USAGE', 'lpf-server migrate needs --from ROOT, the old data folder');
  const root = resolve(flags.from);
  if (
    !(await stat(root).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    throw new LpfError('LPF_ERR_USAGE', `--from: ${root} is not a folder`);
  const targets = await openTargets(settings);
  const dryRun = flags['dry-run'] === true;
  const json = flags.json === true;
  try {
    const accounts = targets.db ? await migrateAccounts(root, targets.db, Date.now(), dryRun) : undefined;
    if (accounts && !json) printAccounts(accounts, dryRun);
    const overwrite = flags.overwrite === true;
    const files = targets.storage ? await migrateFiles(root, targets, { dryRun, overwrite }, json) : undefined;
    finish(accounts, files, dryRun, json);
  } finally {
    await targets.db?.close();
    (targets.storage as { close?: () => void } | undefined)?.close?.();
  }
}

async function openTargets(settings: ServerSettings): Promise<Targets> {
  const accounts = accountsUrl(settings);
  const chosen = await chooseStorage(settings);
  const storage = chosen.kind === 's3' ? chosen.storage : undefined;
  if (!storage && !accounts)
    throw new LpfError('LPF_ERR_USAGE', 'lpf-server migrate needs a target: --storage s3://BUCKET and/or --accounts postgres://…');
  if (!accounts) return { storage, db: undefined };
  const { Database } = await import('../server/accounts/pg/database.js');
  const { migrate } = await import('../server/accounts/pg/migrations.js');
  try {
    const db = await Database.open(accounts.value, undefined, 2);
    await migrate(db).catch(async (err: unknown) => {
      await db.close().catch(() => {});
      throw err;
    });
    return { storage, db };
  } catch (err) {
    (storage as { close?: () => void } | undefined)?.close?.();
    throw accountsFailure(accounts, err);
  }
}

async function migrateFiles(
  root: string,
  targets: Targets,
  { dryRun, overwrite }: { dryRun: boolean; overwrite: boolean },
  json: boolean,
): Promise<UserFilesReport[]> {
  const source = new DiskStorage(root);
  const reports: UserFilesReport[] = [];
  for (const user of await usersWithFiles(root)) {
    const report = await migrateUserFiles({ source, target: targets.storage as Storage, dryRun, overwrite }, user);
    if (targets.db && !dryRun && report.copied > 0) await forgetUsage(targets.db, user);
    reports.push(report);
    const line = `${user}: ${report.folders} folders; files ${dryRun ? 'to copy' : 'copied'} ${report.copied}, skipped ${report.skipped}, failed ${report.failed}; ${bytes(report.bytes)}`;
    (json ? process.stderr : process.stdout).write(`${line}\n`);
    for (const failure of report.failures) process.stderr.write(`lpf-server: error: ${user}/${failure}\n`);
  }
  return reports;
}

function printAccounts(a: AccountsReport, dryRun: boolean): void {
  for (const line of a.damaged) process.stderr.write(`lpf-server: warning: not copied: ${line}\n`);
  for (const name of a.conflicts) {
    process.stderr.write(
      `lpf-server: error: the account "${name}" exists in the database with another password; left alone (not copied, nor its sessions)\n`,
    );
  }
  const verb = dryRun ? 'to copy' : 'copied';
  say(
    `accounts: ${verb} ${a.copied.length}, skipped ${a.skipped.length} (already there), conflicts ${a.conflicts.length}, damaged ${a.damaged.length}`,
  );
  say(`sessions: ${verb} ${a.sessionsCopied}, already there ${a.sessionsPresent}, skipped ${a.sessionsSkipped} (expired or not copied)`);
}

/** Prints the summary and throws (for the exit status) when a file failed or an account conflicts. */
function finish(accounts: AccountsReport | undefined, files: UserFilesReport[] | undefined, dryRun: boolean, json: boolean): void {
  const total = (key: 'folders' | 'copied' | 'skipped' | 'failed' | 'bytes') => (files ?? []).reduce((n, r) => n + r[key], 0);
  const summary = {
    dryRun,
    accounts: accounts && {
      copied: accounts.copied.length,
      skipped: accounts.skipped.length,
      conflicts: accounts.conflicts,
      damaged: accounts.damaged.length,
      sessionsCopied: accounts.sessionsCopied,
      sessionsPresent: accounts.sessionsPresent,
      sessionsSkipped: accounts.sessionsSkipped,
    },
    files: files && {
      users: files.length,
      folders: total('folders'),
      copied: total('copied'),
      skipped: total('skipped'),
      failed: total('failed'),
      bytes: total('bytes'),
    },
  };
  if (json) say(JSON.stringify(summary));
  else if (summary.files) {
    const f = summary.files;
    say(`files: ${dryRun ? 'to copy' : 'copied'} ${f.copied}, skipped ${f.skipped} (already there), failed ${f.failed}; ${bytes(f.bytes)}`);
  }
  if (summary.files && summary.files.failed > 0)
    throw new LpfError(
      'LPF_ERR_SERVER',
      `${summary.files.failed} files could not be copied or verified (see above); run again to retry them`,
    );
  if (accounts && accounts.conflicts.length > 0)
    throw new LpfError('LPF_ERR_USER_EXISTS', `${accounts.conflicts.length} accounts conflict with the database's; they were left alone`);
}

function bytes(n: number): string {
  if (n < 1024 * 1024) return `${n} bytes`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}
