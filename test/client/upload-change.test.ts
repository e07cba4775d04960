/**
 * A local file written to while it is uploaded must not be stored as a mix of two versions. The
 * library against a real server: the file is changed from the progress callback, so at a point the
 * test chooses (after the first MiB was sent, before the rest was read), whatever the machine's speed.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, truncateSync, utimesSync, writeSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LpfClient } from '../../src/client/client.js';
import { LpfError } from '../../src/errors.js';
import { writeRandomFile } from '../helpers/files.js';
import { startServer, tempDir, type RunningServer } from '../helpers/processes.js';

const MiB = 1024 * 1024;

let server: RunningServer;
let dir: { path: string; cleanup(): Promise<void> };
let client: LpfClient;

before(async () => {
  server = await startServer({ args: ['--plain'] });
  dir = await tempDir();
  client = await LpfClient.connect({ host: '127.0.0.1', port: server.port }, { tls: { mode: 'plain' } });
  await client.register('cal', 'cals-password');
});
after(async () => {
  client.close();
  await server.stop();
  await dir.cleanup();
});

/** A file of `size` bytes dated 2020, so that any write moves its modification time, however coarse the clock. */
async function oldFile(name: string, size: number): Promise<string> {
  const path = join(dir.path, name);
  await writeRandomFile(path, size);
  utimesSync(path, new Date('2020-01-01'), new Date('2020-01-01'));
  return path;
}

/** Overwrites `length` bytes at `position` in place, at once. */
function overwrite(path: string, position: number, length: number): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.alloc(length, 0x5a), 0, length, position);
  } finally {
    closeSync(fd);
  }
}

test('a file overwritten in place during its upload fails with LPF_ERR_LOCAL_IO, nothing is stored, and the connection goes on', async () => {
  const size = 24 * MiB;
  const path = await oldFile('changing.bin', size);
  let changed = false;
  const upload = client.upload(path, 'changing.bin', (done) => {
    if (done > 0 && !changed) {
      changed = true;
      overwrite(path, 0, MiB); // already sent
      overwrite(path, size - MiB, MiB); // not read yet: without the check, the server would get a mix
    }
  });
  await assert.rejects(
    upload,
    (err: unknown) => err instanceof LpfError && err.code === 'LPF_ERR_LOCAL_IO' && /changed while it was being uploaded/.test(err.message),
  );
  assert.ok(changed);
  await assert.rejects(stat(join(server.root, 'files', 'cal', 'changing.bin')), { code: 'ENOENT' });
  assert.equal(client.closed, false, 'the upload was abandoned in step');
  assert.deepEqual(await readdir(join(server.root, 'partial', 'cal')), [], 'no partial kept');

  // The same connection carries the next upload, and the file, now still, goes whole.
  const again = await client.upload(path, 'changing.bin');
  assert.equal(again.size, size);
  assert.equal((await stat(join(server.root, 'files', 'cal', 'changing.bin'))).size, size);
});

test('a file that shrinks during its upload is not stored either', async () => {
  const path = await oldFile('shrinking.bin', 12 * MiB);
  let cut = false;
  const upload = client.upload(path, 'shrinking.bin', (done) => {
    if (done > 0 && !cut) {
      cut = true;
      truncateSync(path, 6 * MiB);
    }
  });
  await assert.rejects(upload, (err: unknown) => err instanceof LpfError && err.code === 'LPF_ERR_LOCAL_IO');
  await assert.rejects(stat(join(server.root, 'files', 'cal', 'shrinking.bin')), { code: 'ENOENT' });
  assert.equal(client.closed, false);
});
