/**
 * A worker process of the many-clients case (bundled to worker.mjs and forked
 * by the bench). It drives its share of the clients through the lpf client
 * library (or the raw pipe, for the baseline), all at once, and reports
 * per-transfer times over IPC. Timestamps are wall-clock epochs with
 * sub-millisecond resolution, so the parent can line up several workers.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LpfClient } from '../../src/client/client.js';
import type { TlsPolicy } from '../../src/client/dial.js';
import { LOOPBACK, assertLoopback } from '../lib/net.js';
import { rawGet, rawPut } from '../raw/pipe.js';

export type WorkerCommand =
  | {
      type: 'init';
      mode: 'lpf' | 'raw';
      port: number;
      users: string[];
      password: string;
      dir: string;
      size: number;
      /** TLS, trusting this PEM certificate; plain TCP when absent. */ ca?: string;
    }
  | { type: 'round'; round: number }
  | { type: 'quit' };

export type WorkerReport =
  | { type: 'ready'; loginMs: number[]; failures: string[] }
  | { type: 'round-done'; start: number; end: number; up: number[]; down: number[]; verified: number; failed: number; failures: string[] }
  | { type: 'error'; message: string };

interface Client {
  user: string;
  file: string;
  copy: string;
  lpf?: LpfClient;
}

const epoch = () => performance.timeOrigin + performance.now();
let init: Extract<WorkerCommand, { type: 'init' }> | undefined;
let clients: Client[] = [];

function send(report: WorkerReport): void {
  process.send?.(report);
}

async function logIn(c: Client, command: Extract<WorkerCommand, { type: 'init' }>): Promise<void> {
  const tls: TlsPolicy = command.ca ? { mode: 'ca', ca: command.ca } : { mode: 'plain' };
  const client = await LpfClient.connect({ host: LOOPBACK, port: command.port }, { tls, connectTimeoutMs: 60_000, idleTimeoutMs: 300_000 });
  try {
    await client.login(c.user, command.password);
  } catch (err) {
    client.close();
    throw err;
  }
  c.lpf = client;
}

async function prepare(command: Extract<WorkerCommand, { type: 'init' }>): Promise<void> {
  assertLoopback(LOOPBACK);
  init = command;
  await mkdir(command.dir, { recursive: true });
  clients = [];
  for (const user of command.users) {
    const file = join(command.dir, `${user}.bin`);
    await writeFile(file, randomBytes(command.size)); // distinct content per client, so a mix-up cannot pass
    clients.push({ user, file, copy: join(command.dir, `${user}.copy`) });
  }
  const loginMs: number[] = [];
  const failures: string[] = [];
  if (command.mode === 'lpf') {
    // Logging in costs one scrypt per client on the server: done here, before the timed rounds.
    await Promise.all(
      clients.map(async (c) => {
        const start = performance.now();
        try {
          await logIn(c, command);
          loginMs.push(performance.now() - start);
        } catch (err) {
          failures.push(`${c.user}: ${(err as Error).message}`);
        }
      }),
    );
  }
  send({ type: 'ready', loginMs, failures });
}

/** No transfer of 1 MiB may take this long: past it, it counts as failed and the round goes on. */
const TRANSFER_TIMEOUT_MS = 120_000;

function bounded(what: string, task: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${TRANSFER_TIMEOUT_MS / 1000} s`)), TRANSFER_TIMEOUT_MS);
  });
  return Promise.race([task, limit]).finally(() => clearTimeout(timer));
}

async function round(): Promise<void> {
  const cmd = init;
  if (!cmd) throw new Error('round before init');
  const up: number[] = [];
  const down: number[] = [];
  const failures: string[] = [];
  const ok: Client[] = [];
  const start = epoch();
  await Promise.all(
    clients.map(async (c) => {
      try {
        const t0 = performance.now();
        const lpf = c.lpf;
        if (cmd.mode === 'lpf' && !lpf) throw new Error('not logged in');
        await bounded('upload', lpf ? lpf.upload(c.file, 'c.bin') : rawPut(LOOPBACK, cmd.port, c.file, `${c.user}.bin`, cmd.ca));
        const t1 = performance.now();
        await bounded(
          'download',
          lpf ? lpf.download('c.bin', c.copy, { force: true }) : rawGet(LOOPBACK, cmd.port, `${c.user}.bin`, c.copy, cmd.ca),
        );
        const t2 = performance.now();
        up.push(t1 - t0);
        down.push(t2 - t1);
        ok.push(c);
      } catch (err) {
        failures.push(`${c.user}: ${(err as Error).message}`);
        c.lpf?.close();
        c.lpf = undefined;
      }
    }),
  );
  const end = epoch();
  const failed = clients.length - ok.length;
  // Untimed: a client whose transfer failed gets a new connection for the next round.
  if (cmd.mode === 'lpf') {
    await Promise.all(
      clients
        .filter((c) => !c.lpf)
        .map((c) => logIn(c, cmd).catch((err: unknown) => failures.push(`${c.user}: reconnecting: ${(err as Error).message}`))),
    );
  }
  // Untimed: every copy must be byte-identical to what its client sent.
  let verified = 0;
  for (const c of ok) {
    const [sent, back] = await Promise.all([readFile(c.file), readFile(c.copy).catch(() => Buffer.alloc(0))]);
    if (sent.equals(back)) verified++;
    else failures.push(`${c.user}: the downloaded copy differs from the upload`);
    await rm(c.copy, { force: true });
  }
  // The count is exact; the reasons are a sample (a thousand identical lines help nobody).
  send({ type: 'round-done', start, end, up, down, verified, failed, failures: failures.slice(0, 5) });
}

process.on('message', (message: WorkerCommand) => {
  const task = message.type === 'init' ? prepare(message) : message.type === 'round' ? round() : quit();
  task.catch((err: unknown) => send({ type: 'error', message: (err as Error).stack ?? String(err) }));
});

async function quit(): Promise<void> {
  for (const c of clients) c.lpf?.close();
  // Give the closes a moment to reach the server, then leave.
  await new Promise((resolve) => setTimeout(resolve, 100));
  process.exit(0);
}

// Never outlive the bench: if the parent goes away, so do we.
process.on('disconnect', () => process.exit(0));
