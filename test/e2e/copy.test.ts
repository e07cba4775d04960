/** -copy SRC DST: a file or folder copied on the server, through the real CLI and server processes. */
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ContentHasher, encodeDataHeader } from '../../src/protocol/index.js';
import { sha256File, writeRandomFile } from '../helpers/files.js';
import { asUser, runLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-client.js';
import { storedContent, storedKind, storedSha256, storedTree } from '../helpers/stored.js';

/** Every file and folder under `root`, as relative path → content hash ("dir" for a folder). */
async function snapshot(root: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const name of await readdir(root, { recursive: true })) {
    const path = join(root, name);
    found.set(relative(root, path), (await stat(path)).isDirectory() ? 'dir' : await sha256File(path));
  }
  return found;
}

/** The checksum column of `-list -r --long`, by name. */
async function checksums(address: string, env: Record<string, string>, path: string): Promise<Map<string, string>> {
  const r = await runLpf([address, '-list', '-r', '--long', '--json', path], { env });
  assert.equal(r.code, 0, r.stderr);
  const listing = JSON.parse(r.stdout) as { entries: { name: string; sha256?: string }[] };
  return new Map(listing.entries.filter((e) => e.sha256 !== undefined).map((e) => [e.name, e.sha256 as string]));
}

describe('-copy', () => {
  let server: RunningServer;
  let dir: { path: string; cleanup(): Promise<void> };
  const cory = asUser('cory', 'corys-password');
  const files = (...path: string[]) => join(server.root, 'files', 'cory', ...path);

  before(async () => {
    server = await startServer();
    dir = await tempDir();
    assert.equal((await runLpf([server.address, '-list'], { env: asUser('cory', 'corys-password', true) })).code, 0);
  });
  after(async () => {
    await server.stop();
    await dir.cleanup();
  });

  test('copies a file byte for byte; its checksum record comes along', async () => {
    const local = join(dir.path, 'q1.pdf');
    await writeRandomFile(local, 5 * 1024 * 1024 + 17); // two blocks
    assert.equal((await runLpf([server.address, '-upload', local, '--to', 'reports/'], { env: cory })).code, 0);
    assert.equal((await runLpf([server.address, '-mkdir', 'backup'], { env: cory })).code, 0);

    const r = await runLpf([server.address, '-copy', 'reports/q1.pdf', 'backup/q1.pdf'], { env: cory });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'copied reports/q1.pdf to backup/q1.pdf\n');
    assert.equal(await storedSha256(server, 'cory', 'backup/q1.pdf'), await sha256File(local));
    assert.equal(await storedSha256(server, 'cory', 'reports/q1.pdf'), await sha256File(local), 'the source is untouched');

    const [original, copy] = [await checksums(server.address, cory, 'reports'), await checksums(server.address, cory, 'backup')];
    assert.match(copy.get('q1.pdf') ?? '', /^[0-9a-f]{64}$/);
    assert.equal(copy.get('q1.pdf'), original.get('q1.pdf'));
    // Recorded, not computed again when listed: the copy has its own record, valid for its own size and mtime.
    if (server.s3Prefix !== undefined) return; // on S3 the record names the copy's ETag (test/server/s3-storage.test.ts)
    const record = await readFile(join(server.root, 'meta', 'cory', 'backup', 'q1.pdf'));
    const header = JSON.parse(record.subarray(0, record.indexOf(0x0a)).toString()) as { size: number; mtimeMs: number; sha256: string };
    const copied = await stat(files('backup', 'q1.pdf'));
    assert.deepEqual(header, { size: copied.size, mtimeMs: copied.mtimeMs, sha256: original.get('q1.pdf') });
  });

  test('copies a folder tree: nested and empty folders, non-ASCII names; links in it are not followed', async () => {
    const tree = join(dir.path, 'photos');
    await mkdir(join(tree, 'été', 'ネスト', 'もっと'), { recursive: true });
    await mkdir(join(tree, 'empty folder'));
    await writeFile(join(tree, 'été', 'café ☕.txt'), 'crème brûlée');
    await writeFile(join(tree, 'zero'), '');
    await writeRandomFile(join(tree, 'été', 'ネスト', 'もっと', 'big.bin'), 4 * 1024 * 1024 + 5);
    assert.equal((await runLpf([server.address, '-upload', '-r', tree], { env: cory })).code, 0);
    // Placed on the server by someone with shell access: neither copied nor followed.
    if (server.s3Prefix === undefined) await symlink('/etc/passwd', files('photos', 'été', 'link'));

    const r = await runLpf([server.address, '-copy', 'photos', 'photos-2025'], { env: cory });
    assert.equal(r.code, 0, r.stderr);
    const expected = await snapshot(tree);
    assert.deepEqual(await storedTree(server, 'cory', 'photos-2025'), expected);
    assert.deepEqual(await checksums(server.address, cory, 'photos-2025'), await checksums(server.address, cory, 'photos'));
    if (server.s3Prefix === undefined)
      assert.deepEqual(await readdir(join(server.root, 'partial', 'cory')), [], 'the scratch copy is gone');
  });

  test('refuses a DST that exists (14), a missing SRC or DST folder (7), a folder into itself (8)', async () => {
    await writeFile(join(dir.path, 'keep.txt'), 'kept');
    assert.equal((await runLpf([server.address, '-upload', join(dir.path, 'keep.txt')], { env: cory })).code, 0);

    const taken = await runLpf([server.address, '-copy', 'reports/q1.pdf', 'keep.txt'], { env: cory });
    assert.equal(taken.code, 14, taken.stderr);
    assert.match(taken.stderr, /already exists.*\[LPF_ERR_EXISTS\]/);
    assert.equal((await storedContent(server, 'cory', 'keep.txt'))?.toString(), 'kept');
    const takenFolder = await runLpf([server.address, '-copy', 'keep.txt', 'photos'], { env: cory });
    assert.equal(takenFolder.code, 14, takenFolder.stderr);

    const missing = await runLpf([server.address, '-copy', 'no-such-file', 'anywhere'], { env: cory });
    assert.equal(missing.code, 7, missing.stderr);
    assert.match(missing.stderr, /\[LPF_ERR_NOT_FOUND\]/);
    const noFolder = await runLpf([server.address, '-copy', 'keep.txt', 'no-such-folder/keep.txt'], { env: cory });
    assert.equal(noFolder.code, 7, noFolder.stderr);

    const intoItself = await runLpf([server.address, '-copy', 'photos', 'photos/été/again'], { env: cory });
    assert.equal(intoItself.code, 8, intoItself.stderr);
    assert.match(intoItself.stderr, /into itself.*\[LPF_ERR_BAD_NAME\]/);
    assert.equal(await storedKind(server, 'cory', 'photos/été/again'), undefined);
  });

  test('--json prints one object; a refusal too', async () => {
    const ok = await runLpf([server.address, '-copy', 'keep.txt', 'kept copy.txt', '--json'], { env: cory });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { ok: true, command: 'copy', from: 'keep.txt', to: 'kept copy.txt' });
    const refused = await runLpf([server.address, '-copy', 'keep.txt', 'kept copy.txt', '--json'], { env: cory });
    assert.equal(refused.code, 14);
    const error = JSON.parse(refused.stdout) as { ok: boolean; error: { code: string; exitCode: number } };
    assert.equal(error.ok, false);
    assert.deepEqual([error.error.code, error.error.exitCode], ['LPF_ERR_EXISTS', 14]);
  });

  test('-copy --help shows its usage and examples; a wrong operand count is a usage error', async () => {
    const help = await runLpf(['-copy', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: lpf ADDRESS -copy SRC DST/);
    assert.match(help.stdout, /lpf \S+ -copy photos photos-2025/);
    assert.match((await runLpf(['--help'])).stdout, /^ {2}-copy SRC DST\s+copy a remote file or folder/m);
    const one = await runLpf([server.address, '-copy', 'keep.txt'], { env: cory });
    assert.equal(one.code, 2);
    assert.match(one.stderr, /-copy takes two names, SRC and DST/);
  });

  test('runs in order behind the uploads sent before it, on one connection', async () => {
    const peer = await RawPeer.session(server.port, 'cory', 'corys-password', false);
    try {
      const content = Buffer.from('sent just before the copy');
      const hasher = new ContentHasher();
      hasher.update(content);
      // The upload, its data and the copy in one burst: the copy must see the stored file.
      peer.send({ type: 'upload', name: 'burst.txt', size: content.length });
      peer.writeRaw(Buffer.concat([encodeDataHeader(content.length), content]));
      peer.send({ type: 'end', sha256: hasher.digest() });
      peer.send({ type: 'copy', from: 'burst.txt', to: 'burst copy.txt' });
      const answers = [await peer.next(), await peer.next(), await peer.next()].map((m) => m.type);
      assert.deepEqual(answers, ['ready', 'stored', 'ok']);
      assert.equal((await storedContent(server, 'cory', 'burst copy.txt'))?.toString(), content.toString());
    } finally {
      peer.close();
    }
  });
});

describe('-copy and the quota', () => {
  let server: RunningServer;
  let dir: { path: string; cleanup(): Promise<void> };
  const quinn = asUser('quinn', 'quinns-password');

  before(async () => {
    server = await startServer({ args: ['--quota', '12K'] });
    dir = await tempDir();
    assert.equal((await runLpf([server.address, '-list'], { env: asUser('quinn', 'quinns-password', true) })).code, 0);
  });
  after(async () => {
    await server.stop();
    await dir.cleanup();
  });

  test('a copy that would pass the quota is refused (13) and leaves nothing at DST; one that fits is charged', async () => {
    await mkdir(join(dir.path, 'docs'));
    await writeFile(join(dir.path, 'docs', 'a.bin'), Buffer.alloc(4 * 1024, 1));
    await writeFile(join(dir.path, 'docs', 'b.bin'), Buffer.alloc(3 * 1024, 2));
    assert.equal((await runLpf([server.address, '-upload', '-r', join(dir.path, 'docs')], { env: quinn })).code, 0);

    const over = await runLpf([server.address, '-copy', 'docs', 'docs-2'], { env: quinn });
    assert.equal(over.code, 13, over.stderr);
    assert.match(over.stderr, /7168 bytes needed.*\[LPF_ERR_QUOTA\]/);
    assert.equal(await storedKind(server, 'quinn', 'docs-2'), undefined);

    // 7 KiB stored, 5 KiB free: the 4 KiB file fits, and is charged (the 3 KiB one no longer does).
    assert.equal((await runLpf([server.address, '-copy', 'docs/a.bin', 'a-2.bin'], { env: quinn })).code, 0);
    const full = await runLpf([server.address, '-copy', 'docs/b.bin', 'b-2.bin'], { env: quinn });
    assert.equal(full.code, 13, full.stderr);
    assert.equal(await storedKind(server, 'quinn', 'b-2.bin'), undefined);
  });
});
