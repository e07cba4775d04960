/** Files an admin placed directly in a user's folder on the server, by other means than lpf. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { asUser, runLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';

describe('names in another Unicode form (NFD, as macOS writes them)', () => {
  let server: RunningServer;
  let dir: { path: string; cleanup(): Promise<void> };
  const alice = asUser('alice', 'alice-password');
  const cafeNfc = 'caf\u00e9.txt';
  const folderNfc = '\u00dcnterlagen';
  before(async () => {
    server = await startServer();
    dir = await tempDir();
    assert.equal((await runLpf([server.address, '-list'], { env: asUser('alice', 'alice-password', true) })).code, 0);
    const home = join(server.root, 'files', 'alice');
    await mkdir(join(home, folderNfc.normalize('NFD')), { recursive: true });
    await writeFile(join(home, cafeNfc.normalize('NFD')), 'un café, por favor');
    await writeFile(join(home, folderNfc.normalize('NFD'), 'be\u0301same.txt'), 'mucho');
  });
  after(async () => {
    await server.stop();
    await dir.cleanup();
  });

  test('what is listed (in NFC) can be downloaded, files and folders alike, with its checksum', async () => {
    const list = await runLpf([server.address, '-list', '--long'], { env: alice });
    assert.equal(list.code, 0, list.stderr);
    assert.ok(list.stdout.includes(cafeNfc) && list.stdout.includes(folderNfc), list.stdout);
    const contentHash = createHash('sha256').update(createHash('sha256').update('un café, por favor').digest()).digest('hex');
    assert.ok(list.stdout.includes(contentHash), `the checksum is computed from the file found: ${list.stdout}`);

    const file = await runLpf([server.address, '-download', cafeNfc, '--to', join(dir.path, 'cafe.txt')], { env: alice });
    assert.equal(file.code, 0, file.stderr);
    assert.equal(await readFile(join(dir.path, 'cafe.txt'), 'utf8'), 'un café, por favor');

    const tree = await runLpf([server.address, '-download', '-r', folderNfc, '--to', join(dir.path, 'tree')], { env: alice });
    assert.equal(tree.code, 0, tree.stderr);
    assert.equal(await readFile(join(dir.path, 'tree', 'b\u00e9same.txt'), 'utf8'), 'mucho');
  });
});
