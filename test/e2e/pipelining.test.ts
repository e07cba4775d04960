/**
 * Pipelined uploads against the real server: several small uploads sent in
 * one burst are stored in the background while the next ones arrive, and
 * every answer still comes back in the order of the requests.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ContentHasher, encodeDataHeader, type Message } from '../../src/protocol/index.js';
import { asUser, runLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-client.js';
import { placeFile, storedContent, storedNames } from '../helpers/stored.js';
import { waitFor } from '../helpers/wait-for.js';

function checksum(content: Buffer): string {
  const hasher = new ContentHasher();
  hasher.update(content);
  return hasher.digest();
}

/** One upload as the client pipelines it: request, data and end, without waiting. */
function uploadBurst(peer: RawPeer, name: string, content: Buffer, sha256 = checksum(content)): void {
  peer.send({ type: 'upload', name, size: content.length });
  if (content.length > 0) peer.writeRaw(Buffer.concat([encodeDataHeader(content.length), content]));
  peer.send({ type: 'end', sha256 });
}

async function answers(peer: RawPeer, count: number): Promise<Message[]> {
  const got: Message[] = [];
  while (got.length < count) got.push(await peer.next());
  return got;
}

function summary(m: Message): string {
  if (m.type === 'error') return `error ${m.code}`;
  if (m.type === 'stored') return `stored ${m.name}`;
  return m.type;
}

describe('pipelined uploads', () => {
  let server: RunningServer;
  let dir: { path: string; cleanup(): Promise<void> };

  before(async () => {
    dir = await tempDir();
    server = await startServer({ args: ['--quota', '1MiB'] });
    await RawPeer.session(server.port, 'piper', 'pw', true).then((p) => p.close());
  });
  after(async () => {
    await server?.stop();
    await dir?.cleanup();
  });

  test('answers come in request order, a refused upload in the middle included, and the rest are stored', async () => {
    const peer = await RawPeer.session(server.port, 'piper', 'pw', false);
    const contents = Array.from({ length: 12 }, (_, i) => Buffer.from(`file number ${i}\n`.repeat(i + 1)));
    for (const [i, content] of contents.entries()) {
      // The sixth is corrupted in flight (wrong checksum); the ninth asks for more than the quota.
      if (i === 5) uploadBurst(peer, `p${i}`, content, '0'.repeat(64));
      else if (i === 8) peer.send({ type: 'upload', name: `p${i}`, size: 2 * 1024 * 1024 });
      else uploadBurst(peer, `p${i}`, content);
    }
    peer.send({ type: 'ping', nonce: 7 });
    const expected: string[] = [];
    for (let i = 0; i < contents.length; i++) {
      if (i === 5) expected.push('ready', 'error LPF_ERR_CHECKSUM');
      else if (i === 8) expected.push('error LPF_ERR_QUOTA');
      else expected.push('ready', `stored p${i}`);
    }
    expected.push('pong');
    assert.deepEqual((await answers(peer, expected.length)).map(summary), expected);
    for (const [i, content] of contents.entries()) {
      const stored = await storedContent(server, 'piper', `p${i}`);
      if (i === 5 || i === 8) assert.equal(stored, undefined, `p${i} must not be stored`);
      else assert.deepEqual(stored, content);
    }
    peer.close();
  });

  test('the same name twice in one burst: the later upload is the one kept', async () => {
    const peer = await RawPeer.session(server.port, 'piper', 'pw', false);
    for (let round = 0; round < 5; round++) uploadBurst(peer, 'same', Buffer.from(`version ${round}`));
    const got = await answers(peer, 10);
    assert.deepEqual(got.map(summary), Array.from({ length: 5 }, () => ['ready', 'stored same']).flat());
    assert.equal((await storedContent(server, 'piper', 'same'))?.toString(), 'version 4');
    peer.close();
  });

  test('a command after a burst sees every file of it', async () => {
    const peer = await RawPeer.session(server.port, 'piper', 'pw', false);
    for (let i = 0; i < 20; i++) uploadBurst(peer, `seen${i}`, Buffer.from(`seen ${i}`));
    peer.send({ type: 'list' });
    const got = await answers(peer, 41);
    const listing = got[40];
    assert.equal(listing?.type, 'list_page');
    const names = listing?.type === 'list_page' ? listing.entries.map((e) => e.name) : [];
    for (let i = 0; i < 20; i++) assert.ok(names.includes(`seen${i}`), `seen${i} listed`);
    peer.close();
  });

  test('a client that hangs up mid-burst: what was received in full is stored whole, nothing is torn', async () => {
    const peer = await RawPeer.session(server.port, 'piper', 'pw', false);
    const contents = Array.from({ length: 30 }, (_, i) => Buffer.alloc(3000 + i, i));
    for (const [i, content] of contents.entries()) uploadBurst(peer, `cut${i}`, content);
    await peer.next();
    const seenAs = `${peer.socket.localAddress}:${peer.socket.localPort}`;
    peer.close();
    // Whatever the server got to store is whole; nothing else appears under the final names.
    await waitFor(() => server.logs.some((l) => l.msg === 'disconnected' && l.peer === seenAs), { what: 'the server sees the hang-up' });
    for (const name of await storedNames(server, 'piper')) {
      if (!name.startsWith('cut')) continue;
      const i = Number(name.slice(3));
      assert.deepEqual(await storedContent(server, 'piper', name), contents[i]);
    }
  });

  test('lpf -upload of many small files stores every one byte for byte', async () => {
    const sources: string[] = [];
    for (let i = 0; i < 60; i++) {
      const path = join(dir.path, `small-${i}.txt`);
      await writeFile(path, `small file ${i}\n`.repeat(i * 7));
      sources.push(path);
    }
    const result = await runLpf([server.address, '-upload', ...sources, '--to', 'many/'], { env: asUser('piper', 'pw') });
    assert.equal(result.code, 0, result.stderr);
    for (const source of sources) {
      const name = source.slice(dir.path.length + 1);
      assert.deepEqual(await storedContent(server, 'piper', `many/${name}`), await readFile(source));
    }
    // The answers were matched to the right files: each line names its file.
    for (let i = 0; i < 60; i++) assert.match(result.stdout, new RegExp(`uploaded many/small-${i}\\.txt `));
  });

  test('lpf -download of many small files, one missing among them: the rest arrive byte for byte, in order', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `dl-${i}.txt`);
    await Promise.all(names.map((n, i) => placeFile(server, 'piper', n, `download ${i}\n`.repeat(i * 11))));
    const requested = [...names.slice(0, 20), 'no-such-file', ...names.slice(20)];
    const target = join(dir.path, 'downloads');
    await mkdir(target);
    const result = await runLpf([server.address, '-download', ...requested, '--to', `${target}/`], { env: asUser('piper', 'pw') });
    assert.equal(result.code, 7, result.stderr);
    assert.match(result.stderr, /no-such-file/);
    assert.match(result.stderr, /1 of 41 could not be downloaded/);
    for (const name of names) assert.deepEqual(await readFile(join(target, name)), await storedContent(server, 'piper', name));
    const reported = [...result.stdout.matchAll(/downloaded (dl-\d+\.txt)/g)].map((m) => m[1]);
    assert.deepEqual(reported, names, 'each file reported once, in the order asked');
  });
});

describe('pipelined transfers of mixed sizes', () => {
  let server: RunningServer;
  let dir: { path: string; cleanup(): Promise<void> };
  before(async () => {
    dir = await tempDir();
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
    await dir?.cleanup();
  });

  test('a mix of small, nearly 4 MiB and large files in one command arrives byte for byte both ways', async () => {
    const sizes = [10, 3 * 1024 * 1024, 0, 4 * 1024 * 1024 - 1, 5 * 1024 * 1024 + 3, 3 * 1024 * 1024, 7, 3 * 1024 * 1024 + 1];
    const mixDir = join(dir.path, 'mix');
    await mkdir(mixDir);
    const sources: string[] = [];
    for (const [i, size] of sizes.entries()) {
      const path = join(mixDir, `m${i}.bin`);
      await writeFile(path, randomBytes(size));
      sources.push(path);
    }
    const env = asUser('mixer', 'pw');
    const up = await runLpf([server.address, '-upload', ...sources, '--to', 'mix/'], { env: asUser('mixer', 'pw', true) });
    assert.equal(up.code, 0, up.stderr);
    const back = join(dir.path, 'mix-back');
    const down = await runLpf([server.address, '-download', 'mix', '-r', '--to', back], { env });
    assert.equal(down.code, 0, down.stderr);
    for (const [i] of sizes.entries())
      assert.deepEqual(await readFile(join(back, `m${i}.bin`)), await readFile(sources[i] as string), `m${i}.bin`);
  });
});
