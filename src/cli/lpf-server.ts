/** The `lpf-server` command: parse flags and environment, start the server, stop on a signal. */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { LpfError, toLpfError } from '../errors.js';
import { createLogger, type Logger, type LogLevel } from '../server/logger.js';
import { LpfServer } from '../server/server.js';
import type { WebServer } from '../server/web/web-server.js';
import { loadTlsIdentity, type TlsIdentity } from '../server/tls/certificate.js';
import { VERSION } from '../version.js';
import { DEFAULT_LIMITS, type ServerLimits } from '../server/limits/limits.js';
import { parseBytes, parseCommandLine, parseCount, parsePort, parseSeconds } from './args.js';
import { accountsFailure, accountsUrl, loadSettings, SETTING_FLAGS, type ServerSettings, type SettingName } from './server-config.js';
import type { LoginBackend } from '../server/accounts/backend.js';
import { chooseStorage } from './storage-setting.js';
import { TrustedProxies } from '../server/proxy/proxy-accept.js';
import { runUsers, USERS_FLAGS, USERS_HELP } from './users-command.js';
import { MIGRATE_FLAGS, MIGRATE_HELP, runMigrate } from './migrate-command.js';

export const DEFAULT_PORT = 20215;
export const DEFAULT_WEB_PORT = 20216;

const HELP = `lpf-server ${VERSION}: serve files to lpf clients

Usage: lpf-server [options]
       lpf-server users add|passwd|remove|list [NAME] [options]   (see lpf-server users --help)
       lpf-server migrate --from ROOT [--storage s3://…] [--accounts postgres://…]
                          move a single-machine installation   (see lpf-server migrate --help)

Every option can also be set by its environment variable or in the configuration file (TOML, keys
are the long option names: port = 20215, no-register = true, quota = "5G"). A flag wins over its
variable, which wins over the file, which wins over the default.

  --config FILE      configuration file (TOML)            LPF_CONFIG (default: ROOT/lpf-server.toml
                     if it exists; ROOT then comes from --root or LPF_ROOT only)
  --host ADDR        interface to listen on              LPF_HOST   (default: all interfaces)
  --port N           TCP port, 0 for any free port        LPF_PORT   (default: ${DEFAULT_PORT})
  --root DIR         data folder: accounts and files      LPF_ROOT   (default: ./lpf-data)
  --accounts URL     keep accounts, sessions and login    LPF_ACCOUNTS (default: ROOT/users.txt
                     throttles in PostgreSQL, shared by    and sessions.txt); PG* variables fill
                     a group of servers:                   what the URL leaves out; the password
                     postgres://USER@HOST:PORT/DATABASE    only from PGPASSWORD or ~/.pgpass
  --log-level LEVEL  fatal|error|warn|info|debug|silent   LPF_LOG_LEVEL (default: info)
  --no-register      refuse new accounts                  LPF_NO_REGISTER=1 (0 turns it off)
  --cert FILE        TLS certificate (PEM)                LPF_CERT   (default: ROOT/tls/cert.pem,
  --key FILE         its private key (PEM)                LPF_KEY     made on first start)
  --plain            no TLS: plain TCP, for use behind a TLS terminator only   LPF_PLAIN=1 (or 0)
                     (the web client then speaks plain HTTP)
  --web-port N       the web client's HTTPS port, 0 for   LPF_WEB_PORT (default: ${DEFAULT_WEB_PORT})
                     any free port
  --no-web           no web client                        LPF_NO_WEB=1 (0 turns it off)
  --health-port N    answer GET /health over HTTP         LPF_HEALTH_PORT (default: none)
                     (200 or 503, JSON), for a load balancer
  --health-host ADDR interface of the health check        LPF_HEALTH_HOST (default: 127.0.0.1)
  --proxy-protocol FROM  behind a TCP load balancer: its    LPF_PROXY_PROTOCOL (default: none)
                     addresses or networks, comma-separated (10.0.0.5,10.0.1.0/24); a
                     connection from one must begin with a PROXY protocol v1 or v2 header, whose
                     client address then counts for every limit per address and every log line

Files on S3-compatible object storage (default: ROOT/files on the local disk); credentials only from
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or the AWS shared config, never from a flag:
  --storage URL      s3://BUCKET[/PREFIX]                 LPF_STORAGE
  --s3-endpoint URL  the store, e.g. http://127.0.0.1:8080 LPF_S3_ENDPOINT (default: AWS)
  --s3-region R      its region                           LPF_S3_REGION (default: AWS_REGION or us-east-1)
  --s3-path-style    http://HOST/BUCKET/KEY URLs (most non-AWS stores)   LPF_S3_PATH_STYLE=1

Limits (defaults are safe for a public server; raise them for load tests):
  --max-connections N     open connections in all          LPF_MAX_CONNECTIONS (default: 1024)
  --max-per-address N     open connections per client IP   LPF_MAX_PER_ADDRESS (default: 32)
  --handshake-timeout S   seconds from connecting to hello LPF_HANDSHAKE_TIMEOUT (default: 10)
                          (the TLS handshake included)
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

Examples:
  lpf-server --port 20215 --root /srv/lpf
  lpf-server --config /etc/lpf-server.toml
  lpf-server users add alice --root /srv/lpf
`;

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Each limit from its flag, else its environment variable, else the configuration file, else its default. */
function parseLimits(settings: ServerSettings): ServerLimits {
  const d = DEFAULT_LIMITS;
  const get = (name: SettingName) => settings.text(name);
  const count = (name: SettingName, fallback: number, min = 1) => {
    const s = get(name);
    return s ? parseCount(s.value, s.what, min) : fallback;
  };
  const seconds = (name: SettingName, fallbackMs: number) => {
    const s = get(name);
    return s ? parseSeconds(s.value, s.what) : fallbackMs;
  };
  const bytes = (name: SettingName, fallback: number) => {
    const s = get(name);
    return s ? parseBytes(s.value, s.what) : fallback;
  };
  const freeAttempts = count('login-free-attempts', d.accountThrottle.freeAttempts, 0);
  const baseDelayMs = seconds('login-delay', d.accountThrottle.baseDelayMs);
  return {
    maxConnections: count('max-connections', d.maxConnections),
    maxPerAddress: count('max-per-address', d.maxPerAddress),
    handshakeTimeoutMs: seconds('handshake-timeout', d.handshakeTimeoutMs),
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
    ...SETTING_FLAGS,
    ...USERS_FLAGS,
    ...MIGRATE_FLAGS,
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  });
  const users = positionals[0] === 'users';
  const migrating = positionals[0] === 'migrate';
  if (values.help) return void process.stdout.write(users ? USERS_HELP : migrating ? MIGRATE_HELP : HELP);
  if (values.version) return void process.stdout.write(`lpf-server ${VERSION}\n`);
  const env = process.env;
  const strayMigrate = migrating ? undefined : Object.keys(MIGRATE_FLAGS).find((flag) => Object.hasOwn(values, flag));
  if (strayMigrate)
    throw new LpfError('LPF_ERR_USAGE', `--${strayMigrate} only goes with lpf-server migrate (see lpf-server migrate --help)`);
  if (migrating) {
    const { settings } = await loadSettings(values, env);
    await runMigrate(positionals.slice(1), values, settings);
    return process.exit(0); // the S3 client's sockets may still hold the event loop
  }
  if (users) {
    const { settings, root } = await loadSettings(values, env);
    await runUsers(positionals.slice(1), values, settings, root);
    return process.exit(0); // a prompt or standard input may still hold the event loop
  }
  if (positionals.length > 0) throw new LpfError('LPF_ERR_USAGE', `unexpected argument "${positionals[0]}" (see --help)`);
  const stray = Object.keys(USERS_FLAGS).find((flag) => Object.hasOwn(values, flag));
  if (stray) throw new LpfError('LPF_ERR_USAGE', `--${stray} only goes with lpf-server users (see lpf-server users --help)`);
  await serve(await loadSettings(values, env));
}

async function serve({ settings, root }: { settings: ServerSettings; root: string }): Promise<void> {
  const levelSetting = settings.text('log-level');
  const level = (levelSetting?.value ?? 'info') as LogLevel;
  if (!LEVELS.includes(level)) throw new LpfError('LPF_ERR_USAGE', `${levelSetting?.what}: must be one of ${LEVELS.join(', ')}`);
  const grace = settings.text('grace');
  const graceMs = grace ? parseSeconds(grace.value, grace.what) : 30_000;
  const portSetting = settings.text('port');
  const port = portSetting ? parsePort(portSetting.value, portSetting.what) : DEFAULT_PORT;
  const limits = parseLimits(settings);
  const plain = settings.on('plain');
  const allowRegistration = !settings.on('no-register');
  const accounts = accountsUrl(settings);
  const health = healthListener(settings);
  const proxies = settings.text('proxy-protocol');
  const proxyProtocol = proxies && TrustedProxies.parse(proxies.value, proxies.what);
  const log = await createLogger(level, process.stdout.isTTY === true);
  const files = await chooseStorage(settings);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const logins = accounts && (await openAccounts(accounts, limits, log));
  const tls = plain ? undefined : await loadTlsIdentity(root, settings.text('cert')?.value, settings.text('key')?.value);
  if (tls?.created) log.info({ path: `${root}/tls` }, 'created a TLS key and self-signed certificate');
  if (plain) log.warn('TLS is off (--plain): passwords and files cross the network unencrypted');
  const server = new LpfServer({
    host: settings.text('host')?.value,
    port,
    root,
    allowRegistration,
    tls,
    limits,
    log,
    logins,
    health,
    storage: files.storage,
    proxyProtocol,
  });
  const address = await server.listen();
  log.info(
    {
      host: address.address,
      port: address.port,
      root,
      storage: files.kind,
      bucket: files.where,
      config: settings.configPath,
      accounts: logins ? 'postgres' : 'files',
      proxyProtocol: proxyProtocol?.text,
      tls: tls ? 'on' : 'off',
      fingerprint: tls ? `SHA256:${tls.fingerprint}` : undefined,
      version: VERSION,
    },
    'listening',
  );
  const web = settings.on('no-web') ? undefined : await startWeb(settings, server, tls, log, limits);
  stopOnSignals(server, web, log, graceMs);
}

/** The web client, on --web-port with the server's TLS identity (its code is loaded only then); its URL goes to the log. */
async function startWeb(
  settings: ServerSettings,
  server: LpfServer,
  tls: TlsIdentity | undefined,
  log: Logger,
  limits: ServerLimits,
): Promise<WebServer> {
  const portSetting = settings.text('web-port');
  const port = portSetting ? parsePort(portSetting.value, portSetting.what) : DEFAULT_WEB_PORT;
  const host = settings.text('host')?.value;
  // Beside the bundle: dist/lpf-server.js serves dist/web/.
  const assets = fileURLToPath(new URL('web/', import.meta.url));
  const { WebServer } = await import('../server/web/web-server.js');
  const web = new WebServer({ host, port, tls, assets, attach: (peer) => server.attach(peer), log, limits });
  const address = await web.listen();
  const shown =
    host === undefined || host === '::' || host === '0.0.0.0'
      ? 'localhost'
      : address.address.includes(':')
        ? `[${address.address}]`
        : address.address;
  log.info({ url: `${tls ? 'https' : 'http'}://${shown}:${address.port}/`, port: address.port }, 'web client listening');
  return web;
}

/** Where the health check listens, if --health-port asks for one: loopback unless --health-host says otherwise. */
function healthListener(settings: ServerSettings): { host: string; port: number } | undefined {
  const port = settings.text('health-port');
  if (!port) return undefined;
  return { host: settings.text('health-host')?.value ?? '127.0.0.1', port: parsePort(port.value, port.what) };
}

/** The PostgreSQL login backend (loaded only when asked for); a clear error naming the setting when it cannot be used. */
async function openAccounts(setting: { value: string; what: string }, limits: ServerLimits, log: Logger): Promise<LoginBackend> {
  const { openPgBackend } = await import('../server/accounts/pg/pg-backend.js');
  try {
    const backend = await openPgBackend(setting.value, limits, log);
    log.info({ accounts: 'postgres', url: setting.value }, 'using the accounts database');
    return backend;
  } catch (err) {
    throw accountsFailure(setting, err);
  }
}

/** SIGTERM or SIGINT: a graceful shutdown (commands in flight get `graceMs`); a second signal stops at once. */
function stopOnSignals(server: LpfServer, web: WebServer | undefined, log: Logger, graceMs: number): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: stopping now');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    log.info({ signal, graceSeconds: graceMs / 1000 }, 'shutting down: no new connections; commands in flight may finish');
    // Once the lpf connections (the page's WebSockets among them) are done, whatever HTTP is left is cut.
    Promise.all([web?.close(), server.shutdown(graceMs).then(() => web?.closeAll())]).then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if ((err as Error)?.name === 'ExitPromptError') {
    process.stderr.write('lpf-server: cancelled; nothing was changed\n');
    process.exit(130);
  }
  const error = toLpfError(err);
  const hint = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? ' (is another server running on that port?)' : '';
  process.stderr.write(`lpf-server: error: ${error.message}${hint} [${error.code}]\n`);
  process.exit(error.exitCode);
});
