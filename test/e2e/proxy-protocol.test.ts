/**
 * --proxy-protocol on a real lpf-server: a connection from a trusted address must begin with a PROXY
 * header, and the client it names is the connection's address for the limits per address and the logs.
 * Every connection here comes from 127.0.0.1, the trusted address: only the header tells them apart.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { encodeMessage, PROTOCOL_VERSION } from '../../src/protocol/index.js';
import { startServer, type RunningServer } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait-for.js';

/** A TLS connection to the server that first sends `header`, as a balancer with send-proxy does. */
async function throughBalancer(port: number, header: Buffer): Promise<RawPeer> {
  const tcp = tcpConnect(port, '127.0.0.1');
  await once(tcp, 'connect');
  tcp.write(header);
  const tls = tlsConnect({ socket: tcp, rejectUnauthorized: false });
  await once(tls, 'secureConnect');
  return RawPeer.over(tls);
}

function v1(address: string, port: number): Buffer {
  return Buffer.from(`PROXY TCP4 ${address} 127.0.0.1 ${port} 20215\r\n`);
}

/** A version 2 header (PROXY, TCP over IPv4) naming `address`:`port`. */
function v2(address: string, port: number): Buffer {
  const header = Buffer.from('0d0a0d0a000d0a515549540a2111000c' + '00'.repeat(12), 'hex');
  address.split('.').forEach((octet, i) => header.writeUInt8(Number(octet), 16 + i));
  header.writeUInt16BE(port, 24);
  return header;
}

describe('--proxy-protocol', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ defaultLimits: true, args: ['--proxy-protocol', '127.0.0.1', '--max-per-address', '1'] });
  });
  after(() => server?.stop());

  test("the header's client is counted by --max-per-address and logged, whatever the connection's own address", async () => {
    const first = await throughBalancer(server.port, v1('203.0.113.9', 4000));
    const again = await throughBalancer(server.port, v1('203.0.113.9', 4001));
    const other = await throughBalancer(server.port, v2('203.0.113.10', 4002));
    try {
      for (const peer of [first, other]) {
        peer.send({ type: 'hello', version: PROTOCOL_VERSION, agent: 'raw-test' });
        assert.equal((await peer.next()).type, 'welcome');
      }
      const refused = await again.next();
      assert.ok(refused.type === 'error' && refused.code === 'LPF_ERR_BUSY', JSON.stringify(refused));
      const peers = server.logs.filter((l) => l.msg === 'connected').map((l) => l.peer);
      assert.deepEqual(peers.sort(), ['203.0.113.10:4002', '203.0.113.9:4000']);
      assert.ok(server.logs.some((l) => l.msg === 'connection refused' && l.peer === '203.0.113.9'));
    } finally {
      for (const peer of [first, again, other]) peer.socket.destroy();
    }
  });

  test('a connection from a trusted address without a header is refused and logged', async () => {
    await assert.rejects(RawPeer.connect(server.port));
    const line = await waitFor(() => server.logs.find((l) => /must begin with a PROXY header/.test(String(l.msg))), {
      what: 'the refusal is logged',
    });
    assert.match(String(line.err), /does not begin with a PROXY protocol header/);
    assert.match(String(line.peer), /^127\.0\.0\.1:\d+$/);
  });

  test('with --plain too: the header and the first message in one write', async () => {
    const plain = await startServer({ args: ['--plain', '--proxy-protocol', '127.0.0.0/8'] });
    const socket = tcpConnect(plain.port, '127.0.0.1');
    try {
      await once(socket, 'connect');
      const peer = RawPeer.over(socket);
      const hello = encodeMessage({ type: 'hello', version: PROTOCOL_VERSION, agent: 'raw-test' });
      peer.writeRaw(Buffer.concat([v2('198.51.100.20', 5000), hello]));
      assert.equal((await peer.next()).type, 'welcome');
      assert.ok(plain.logs.some((l) => l.msg === 'connected' && l.peer === '198.51.100.20:5000'));
    } finally {
      socket.destroy();
      await plain.stop();
    }
  });

  test('a bad setting stops the server at start-up, naming it', async () => {
    await assert.rejects(
      startServer({ args: ['--proxy-protocol', '10.0.0.0/40'] }),
      /--proxy-protocol: "10\.0\.0\.0\/40" is not an IP address/,
    );
  });
});
