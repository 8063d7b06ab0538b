/**
 * 8. Crash consistency at scale: the test suite's chaos check (packages/server/src/testing/chaos.ts) with
 * more rounds, against the bundled server. kill -9 of the server at a random moment of each round of a
 * mixed workload, restarts on the same data, then every acknowledged create, cancel and delete checked.
 * It reports what was checked and what did not hold (the target is none); SQLite and PostgreSQL.
 */
import { runChaos } from '../packages/server/src/testing/chaos.js';
import type { Benchmark } from './lib/context.js';
import { targets } from './lib/postgres.js';
import { row, unavailable, type Row } from './lib/report.js';
import { SERVER_BUNDLE } from './lib/server.js';

const NAME = '8 kill -9 chaos';

export const chaos: Benchmark = {
  name: 'chaos',
  title: 'kill -9 during a mixed workload, then every acknowledged operation checked',
  async run(ctx, scope) {
    const rounds = ctx.quick ? 2 : 10;
    const rows: Row[] = [];
    for (const target of await targets(scope, ctx.databases)) {
      if ('skip' in target) {
        rows.push(unavailable(NAME, 'violations (postgres)', 'count', `skipped: ${target.skip}`));
        continue;
      }
      const started = Date.now();
      const report = await runChaos({ command: [process.execPath, SERVER_BUNDLE], rounds, ...('url' in target && { db: target.url }), log: ctx.log });
      const seconds = (Date.now() - started) / 1000;
      const checked = `${report.creates} creates, ${report.cancels} cancels, ${report.deletes} deletes acknowledged over ${rounds} kills (seed ${report.seed})`;
      for (const violation of report.violations) ctx.log(`${NAME} (${target.name}): ${violation}`);
      rows.push(row({ benchmark: NAME, metric: `violations (${target.name})`, unit: 'count', value: report.violations.length, baseline: null, target: '0', note: `${checked}${report.violations[0] ? `; first: ${report.violations[0].slice(0, 200)}` : ''}` }));
      rows.push(row({ benchmark: NAME, metric: `seconds per round (${target.name})`, unit: 's', value: seconds / (rounds + 1), baseline: null, note: 'start, workload until the kill, restart; the last start settles and checks' }));
    }
    return rows;
  },
};
