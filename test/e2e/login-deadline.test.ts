/**
 * The login deadline is the peer's time to log in, not the server's time to check a password: sign-ups
 * that arrive in time are let finish even when their scrypt hashes queue past the deadline.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PROTOCOL_VERSION, type Message } from '../../src/protocol/index.js';
import { startServer, type RunningServer } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-client.js';

/**
 * Enough sign-ups that their scrypt hashes (about 90 ms each, a few at a time) and their accounts-file
 * writes (one at a time, under its lock) outlast the deadline.
 */
const SIGN_UPS = 16;

describe('login deadline', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ args: ['--login-timeout', '1', '--max-per-address', '1000', '--register-limit', '100000'] });
  });
  after(() => server.stop());

  test('sign-ups sent in time all finish, however long their hashing queues; a silent peer is still cut', async () => {
    // Each sign-up is sent as soon as its connection is up, well inside the deadline.
    const signUp = async (i: number) => {
      const peer = await RawPeer.connect(server.port);
      peer.send({ type: 'hello', version: PROTOCOL_VERSION, agent: 'deadline-test' });
      peer.send({ type: 'register', user: `early-${i}`, password: 'a-good-password' });
      return peer;
    };
    const peers = await Promise.all(Array.from({ length: SIGN_UPS }, (_, i) => signUp(i)));
    const silent = await RawPeer.connect(server.port);
    try {
      silent.send({ type: 'hello', version: PROTOCOL_VERSION, agent: 'silent' });
      const answers = await Promise.all(peers.map(async (peer) => [await peer.next(), await peer.next()]));
      const codes = answers.map(([, authed]) => codeOf(authed));
      assert.deepEqual(codes, Array<string>(SIGN_UPS).fill('authed'));
      assert.equal((await silent.next()).type, 'welcome');
      assert.equal(codeOf(await silent.next()), 'LPF_ERR_TIMEOUT');
    } finally {
      for (const peer of [...peers, silent]) peer.close();
    }
  });
});

function codeOf(message: Message | undefined): string {
  return message?.type === 'error' ? message.code : String(message?.type);
}
