/** Draws transfer progress on a terminal (stderr) with cli-progress; does nothing elsewhere. */
import type { ProgressListener } from '../client/client.js';
import { palette, type Palette } from './colors.js';
import { formatBytes, formatDuration, formatRate } from './format.js';

export interface ProgressView {
  listener: ProgressListener | undefined;
  stop(): void;
}

/** No progress drawn. */
export const NO_PROGRESS: ProgressView = { listener: undefined, stop() {} };

export async function createProgress(label: string, enabled: boolean): Promise<ProgressView> {
  if (!enabled) return NO_PROGRESS;
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} {bar} {percentage}% | {done} / {size} | {speed} | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let begun = false;
  return {
    listener(done, total) {
      const payload = { done: formatBytes(done), size: formatBytes(total), speed: formatRate(done, Date.now() - started) };
      if (!begun) {
        bar.start(Math.max(total, 1), done, payload);
        begun = true;
      } else {
        bar.update(done, payload);
      }
    },
    stop() {
      if (begun) bar.stop();
    },
  };
}

/** What a finished transfer reports (the client's TransferResult has these). */
export interface TransferFigures {
  name: string;
  size: number;
  ms: number;
  /** Bytes an earlier, cut-off attempt had already moved. */
  resumedFrom: number;
}

/**
 * The summary line's body, "NAME (SIZE[, resumed after N]) in TIME, SPEED",
 * with the figures dimmed on a colour terminal so the name stands out.
 */
export function transferSummary(r: TransferFigures, colors: Palette = palette(process.stdout)): string {
  const resumed = r.resumedFrom > 0 ? `, resumed after ${formatBytes(r.resumedFrom)}` : '';
  const speed = formatRate(r.size - r.resumedFrom, r.ms);
  return `${r.name} ${colors.dim(`(${formatBytes(r.size)}${resumed}) in ${formatDuration(r.ms)}, ${speed}`)}`;
}
