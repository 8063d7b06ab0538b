/**
 * 2. Throughput: N trivial experiments submitted at once, until every one has finished; experiments per
 * second from the first create request to the last `finishedTime` the server recorded. Baseline: N direct
 * spawns of the same `sh -c` command, all in flight at once, until the last exits. Rounds alternate
 * baseline and server; the median round is reported.
 */
import { join } from 'node:path';
import { api, spec } from './lib/client.js';
import type { Benchmark } from './lib/context.js';
import { targets } from './lib/postgres.js';
import { shToFile } from './lib/processes.js';
import { row, unavailable, type Row } from './lib/report.js';
import { startServer, tempDir, type Server } from './lib/server.js';
import { median, nowMs, sleep } from './lib/stats.js';

const COMMAND = 'true';
const NAME = '2 throughput';

export const throughput: Benchmark = {
  name: 'throughput',
  title: 'Throughput of trivial experiments',
  async run(ctx, scope) {
    const count = ctx.quick ? 50 : 500;
    const rounds = ctx.quick ? 1 : 3;
    const rows: Row[] = [];
    for (const target of await targets(scope, ctx.databases)) {
      const metric = `${count} at once (${target.name}${rounds > 1 ? `, median of ${rounds}` : ''})`;
      if ('skip' in target) {
        ctx.log(`${NAME}: postgres skipped: ${target.skip}`);
        rows.push(unavailable(NAME, metric, 'exp/s', `skipped: ${target.skip}`));
        continue;
      }
      const server = await startServer(scope, 'url' in target ? { db: target.url } : {});
      const dir = tempDir(scope, 'periscope-bench-spawn-');
      const viaServer: number[] = [];
      const bare: number[] = [];
      const failures: number[] = [];
      const waits: number[] = [];
      for (let round = 0; round < rounds; round++) {
        bare.push(await spawnRound(dir, round, count));
        const { rate, failed, toRunning } = await serverRound(server, round, count);
        viaServer.push(rate);
        failures.push(failed);
        waits.push(...toRunning);
        ctx.log(`${NAME} (${target.name}) round ${round + 1}: server ${rate.toFixed(0)} exp/s, bare ${bare.at(-1)!.toFixed(0)} spawns/s`);
      }
      const failed = failures.reduce((a, b) => a + b, 0);
      rows.push(row({
        benchmark: NAME,
        metric,
        unit: 'exp/s',
        value: median(viaServer),
        baseline: median(bare),
        baselineLabel: 'direct spawns',
        target: '≥ 80 % of direct spawns',
        note: `median accepted→running ${median(waits).toFixed(0)} ms; rounds ${viaServer.map((r) => r.toFixed(0)).join('/')} vs ${bare.map((r) => r.toFixed(0)).join('/')}${failed ? `; ${failed} experiments did not succeed` : ''}`,
      }));
    }
    return rows;
  },
};

async function spawnRound(dir: string, round: number, count: number): Promise<number> {
  const t0 = nowMs();
  await Promise.all(Array.from({ length: count }, (_, i) => shToFile(COMMAND, join(dir, `r${round}-${i}`))));
  return count / ((nowMs() - t0) / 1000);
}

interface ServerRound {
  rate: number;
  failed: number;
  /** Per experiment, ms from accepted to running (server times). */
  toRunning: number[];
}

async function serverRound(server: Server, round: number, count: number): Promise<ServerRound> {
  const t0 = nowMs();
  const ids = new Set(
    await Promise.all(Array.from({ length: count }, async (_, i) => (await api(server.base, 'POST', '/api/v1/experiment', spec(`throughput-${round}-${i}`, COMMAND))).result.experimentId as string)),
  );
  // Cheap polls (one row at most) until nothing is waiting or running; the rate comes from the server's own
  // finish times, so the polling interval does not round it.
  for (;;) {
    const pending = await Promise.all(['Accepted', 'Created', 'Running'].map((s) => api(server.base, 'GET', `/api/v1/experiment?status=${s}&limit=1`)));
    if (pending.every((p) => p.result.length === 0)) break;
    await sleep(100);
  }
  let last = 0;
  let succeeded = 0;
  const toRunning: number[] = [];
  for (const status of ['Succeeded', 'Failed']) {
    let after = '';
    for (;;) {
      const page = await api(server.base, 'GET', `/api/v1/experiment?status=${status}&limit=1000${after ? `&after=${after}` : ''}`);
      for (const e of page.result as { experimentId: string; acceptedTime: string; runningTime: string | null; finishedTime: string | null }[]) {
        if (!ids.has(e.experimentId) || !e.finishedTime) continue;
        last = Math.max(last, Date.parse(e.finishedTime));
        if (e.runningTime) toRunning.push(Date.parse(e.runningTime) - Date.parse(e.acceptedTime));
        if (status === 'Succeeded') succeeded++;
      }
      const next = page.attributes.nextCursor as string | undefined;
      if (!next) break;
      after = next;
    }
  }
  return { rate: count / ((last - t0) / 1000), failed: count - succeeded, toRunning };
}
