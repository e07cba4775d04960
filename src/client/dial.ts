/**
 * Opening the connection to a server: plain TCP, or TLS 1.3 with the server
 * either verified by a CA (--ca) or pinned on first use (the default).
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { LpfError } from '../errors.js';
import { formatAddress, type ServerAddress } from './address.js';
import type { KnownHosts } from './known-hosts.js';

/** How the client secures its connection: not at all, by a CA, or by a pinned certificate. */
export type TlsPolicy =
  | { mode: 'plain' }
  /** Verify the server's certificate chain and name against these CA certificates (PEM). */
  | { mode: 'ca'; ca: string }
  /** Trust on first use: compare with the remembered fingerprint; ask `trustNewHost` about a new one. */
  | { mode: 'pin'; knownHosts: KnownHosts; trustNewHost(hostPort: string, fingerprint: string): Promise<boolean> };

/** Dials the server; resolves with a connected (and, for TLS, verified) socket. */
export async function dial(address: ServerAddress, policy: TlsPolicy, timeoutMs: number): Promise<Socket> {
  const socket = await connectSocket(address, policy, timeoutMs);
  if (policy.mode === 'pin') {
    try {
      await checkPinnedIdentity(socket as TLSSocket, address, policy);
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }
  socket.setNoDelay(true);
  return socket;
}

function connectSocket(address: ServerAddress, policy: TlsPolicy, timeoutMs: number): Promise<Socket> {
  const where = formatAddress(address);
  return new Promise((resolve, reject) => {
    const { host, port } = address;
    const socket =
      policy.mode === 'plain'
        ? netConnect({ host, port })
        : tlsConnect({
            host,
            port,
            servername: isIP(host) ? undefined : host,
            minVersion: 'TLSv1.3',
            ...(policy.mode === 'ca' ? { ca: policy.ca, rejectUnauthorized: true } : { rejectUnauthorized: false }),
          });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new LpfError('LPF_ERR_CONNECT', `could not connect to ${where}: timed out after ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.once(policy.mode === 'plain' ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(describeConnectError(err, where));
    });
  });
}

async function checkPinnedIdentity(socket: TLSSocket, address: ServerAddress, policy: Extract<TlsPolicy, { mode: 'pin' }>) {
  const hostPort = formatAddress(address);
  const cert = socket.getPeerX509Certificate();
  if (!cert) throw new LpfError('LPF_ERR_TLS', `${hostPort} presented no certificate`);
  const fingerprint = `SHA256:${cert.fingerprint256}`;
  const known = await policy.knownHosts.get(hostPort);
  if (known === fingerprint) return;
  if (known !== undefined) throw hostKeyChanged(hostPort, known, fingerprint, policy.knownHosts.path);
  if (!(await policy.trustNewHost(hostPort, fingerprint))) {
    throw new LpfError('LPF_ERR_HOST_KEY', `${hostPort} is not trusted: its certificate was refused`);
  }
  await policy.knownHosts.set(hostPort, fingerprint);
}

function hostKeyChanged(hostPort: string, known: string, seen: string, path: string): LpfError {
  const bar = '@'.repeat(62);
  return new LpfError(
    'LPF_ERR_HOST_KEY',
    [
      `the identity of ${hostPort} has changed; nothing was sent.`,
      bar,
      "@    WARNING: THE SERVER'S CERTIFICATE HAS CHANGED!           @",
      bar,
      'Someone could be intercepting your connection (a man-in-the-middle attack),',
      'or the server was given a new certificate.',
      `  remembered: ${known}`,
      `  presented:  ${seen}`,
      `If the change is expected, remove the line for ${hostPort} from ${path} and connect again.`,
    ].join('\n'),
  );
}

function describeConnectError(err: NodeJS.ErrnoException, where: string): LpfError {
  const code = err.code ?? '';
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /CERT|SELF_SIGNED|UNABLE_TO/.test(code)) {
    const hint =
      code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG'
        ? ' (the server may be running without TLS: then use --plain here too)'
        : '';
    return new LpfError('LPF_ERR_TLS', `TLS with ${where} failed: ${err.message}${hint}`, { cause: err });
  }
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused (is lpf-server running there?)'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'unknown host'
        : code === 'EHOSTUNREACH' || code === 'ENETUNREACH'
          ? 'host unreachable'
          : code === 'ECONNRESET'
            ? 'the server closed the connection during the handshake (is it running with --plain? then use --plain here too)'
            : err.message;
  return new LpfError('LPF_ERR_CONNECT', `could not connect to ${where}: ${why}`, { cause: err });
}
