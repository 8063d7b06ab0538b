/** The bench's targets, read as checks: every target the suite writes reads, and each reads right. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { row, type Row } from './report.js';
import { checksOf, met, targetSummary } from './targets.js';

const BENCH = fileURLToPath(new URL('..', import.meta.url));

/** Every string in the benchmarks that is written like a target: it starts with a bound (`≥ …`, `p99 < …`). */
function writtenTargets(): string[] {
  const found = new Set<string>();
  for (const file of readdirSync(BENCH).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))) {
    const source = readFileSync(join(BENCH, file), 'utf8');
    for (const m of source.matchAll(/['`]((?:[≥≤<>≈]|p\d+ [<≤]|flat\b)[^'`]*)['`]/g)) found.add(m[1]!);
  }
  return [...found].sort();
}

const at = (fields: Partial<Row> & { target: string }): Row => row({ benchmark: 'b', metric: 'm', unit: 'ms', value: 1, baseline: 1, ...fields });

describe('bench targets', () => {
  it('every target a benchmark writes reads as checks', () => {
    const targets = writtenTargets();
    assert.ok(targets.length >= 15, `found only ${targets.join(' | ')}`);
    for (const target of targets) assert.ok(checksOf(target), `does not read: ${target}`);
    assert.equal(checksOf('faster than last week'), undefined);
  });

  it('reads bounds on the value, in the units the row has', () => {
    assert.equal(met(at({ target: 'p99 < 100 ms', value: 99.9 })), true);
    assert.equal(met(at({ target: 'p99 < 100 ms', value: 100 })), false);
    assert.equal(met(at({ target: '≤ 1 s', unit: 's', value: 1 })), true);
    assert.equal(met(at({ target: '≤ 1 s', unit: 'ms', value: 1001 })), false);
    assert.equal(met(at({ target: '< 300 kB', unit: 'kB', value: 170 })), true);
    assert.equal(met(at({ target: '≥ 250k points/s (≥ 30 % of raw)', unit: 'points/s', value: 260_000, baseline: 800_000 })), true);
    assert.equal(met(at({ target: '≥ 250k points/s (≥ 30 % of raw)', unit: 'points/s', value: 260_000, baseline: 900_000 })), false, 'the ratio clause counts too');
    assert.equal(met(at({ target: '0', unit: 'count', value: 0 })), true);
    assert.equal(met(at({ target: '0', unit: 'count', value: 2 })), false);
  });

  it('reads ratios and distances from the baseline', () => {
    assert.equal(met(at({ target: '≥ 80 % of direct spawns', unit: 'exp/s', value: 81, baseline: 100 })), true);
    assert.equal(met(at({ target: '≥ 80 % of direct spawns', unit: 'exp/s', value: 79, baseline: 100 })), false);
    assert.equal(met(at({ target: '≥ 0.8× bare sbatch', unit: 'exp/s', value: 7.5, baseline: 10 })), false);
    assert.equal(met(at({ target: 'p50 ≤ bare spawn + 20 ms', value: 27.9, baseline: 8 })), true);
    assert.equal(met(at({ target: 'p50 ≤ bare spawn + 20 ms', value: 28.1, baseline: 8 })), false);
    assert.equal(met(at({ target: 'p99 < 20 ms, ≤ 1.2× the 1k figure', value: 5, baseline: 4 })), false, 'both clauses');
    assert.equal(met(at({ target: '≈ 1× (flat)', value: 1.2, baseline: 1 })), true);
    assert.equal(met(at({ target: 'flat (streamed)', unit: 'MB', value: 260, baseline: 170 })), false);
  });

  it('says how many were met and which were missed; a row not measured is neither', () => {
    const rows = [at({ target: 'p99 < 100 ms', value: 50 }), at({ metric: 'slow', target: 'p99 < 100 ms', value: 150 }), at({ metric: 'absent', target: '< 1 s', value: null }), at({ target: '' })];
    assert.equal(targetSummary(rows, (r) => r.metric), 'targets met: 1 of 3\nmissed:\n  slow\nnot measured: b absent');
  });
});
