/** Spawning the real lpf and lpf-server programs for end-to-end tests (loopback only). */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const REPO = resolve(import.meta.dirname, '../..');
export const LPF = join(REPO, 'bin/lpf.js');
export const LPF_SERVER = join(REPO, 'bin/lpf-server.js');

/**
 * A configuration folder of this test process's own (known_hosts lives there),
 * so tests never read or write the developer's ~/.config/lpf.
 */
export const TEST_CONFIG_HOME = mkdtempSync(join(tmpdir(), 'lpf-config-'));
process.once('exit', () => {
  void rm(TEST_CONFIG_HOME, { recursive: true, force: true });
});

/**
 * The environment without any LPF_* variables of the developer's shell, nor
 * the FORCE_COLOR that node --test sets when it runs at a terminal: what lpf
 * prints must not depend on where the tests run. A server's web client takes any
 * free port (LPF_WEB_PORT=0), so that servers started in parallel do not collide.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LPF_') && k !== 'FORCE_COLOR') env[k] = v;
  return { ...env, NO_COLOR: '1', XDG_CONFIG_HOME: TEST_CONFIG_HOME, LPF_WEB_PORT: '0', ...extra };
}

let sharedIdentity: Promise<string[]> | undefined;

/**
 * --cert/--key flags for one certificate shared by every server of this test
 * process: an ephemeral port reused by a later server then still presents the
 * fingerprint the client remembered. Tests of certificate handling opt out.
 */
function sharedCertificateArgs(): Promise<string[]> {
  sharedIdentity ??= (async () => {
    const { createSelfSigned } = await import('../../src/server/tls/certificate.js');
    const { cert, key } = await createSelfSigned('lpf-test');
    const dir = join(TEST_CONFIG_HOME, 'server-tls');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
    await writeFile(join(dir, 'cert.pem'), cert);
    await writeFile(join(dir, 'key.pem'), key, { mode: 0o600 });
    return ['--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem')];
  })();
  return sharedIdentity;
}

export interface RunningServer {
  port: number;
  root: string;
  /** The bucket prefix of its files when they are on S3 (see stored.ts), else undefined. */
  s3Prefix: string | undefined;
  address: string;
  process: ChildProcess;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  /** Resolves with the exit code when the server exits by itself. */
  exited: Promise<number | null>;
  /** Stops the server (if running), removes a temporary root, and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface ServerOptions {
  root?: string;
  args?: string[];
  /** Let the server make (or reuse) its own certificate in its root instead of the shared test one. */
  ownCertificate?: boolean;
  port?: number;
  /** Keep the server's safe default limits instead of the raised ones functional tests need. */
  defaultLimits?: boolean;
  /**
   * Files on S3 (a Swift shared by the test process, see swift.ts) under this prefix of its bucket, or on
   * the disk with 'disk'. By default: on S3 under a prefix of the server's own when LPF_TEST_STORAGE=s3.
   */
  storage?: { s3Prefix: string } | 'disk';
}

/** Whether this test run keeps servers' files on S3 (LPF_TEST_STORAGE=s3). */
export const ON_S3 = process.env.LPF_TEST_STORAGE === 's3';

/** The flags and environment that put a server's files on the shared Swift under `prefix`. */
export async function s3ServerArgs(prefix: string): Promise<{ args: string[]; env: Record<string, string> }> {
  const { sharedSwift } = await import('./swift.js');
  const swift = await sharedSwift();
  return {
    args: ['--storage', `s3://${swift.bucket}/${prefix}`, '--s3-endpoint', swift.endpoint, '--s3-path-style'],
    env: swift.env,
  };
}

/**
 * Functional tests run many clients and sign-ups from 127.0.0.1 with short
 * passwords: they raise those limits explicitly, as the README tells load
 * tests to. The limits themselves are tested with their defaults.
 */
/** How long stop() waits after its signal (the default --grace is 30 s) before it kills the server and fails. */
const STOP_TIMEOUT_MS = 60_000;

const RAISED_LIMITS = ['--max-per-address', '1000', '--register-limit', '100000', '--min-password', '1'];

/** Starts lpf-server on 127.0.0.1 with an ephemeral port and a fresh temporary root. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const root = options.root ?? (await mkdtemp(join(tmpdir(), 'lpf-e2e-')));
  const args = [...(options.defaultLimits ? [] : RAISED_LIMITS), ...(options.args ?? [])];
  if (!options.ownCertificate && !args.includes('--plain') && !args.includes('--cert')) args.push(...(await sharedCertificateArgs()));
  const port = String(options.port ?? 0);
  let storageEnv: Record<string, string> = {};
  const storage = options.storage ?? (ON_S3 ? { s3Prefix: randomBytes(8).toString('hex') } : 'disk');
  if (storage !== 'disk') {
    const s3 = await s3ServerArgs(storage.s3Prefix);
    args.push(...s3.args);
    storageEnv = s3.env;
  }
  const child = spawn(process.execPath, [LPF_SERVER, '--host', '127.0.0.1', '--port', port, '--root', root, ...args], {
    env: cleanEnv(storageEnv),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const boundPort = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 10_000);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'listening') {
        clearTimeout(timer);
        resolvePort(entry.port as number);
      }
    });
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return {
    port: boundPort,
    root,
    s3Prefix: storage === 'disk' ? undefined : storage.s3Prefix,
    address: `127.0.0.1:${boundPort}`,
    process: child,
    logs,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      // Bounded: a server that does not stop fails its test instead of hanging the run.
      let killed = false;
      const stuck = setTimeout(() => (killed = child.kill('SIGKILL')), STOP_TIMEOUT_MS);
      const code = await exited.finally(() => clearTimeout(stuck));
      if (killed) {
        throw new Error(`lpf-server did not stop within ${STOP_TIMEOUT_MS / 1000} s of ${signal}; killed`);
      }
      if (!options.root) await rm(root, { recursive: true, force: true });
      return code;
    },
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}

/** Runs the real lpf client to completion (stdin is not a terminal). */
export function runLpf(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const child = spawnLpf(args, options);
  return collect(child, options.timeoutMs ?? 60_000);
}

export function spawnLpf(args: string[], options: RunOptions = {}): ChildProcess {
  return spawn(process.execPath, [LPF, ...args], {
    env: cleanEnv(options.env),
    cwd: options.cwd ?? REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Waits for a child to exit, collecting its output; kills it past the deadline. */
export function collect(child: ChildProcess, timeoutMs: number): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolveRun, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeoutMs);
    // 'close', not 'exit': 'exit' can come before the pipes are drained (a loaded machine then lost the output).
    child.once('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** A temporary folder removed by the returned cleanup function. */
export async function tempDir(prefix = 'lpf-test-'): Promise<{ path: string; cleanup(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Credentials in the environment, as a script would give them. */
export function asUser(user: string, password: string, register = false): Record<string, string> {
  return { LPF_USER: user, LPF_PASSWORD: password, ...(register ? { LPF_REGISTER: '1' } : {}) };
}
