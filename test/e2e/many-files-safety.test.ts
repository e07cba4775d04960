/**
 * Commands over many files must not lose or mix anything: a refused or colliding name is reported
 * and the rest still goes, long names download, a file changed while it is sent is not stored.
 * Real lpf and lpf-server processes on loopback.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeRandomFile } from '../helpers/files.js';
import { startHoldingProxy } from '../helpers/holding-proxy.js';
import { asUser, collect, spawnLpf, runLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';

const MiB = 1024 * 1024;

const NFC = 'caf\u00e9';
const NFD = 'cafe\u0301';

describe('many files, safely', () => {
  let server: RunningServer;
  let dir: { path: string; cleanup(): Promise<void> };

  const ann = asUser('ann', 'anns-password');
  /** The server's copy of one of ann's files. */
  const stored = (path: string) => join(server.root, 'files', 'ann', ...path.split('/'));

  before(async () => {
    server = await startServer();
    dir = await tempDir();
    assert.equal((await runLpf([server.address, '-list'], { env: asUser('ann', 'anns-password', true) })).code, 0);
  });
  after(async () => {
    await server.stop();
    await dir.cleanup();
  });

  test('-whoami with LPF_REGISTER=1 creates a missing account, then simply logs in to it', async () => {
    const first = await runLpf([server.address, '-whoami'], { env: asUser('wren', 'wrens-password', true) });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^wren on 127\.0\.0\.1:\d+ \(from LPF_USER; the account was created/);
    const again = await runLpf([server.address, '-whoami'], { env: asUser('wren', 'wrens-password', true) });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^wren on 127\.0\.0\.1:\d+ \(from LPF_USER\)$/m);
    const wrong = await runLpf([server.address, '-whoami'], { env: asUser('wren', 'not-the-password', true) });
    assert.equal(wrong.code, 6, 'a wrong password for an existing account is still refused');
    assert.match(wrong.stderr, /LPF_ERR_AUTH/);
  });

  test('-upload -r reports a refused local name, naming it, and still sends every other file', async () => {
    const tree = join(dir.path, 'refused');
    await mkdir(tree);
    for (const name of ['a', 'b\\c', 'z']) await writeFile(join(tree, name), `content of ${name}`);
    const r = await runLpf([server.address, '-upload', '-r', tree], { env: ann });
    assert.equal(r.code, 8, r.stderr);
    assert.match(r.stderr, /refused\/b\\c cannot be uploaded: invalid remote name.*\[LPF_ERR_BAD_NAME\]/);
    assert.match(r.stdout, /uploaded 2 of 3 files/);
    assert.match(r.stderr, /1 of 3 could not be uploaded/);
    assert.equal(await readFile(stored('refused/a'), 'utf8'), 'content of a');
    assert.equal(await readFile(stored('refused/z'), 'utf8'), 'content of z');
  });

  test('-upload -r of a tree deeper than 64 names: what fits is sent, the rest is one refusal, the counts are right', async () => {
    const tree = join(dir.path, 'deep');
    const folders = Array.from({ length: 100 }, (_, i) => `d${i + 1}`);
    await mkdir(join(tree, ...folders), { recursive: true });
    await writeFile(join(tree, 'top.txt'), 'top');
    await writeFile(join(tree, ...folders.slice(0, 62), 'ok.txt'), 'deep/ + 62 folders + ok.txt: 64 names');
    await writeFile(join(tree, ...folders.slice(0, 63), 'no.txt'), '65 names');
    await writeFile(join(tree, ...folders, 'bottom.txt'), 'far too deep');
    const r = await runLpf([server.address, '-upload', '-r', tree], { env: ann });
    assert.equal(r.code, 8, r.stderr);
    assert.match(r.stdout, /uploaded 2 of 4 files/);
    assert.match(r.stderr, /2 of 4 could not be uploaded/);
    assert.match(r.stderr, /d63\/no\.txt cannot be uploaded: .*65 names deep/);
    assert.match(r.stderr, /d63\/d64 cannot be uploaded: .*65 names deep/);
    assert.equal(
      await readFile(stored(['deep', ...folders.slice(0, 62), 'ok.txt'].join('/')), 'utf8'),
      'deep/ + 62 folders + ok.txt: 64 names',
    );
    assert.equal(await readFile(stored('deep/top.txt'), 'utf8'), 'top');
  });

  test('a folder the server cannot make counts as one failure of its own in "N of M"', async () => {
    const tree = join(dir.path, 'clash');
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'sub', 'f'), 'f');
    await writeFile(join(tree, 'g'), 'g');
    await mkdir(stored('clash'));
    await writeFile(stored('clash/sub'), 'a file where the folder would go');
    const r = await runLpf([server.address, '-upload', '-r', tree], { env: ann });
    assert.equal(r.code, 14, r.stderr);
    assert.match(r.stdout, /uploaded 1 of 3 files/);
    assert.match(r.stderr, /2 of 3 could not be uploaded/, 'the folder and the file in it');
    assert.equal(await readFile(stored('clash/g'), 'utf8'), 'g');
  });

  test('two local files that are one remote name (NFC and NFD): the second is refused, naming it, and nothing is merged', async () => {
    const folder = join(dir.path, 'unicode');
    await mkdir(folder);
    await writeFile(join(folder, NFC), 'composed');
    await writeFile(join(folder, NFD), 'decomposed');
    await writeFile(join(folder, 'other'), 'other');
    assert.equal((await readdir(folder)).length, 3, 'the local file system keeps both names');

    const tree = await runLpf([server.address, '-upload', '-r', folder], { env: ann });
    assert.equal(tree.code, 14, tree.stderr);
    assert.match(
      tree.stderr,
      new RegExp(`unicode/${NFC} and .*unicode/${NFD} would both be remote "unicode/${NFC}"; .*${NFC} was not uploaded`),
    );
    assert.match(tree.stderr, /1 of 3 could not be uploaded/);
    // Names sort in code-unit order, so the NFD one ("e" + accent) comes first and is the one sent.
    assert.equal(await readFile(stored(`unicode/${NFC}`), 'utf8'), 'decomposed');
    assert.equal(await readFile(stored('unicode/other'), 'utf8'), 'other');

    const glob = await runLpf([server.address, '-upload', join(folder, NFC), join(folder, NFD), '--to', 'globbed/'], { env: ann });
    assert.equal(glob.code, 14, glob.stderr);
    assert.match(glob.stdout, /uploaded 1 of 2 files/);
    assert.match(glob.stderr, /1 of 2 could not be uploaded/);
    assert.equal(await readFile(stored(`globbed/${NFC}`), 'utf8'), 'composed');
  });

  test('two remote files that are one local path are not merged either, even with --force', async () => {
    await mkdir(join(dir.path, 'src'));
    await writeFile(join(dir.path, 'src', 'x.txt'), 'first');
    for (const folder of ['one', 'two']) {
      const up = await runLpf([server.address, '-upload', join(dir.path, 'src', 'x.txt'), '--to', `${folder}/x.txt`], { env: ann });
      assert.equal(up.code, 0, up.stderr);
    }
    await writeFile(stored('two/x.txt'), 'second'); // a different content under the same base name
    const out = join(dir.path, 'out');
    const r = await runLpf([server.address, '-download', 'one/x.txt', 'two/x.txt', '--to', `${out}/`, '--force'], { env: ann });
    assert.equal(r.code, 9, r.stderr);
    assert.match(r.stderr, /"two\/x\.txt" and "one\/x\.txt" would both be the local .*out\/x\.txt; "two\/x\.txt" was not downloaded/);
    assert.match(r.stderr, /1 of 2 could not be downloaded/);
    assert.equal(await readFile(join(out, 'x.txt'), 'utf8'), 'first');

    // One file twice on the server's disk, once in NFD (put there by other means): the server lists the
    // exact NFC entry only (a listing from another server that names both is a planner unit test).
    await mkdir(stored('names'));
    await writeFile(stored(`names/${NFC}`), 'composed');
    await writeFile(stored(`names/${NFD}`), 'decomposed');
    await writeFile(stored('names/plain'), 'plain');
    const tree = await runLpf([server.address, '-download', '-r', 'names', '--to', `${out}/`, '--force'], { env: ann });
    assert.equal(tree.code, 0, tree.stderr);
    assert.equal(await readFile(join(out, 'names', 'plain'), 'utf8'), 'plain');
    assert.equal(await readFile(join(out, 'names', NFC), 'utf8'), 'composed');
    await assert.rejects(stat(join(out, 'names', NFD)), { code: 'ENOENT' });
  });

  test('names of 239 to 255 bytes download, alone and in a tree; a name the local disk cannot hold fails alone', async () => {
    const long = `${'L'.repeat(251)}.bin`; // 255 bytes: the longest name the server takes
    const near = `${'\u00e9'.repeat(119)}.txt`; // 242 bytes in UTF-8
    await mkdir(stored('long'));
    await writeFile(stored(`long/${long}`), 'longest');
    await writeFile(stored(`long/${near}`), 'near');
    await writeFile(stored('long/z'), 'z');

    const one = join(dir.path, 'one');
    await mkdir(one);
    const single = await runLpf([server.address, '-download', `long/${long}`, '--to', `${one}/`], { env: ann });
    assert.equal(single.code, 0, single.stderr);
    assert.equal(await readFile(join(one, long), 'utf8'), 'longest');
    assert.deepEqual(await readdir(one), [long], 'no side file is left');

    const tree = await runLpf([server.address, '-download', '-r', 'long', '--to', `${join(dir.path, 'tree')}/`], { env: ann });
    assert.equal(tree.code, 0, tree.stderr);
    assert.deepEqual((await readdir(join(dir.path, 'tree', 'long'))).sort(), [long, near, 'z'].sort());

    // Here the folder's path is so long that the name no longer fits in PATH_MAX (4096 bytes), though the
    // side files' shorter names do: the local file system cannot hold this name, and says so.
    let deep = join(dir.path, 'deep');
    while (deep.length < 3600) deep = join(deep, 'p'.repeat(200));
    deep = join(deep, 'q'.repeat(3845 - deep.length - 1));
    assert.equal(deep.length, 3845);
    await mkdir(deep, { recursive: true });
    const cramped = await runLpf([server.address, '-download', '-r', 'long', '--to', `${deep}/`], { env: ann });
    assert.equal(cramped.code, 9, cramped.stderr);
    assert.match(
      cramped.stderr,
      /cannot create .*L{251}\.bin: the name or path is too long for the local file system \[LPF_ERR_LOCAL_IO\]/,
    );
    assert.match(cramped.stderr, /1 of 3 could not be downloaded/);
    assert.deepEqual((await readdir(join(deep, 'long'))).sort(), [near, 'z'].sort(), 'the others are there, and no side file is left');
  });

  test('a file overwritten in place while it is uploaded is not stored, and the next file still goes', async () => {
    // The change must land after the upload began and before it ended, whatever the machine's speed: a
    // proxy stops passing the upload on after 4 MiB, so lpf cannot read much further (its socket backs
    // up) while the file is changed; then the proxy lets it finish. The file is dated 2020, so the write
    // moves its modification time however coarse the clock.
    const proxy = await startHoldingProxy(server.port);
    try {
      const big = join(dir.path, 'changing.bin');
      const size = 64 * MiB;
      await writeRandomFile(big, size);
      await utimes(big, new Date('2020-01-01'), new Date('2020-01-01'));
      const next = join(dir.path, 'next.txt');
      await writeFile(next, 'the next file');

      const held = proxy.holdAfter(4 * MiB);
      const child = spawnLpf([proxy.address, '-upload', big, next, '--to', 'changed/'], { env: ann });
      const run = collect(child, 60_000);
      await held;
      const fd = openSync(big, 'r+');
      try {
        writeSync(fd, Buffer.alloc(MiB, 0x5a), 0, MiB, 0); // sent already
        writeSync(fd, Buffer.alloc(MiB, 0x5a), 0, MiB, size - MiB); // not read yet
      } finally {
        closeSync(fd);
      }
      proxy.release();
      const r = await run;

      assert.equal(r.code, 9, r.stderr);
      assert.match(r.stderr, /changing\.bin changed while it was being uploaded; it was not stored.*\[LPF_ERR_LOCAL_IO\]/);
      assert.match(r.stderr, /1 of 2 could not be uploaded/);
      await assert.rejects(stat(stored('changed/changing.bin')), { code: 'ENOENT' });
      assert.equal(await readFile(stored('changed/next.txt'), 'utf8'), 'the next file');
      assert.deepEqual(await readdir(join(server.root, 'partial', 'ann')), [], 'no partial is kept');
    } finally {
      await proxy.close();
    }
  });
});
