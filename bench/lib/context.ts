/** What every case receives: options, the run's folder, helpers, peers, the report, and the time budget. */
import type { Vsftpd } from '../peers/vsftpd.js';
import type { Sshd } from '../peers/sshd.js';
import type { Helpers } from './bundle.js';
import type { Cert } from './cert.js';
import type { Deadline } from './proc.js';
import type { Report } from './report.js';
import type { LpfSecurity } from './servers.js';

export interface Options {
  quick: boolean;
  /** Runs per figure (the 1 GiB cases, the many-clients rounds, the small-file slices). */
  runs: number;
  /** Size of the big file, in bytes. */
  bigBytes: number;
  clients: number;
  /** Worker processes that share the clients. */
  workers: number;
  smallFiles: number;
  /** Size of each client's file in the S3 case's concurrent uploads, in bytes. */
  uploadBytes: number;
  pings: number;
  /** Start-to-exit runs per command in the latency case. */
  startRuns: number;
  /** Cases to run (all by default). */
  only: ReadonlySet<CaseName>;
  out: string;
  maxMinutes: number;
  /** Keep the run's folder (logs, configuration) instead of deleting it. */
  keep: boolean;
}

export type CaseName = 'big' | 'clients' | 'small' | 'latency' | 's3';

export interface Context {
  options: Options;
  /** The run's private temporary folder; removed at the end. */
  work: string;
  helpers: Helpers;
  /** Undefined when no certificate could be made (TLS rows are then skipped). */
  cert: Cert | undefined;
  vsftpd: Vsftpd | undefined;
  sshd: Sshd | undefined;
  /** How to reach lpf over plain TCP, and over TLS when this build and the run's certificate allow it. */
  lpf: { plain: LpfSecurity; tls: LpfSecurity | undefined };
  /** Why a peer or lpf's TLS is missing, for the rows they would have filled. */
  missing: { vsftpd?: string; sshd?: string; tls?: string; lpfTls?: string };
  report: Report;
  deadline: Deadline;
  /** One line of progress on stderr. */
  progress(line: string): void;
}

/** Every bench account shares this password (its hash is written once, see writeLpfAccounts). */
export const BENCH_PASSWORD = 'bench-password-1';
