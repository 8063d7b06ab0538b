/**
 * 5. Metrics. The metrics API (issue 5) is not built yet, so only the baseline half runs: the same points
 * inserted directly with better-sqlite3 (WAL, synchronous=NORMAL) in one transaction, and one metric's
 * points read back ordered by step, as a chart would. The server's half is reported as not available; when
 * the API lands, it is measured here through HTTP in batches of 1,000 against this baseline.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { Benchmark } from './lib/context.js';
import { row } from './lib/report.js';
import { tempDir } from './lib/server.js';
import { nowMs } from './lib/stats.js';

const NAME = '5 metrics';
const MISSING = 'not available: metrics API (issue 5) not built';
/** Points are spread over this many metric names, so one metric holds a tenth of them. */
const NAMES = 10;

export const metrics: Benchmark = {
  name: 'metrics',
  title: 'Metrics ingestion and chart read (baseline only)',
  async run(ctx, scope) {
    const points = ctx.quick ? 100_000 : 1_000_000;
    const db = new Database(join(tempDir(scope, 'periscope-bench-metrics-'), 'raw.db'));
    scope.defer('raw SQLite', () => db.close());
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`create table metrics (trial_id integer not null, grp text not null, steps integer not null, name text not null, value real not null, time integer not null);
             create index metrics_by_name on metrics (trial_id, name, steps);`);
    const insert = db.prepare('insert into metrics values (?, ?, ?, ?, ?, ?)');
    const insertAll = db.transaction(() => {
      const now = Date.now();
      for (let i = 0; i < points; i++) insert.run(1, 'training', Math.floor(i / NAMES), `m${i % NAMES}`, Math.random(), now);
    });
    let t0 = nowMs();
    insertAll();
    const rate = points / ((nowMs() - t0) / 1000);
    const read = db.prepare('select steps, value from metrics where trial_id = ? and name = ? order by steps');
    t0 = nowMs();
    const chart = read.all(1, 'm0');
    const readMs = nowMs() - t0;
    if (chart.length !== points / NAMES) throw new Error(`read ${chart.length} points, expected ${points / NAMES}`);
    ctx.log(`${NAME}: raw SQLite ${rate.toFixed(0)} points/s in one transaction; ${chart.length} points read in ${readMs.toFixed(1)} ms`);
    const size = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
    return [
      row({ benchmark: NAME, metric: `ingest ${size(points)} points, batches of 1,000`, unit: 'points/s', value: null, baseline: rate, baselineLabel: 'raw SQLite, 1 txn', target: '≥ 250k points/s (≥ 30 % of raw)', note: MISSING }),
      row({ benchmark: NAME, metric: `read one metric's ${size(points / NAMES)} points`, unit: 'ms', value: null, baseline: readMs, baselineLabel: 'raw SQLite select', note: MISSING }),
    ];
  },
};
