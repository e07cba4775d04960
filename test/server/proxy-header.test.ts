/** The PROXY protocol header: v1 and v2 vectors, byte by byte, truncated and malformed input, its limits, and reading it from a socket. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { readProxyHeader, TrustedProxies } from '../../src/server/proxy/proxy-accept.js';
import { MAX_PROXY_HEADER_BYTES, parseProxyHeader } from '../../src/server/proxy/proxy-header.js';

const SIGNATURE = '0d0a0d0a000d0a515549540a';
/** HAProxy's send-proxy-v2 for 192.0.2.7:51000 → 198.51.100.1:20215 (PROXY command, TCP over IPv4). */
const V2_TCP4 = Buffer.from(`${SIGNATURE}2111000cc0000207c633640 1c7384ef7`.replace(/ /g, ''), 'hex');
/** 2001:db8::7 port 443 → ::1 port 20215 (TCP over IPv6). */
const V2_TCP6 = Buffer.from(
  `${SIGNATURE}21210024` + '20010db8000000000000000000000007' + '00000000000000000000000000000001' + '01bb' + '4ef7',
  'hex',
);
/** LOCAL: the balancer's own connection (no address block). */
const V2_LOCAL = Buffer.from(`${SIGNATURE}20000000`, 'hex');

test('v1: TCP4, TCP6 and UNKNOWN give the client and the header length; what follows is left alone', () => {
  const tcp4 = Buffer.from('PROXY TCP4 192.0.2.7 198.51.100.1 51000 20215\r\nhello');
  assert.deepEqual(parseProxyHeader(tcp4), { done: true, length: tcp4.length - 5, source: { address: '192.0.2.7', port: 51000 } });
  const tcp6 = Buffer.from('PROXY TCP6 2001:DB8:0:0::7 ::1 443 20215\r\n');
  assert.deepEqual(parseProxyHeader(tcp6), { done: true, length: tcp6.length, source: { address: '2001:db8::7', port: 443 } });
  const unknown = Buffer.from('PROXY UNKNOWN whatever follows\r\n');
  assert.deepEqual(parseProxyHeader(unknown), { done: true, length: unknown.length, source: undefined });
});

test('v2: TCP over IPv4 and IPv6, LOCAL and UNSPEC', () => {
  assert.deepEqual(parseProxyHeader(V2_TCP4), { done: true, length: 28, source: { address: '192.0.2.7', port: 51000 } });
  assert.deepEqual(parseProxyHeader(V2_TCP6), { done: true, length: 52, source: { address: '2001:db8::7', port: 443 } });
  assert.deepEqual(parseProxyHeader(V2_LOCAL), { done: true, length: 16, source: undefined });
  const unspec = Buffer.from(`${SIGNATURE}21000000`, 'hex');
  assert.deepEqual(parseProxyHeader(unspec), { done: true, length: 16, source: undefined });
  // TLVs after the addresses belong to the header.
  const withTlv = Buffer.concat([V2_TCP4, Buffer.from('0400020000', 'hex')]);
  withTlv.writeUInt16BE(12 + 5, 14);
  assert.deepEqual(parseProxyHeader(withTlv), { done: true, length: 33, source: { address: '192.0.2.7', port: 51000 } });
});

test('every truncation of a valid header is incomplete, never an error', () => {
  for (const header of [V2_TCP4, V2_TCP6, V2_LOCAL, Buffer.from('PROXY TCP4 192.0.2.7 198.51.100.1 51000 20215\r\n')]) {
    for (let n = 0; n < header.length; n++) assert.deepEqual(parseProxyHeader(header.subarray(0, n)), { done: false }, `${n} bytes`);
  }
});

test('malformed headers are refused with LPF_ERR_PROTOCOL as soon as the bytes show it', () => {
  const refused = [
    Buffer.from('\x16\x03\x01'), // a TLS ClientHello: the client did not come through the balancer
    Buffer.from('GET / HTTP/1.1\r\n'),
    Buffer.from('PROXZ'),
    Buffer.from('PROXY TCP4 192.0.2.7 198.51.100.1 51000\r\n'), // a port missing
    Buffer.from('PROXY TCP4 192.0.2.999 198.51.100.1 51000 20215\r\n'),
    Buffer.from('PROXY TCP4 ::1 198.51.100.1 51000 20215\r\n'),
    Buffer.from('PROXY TCP4 192.0.2.7 198.51.100.1 65536 20215\r\n'),
    Buffer.from('PROXY TCP4 192.0.2.7 198.51.100.1 051 20215\r\n'),
    Buffer.from('PROXY UDP4 192.0.2.7 198.51.100.1 51000 20215\r\n'),
    Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`), // no CRLF within 107 bytes
    Buffer.from(`${SIGNATURE.slice(0, 10)}ff`, 'hex'),
    Buffer.from(`${SIGNATURE}11110000`, 'hex'), // version 1 in a binary header
    Buffer.from(`${SIGNATURE}22110000`, 'hex'), // command 2
    Buffer.from(`${SIGNATURE}2111000800000000000000000000`, 'hex'), // TCP4 with too few address bytes
    Buffer.from(`${SIGNATURE}21310000`, 'hex'), // a UNIX socket
    Buffer.from(`${SIGNATURE}2111ffff`, 'hex'), // longer than the limit: refused before it is buffered
  ];
  for (const bytes of refused) assert.throws(() => parseProxyHeader(bytes), { code: 'LPF_ERR_PROTOCOL' }, bytes.toString('hex'));
  const atLimit = Buffer.alloc(MAX_PROXY_HEADER_BYTES);
  Buffer.from(`${SIGNATURE}2100`, 'hex').copy(atLimit);
  atLimit.writeUInt16BE(MAX_PROXY_HEADER_BYTES - 16, 14);
  assert.deepEqual(parseProxyHeader(atLimit), { done: true, length: MAX_PROXY_HEADER_BYTES, source: undefined });
});

test('--proxy-protocol: addresses and networks, IPv4-mapped addresses as IPv4, clear errors', () => {
  const trusted = TrustedProxies.parse('10.0.0.5, 192.168.1.0/24,fd00::/8', '--proxy-protocol');
  for (const address of ['10.0.0.5', '::ffff:10.0.0.5', '192.168.1.200', 'fd12::1']) assert.ok(trusted.trusts(address), address);
  for (const address of ['10.0.0.6', '192.168.2.1', '::1', 'unknown', undefined]) assert.ok(!trusted.trusts(address), String(address));
  for (const bad of ['', '10.0.0.5,', 'haproxy.local', '10.0.0.0/33', '10.0.0.0/8/8', '::/129', '10.0.0.0/x']) {
    assert.throws(() => TrustedProxies.parse(bad, 'LPF_PROXY_PROTOCOL'), { code: 'LPF_ERR_USAGE', message: /^LPF_PROXY_PROTOCOL: / }, bad);
  }
});

/** A connected pair of loopback sockets: what `client` writes, `server` reads. */
async function socketPair(): Promise<{ client: Socket; server: Socket; close(): void }> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const address = listener.address() as { port: number };
  const client = connect(address.port, '127.0.0.1');
  const [server] = (await once(listener, 'connection')) as [Socket];
  return {
    client,
    server,
    close() {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

test('read from a socket: the header sent a byte at a time, and what follows is read afterwards as sent', async () => {
  const pair = await socketPair();
  try {
    const reading = readProxyHeader(pair.server, 60_000);
    const bytes = Buffer.concat([V2_TCP6, Buffer.from('after the header')]);
    for (let i = 0; i < V2_TCP6.length; i++) {
      pair.client.write(bytes.subarray(i, i + 1));
      await new Promise((resolve) => setImmediate(resolve));
    }
    pair.client.end(bytes.subarray(V2_TCP6.length));
    assert.deepEqual(await reading, { address: '2001:db8::7', port: 443 });
    const rest: Buffer[] = [];
    for await (const chunk of pair.server) rest.push(chunk as Buffer);
    assert.equal(Buffer.concat(rest).toString(), 'after the header');
  } finally {
    pair.close();
  }
});

test('read from a socket: no header before the deadline, a close, or garbage each end the wait with an error', async () => {
  for (const [send, code] of [
    [undefined, 'LPF_ERR_TIMEOUT'],
    ['close', 'LPF_ERR_CONNECTION_LOST'],
    ['garbage', 'LPF_ERR_PROTOCOL'],
  ] as const) {
    const pair = await socketPair();
    try {
      const reading = readProxyHeader(pair.server, send === undefined ? 50 : 60_000);
      if (send === 'close') pair.client.end('PROXY TCP4');
      if (send === 'garbage') pair.client.write('\x16\x03\x01 a TLS hello');
      await assert.rejects(reading, { code });
    } finally {
      pair.close();
    }
  }
});
