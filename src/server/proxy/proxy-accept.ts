/**
 * --proxy-protocol: the load balancers trusted to name the client of a connection. A connection from one
 * of them must begin with a PROXY protocol header (proxy-header.ts); its client's address then stands for
 * the connection's in every rule per address and every log line. Any other connection is served as it is.
 */
import { BlockList, isIP, type Socket } from 'node:net';
import { LpfError } from '../../errors.js';
import { parseProxyHeader, type ProxySource } from './proxy-header.js';

/** The trusted balancers' addresses and networks. */
export class TrustedProxies {
  readonly #list = new BlockList();
  /** As given, for the logs. */
  readonly text: string;

  private constructor(text: string) {
    this.text = text;
  }

  /** Parses "10.0.0.5,10.0.1.0/24,::1"; throws LPF_ERR_USAGE naming the setting (`what`). */
  static parse(text: string, what: string): TrustedProxies {
    const trusted = new TrustedProxies(text);
    const items = text.split(',').map((item) => item.trim());
    for (const item of items) {
      const [address = '', bits, ...rest] = item.split('/');
      const version = isIP(address);
      const max = version === 4 ? 32 : 128;
      const prefix = bits === undefined ? max : /^[0-9]{1,3}$/.test(bits) ? Number(bits) : NaN;
      if (version === 0 || rest.length > 0 || !(prefix >= 0 && prefix <= max)) {
        throw new LpfError(
          'LPF_ERR_USAGE',
          `${what}: ${JSON.stringify(item)} is not an IP address or network (for example 10.0.0.5, 10.0.1.0/24 or fd00::/8)`,
        );
      }
      trusted.#list.addSubnet(address, prefix, version === 4 ? 'ipv4' : 'ipv6');
    }
    return trusted;
  }

  /** Whether a connection from `address` comes through a trusted balancer (an IPv4-mapped IPv6 address counts as IPv4). */
  trusts(address: string | undefined): boolean {
    if (address === undefined) return false;
    const version = isIP(address);
    return version !== 0 && this.#list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * Reads the PROXY protocol header at the start of `socket`, within `deadlineMs`; resolves with the client
 * it names (undefined: the balancer's own connection). What follows the header is put back, unread.
 */
export function readProxyHeader(socket: Socket, deadlineMs: number): Promise<ProxySource | undefined> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const finish = (err: Error | undefined, source?: ProxySource) => {
      clearTimeout(timer);
      socket.off('readable', onReadable).off('error', finish).off('close', onClose);
      if (err) reject(err);
      else resolve(source);
    };
    const timer = setTimeout(
      () => finish(new LpfError('LPF_ERR_TIMEOUT', `PROXY protocol: no complete header within ${deadlineMs / 1000} s`)),
      deadlineMs,
    );
    const onClose = () => finish(new LpfError('LPF_ERR_CONNECTION_LOST', 'PROXY protocol: closed before the end of the header'));
    const onReadable = () => {
      // Each chunk either completes the header or leaves it incomplete; the parser refuses one over its limit.
      for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null;) {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        let parsed;
        try {
          parsed = parseProxyHeader(buffered);
        } catch (err) {
          return finish(err as Error);
        }
        if (!parsed.done) continue;
        if (buffered.length > parsed.length) socket.unshift(buffered.subarray(parsed.length));
        return finish(undefined, parsed.source);
      }
    };
    socket.on('readable', onReadable).on('error', finish).on('close', onClose);
  });
}
