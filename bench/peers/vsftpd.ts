/**
 * vsftpd as a peer: a private instance with its own configuration file in the
 * run's folder, listening on a loopback port, anonymous uploads into a
 * scratch folder, passive mode on the loopback, and explicit TLS (AUTH TLS)
 * with the run's certificate. Driven by curl, one process per command.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Cert } from '../lib/cert.js';
import { LOOPBACK, freePort } from '../lib/net.js';
import { startService, waitFor, type Service } from '../lib/proc.js';

export const VSFTPD_BIN = '/usr/sbin/vsftpd';
export const CURL_BIN = '/usr/bin/curl';

export interface Vsftpd {
  service: Service;
  port: number;
  /** The local folder behind ftp://…/up/. */
  uploadDir: string;
  /** Whether AUTH TLS is configured. */
  tls: boolean;
  /** ftp:// URL of a file in the upload folder. */
  url(name: string): string;
  /** curl's arguments for plain FTP, or explicit FTPS when `tls`; `-q` first so no ~/.curlrc applies. */
  curlArgs(tls: boolean): string[];
}

/** Why vsftpd cannot be used here, or undefined when it can. */
export function vsftpdMissing(): string | undefined {
  if (!existsSync(VSFTPD_BIN)) return `vsftpd not installed (${VSFTPD_BIN}): apt-get install vsftpd`;
  if (!existsSync(CURL_BIN)) return `curl not installed (${CURL_BIN})`;
  // vsftpd chroots anonymous sessions and switches to the "ftp" user: both need root.
  if (process.getuid?.() !== 0) return 'vsftpd needs root to chroot its sessions; run the bench as root to include it';
  return undefined;
}

export async function startVsftpd(dir: string, cert: Cert | undefined): Promise<Vsftpd> {
  const root = join(dir, 'ftp-root');
  const uploadDir = join(root, 'up');
  await mkdir(uploadDir, { recursive: true });
  await chmod(root, 0o755);
  await chmod(uploadDir, 0o777); // anonymous sessions run as the "ftp" user
  const port = await freePort();
  // Passive ports: a random block below Linux's ephemeral range, so it rarely meets another socket.
  const pasvMin = 21000 + Math.floor(Math.random() * 7000);
  const lines = [
    'listen=YES',
    'listen_ipv6=NO',
    `listen_address=${LOOPBACK}`,
    `listen_port=${port}`,
    'background=NO',
    // Debian's build enables a seccomp sandbox that rejects some syscalls in containers.
    'seccomp_sandbox=NO',
    'anonymous_enable=YES',
    'local_enable=NO',
    'no_anon_password=YES',
    'write_enable=YES',
    'anon_upload_enable=YES',
    'anon_mkdir_write_enable=YES',
    'anon_other_write_enable=YES',
    'anon_umask=022',
    `anon_root=${root}`,
    'allow_writeable_chroot=YES',
    'pasv_enable=YES',
    `pasv_address=${LOOPBACK}`,
    `pasv_min_port=${pasvMin}`,
    `pasv_max_port=${pasvMin + 500}`,
    'connect_from_port_20=NO',
    'xferlog_enable=NO',
    'dirmessage_enable=NO',
    `vsftpd_log_file=${join(dir, 'vsftpd.xfer.log')}`,
    'max_clients=0',
    'max_per_ip=0',
  ];
  if (cert) {
    lines.push(
      'ssl_enable=YES',
      `rsa_cert_file=${cert.certPath}`,
      `rsa_private_key_file=${cert.keyPath}`,
      'allow_anon_ssl=YES',
      // Plain and TLS clients share the instance: TLS is offered, not forced.
      'force_anon_logins_ssl=NO',
      'force_anon_data_ssl=NO',
      // curl does reuse the TLS session on the data connection, but not every build: do not depend on it.
      'require_ssl_reuse=NO',
      'ssl_ciphers=HIGH',
    );
  }
  const configFile = join(dir, 'vsftpd.conf');
  await writeFile(configFile, `${lines.join('\n')}\n`);
  const service = startService('vsftpd', VSFTPD_BIN, [configFile], { logFile: join(dir, 'vsftpd.log') });
  try {
    await waitForPort(service, port);
  } catch (err) {
    await service.stop();
    throw err;
  }
  return {
    service,
    port,
    uploadDir,
    tls: cert !== undefined,
    url: (name) => `ftp://${LOOPBACK}:${port}/up/${name}`,
    curlArgs: (tls) => ['-q', '-sS', ...(tls && cert ? ['--ssl-reqd', '--cacert', cert.certPath] : [])],
  };
}

/** Resolves once something accepts connections on the port (the peer prints nothing when ready). */
export async function waitForPort(service: Service, port: number): Promise<void> {
  await waitFor(`${service.name} on port ${port}`, 10_000, async () => {
    if (service.exited()) throw new Error(`${service.name} exited at start (see its log in the run folder)`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: LOOPBACK, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    return ok ? true : undefined;
  });
}
