/**
 * A real OpenStack Swift with its s3api and tempauth middlewares, started on loopback for tests: every
 * configuration file, ring and device folder in one temporary folder, one replica, memcached on a free
 * port. Path-style S3 with key `test:tester`, secret `testing`. Debian's packages: swift swift-proxy
 * swift-object swift-account swift-container memcached.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { waitFor } from './wait-for.js';
import { skipUnlessInstalled } from './engines.js';

// The SDK is pinned on purpose (see package.json): its notice about later releases needing Node 22 is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const SWIFT_KEY = 'test:tester';
export const SWIFT_SECRET = 'testing';

export interface RunningSwift {
  /** The proxy's URL, for path-style S3. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** A bucket made for the test. */
  bucket: string;
  /** The environment variables that give the AWS SDK these credentials. */
  env: Record<string, string>;
  /** Stops the proxy alone (the store "goes away"); start it again with restartProxy. */
  stopProxy(): Promise<void>;
  restartProxy(): Promise<void>;
  stop(): Promise<void>;
}

const PROGRAMS = [
  'swift-ring-builder',
  'swift-proxy-server',
  'swift-object-server',
  'swift-account-server',
  'swift-container-server',
  'memcached',
];

function installed(program: string): boolean {
  return ['/usr/bin', '/usr/local/bin', '/usr/sbin'].some((dir) => existsSync(join(dir, program)));
}

/** A reason to skip S3 tests locally, or false; under CI=true a missing Swift is never skipped (the test fails). */
export function skipWithoutSwift(): string | false {
  return skipUnlessInstalled(
    PROGRAMS.every(installed),
    'OpenStack Swift is not installed (apt-get install swift swift-proxy swift-object swift-account swift-container memcached): S3 tests',
  );
}

/** A free loopback TCP port (the kernel's choice, released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Ports {
  proxy: number;
  account: number;
  container: number;
  object: number;
  memcached: number;
}

/**
 * An object server that cannot update its container listing within container_update_timeout (1 s by
 * default, which a loaded two-core machine can exceed) leaves the update to the object-updater, not run
 * here: the object would be readable but never listed. Tests wait for the listing instead.
 */
const LISTING_NOW = 'container_update_timeout = 60\n';

function backendConf(dir: string, kind: 'account' | 'container' | 'object', port: number): string {
  return `[DEFAULT]
devices = ${join(dir, 'srv')}
mount_check = false
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
swift_dir = ${dir}
user = ${userInfo().username}
log_name = ${kind}
log_level = WARNING

[pipeline:main]
pipeline = ${kind}-server

[app:${kind}-server]
use = egg:swift#${kind}
${kind === 'object' ? LISTING_NOW : ''}${kind === 'object' ? '\n[object-replicator]\n\n[object-updater]\n\n[object-auditor]\n' : `\n[${kind}-replicator]\n\n[${kind}-auditor]\n`}`;
}

function proxyConf(dir: string, ports: Ports): string {
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${ports.proxy}
workers = 0
swift_dir = ${dir}
user = ${userInfo().username}
log_name = proxy
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = ${SWIFT_SECRET} .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${ports.memcached}

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo
`;
}

/** Writes swift.conf, the server configurations and the three rings (one device each, one replica). */
async function configure(dir: string, ports: Ports): Promise<void> {
  await mkdir(join(dir, 'srv', 'd1'), { recursive: true });
  await writeFile(
    join(dir, 'swift.conf'),
    `[swift-hash]\nswift_hash_path_prefix = lpftest\nswift_hash_path_suffix = lpftest\n\n[storage-policy:0]\nname = gold\ndefault = yes\n`,
  );
  await writeFile(join(dir, 'proxy-server.conf'), proxyConf(dir, ports));
  for (const kind of ['account', 'container', 'object'] as const) {
    await writeFile(join(dir, `${kind}-server.conf`), backendConf(dir, kind, ports[kind]));
    const builder = join(dir, `${kind}.builder`);
    for (const args of [
      [builder, 'create', '6', '1', '1'],
      [builder, 'add', `r1z1-127.0.0.1:${ports[kind]}/d1`, '1'],
      [builder, 'rebalance'],
    ]) {
      const run = spawnSync('swift-ring-builder', args, { encoding: 'utf8' });
      // rebalance exits 1 for a warning (one device, one replica): only a missing ring is an error.
      if (run.error) throw run.error;
    }
    if (!existsSync(join(dir, `${kind}.ring.gz`))) throw new Error(`swift-ring-builder made no ${kind} ring`);
  }
}

async function startIn(dir: string, program: string, args: string[]): Promise<ChildProcess> {
  const log = await open(join(dir, `${program}.log`), 'a');
  const child = spawn(program, args, { stdio: ['ignore', log.fd, log.fd], env: { ...process.env, PYTHONWARNINGS: 'ignore' } });
  child.once('exit', () => void log.close().catch(() => {}));
  child.once('error', () => void log.close().catch(() => {}));
  return child;
}

async function stopProgram(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(url);
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

let shared: Promise<RunningSwift> | undefined;

/**
 * One Swift for the whole test process, started on first use and killed when the process exits (its
 * programs do not keep the process alive). Each caller takes its own prefix in the bucket.
 */
export function sharedSwift(): Promise<RunningSwift> {
  shared ??= startSwift('lpf-shared', true);
  return shared;
}

/** Starts Swift in a new temporary folder and makes `bucket`; stop() ends every process and removes the folder. */
export async function startSwift(bucket = 'lpf-test', detached = false): Promise<RunningSwift> {
  const dir = await mkdtemp(join(tmpdir(), 'lpf-swift-'));
  const startProgram = async (program: string, args: string[]) => {
    const child = await startIn(dir, program, args);
    if (detached) child.unref();
    return child;
  };
  const ports: Ports = { proxy: 0, account: 0, container: 0, object: 0, memcached: 0 };
  for (const k of Object.keys(ports) as (keyof Ports)[]) ports[k] = await freePort();
  const children: ChildProcess[] = [];
  let proxy: ChildProcess | undefined;
  const endpoint = `http://127.0.0.1:${ports.proxy}`;
  const startProxy = async () => {
    proxy = await startProgram('swift-proxy-server', [join(dir, 'proxy-server.conf')]);
    await waitFor(() => healthy(`${endpoint}/healthcheck`), { what: 'the Swift proxy answers', timeoutMs: 60_000, everyMs: 100 });
  };
  const stop = async () => {
    await Promise.all([...children, ...(proxy ? [proxy] : [])].map(stopProgram));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await configure(dir, ports);
    children.push(
      await startProgram('memcached', ['-l', '127.0.0.1', '-p', String(ports.memcached), '-U', '0', '-u', userInfo().username]),
    );
    for (const kind of ['account', 'container', 'object']) {
      children.push(await startProgram(`swift-${kind}-server`, [join(dir, `${kind}-server.conf`)]));
    }
    await startProxy();
    const swift: RunningSwift = {
      endpoint,
      region: 'us-east-1',
      accessKeyId: SWIFT_KEY,
      secretAccessKey: SWIFT_SECRET,
      bucket,
      env: { AWS_ACCESS_KEY_ID: SWIFT_KEY, AWS_SECRET_ACCESS_KEY: SWIFT_SECRET, AWS_REGION: 'us-east-1' },
      stopProxy: async () => {
        if (proxy) await stopProgram(proxy);
      },
      restartProxy: startProxy,
      stop,
    };
    await makeBucket(swift);
    if (detached) {
      process.once('exit', () => {
        for (const child of [...children, ...(proxy ? [proxy] : [])]) child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      });
    }
    return swift;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** An S3 client of this Swift, set up as lpf's own (no default checksums: see src/server/storage/s3/s3-store.ts). */
export function s3Client(swift: RunningSwift, maxAttempts?: number): S3Client {
  return new S3Client({
    endpoint: swift.endpoint,
    region: swift.region,
    forcePathStyle: true,
    credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
}

/** Makes the bucket, trying again while the account and container servers are still starting. */
async function makeBucket(swift: RunningSwift): Promise<void> {
  const client = s3Client(swift, 1);
  let last: unknown;
  try {
    await waitFor(
      async () => {
        try {
          await client.send(new CreateBucketCommand({ Bucket: swift.bucket }));
          return true;
        } catch (err) {
          last = err;
          return false;
        }
      },
      { what: `the bucket ${swift.bucket} is made`, timeoutMs: 60_000, everyMs: 200 },
    );
  } catch (err) {
    throw new Error(`Swift started but the bucket could not be made: ${String(last)}`, { cause: err });
  } finally {
    client.destroy();
  }
}
