/** sendRange, the sending side's hot path, against a fake connection: buffers, read-ahead and failures. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Connection } from '../../src/transport/connection.js';
import { sendRange } from '../../src/transport/send-file.js';
import { BufferPool } from '../../src/util/buffer-pool.js';

/**
 * A connection whose socket is always full: its writes are taken (their `written` called) only when the
 * sender waits for a drain, or when the test calls takeAll(): buffers come back on an event, not after a delay.
 */
function slowConnection(): { conn: Connection; sent: Buffer[]; takeAll: () => void } {
  const sent: Buffer[] = [];
  const untaken: (() => void)[] = [];
  const takeAll = () => {
    for (const written of untaken.splice(0)) written();
  };
  const fake = {
    encrypted: false,
    closed: false,
    sendData(chunk: Buffer, written?: () => void) {
      sent.push(Buffer.from(chunk));
      if (written) untaken.push(written);
      return false;
    },
    drained: async () => {
      await Promise.resolve(); // later than the write, as a real 'drain' is
      takeAll();
    },
  };
  return { conn: fake as unknown as Connection, sent, takeAll };
}

/** A reader of a file whose bytes are their position modulo 251; read number `failAt` fails with EIO. */
function reader(failAt = -1) {
  let reads = 0;
  return {
    read: (buffer: Buffer, position: number, length: number): Promise<number> => {
      if (reads++ === failAt) return Promise.reject(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
      for (let i = 0; i < length; i++) buffer[i] = (position + i) % 251;
      return Promise.resolve(length);
    },
  };
}

test('every byte is sent once, in order, and every buffer goes back to the pool', async () => {
  const pool = new BufferPool(1024, 4);
  const { conn, sent, takeAll } = slowConnection();
  const size = 10 * 1024 + 17;
  assert.equal(await sendRange(conn, reader(), 0, size, { onChunk: () => true, pool }), size);
  const all = Buffer.concat(sent);
  assert.equal(all.length, size);
  for (let i = 0; i < size; i += 997) assert.equal(all[i], i % 251);
  takeAll();
  const back = [pool.takeNow(), pool.takeNow(), pool.takeNow(), pool.takeNow()];
  assert.ok(back.every(Boolean), 'all 4 buffers are free again');
});

test('a read that fails while the buffer before it is being sent fails the transfer, not the process', async () => {
  const pool = new BufferPool(1024, 4);
  const { conn, takeAll } = slowConnection();
  // The second read is the read-ahead, started while the first buffer waits for the socket.
  await assert.rejects(sendRange(conn, reader(1), 0, 4096, { onChunk: () => true, pool }), /EIO/);
  takeAll();
  assert.ok([pool.takeNow(), pool.takeNow(), pool.takeNow(), pool.takeNow()].every(Boolean), 'no buffer is lost');
});

test('with the pool empty, it reads without looking ahead instead of waiting for a second buffer', async () => {
  const pool = new BufferPool(1024, 1);
  const { conn } = slowConnection();
  assert.equal(await sendRange(conn, reader(), 0, 8 * 1024, { onChunk: () => true, pool }), 8 * 1024);
});

test('stopping early (the peer answered) gives back the buffer read ahead', async () => {
  const pool = new BufferPool(1024, 2);
  const { conn, takeAll } = slowConnection();
  let chunks = 0;
  assert.equal(await sendRange(conn, reader(), 0, 8 * 1024, { onChunk: () => ++chunks < 3, pool }), 2 * 1024);
  takeAll();
  assert.ok(pool.takeNow() && pool.takeNow(), 'both buffers are free again');
});

test('with spareWhenSpent, a transfer goes on while stalled ones hold every buffer of the pool; the spares are not kept', async () => {
  const pool = new BufferPool(1024, 2);
  // A receiver that reads nothing: the writes of these two transfers are never taken, so their buffers never come back.
  const stalled = { encrypted: false, closed: false, sendData: () => false, drained: () => new Promise<void>(() => {}) };
  const stalledConn = stalled as unknown as Connection;
  for (let i = 0; i < 2; i++) void sendRange(stalledConn, reader(), 0, 4096, { onChunk: () => true, pool });
  await Promise.resolve();
  assert.equal(pool.takeNow(), undefined, 'the stalled transfers hold the whole pool');
  const { conn, sent, takeAll } = slowConnection();
  const size = 5 * 1024 + 3;
  assert.equal(await sendRange(conn, reader(), 0, size, { onChunk: () => true, pool, spareWhenSpent: true }), size);
  assert.equal(Buffer.concat(sent).length, size);
  takeAll();
  assert.equal(pool.allocated, 2);
  assert.equal(pool.takeNow(), undefined, 'a spare given back does not join the pool');
});
