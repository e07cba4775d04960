/**
 * Commands over many files must not lose or mix anything: a refused or colliding name is reported
 * and the rest still goes, long names download, a file changed while it is sent is not stored.
 * Real lpf and lpf-server processes on loopback.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asUser, runLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';

describe('many files, safely', () => {
  let server: RunningServer;
  let dir: { path: string; cleanup(): Promise<void> };

  before(async () => {
    server = await startServer();
    dir = await tempDir();
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
});
