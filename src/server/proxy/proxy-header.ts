/**
 * The PROXY protocol header (versions 1 and 2, as HAProxy specifies them) that a TCP load balancer sends
 * before anything else, naming the client it forwards. Pure: bytes in, the header's length and the
 * client's address out; bytes after the header are the connection's own. Limits are checked before any
 * more is buffered: a version 1 header is one line of at most 107 bytes, a version 2 header at most
 * MAX_PROXY_HEADER_BYTES in all.
 */
import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import { LpfError } from '../../errors.js';

/** The 12 bytes that begin a version 2 header. */
const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const V2_FIXED_BYTES = 16;
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The longest version 1 line, CRLF included ("PROXY TCP6" with two full IPv6 addresses and ports). */
const V1_MAX_BYTES = 107;
/** A version 2 header with its TLVs: far more than any balancer sends (HAProxy: 28 bytes for IPv4, 52 for IPv6). */
export const MAX_PROXY_HEADER_BYTES = V2_FIXED_BYTES + 1024;

/** The client a balancer forwards. */
export interface ProxySource {
  address: string;
  port: number;
}

/**
 * Not enough bytes yet, or the whole header: its `length`, and the client it names (undefined for a
 * balancer's own connection, LOCAL or UNKNOWN, whose address is then the connection's).
 */
export type ProxyParse = { done: false } | { done: true; length: number; source: ProxySource | undefined };

/** Parses the header at the start of `bytes`; throws LPF_ERR_PROTOCOL when they cannot begin a valid one. */
export function parseProxyHeader(bytes: Buffer): ProxyParse {
  if (bytes.length === 0) return { done: false };
  if (bytes[0] === V1_PREFIX[0]) return parseV1(bytes);
  if (bytes[0] === V2_SIGNATURE[0]) return parseV2(bytes);
  throw malformed('the connection does not begin with a PROXY protocol header');
}

function parseV1(bytes: Buffer): ProxyParse {
  requirePrefix(bytes, V1_PREFIX, 'version 1');
  const end = bytes.subarray(0, V1_MAX_BYTES).indexOf('\r\n');
  if (end < 0) {
    if (bytes.length >= V1_MAX_BYTES) throw malformed(`a version 1 header must end within ${V1_MAX_BYTES} bytes`);
    return { done: false };
  }
  const line = bytes.subarray(0, end).toString('latin1');
  const [, family, source, destination, sourcePort, destinationPort, ...extra] = line.split(' ');
  const length = end + 2;
  if (family === 'UNKNOWN') return { done: true, length, source: undefined };
  const valid = family === 'TCP4' ? isIPv4 : family === 'TCP6' ? isIPv6 : undefined;
  if (!valid) throw malformed(`unknown version 1 family ${JSON.stringify(family ?? '')}`);
  if (extra.length > 0 || !valid(source ?? '') || !valid(destination ?? ''))
    throw malformed(`bad version 1 header ${JSON.stringify(line)}`);
  const port = portOf(sourcePort);
  portOf(destinationPort);
  return { done: true, length, source: { address: normalized(source as string, family === 'TCP4'), port } };
}

function parseV2(bytes: Buffer): ProxyParse {
  requirePrefix(bytes, V2_SIGNATURE, 'version 2');
  if (bytes.length < V2_FIXED_BYTES) return { done: false };
  const versionAndCommand = bytes[12] as number;
  if (versionAndCommand >> 4 !== 2) throw malformed(`unknown version ${versionAndCommand >> 4}`);
  const command = versionAndCommand & 0x0f;
  if (command > 1) throw malformed(`unknown command ${command}`);
  const length = V2_FIXED_BYTES + bytes.readUInt16BE(14);
  if (length > MAX_PROXY_HEADER_BYTES) throw malformed(`a ${length}-byte header is over the limit of ${MAX_PROXY_HEADER_BYTES}`);
  if (bytes.length < length) return { done: false };
  const family = bytes[13] as number;
  // LOCAL: the balancer's own connection (a health check); UNSPEC: it does not know the client.
  if (command === 0 || family === 0x00) return { done: true, length, source: undefined };
  const body = bytes.subarray(V2_FIXED_BYTES, length);
  if (family === 0x11 && body.length >= 12) {
    return { done: true, length, source: { address: [...body.subarray(0, 4)].join('.'), port: body.readUInt16BE(8) } };
  }
  if (family === 0x21 && body.length >= 36) {
    const groups = Array.from({ length: 8 }, (_, i) => body.readUInt16BE(i * 2).toString(16));
    return { done: true, length, source: { address: normalized(groups.join(':'), false), port: body.readUInt16BE(32) } };
  }
  throw malformed(`family 0x${family.toString(16).padStart(2, '0')} with ${body.length} address bytes is not TCP over IPv4 or IPv6`);
}

/** The bytes so far must be the start of `prefix`. */
function requirePrefix(bytes: Buffer, prefix: Buffer, what: string): void {
  const n = Math.min(bytes.length, prefix.length);
  if (!bytes.subarray(0, n).equals(prefix.subarray(0, n))) throw malformed(`not a ${what} PROXY protocol header`);
}

function portOf(text: string | undefined): number {
  if (text === undefined || !/^(0|[1-9][0-9]{0,4})$/.test(text) || Number(text) > 65535) {
    throw malformed(`bad port ${JSON.stringify(text ?? '')}`);
  }
  return Number(text);
}

/** An address as a socket's remoteAddress gives it (IPv6 compressed and in lower case). */
function normalized(address: string, ipv4: boolean): string {
  return ipv4 ? address : new SocketAddress({ address, family: 'ipv6' }).address;
}

function malformed(why: string): LpfError {
  return new LpfError('LPF_ERR_PROTOCOL', `PROXY protocol: ${why}`);
}
