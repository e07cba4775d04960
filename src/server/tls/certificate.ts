/**
 * The server's TLS identity: the files given by the admin, or a key and a
 * self-signed certificate made on first start and kept in the data folder
 * (as sshd makes its host keys). Clients pin its fingerprint on first use.
 */
import { X509Certificate, webcrypto } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LpfError } from '../../errors.js';
import { replaceFile } from '../../util/durable-file.js';

export interface TlsIdentity {
  cert: string;
  key: string;
  /** SHA-256 fingerprint of the certificate, as "AB:CD:…". */
  fingerprint: string;
  /** Where the key lives (for the permission check). */
  keyPath: string;
  created: boolean;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const VALID_DAYS = 3650;

/** Loads --cert/--key, or the identity under <root>/tls, creating it the first time. */
export async function loadTlsIdentity(root: string, certPath?: string, keyPath?: string): Promise<TlsIdentity> {
  if (certPath || keyPath) {
    if (!certPath || !keyPath) throw new LpfError('LPF_ERR_USAGE', '--cert and --key go together');
    return readIdentity(certPath, keyPath, false);
  }
  const dir = join(root, 'tls');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  try {
    return await readIdentity(cert, key, false);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const made = await createSelfSigned('lpf-server');
  // Key first, each through a temporary name: a crash never leaves a certificate without its key.
  await replaceFile(key, made.key, { mode: 0o600, durable: true });
  await replaceFile(cert, made.cert, { mode: 0o644, durable: true });
  return { ...(await readIdentity(cert, key, false)), created: true };
}

async function readIdentity(certPath: string, keyPath: string, created: boolean): Promise<TlsIdentity> {
  const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  let fingerprint: string;
  try {
    fingerprint = new X509Certificate(cert).fingerprint256;
  } catch (err) {
    throw new LpfError('LPF_ERR_USAGE', `${certPath} is not a PEM certificate`, { cause: err });
  }
  return { cert, key, fingerprint, keyPath, created };
}

/** A fresh ECDSA P-256 key and a self-signed certificate for it, both PEM. */
export async function createSelfSigned(commonName: string): Promise<{ cert: string; key: string }> {
  // Loaded only here: certificate generation happens once per server, never on a client.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: webcrypto.getRandomValues(new Uint8Array(8)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '7f'),
    name: `CN=${commonName}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + VALID_DAYS * 86_400_000),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { cert: cert.toString('pem'), key: toPem('PRIVATE KEY', pkcs8) };
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
