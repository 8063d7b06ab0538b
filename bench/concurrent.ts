/**
 * 7. Concurrent clients: 50 clients, each a loop of mixed requests as a team's scripts and dashboards send
 * them (create and run, create parked, get, list, patch, cancel a running one, delete, follow a finished
 * trial's logs), for a fixed time; requests per second and p50/p99 over every request, and any that failed.
 * Baseline: the same 50 clients against a bare Fastify route, with the same client code, right before.
 * SQLite and PostgreSQL.
 */
import { api, authHeaders, spec } from './lib/client.js';
import type { Benchmark } from './lib/context.js';
import { startBareFastify } from './lib/bare.js';
import { targets } from './lib/postgres.js';
import { row, unavailable, type Row } from './lib/report.js';
import { startServer } from './lib/server.js';
import { percentile } from './lib/stats.js';

const NAME = '7 concurrent clients';
const CLIENTS = 50;

interface Tally {
  latencies: number[];
  /** Latencies by operation, to say where the time goes. */
  byOp: Map<string, number[]>;
  failed: number;
  firstFailure: string | undefined;
}

/** What each client does next, with its weight; every op is a real request (or two) against the API. */
type Op = (base: string, pool: Pool) => Promise<void>;

interface Pool {
  parked: string[];
  running: string[];
  finished: { id: string; trial: number }[];
}

async function request(base: string, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...authHeaders(base), ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path.split('?')[0]}: ${response.status} ${text.slice(0, 200)}`);
  return text.startsWith('{') ? JSON.parse(text).result : text;
}

const take = <T>(list: T[]): T | undefined => list.splice(Math.floor(Math.random() * list.length), 1)[0];
const pick = <T>(list: T[]): T | undefined => list[Math.floor(Math.random() * list.length)];

const OPS: Array<[number, string, Op]> = [
  [3, 'create parked', async (base, pool) => void pool.parked.push((await request(base, 'POST', '/api/v1/experiment', spec('parked', 'true', false))).experimentId)],
  [2, 'create and run', async (base, pool) => {
    const id = (await request(base, 'POST', '/api/v1/experiment', spec('echo', 'echo hello'))).experimentId as string;
    const trials = await request(base, 'GET', `/api/v1/experiment/${id}/trials`);
    pool.finished.push({ id, trial: trials[0].id });
  }],
  [1, 'create a sleeper', async (base, pool) => void pool.running.push((await request(base, 'POST', '/api/v1/experiment', spec('sleeper', 'sleep 60'))).experimentId)],
  [8, 'get', async (base, pool) => {
    const id = pick(pool.finished)?.id;
    if (id) await request(base, 'GET', `/api/v1/experiment/${id}`);
  }],
  [4, 'list', async (base) => void (await request(base, 'GET', '/api/v1/experiment?limit=20'))],
  [2, 'patch', async (base, pool) => {
    // Taken while in use, so a delete of the same one cannot race it.
    const id = take(pool.parked);
    if (!id) return;
    await request(base, 'PATCH', `/api/v1/experiment/${id}`, spec('patched', 'true', false));
    pool.parked.push(id);
  }],
  [1, 'cancel', async (base, pool) => {
    const id = take(pool.running);
    if (id) await request(base, 'POST', `/api/v1/experiment/${id}/cancel`);
  }],
  [1, 'delete', async (base, pool) => {
    const id = take(pool.parked);
    if (id) await request(base, 'DELETE', `/api/v1/experiment/${id}`);
  }],
  [2, 'follow', async (base, pool) => {
    // Follows a trial to its end (echo ends at once): the backlog, the live end, the close.
    const done = pick(pool.finished);
    if (done) await request(base, 'GET', `/api/v1/trials/${done.trial}/logs?follow=true`);
  }],
];
const TOTAL_WEIGHT = OPS.reduce((sum, [w]) => sum + w, 0);

function chooseOp(): [string, Op] {
  let r = Math.random() * TOTAL_WEIGHT;
  for (const [weight, name, op] of OPS) if ((r -= weight) < 0) return [name, op];
  return [OPS[0]![1], OPS[0]![2]];
}

async function drive(seconds: number, next: () => [string, () => Promise<void>]): Promise<{ rps: number; tally: Tally }> {
  const tally: Tally = { latencies: [], byOp: new Map(), failed: 0, firstFailure: undefined };
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < until) {
        const [name, op] = next();
        const t0 = performance.now();
        try {
          await op();
        } catch (error) {
          tally.failed++;
          tally.firstFailure ??= (error as Error).message;
        }
        const took = performance.now() - t0;
        tally.latencies.push(took);
        tally.byOp.set(name, [...(tally.byOp.get(name) ?? []), took]);
      }
    }),
  );
  return { rps: tally.latencies.length / ((performance.now() - started) / 1000), tally };
}

export const concurrentClients: Benchmark = {
  name: 'concurrent',
  title: '50 concurrent clients, mixed requests',
  async run(ctx, scope) {
    const seconds = ctx.quick ? 3 : 20;
    const bare = await startBareFastify(scope);
    const rows: Row[] = [];
    for (const target of await targets(scope, ctx.databases)) {
      if ('skip' in target) {
        rows.push(unavailable(NAME, `mixed req/s (postgres)`, 'req/s', `skipped: ${target.skip}`));
        continue;
      }
      const server = await startServer(scope, 'url' in target ? { db: target.url } : {});
      const pool: Pool = { parked: [], running: [], finished: [] };
      // A few of each so the first requests have something to act on.
      for (let i = 0; i < 10; i++) await OPS[0]![2](server.base, pool);
      await OPS[1]![2](server.base, pool);
      const base = await drive(seconds, () => ['bare', async () => void (await fetch(bare.url).then((r) => r.text()))]);
      const got = await drive(seconds, () => {
        const [name, op] = chooseOp();
        return [name, () => op(server.base, pool)];
      });
      const byOp = [...got.tally.byOp].map(([name, l]) => `${name} ${l.length}× p50 ${percentile(l, 50).toFixed(0)} p99 ${percentile(l, 99).toFixed(0)}`).join(', ');
      ctx.log(`${NAME} (${target.name}) by operation, ms: ${byOp}`);
      // Sleepers still running are cancelled with the server; nothing here waits for them.
      await Promise.all(pool.running.map((id) => api(server.base, 'POST', `/api/v1/experiment/${id}/cancel`).catch(() => undefined)));
      const p50 = percentile(got.tally.latencies, 50);
      const p99 = percentile(got.tally.latencies, 99);
      const baseP50 = percentile(base.tally.latencies, 50);
      const baseP99 = percentile(base.tally.latencies, 99);
      ctx.log(`${NAME} (${target.name}): ${got.rps.toFixed(0)} req/s p50 ${p50.toFixed(1)} ms p99 ${p99.toFixed(1)} ms, ${got.tally.failed} failed${got.tally.firstFailure ? ` (first: ${got.tally.firstFailure})` : ''}; bare ${base.rps.toFixed(0)} req/s`);
      const failed = got.tally.failed > 0 ? `; ${got.tally.failed} failed, first: ${got.tally.firstFailure}` : '';
      rows.push(row({ benchmark: NAME, metric: `mixed req/s (${target.name})`, unit: 'req/s', value: got.rps, baseline: base.rps, baselineLabel: 'bare Fastify, same clients', note: `${CLIENTS} clients, ${seconds} s${failed}` }));
      rows.push(row({ benchmark: NAME, metric: `mixed p50 (${target.name})`, unit: 'ms', value: p50, baseline: baseP50, baselineLabel: 'bare Fastify, same clients' }));
      rows.push(row({ benchmark: NAME, metric: `mixed p99 (${target.name})`, unit: 'ms', value: p99, baseline: baseP99, baselineLabel: 'bare Fastify, same clients', target: 'p99 < 100 ms' }));
    }
    return rows;
  },
};
