/**
 * 5. Metrics: N points (10 metric names per report) posted through the API in batches of 1,000 points to a
 * live trial, then one metric's N/10 points read back for a chart (`?name=`, median of 3). Baseline: the same
 * points inserted directly with better-sqlite3 (WAL, synchronous=NORMAL) in one transaction, and one metric's
 * points read back ordered by step. The full run then goes on to 10M points in the same trial: the last
 * million's ingest rate and the read of that metric's last 100k points, against the first million's figures.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { Benchmark } from './lib/context.js';
import { row } from './lib/report.js';
import { tempDir } from './lib/server.js';
import { median, nowMs } from './lib/stats.js';
import { api, firstTrialId, submit } from './lib/client.js';
import { startServer } from './lib/server.js';

const NAME = '5 metrics';
/** Points are spread over this many metric names, so one metric holds a tenth of them. */
const NAMES = 10;

export const metrics: Benchmark = {
  name: 'metrics',
  title: 'Metrics ingestion and chart read',
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

    // Through the API: a trial that stays live while it is reported to.
    const server = await startServer(scope);
    const id = await submit(server.base, 'metrics', 'exec sleep 600');
    scope.defer('metrics experiment', async () => void (await api(server.base, 'POST', `/api/v1/experiment/${id}/cancel`)));
    let trial: number | undefined;
    for (const deadline = Date.now() + 30_000; trial === undefined && Date.now() < deadline; ) {
      trial = await firstTrialId(server.base, id).catch(() => undefined);
    }
    if (trial === undefined) throw new Error('the metrics trial did not appear');
    const perBatch = 1000 / NAMES;
    // Points [from, to) as batches of 1,000; points per second.
    const ingest = async (from: number, to: number) => {
      const start = nowMs();
      for (let b = from / 1000; b < to / 1000; b++) {
        const reports = Array.from({ length: perBatch }, (_, i) => ({
          stepsCompleted: b * perBatch + i,
          metrics: Object.fromEntries(Array.from({ length: NAMES }, (_, n) => [`m${n}`, Math.random()])),
        }));
        const answer = await api(server.base, 'POST', `/api/v1/trials/${trial}/metrics`, { group: 'training', reports });
        if (answer.code !== 200) throw new Error(`metrics report refused: ${answer.message}`);
      }
      return (to - from) / ((nowMs() - start) / 1000);
    };
    // m0's 100k points after this step, three times: the median ms.
    const readSeries = async (afterSteps: number | undefined, expected: number) => {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const start = nowMs();
        const series = await api<unknown[]>(server.base, 'GET', `/api/v1/trials/${trial}/metrics?group=training&name=m0&limit=100000${afterSteps === undefined ? '' : `&afterSteps=${afterSteps}`}`);
        times.push(nowMs() - start);
        if (series.result.length !== expected) throw new Error(`read ${series.result.length} points through the API, expected ${expected}`);
      }
      return median(times);
    };
    const apiRate = await ingest(0, points);
    const apiReadMs = await readSeries(undefined, points / NAMES);
    ctx.log(`${NAME}: API ${apiRate.toFixed(0)} points/s; ${points / NAMES} points read in ${apiReadMs.toFixed(1)} ms`);

    const size = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
    const rows = [
      row({ benchmark: NAME, metric: `ingest ${size(points)} points, batches of 1,000`, unit: 'points/s', value: apiRate, baseline: rate, baselineLabel: 'raw SQLite, 1 txn', target: '≥ 250k points/s (≥ 30 % of raw)', note: `${NAMES} metrics per report, ${perBatch} reports per request` }),
      row({ benchmark: NAME, metric: `read one metric's ${size(points / NAMES)} points`, unit: 'ms', value: apiReadMs, baseline: readMs, baselineLabel: 'raw SQLite select', target: '< 100 ms', note: 'GET …/metrics?name= over HTTP, median of 3' }),
    ];
    if (ctx.quick) return rows;
    // How both grow with what the trial already holds: the same work at 10M stored, against the first 1M's.
    const tenMillion = 10 * points;
    const t1 = nowMs();
    await ingest(points, tenMillion - points);
    const lastRate = await ingest(tenMillion - points, tenMillion);
    const lastReadMs = await readSeries(tenMillion / NAMES - points / NAMES - 1, points / NAMES);
    ctx.log(`${NAME}: ${size(tenMillion)} points stored in ${((nowMs() - t1) / 1000).toFixed(0)} s more; the last 1M at ${lastRate.toFixed(0)} points/s; the last ${size(points / NAMES)} of m0 read in ${lastReadMs.toFixed(1)} ms`);
    rows.push(
      row({ benchmark: NAME, metric: `ingest the last 1M of ${size(tenMillion)} points, batches of 1,000`, unit: 'points/s', value: lastRate, baseline: apiRate, baselineLabel: 'the first 1M', target: '≥ 0.8× the first 1M (flat)', note: `${size(tenMillion)} points in the trial after it` }),
      row({ benchmark: NAME, metric: `read one metric's last ${size(points / NAMES)} of ${size(tenMillion / NAMES)} points`, unit: 'ms', value: lastReadMs, baseline: apiReadMs, baselineLabel: `its ${size(points / NAMES)} at 1M stored`, target: '≈ 1× (flat)', note: '?afterSteps= seeks by the step index; median of 3' }),
    );
    return rows;
  },
};
