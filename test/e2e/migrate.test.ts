/**
 * `lpf-server migrate`: a single-machine installation made by the real programs (two users, a >4 MiB file,
 * folders, an empty folder, names with spaces and unicode, a live session, a file placed by hand) is moved
 * to a real Swift (s3api) and a real PostgreSQL; a server on the new backends then serves the same users
 * with their old passwords and sessions and the same files and checksums. A second run copies nothing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, appendFile, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha256File, writeRandomFile } from '../helpers/files.js';
import { startPostgres, skipWithoutPostgres, type Postgres } from '../helpers/postgres.js';
import { runServerCli, users } from '../helpers/server-cli.js';
import { asUser, runLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';
import { sharedSwift, skipWithoutSwift, type RunningSwift } from '../helpers/swift.js';

const MiB = 1024 * 1024;
const skip = skipWithoutSwift() || skipWithoutPostgres();
if (skip) console.error(`\n*** ${skip} ***\n`);

const ALICE = asUser('alice', 'alices-password');
const BOB = asUser('bob', 'bobs-password');
const UNICODE = 'Été 2026 ü.txt';

/** lpf's content checksum of a file of less than one 4 MiB block: the SHA-256 of its one block digest. */
function contentChecksum(text: string): string {
  return createHash('sha256').update(createHash('sha256').update(text).digest()).digest('hex');
}

/** The checksum of every file of `-list -r --long`, by name, and the folders. */
async function tree(address: string, env: Record<string, string>): Promise<Map<string, string>> {
  const r = await runLpf([address, '-list', '-r', '--long', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const listing = JSON.parse(r.stdout) as { entries: { name: string; sha256?: string; dir?: boolean }[] };
  return new Map(listing.entries.map((e) => [e.name, e.dir ? 'dir' : (e.sha256 ?? 'no checksum')]));
}

describe('lpf-server migrate to Swift and PostgreSQL', { skip }, () => {
  let dir: { path: string; cleanup(): Promise<void> };
  let swift: RunningSwift;
  let engine: Postgres;
  let url: string;
  let root: string;
  let port: number;
  let clientEnv: Record<string, string>;
  let old: RunningServer | undefined;
  const before_: Map<string, Map<string, string>> = new Map();
  const prefix = `migrate-${process.pid}`;
  const migrate = (...extra: string[]) =>
    runServerCli(
      [
        'migrate',
        '--from',
        root,
        '--storage',
        `s3://${swift.bucket}/${prefix}`,
        '--s3-endpoint',
        swift.endpoint,
        '--s3-path-style',
        '--accounts',
        url,
        ...extra,
      ],
      { env: swift.env, timeoutMs: 120_000 },
    );

  before(async () => {
    dir = await tempDir();
    [swift, engine] = await Promise.all([sharedSwift(), startPostgres()]);
    url = await engine.newDatabase();
    root = join(dir.path, 'old');
    clientEnv = { XDG_CONFIG_HOME: join(dir.path, 'client') };
    old = await startServer({ root, storage: 'disk' });
    port = old.port;
    const local = (name: string) => join(dir.path, name);
    await writeRandomFile(local('big.bin'), 9 * MiB + 5);
    await mkdir(local('docs/sub'), { recursive: true });
    await writeFile(local(`docs/${UNICODE}`), 'bonjour\n');
    await writeFile(local('docs/sub/with space.txt'), 'a b c\n');
    for (const [who, name] of [
      ['alice', 'alices-password'],
      ['bob', 'bobs-password'],
    ] as const) {
      const signUp = await runLpf([old.address, '-list'], { env: asUser(who, name, true) });
      assert.equal(signUp.code, 0, signUp.stderr);
    }
    for (const args of [
      ['-upload', local('big.bin')],
      ['-upload', '-r', local('docs')],
      ['-mkdir', 'empty/inner'],
    ]) {
      const r = await runLpf([old.address, ...args], { env: ALICE });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    assert.equal((await runLpf([old.address, '-upload', local('docs/sub/with space.txt'), '--to', 'b.txt'], { env: BOB })).code, 0);
    await writeFile(local('empty.txt'), '');
    assert.equal((await runLpf([old.address, '-upload', local('empty.txt')], { env: BOB })).code, 0);
    // A session kept by a client, to be used after the move without a password.
    const login = await runLpf([old.address, '-login'], { env: { ...clientEnv, ...asUser('alice', 'alices-password') } });
    assert.equal(login.code, 0, login.stderr);
    before_.set('alice', await tree(old.address, ALICE));
    // Placed by hand: no checksum record (a listing with checksums would make one: none is asked for).
    before_.set('bob', await tree(old.address, BOB));
    const placed = 'put here by the admin\n';
    await writeFile(join(root, 'files', 'bob', 'placed.txt'), placed);
    before_.get('bob')?.set('placed.txt', contentChecksum(placed));
    await old.stop();
    await appendFile(join(root, 'users.txt'), 'mallory:not a hash\n');
  });

  after(async () => {
    await old?.stop();
    await engine?.destroy();
    await dir?.cleanup();
  });

  test('copies accounts, sessions, folders and files; a server on the new backends serves them unchanged', async () => {
    const r = await migrate();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^accounts: copied 2, skipped 0 .*conflicts 0, damaged 1$/m);
    assert.match(r.stdout, /^sessions: copied [1-9]/m);
    assert.match(r.stdout, /^alice: 4 folders; files copied 3, skipped 0, failed 0/m);
    assert.match(r.stdout, /^bob: 0 folders; files copied 3, skipped 0, failed 0/m);
    assert.match(r.stdout, /^files: copied 6, skipped 0 \(already there\), failed 0/m);
    assert.match(r.stderr, /not copied: line \d+ of users\.txt is not a valid account line \(user "mallory"\)/);

    const server = await startServer({ root: join(dir.path, 'new'), port, storage: { s3Prefix: prefix }, args: ['--accounts', url] });
    try {
      assert.equal(server.logs.find((l) => l.msg === 'listening')?.accounts, 'postgres');
      assert.deepEqual(await tree(server.address, asUser('alice', 'alices-password')), before_.get('alice'));
      assert.deepEqual(await tree(server.address, asUser('bob', 'bobs-password')), before_.get('bob'));
      // The stored session works on the new server: no password given.
      const down = await runLpf([server.address, '-download', 'big.bin', '--to', join(dir.path, 'big.back')], { env: clientEnv });
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await sha256File(join(dir.path, 'big.back')), await sha256File(join(dir.path, 'big.bin')));
      const docs = await runLpf([server.address, '-download', '-r', 'docs', '--to', join(dir.path, 'docs.back')], { env: clientEnv });
      assert.equal(docs.code, 0, docs.stderr);
      assert.equal(await readFile(join(dir.path, 'docs.back', UNICODE), 'utf8'), 'bonjour\n');
      assert.equal(await readFile(join(dir.path, 'docs.back', 'sub', 'with space.txt'), 'utf8'), 'a b c\n');
      assert.equal((await runLpf([server.address, '-list', 'empty/inner'], { env: clientEnv })).code, 0);
      const wrong = await runLpf([server.address, '-list'], { env: asUser('bob', 'not-bobs-password') });
      assert.equal(wrong.code, 6);
    } finally {
      await server.stop();
    }
  });

  test('a second run copies nothing and exits 0; --json says so', async () => {
    const r = await migrate('--json');
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { accounts: Record<string, unknown>; files: Record<string, number> };
    assert.equal(summary.accounts.copied, 0);
    assert.equal(summary.accounts.skipped, 2);
    assert.equal(summary.accounts.sessionsCopied, 0);
    assert.deepEqual(summary.files, { users: 2, folders: 4, copied: 0, skipped: 6, failed: 0, bytes: 0 });
  });

  test('a file changed on the new servers since is not replaced, unless --overwrite', async () => {
    const server = await startServer({ root: join(dir.path, 'new1'), storage: { s3Prefix: prefix }, args: ['--accounts', url] });
    try {
      await writeFile(join(dir.path, 'newer.txt'), 'uploaded to the new server\n');
      const up = await runLpf([server.address, '-upload', join(dir.path, 'newer.txt'), '--to', 'b.txt'], { env: BOB });
      assert.equal(up.code, 0, up.stderr);
      const r = await migrate();
      assert.equal(r.code, 10, r.stderr);
      assert.match(r.stderr, /bob\/b\.txt: the target has another file of this name; left alone/);
      assert.equal((await tree(server.address, BOB)).get('b.txt'), contentChecksum('uploaded to the new server\n'));
      const again = await migrate('--overwrite');
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^files: copied 1, skipped 5 /m);
      assert.equal((await tree(server.address, BOB)).get('b.txt'), before_.get('bob')?.get('b.txt'));
    } finally {
      await server.stop();
    }
  });

  test('an account with another password in the database is reported and left alone', async () => {
    assert.equal((await users(root, ['add', 'carol'], 'carols-old-password')).code, 0);
    const there = await runServerCli(['users', 'add', 'carol', '--accounts', url, '--password-stdin'], { input: 'carols-new-password\n' });
    assert.equal(there.code, 0, there.stderr);
    const r = await migrate('--dry-run');
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /the account "carol" exists in the database with another password; left alone/);
    assert.match(r.stderr, /LPF_ERR_USER_EXISTS/);
    const server = await startServer({ root: join(dir.path, 'new2'), storage: { s3Prefix: prefix }, args: ['--accounts', url] });
    try {
      assert.equal((await runLpf([server.address, '-list'], { env: asUser('carol', 'carols-new-password') })).code, 0);
      assert.equal((await runLpf([server.address, '-list'], { env: asUser('carol', 'carols-old-password') })).code, 6);
    } finally {
      await server.stop();
    }
  });

  test('a source file that does not match its checksum record is not copied: an error, exit 10', async () => {
    const path = join(root, 'files', 'bob', 'b.txt');
    const info = await stat(path);
    const meta = join(root, 'meta', 'bob', 'b.txt');
    const record = await readFile(meta);
    const newline = record.indexOf(0x0a);
    const header = { size: info.size, mtimeMs: info.mtimeMs, sha256: '0'.repeat(64) };
    await writeFile(meta, Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), record.subarray(newline + 1)]));
    const r = await runServerCli(
      ['migrate', '--from', root, '--storage', `s3://${swift.bucket}/${prefix}-other`, '--s3-endpoint', swift.endpoint, '--s3-path-style'],
      { env: swift.env, timeoutMs: 120_000 },
    );
    assert.equal(r.code, 10, r.stderr);
    assert.match(r.stderr, /bob\/b\.txt: the source file does not match its checksum record/);
    assert.match(r.stdout, /^files: copied 5, skipped 0 \(already there\), failed 1/m);
  });

  test('without a target, or with a wrong setting, a clear usage error; --help says how', async () => {
    const help = await runServerCli(['migrate', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: lpf-server migrate --from ROOT/);
    const stray = await runServerCli(['--from', root]);
    assert.equal(stray.code, 2);
    assert.match(stray.stderr, /--from only goes with lpf-server migrate/);
    const none = await runServerCli(['migrate', '--from', root]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /needs a target: --storage s3:\/\/BUCKET and\/or --accounts/);
    const noFrom = await runServerCli(['migrate', '--accounts', url]);
    assert.equal(noFrom.code, 2);
    assert.match(noFrom.stderr, /needs --from ROOT/);
    const badUrl = await runServerCli(['migrate', '--from', root, '--accounts', 'mysql://x']);
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /--accounts: expected a postgres:\/\/ URL/);
  });
});
