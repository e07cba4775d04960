/**
 * ClientContext, the one place that reads the server's answers, against a scripted server on
 * loopback: a refusal keeps the connection in step, any other failure ends it for good, and the
 * one-reader-at-a-time invariant is checked out loud.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ClientContext } from '../../src/client/context.js';
import { LpfError } from '../../src/errors.js';
import { encodeDataHeader } from '../../src/protocol/index.js';
import { startScriptedServer, type ScriptedServer, type Script } from '../helpers/scripted-server.js';

const ADDRESS = { host: '127.0.0.1', port: 0 };

/** Answers each request as scripted: a ping with a pong, a delete with a refusal, a stat with the wrong answer, a list with unasked DATA. */
const script: Script = (m, reply, socket) => {
  if (m.type === 'ping') reply({ type: 'pong', nonce: m.nonce });
  if (m.type === 'delete') reply({ type: 'error', code: 'LPF_ERR_NOT_FOUND', message: `no ${m.name}` });
  if (m.type === 'stat') reply({ type: 'ok' });
  if (m.type === 'list') socket.write(Buffer.concat([encodeDataHeader(3), Buffer.from('abc')]));
};

let server: ScriptedServer;
let port: number;
before(async () => {
  server = await startScriptedServer(script);
  port = server.port;
});
after(() => server.close());

async function connected(): Promise<ClientContext> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  return new ClientContext(socket, { ...ADDRESS, port }, 10_000);
}

const ping = { type: 'ping', nonce: 7 } as const;

describe('ClientContext', () => {
  test('a refusal is the command error, with the server code, and the next command goes on', async () => {
    const ctx = await connected();
    try {
      await assert.rejects(ctx.request({ type: 'delete', name: 'x' }, 'ok'), { code: 'LPF_ERR_NOT_FOUND' });
      assert.equal(ctx.failed, false);
      assert.equal((await ctx.request(ping, 'pong')).nonce, 7);
    } finally {
      ctx.conn.end();
    }
  });

  test('any other failure in a step ends the connection, and every later read fails with it', async () => {
    const ctx = await connected();
    const local = new LpfError('LPF_ERR_LOCAL_IO', 'cannot read the local file: permission denied');
    await assert.rejects(
      ctx.inStep(() => Promise.reject(local)),
      local,
    );
    assert.equal(ctx.failed, true);
    await assert.rejects(ctx.request(ping, 'pong'), { code: 'LPF_ERR_LOCAL_IO' });
  });

  test('an answer of the wrong type is a protocol error that ends the connection', async () => {
    const ctx = await connected();
    await assert.rejects(ctx.request({ type: 'stat', path: 'x' }, 'entry'), {
      code: 'LPF_ERR_PROTOCOL',
      message: /expected entry .* got ok/,
    });
    assert.equal(ctx.failed, true);
  });

  test('file data nobody asked for is a protocol error that ends the connection', async () => {
    const ctx = await connected();
    await assert.rejects(ctx.request({ type: 'list' }, 'list_page'), { code: 'LPF_ERR_PROTOCOL', message: /file data unasked/ });
    assert.equal(ctx.failed, true);
  });

  test('two readers of the answers at once break an invariant, loudly', async () => {
    const ctx = await connected();
    try {
      const first = ctx.expect('pong');
      await assert.rejects(ctx.expect('pong'), { code: 'ERR_ASSERTION', message: /two readers/ });
      ctx.conn.send(ping);
      assert.equal((await first).nonce, 7);
    } finally {
      ctx.conn.end();
    }
  });
});
