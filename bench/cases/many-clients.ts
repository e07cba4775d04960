/**
 * Case 3 (and the second half of case 2): N clients at once, each uploading
 * then downloading its own 1 MiB file, spread over a few worker processes
 * that use the lpf client library. Logins (one scrypt each on the server)
 * happen before the timed rounds. Baseline: the same workers and rounds over
 * the raw Node pipe (one connection per transfer, no login), over plain TCP
 * and over TLS.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BENCH_PASSWORD, type Context } from '../lib/context.js';
import { forkWorker, type Service } from '../lib/proc.js';
import { measured, unmeasured, type Row, type RowSpec } from '../lib/report.js';
import { PeakRss } from '../lib/rss.js';
import { startLpfServer, startRawServer, writeLpfAccounts, type LpfSecurity, type RunningServer } from '../lib/servers.js';
import { MiB, mibPerSecond, summarize } from '../lib/stats.js';
import type { WorkerCommand, WorkerReport } from './many-clients-worker.js';

const FILE_SIZE = MiB;

interface Mode {
  kind: 'raw' | 'lpf';
  tls: boolean;
  /** Row name. */
  tool: string;
  /** Server name for the memory rows. */
  server: string;
  security?: LpfSecurity;
}

interface ModeResult {
  throughput: number[];
  up: number[];
  down: number[];
  loginMs: number[];
  loginWallMs: number;
  loginPeakMiB: number;
  peakMiB: number[];
  rssMethod: string;
  transfers: number;
  verified: number;
  failed: number;
  /** A sample of the reasons. */
  failures: string[];
}

export async function manyClientsCase(ctx: Context): Promise<void> {
  const { options, work, report } = ctx;
  const n = options.clients;
  const section = report.section(
    'manyClients',
    `3. Many clients (${n} at once, each 1 MiB up then 1 MiB down, ${options.runs} rounds)`,
    `Client library in ${options.workers} worker processes; logins before the timed rounds. Every copy is checked byte for byte. Baseline: the same clients over the raw Node pipe (a connection per transfer).`,
  );
  const memory = report.section('memory');
  const dir = join(work, 'clients');
  await mkdir(dir, { recursive: true });
  const users = Array.from({ length: n }, (_, i) => `u${String(i + 1).padStart(4, '0')}`);

  const modes: Mode[] = [
    { kind: 'raw', tls: false, tool: 'raw Node TCP pipe (library)', server: 'raw Node pipe server' },
    { kind: 'lpf', tls: false, tool: 'lpf client library, plain TCP', server: 'lpf-server, plain TCP', security: ctx.lpf.plain },
  ];
  if (ctx.cert) modes.push({ kind: 'raw', tls: true, tool: 'raw Node TLS 1.3 pipe (library)', server: 'raw Node TLS pipe server' });
  if (ctx.lpf.tls)
    modes.push({ kind: 'lpf', tls: true, tool: 'lpf client library, TLS', server: 'lpf-server, TLS', security: ctx.lpf.tls });

  const results = new Map<Mode, ModeResult | string>();
  try {
    for (const [i, mode] of modes.entries()) {
      ctx.deadline.check('the many-clients case');
      try {
        results.set(mode, await runMode(ctx, mode, users, join(dir, `mode-${i}`)));
      } catch (err) {
        results.set(mode, (err as Error).message);
        ctx.progress(`many clients: ${mode.tool} failed: ${(err as Error).message}`);
      }
    }
  } finally {
    if (!options.keep) await rm(dir, { recursive: true, force: true });
  }

  const add = (target: Row[], mode: Mode, spec: RowSpec, pick: (r: ModeResult) => number[], note?: (r: ModeResult) => string) => {
    const r = results.get(mode);
    if (r === undefined) return;
    if (typeof r === 'string') target.push(unmeasured(spec, 'failed', r));
    else target.push(measured({ ...spec, note: note?.(r) ?? spec.note }, pick(r)));
  };
  const status = (r: ModeResult) =>
    `${r.verified}/${r.transfers} round trips byte-identical${r.failed || r.failures.length ? `; ${r.failed} failed, e.g. ${r.failures[0] ?? '?'}` : ''}`;
  const groups = [false, true] as const;
  const group = (tls: boolean) => (tls ? 'TLS' : 'plain TCP');
  const lpfTlsMissing = (measurement: string, target: Row[], unit: string, better: 'higher' | 'lower') => {
    if (ctx.lpf.tls) return;
    const why = ctx.missing.lpfTls ?? 'lpf has no TLS yet';
    target.push(
      unmeasured(
        { measurement, tool: 'lpf client library, TLS', unit, better },
        why.startsWith('lpf has no TLS') ? 'not yet implemented' : 'skipped',
        why,
      ),
    );
  };
  for (const tls of groups) {
    const measurement = `aggregate throughput (up + down), ${group(tls)}`;
    for (const mode of modes.filter((m) => m.tls === tls)) {
      add(
        section.rows,
        mode,
        { measurement, tool: mode.tool, unit: 'MiB/s', better: 'higher', baseline: mode.kind === 'raw' },
        (r) => r.throughput,
        status,
      );
    }
    if (tls) lpfTlsMissing(measurement, section.rows, 'MiB/s', 'higher');
  }
  for (const [what, key] of [
    ['upload', 'up'],
    ['download', 'down'],
  ] as const) {
    for (const tls of groups) {
      const measurement = `time per 1 MiB ${what}, ${group(tls)}`;
      for (const mode of modes.filter((m) => m.tls === tls)) {
        add(
          section.rows,
          mode,
          {
            measurement,
            tool: mode.tool,
            unit: 'ms',
            better: 'lower',
            baseline: mode.kind === 'raw',
            tail: true,
            note: 'every transfer of every round',
          },
          (r) => r[key],
        );
      }
    }
  }
  for (const mode of modes.filter((m) => m.kind === 'lpf')) {
    add(
      section.rows,
      mode,
      { measurement: `connect + log in, ${n} at once`, tool: mode.tool, unit: 'ms', better: 'lower', tail: true },
      (r) => r.loginMs,
      (r) => `all done in ${(r.loginWallMs / 1000).toFixed(1)} s; one scrypt per login; before the rounds`,
    );
  }
  for (const tls of groups) {
    const measurement = `under ${n} clients (rounds), ${group(tls)}`;
    for (const mode of modes.filter((m) => m.tls === tls)) {
      add(
        memory.rows,
        mode,
        { measurement, tool: mode.server, unit: 'MiB', better: 'lower', baseline: mode.kind === 'raw' },
        (r) => r.peakMiB,
        (r) => r.rssMethod,
      );
    }
  }
  for (const mode of modes.filter((m) => m.kind === 'lpf')) {
    add(
      memory.rows,
      mode,
      { measurement: `during ${n} logins at once`, tool: mode.server, unit: 'MiB', better: 'lower' },
      (r) => [r.loginPeakMiB],
      () => 'VmHWM; one scrypt in flight needs 32 MiB',
    );
  }
}

async function runMode(ctx: Context, mode: Mode, users: string[], dir: string): Promise<ModeResult> {
  const { options, helpers } = ctx;
  let server: RunningServer | undefined;
  const workers: Service[] = [];
  try {
    await mkdir(dir, { recursive: true });
    if (mode.kind === 'lpf' && mode.security) {
      await writeLpfAccounts(join(dir, 'root'), users, BENCH_PASSWORD);
      server = await startLpfServer(join(dir, 'root'), join(dir, 'lpf-server.log'), mode.security, users.length);
    } else {
      server = await startRawServer(helpers.rawPipe, join(dir, 'root'), join(dir, 'raw.log'), mode.tls ? ctx.cert : undefined);
    }
    const port = server.port;
    const count = Math.max(1, Math.min(options.workers, users.length));
    for (let w = 0; w < count; w++) workers.push(forkWorker(`worker ${w + 1}`, helpers.worker));
    const inboxes = workers.map((w) => inbox(w));

    // Connect and log in (lpf) or just write the files (raw): not part of the timed rounds.
    ctx.progress(`many clients, ${mode.tool}: preparing ${users.length} clients${mode.kind === 'lpf' ? ' and logging them in' : ''}`);
    const loginRss = new PeakRss(server.service.pid, false);
    loginRss.start();
    const loginStart = performance.now();
    workers.forEach((w, i) => {
      const share = users.filter((_, u) => u % count === i);
      const command: WorkerCommand = {
        type: 'init',
        mode: mode.kind,
        port,
        users: share,
        password: BENCH_PASSWORD,
        dir: join(dir, `w${i}`),
        size: FILE_SIZE,
      };
      if (mode.tls && ctx.cert) command.ca = ctx.cert.cert;
      w.child.send(command);
    });
    const ready = await Promise.all(inboxes.map((next) => next('ready', 60_000 + users.length * 500)));
    const loginWallMs = performance.now() - loginStart;
    const loginPeak = loginRss.stop();
    const result: ModeResult = {
      throughput: [],
      up: [],
      down: [],
      loginMs: ready.flatMap((r) => r.loginMs),
      loginWallMs,
      loginPeakMiB: loginPeak.peakMiB,
      peakMiB: [],
      rssMethod: '',
      transfers: 0,
      verified: 0,
      failed: 0,
      failures: ready.flatMap((r) => r.failures),
    };
    if (result.failures.length > 0)
      ctx.progress(`many clients, ${mode.tool}: ${result.failures.length} clients could not log in, e.g. ${result.failures[0]}`);

    for (let round = 0; round < options.runs; round++) {
      ctx.deadline.check('the many-clients case');
      const rss = new PeakRss(server.service.pid, false);
      rss.start();
      for (const w of workers) w.child.send({ type: 'round', round } satisfies WorkerCommand);
      const done = await Promise.all(inboxes.map((next) => next('round-done', 60_000 + users.length * 1000)));
      const peak = rss.stop();
      const wall = Math.max(...done.map((d) => d.end)) - Math.min(...done.map((d) => d.start));
      const completed = done.reduce((sum, d) => sum + d.up.length, 0);
      const rate = completed > 0 ? mibPerSecond(completed * 2 * FILE_SIZE, wall) : 0;
      if (completed > 0) result.throughput.push(rate);
      result.up.push(...done.flatMap((d) => d.up));
      result.down.push(...done.flatMap((d) => d.down));
      result.transfers += users.length;
      result.verified += done.reduce((sum, d) => sum + d.verified, 0);
      result.failed += done.reduce((sum, d) => sum + d.failed, 0);
      if (result.failures.length < 5) result.failures.push(...done.flatMap((d) => d.failures));
      result.peakMiB.push(peak.peakMiB);
      result.rssMethod = peak.method;
      const up = summarize(done.flatMap((d) => d.up));
      const failed = users.length - completed;
      ctx.progress(
        `many clients, ${mode.tool}: round ${round + 1}/${options.runs}: ${rate.toFixed(0)} MiB/s, upload p50 ${up.median.toFixed(0)} ms, server peak ${peak.peakMiB.toFixed(0)} MiB${failed ? `, ${failed} clients failed` : ''}`,
      );
      // Nothing more to learn from rounds where every client fails.
      if (completed === 0) throw new Error(`every client failed, e.g. ${result.failures[0] ?? 'no reason given'}`);
    }
    for (const w of workers) w.child.send({ type: 'quit' } satisfies WorkerCommand);
    return result;
  } finally {
    for (const w of workers) await w.stop();
    await server?.service.stop();
  }
}

type ReportOf<T extends WorkerReport['type']> = Extract<WorkerReport, { type: T }>;

/** Queues a worker's reports; next(type) waits for the next one, failing on an error report, exit or time-out. */
function inbox(worker: Service): <T extends WorkerReport['type']>(type: T, timeoutMs: number) => Promise<ReportOf<T>> {
  const queue: WorkerReport[] = [];
  let wake: (() => void) | undefined;
  let exited = false;
  worker.child.on('message', (m: WorkerReport) => {
    queue.push(m);
    wake?.();
  });
  worker.child.once('exit', () => {
    exited = true;
    wake?.();
  });
  return async (type, timeoutMs) => {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const m = queue.shift();
      if (m?.type === 'error') throw new Error(`${worker.name}: ${m.message}`);
      if (m?.type === type) return m as ReportOf<typeof type>;
      if (m) continue; // a report nobody waits for any more
      if (exited) throw new Error(`${worker.name} exited`);
      const left = until - performance.now();
      if (left <= 0) throw new Error(`${worker.name}: no ${type} within ${timeoutMs / 1000} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  };
}
