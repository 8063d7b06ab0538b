/**
 * 6. Scale and memory: RSS of the idle server (baseline: the bare Fastify process, idle); then experiments
 * are stored (created through the API, autoStart false) up to 1k, 10k and 100k, and at each size a
 * keyset page from the middle (`limit=50&after=…`) and a status-filtered page (`status=Running&limit=50`)
 * are timed, one request at a time, interleaved with requests to the bare Fastify route. The experiments
 * belong to a user who is not an admin, and the same status page is also timed as that user (whose lists are
 * filtered by owner: the query an admin does not run). Growth is the ratio to the smallest size; RSS is taken
 * again at the largest. The full run then goes on to 1M stored (atAMillion).
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { api, authHeaders } from './lib/client.js';
import type { Benchmark, Context } from './lib/context.js';
import type { Scope } from './lib/scope.js';
import { startBareFastify, type BareServer } from './lib/bare.js';
import { populate } from './lib/load.js';
import { row, type Row } from './lib/report.js';
import { peakRss, startServer, type Server } from './lib/server.js';
import { nowMs, percentile, sleep } from './lib/stats.js';

const NAME = '6 scale';

interface Timings {
  page: number[];
  status: number[];
  ownStatus: number[];
  bare: number[];
}

export const scale: Benchmark = {
  name: 'scale',
  title: 'Scale and memory',
  async run(ctx, scope) {
    const sizes = ctx.quick ? [200, 1_000] : [1_000, 10_000, 100_000];
    const samples = ctx.quick ? 30 : 300;
    const [server, bare] = await Promise.all([startServer(scope), startBareFastify(scope)]);
    // Let start-up settle (recovery, JIT of the first requests is not idle memory).
    await sleep(2000);
    const idle = server.rssMb();
    const bareIdle = bare.rssMb();
    const rows: Row[] = [
      row({ benchmark: NAME, metric: 'idle server RSS', unit: 'MB', value: idle, baseline: bareIdle, baselineLabel: 'bare Fastify idle', target: '< 80 MB' }),
    ];
    const timings: Timings[] = [];
    const user = await userToken(server);
    let stored = 0;
    for (const size of sizes) {
      const t0 = nowMs();
      await populate(server.base, size - stored, user);
      ctx.log(`${NAME}: stored ${size - stored} more experiments in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
      stored = size;
      timings.push(await timePages(ctx, server, bare, size, samples, user));
    }
    await sleep(1000);
    rows.push(...(await unpagedList(ctx, server, stored)));
    const loaded = server.rssMb();
    rows.push(row({ benchmark: NAME, metric: `server RSS, ${label(stored)} stored`, unit: 'MB', value: loaded, baseline: idle, baselineLabel: 'idle', note: 'after the list requests' }));
    const measured = [...sizes];
    if (!ctx.quick) {
      const million = await atAMillion(ctx, scope, server, stored, idle);
      rows.push(...million.rows);
      timings.push(await timePages(ctx, million.server, bare, MILLION, samples, user));
      measured.push(MILLION);
    }
    for (const [key, what] of [['page', 'list page limit=50 (mid cursor)'], ['status', 'list status=Running&limit=50'], ['ownStatus', "a user's status=Running&limit=50"]] as const) {
      measured.forEach((size, i) => {
        const p99 = percentile(timings[i]![key], 99);
        const p50 = percentile(timings[i]![key], 50);
        const first = i === 0;
        rows.push(row({
          benchmark: NAME,
          metric: `${what} p99, ${label(size)} stored`,
          unit: 'ms',
          value: p99,
          baseline: first ? percentile(timings[0]!.bare, 99) : percentile(timings[0]![key], 99),
          baselineLabel: first ? 'bare Fastify' : `at ${label(sizes[0]!)}`,
          target: size === 100_000 && key === 'page' ? `p99 < 20 ms, ≤ 1.2× the 1k figure` : '',
          note: `p50 ${p50.toFixed(2)} ms${first ? ` vs ${percentile(timings[0]!.bare, 50).toFixed(2)} ms bare` : ` (${(p50 / percentile(timings[0]![key], 50)).toFixed(2)}× at ${label(sizes[0]!)})`}; n=${samples}`,
        }));
      });
    }
    return rows;
  },
};

/**
 * Submarine's unpaged list of everything stored (its clients read whole answers): seconds to the last byte
 * and the server's peak RSS meanwhile, against its RSS before.
 */
async function unpagedList(ctx: Context, server: Server, stored: number): Promise<Row[]> {
  await sleep(500);
  const before = server.rssMb() ?? 0;
  const url = `${server.base}/api/v1/experiment`;
  const t0 = nowMs();
  const { peak, result: bytes } = await peakRss(server, async () => {
    const response = await fetch(url, { headers: authHeaders(url) });
    if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
    const body = await response.text();
    const count = (JSON.parse(body) as { result: unknown[] }).result.length;
    if (count !== stored) throw new Error(`the unpaged list answered ${count} of ${stored} experiments`);
    return body.length;
  });
  const seconds = (nowMs() - t0) / 1000;
  const t1 = nowMs();
  let paged = 0;
  for (let after: string | undefined; ; ) {
    const page = await api(server.base, 'GET', `/api/v1/experiment?limit=1000${after ? `&after=${after}` : ''}`);
    paged += (page.result as unknown[]).length;
    after = page.attributes.nextCursor as string | undefined;
    if (!after) break;
  }
  if (paged !== stored) throw new Error(`paging answered ${paged} of ${stored} experiments`);
  const pagedSeconds = (nowMs() - t1) / 1000;
  ctx.log(`${NAME}: unpaged list of ${label(stored)}: ${(bytes / 1e6).toFixed(0)} MB in ${seconds.toFixed(2)} s, peak RSS ${peak.toFixed(0)} MB (before ${before.toFixed(0)} MB)`);
  return [
    row({ benchmark: NAME, metric: `unpaged list, ${label(stored)} stored: time`, unit: 's', value: seconds, baseline: pagedSeconds, baselineLabel: 'paging it, limit=1000', note: `${(bytes / 1e6).toFixed(0)} MB of JSON, to the last byte` }),
    row({ benchmark: NAME, metric: `unpaged list, ${label(stored)} stored: peak server RSS`, unit: 'MB', value: peak, baseline: before, baselineLabel: 'server RSS before', target: 'flat (streamed)' }),
  ];
}

/** A user who is not an admin, created and logged in through the API: its bearer token. */
async function userToken(server: Server): Promise<string> {
  const credentials = { username: 'bench-user', password: 'bench-user-password' };
  await api(server.base, 'POST', '/api/v1/users', credentials);
  return (await api<{ token: string }>(server.base, 'POST', '/api/v1/auth/login', credentials)).result.token;
}

function label(n: number): string {
  if (n >= 1_000_000) return `${n / 1_000_000}M`;
  return n >= 1000 ? `${n / 1000}k` : String(n);
}

const MILLION = 1_000_000;

/**
 * The stored experiments copied, with the server stopped, until a million are stored: storing 900k more
 * through the API would take this machine 20-30 minutes. Each copy is a whole experiment as the API stored it
 * (its trial and executor too, ids and the ids inside its spec renamed), so the restarted server recovers and
 * lists them as its own. Rows: the server's start (to its listening line) and its RSS after it, against the
 * empty server's; the list rows at 1M follow with the others.
 */
async function atAMillion(ctx: Context, scope: Scope, server: Server, stored: number, idleMb: number | null): Promise<{ server: Server; rows: Row[] }> {
  await server.stop();
  const t0 = nowMs();
  const db = new Database(join(server.dataDir, 'periscope.db'));
  try {
    const prefixes = db.prepare('select distinct substr(id, 1, 25) from experiments').pluck().all() as string[];
    if (prefixes.length !== 1 || !/^experiment-\d{13}-$/.test(prefixes[0]!)) throw new Error(`expected one server run's ids, found ${prefixes.join(', ')}`);
    const from = prefixes[0]!;
    const millis = Number(from.slice(11, 24));
    const uid = `lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`;
    const copy = db.transaction((to: string) => {
      const names = { from, to, like: `${from}%` };
      db.prepare(`insert into experiments (id, uid, name, status, spec, accepted_at, created_at, running_at, finished_at, message, updated_at, execution_name, request_digest, searcher_state, owner, cancel_requested_at)
        select replace(id, @from, @to), ${uid}, name, status, replace(spec, @from, @to), accepted_at, created_at, running_at, finished_at, message, updated_at, execution_name, request_digest, searcher_state, owner, cancel_requested_at
        from experiments where id like @like order by seq`).run(names);
      db.prepare(`insert into trials (experiment_id, number, state, priority, restarts, hparams, message, queued_at, started_at, finished_at, steps_completed, best_validation, latest_validation, latest_checkpoint, request_id, length_budget, stop_requested, run_spec)
        select replace(experiment_id, @from, @to), number, state, priority, restarts, hparams, message, queued_at, started_at, finished_at, steps_completed, best_validation, latest_validation, latest_checkpoint, request_id, length_budget, stop_requested, replace(run_spec, @from, @to)
        from trials where experiment_id like @like order by id`).run(names);
      db.prepare(`insert into executors (name, trial_id, experiment_id, role, replica, rank, node, state, pid, handle, exit_code, signal, cause, fault, gpus, started_at, finished_at, cancel_requested)
        select replace(e.name, @from, @to), c.id, c.experiment_id, e.role, e.replica, e.rank, e.node, e.state, e.pid, e.handle, e.exit_code, e.signal, e.cause, e.fault, e.gpus, e.started_at, e.finished_at, e.cancel_requested
        from executors e join trials t on t.id = e.trial_id join trials c on c.experiment_id = replace(t.experiment_id, @from, @to) and c.number = t.number
        where e.experiment_id like @like`).run(names);
    });
    // Earlier millis than the run that stored the originals: the copies' ids sort before the restarted server's.
    for (let k = 1; stored * (k + 1) <= MILLION; k++) copy(`experiment-${millis - k}-`);
    const count = db.prepare('select count(*) from experiments').pluck().get() as number;
    if (count !== MILLION) throw new Error(`copying left ${count} experiments stored, not ${MILLION}`);
  } finally {
    db.close();
  }
  ctx.log(`${NAME}: copied the stored experiments up to ${label(MILLION)} in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
  const again = await startServer(scope, { dataDir: server.dataDir, port: Number(new URL(server.base).port) });
  await sleep(2000);
  const rss = again.rssMb();
  const empty = await startServer(scope);
  await empty.stop();
  ctx.log(`${NAME}: start with ${label(MILLION)} stored ${again.startMs.toFixed(0)} ms (empty ${empty.startMs.toFixed(0)} ms), RSS ${rss?.toFixed(0)} MB`);
  return {
    server: again,
    rows: [
      row({ benchmark: NAME, metric: `server start, ${label(MILLION)} stored`, unit: 'ms', value: again.startMs, baseline: empty.startMs, baselineLabel: 'empty data dir', note: 'spawn → listening line (recovery included)' }),
      row({ benchmark: NAME, metric: `idle server RSS, ${label(MILLION)} stored`, unit: 'MB', value: rss, baseline: idleMb, baselineLabel: 'idle, empty', note: '2 s after start' }),
    ],
  };
}

async function timePages(ctx: Context, server: Server, bare: BareServer, size: number, samples: number, user: string): Promise<Timings> {
  const middle = `${server.base}/api/v1/experiment?limit=50&after=${Math.floor(size / 2)}`;
  const byStatus = `${server.base}/api/v1/experiment?status=Running&limit=50`;
  const check = await api(server.base, 'GET', `/api/v1/experiment?limit=50&after=${Math.floor(size / 2)}`);
  if (check.result.length !== 50) throw new Error(`the middle page at ${size} has ${check.result.length} experiments`);
  const out: Timings = { page: [], status: [], ownStatus: [], bare: [] };
  const timed = async (url: string, into: number[], token?: string) => {
    const t0 = nowMs();
    const response = await fetch(url, { headers: authHeaders(url, token) });
    if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
    await response.arrayBuffer();
    into.push(nowMs() - t0);
  };
  // A few unmeasured rounds first, so the first samples do not time connection set-up and cold code paths.
  for (let i = 0; i < 5 + samples; i++) {
    const warm = i < 5;
    await timed(bare.url, warm ? [] : out.bare);
    await timed(middle, warm ? [] : out.page);
    await timed(byStatus, warm ? [] : out.status);
    await timed(byStatus, warm ? [] : out.ownStatus, user);
  }
  ctx.log(`${NAME}: at ${label(size)}: page p99 ${percentile(out.page, 99).toFixed(2)} ms, status p99 ${percentile(out.status, 99).toFixed(2)} ms, user's status p99 ${percentile(out.ownStatus, 99).toFixed(2)} ms, bare p99 ${percentile(out.bare, 99).toFixed(2)} ms`);
  return out;
}
