/** A self-signed certificate for this run's TLS servers (Node pipe, vsftpd), made with the openssl command. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runChecked } from './proc.js';

export interface Cert {
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
}

const OPENSSL = ['/usr/bin/openssl', '/usr/local/bin/openssl'];

/** ECDSA P-256 for 127.0.0.1, valid one day; undefined (with the reason) when openssl is not installed. */
export async function makeCert(dir: string): Promise<Cert | string> {
  const openssl = OPENSSL.find((p) => existsSync(p));
  if (!openssl) return 'openssl not installed: TLS rows skipped';
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  await runChecked(
    openssl,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { timeoutMs: 20_000 },
  );
  return { certPath, keyPath, cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
}
