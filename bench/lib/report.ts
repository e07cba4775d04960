/**
 * Results: rows grouped into sections, each figure with its runs, median and
 * spread, and a ratio against the baseline row of the same measurement.
 * Printed as a text table and saved as JSON with the same numbers.
 */
import { summarize } from './stats.js';

export type Status = 'ok' | 'skipped' | 'not yet implemented' | 'failed';

export interface Row {
  /** What is measured; rows with the same measurement share one baseline. */
  measurement: string;
  /** Who is measured, and through what (CLI process, library, curl, …). */
  tool: string;
  unit: string;
  better: 'higher' | 'lower';
  status: Status;
  /** True for the row the others in its measurement are divided by. */
  baseline?: boolean;
  /** One value per run (or per transfer, for latencies). */
  samples: number[];
  median?: number;
  min?: number;
  max?: number;
  p25?: number;
  p75?: number;
  /** Set for latency-like rows where the tail matters. */
  p99?: number;
  /** This row's median divided by its baseline's median. */
  ratio?: number;
  /** The baseline's tool name, when a ratio was computed. */
  ratioTo?: string;
  note?: string;
}

export interface Section {
  id: SectionId;
  title: string;
  /** One sentence on method and baseline. */
  how: string;
  rows: Row[];
}

export type SectionId = 'bigFile' | 'memory' | 'manyClients' | 'smallFiles' | 'latency' | 'objectStorage';

/** Default titles and methods, in table order; a case may give a more specific title. */
const SECTION_DEFAULTS: Record<SectionId, { title: string; how: string }> = {
  bigFile: { title: '1. One big file', how: '' },
  memory: {
    title: '2. Server memory (peak RSS)',
    how: 'lpf-server and the Node pipe: kernel VmHWM, reset before each measurement. Forking peers: VmRSS summed over their process tree, sampled every 50 ms. Baseline: the raw Node pipe server.',
  },
  manyClients: { title: '3. Many clients', how: '' },
  smallFiles: { title: '4. Many small files', how: '' },
  latency: { title: '5. Latency', how: '' },
  objectStorage: { title: '6. Files on S3', how: '' },
};
const ORDER = Object.keys(SECTION_DEFAULTS) as SectionId[];

export interface RowSpec {
  measurement: string;
  tool: string;
  unit: string;
  better: 'higher' | 'lower';
  baseline?: boolean;
  note?: string;
  /** Report p99 too (distributions of many transfers or pings). */
  tail?: boolean;
}

/** A row with figures; an empty sample list makes it a failed row. */
export function measured(spec: RowSpec, samples: readonly number[]): Row {
  const { tail, ...rest } = spec;
  if (samples.length === 0) return { ...rest, status: 'failed', samples: [] };
  const s = summarize(samples);
  const row: Row = { ...rest, status: 'ok', samples: [...samples], median: s.median, min: s.min, max: s.max, p25: s.p25, p75: s.p75 };
  if (tail) row.p99 = s.p99;
  return row;
}

/** A row without figures: skipped (peer missing), not yet implemented in lpf, or failed. */
export function unmeasured(spec: RowSpec, status: Exclude<Status, 'ok'>, note: string): Row {
  const { tail: _tail, ...rest } = spec;
  return { ...rest, status, samples: [], note: spec.note ? `${spec.note}; ${note}` : note };
}

export class Report {
  readonly sections: Section[] = [];
  readonly notes: string[] = [];

  /** The section `id`, created (in table order) on first use. */
  section(id: SectionId, title?: string, how?: string): Section {
    let section = this.sections.find((s) => s.id === id);
    if (!section) {
      section = { id, title: title ?? SECTION_DEFAULTS[id].title, how: how ?? SECTION_DEFAULTS[id].how, rows: [] };
      this.sections.push(section);
      this.sections.sort((a, b) => ORDER.indexOf(a.id) - ORDER.indexOf(b.id));
    }
    return section;
  }

  get(id: SectionId): Section | undefined {
    return this.sections.find((s) => s.id === id);
  }

  /** The median of one row, if it was measured. */
  median(id: SectionId, measurement: string, tool: string): number | undefined {
    const row = this.get(id)?.rows.find((r) => r.measurement === measurement && r.tool === tool);
    return row?.status === 'ok' ? row.median : undefined;
  }

  /** Fills in every row's ratio against the baseline row of its measurement. */
  computeRatios(): void {
    for (const section of this.sections) {
      for (const row of section.rows) {
        const base = section.rows.find((r) => r.measurement === row.measurement && r.baseline && r.status === 'ok');
        if (!base || row.status !== 'ok' || row.median === undefined || !base.median) continue;
        row.ratio = row.median / base.median;
        row.ratioTo = base.tool;
      }
    }
  }
}

/** Three significant figures, as a plain number. */
export function fmt(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** The report as an aligned text table, one block per section. */
export function renderTable(report: Report): string {
  const out: string[] = [];
  for (const section of report.sections) {
    out.push('', `== ${section.title} ==`, section.how, "(↑ higher is better, ↓ lower is better; × base = median / the baseline's median)");
    const header = ['measurement', 'tool (via)', 'median', 'spread (min–max)', 'p99', 'unit', '× base', 'runs', 'note'];
    const lines = section.rows.map((r) => {
      if (r.status !== 'ok') return [r.measurement, r.tool, r.status, '', '', r.unit, '', '', r.note ?? ''];
      return [
        r.measurement,
        r.tool + (r.baseline ? ' [baseline]' : ''),
        fmt(r.median),
        `${fmt(r.min)}–${fmt(r.max)}`,
        r.p99 === undefined ? '' : fmt(r.p99),
        `${r.unit} ${r.better === 'higher' ? '↑' : '↓'}`,
        r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×`,
        String(r.samples.length),
        r.note ?? '',
      ];
    });
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
    const render = (cells: string[]) =>
      cells
        .map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
        .join('  ')
        .trimEnd();
    out.push(render(header), render(widths.map((w) => '-'.repeat(w))));
    let previous = '';
    for (const [i, line] of lines.entries()) {
      const measurement = section.rows[i]?.measurement ?? '';
      // Print each measurement's name once, so its rows read as a group.
      out.push(render(measurement === previous ? ['', ...line.slice(1)] : line));
      previous = measurement;
    }
  }
  return out.join('\n');
}
