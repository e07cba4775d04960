/** Folders and many files per command, through the real CLI and server processes. */
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha256File, writeRandomFile } from '../helpers/files.js';
import { LPF, asUser, runLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';
import { skipWithoutScript, runInPty } from '../helpers/pty.js';
import { RawPeer } from '../helpers/raw-client.js';
import { storedContent, storedKind, storedNames, storedTree } from '../helpers/stored.js';

/** Every file and folder under `root`, as relative path → content hash ("dir" for a folder). */
async function snapshot(root: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      if ((await stat(path)).isDirectory()) {
        found.set(relative(root, path), 'dir');
        await walk(path);
      } else {
        found.set(relative(root, path), await sha256File(path));
      }
    }
  };
  await walk(root);
  return found;
}

/** A tree with nested and empty folders, empty files, non-ASCII names, and one larger file. */
async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'docs', '2026', 'été'), { recursive: true });
  await mkdir(join(root, 'empty folder'), { recursive: true });
  await mkdir(join(root, '日本', 'ネスト', 'もっと'), { recursive: true });
  await writeFile(join(root, 'readme.txt'), 'top level\n');
  await writeFile(join(root, 'docs', 'empty.bin'), '');
  await writeFile(join(root, 'docs', '2026', 'été', 'café ☕.txt'), 'crème brûlée');
  await writeRandomFile(join(root, '日本', 'ネスト', 'もっと', 'big.bin'), 5 * 1024 * 1024 + 17);
  await writeFile(join(root, '日本', 'ネスト', 'zero'), '');
}

describe('folders and many files', () => {
  let server: RunningServer;
  let dir: { path: string; cleanup(): Promise<void> };
  const fay = asUser('fay', 'fays-password');

  before(async () => {
    server = await startServer();
    dir = await tempDir();
    assert.equal((await runLpf([server.address, '-list'], { env: asUser('fay', 'fays-password', true) })).code, 0);
  });
  after(async () => {
    await server.stop();
    await dir.cleanup();
  });

  test('-upload -r then -download -r of a nested tree is identical, empty folders and files included', async () => {
    const tree = join(dir.path, 'tree');
    await makeTree(tree);
    const up = await runLpf([server.address, '-upload', '-r', tree], { env: fay });
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /uploaded 5 of 5 files/);
    // Stored on the server with the same structure, under the folder's own name.
    assert.deepEqual(await storedTree(server, 'fay', 'tree'), await snapshot(tree));

    const back = join(dir.path, 'back');
    const down = await runLpf([server.address, '-download', '-r', 'tree', '--to', back], { env: fay });
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await snapshot(back), await snapshot(tree));
  });

  test('-list shows a folder, marks folders, and -r lists the tree; --json types each entry', async () => {
    const top = await runLpf([server.address, '-list'], { env: fay });
    assert.equal(top.code, 0, top.stderr);
    assert.match(top.stdout, /^\s*-\s+\S+ \S+\s+tree\/$/m);
    const inside = await runLpf([server.address, '-list', 'tree/docs'], { env: fay });
    assert.deepEqual(
      inside.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(/\s{2,}/).at(-1)),
      ['2026/', 'empty.bin'],
    );
    const all = JSON.parse((await runLpf([server.address, '-list', '-r', 'tree', '--json'], { env: fay })).stdout) as {
      entries: { name: string; type: string; size: number }[];
    };
    const byName = new Map(all.entries.map((e) => [e.name, e]));
    assert.equal(byName.get('docs/2026/été')?.type, 'folder');
    assert.equal(byName.get('docs/2026/été/café ☕.txt')?.type, 'file');
    assert.equal(byName.get('日本/ネスト/もっと/big.bin')?.size, 5 * 1024 * 1024 + 17);
    assert.ok(
      all.entries.findIndex((e) => e.name === 'docs') < all.entries.findIndex((e) => e.name === 'docs/empty.bin'),
      'folders come before their content',
    );
  });

  test('at a terminal -list is a table with a header, sizes aligned, folders marked', { skip: skipWithoutScript() }, async () => {
    const r = await runInPty([process.execPath, LPF, server.address, '-list', 'tree/docs'], [], { env: fay });
    assert.equal(r.code, 0, r.screen);
    const lines = r.screen.split(/\r?\n/).filter((l) => /\S/.test(l));
    const header = lines.findIndex((l) => /SIZE\s+MODIFIED\s+NAME/.test(l));
    assert.ok(header >= 0, r.screen);
    const [folder, file] = lines.slice(header + 1, header + 3) as [string, string];
    assert.match(folder, /^\s*-\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+2026\/$/);
    assert.match(file, /^\s*0 B\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+empty\.bin$/);
    assert.equal(folder.indexOf('2026/'), file.indexOf('empty.bin'), 'names start in one column');
  });

  test('-mkdir makes parents, -rename moves files and folders, -delete removes files and only empty folders', async () => {
    const env = fay;
    assert.equal((await runLpf([server.address, '-mkdir', 'a/b/c'], { env })).code, 0);
    assert.equal((await runLpf([server.address, '-mkdir', 'a/b/c'], { env })).code, 0, 'an existing folder is fine');
    const local = join(dir.path, 'note.txt');
    await writeFile(local, 'moving note');
    assert.equal((await runLpf([server.address, '-upload', local, '--to', 'a/b/c/'], { env })).code, 0);
    assert.equal((await runLpf([server.address, '-rename', 'a/b/c/note.txt', 'a/moved.txt'], { env })).code, 0);
    assert.equal((await storedContent(server, 'fay', 'a/moved.txt'))?.toString(), 'moving note');
    assert.equal((await runLpf([server.address, '-rename', 'a/b', 'x'], { env })).code, 0);
    assert.equal(await storedKind(server, 'fay', 'x/c'), 'dir');

    const taken = await runLpf([server.address, '-rename', 'a/moved.txt', 'tree/readme.txt'], { env });
    assert.equal(taken.code, 14);
    assert.match(taken.stderr, /already exists.*\[LPF_ERR_EXISTS\]/);
    const intoItself = await runLpf([server.address, '-rename', 'x', 'x/c/x'], { env });
    assert.equal(intoItself.code, 8);

    const notEmpty = await runLpf([server.address, '-delete', 'x'], { env });
    assert.equal(notEmpty.code, 14);
    assert.match(notEmpty.stderr, /not empty.*\[LPF_ERR_NOT_EMPTY\]/);
    assert.equal((await runLpf([server.address, '-delete', 'x/c', 'x', 'a/moved.txt', 'a'], { env })).code, 0);
    const left = await storedNames(server, 'fay');
    assert.deepEqual(left.sort(), ['tree']);
    // The checksum follows a renamed file: -list --long still has it.
    const long = await runLpf([server.address, '-list', '--long', 'tree/docs/2026/été'], { env });
    assert.match(long.stdout, /[0-9a-f]{64}\s+café ☕\.txt/);
  });

  test('several files in one command, into a folder; one bad source fails alone', async () => {
    const files = ['one.txt', 'two.txt', 'three.txt'].map((n) => join(dir.path, n));
    for (const f of files) await writeFile(f, `content of ${f}`);
    const missing = join(dir.path, 'missing.txt');
    const up = await runLpf([server.address, '-upload', ...files, missing, '--to', 'inbox'], { env: fay });
    assert.equal(up.code, 9, up.stderr);
    assert.match(up.stderr, /missing\.txt: no such file/);
    assert.match(up.stderr, /1 of 4 could not be uploaded/);
    assert.deepEqual((await storedNames(server, 'fay', 'inbox')).sort(), ['one.txt', 'three.txt', 'two.txt']);

    const out = join(dir.path, 'out');
    const down = await runLpf([server.address, '-download', 'inbox/one.txt', 'inbox/nope', 'inbox/two.txt', '--to', out], { env: fay });
    assert.equal(down.code, 7, down.stderr);
    assert.deepEqual((await readdir(out)).sort(), ['one.txt', 'two.txt']);
    assert.equal(await readFile(join(out, 'two.txt'), 'utf8'), `content of ${files[1]}`);
  });

  test('a folder needs -r; missing folders on the way are made, a file in the way is refused', async () => {
    const folder = join(dir.path, 'plain-folder');
    await mkdir(folder, { recursive: true });
    const up = await runLpf([server.address, '-upload', folder], { env: fay });
    assert.equal(up.code, 14);
    assert.match(up.stderr, /is a folder; use -r/);
    const down = await runLpf([server.address, '-download', 'tree'], { env: fay, cwd: dir.path });
    assert.equal(down.code, 14);

    const local = join(dir.path, 'lonely.txt');
    await writeFile(local, 'x');
    const madeFolders = await runLpf([server.address, '-upload', local, '--to', 'new/place/lonely.txt'], { env: fay });
    assert.equal(madeFolders.code, 0, 'missing folders on the way to an exact name are made');
    assert.equal(await storedKind(server, 'fay', 'new/place/lonely.txt'), 'file');
    const fileInTheWay = await runLpf([server.address, '-upload', local, '--to', 'tree/readme.txt/x.txt'], { env: fay });
    assert.equal(fileInTheWay.code, 14);
    assert.match(fileInTheWay.stderr, /"tree\/readme.txt" is a file, not a folder/);
    const ontoFolder = await runLpf([server.address, '-upload', local, '--to', 'tree/docs/2026/été/'], { env: fay });
    assert.equal(ontoFolder.code, 0, 'a trailing "/" means into the folder');
    const inbox = await runLpf([server.address, '-upload', local, '--to', 'tree'], { env: fay });
    assert.equal(inbox.code, 0, 'an existing folder takes the file in');
    assert.equal(await storedKind(server, 'fay', 'tree/lonely.txt'), 'file');
  });

  test('paths cannot leave the user storage: traversal over the wire, and symbolic links inside it', async () => {
    const peer = await RawPeer.session(server.port, 'fay', 'fays-password', false);
    for (const request of [
      { type: 'mkdir', path: '../escape' },
      { type: 'rename', from: 'tree', to: '../../stolen' },
      { type: 'rename', from: '../other', to: 'mine' },
      { type: 'list', path: 'tree/../..' },
      { type: 'stat', path: '..' },
      { type: 'delete', name: 'tree/../../..' },
    ] as const) {
      peer.send(request);
      const reply = await peer.next();
      assert.equal(reply.type === 'error' && reply.code, 'LPF_ERR_BAD_NAME', JSON.stringify(request));
    }
    // The connection survives refusals: the next command works.
    peer.send({ type: 'stat', path: 'tree' });
    const entry = await peer.next();
    assert.equal(entry.type === 'entry' && entry.entry.dir, true);
    peer.close();

    // A symbolic link placed in the storage by someone with shell access leads nowhere (on the disk: S3 has no links).
    if (server.s3Prefix !== undefined) return;
    const outside = join(dir.path, 'outside');
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, 'secret'), 'not yours');
    await symlink(outside, join(server.root, 'files', 'fay', 'link'));
    const through = await runLpf([server.address, '-download', 'link/secret', '--to', join(dir.path, 'leak')], { env: fay });
    assert.notEqual(through.code, 0);
    const listed = await runLpf([server.address, '-list', '-r'], { env: fay });
    assert.doesNotMatch(listed.stdout, /link|secret/);
    const write = await runLpf([server.address, '-mkdir', 'link/inside'], { env: fay });
    assert.notEqual(write.code, 0);
    assert.deepEqual(await readdir(outside), ['secret']);
  });
});
