/**
 * 9. Slurm: the server started with `--launcher slurm` on the cluster this machine submits to
 * (scripts/slurm-dev-cluster.sh), against bare `sbatch` + `squeue` polling in the same run.
 *
 * - Submit → running: from the moment the client sends the create request to the moment the executor's command
 *   starts (it prints its own `date +%s%N`, read from its stdout file, as in benchmark 1). The server's own
 *   `runningTime` is not used: the launch records it when sbatch has accepted the job, before Slurm runs it.
 *   Baseline, interleaved sample by sample: `sbatch --parsable … --wrap true`, then `squeue` every ~10 ms until
 *   the job is no longer pending (RUNNING, or already COMPLETING/ended); each job and experiment is awaited to
 *   its end before the next sample, so each is measured on an idle cluster.
 * - Throughput: N trivial experiments (`true`) created at once, experiments per second from the first create
 *   request to the last `finishedTime` the server recorded. Baseline: N such sbatch jobs, a few submissions in
 *   flight, until `squeue` shows every one ended. Rounds alternate baseline and server; the median is reported.
 *
 * Without a cluster that answers (`sinfo`), the rows say so and carry no value. SQLite only: it is the
 * launcher that is measured, not the store.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { api, readStarted, waitSucceeded } from './lib/client.js';
import type { Benchmark, Context } from './lib/context.js';
import { row, unavailable, type Row } from './lib/report.js';
import type { Scope } from './lib/scope.js';
import { startServer, type Server } from './lib/server.js';
import { median, nowMs, parseNanos, percentile, sleep } from './lib/stats.js';

const NAME = '9 slurm';
const run = promisify(execFile);

/** The bare job: the same resources a Periscope executor with `cpu=1,memory=64M` asks Slurm for. */
const SBATCH = ['--parsable', '--ntasks=1', '--cpus-per-task=1', '--mem=64M', '--output=/dev/null', '--wrap', 'true'];
const RESOURCES = 'cpu=1,memory=64M';
/** Job states that are over (squeue --states=all keeps them MinJobAge seconds). */
const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'DEADLINE', 'OUT_OF_MEMORY', 'NODE_FAIL', 'BOOT_FAIL', 'PREEMPTED', 'REVOKED', 'SPECIAL_EXIT']);
/** Submissions of the bare throughput round in flight at once. */
const IN_FLIGHT = 4;

export const slurm: Benchmark = {
  name: 'slurm',
  title: 'Slurm launcher: submit→running and throughput against bare sbatch',
  async run(ctx, scope) {
    const samples = ctx.quick ? 5 : 50;
    const count = ctx.quick ? 10 : 100;
    const rounds = ctx.quick ? 1 : 3;
    const latencyMetric = (p: string) => `submit→running ${p} (sqlite, n=${samples})`;
    const throughputMetric = `throughput, ${count} at once (sqlite${rounds > 1 ? `, median of ${rounds}` : ''})`;
    const why = await slurmMissing();
    if (why) {
      ctx.log(`${NAME}: skipped: ${why}`);
      return [
        unavailable(NAME, latencyMetric('p50'), 'ms', `skipped: ${why}`),
        unavailable(NAME, latencyMetric('p95'), 'ms', `skipped: ${why}`),
        unavailable(NAME, throughputMetric, 'exp/s', `skipped: ${why}`),
      ];
    }
    const bare = new BareJobs(scope);
    const server = await startServer(scope, { launcher: 'slurm' });
    const ours = new Set<string>();
    // Before the server stops and its data dir goes: a step of ours still waiting for its launch file would wait forever.
    scope.defer('slurm jobs of the benchmarked server', () => cancelJobsOf(ours));
    const rows: Row[] = [];

    const latency = await measureLatency(ctx, server, bare, ours, samples);
    for (const [p, name] of [[50, 'p50'], [95, 'p95']] as const) {
      const value = percentile(latency.server, p);
      const baseline = percentile(latency.bare, p);
      rows.push(row({
        benchmark: NAME,
        metric: latencyMetric(name),
        unit: 'ms',
        value,
        baseline,
        baselineLabel: 'bare sbatch',
        target: p === 50 ? 'p50 ≤ bare sbatch + 100 ms' : '',
        note: `${value - baseline >= 0 ? '+' : ''}${(value - baseline).toFixed(0)} ms over bare sbatch${p === 50 ? `; the server's runningTime comes ${median(latency.recorded).toFixed(0)} ms after the request (sbatch accepted)` : ''}`,
      }));
    }

    const viaServer: number[] = [];
    const bareRates: number[] = [];
    let failed = 0;
    for (let round = 0; round < rounds; round++) {
      const b = await bare.throughput(count);
      bareRates.push(b.rate);
      failed += b.failed;
      const s = await serverRound(server, ours, round, count);
      viaServer.push(s.rate);
      failed += s.failed;
      ctx.log(`${NAME} throughput round ${round + 1}: server ${s.rate.toFixed(1)} exp/s, bare sbatch ${b.rate.toFixed(1)} jobs/s`);
    }
    rows.push(row({
      benchmark: NAME,
      metric: throughputMetric,
      unit: 'exp/s',
      value: median(viaServer),
      baseline: median(bareRates),
      baselineLabel: 'bare sbatch',
      target: '≥ 0.8× bare sbatch',
      note: `${rounds > 1 ? `rounds ${viaServer.map((r) => r.toFixed(1)).join('/')} vs ${bareRates.map((r) => r.toFixed(1)).join('/')}; ` : ''}bare: ${IN_FLIGHT} sbatch in flight${failed ? `; ${failed} jobs or experiments did not succeed` : ''}`,
    }));
    return rows;
  },
};

/** Why there is no Slurm to measure, or null when a controller answers and some node takes jobs. */
async function slurmMissing(): Promise<string | null> {
  try {
    const { stdout } = await run('sinfo', ['--noheader', '--Node', '--format=%N %t'], { timeout: 10_000 });
    return /\b(idle|mix|alloc)/.test(stdout) ? null : `sinfo shows no node that takes jobs (${stdout.trim().replace(/\s+/g, ' ') || 'none'})`;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    const said = e.code === 'ENOENT' ? 'not installed' : (e.stderr?.trim().split('\n')[0]?.replace(/^sinfo: /, '') || e.message.split('\n')[0]);
    return `no Slurm cluster answers (sinfo: ${said}); start one with scripts/slurm-dev-cluster.sh start`;
  }
}

async function squeueStates(ids: readonly string[]): Promise<Map<string, string>> {
  const { stdout } = await run('squeue', ['--noheader', '--states=all', `--jobs=${ids.join(',')}`, '--format=%i|%T'], { timeout: 30_000 });
  const states = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [id, state] = line.trim().split('|');
    if (id && state) states.set(id, state);
  }
  return states;
}

/** Bare sbatch jobs; any not seen ended is canceled when the scope closes. */
class BareJobs {
  private readonly live = new Set<string>();

  constructor(scope: Scope) {
    scope.defer('bare sbatch jobs', async () => {
      if (this.live.size > 0) await run('scancel', [...this.live], { timeout: 30_000 }).catch(() => undefined);
    });
  }

  async submit(): Promise<string> {
    const { stdout } = await run('sbatch', SBATCH, { timeout: 30_000 });
    const id = stdout.trim().split(';')[0]!;
    if (!/^\d+$/.test(id)) throw new Error(`sbatch answered no job id: ${stdout.slice(0, 200)}`);
    this.live.add(id);
    return id;
  }

  /** Polls squeue until every job has ended; answers how many did not complete. */
  async waitEnded(ids: readonly string[], intervalMs: number, timeoutMs = 300_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const left = new Set(ids);
    let failed = 0;
    while (left.size > 0) {
      const states = await squeueStates([...left]);
      for (const id of [...left]) {
        const state = states.get(id);
        if (!state || !ENDED.has(state)) continue;
        left.delete(id);
        this.live.delete(id);
        if (state !== 'COMPLETED') failed++;
      }
      if (left.size === 0) break;
      if (Date.now() > deadline) throw new Error(`bare sbatch jobs ${[...left].slice(0, 5).join(',')} not ended after ${timeoutMs} ms`);
      await sleep(intervalMs);
    }
    return failed;
  }

  /** ms from the sbatch call until squeue first shows the job no longer pending; then waits for its end. */
  async toRunning(): Promise<number> {
    const sent = nowMs();
    const id = await this.submit();
    const deadline = Date.now() + 120_000;
    for (;;) {
      const state = (await squeueStates([id])).get(id);
      if (state === 'RUNNING' || state === 'COMPLETING' || (state && ENDED.has(state))) break;
      if (Date.now() > deadline) throw new Error(`bare sbatch job ${id} still ${state ?? 'unknown'} after 120 s`);
      await sleep(10);
    }
    const ms = nowMs() - sent;
    await this.waitEnded([id], 20);
    return ms;
  }

  /** N jobs, IN_FLIGHT submissions at a time, until every one has ended: jobs per second. */
  async throughput(count: number): Promise<{ rate: number; failed: number }> {
    const t0 = nowMs();
    const ids: string[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, async () => {
      while (next < count) {
        next++;
        ids.push(await this.submit());
      }
    }));
    const failed = await this.waitEnded(ids, 20);
    return { rate: count / ((nowMs() - t0) / 1000), failed };
  }
}

function slurmSpec(name: string, cmd: string): Record<string, unknown> {
  return { meta: { name, framework: 'Custom', cmd }, spec: { Worker: { resources: RESOURCES } } };
}

async function create(server: Server, ours: Set<string>, name: string, cmd: string): Promise<string> {
  const id = (await api<{ experimentId: string }>(server.base, 'POST', '/api/v1/experiment', slurmSpec(name, cmd))).result.experimentId;
  ours.add(id);
  return id;
}

interface Latency {
  server: number[];
  bare: number[];
  /** The server's runningTime minus the moment of the request. */
  recorded: number[];
}

async function measureLatency(ctx: Context, server: Server, bare: BareJobs, ours: Set<string>, count: number): Promise<Latency> {
  const out: Latency = { server: [], bare: [], recorded: [] };
  // One of each first, not counted: the server writes its job scripts on its first submission.
  await bare.toRunning();
  await serverSample('warm-up', []);
  for (let i = 0; i < count; i++) {
    // Alternate which goes first, so neither always runs right after the other's end.
    if (i % 2 === 0) {
      out.bare.push(await bare.toRunning());
      await serverSample(`latency-${i}`, out.server);
    } else {
      await serverSample(`latency-${i}`, out.server);
      out.bare.push(await bare.toRunning());
    }
  }
  ctx.log(`${NAME} submit→running: server p50 ${median(out.server).toFixed(0)} ms, bare sbatch p50 ${median(out.bare).toFixed(0)} ms`);
  return out;

  async function serverSample(name: string, into: number[]): Promise<void> {
    const sent = nowMs();
    const id = await create(server, ours, name, 'date +%s%N');
    const text = await readStarted(server, id, 120_000);
    into.push(parseNanos(text) - sent);
    await waitSucceeded(server.base, id, 50);
    if (into === out.server) {
      const { result } = await api<{ runningTime: string | null }>(server.base, 'GET', `/api/v1/experiment/${id}`);
      if (result.runningTime) out.recorded.push(Date.parse(result.runningTime) - sent);
    }
  }
}


/** As benchmark 2's round: N created at once, the rate from the server's own finish times. */
async function serverRound(server: Server, ours: Set<string>, round: number, count: number): Promise<{ rate: number; failed: number }> {
  const t0 = nowMs();
  const ids = new Set(await Promise.all(Array.from({ length: count }, (_, i) => create(server, ours, `slurm-throughput-${round}-${i}`, 'true'))));
  const deadline = Date.now() + 300_000;
  for (;;) {
    const pending = await Promise.all(['Accepted', 'Created', 'Running'].map((s) => api(server.base, 'GET', `/api/v1/experiment?status=${s}&limit=1`)));
    if (pending.every((p) => p.result.length === 0)) break;
    if (Date.now() > deadline) throw new Error(`experiments of throughput round ${round + 1} not finished after 300 s`);
    await sleep(100);
  }
  let last = 0;
  let succeeded = 0;
  for (const status of ['Succeeded', 'Failed']) {
    let after = '';
    for (;;) {
      const page = await api(server.base, 'GET', `/api/v1/experiment?status=${status}&limit=1000${after ? `&after=${after}` : ''}`);
      for (const e of page.result as { experimentId: string; finishedTime: string | null }[]) {
        if (!ids.has(e.experimentId) || !e.finishedTime) continue;
        last = Math.max(last, Date.parse(e.finishedTime));
        if (status === 'Succeeded') succeeded++;
      }
      const next = page.attributes.nextCursor as string | undefined;
      if (!next) break;
      after = next;
    }
  }
  return { rate: count / ((last - t0) / 1000), failed: count - succeeded };
}

/** Cancels the Slurm jobs of these experiments that Slurm still runs or queues (named periscope-<id>-t<trial>). */
async function cancelJobsOf(experiments: ReadonlySet<string>): Promise<void> {
  if (experiments.size === 0) return;
  const { stdout } = await run('squeue', ['--noheader', '--format=%i|%j'], { timeout: 30_000 });
  const jobs = stdout
    .split('\n')
    .map((line) => line.trim().split('|'))
    .filter(([id, name]) => id && experiments.has(/^periscope-(.+)-t\d+$/.exec(name ?? '')?.[1] ?? ''))
    .map(([id]) => id!.replace(/\+\d+$/, ''));
  if (jobs.length > 0) await run('scancel', [...new Set(jobs)], { timeout: 30_000 });
}
