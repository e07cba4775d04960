/** Upload, download, list and delete through the real CLI and server processes. */
import assert from 'node:assert/strict';
import { access, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha256File, writeRandomFile } from '../helpers/files.js';
import { asUser, runLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';
import { storedContent, storedNames, storedSha256 } from '../helpers/stored.js';

describe('transfers', () => {
  let server: RunningServer;
  let dir: { path: string; cleanup(): Promise<void> };
  const alice = asUser('alice', 'correct horse');

  before(async () => {
    server = await startServer();
    dir = await tempDir();
    const r = await runLpf([server.address, '-list'], { env: asUser('alice', 'correct horse', true) });
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await server.stop();
    await dir.cleanup();
  });

  for (const [label, size] of [
    ['an empty file', 0],
    ['a 1-byte file', 1],
    ['a 50 MiB random file', 50 * 1024 * 1024],
  ] as const) {
    test(`upload then download ${label} is byte-identical`, async () => {
      const local = join(dir.path, `in-${size}`);
      const back = join(dir.path, `out-${size}`);
      await writeRandomFile(local, size);
      const up = await runLpf([server.address, '-upload', local, '--to', `file-${size}`], { env: alice });
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stdout, new RegExp(`uploaded file-${size}`));
      const down = await runLpf([server.address, '-download', `file-${size}`, '--to', back], { env: alice });
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await sha256File(back), await sha256File(local));
      assert.equal(await storedSha256(server, 'alice', `file-${size}`), await sha256File(local));
    });
  }

  test('the remote name defaults to the local base name, and GNU-style flags work', async () => {
    const local = join(dir.path, 'report.pdf');
    await writeFile(local, 'pdf bytes');
    const up = await runLpf([server.address, '--upload', local], { env: alice });
    assert.equal(up.code, 0, up.stderr);
    const cwd = join(dir.path, 'cwd');
    await mkdir(cwd);
    const down = await runLpf([server.address, '-download', 'report.pdf'], { env: alice, cwd });
    // Downloaded into the working directory under the remote name.
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await readFile(join(cwd, 'report.pdf'), 'utf8'), 'pdf bytes');
  });

  test('download refuses to overwrite a local file unless --force', async () => {
    const local = join(dir.path, 'keep.txt');
    await writeFile(local, 'new content');
    assert.equal((await runLpf([server.address, '-upload', local, '--to', 'keep.txt'], { env: alice })).code, 0);
    const target = join(dir.path, 'existing.txt');
    await writeFile(target, 'precious');
    const refused = await runLpf([server.address, '-download', 'keep.txt', '--to', target], { env: alice });
    assert.equal(refused.code, 9);
    assert.match(refused.stderr, /LPF_ERR_LOCAL_EXISTS/);
    assert.equal(await readFile(target, 'utf8'), 'precious');
    const forced = await runLpf([server.address, '-download', 'keep.txt', '--to', target, '--force'], { env: alice });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(await readFile(target, 'utf8'), 'new content');
    // No temporary files left beside it.
    assert.deepEqual(
      (await readdir(dir.path)).filter((n) => n.includes('lpf-part')),
      [],
    );
  });

  test('an upload replaces an existing remote file', async () => {
    const local = join(dir.path, 'v.txt');
    await writeFile(local, 'version 1');
    await runLpf([server.address, '-upload', local, '--to', 'v.txt'], { env: alice });
    await writeFile(local, 'version 2, longer');
    assert.equal((await runLpf([server.address, '-upload', local, '--to', 'v.txt'], { env: alice })).code, 0);
    assert.equal((await storedContent(server, 'alice', 'v.txt'))?.toString(), 'version 2, longer');
  });

  test('list shows names and sizes; delete removes; a missing file is an error', async () => {
    const local = join(dir.path, 'listed.bin');
    await writeRandomFile(local, 2048);
    await runLpf([server.address, '-upload', local, '--to', 'listed.bin'], { env: alice });
    const list = await runLpf([server.address, '-list'], { env: alice });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /2\.0 KiB .* listed\.bin/);

    const del = await runLpf([server.address, '-delete', 'listed.bin'], { env: alice });
    assert.equal(del.code, 0, del.stderr);
    assert.doesNotMatch((await runLpf([server.address, '-list'], { env: alice })).stdout, /listed\.bin/);

    const again = await runLpf([server.address, '-delete', 'listed.bin'], { env: alice });
    assert.equal(again.code, 7);
    assert.match(again.stderr, /LPF_ERR_NOT_FOUND/);
    const missing = await runLpf([server.address, '-download', 'no-such-file', '--to', join(dir.path, 'x')], { env: alice });
    assert.equal(missing.code, 7);
    assert.match(missing.stderr, /no such file/);
    await assert.rejects(access(join(dir.path, 'x')));
  });

  test('names in any script round-trip, and NFD input is stored as NFC', async () => {
    const names = ['résumé final.txt', '報告書.pdf', '🎉 party 🎉.png', 'spaces  and\ttab-free'.replace('\t', ' ')];
    for (const name of names) {
      const local = join(dir.path, 'unicode-src');
      await writeFile(local, name);
      const up = await runLpf([server.address, '-upload', local, '--to', name.normalize('NFD')], { env: alice });
      assert.equal(up.code, 0, up.stderr);
      const out = join(dir.path, 'unicode-out');
      const down = await runLpf([server.address, '-download', name, '--to', out, '--force'], { env: alice });
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await readFile(out, 'utf8'), name);
    }
    const stored = await storedNames(server, 'alice');
    for (const name of names) assert.ok(stored.includes(name.normalize('NFC')), `${name} stored as NFC`);
  });

  test('path-traversal and malformed names are refused before anything is stored', async () => {
    const local = join(dir.path, 'evil');
    await writeFile(local, 'x');
    const before = (await storedNames(server, 'alice')).sort();
    // (NUL cannot travel in argv; the server-side test sends it over the wire.)
    for (const name of ['../escape', '..', '.', 'a/../b', 'a\\b', 'bell\u0007', 'del\u007f', 'x'.repeat(256), '/../etc/passwd']) {
      const r = await runLpf([server.address, '-upload', local, '--to', name], { env: alice });
      assert.equal(r.code, 8, `${JSON.stringify(name)}: ${r.stderr}`);
      assert.match(r.stderr, /LPF_ERR_BAD_NAME/);
    }
    assert.deepEqual((await storedNames(server, 'alice')).sort(), before);
    if (server.s3Prefix === undefined) await assert.rejects(access(join(server.root, 'files', 'escape')));
  });

  test('20 clients upload and download at once, all byte-identical', async () => {
    const count = 20;
    const sources = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const path = join(dir.path, `many-${i}`);
        await writeRandomFile(path, 256 * 1024 + i);
        return path;
      }),
    );
    const ups = await Promise.all(sources.map((src, i) => runLpf([server.address, '-upload', src, '--to', `many-${i}`], { env: alice })));
    ups.forEach((r) => assert.equal(r.code, 0, r.stderr));
    const downs = await Promise.all(
      sources.map((_, i) => runLpf([server.address, '-download', `many-${i}`, '--to', join(dir.path, `many-back-${i}`)], { env: alice })),
    );
    downs.forEach((r) => assert.equal(r.code, 0, r.stderr));
    for (let i = 0; i < count; i++) {
      assert.equal(await sha256File(join(dir.path, `many-back-${i}`)), await sha256File(sources[i] as string));
    }
  });
});
