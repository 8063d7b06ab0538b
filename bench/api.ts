/**
 * 3. API: requests per second and p99 latency under autocannon (50 connections, loopback) for get-by-id, the
 * Running list and create (autoStart false, so nothing runs), with N experiments stored of which a page's
 * worth are Running (created last, so a filter that scans finds them at the far end). Baseline: a bare
 * Fastify route returning a constant body, run right before each endpoint. SQLite and PostgreSQL.
 */
import { api, checkNotFailed, spec, submit } from './lib/client.js';
import type { Benchmark } from './lib/context.js';
import { startBareFastify } from './lib/bare.js';
import { load, populate } from './lib/load.js';
import { targets } from './lib/postgres.js';
import { row, unavailable, type Row } from './lib/report.js';
import { startServer } from './lib/server.js';
import { sleep } from './lib/stats.js';

const NAME = '3 API';

export const apiThroughput: Benchmark = {
  name: 'api',
  title: 'API requests per second (autocannon)',
  async run(ctx, scope) {
    const stored = ctx.quick ? 500 : 10_000;
    const running = ctx.quick ? 10 : 50;
    const seconds = ctx.quick ? 1 : 5;
    const bare = await startBareFastify(scope);
    const rows: Row[] = [];
    for (const target of await targets(scope, ctx.databases)) {
      if ('skip' in target) {
        ctx.log(`${NAME}: postgres skipped: ${target.skip}`);
        rows.push(unavailable(NAME, 'all endpoints (postgres)', 'req/s', `skipped: ${target.skip}`));
        continue;
      }
      const server = await startServer(scope, 'url' in target ? { db: target.url } : {});
      await populate(server.base, stored);
      await startRunning(server.base, running);
      const { result } = await api(server.base, 'GET', `/api/v1/experiment?limit=1&after=${Math.floor(stored / 2)}`);
      const id = result[0].experimentId as string;
      // The targets of issue 21; PostgreSQL's reads go over a socket, so its GET target is lower.
      const endpoints = [
        { label: 'GET /experiment/{id}', url: `${server.base}/api/v1/experiment/${id}`, targets: [target.name === 'postgres' ? '≥ 40 % of bare Fastify' : '≥ 50 % of bare Fastify', 'p99 < 10 ms'] },
        { label: `GET /experiment?status=Running`, url: `${server.base}/api/v1/experiment?status=Running`, targets: ['', ''] },
        { label: 'POST /experiment', url: `${server.base}/api/v1/experiment`, method: 'POST' as const, body: spec('created-by-load', 'true', false), targets: ['≥ 25 % of bare Fastify', 'p99 < 50 ms'] },
      ];
      // Full runs measure the baseline right before each endpoint; quick runs (CI) once per database.
      let base = await load(bare.url, { seconds });
      for (const [i, endpoint] of endpoints.entries()) {
        if (i > 0 && !ctx.quick) base = await load(bare.url, { seconds });
        const got = await load(endpoint.url, { seconds, ...(endpoint.method && { method: endpoint.method, body: endpoint.body }) });
        ctx.log(`${NAME} (${target.name}) ${endpoint.label}: ${got.rps.toFixed(0)} req/s p99 ${got.p99} ms; bare ${base.rps.toFixed(0)} req/s p99 ${base.p99} ms`);
        const context = `${stored.toLocaleString('en-US')} stored, ${running} Running`;
        const bad = got.bad > 0 ? `; ${got.bad} failed requests` : '';
        rows.push(row({ benchmark: NAME, metric: `${endpoint.label} req/s (${target.name})`, unit: 'req/s', value: got.rps, baseline: base.rps, baselineLabel: 'bare Fastify', target: endpoint.targets[0]!, note: `${context}${bad}` }));
        rows.push(row({ benchmark: NAME, metric: `${endpoint.label} p99 (${target.name})`, unit: 'ms', value: got.p99, baseline: base.p99, baselineLabel: 'bare Fastify', target: endpoint.targets[1]!, note: `p50 ${got.p50} ms vs ${base.p50} ms` }));
      }
    }
    return rows;
  },
};

/** Starts `count` experiments that sleep (cancelled when the server is stopped) and waits until all run. */
async function startRunning(base: string, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => submit(base, `sleeper-${i}`, 'sleep 600')));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { result } = await api(base, 'GET', '/api/v1/experiment?status=Running');
    if (result.length >= count) return;
    const failed = await api(base, 'GET', '/api/v1/experiment?status=Failed&limit=1');
    if (failed.result[0]) await checkNotFailed(base, failed.result[0].experimentId);
    if (Date.now() > deadline) throw new Error(`only ${result.length} of ${count} sleepers running after 60 s`);
    await sleep(50);
  }
}

