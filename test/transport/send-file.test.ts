/** sendRange, the sending side's hot path, against a fake connection: buffers, read-ahead and failures. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Connection } from '../../src/transport/connection.js';
import { sendRange } from '../../src/transport/send-file.js';
import { BufferPool } from '../../src/util/buffer-pool.js';

/** A connection whose socket is always full: every write is taken after a moment, and drained() waits for it. */
function slowConnection(): { conn: Connection; sent: Buffer[] } {
  const sent: Buffer[] = [];
  const fake = {
    encrypted: false,
    closed: false,
    sendData(chunk: Buffer, written?: () => void) {
      sent.push(Buffer.from(chunk));
      setTimeout(() => written?.(), 5);
      return false;
    },
    drained: () => new Promise<void>((resolve) => setTimeout(resolve, 10)),
  };
  return { conn: fake as unknown as Connection, sent };
}

/** A reader of a file whose bytes are their position modulo 251; read number `failAt` fails with EIO. */
function reader(failAt = -1) {
  let reads = 0;
  return {
    read: async (buffer: Buffer, position: number, length: number) => {
      if (reads++ === failAt) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      for (let i = 0; i < length; i++) buffer[i] = (position + i) % 251;
      return length;
    },
  };
}

test('every byte is sent once, in order, and every buffer goes back to the pool', async () => {
  const pool = new BufferPool(1024, 4);
  const { conn, sent } = slowConnection();
  const size = 10 * 1024 + 17;
  assert.equal(await sendRange(conn, reader(), 0, size, { onChunk: () => true, pool }), size);
  const all = Buffer.concat(sent);
  assert.equal(all.length, size);
  for (let i = 0; i < size; i += 997) assert.equal(all[i], i % 251);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const back = [pool.takeNow(), pool.takeNow(), pool.takeNow(), pool.takeNow()];
  assert.ok(back.every(Boolean), 'all 4 buffers are free again');
});

test('a read that fails while the buffer before it is being sent fails the transfer, not the process', async () => {
  const pool = new BufferPool(1024, 4);
  const { conn } = slowConnection();
  // The second read is the read-ahead, started while the first buffer waits for the socket.
  await assert.rejects(sendRange(conn, reader(1), 0, 4096, { onChunk: () => true, pool }), /EIO/);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok([pool.takeNow(), pool.takeNow(), pool.takeNow(), pool.takeNow()].every(Boolean), 'no buffer is lost');
});

test('with the pool empty, it reads without looking ahead instead of waiting for a second buffer', async () => {
  const pool = new BufferPool(1024, 1);
  const { conn } = slowConnection();
  assert.equal(await sendRange(conn, reader(), 0, 8 * 1024, { onChunk: () => true, pool }), 8 * 1024);
});

test('stopping early (the peer answered) gives back the buffer read ahead', async () => {
  const pool = new BufferPool(1024, 2);
  const { conn } = slowConnection();
  let chunks = 0;
  assert.equal(await sendRange(conn, reader(), 0, 8 * 1024, { onChunk: () => ++chunks < 3, pool }), 2 * 1024);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(pool.takeNow() && pool.takeNow(), 'both buffers are free again');
});
