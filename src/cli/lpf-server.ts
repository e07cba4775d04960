/** The `lpf-server` command: parse flags and environment, start the server, stop on a signal. */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LpfError, toLpfError } from '../errors.js';
import { createLogger, type LogLevel } from '../server/logger.js';
import { LpfServer } from '../server/server.js';
import { loadTlsIdentity } from '../server/tls/certificate.js';
import { VERSION } from '../version.js';
import { DEFAULT_LIMITS, type ServerLimits } from '../server/limits/limits.js';
import { parseBytes, parseCommandLine, parseCount, parsePort, parseSeconds } from './args.js';

export const DEFAULT_PORT = 20215;

const HELP = `lpf-server ${VERSION}: serve files to lpf clients

Usage: lpf-server [options]

Options (each has an environment twin; a flag wins over the environment):
  --host ADDR        interface to listen on              LPF_HOST   (default: all interfaces)
  --port N           TCP port, 0 for any free port        LPF_PORT   (default: ${DEFAULT_PORT})
  --root DIR         data folder: accounts and files      LPF_ROOT   (default: ./lpf-data)
  --log-level LEVEL  fatal|error|warn|info|debug|silent   LPF_LOG_LEVEL (default: info)
  --no-register      refuse new accounts                  LPF_NO_REGISTER=1
  --cert FILE        TLS certificate (PEM)                LPF_CERT   (default: ROOT/tls/cert.pem,
  --key FILE         its private key (PEM)                LPF_KEY     made on first start)
  --plain            no TLS: plain TCP, for use behind a TLS terminator only   LPF_PLAIN=1

Limits (defaults are safe for a public server; raise them for load tests):
  --max-connections N     open connections in all          LPF_MAX_CONNECTIONS (default: 1024)
  --max-per-address N     open connections per client IP   LPF_MAX_PER_ADDRESS (default: 32)
  --login-timeout S       seconds to log in                LPF_LOGIN_TIMEOUT   (default: 120)
  --idle-timeout S        seconds without traffic          LPF_IDLE_TIMEOUT    (default: 300)
  --max-file-size SIZE    largest upload (e.g. 10G)        LPF_MAX_FILE_SIZE   (default: 10G)
  --quota SIZE            storage per account              LPF_QUOTA           (default: 10G)
  --min-password N        shortest password at sign-up     LPF_MIN_PASSWORD    (default: 8)
  --register-limit N      sign-ups per client IP per hour  LPF_REGISTER_LIMIT  (default: 5)
  --login-free-attempts N failed logins per account before LPF_LOGIN_FREE_ATTEMPTS (default: 3)
                          delays start (per client IP: 20)
  --login-delay S         first delay, doubling up to 60 s LPF_LOGIN_DELAY     (default: 1)
  --partial-ttl S         keep cut-off uploads this long   LPF_PARTIAL_TTL     (default: 86400, 24 h)
                          for a resume
  --session-ttl S         how long a login session lasts   LPF_SESSION_TTL     (default: 604800, 7 days)
  --grace S          on SIGTERM/SIGINT, seconds to let   LPF_GRACE  (default: 30)
                     commands in flight finish; a second signal stops at once
  -h, --help         show this help
  --version          show the version

Example:
  lpf-server --port 20215 --root /srv/lpf
`;

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Each limit from its flag, else its environment twin, else its default. */
function parseLimits(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): ServerLimits {
  const pick = (flag: string): string | undefined => {
    const value = values[flag];
    return typeof value === 'string' ? value : env[`LPF_${flag.toUpperCase().replace(/-/g, '_')}`];
  };
  const d = DEFAULT_LIMITS;
  const count = (flag: string, fallback: number, min = 1) => (pick(flag) === undefined ? fallback : parseCount(pick(flag) as string, `--${flag}`, min));
  const seconds = (flag: string, fallbackMs: number) => (pick(flag) === undefined ? fallbackMs : parseSeconds(pick(flag) as string, `--${flag}`));
  const bytes = (flag: string, fallback: number) => (pick(flag) === undefined ? fallback : parseBytes(pick(flag) as string, `--${flag}`));
  const freeAttempts = count('login-free-attempts', d.accountThrottle.freeAttempts, 0);
  const baseDelayMs = seconds('login-delay', d.accountThrottle.baseDelayMs);
  return {
    maxConnections: count('max-connections', d.maxConnections),
    maxPerAddress: count('max-per-address', d.maxPerAddress),
    loginTimeoutMs: seconds('login-timeout', d.loginTimeoutMs),
    idleTimeoutMs: seconds('idle-timeout', d.idleTimeoutMs),
    maxFileSize: bytes('max-file-size', d.maxFileSize),
    quotaBytes: bytes('quota', d.quotaBytes),
    minPasswordChars: count('min-password', d.minPasswordChars),
    registrationsPerHour: count('register-limit', d.registrationsPerHour, 0),
    partialTtlMs: seconds('partial-ttl', d.partialTtlMs),
    sessionTtlMs: seconds('session-ttl', d.sessionTtlMs),
    accountThrottle: { ...d.accountThrottle, freeAttempts, baseDelayMs },
    addressThrottle: { ...d.addressThrottle, freeAttempts: Math.max(freeAttempts, d.addressThrottle.freeAttempts), baseDelayMs },
  };
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(argv, {
    host: { type: 'string' },
    port: { type: 'string' },
    root: { type: 'string' },
    'log-level': { type: 'string' },
    'no-register': { type: 'boolean' },
    cert: { type: 'string' },
    key: { type: 'string' },
    plain: { type: 'boolean' },
    'max-connections': { type: 'string' },
    'max-per-address': { type: 'string' },
    'login-timeout': { type: 'string' },
    'idle-timeout': { type: 'string' },
    'max-file-size': { type: 'string' },
    quota: { type: 'string' },
    'min-password': { type: 'string' },
    'register-limit': { type: 'string' },
    'login-free-attempts': { type: 'string' },
    'login-delay': { type: 'string' },
    grace: { type: 'string' },
    'partial-ttl': { type: 'string' },
    'session-ttl': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  });
  if (values.help) return void process.stdout.write(HELP);
  if (values.version) return void process.stdout.write(`lpf-server ${VERSION}\n`);
  if (positionals.length > 0) throw new LpfError('LPF_ERR_USAGE', `unexpected argument "${positionals[0]}" (see --help)`);

  const env = process.env;
  const level = (values['log-level'] ?? env.LPF_LOG_LEVEL ?? 'info') as LogLevel;
  if (!LEVELS.includes(level)) throw new LpfError('LPF_ERR_USAGE', `--log-level must be one of ${LEVELS.join(', ')}`);
  const log = await createLogger(level, process.stdout.isTTY === true);
  const root = resolve(values.root ?? env.LPF_ROOT ?? 'lpf-data');
  const graceMs = parseSeconds(values.grace ?? env.LPF_GRACE ?? '30', '--grace');
  const plain = values.plain === true || env.LPF_PLAIN === '1';
  await mkdir(root, { recursive: true, mode: 0o700 });
  const tls = plain ? undefined : await loadTlsIdentity(root, values.cert ?? env.LPF_CERT, values.key ?? env.LPF_KEY);
  if (tls?.created) log.info({ path: `${root}/tls` }, 'created a TLS key and self-signed certificate');
  if (plain) log.warn('TLS is off (--plain): passwords and files cross the network unencrypted');
  const server = new LpfServer({
    host: values.host ?? (env.LPF_HOST || undefined),
    port: parsePort(values.port ?? env.LPF_PORT ?? String(DEFAULT_PORT), '--port'),
    root,
    allowRegistration: !(values['no-register'] || env.LPF_NO_REGISTER === '1'),
    tls,
    limits: parseLimits(values, env),
    log,
  });
  const address = await server.listen();
  log.info({ host: address.address, port: address.port, root, tls: tls ? 'on' : 'off', fingerprint: tls ? `SHA256:${tls.fingerprint}` : undefined, version: VERSION }, 'listening');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: stopping now');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    log.info({ signal, graceSeconds: graceMs / 1000 }, 'shutting down: no new connections; commands in flight may finish');
    server.shutdown(graceMs).then(() => {
      log.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const error = toLpfError(err);
  const hint = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? ' (is another server running on that port?)' : '';
  process.stderr.write(`lpf-server: error: ${error.message}${hint}\n`);
  process.exit(error.exitCode);
});
