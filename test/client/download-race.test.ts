/**
 * The client library against a minimal scripted server, to pin down timing
 * that a real server produces only sometimes: an answer and the file data
 * that follows it arriving in one TCP segment.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LpfClient } from '../../src/client/client.js';
import { ContentHasher, encodeDataHeader, encodeMessage } from '../../src/protocol/index.js';
import { tempDir } from '../helpers/processes.js';
import { startScriptedServer, type ScriptedServer, type Script } from '../helpers/scripted-server.js';

const CONTENT = Buffer.from('file data that arrives in the same segment as its announcement');

/** Answers hello, login and download; the download answer, its data and its end go out in one write. */
const script: Script = (m, reply, socket) => {
  if (m.type === 'hello') reply({ type: 'welcome', version: 1, agent: 'scripted', maxData: 1 << 22 });
  if (m.type === 'login') reply({ type: 'authed', user: m.user });
  if (m.type === 'download') {
    const hasher = new ContentHasher();
    hasher.update(CONTENT);
    socket.write(
      Buffer.concat([
        encodeMessage({ type: 'file', name: m.name, size: CONTENT.length, mtime: 0, offset: 0 }),
        encodeDataHeader(CONTENT.length),
        CONTENT,
        encodeMessage({ type: 'end', sha256: hasher.digest() }),
      ]),
    );
  }
};

let server: ScriptedServer;
let port: number;
before(async () => {
  server = await startScriptedServer(script);
  port = server.port;
});
after(() => server.close());

test('file data in the same segment as the "file" answer is written, not refused', async () => {
  const dir = await tempDir();
  try {
    for (let i = 0; i < 20; i++) {
      const client = await LpfClient.connect({ host: '127.0.0.1', port }, { tls: { mode: 'plain' } });
      await client.login('u', 'p');
      const target = join(dir.path, `got-${i}`);
      await client.download('x.bin', target);
      client.close();
      assert.deepEqual(await readFile(target), CONTENT);
    }
  } finally {
    await dir.cleanup();
  }
});
