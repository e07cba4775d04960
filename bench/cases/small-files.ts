/**
 * Case 4: many 4 KiB files. "One process per file" runs the commands one
 * after the other as a shell loop would; the files are split into as many
 * slices as there are runs, tools take turns slice by slice, and each
 * slice's files/s is one sample. "One command" sends every file in one
 * invocation, repeated for each run.
 */
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BENCH_PASSWORD, type Context } from '../lib/context.js';
import { runChecked } from '../lib/proc.js';
import { measured, unmeasured, type RowSpec } from '../lib/report.js';
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
import { summarize } from '../lib/stats.js';
import { CURL_BIN } from '../peers/vsftpd.js';
import { SFTP_BIN } from '../peers/sshd.js';

const FILE_SIZE = 4096;
const PER_PROCESS_TIMEOUT = { timeoutMs: 30_000 };

interface PerProcessTool {
  name: string;
  baseline?: boolean;
  note: string;
  /** Uploads one file in one new process; resolves with its start-to-exit time. */
  upload(file: string, name: string): Promise<number>;
  /** How many of the loop's files arrived whole. */
  count(): Promise<number>;
}

interface SessionTool {
  name: string;
  baseline?: boolean;
  note: string;
  /** Uploads every file in one command; resolves with its start-to-exit time. */
  uploadAll(run: number): Promise<number>;
  count(run: number): Promise<number>;
}

export async function smallFilesCase(ctx: Context): Promise<void> {
  const { options, work, helpers, report } = ctx;
  const n = options.smallFiles;
  const section = report.section(
    'smallFiles',
    `4. Many small files (${n} files of 4 KiB, uploads)`,
    'files/s; one process per file: files split into one slice per run, one sample per slice. Baseline: the raw Node pipe (fsync per file), as one process per file and as one process for all.',
  );
  const dir = join(work, 'small');
  const srcDir = join(dir, 'src');
  await mkdir(srcDir, { recursive: true });
  const names = Array.from({ length: n }, (_, i) => `f${String(i + 1).padStart(4, '0')}.bin`);
  for (const name of names) await writeFile(join(srcDir, name), randomBytes(FILE_SIZE));
  const files = names.map((name) => join(srcDir, name));

  const servers: RunningServer[] = [];
  try {
    const raw = await startRawServer(helpers.rawPipe, join(dir, 'raw-root'), join(dir, 'raw.log'));
    servers.push(raw);
    const node = process.execPath;
    const ftp = ctx.vsftpd;
    const ssh = ctx.sshd;

    // One process per file.
    const perProcess: PerProcessTool[] = [
      {
        name: 'raw Node TCP pipe',
        baseline: true,
        note: 'node + connect + fsync',
        upload: async (file, name) =>
          (await runChecked(node, [helpers.rawPipe, 'put', String(raw.port), file, `p-${name}`], PER_PROCESS_TIMEOUT)).ms,
        count: () => countFiles(raw.filesDir, 'p-'),
      },
    ];
    // lpf's one-command tools, made beside the per-process ones (they share the server).
    const lpfSessions: SessionTool[] = [];
    const addLpf = async (security: LpfSecurity) => {
      const root = join(dir, security.tls ? 'lpf-tls' : 'lpf-plain');
      await writeLpfAccounts(root, ['bench'], BENCH_PASSWORD);
      const lpf = await startLpfServer(root, `${root}.log`, security);
      servers.push(lpf);
      const flags = [...lpfClientFlags(security), '--quiet'];
      // As a user would: log in once, then every command uses the session (no scrypt per command).
      await lpfLoginSession(lpfAddress(lpf.port), flags, 'bench', BENCH_PASSWORD);
      perProcess.push({
        name: security.tls ? 'lpf CLI, TLS' : 'lpf CLI, plain TCP',
        note: `node + connect${security.tls ? ' + TLS handshake' : ''} + session login + fsync`,
        upload: async (file, name) =>
          (
            await runChecked(node, [LPF_BIN, lpfAddress(lpf.port), '-upload', file, '--to', name, ...flags], {
              ...PER_PROCESS_TIMEOUT,
              env: lpfBaseEnv(),
            })
          ).ms,
        count: () => countFiles(join(lpf.filesDir, 'bench'), 'f'),
      });
      lpfSessions.push({
        name: security.tls ? 'lpf CLI, TLS, one command' : 'lpf CLI, plain TCP, one command',
        note: 'lpf -upload FILE... --to DIR over one connection; an fsync per file',
        uploadAll: async (run) =>
          (
            await runChecked(node, [LPF_BIN, lpfAddress(lpf.port), '-upload', ...files, '--to', `s${run}/`, ...flags], {
              ...sessionTimeout(n),
              env: lpfBaseEnv(),
            })
          ).ms,
        count: (run) => countFiles(join(lpf.filesDir, 'bench', `s${run}`), ''),
      });
    };
    await addLpf(ctx.lpf.plain);
    if (ctx.lpf.tls) await addLpf(ctx.lpf.tls);
    if (ftp) {
      perProcess.push({
        name: 'vsftpd + curl',
        note: 'no fsync',
        upload: async (file, name) =>
          (await runChecked(CURL_BIN, [...ftp.curlArgs(false), '-T', file, ftp.url(`p-${name}`)], PER_PROCESS_TIMEOUT)).ms,
        count: () => countFiles(ftp.uploadDir, 'p-'),
      });
    }
    const slices = Math.max(1, Math.min(options.runs, n));
    const perFile = new Map<PerProcessTool, { rates: number[]; ms: number[]; error?: string }>(
      perProcess.map((t) => [t, { rates: [], ms: [] }]),
    );
    for (let s = 0; s < slices; s++) {
      const slice = names.slice(Math.floor((s * n) / slices), Math.floor(((s + 1) * n) / slices));
      for (const tool of perProcess) {
        const result = perFile.get(tool) as { rates: number[]; ms: number[]; error?: string };
        if (result.error) continue;
        ctx.deadline.check('the small-files case');
        try {
          const start = performance.now();
          for (const name of slice) result.ms.push(await tool.upload(join(srcDir, name), name));
          result.rates.push(slice.length / ((performance.now() - start) / 1000));
        } catch (err) {
          result.error = (err as Error).message;
        }
      }
      ctx.progress(`small files: one process per file, slice ${s + 1}/${slices} done`);
    }
    const perProcessMeasurement = `${n} files, one process per file`;
    for (const tool of perProcess) {
      const r = perFile.get(tool) as { rates: number[]; ms: number[]; error?: string };
      const arrived = r.error ? 0 : await tool.count();
      const spec: RowSpec = {
        measurement: perProcessMeasurement,
        tool: tool.name,
        unit: 'files/s',
        better: 'higher',
        baseline: tool.baseline,
      };
      if (r.error || arrived !== n) {
        section.rows.push(unmeasured(spec, 'failed', r.error ?? `${arrived} of ${n} files arrived`));
      } else {
        section.rows.push(measured({ ...spec, note: `${tool.note}; per file p50 ${summarize(r.ms).median.toFixed(0)} ms` }, r.rates));
      }
    }
    if (!ctx.lpf.tls) {
      const why = ctx.missing.lpfTls ?? 'lpf has no TLS yet';
      section.rows.push(
        unmeasured(
          { measurement: perProcessMeasurement, tool: 'lpf CLI, TLS', unit: 'files/s', better: 'higher' },
          why.startsWith('lpf has no TLS') ? 'not yet implemented' : 'skipped',
          why,
        ),
      );
    }
    if (!ftp)
      section.rows.push(
        unmeasured(
          { measurement: perProcessMeasurement, tool: 'vsftpd + curl', unit: 'files/s', better: 'higher' },
          'skipped',
          ctx.missing.vsftpd ?? 'not available',
        ),
      );

    // One command for all the files.
    const sessions: SessionTool[] = [
      {
        name: 'raw Node TCP pipe, one process',
        baseline: true,
        note: 'a connection and an fsync per file',
        uploadAll: async (run) =>
          (await runChecked(node, [helpers.rawPipe, 'put-all', String(raw.port), `s${run}-`, ...files], sessionTimeout(n))).ms,
        count: (run) => countFiles(raw.filesDir, `s${run}-`),
      },
      ...lpfSessions,
    ];
    if (ftp) {
      sessions.push({
        name: 'vsftpd + curl, one session',
        note: 'curl -K with every file; a data connection per file; no fsync',
        uploadAll: async (run) => {
          const config = join(dir, `curl-${run}.txt`);
          await writeFile(config, files.map((f, i) => `upload-file = "${f}"\nurl = "${ftp.url(`s${run}-${names[i]}`)}"\n`).join(''));
          return (await runChecked(CURL_BIN, [...ftp.curlArgs(false), '-K', config], sessionTimeout(n))).ms;
        },
        count: (run) => countFiles(ftp.uploadDir, `s${run}-`),
      });
    }
    if (ssh) {
      sessions.push({
        name: 'sftp, one session',
        note: 'sftp -b with a put per file; no fsync',
        uploadAll: async (run) => {
          const batch = join(dir, `sftp-${run}.txt`);
          await writeFile(batch, files.map((f, i) => `put ${f} ${join(ssh.uploadDir, `s${run}-${names[i]}`)}\n`).join(''));
          return (await runChecked(SFTP_BIN, ssh.sftpArgs(batch), sessionTimeout(n))).ms;
        },
        count: (run) => countFiles(ssh.uploadDir, `s${run}-`),
      });
    }
    const perSession = new Map<SessionTool, { rates: number[]; error?: string }>(sessions.map((t) => [t, { rates: [] }]));
    for (let run = 0; run < options.runs; run++) {
      for (const tool of sessions) {
        const result = perSession.get(tool) as { rates: number[]; error?: string };
        if (result.error) continue;
        ctx.deadline.check('the small-files case');
        try {
          const ms = await tool.uploadAll(run);
          const arrived = await tool.count(run);
          if (arrived !== n) throw new Error(`${arrived} of ${n} files arrived`);
          result.rates.push(n / (ms / 1000));
        } catch (err) {
          result.error = (err as Error).message;
        }
      }
      ctx.progress(`small files: one command, run ${run + 1}/${options.runs} done`);
    }
    const sessionMeasurement = `${n} files, one command`;
    for (const tool of sessions) {
      const r = perSession.get(tool) as { rates: number[]; error?: string };
      const spec: RowSpec = {
        measurement: sessionMeasurement,
        tool: tool.name,
        unit: 'files/s',
        better: 'higher',
        baseline: tool.baseline,
        note: tool.note,
      };
      section.rows.push(r.error ? unmeasured(spec, 'failed', r.error) : measured(spec, r.rates));
    }
    if (!ftp)
      section.rows.push(
        unmeasured(
          { measurement: sessionMeasurement, tool: 'vsftpd + curl, one session', unit: 'files/s', better: 'higher' },
          'skipped',
          ctx.missing.vsftpd ?? 'not available',
        ),
      );
    if (!ssh)
      section.rows.push(
        unmeasured(
          { measurement: sessionMeasurement, tool: 'sftp, one session', unit: 'files/s', better: 'higher' },
          'skipped',
          ctx.missing.sshd ?? 'not available',
        ),
      );
  } finally {
    for (const server of servers) await server.service.stop();
    if (!options.keep) await rm(dir, { recursive: true, force: true });
    for (const peerDir of [ctx.vsftpd?.uploadDir, ctx.sshd?.uploadDir]) {
      if (!peerDir) continue;
      for (const name of await readdir(peerDir).catch(() => [] as string[])) {
        if (/^(p|s\d+)-f\d+\.bin$/.test(name)) await rm(join(peerDir, name), { force: true });
      }
    }
  }
}

function sessionTimeout(n: number): { timeoutMs: number } {
  return { timeoutMs: 60_000 + n * 500 };
}

/** How many whole (4 KiB) files starting with `prefix` are in `dir`. */
async function countFiles(dir: string, prefix: string): Promise<number> {
  let count = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info?.size === FILE_SIZE) count++;
  }
  return count;
}
