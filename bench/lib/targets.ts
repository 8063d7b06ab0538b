/**
 * Whether a row meets its target. Targets are written for people (`p99 < 100 ms`, `≥ 80 % of direct spawns`,
 * `p50 ≤ bare spawn + 20 ms`); each clause is read here as one check on the row's value, its ratio or its
 * distance from the baseline, and a target is met when all its clauses are. Every target the suite writes must
 * read (targets.test.ts checks them), so the summary never silently leaves one out.
 */
import type { Row } from './report.js';

/** SCALE[row's unit][target's unit]: one of the target's units, in the row's. */
const SCALE: Record<string, Record<string, number>> = {
  ms: { ms: 1, s: 1000 },
  s: { s: 1, ms: 0.001 },
  MB: { MB: 1 },
  kB: { kB: 1, MB: 1024 },
};
/** How far a "flat" figure may drift from its baseline. */
const FLAT = 1.25;

type Check = (row: Row) => boolean | null;

const NUMBER = String.raw`(\d+(?:\.\d+)?)(k)?`;
const number = (digits: string, k: string | undefined) => Number(digits) * (k ? 1000 : 1);

/** `amount` of `unit` in the row's units, or undefined when the two do not convert. */
function inRowUnits(amount: number, unit: string, row: Row): number | undefined {
  const factor = unit === row.unit ? 1 : SCALE[row.unit]?.[unit];
  return factor === undefined ? undefined : amount * factor;
}

/** One clause of a target, or undefined when it does not read. */
function clause(text: string): Check | undefined {
  const t = text.trim();
  let m: RegExpExecArray | null;
  if (t === '0') return (r) => (r.value === null ? null : r.value === 0);
  if (/^(≈ 1× \(flat\)|flat(\s*\(streamed\))?)$/.test(t)) return (r) => (r.ratio === null ? null : r.ratio <= FLAT);
  // "≥ 80 % of direct spawns", "≥ 30 % of raw"
  if ((m = new RegExp(String.raw`^≥ ${NUMBER} % of .+$`).exec(t))) {
    const min = number(m[1]!, m[2]) / 100;
    return (r) => (r.ratio === null ? null : r.ratio >= min);
  }
  // "≥ 0.8× bare sbatch", "≤ 1.2× the 1k figure"
  if ((m = new RegExp(String.raw`^(≥|≤) ${NUMBER}× .+$`).exec(t))) {
    const bound = number(m[2]!, m[3]);
    const atLeast = m[1] === '≥';
    return (r) => (r.ratio === null ? null : atLeast ? r.ratio >= bound : r.ratio <= bound);
  }
  // "p50 ≤ bare spawn + 20 ms"
  if ((m = new RegExp(String.raw`^(?:p\d+ )?≤ .+ \+ ${NUMBER} (\w+)$`).exec(t))) {
    const [, digits, k, unit] = m;
    return (r) => {
      const over = inRowUnits(number(digits!, k), unit!, r);
      return r.value === null || r.baseline === null || over === undefined ? null : r.value - r.baseline <= over;
    };
  }
  // "p99 < 100 ms", "< 300 kB", "≤ 1 s", "≥ 250k points/s"
  if ((m = new RegExp(String.raw`^(?:p\d+ )?(<|≤|≥|>) ${NUMBER} (\S+)$`).exec(t))) {
    const [, op, digits, k, unit] = m;
    return (r) => {
      const limit = inRowUnits(number(digits!, k), unit!, r);
      if (r.value === null || limit === undefined) return null;
      return op === '<' ? r.value < limit : op === '≤' ? r.value <= limit : op === '≥' ? r.value >= limit : r.value > limit;
    };
  }
  return undefined;
}

/** The clauses of `target`: "a, b" and "a (b)" are both clauses. Undefined when any does not read. */
export function checksOf(target: string): Check[] | undefined {
  const parts = target.replace(/\s*\(([^)]*%[^)]*)\)\s*$/, ', $1').split(/,\s*/).filter(Boolean);
  const checks = parts.map(clause);
  return checks.every((c): c is Check => c !== undefined) ? checks : undefined;
}

/** true or false for a row with a target; null when it has none, or its value was not measured. */
export function met(row: Row): boolean | null {
  if (!row.target) return null;
  const checks = checksOf(row.target);
  if (!checks) return null;
  const answers = checks.map((check) => check(row));
  return answers.includes(null) ? null : answers.every(Boolean);
}

/** How many targets were met, then a line for each missed (with its figures), then those not measured. */
export function targetSummary(rows: readonly Row[], format: (row: Row) => string): string {
  const judged = rows.filter((r) => r.target).map((r) => [r, met(r)] as const);
  const missed = judged.filter(([, ok]) => ok === false).map(([r]) => r);
  const unknown = judged.filter(([, ok]) => ok === null).map(([r]) => r);
  const lines = [`targets met: ${judged.length - missed.length - unknown.length} of ${judged.length}`];
  if (missed.length > 0) lines.push('missed:', ...missed.map((r) => `  ${format(r)}`));
  if (unknown.length > 0) lines.push(`not measured: ${unknown.map((r) => `${r.benchmark} ${r.metric}`).join('; ')}`);
  return lines.join('\n');
}
