/** Where -upload and -download put things: the cp/scp placement rules, without a server. */
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { planDownload, planUpload, type RemoteView } from '../../src/client/transfer-plan.js';
import type { ListEntry } from '../../src/protocol/index.js';
import { tempDir } from '../helpers/processes.js';

/** A server holding folder "photos" (with a/x.jpg) and file "notes.txt". */
const remote: RemoteView = {
  stat(path) {
    const known: Record<string, ListEntry> = {
      photos: { name: 'photos', size: 0, mtime: 0, dir: true },
      'notes.txt': { name: 'notes.txt', size: 5, mtime: 0 },
    };
    return Promise.resolve(known[path]);
  },
  tree(path) {
    assert.equal(path, 'photos');
    return Promise.resolve([
      { name: 'a', size: 0, mtime: 0, dir: true },
      { name: 'a/x.jpg', size: 3, mtime: 0 },
    ]);
  },
};

describe('planUpload', () => {
  let dir: { path: string; cleanup(): Promise<void> };
  before(async () => {
    dir = await tempDir();
    await mkdir(join(dir.path, 'tree', 'sub'), { recursive: true });
    await writeFile(join(dir.path, 'tree', 'sub', 'f.txt'), 'abc');
    await writeFile(join(dir.path, 'one.txt'), '1');
    await symlink('/etc', join(dir.path, 'tree', 'link'));
  });
  after(() => dir.cleanup());

  test('one file: its own name at the top, or --to as a name, or into a folder', async () => {
    const one = join(dir.path, 'one.txt');
    const at = async (to?: string) =>
      (await planUpload([one], { to, recursive: false }, remote)).steps.filter((s) => s.kind === 'file').map((s) => s.remote);
    assert.deepEqual(await at(), ['one.txt']);
    assert.deepEqual(await at('renamed.txt'), ['renamed.txt']);
    assert.deepEqual(await at('photos'), ['photos/one.txt'], 'an existing remote folder takes it in');
    assert.deepEqual(await at('new/'), ['new/one.txt'], 'a trailing slash means a folder');
  });

  test('-r: folders first, structure kept, symbolic links skipped; several sources go into --to', async () => {
    const plan = await planUpload([join(dir.path, 'tree'), join(dir.path, 'one.txt')], { to: 'dest', recursive: true }, remote);
    assert.deepEqual(
      plan.steps.map((s) => (s.kind === 'folder' ? `${s.remote}/` : s.remote)),
      ['dest/', 'dest/tree/', 'dest/tree/sub/', 'dest/tree/sub/f.txt', 'dest/one.txt'],
    );
    assert.deepEqual(plan.skipped, [join(dir.path, 'tree', 'link')]);
    assert.deepEqual(plan.problems, []);
  });

  test('a folder without -r and a missing file are problems of their own', async () => {
    const plan = await planUpload(
      [join(dir.path, 'tree'), join(dir.path, 'missing'), join(dir.path, 'one.txt')],
      { recursive: false },
      remote,
    );
    assert.deepEqual(
      plan.problems.map((p) => p.error.code),
      ['LPF_ERR_IS_FOLDER', 'LPF_ERR_LOCAL_IO'],
    );
    assert.deepEqual(
      plan.steps.map((s) => s.kind === 'file' && s.remote),
      ['one.txt'],
    );
  });
});

describe('planUpload: names that cannot go, and names that would meet', () => {
  let dir: { path: string; cleanup(): Promise<void> };
  before(async () => {
    dir = await tempDir();
    await mkdir(join(dir.path, 't', 'caf\u00e9'), { recursive: true }); // a folder, NFC
    await writeFile(join(dir.path, 't', 'cafe\u0301'), 'file, NFD');
    await writeFile(join(dir.path, 't', 'a\\b'), 'bad name');
    await writeFile(join(dir.path, 't', 'z'), 'z');
  });
  after(() => dir.cleanup());

  test('a refused name and a file meeting a folder are problems of their own; the rest is planned', async () => {
    const plan = await planUpload([join(dir.path, 't')], { recursive: true }, remote);
    assert.deepEqual(
      plan.problems.map((p) => [p.source, p.error.code]),
      [
        [join(dir.path, 't', 'a\\b'), 'LPF_ERR_BAD_NAME'],
        // "e" + accent sorts before "é": the NFD file comes first and keeps the name; the NFC folder is refused.
        [join(dir.path, 't', 'caf\u00e9'), 'LPF_ERR_EXISTS'],
      ],
    );
    assert.deepEqual(
      plan.steps.map((s) => s.remote),
      ['t', 't/caf\u00e9', 't/z'],
    );
  });
});

describe('planDownload', () => {
  test('a remote folder with -r becomes a local tree; names from the server are checked', async () => {
    const plan = await planDownload(['photos', 'notes.txt'], { to: 'out', recursive: true }, remote);
    assert.deepEqual(
      plan.steps.map((s) => (s.kind === 'folder' ? `${s.local}/` : `${s.remote} -> ${s.local}`)),
      ['out/', 'out/photos/', 'out/photos/a/', 'photos/a/x.jpg -> out/photos/a/x.jpg', 'notes.txt -> out/notes.txt'],
    );
    const evil: RemoteView = { ...remote, tree: () => Promise.resolve([{ name: '../../escape', size: 1, mtime: 0 }]) };
    const refused = await planDownload(['photos'], { recursive: true }, evil);
    assert.deepEqual(
      refused.problems.map((p) => p.error.code),
      ['LPF_ERR_BAD_NAME'],
    );
    assert.ok(refused.steps.every((s) => s.kind === 'folder'));
  });

  test('a listing that names one file in NFC and in NFD: the second is a collision, not a merge', async () => {
    const nfc = 'caf\u00e9';
    const nfd = 'cafe\u0301';
    const twice: RemoteView = {
      stat: (path) => Promise.resolve(path === 'names' ? { name: 'names', size: 0, mtime: 0, dir: true } : undefined),
      tree: () =>
        Promise.resolve([
          { name: nfc, size: 1, mtime: 0 },
          { name: nfd, size: 1, mtime: 0 },
          { name: 'plain', size: 1, mtime: 0 },
        ]),
    };
    const plan = await planDownload(['names'], { to: 'out', recursive: true }, twice);
    assert.deepEqual(
      plan.problems.map((p) => p.error.code),
      ['LPF_ERR_LOCAL_EXISTS'],
    );
    assert.match(plan.problems[0]?.error.message ?? '', /would both be the local/);
    assert.deepEqual(
      plan.steps.filter((s) => s.kind !== 'folder').map((s) => s.remote),
      [`names/${nfc}`, 'names/plain'],
    );
  });

  test('missing remote paths and folders without -r are problems', async () => {
    const plan = await planDownload(['nope', 'photos'], { recursive: false }, remote);
    assert.deepEqual(
      plan.problems.map((p) => p.error.code),
      ['LPF_ERR_NOT_FOUND', 'LPF_ERR_IS_FOLDER'],
    );
  });
});
