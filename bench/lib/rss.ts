/**
 * Peak resident memory of a server while something runs. For a single
 * process the kernel's own high-water mark (VmHWM) is exact once reset
 * through /proc/PID/clear_refs; servers that fork a process per client
 * (vsftpd, sshd) are sampled instead, summing VmRSS over the process tree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { descendants } from './proc.js';

/** A field of /proc/PID/status in KiB, or undefined when the process is gone. */
export function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0); false where that is not allowed. */
function resetHighWaterMark(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export interface PeakRssResult {
  peakMiB: number;
  /** How it was measured, for the table's notes. */
  method: 'VmHWM' | 'sampled VmRSS' | 'sampled VmRSS of the process tree';
}

export class PeakRss {
  readonly #pid: number;
  readonly #tree: boolean;
  #timer: NodeJS.Timeout | undefined;
  #peakKiB = 0;
  #hwmReset = false;
  #tick = 0;
  #treePids: number[] = [];

  /** `tree`: sum the RSS of every process below `pid` too (for forking servers). */
  constructor(pid: number, tree: boolean) {
    this.#pid = pid;
    this.#tree = tree;
  }

  start(): void {
    this.#peakKiB = 0;
    this.#tick = 0;
    this.#hwmReset = !this.#tree && resetHighWaterMark(this.#pid);
    this.#sample();
    // Tree sampling walks /proc, so it runs less often; a single process is cheap to read.
    this.#timer = setInterval(() => this.#sample(), this.#tree ? 50 : 20);
  }

  stop(): PeakRssResult {
    clearInterval(this.#timer);
    this.#sample();
    if (this.#hwmReset) {
      const hwm = statusKiB(this.#pid, 'VmHWM') ?? 0;
      this.#peakKiB = Math.max(this.#peakKiB, hwm);
    }
    return {
      peakMiB: this.#peakKiB / 1024,
      method: this.#hwmReset ? 'VmHWM' : this.#tree ? 'sampled VmRSS of the process tree' : 'sampled VmRSS',
    };
  }

  #sample(): void {
    // Walking /proc costs ~2 ms: refresh the tree every fourth sample (sessions live far longer than 200 ms).
    if (this.#tree && this.#tick++ % 4 === 0) this.#treePids = [this.#pid, ...descendants(this.#pid)];
    const pids = this.#tree ? this.#treePids : [this.#pid];
    let total = 0;
    for (const pid of pids) total += statusKiB(pid, 'VmRSS') ?? 0;
    if (total > this.#peakKiB) this.#peakKiB = total;
  }
}
