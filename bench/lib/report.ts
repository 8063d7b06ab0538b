import { met } from './targets.js';

/** One line of the results: a measured value beside its in-run baseline and the team's target. */
export interface Row {
  /** Which benchmark, e.g. `1 submit→running`. */
  benchmark: string;
  /** What was measured, e.g. `p50 (sqlite)`. */
  metric: string;
  unit: string;
  /** null when this half could not be measured (the note says why). */
  value: number | null;
  baseline: number | null;
  /** What the baseline is, in words. */
  baselineLabel: string;
  /** value ÷ baseline; whether higher is better depends on the unit (latency: lower, rates: higher). */
  ratio: number | null;
  target: string;
  note: string;
  /** Whether the target was met (bench/lib/targets.ts); null without a target or a value. Written to the results. */
  met?: boolean | null;
}

export interface Results {
  startedAt: string;
  durationS: number;
  quick: boolean;
  machine: { cpus: number; model: string; memoryMb: number; node: string; platform: string };
  rows: Row[];
  /** Benchmarks that crashed, with what they said. */
  errors: { benchmark: string; message: string }[];
}

export function row(fields: Omit<Row, 'ratio' | 'note' | 'target' | 'baselineLabel'> & Partial<Pick<Row, 'note' | 'target' | 'baselineLabel'>>): Row {
  const { value, baseline } = fields;
  const ratio = value !== null && baseline !== null && baseline !== 0 && Number.isFinite(value) && Number.isFinite(baseline) ? value / baseline : null;
  return { target: '', note: '', baselineLabel: '', ...fields, ratio };
}

/** A row for a half that was not measured, saying why. */
export function unavailable(benchmark: string, metric: string, unit: string, note: string, baseline: number | null = null, baselineLabel = ''): Row {
  return row({ benchmark, metric, unit, value: null, baseline, baselineLabel, note });
}

export function formatValue(value: number | null, unit: string): string {
  if (value === null || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  const text = value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return `${text} ${unit}`;
}

export function formatRatio(ratio: number | null): string {
  return ratio === null ? '—' : `${ratio >= 100 ? ratio.toFixed(0) : ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}×`;
}

/** The printed table: columns padded to their widest cell, baseline followed by what it is, ✓ or ✗ by a target. */
export function formatTable(rows: readonly Row[]): string {
  const header = ['benchmark', 'metric', 'value', 'baseline', 'ratio', 'target', 'note'];
  const verdict = (r: Row) => {
    const ok = met(r);
    return ok === null ? '' : ok ? ' ✓' : ' ✗';
  };
  const cells = rows.map((r) => [
    r.benchmark,
    r.metric,
    formatValue(r.value, r.unit),
    r.baseline === null ? '—' : `${formatValue(r.baseline, r.unit)}${r.baselineLabel ? ` (${r.baselineLabel})` : ''}`,
    formatRatio(r.ratio),
    `${r.target}${verdict(r)}`,
    r.note,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  // Numbers are right-aligned so their magnitudes line up; words left-aligned.
  const right = new Set([2, 4]);
  const line = (c: string[]) => c.map((cell, i) => (i === c.length - 1 ? cell : right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
