/**
 * The targets (issue 15, performance round two), read off one run's
 * figures: information, not a verdict on the run. Every target compares two
 * figures of the same run, so a slow minute on the machine falls on both.
 */
import type { Options } from './context.js';
import { type Report, fmt } from './report.js';
import { MiB } from './stats.js';

export interface Target {
  target: string;
  measured: string;
  /** undefined when it could not be measured in this run. */
  met: boolean | undefined;
}

const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);

function compare(target: string, value: number | undefined, ok: (v: number) => boolean, extra = ''): Target {
  return {
    target,
    measured: value === undefined ? 'not measured' : `${value.toFixed(2)}×${extra}`,
    met: value === undefined ? undefined : ok(value),
  };
}

const figures = (a: number | undefined, b: number | undefined, unit: string) =>
  a !== undefined && b !== undefined ? ` (${fmt(a)} vs ${fmt(b)} ${unit})` : '';

export function bigLabel(options: Options): string {
  return options.bigBytes >= 1024 * MiB ? `${options.bigBytes / (1024 * MiB)} GiB` : `${options.bigBytes / MiB} MiB`;
}

/** Big files: lpf's time at most 1.1× the raw Node pipe's (plain and TLS); the server's peak RSS at most 80 MiB. */
function bigFileTargets(report: Report, options: Options): Target[] {
  const out: Target[] = [];
  const label = bigLabel(options);
  for (const dir of ['upload', 'download']) {
    const ways = [
      { how: 'plain TCP', measurement: `${dir} ${label}, plain TCP`, lpf: 'lpf CLI, plain TCP', raw: 'raw Node TCP pipe' },
      { how: 'TLS', measurement: `${dir} ${label}, encrypted (TLS, SSH)`, lpf: 'lpf CLI, TLS', raw: 'raw Node TLS 1.3 pipe' },
    ];
    for (const w of ways) {
      const lpf = report.median('bigFile', w.measurement, w.lpf);
      const raw = report.median('bigFile', w.measurement, w.raw);
      // MiB/s: lpf's time over the pipe's is the pipe's rate over lpf's.
      out.push(
        compare(
          `${dir} ${label}, ${w.how}: lpf's time ≤ 1.1× the raw Node pipe's`,
          ratio(raw, lpf),
          (v) => v <= 1.1,
          figures(lpf, raw, 'MiB/s'),
        ),
      );
    }
    for (const server of ['lpf-server, plain TCP', 'lpf-server, TLS']) {
      const row = report
        .get('memory')
        ?.rows.find((r) => r.measurement === `during the ${label} ${dir}s` && r.tool === server && r.status === 'ok');
      out.push({
        target: `${server} peak RSS ≤ 80 MiB during the ${label} ${dir}s`,
        measured: row ? `${fmt(row.max)} MiB at most` : 'not measured',
        met: row?.max === undefined ? undefined : row.max <= 80,
      });
    }
  }
  return out;
}

/** Many clients: at most 256 MiB of server memory with 1000 clients, every transfer byte-identical. */
function manyClientTargets(report: Report, options: Options): Target[] {
  const out: Target[] = [];
  const n = options.clients;
  for (const how of ['plain TCP', 'TLS']) {
    const row = report
      .get('memory')
      ?.rows.find((r) => r.measurement === `under ${n} clients (rounds), ${how}` && r.tool === `lpf-server, ${how}` && r.status === 'ok');
    out.push({
      target: `lpf-server, ${how}, peak RSS ≤ 256 MiB with 1000 clients (this run: ${n})`,
      measured: row ? `${fmt(row.max)} MiB at most` : 'not measured',
      met: row?.max === undefined ? undefined : row.max <= 256,
    });
    const agg = report
      .get('manyClients')
      ?.rows.find(
        (r) => r.measurement === `aggregate throughput (up + down), ${how}` && r.tool === `lpf client library, ${how}` && r.status === 'ok',
      );
    out.push({
      target: `${how}: all ${n} clients succeed, byte-identical`,
      measured: agg?.note ?? 'not measured',
      met: agg ? /^(\d+)\/\1 /.test(agg.note ?? '') && !agg.note?.includes('failed') : undefined,
    });
  }
  return out;
}

/** Small files: one command at least as fast as one vsftpd session and one sftp session; a process per file at least half curl+vsftpd. */
function smallFileTargets(report: Report, options: Options): Target[] {
  const out: Target[] = [];
  const loop = `${options.smallFiles} files, one process per file`;
  const curlLoop = report.median('smallFiles', loop, 'vsftpd + curl');
  const session = `${options.smallFiles} files, one command`;
  const peers = [
    { name: 'one vsftpd session', figure: report.median('smallFiles', session, 'vsftpd + curl, one session') },
    { name: 'one sftp session', figure: report.median('smallFiles', session, 'sftp, one session') },
  ];
  for (const how of ['plain TCP', 'TLS']) {
    const lpfSession = report.median('smallFiles', session, `lpf CLI, ${how}, one command`);
    for (const peer of peers) {
      const target = `small files in one command: lpf (${how}) ≥ 1.0× ${peer.name}`;
      out.push(compare(target, ratio(lpfSession, peer.figure), (v) => v >= 1, figures(lpfSession, peer.figure, 'files/s')));
    }
    const lpfLoop = report.median('smallFiles', loop, `lpf CLI, ${how}`);
    const target = `small files, one process per file: lpf (${how}) ≥ 0.5× curl+vsftpd`;
    out.push(compare(target, ratio(lpfLoop, curlLoop), (v) => v >= 0.5, figures(lpfLoop, curlLoop, 'files/s')));
  }
  return out;
}

/** Start-up: a 1-byte upload with a saved session at most 1.2× Node's own start-up. */
function startUpTargets(report: Report): Target[] {
  const node = report.median('latency', 'start to exit', 'node -e 0');
  return ['plain TCP', 'TLS'].map((how) => {
    const lpf = report.median('latency', 'start to exit', `lpf -upload (1 byte), ${how}, session`);
    return compare(
      `lpf -upload of 1 byte with a session (${how}) ≤ 1.2× node -e 0`,
      ratio(lpf, node),
      (v) => v <= 1.2,
      figures(lpf, node, 'ms'),
    );
  });
}

export function targets(report: Report, options: Options): Target[] {
  return [
    ...bigFileTargets(report, options),
    ...manyClientTargets(report, options),
    ...smallFileTargets(report, options),
    ...startUpTargets(report),
  ];
}
