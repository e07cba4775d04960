/**
 * Case 6 (`--storage s3`, or `--only s3`): files on S3-compatible object storage beside the local disk. A
 * one-replica OpenStack Swift with its s3api is started on loopback the way the tests start it
 * (test/helpers/swift.ts); lpf-server with its files on the disk (the baseline) and on S3 take turns run by
 * run: the big file up and down, the small files in one command, and two concurrent uploads of the big file
 * through one server and through two servers on the same bucket (aggregate). Then, once per server, its
 * peak RSS while `--clients` clients upload a file of `--upload-mib` at once (concurrent-uploads.ts).
 * Without Swift the rows are skipped with a note, so `--quick` runs anywhere.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { skipWithoutSwift, startSwift, type RunningSwift } from '../../test/helpers/swift.js';
import { BENCH_PASSWORD, type Context } from '../lib/context.js';
import { peakRssOfConcurrentUploads } from './concurrent-uploads.js';
import { flushDirtyPages, sha256File, writeRandomFile } from '../lib/files.js';
import { runChecked } from '../lib/proc.js';
import { measured, unmeasured, type RowSpec, type Section } from '../lib/report.js';
import {
  LPF_BIN,
  lpfAddress,
  lpfBaseEnv,
  lpfClientFlags,
  lpfLoginSession,
  startLpfServer,
  writeLpfAccounts,
  type RunningServer,
} from '../lib/servers.js';
import { MiB, mibPerSecond } from '../lib/stats.js';

/** One way of storing: a name for the rows, and the servers (one, or two on the same bucket). */
interface Store {
  tool: string;
  baseline: boolean;
  note: string;
  addresses: string[];
  samples: Map<string, number[]>;
  errors: Map<string, string>;
}

interface Measurements {
  up: string;
  down: string;
  small: string;
  aggregate: string;
  memory: string;
}

export async function objectStorageCase(ctx: Context): Promise<void> {
  const { options, work, report } = ctx;
  const label = options.bigBytes >= 1024 * MiB ? `${options.bigBytes / (1024 * MiB)} GiB` : `${options.bigBytes / MiB} MiB`;
  const m: Measurements = {
    up: `upload ${label}`,
    down: `download ${label}`,
    small: `${options.smallFiles} files of 4 KiB, one command`,
    aggregate: `2 concurrent uploads of ${label}, aggregate`,
    memory: `server's peak RSS, ${options.clients} concurrent uploads of ${options.uploadBytes / MiB} MiB`,
  };
  const section = report.section(
    'objectStorage',
    '6. Files on S3 (a one-replica Swift on loopback) beside the local disk',
    "lpf CLI start to exit, after -login; lpf-server's files on the local disk (baseline) or on S3, taking turns run by run. Swift, lpf-server and the client share this machine's cores.",
  );
  const missing = skipWithoutSwift();
  if (missing) return skipAll(section, m, missing);
  const dir = join(work, 's3');
  const servers: RunningServer[] = [];
  let swift: RunningSwift | undefined;
  try {
    ctx.progress('S3: starting Swift');
    swift = await startSwift('lpf-bench');
    const security = ctx.lpf.tls ?? ctx.lpf.plain;
    const flags = [...lpfClientFlags(security), '--quiet'];
    const start = async (name: string, extra?: { args: string[]; env: Record<string, string> }) => {
      const root = join(dir, name);
      await writeLpfAccounts(root, ['bench'], BENCH_PASSWORD);
      const server = await startLpfServer(root, `${root}.log`, security, Math.max(64, options.clients), extra);
      servers.push(server);
      const address = lpfAddress(server.port);
      await lpfLoginSession(address, flags, 'bench', BENCH_PASSWORD);
      return address;
    };
    const s3 = {
      args: ['--storage', `s3://${swift.bucket}/bench`, '--s3-endpoint', swift.endpoint, '--s3-path-style'],
      env: swift.env,
    };
    const disk = store('lpf-server on the local disk', true, 'files under ROOT/files', [await start('disk')]);
    const onS3 = store('lpf-server on S3', false, 'objects in a Swift bucket', [await start('s3-a', s3)]);
    const two = store('two lpf-servers on S3, one client each', false, 'the same bucket', [...onS3.addresses, await start('s3-b', s3)]);
    await measureAll(ctx, dir, flags, m, [disk, onS3], [disk, onS3, two]);
    for (const what of [m.up, m.down, m.small]) for (const s of [disk, onS3]) section.rows.push(row(s, what, unitOf(what, m)));
    for (const s of [disk, onS3, two]) section.rows.push(row(s, m.aggregate, 'MiB/s'));
    for (const [i, s] of [disk, onS3].entries()) {
      const server = servers[i]!;
      await sample(ctx, s, m.memory, () =>
        peakRssOfConcurrentUploads(
          { pid: server.service.pid, port: server.port },
          security,
          { user: 'bench', password: BENCH_PASSWORD },
          join(dir, 'concurrent'),
          {
            clients: options.clients,
            fileBytes: options.uploadBytes,
            timeoutMs: 120_000 + ((options.clients * options.uploadBytes) / MiB) * 200,
          },
        ),
      );
      section.rows.push(row(s, m.memory, 'MiB'));
    }
    report.notes.push(security.tls ? 'S3 rows: lpf over TLS' : 'S3 rows: lpf over plain TCP');
  } catch (err) {
    skipAll(section, m, `the S3 case stopped: ${(err as Error).message}`, 'failed');
  } finally {
    for (const server of servers) await server.service.stop();
    await swift?.stop();
    if (!options.keep) await rm(dir, { recursive: true, force: true });
  }
}

function store(tool: string, baseline: boolean, note: string, addresses: string[]): Store {
  return { tool, baseline, note, addresses, samples: new Map(), errors: new Map() };
}

function unitOf(what: string, m: Measurements): string {
  if (what === m.memory) return 'MiB';
  return what === m.small ? 'files/s' : 'MiB/s';
}

function row(s: Store, what: string, unit: string): ReturnType<typeof measured> {
  const better = unit === 'MiB' ? 'lower' : 'higher';
  const note = unit === 'MiB' ? 'VmHWM; clients connected and logged in before' : s.note;
  const spec: RowSpec = { measurement: what, tool: s.tool, unit, better, baseline: s.baseline, note };
  const error = s.errors.get(what);
  if (error) return unmeasured(spec, 'failed', error);
  return measured(spec, s.samples.get(what) ?? []);
}

function skipAll(section: Section, m: Measurements, why: string, status: 'skipped' | 'failed' = 'skipped'): void {
  for (const what of [m.up, m.down, m.small, m.aggregate, m.memory]) {
    const unit = unitOf(what, m);
    section.rows.push(
      unmeasured({ measurement: what, tool: 'lpf-server on S3', unit, better: unit === 'MiB' ? 'lower' : 'higher' }, status, why),
    );
  }
}

/** Runs every figure `options.runs` times, the stores taking turns within each run. */
async function measureAll(
  ctx: Context,
  dir: string,
  flags: string[],
  m: Measurements,
  singles: Store[],
  aggregates: Store[],
): Promise<void> {
  const { options } = ctx;
  const src = join(dir, 'src');
  await mkdir(join(src, 'small'), { recursive: true });
  const big = join(src, 'big.bin');
  const sha = await writeRandomFile(big, options.bigBytes);
  const files: string[] = [];
  for (let i = 0; i < options.smallFiles; i++) {
    const file = join(src, 'small', `f${String(i + 1).padStart(5, '0')}.bin`);
    await writeFile(file, randomBytes(4096));
    files.push(file);
  }
  const lpf = (address: string, args: string[], timeoutMs: number) =>
    runChecked(process.execPath, [LPF_BIN, address, ...args, ...flags], { timeoutMs, env: lpfBaseEnv() });
  const bigTimeout = 120_000 + (options.bigBytes / MiB) * 1000;
  for (let run = 0; run < options.runs; run++) {
    for (const s of singles) {
      const [address] = s.addresses as [string];
      await sample(ctx, s, m.up, async () =>
        mibPerSecond(options.bigBytes, (await lpf(address, ['-upload', big, '--to', 'big.bin'], bigTimeout)).ms),
      );
      await sample(ctx, s, m.down, async () => {
        const back = join(dir, 'back.bin');
        await rm(back, { force: true });
        const { ms } = await lpf(address, ['-download', 'big.bin', '--to', back], bigTimeout);
        if (run === 0 && (await sha256File(back)) !== sha) throw new Error('the download differs from the upload');
        return mibPerSecond(options.bigBytes, ms);
      });
      await sample(ctx, s, m.small, async () => {
        const { ms } = await lpf(address, ['-upload', ...files, '--to', `s${run}/`], 120_000 + files.length * 500);
        return files.length / (ms / 1000);
      });
    }
    for (const s of aggregates) {
      await sample(ctx, s, m.aggregate, async () => {
        const started = performance.now();
        const to = (i: number) => s.addresses[i % s.addresses.length] as string;
        await Promise.all([0, 1].map((i) => lpf(to(i), ['-upload', big, '--to', `both-${i}.bin`], bigTimeout)));
        return mibPerSecond(2 * options.bigBytes, performance.now() - started);
      });
    }
    ctx.progress(`S3: run ${run + 1}/${options.runs} done`);
  }
}

/** One sample of `what` for `s`, after flushing dirty pages; the first failure ends that figure. */
async function sample(ctx: Context, s: Store, what: string, measure: () => Promise<number>): Promise<void> {
  if (s.errors.has(what)) return;
  ctx.deadline.check('the S3 case');
  await flushDirtyPages();
  try {
    const value = await measure();
    s.samples.set(what, [...(s.samples.get(what) ?? []), value]);
  } catch (err) {
    s.errors.set(what, (err as Error).message);
  }
}
