/** Starting lpf-server and the raw Node pipe server as child processes, and preparing lpf's accounts. */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatHash, hashPassword } from '../../src/server/accounts/password-hash.js';
import type { Cert } from './cert.js';
import { LOOPBACK, assertLoopback } from './net.js';
import { runChecked, startService, waitFor, type Service } from './proc.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** The real entry points a user runs (bin/ imports the esbuild bundle in dist/). */
export const LPF_BIN = join(REPO, 'bin', 'lpf.js');
export const LPF_SERVER_BIN = join(REPO, 'bin', 'lpf-server.js');

export function assertBuilt(): void {
  for (const file of ['lpf.js', 'lpf-server.js']) {
    if (!existsSync(join(REPO, 'dist', file))) throw new Error(`dist/${file} is missing: run "npm run build" (npm run bench does)`);
  }
}

export interface RunningServer {
  service: Service;
  port: number;
  /** Where uploaded files end up (for checking them). */
  filesDir: string;
}

/** Reads the port from the first JSON log line with "msg":"listening". */
async function listeningPort(logFile: string, service: Service): Promise<number> {
  return waitFor(`${service.name} to listen`, 15_000, async () => {
    if (service.exited()) throw new Error(`${service.name} exited at start: ${(await readFile(logFile, 'utf8')).slice(-500)}`);
    const text = await readFile(logFile, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.includes('"listening"')) continue;
      const port = (JSON.parse(line) as { port?: unknown }).port;
      if (typeof port === 'number' && port > 0) return port;
    }
    return undefined;
  });
}

/**
 * Writes lpf's accounts file before the server starts. Registering through
 * the protocol would cost one scrypt per user, one after the other (the file
 * is rewritten under a lock); every bench user shares one hash instead.
 */
export async function writeLpfAccounts(root: string, users: readonly string[], password: string): Promise<void> {
  await mkdir(root, { recursive: true });
  const hash = formatHash(await hashPassword(password));
  await writeFile(join(root, 'users.txt'), users.map((u) => `${u}:${hash}\n`).join(''), { mode: 0o600 });
}

/**
 * How lpf is reached: plain TCP, or TLS with the run's certificate. Builds
 * without TLS take no flag for plain and cannot do TLS; builds with TLS use
 * it by default and need --plain for plain TCP.
 */
export type LpfSecurity = { tls: false; flagged: boolean } | { tls: true; cert: Cert };

/** What this build of lpf can do, read from both commands' --help (the bench runs against older and newer builds). */
export interface LpfFeatures {
  /** TLS by default, --plain to turn it off; --cert/--key on the server, --ca on the client. */
  tls: boolean;
  /** Connection limits (--max-connections, --max-per-address) that a load test must raise. */
  limits: boolean;
}

export async function lpfFeatures(): Promise<LpfFeatures> {
  const [server, client] = await Promise.all([
    runChecked(process.execPath, [LPF_SERVER_BIN, '--help'], { timeoutMs: 20_000, env: lpfBaseEnv() }),
    runChecked(process.execPath, [LPF_BIN, '--help'], { timeoutMs: 20_000, env: lpfBaseEnv() }),
  ]);
  const s = server.stdout;
  const c = client.stdout;
  return {
    tls: s.includes('--plain') && s.includes('--cert') && c.includes('--ca') && c.includes('--plain'),
    limits: s.includes('--max-connections') && s.includes('--max-per-address'),
  };
}

let features: LpfFeatures = { tls: false, limits: false };

/** Records what lpfFeatures() found, for startLpfServer(). */
export function setLpfFeatures(found: LpfFeatures): void {
  features = found;
}

/** The server's flags for `security`. */
function serverFlags(security: LpfSecurity): string[] {
  if (security.tls) return ['--cert', security.cert.certPath, '--key', security.cert.keyPath];
  return security.flagged ? ['--plain'] : [];
}

/** The lpf CLI's flags for `security`: --ca with the run's certificate, so nothing is written to ~/.config/lpf/known_hosts. */
export function lpfClientFlags(security: LpfSecurity): string[] {
  if (security.tls) return ['--ca', security.cert.certPath];
  return security.flagged ? ['--plain'] : [];
}

/** host:port of a server of this run, as lpf's CLI takes it (always the loopback). */
export function lpfAddress(port: number, host = LOOPBACK): string {
  assertLoopback(host);
  return `${host}:${port}`;
}

/**
 * Starts lpf-server on the loopback with --port 0, logging at info level to a
 * file. Every client of the bench comes from 127.0.0.1, so the per-address
 * connection limit (32 by default) is raised to let `connections` in, and the
 * login time-out (120 s) to 10 minutes: a thousand clients connect at once and
 * log in one scrypt after another (two at a time on two cores: about 50 s on a
 * quiet machine, more on a busy one). `extra` adds flags and environment (files on S3).
 */
export async function startLpfServer(
  root: string,
  logFile: string,
  security: LpfSecurity,
  connections = 64,
  extra: { args?: readonly string[]; env?: Record<string, string> } = {},
): Promise<RunningServer> {
  const limits = features.limits
    ? ['--max-connections', String(connections + 64), '--max-per-address', String(connections + 64), '--login-timeout', '600']
    : [];
  const args = [
    LPF_SERVER_BIN,
    '--host',
    LOOPBACK,
    '--port',
    '0',
    '--root',
    root,
    '--log-level',
    'info',
    ...serverFlags(security),
    ...limits,
    ...(extra.args ?? []),
  ];
  const env = { ...lpfBaseEnv(), ...extra.env };
  const service = startService(security.tls ? 'lpf-server (TLS)' : 'lpf-server', process.execPath, args, { logFile, env });
  try {
    return { service, port: await listeningPort(logFile, service), filesDir: join(root, 'files') };
  } catch (err) {
    await service.stop();
    throw err;
  }
}

/** Starts the raw pipe server (plain, or TLS with the run's certificate) storing into `dir`. */
export async function startRawServer(
  rawPipe: string,
  dir: string,
  logFile: string,
  tls?: { certPath: string; keyPath: string },
): Promise<RunningServer> {
  await mkdir(dir, { recursive: true });
  const args = [rawPipe, 'serve', dir, ...(tls ? [tls.certPath, tls.keyPath] : [])];
  const service = startService(tls ? 'raw TLS server' : 'raw server', process.execPath, args, { logFile });
  try {
    return { service, port: await listeningPort(logFile, service), filesDir: dir };
  } catch (err) {
    await service.stop();
    throw err;
  }
}

/**
 * The environment for lpf's processes: none of the caller's LPF_* settings
 * (LPF_PLAIN would silently turn TLS off), and a configuration folder inside
 * the run's folder so that nothing lands in ~/.config/lpf.
 */
export function lpfBaseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('LPF_')) env[key] = value;
  if (configHome) env.XDG_CONFIG_HOME = configHome;
  // The bench measures the lpf protocol; the web client would also take port 20216, which servers started at once would share.
  env.LPF_NO_WEB = '1';
  return env;
}

let configHome: string | undefined;

/** Sets the folder lpfBaseEnv() gives as XDG_CONFIG_HOME (the run's folder). */
export function setLpfConfigHome(dir: string): void {
  configHome = dir;
}

/** Environment for one lpf CLI invocation: credentials through the environment, as a script would. */
export function lpfEnv(user: string, password: string): NodeJS.ProcessEnv {
  return { ...lpfBaseEnv(), LPF_USER: user, LPF_PASSWORD: password };
}

/**
 * Logs in once with `-login` (as a user or a script would before a series of commands), so that
 * later invocations with lpfBaseEnv() use the stored session instead of a password login each.
 */
export async function lpfLoginSession(address: string, flags: readonly string[], user: string, password: string): Promise<void> {
  await runChecked(process.execPath, [LPF_BIN, address, '-login', ...flags], { timeoutMs: 60_000, env: lpfEnv(user, password) });
}
