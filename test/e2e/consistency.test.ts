/** Many writers at once: registrations over the wire, and readers of a file being replaced. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROTOCOL_VERSION } from '../../src/protocol/index.js';
import { parseAccounts } from '../../src/server/accounts/file-accounts.js';
import { sha256File, writeRandomFile } from '../helpers/files.js';
import { asUser, runLpf, startServer, tempDir } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-client.js';
import { storedSha256 } from '../helpers/stored.js';
import { waitFor } from '../helpers/wait-for.js';

test('50 concurrent registrations, duplicates included, leave a well-formed accounts file with exactly the expected accounts', async () => {
  const server = await startServer();
  try {
    const names = Array.from({ length: 50 }, (_, i) => `member${i % 40}`); // 10 duplicates
    const replies = await Promise.all(
      names.map(async (user) => {
        const peer = await RawPeer.connect(server.port);
        try {
          peer.send({ type: 'hello', version: PROTOCOL_VERSION, agent: 'many' });
          await peer.next();
          peer.send({ type: 'register', user, password: `pw-${user}` });
          // 50 scrypt hashes and accounts-file writes queue on a busy machine: a bound that only stops a broken test.
          return await peer.next(120_000);
        } finally {
          peer.close();
        }
      }),
    );
    assert.equal(replies.filter((r) => r.type === 'authed').length, 40);
    for (const r of replies) if (r.type !== 'authed') assert.equal(r.type === 'error' && r.code, 'LPF_ERR_USER_EXISTS');
    const text = await readFile(join(server.root, 'users.txt'), 'utf8');
    const accounts = parseAccounts(text);
    assert.deepEqual([...accounts.keys()].sort(), Array.from({ length: 40 }, (_, i) => `member${i}`).sort());
    // Well-formed: every line is a comment or an account; no torn or doubled lines.
    for (const line of text.trimEnd().split('\n')) assert.match(line, /^(#.*|member\d+:scrypt:N=\d+,r=\d+,p=\d+:\S+:\S+)$/);
    // And each account logs in with its own password.
    const login = await runLpf([server.address, '-list'], { env: asUser('member7', 'pw-member7') });
    assert.equal(login.code, 0, login.stderr);
  } finally {
    await server.stop();
  }
});

test('a download of a file being replaced gets the old, complete version', async () => {
  const dir = await tempDir();
  const server = await startServer();
  try {
    await runLpf([server.address, '-list'], { env: asUser('reader', 'readers-password', true) });
    const oldFile = join(dir.path, 'old.bin');
    const newFile = join(dir.path, 'new.bin');
    await writeRandomFile(oldFile, 64 * 1024 * 1024);
    await writeRandomFile(newFile, 64 * 1024 * 1024);
    assert.equal(
      (await runLpf([server.address, '-upload', oldFile, '--to', 'doc.bin'], { env: asUser('reader', 'readers-password') })).code,
      0,
    );

    // A reader that stops reading mid-file: the server is then blocked in the middle of sending.
    const peer = await RawPeer.session(server.port, 'reader', 'readers-password', false);
    peer.send({ type: 'download', name: 'doc.bin' });
    await waitFor(() => peer.data >= 2 * 1024 * 1024, { what: 'the reader is 2 MiB into the file', everyMs: 5 });
    peer.socket.pause();
    const upload = await runLpf([server.address, '-upload', newFile, '--to', 'doc.bin'], { env: asUser('reader', 'readers-password') });
    assert.equal(upload.code, 0, upload.stderr);
    assert.ok(peer.data < 64 * 1024 * 1024, 'the replacement was stored while the download was in progress');
    peer.socket.resume();
    await waitFor(() => peer.data >= 64 * 1024 * 1024, { what: 'the reader has the whole file', everyMs: 10 });
    const { createHash } = await import('node:crypto');
    const oldDigest = createHash('sha256')
      .update(await readFile(oldFile))
      .digest('hex');
    assert.equal(peer.dataHash.digest('hex'), oldDigest, 'the reader got the old version, whole');
    peer.close();
    assert.equal(await storedSha256(server, 'reader', 'doc.bin'), await sha256File(newFile));
  } finally {
    await server.stop();
    await dir.cleanup();
  }
});
