/**
 * OpenSSH as a peer: a private sshd on a loopback port with a host key, a
 * user key and a configuration of its own in the run's folder (public-key
 * login of the current user only), driven by `sftp -b` batch files.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { LOOPBACK, freePort } from '../lib/net.js';
import { runChecked, startService, type Service } from '../lib/proc.js';
import { waitForPort } from './vsftpd.js';

export const SSHD_BIN = '/usr/sbin/sshd';
export const SFTP_BIN = '/usr/bin/sftp';
const KEYGEN_BIN = '/usr/bin/ssh-keygen';
/** Where sshd insists on its privilege-separation folder when it runs as root. */
const PRIVSEP_DIR = '/run/sshd';

export interface Sshd {
  service: Service;
  port: number;
  /** A folder the sftp user may write to (absolute paths are used in batch files). */
  uploadDir: string;
  /** sftp's arguments to run `batchFile`, with an optional cipher. */
  sftpArgs(batchFile: string, cipher?: string): string[];
  /** Something the bench did to the system to run it, for the notes. */
  note: string | undefined;
}

/** Why sftp cannot be measured here, or undefined when it can. */
export function sshdMissing(): string | undefined {
  if (!existsSync(SSHD_BIN)) return `OpenSSH server not installed (${SSHD_BIN}): apt-get install openssh-server`;
  if (!existsSync(SFTP_BIN) || !existsSync(KEYGEN_BIN)) return `OpenSSH client not installed (${SFTP_BIN}): apt-get install openssh-client`;
  return undefined;
}

export async function startSshd(dir: string): Promise<Sshd> {
  const sshDir = join(dir, 'ssh');
  const uploadDir = join(dir, 'sftp-root');
  await mkdir(sshDir, { recursive: true });
  await mkdir(uploadDir, { recursive: true });
  const hostKey = join(sshDir, 'host_key');
  const userKey = join(sshDir, 'user_key');
  await runChecked(KEYGEN_BIN, ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey], { timeoutMs: 10_000 });
  await runChecked(KEYGEN_BIN, ['-q', '-t', 'ed25519', '-N', '', '-f', userKey], { timeoutMs: 10_000 });
  await writeFile(join(sshDir, 'authorized_keys'), await readFile(`${userKey}.pub`, 'utf8'));

  let note: string | undefined;
  if (process.getuid?.() === 0 && !existsSync(PRIVSEP_DIR)) {
    // Debian's service unit creates it at boot; without systemd nobody has.
    await mkdir(PRIVSEP_DIR, { mode: 0o755 });
    note = `created ${PRIVSEP_DIR} (sshd's privilege-separation folder) to run the private sshd`;
  }
  const port = await freePort();
  const config = [
    `ListenAddress ${LOOPBACK}`,
    `Port ${port}`,
    `HostKey ${hostKey}`,
    `AuthorizedKeysFile ${join(sshDir, 'authorized_keys')}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The run's folder is not laid out the way StrictModes expects of a home directory.
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'UseDNS no',
    'PidFile none',
    'Subsystem sftp internal-sftp',
    'LogLevel ERROR',
  ];
  const configFile = join(sshDir, 'sshd_config');
  await writeFile(configFile, `${config.join('\n')}\n`);
  const knownHosts = join(sshDir, 'known_hosts');
  await writeFile(knownHosts, `[${LOOPBACK}]:${port} ${(await readFile(`${hostKey}.pub`, 'utf8')).trim()}\n`);

  const service = startService('sshd', SSHD_BIN, ['-D', '-e', '-f', configFile], { logFile: join(sshDir, 'sshd.log') });
  try {
    await waitForPort(service, port);
  } catch (err) {
    await service.stop();
    throw err;
  }
  const user = userInfo().username;
  return {
    service,
    port,
    uploadDir,
    note,
    sftpArgs: (batchFile, cipher) => [
      '-q',
      '-b',
      batchFile,
      '-F',
      '/dev/null', // no user or system ssh_config
      '-i',
      userKey,
      '-P',
      String(port),
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      ...(cipher ? ['-o', `Ciphers=${cipher}`] : []),
      `${user}@${LOOPBACK}`,
    ],
  };
}
