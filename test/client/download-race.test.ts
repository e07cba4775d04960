/**
 * The client library against a minimal scripted server, to pin down timing
 * that a real server produces only sometimes: an answer and the file data
 * that follows it arriving in one TCP segment.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LpfClient } from '../../src/client/client.js';
import { ContentHasher, FrameDecoder, encodeDataHeader, encodeMessage, type Message } from '../../src/protocol/index.js';
import { tempDir } from '../helpers/processes.js';

const CONTENT = Buffer.from('file data that arrives in the same segment as its announcement');

/** Answers hello, login and download; the download answer, its data and its end go out in one write. */
function scriptedServer(): Server {
  return createServer((socket) => {
    const reply = (m: Message) => socket.write(encodeMessage(m));
    const decoder = new FrameDecoder({
      data: () => {},
      message: (m) => {
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
      },
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
  });
}

let server: Server;
let port: number;
before(async () => {
  server = scriptedServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

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
