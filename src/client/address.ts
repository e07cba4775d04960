/** Parsing of the server address the user types: host:port, [ipv6]:port, or a host alone. */
import { isIPv6 } from 'node:net';
import { LpfError } from '../errors.js';

/** The port lpf-server listens on unless told otherwise. */
export const DEFAULT_PORT = 20215;

/** Where a server is: a host name or IP address, and a port. */
export interface ServerAddress {
  host: string;
  port: number;
}

/** Reads host:port, [ipv6]:port or a host alone (the default port); LPF_ERR_USAGE when malformed. */
export function parseAddress(text: string): ServerAddress {
  const bad = (why: string) => new LpfError('LPF_ERR_USAGE', `invalid server address "${text}": ${why}`);
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1] as string;
    portText = bracketed[2];
    if (!isIPv6(host)) throw bad('the part in brackets is not an IPv6 address');
  } else {
    const colon = text.lastIndexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    portText = colon === -1 ? undefined : text.slice(colon + 1);
    // "::1:20215" could be an address or an address and a port: only brackets tell.
    if (host.includes(':')) throw bad('write an IPv6 address in brackets, as [::1]:20215');
  }
  if (host === '') throw bad('the host is empty');
  if (!/^[A-Za-z0-9.\-_:%]+$/.test(host)) throw bad('the host has characters a host name cannot have');
  if (portText === undefined) return { host, port: DEFAULT_PORT };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) throw bad(`"${portText}" is not a port number (1-65535)`);
  return { host, port };
}

/** host:port as a user would type it back. */
export function formatAddress({ host, port }: ServerAddress): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
