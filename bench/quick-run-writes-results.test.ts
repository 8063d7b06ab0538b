/**
 * The benchmark runner in --quick mode, for its two cheapest benchmarks, end to end: it builds and starts the
 * real server, prints the table and writes rows with numbers. No timing is asserted: the suite reports.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Results } from './lib/report.js';

const RUN = fileURLToPath(new URL('run.ts', import.meta.url));

it('writes submit-latency and metrics rows with numeric values in --quick mode', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'periscope-bench-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'latest.json');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', RUN, '--quick', '--only', 'submit,metrics', '--db', 'sqlite', '--out', out]);

  const results = JSON.parse(readFileSync(out, 'utf8')) as Results;
  assert.equal(results.quick, true);
  assert.deepEqual(results.errors, []);
  assert.match(stdout, /benchmark\s+metric\s+value\s+baseline\s+ratio\s+target\s+note/);

  const latency = results.rows.filter((r) => r.benchmark === '1 submit→running');
  assert.deepEqual(latency.map((r) => r.metric), ['p50 (sqlite, n=20)', 'p95 (sqlite, n=20)']);
  for (const r of latency) {
    assert.equal(r.unit, 'ms');
    for (const n of [r.value, r.baseline, r.ratio]) assert.ok(typeof n === 'number' && Number.isFinite(n) && n > 0, `${r.metric}: ${n}`);
  }

  const metrics = results.rows.filter((r) => r.benchmark === '5 metrics');
  assert.equal(metrics.length, 2);
  for (const r of metrics) {
    // Through the metrics API, against raw SQLite in the same run.
    for (const n of [r.value, r.baseline, r.ratio]) assert.ok(typeof n === 'number' && Number.isFinite(n) && n > 0, `${r.metric}: ${n}`);
  }
  assert.deepEqual(metrics.map((r) => r.unit), ['points/s', 'ms']);
});
