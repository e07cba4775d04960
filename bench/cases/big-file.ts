/**
 * Case 1 (and the first half of case 2): one big random file, disk to disk,
 * uploaded then downloaded by every tool, each transfer timed as the whole
 * command a user would run (process start to exit). Tools take turns run by
 * run so that a slow minute on the machine does not fall on one tool only.
 * Dirty pages are flushed (untimed) before each transfer: tools that do not
 * fsync would otherwise hand their write-back to the next one.
 */
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BENCH_PASSWORD, type Context } from '../lib/context.js';
import { fileSize, flushDirtyPages, sha256File, writeRandomFile } from '../lib/files.js';
import { runChecked, type RunOptions } from '../lib/proc.js';
import { measured, unmeasured, type Row, type RowSpec } from '../lib/report.js';
import { PeakRss, statusKiB } from '../lib/rss.js';
import {
  LPF_BIN,
  lpfAddress,
  lpfBaseEnv,
  lpfClientFlags,
  lpfLoginSession,
  startLpfServer,
  startRawServer,
  writeLpfAccounts,
  type LpfSecurity,
  type RunningServer,
} from '../lib/servers.js';
import { MiB, mibPerSecond } from '../lib/stats.js';
import { CURL_BIN } from '../peers/vsftpd.js';
import { SFTP_BIN } from '../peers/sshd.js';

type Group = 'plain TCP' | 'encrypted (TLS, SSH)';

interface Tool {
  name: string;
  group: Group;
  /** The row the others of its group are divided by. */
  baseline?: boolean;
  note: string;
  /** Uploads `src` as `remote`; resolves when the command has exited successfully. */
  upload(src: string, remote: string): Promise<number>;
  download(remote: string, dst: string): Promise<number>;
  /** Where the server keeps an uploaded file, to check it. */
  storedPath(remote: string): string;
  /** The server process to watch for memory, and whether it forks per client. */
  server: { name: string; pid: number; tree: boolean };
}

interface Outcome {
  up: number[];
  down: number[];
  upRss: number[];
  downRss: number[];
  rssMethod: string;
  error?: string;
}

export async function bigFileCase(ctx: Context): Promise<void> {
  const { options, work, helpers, report } = ctx;
  const size = options.bigBytes;
  const label = size >= 1024 * MiB ? `${size / (1024 * MiB)} GiB` : `${size / MiB} MiB`;
  const section = report.section(
    'bigFile',
    `1. One big file (${label} random, disk to disk, ${options.runs} runs)`,
    'Each transfer timed as the whole command (process start to exit). Baselines: a minimal Node pipe (1 MiB reads, fsync on the receiver), over TCP for the plain rows and over TLS 1.3 for the encrypted ones.',
  );
  const memory = report.section('memory');
  const dir = join(work, 'big');
  const src = join(dir, 'source.bin');
  const dst = join(dir, 'received.bin');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  ctx.progress(`big file: writing ${label} of random data`);
  const sha = await writeRandomFile(src, size);

  const timeout: RunOptions = { timeoutMs: Math.max(60_000, (size / MiB / 10) * 1000) }; // at least 10 MiB/s
  const started: RunningServer[] = [];
  const tools: Tool[] = [];
  try {
    // The servers: lpf (plain, and TLS when it has it), and the raw pipe over TCP and TLS.
    const node = process.execPath;
    const raw = await startRawServer(helpers.rawPipe, join(dir, 'raw-root'), join(dir, 'raw.log'));
    started.push(raw);
    tools.push({
      name: 'raw Node TCP pipe',
      group: 'plain TCP',
      baseline: true,
      note: 'fsync on the receiver',
      upload: async (s, r) => (await runChecked(node, [helpers.rawPipe, 'put', String(raw.port), s, r], timeout)).ms,
      download: async (r, d) => (await runChecked(node, [helpers.rawPipe, 'get', String(raw.port), r, d], timeout)).ms,
      storedPath: (r) => join(raw.filesDir, r),
      server: { name: 'raw Node pipe server', pid: raw.service.pid, tree: false },
    });
    const loginRows: Row[] = [];
    const addLpf = async (security: LpfSecurity) => {
      const tag = security.tls ? 'tls' : 'plain';
      const root = join(dir, `lpf-${tag}`);
      await writeLpfAccounts(root, ['bench'], BENCH_PASSWORD);
      const lpf = await startLpfServer(root, join(dir, `lpf-${tag}.log`), security);
      started.push(lpf);
      const addr = lpfAddress(lpf.port);
      const flags = [...lpfClientFlags(security), '--quiet'];
      const serverName = security.tls ? 'lpf-server, TLS' : 'lpf-server, plain TCP';
      // One -login before the runs, as a user moving big files would: every transfer then uses the
      // session, and the server's peaks below are the transfers' own. The password login (one scrypt,
      // 32 MiB, given back at once) is measured apart.
      const rss = new PeakRss(lpf.service.pid, false);
      rss.start();
      await lpfLoginSession(addr, lpfClientFlags(security), 'bench', BENCH_PASSWORD);
      const login = rss.stop();
      loginRows.push(
        measured(
          {
            measurement: 'during one password login',
            tool: serverName,
            unit: 'MiB',
            better: 'lower',
            note: `${login.method}; -login: one scrypt (32 MiB)`,
          },
          [login.peakMiB],
        ),
      );
      const env = lpfBaseEnv();
      tools.push({
        name: security.tls ? 'lpf CLI, TLS' : 'lpf CLI, plain TCP',
        group: security.tls ? 'encrypted (TLS, SSH)' : 'plain TCP',
        note: 'real CLI process, logged in with a session; SHA-256 and fsync',
        upload: async (s, r) => (await runChecked(node, [LPF_BIN, addr, '-upload', s, '--to', r, ...flags], { ...timeout, env })).ms,
        download: async (r, d) =>
          (await runChecked(node, [LPF_BIN, addr, '-download', r, '--to', d, '--force', ...flags], { ...timeout, env })).ms,
        storedPath: (r) => join(lpf.filesDir, 'bench', r),
        server: { name: serverName, pid: lpf.service.pid, tree: false },
      });
    };
    await addLpf(ctx.lpf.plain);
    if (ctx.cert) {
      const ca = ctx.cert.certPath;
      const rawTls = await startRawServer(helpers.rawPipe, join(dir, 'raw-tls-root'), join(dir, 'raw-tls.log'), ctx.cert);
      started.push(rawTls);
      tools.push({
        name: 'raw Node TLS 1.3 pipe',
        group: 'encrypted (TLS, SSH)',
        baseline: true,
        note: 'fsync on the receiver',
        upload: async (s, r) => (await runChecked(node, [helpers.rawPipe, 'put', String(rawTls.port), s, r, ca], timeout)).ms,
        download: async (r, d) => (await runChecked(node, [helpers.rawPipe, 'get', String(rawTls.port), r, d, ca], timeout)).ms,
        storedPath: (r) => join(rawTls.filesDir, r),
        server: { name: 'raw Node TLS pipe server', pid: rawTls.service.pid, tree: false },
      });
    }
    if (ctx.lpf.tls) await addLpf(ctx.lpf.tls);
    const ftp = ctx.vsftpd;
    if (ftp) {
      for (const tls of ftp.tls ? [false, true] : [false]) {
        tools.push({
          name: tls ? 'vsftpd + curl, TLS' : 'vsftpd + curl',
          group: tls ? 'encrypted (TLS, SSH)' : 'plain TCP',
          note: 'no fsync',
          upload: async (s, r) => (await runChecked(CURL_BIN, [...ftp.curlArgs(tls), '-T', s, ftp.url(r)], timeout)).ms,
          download: async (r, d) => (await runChecked(CURL_BIN, [...ftp.curlArgs(tls), '-o', d, ftp.url(r)], timeout)).ms,
          storedPath: (r) => join(ftp.uploadDir, r),
          server: { name: 'vsftpd', pid: ftp.service.pid, tree: true },
        });
      }
    }
    const ssh = ctx.sshd;
    if (ssh) {
      for (const cipher of [undefined, 'aes128-gcm@openssh.com']) {
        const batchUp = join(dir, `sftp-up-${cipher ? 'gcm' : 'default'}.txt`);
        const batchDown = join(dir, `sftp-down-${cipher ? 'gcm' : 'default'}.txt`);
        tools.push({
          name: cipher ? 'sftp (aes128-gcm)' : 'sftp (default cipher)',
          group: 'encrypted (TLS, SSH)',
          note: 'no fsync',
          upload: async (s, r) => {
            await writeFile(batchUp, `put ${s} ${join(ssh.uploadDir, r)}\n`);
            return (await runChecked(SFTP_BIN, ssh.sftpArgs(batchUp, cipher), timeout)).ms;
          },
          download: async (r, d) => {
            await writeFile(batchDown, `get ${join(ssh.uploadDir, r)} ${d}\n`);
            return (await runChecked(SFTP_BIN, ssh.sftpArgs(batchDown, cipher), timeout)).ms;
          },
          storedPath: (r) => join(ssh.uploadDir, r),
          server: { name: 'sshd', pid: ssh.service.pid, tree: true },
        });
      }
    }

    // Memory at rest, before any transfer: what every later peak starts from.
    for (const tool of tools.filter((t) => !t.server.tree)) {
      const rss = statusKiB(tool.server.pid, 'VmRSS');
      const spec: RowSpec = {
        measurement: 'at rest, after start',
        tool: tool.server.name,
        unit: 'MiB',
        better: 'lower',
        baseline: tool.name === 'raw Node TCP pipe',
        note: 'VmRSS',
      };
      memory.rows.push(rss === undefined ? unmeasured(spec, 'failed', 'process gone') : measured(spec, [rss / 1024]));
    }
    memory.rows.push(...loginRows);

    const outcomes = new Map<Tool, Outcome>(tools.map((t) => [t, { up: [], down: [], upRss: [], downRss: [], rssMethod: '' }]));
    for (let runIndex = 0; runIndex < options.runs; runIndex++) {
      for (const tool of tools) {
        const outcome = outcomes.get(tool) as Outcome;
        if (outcome.error) continue;
        ctx.deadline.check('the big-file case');
        const remote = `big-${tool.name.replace(/[^a-z0-9]+/gi, '-')}.bin`;
        try {
          // Check content on the first run (a tool that corrupts data is no baseline); size on every run.
          const check = runIndex === 0;
          const up = await measure(tool, () => tool.upload(src, remote));
          await expectFile(tool.storedPath(remote), size, check ? sha : undefined, `${tool.name} upload`);
          await rm(dst, { force: true });
          const down = await measure(tool, () => tool.download(remote, dst));
          await expectFile(dst, size, check ? sha : undefined, `${tool.name} download`);
          await rm(dst, { force: true });
          outcome.up.push(mibPerSecond(size, up.ms));
          outcome.down.push(mibPerSecond(size, down.ms));
          outcome.upRss.push(up.peakMiB);
          outcome.downRss.push(down.peakMiB);
          outcome.rssMethod = up.method;
          ctx.progress(
            `big file: run ${runIndex + 1}/${options.runs} ${tool.name}: ↑ ${mibPerSecond(size, up.ms).toFixed(0)} MiB/s, ↓ ${mibPerSecond(size, down.ms).toFixed(0)} MiB/s`,
          );
        } catch (err) {
          outcome.error = (err as Error).message;
          ctx.progress(`big file: ${tool.name} failed: ${outcome.error}`);
        }
      }
    }

    // Rows, in table order: per group, the baseline first, lpf next, then the peers.
    for (const direction of ['upload', 'download'] as const) {
      for (const group of ['plain TCP', 'encrypted (TLS, SSH)'] as const) {
        const measurement = `${direction} ${label}, ${group}`;
        const spec = (tool: string, note?: string): RowSpec => ({ measurement, tool, unit: 'MiB/s', better: 'higher', note });
        for (const tool of tools.filter((t) => t.group === group)) {
          const o = outcomes.get(tool) as Outcome;
          const samples = direction === 'upload' ? o.up : o.down;
          const row = { ...spec(tool.name, tool.note), baseline: tool.baseline };
          section.rows.push(o.error && samples.length === 0 ? unmeasured(row, 'failed', o.error) : measured(row, samples));
        }
        if (group === 'encrypted (TLS, SSH)') {
          if (!ctx.cert) section.rows.push(unmeasured(spec('raw Node TLS 1.3 pipe'), 'skipped', ctx.missing.tls ?? 'no certificate'));
          if (!ctx.lpf.tls) {
            const why = ctx.missing.lpfTls ?? 'lpf has no TLS yet';
            section.rows.push(unmeasured(spec('lpf CLI, TLS'), why.startsWith('lpf has no TLS') ? 'not yet implemented' : 'skipped', why));
          }
          if (!ssh) section.rows.push(unmeasured(spec('sftp'), 'skipped', ctx.missing.sshd ?? 'not available'));
        }
        if (!ftp)
          section.rows.push(
            unmeasured(
              spec(group === 'plain TCP' ? 'vsftpd + curl' : 'vsftpd + curl, TLS'),
              'skipped',
              ctx.missing.vsftpd ?? 'not available',
            ),
          );
      }

      // Memory: one row per server (vsftpd and sshd serve two tools each: their runs are pooled).
      const memMeasurement = `during the ${label} ${direction}s`;
      const byServer = new Map<string, { samples: number[]; method: string; baseline: boolean; errors: string[] }>();
      for (const tool of tools) {
        const o = outcomes.get(tool) as Outcome;
        const entry = byServer.get(tool.server.name) ?? {
          samples: [],
          method: o.rssMethod,
          baseline: tool.name === 'raw Node TCP pipe',
          errors: [],
        };
        entry.samples.push(...(direction === 'upload' ? o.upRss : o.downRss));
        entry.method ||= o.rssMethod;
        if (o.error) entry.errors.push(o.error);
        byServer.set(tool.server.name, entry);
      }
      for (const [name, e] of byServer) {
        const scrypt = name.startsWith('lpf-server') ? '; session login: no scrypt (see "during one password login")' : '';
        const spec: RowSpec = {
          measurement: memMeasurement,
          tool: name,
          unit: 'MiB',
          better: 'lower',
          baseline: e.baseline,
          note: e.method + scrypt,
        };
        memory.rows.push(e.samples.length === 0 ? unmeasured(spec, 'failed', e.errors.join('; ')) : measured(spec, e.samples));
      }
    }
  } finally {
    for (const server of started) await server.service.stop();
    if (!options.keep) await rm(dir, { recursive: true, force: true });
    // The peers' copies are large too.
    if (ctx.vsftpd) await rm(ctx.vsftpd.uploadDir, { recursive: true, force: true }).then(() => restoreDir(ctx.vsftpd?.uploadDir));
    if (ctx.sshd) await rm(ctx.sshd.uploadDir, { recursive: true, force: true }).then(() => restoreDir(ctx.sshd?.uploadDir));
  }
}

/** Recreates a peer's upload folder emptied above (world-writable: vsftpd's sessions run as "ftp"). */
async function restoreDir(path: string | undefined): Promise<void> {
  if (!path) return;
  await mkdir(path, { recursive: true });
  await chmod(path, 0o777);
}

/** Flushes dirty pages, then runs one transfer while watching the server's memory. */
async function measure(tool: Tool, transfer: () => Promise<number>): Promise<{ ms: number; peakMiB: number; method: string }> {
  await flushDirtyPages();
  const rss = new PeakRss(tool.server.pid, tool.server.tree);
  rss.start();
  try {
    const ms = await transfer();
    const peak = rss.stop();
    return { ms, peakMiB: peak.peakMiB, method: peak.method };
  } finally {
    rss.stop(); // idempotent: stops the sampler when the transfer threw
  }
}

async function expectFile(path: string, size: number, sha: string | undefined, what: string): Promise<void> {
  const actual = await fileSize(path);
  if (actual !== size) throw new Error(`${what}: expected ${size} bytes at ${path}, found ${actual ?? 'no file'}`);
  if (sha !== undefined && (await sha256File(path)) !== sha) throw new Error(`${what}: the file's content differs from the source`);
}
