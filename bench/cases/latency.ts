/**
 * Case 5: latency. Ping round trips over one connection (client library in
 * this process) against a 16-byte echo over the raw Node pipe; and the
 * start-to-exit time of short commands against `node -e 0`, Node's own
 * start-up, which bounds what any Node CLI can reach.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LpfClient } from '../../src/client/client.js';
import { BENCH_PASSWORD, type Context } from '../lib/context.js';
import { LOOPBACK, assertLoopback } from '../lib/net.js';
import { runChecked } from '../lib/proc.js';
import { measured, unmeasured, type RowSpec } from '../lib/report.js';
import {
  LPF_BIN,
  lpfAddress,
  lpfBaseEnv,
  lpfClientFlags,
  lpfEnv,
  lpfLoginSession,
  startLpfServer,
  startRawServer,
  writeLpfAccounts,
  type LpfSecurity,
  type RunningServer,
} from '../lib/servers.js';
import { rawEchoTimes } from '../raw/pipe.js';
import { CURL_BIN } from '../peers/vsftpd.js';
import { SFTP_BIN } from '../peers/sshd.js';

const WARMUP = 100;
const TIMEOUT = { timeoutMs: 30_000 };

interface Command {
  name: string;
  baseline?: boolean;
  note: string;
  run(i: number): Promise<number>;
}

export async function latencyCase(ctx: Context): Promise<void> {
  const { options, work, helpers, report } = ctx;
  const section = report.section(
    'latency',
    '5. Latency',
    `Ping: ${options.pings} round trips over one connection after ${WARMUP} untimed, in blocks that alternate with the baseline (a 16-byte echo over the raw Node pipe). Start-to-exit: ${options.startRuns} runs of each command, in turns; baseline: node -e 0.`,
  );
  const dir = join(work, 'latency');
  await mkdir(dir, { recursive: true });
  const servers: RunningServer[] = [];
  const clients: LpfClient[] = [];
  try {
    const raw = await startRawServer(helpers.rawPipe, join(dir, 'raw-root'), join(dir, 'raw.log'));
    servers.push(raw);
    const rawTls = ctx.cert
      ? await startRawServer(helpers.rawPipe, join(dir, 'raw-tls-root'), join(dir, 'raw-tls.log'), ctx.cert)
      : undefined;
    if (rawTls) servers.push(rawTls);
    const lpfServers = new Map<LpfSecurity, RunningServer>();
    for (const security of [ctx.lpf.plain, ctx.lpf.tls]) {
      if (!security) continue;
      const root = join(dir, security.tls ? 'lpf-tls' : 'lpf-plain');
      await writeLpfAccounts(root, ['bench'], BENCH_PASSWORD);
      const server = await startLpfServer(root, `${root}.log`, security);
      servers.push(server);
      lpfServers.set(security, server);
    }

    // Ping round trips, alternating blocks of each client and its raw echo baseline.
    interface Pinger {
      tool: string;
      tls: boolean;
      baseline?: boolean;
      note?: string;
      times: number[];
      ping(count: number, warmup: number): Promise<number[]>;
    }
    const pingers: Pinger[] = [
      {
        tool: 'raw Node TCP echo (16 bytes)',
        tls: false,
        baseline: true,
        times: [],
        ping: (count, warmup) => rawEchoTimes(LOOPBACK, raw.port, count, warmup),
      },
    ];
    if (rawTls && ctx.cert) {
      const ca = ctx.cert.cert;
      pingers.push({
        tool: 'raw Node TLS echo (16 bytes)',
        tls: true,
        baseline: true,
        times: [],
        ping: (count, warmup) => rawEchoTimes(LOOPBACK, rawTls.port, count, warmup, ca),
      });
    }
    for (const [security, server] of lpfServers) {
      assertLoopback(LOOPBACK);
      const client = await LpfClient.connect(
        { host: LOOPBACK, port: server.port },
        { tls: security.tls ? { mode: 'ca', ca: security.cert.cert } : { mode: 'plain' } },
      );
      clients.push(client);
      pingers.push({
        tool: security.tls ? 'lpf client library, TLS' : 'lpf client library, plain TCP',
        tls: security.tls,
        note: 'LpfClient.ping()',
        times: [],
        ping: async (count, warmup) => {
          for (let i = 0; i < warmup; i++) await client.ping();
          const times: number[] = [];
          for (let i = 0; i < count; i++) times.push(await client.ping());
          return times;
        },
      });
    }
    const blocks = Math.max(1, options.runs);
    for (let b = 0; b < blocks; b++) {
      ctx.deadline.check('the latency case');
      const count = Math.floor(((b + 1) * options.pings) / blocks) - Math.floor((b * options.pings) / blocks);
      for (const p of pingers) p.times.push(...(await p.ping(count, b === 0 ? WARMUP : 10)));
    }
    for (const tls of [false, true]) {
      const measurement = `ping round trip, one connection, ${tls ? 'TLS' : 'plain TCP'}`;
      for (const p of pingers.filter((x) => x.tls === tls)) {
        section.rows.push(
          measured({ measurement, tool: p.tool, unit: 'ms', better: 'lower', baseline: p.baseline, tail: true, note: p.note }, p.times),
        );
      }
      if (tls && !ctx.lpf.tls) {
        const why = ctx.missing.lpfTls ?? 'lpf has no TLS yet';
        section.rows.push(
          unmeasured(
            { measurement, tool: 'lpf client library, TLS', unit: 'ms', better: 'lower' },
            why.startsWith('lpf has no TLS') ? 'not yet implemented' : 'skipped',
            why,
          ),
        );
      }
    }
    ctx.progress(`latency: ${options.pings} pings per client done`);

    // Start-to-exit of short commands.
    const node = process.execPath;
    const one = join(dir, 'one-byte.bin');
    await writeFile(one, 'x');
    const env = lpfEnv('bench', BENCH_PASSWORD);
    const commands: Command[] = [
      {
        name: 'node -e 0',
        baseline: true,
        note: "Node's start-up alone",
        run: async () => (await runChecked(node, ['-e', '0'], TIMEOUT)).ms,
      },
      {
        name: 'raw Node pipe put (1 byte)',
        note: 'node + connect + fsync',
        run: async (i) => (await runChecked(node, [helpers.rawPipe, 'put', String(raw.port), one, `one-${i}.bin`], TIMEOUT)).ms,
      },
    ];
    for (const [security, server] of lpfServers) {
      const addr = lpfAddress(server.port);
      const flags = [...lpfClientFlags(security), '--quiet'];
      const how = security.tls ? 'TLS' : 'plain TCP';
      commands.push(
        {
          name: `lpf -ping, ${how}`,
          note: 'no login',
          run: async () => (await runChecked(node, [LPF_BIN, addr, '-ping', ...flags], { ...TIMEOUT, env: lpfBaseEnv() })).ms,
        },
        {
          name: `lpf -upload (1 byte), ${how}`,
          note: 'password login (scrypt) every time',
          run: async (i) =>
            (await runChecked(node, [LPF_BIN, addr, '-upload', one, '--to', `one-${i}.bin`, ...flags], { ...TIMEOUT, env })).ms,
        },
        {
          name: `lpf -upload (1 byte), ${how}, session`,
          note: 'after one -login: no scrypt',
          run: async (i) =>
            (await runChecked(node, [LPF_BIN, addr, '-upload', one, '--to', `s-${i}.bin`, ...flags], { ...TIMEOUT, env: lpfBaseEnv() })).ms,
        },
      );
      await lpfLoginSession(addr, flags, 'bench', BENCH_PASSWORD);
    }
    const ftp = ctx.vsftpd;
    if (ftp) {
      commands.push({
        name: 'curl upload to vsftpd (1 byte)',
        note: 'no fsync',
        run: async (i) => (await runChecked(CURL_BIN, [...ftp.curlArgs(false), '-T', one, ftp.url(`one-${i}.bin`)], TIMEOUT)).ms,
      });
    }
    const ssh = ctx.sshd;
    if (ssh) {
      const batch = join(dir, 'sftp-one.txt');
      await writeFile(batch, `put ${one} ${join(ssh.uploadDir, 'one.bin')}\n`);
      commands.push({
        name: 'sftp put (1 byte)',
        note: 'ssh handshake + key login',
        run: async () => (await runChecked(SFTP_BIN, ssh.sftpArgs(batch), TIMEOUT)).ms,
      });
    }
    const times = new Map<Command, { ms: number[]; error?: string }>(commands.map((c) => [c, { ms: [] }]));
    for (let i = 0; i < options.startRuns; i++) {
      ctx.deadline.check('the latency case');
      for (const command of commands) {
        const t = times.get(command) as { ms: number[]; error?: string };
        if (t.error) continue;
        try {
          t.ms.push(await command.run(i));
        } catch (err) {
          t.error = (err as Error).message;
        }
      }
    }
    const start = 'start to exit';
    for (const command of commands) {
      const t = times.get(command) as { ms: number[]; error?: string };
      const spec: RowSpec = {
        measurement: start,
        tool: command.name,
        unit: 'ms',
        better: 'lower',
        baseline: command.baseline,
        tail: true,
        note: command.note,
      };
      section.rows.push(t.error ? unmeasured(spec, 'failed', t.error) : measured(spec, t.ms));
    }
    if (!ctx.lpf.tls) {
      const why = ctx.missing.lpfTls ?? 'lpf has no TLS yet';
      const status = why.startsWith('lpf has no TLS') ? 'not yet implemented' : 'skipped';
      section.rows.push(unmeasured({ measurement: start, tool: 'lpf -ping, TLS', unit: 'ms', better: 'lower' }, status, why));
      section.rows.push(unmeasured({ measurement: start, tool: 'lpf -upload (1 byte), TLS', unit: 'ms', better: 'lower' }, status, why));
    }
    if (!ftp)
      section.rows.push(
        unmeasured(
          { measurement: start, tool: 'curl upload to vsftpd (1 byte)', unit: 'ms', better: 'lower' },
          'skipped',
          ctx.missing.vsftpd ?? 'not available',
        ),
      );
    if (!ssh)
      section.rows.push(
        unmeasured(
          { measurement: start, tool: 'sftp put (1 byte)', unit: 'ms', better: 'lower' },
          'skipped',
          ctx.missing.sshd ?? 'not available',
        ),
      );
    ctx.progress('latency: start-to-exit runs done');
  } finally {
    for (const client of clients) client.close();
    for (const server of servers) await server.service.stop();
    if (!options.keep) await rm(dir, { recursive: true, force: true });
    if (ctx.vsftpd) {
      for (let i = 0; i < options.startRuns; i++) await rm(join(ctx.vsftpd.uploadDir, `one-${i}.bin`), { force: true });
    }
  }
}
