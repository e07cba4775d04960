/**
 * A real HAProxy (Debian's /usr/sbin/haproxy) in TCP mode in front of lpf servers, for cluster tests:
 * its configuration in a temporary folder, bound to 127.0.0.1 on a free port, round robin, each server
 * checked by `GET /health` on its health port, run in the foreground (-db) and killed at the end. Its
 * admin socket tells which servers it counts as up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './swift.js';
import { waitFor } from './wait-for.js';
import { skipUnlessInstalled } from './engines.js';

export const HAPROXY = '/usr/sbin/haproxy';
/** The loopback address HAProxy connects to the servers from, each connection led by a PROXY v2 header. */
export const HAPROXY_SOURCE = '127.0.0.2';

/** A reason to skip locally, or false; under CI=true a missing HAProxy is never skipped (the test fails). */
export function skipWithoutHaproxy(): string | false {
  return skipUnlessInstalled(existsSync(HAPROXY), `HAProxy is not installed (${HAPROXY}; apt-get install haproxy): tests through HAProxy`);
}

export interface Backend {
  name: string;
  port: number;
  healthPort: number;
}

export interface RunningHaproxy {
  port: number;
  address: string;
  config: string;
  /** Each server's status as HAProxy sees it now ("UP", "DOWN", …), by name. */
  states(): Promise<Record<string, string>>;
  /** Waits until HAProxy reports each named server in the given state. */
  waitForStates(wanted: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

/** The configuration this helper runs (and docs/SCALING.md shows): TCP mode, health-checked servers, PROXY protocol v2. */
export function haproxyConfig(port: number, socket: string, servers: Backend[]): string {
  return [
    'global',
    `  stats socket ${socket} mode 600 level admin`,
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 10m',
    '  timeout server 10m',
    '  timeout check 5s',
    '  retries 2',
    '  option redispatch 1',
    'frontend lpf',
    `  bind 127.0.0.1:${port}`,
    '  default_backend lpf_servers',
    'backend lpf_servers',
    '  balance roundrobin',
    '  option httpchk GET /health',
    '  http-check expect status 200',
    '  default-server inter 500ms fall 2 rise 1',
    // From an address of its own, which the servers trust with --proxy-protocol: clients connecting to
    // them directly (from 127.0.0.1) send no header.
    ...servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port} send-proxy-v2 source ${HAPROXY_SOURCE} check port ${s.healthPort}`),
    '',
  ].join('\n');
}

/** Asks HAProxy's admin socket one command and resolves with its answer. */
function ask(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const conn = connect(socket, () => conn.end(`${command}\n`));
    conn.setEncoding('utf8');
    conn.on('data', (d: string) => (answer += d));
    conn.once('error', reject);
    conn.once('close', () => resolve(answer));
  });
}

/** Servers' statuses from `show stat` (CSV with a `# pxname,svname,…` header). */
function parseStates(csv: string): Record<string, string> {
  const [header, ...rows] = csv.split('\n').filter((l) => l.length > 0);
  const columns = (header ?? '').replace(/^# /, '').split(',');
  const [proxy, server, status] = ['pxname', 'svname', 'status'].map((c) => columns.indexOf(c));
  const states: Record<string, string> = {};
  for (const row of rows) {
    const cells = row.split(',');
    const name = cells[server ?? -1] ?? '';
    if (cells[proxy ?? -1] === 'lpf_servers' && name !== 'BACKEND') states[name] = cells[status ?? -1] ?? '';
  }
  return states;
}

/** Starts HAProxy in front of `servers`, its files in `dir`; resolves once it accepts connections. */
export async function startHaproxy(dir: string, servers: Backend[]): Promise<RunningHaproxy> {
  const port = await freePort();
  const socket = join(dir, 'haproxy.sock');
  const config = haproxyConfig(port, socket, servers);
  const file = join(dir, 'haproxy.cfg');
  await writeFile(file, config);
  const child: ChildProcess = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const states = async () => parseStates(await ask(socket, 'show stat'));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`haproxy exited with ${String(child.exitCode)}: ${output}`);
      return states().catch(() => undefined);
    },
    { what: 'HAProxy answers on its admin socket', timeoutMs: 30_000 },
  );
  return {
    port,
    address: `127.0.0.1:${port}`,
    config,
    states,
    async waitForStates(wanted) {
      await waitFor(
        async () => {
          const now = await states();
          return Object.entries(wanted).every(([name, state]) => now[name] === state);
        },
        { what: `HAProxy sees ${JSON.stringify(wanted)}`, timeoutMs: 30_000 },
      );
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
