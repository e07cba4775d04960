/**
 * `npm run bench`: lpf against its baselines and peers, on this machine over
 * loopback. Prints a table and writes the same figures as JSON. Nothing here
 * passes or fails; a case that crashes is reported and the others still run.
 * See bench/README.md.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { bigFileCase } from './cases/big-file.js';
import { latencyCase } from './cases/latency.js';
import { manyClientsCase } from './cases/many-clients.js';
import { objectStorageCase } from './cases/object-storage.js';
import { smallFilesCase } from './cases/small-files.js';
import { bundleHelpers } from './lib/bundle.js';
import { makeCert } from './lib/cert.js';
import type { CaseName, Context, Options } from './lib/context.js';
import { makeWorkspace, removeWorkspace } from './lib/files.js';
import { Deadline, installExitHandlers, killAll } from './lib/proc.js';
import { Report, renderTable } from './lib/report.js';
import { targets } from './lib/targets.js';
import { REPO, assertBuilt, lpfFeatures, setLpfConfigHome, setLpfFeatures, type LpfSecurity } from './lib/servers.js';
import { MiB } from './lib/stats.js';
import { sshdMissing, startSshd, type Sshd } from './peers/sshd.js';
import { startVsftpd, vsftpdMissing, type Vsftpd } from './peers/vsftpd.js';

const HELP = `npm run bench -- [options]

  --quick            tiny sizes and 2 runs (about half a minute); what npm test runs
  --runs N           runs per figure (default 6; quick 2)
  --size-mib N       size of the big file in MiB (default 1024; quick 4)
  --clients N        concurrent clients, 1-1000 (default 200; quick 20)
  --workers N        worker processes sharing the clients (default 2)
  --files N          small files (default 1000; quick 20)
  --upload-mib N     each client's file in the S3 case's concurrent uploads (default 16; quick 9)
  --pings N          ping round trips (default 2000; quick 200)
  --start-runs N     start-to-exit runs per command (default 30; quick 3)
  --only LIST        some cases only: big,clients,small,latency,s3
  --storage s3       also measure files on S3 (a Swift on loopback) beside the disk
  --out FILE         JSON output (default bench/results/latest.json)
  --max-minutes N    give up after this long (default 60; quick 5)
  --keep             keep the run's folder (servers' logs) to look into a failure
`;

const CASES: readonly CaseName[] = ['big', 'clients', 'small', 'latency', 's3'];
/** What runs without --only: every case but S3's, which needs Swift (--storage s3 adds it). */
const DEFAULT_CASES: readonly CaseName[] = ['big', 'clients', 'small', 'latency'];

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      runs: { type: 'string' },
      'size-mib': { type: 'string' },
      clients: { type: 'string' },
      workers: { type: 'string' },
      files: { type: 'string' },
      'upload-mib': { type: 'string' },
      pings: { type: 'string' },
      'start-runs': { type: 'string' },
      only: { type: 'string' },
      storage: { type: 'string' },
      out: { type: 'string' },
      'max-minutes': { type: 'string' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return undefined;
  }
  const quick = values.quick === true;
  const int = (name: string, text: string | undefined, fallback: number, min: number, max: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  const only = new Set((values.only ?? DEFAULT_CASES.join(',')).split(',').map((s) => s.trim()) as CaseName[]);
  for (const name of only) if (!CASES.includes(name)) throw new Error(`--only: unknown case "${name}" (${CASES.join(', ')})`);
  if (values.storage !== undefined && values.storage !== 's3' && values.storage !== 'disk')
    throw new Error('--storage must be s3 (or disk)');
  if (values.storage === 's3') only.add('s3');
  return {
    quick,
    runs: int('runs', values.runs, quick ? 2 : 6, 1, 100),
    bigBytes: int('size-mib', values['size-mib'], quick ? 4 : 1024, 1, 16 * 1024) * MiB,
    clients: int('clients', values.clients, quick ? 20 : 200, 1, 1000),
    workers: int('workers', values.workers, 2, 1, 16),
    smallFiles: int('files', values.files, quick ? 20 : 1000, 1, 10_000),
    uploadBytes: int('upload-mib', values['upload-mib'], quick ? 9 : 16, 1, 1024) * MiB,
    pings: int('pings', values.pings, quick ? 200 : 2000, 1, 100_000),
    startRuns: int('start-runs', values['start-runs'], quick ? 3 : 30, 1, 1000),
    only,
    out: resolve(values.out ?? join(REPO, 'bench', 'results', 'latest.json')),
    maxMinutes: int('max-minutes', values['max-minutes'], quick ? 5 : 60, 1, 24 * 60),
    keep: values.keep === true,
  };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) return 0;
  installExitHandlers();
  assertBuilt();
  const began = performance.now();
  const loadAtStart = loadavg();
  const progress = (line: string) => process.stderr.write(`[${((performance.now() - began) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
  const report = new Report();
  const work = await makeWorkspace();
  let vsftpd: Vsftpd | undefined;
  let sshd: Sshd | undefined;
  let crashed = false;
  try {
    progress(`run folder ${work}`);
    if ((loadAtStart[0] ?? 0) > 0.5 * cpus().length) {
      report.notes.push(
        `the machine was busy when the run began (load average ${loadAtStart.map((l) => l.toFixed(2)).join(', ')}): figures are noisier`,
      );
    }
    setLpfConfigHome(join(work, 'config'));
    const helpers = await bundleHelpers(join(work, 'bin'));
    const missing: Context['missing'] = {};
    const cert = await makeCert(work).catch((err: unknown) => `could not make a certificate: ${(err as Error).message}`);
    if (typeof cert === 'string') missing.tls = cert;
    const certOk = typeof cert === 'string' ? undefined : cert;

    // Peers: detected, never installed; a missing or broken one is skipped with the reason.
    const needPeers = options.only.has('big') || options.only.has('small') || options.only.has('latency');
    missing.vsftpd = vsftpdMissing();
    if (needPeers && !missing.vsftpd) {
      vsftpd = await startVsftpd(join(work, 'vsftpd'), certOk).catch((err: unknown) => {
        missing.vsftpd = `vsftpd did not start: ${(err as Error).message}`;
        return undefined;
      });
    }
    missing.sshd = sshdMissing();
    if (needPeers && !missing.sshd) {
      sshd = await startSshd(join(work, 'sshd')).catch((err: unknown) => {
        missing.sshd = `sshd did not start: ${(err as Error).message}`;
        return undefined;
      });
      if (sshd?.note) report.notes.push(sshd.note);
    }
    // lpf itself: TLS when this build has it (then plain TCP needs --plain on both sides).
    const features = await lpfFeatures();
    setLpfFeatures(features);
    const hasTls = features.tls;
    const lpf: Context['lpf'] = { plain: { tls: false, flagged: hasTls }, tls: undefined };
    if (!hasTls) missing.lpfTls = 'lpf has no TLS yet';
    else if (!certOk) missing.lpfTls = `no certificate for lpf's TLS: ${missing.tls ?? ''}`;
    else lpf.tls = { tls: true, cert: certOk } satisfies LpfSecurity;
    for (const [what, why] of Object.entries(missing)) if (why) report.notes.push(`${what}: ${why}`);
    if (vsftpd?.tls === false) report.notes.push('vsftpd runs without TLS (no certificate)');

    const ctx: Context = {
      options,
      work,
      helpers,
      cert: certOk,
      vsftpd,
      sshd,
      lpf,
      missing,
      report,
      deadline: new Deadline(options.maxMinutes * 60_000),
      progress,
    };
    const cases: [CaseName, (c: Context) => Promise<void>][] = [
      ['big', bigFileCase],
      ['clients', manyClientsCase],
      ['small', smallFilesCase],
      ['latency', latencyCase],
      ['s3', objectStorageCase],
    ];
    for (const [name, run] of cases) {
      if (!options.only.has(name)) continue;
      try {
        await run(ctx);
      } catch (err) {
        crashed = true;
        report.notes.push(`case ${name} stopped: ${(err as Error).stack ?? String(err)}`);
        progress(`case ${name} stopped: ${(err as Error).message}`);
      }
    }
  } finally {
    await vsftpd?.service.stop();
    await sshd?.service.stop();
    killAll();
    if (options.keep) progress(`kept the run folder ${work} (--keep): delete it when done`);
    else await removeWorkspace(work);
  }

  report.computeRatios();
  const durationS = (performance.now() - began) / 1000;
  const goals = targets(report, options);
  const cpu = cpus();
  const meta = {
    date: new Date().toISOString(),
    command: `npm run bench --${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    durationS: Math.round(durationS * 10) / 10,
    machine: { cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length, memoryGiB: Math.round(totalmem() / 1024 ** 3), kernel: release() },
    /** 1, 5 and 15-minute load averages: other work on the machine skews every figure. */
    loadAverage: { start: loadAtStart.map((l) => Math.round(l * 100) / 100), end: loadavg().map((l) => Math.round(l * 100) / 100) },
    node: process.version,
    openssl: process.versions.openssl,
    options: { ...options, only: [...options.only] },
  };
  const table = renderTable(report);
  const lines = [
    `lpf benchmark, ${meta.date}: ${meta.machine.cores} cores (${meta.machine.cpu}), ${meta.machine.memoryGiB} GiB, Node ${meta.node}, loopback only; load average ${meta.loadAverage.start.join(' ')} at start, ${meta.loadAverage.end.join(' ')} at end`,
    table,
    '',
    '== Targets from the issue (information, not pass/fail) ==',
    ...goals.map((g) => `${g.met === undefined ? '  ?' : g.met ? ' ok' : 'MISS'}  ${g.target}: ${g.measured}`),
    ...(report.notes.length ? ['', '== Notes ==', ...report.notes.map((n) => `- ${n}`)] : []),
    '',
    `took ${durationS.toFixed(0)} s; JSON: ${options.out}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  await mkdir(dirname(options.out), { recursive: true });
  await writeFile(options.out, `${JSON.stringify({ meta, sections: report.sections, targets: goals, notes: report.notes }, null, 2)}\n`);
  return crashed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    killAll();
    process.exit(1);
  },
);
