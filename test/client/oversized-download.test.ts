/**
 * The client library against a scripted server that sends more file data than it announced:
 * the download fails as a protocol error (not as a lost connection) and leaves no partial file
 * to be resumed from.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LpfClient } from '../../src/client/client.js';
import { ContentHasher, encodeDataHeader } from '../../src/protocol/index.js';
import { tempDir } from '../helpers/processes.js';
import { startScriptedServer, type ScriptedServer, type Script } from '../helpers/scripted-server.js';

const ANNOUNCED = Buffer.from('four');
const SENT = Buffer.from('four and then some more');

/** Answers hello and login; a download is announced at 4 bytes and sent with more. */
const lying: Script = (m, reply, socket) => {
  if (m.type === 'hello') reply({ type: 'welcome', version: 1, agent: 'scripted', maxData: 1 << 22 });
  if (m.type === 'login') reply({ type: 'authed', user: m.user });
  if (m.type === 'download') {
    const hasher = new ContentHasher();
    hasher.update(ANNOUNCED);
    reply({ type: 'file', name: m.name, size: ANNOUNCED.length, mtime: 0, offset: 0 });
    socket.write(Buffer.concat([encodeDataHeader(SENT.length), SENT]));
    reply({ type: 'end', sha256: hasher.digest() });
  }
};

let server: ScriptedServer;
let port: number;
before(async () => {
  server = await startScriptedServer(lying);
  port = server.port;
});
after(() => server.close());

test('more data than announced is a protocol error, and nothing is kept to resume from', async () => {
  const dir = await tempDir();
  try {
    const client = await LpfClient.connect({ host: '127.0.0.1', port }, { tls: { mode: 'plain' } });
    await client.login('u', 'p');
    await assert.rejects(client.download('x.bin', join(dir.path, 'x.bin')), {
      code: 'LPF_ERR_PROTOCOL',
      message: /more than the announced size/,
    });
    assert.equal(client.closed, true);
    assert.deepEqual(await readdir(dir.path), []);
  } finally {
    await dir.cleanup();
  }
});
