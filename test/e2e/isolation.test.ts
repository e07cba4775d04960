/** One user can never see, read, overwrite or delete another's files. */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { asUser, runLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';
import { storedContent } from '../helpers/stored.js';

describe('two users', () => {
  let server: RunningServer;
  let dir: { path: string; cleanup(): Promise<void> };
  const alice = asUser('alice', 'alice-pw');
  const bob = asUser('bob', 'bob-pw');

  before(async () => {
    server = await startServer();
    dir = await tempDir();
    await runLpf([server.address, '-list'], { env: asUser('alice', 'alice-pw', true) });
    await runLpf([server.address, '-list'], { env: asUser('bob', 'bob-pw', true) });
    await writeFile(join(dir.path, 'secret.txt'), "alice's secret");
    const up = await runLpf([server.address, '-upload', join(dir.path, 'secret.txt')], { env: alice });
    assert.equal(up.code, 0, up.stderr);
  });
  after(async () => {
    await server.stop();
    await dir.cleanup();
  });

  test("bob does not see alice's files", async () => {
    const r = await runLpf([server.address, '-list'], { env: bob });
    assert.equal(r.code, 0);
    assert.doesNotMatch(r.stdout, /secret/);
  });

  test("bob cannot download or delete alice's file", async () => {
    const down = await runLpf([server.address, '-download', 'secret.txt', '--to', join(dir.path, 'stolen')], { env: bob });
    assert.equal(down.code, 7);
    const del = await runLpf([server.address, '-delete', 'secret.txt'], { env: bob });
    assert.equal(del.code, 7);
    assert.equal((await storedContent(server, 'alice', 'secret.txt'))?.toString(), "alice's secret");
  });

  test("bob uploading the same name does not touch alice's file", async () => {
    await writeFile(join(dir.path, 'bobs.txt'), "bob's version");
    const up = await runLpf([server.address, '-upload', join(dir.path, 'bobs.txt'), '--to', 'secret.txt'], { env: bob });
    assert.equal(up.code, 0, up.stderr);
    const back = join(dir.path, 'alice-back');
    await runLpf([server.address, '-download', 'secret.txt', '--to', back], { env: alice });
    assert.equal(await readFile(back, 'utf8'), "alice's secret");
  });
});
