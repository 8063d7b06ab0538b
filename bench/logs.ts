/**
 * 4. Logs, through the API of a real server:
 * - one executor printing N lines (`seq N`): time from the create request until `tail=1` answers the last
 *   line; baseline `seq N > file` spawned from Node;
 * - `tail=100` latency on a 10M-line log; baseline reading the last 100 lines of the same-sized file directly;
 * - `tail=100` on a log whose chunk index has one entry per line (what a slow writer leaves: a line a second for
 *   12 days is 1M entries); baseline the same request on the same log indexed in a few big chunks;
 * - follow latency: a loop prints its own `date +%s%N` every 20 ms, an SSE client takes its arrival time;
 *   baseline the same loop into a file watched with fs.watch from this process, run at the same time.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, watch } from 'node:fs';
import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { api, authHeaders, checkNotFailed, firstTrialId, submit, waitSucceeded } from './lib/client.js';
import type { Benchmark, Context } from './lib/context.js';
import { shToFile } from './lib/processes.js';
import { streamEvents } from './lib/sse.js';
import { row, type Row } from './lib/report.js';
import type { Scope } from './lib/scope.js';
import { peakRss, startServer, tempDir, type Server } from './lib/server.js';
import { median, nowMs, parseNanos, percentile, sleep } from './lib/stats.js';

const NAME = '4 logs';

export const logs: Benchmark = {
  name: 'logs',
  title: 'Logs: ingestion, tail and follow',
  async run(ctx, scope) {
    const server = await startServer(scope);
    const dir = tempDir(scope, 'periscope-bench-logs-');
    const long = ctx.quick ? 1_000_000 : 10_000_000;
    return [
      ...(await queryable(ctx, server, dir, ctx.quick ? 100_000 : 1_000_000, ctx.quick ? 1 : 3)),
      ...(await tail(ctx, server, dir, long, ctx.quick ? 30 : 200)),
      ...(await slowWriterIndex(ctx, server, 1_000_000, ctx.quick ? 30 : 200)),
      ...(await bigLogMemory(ctx, server, long)),
      ...(await follow(ctx, scope, server, dir, ctx.quick ? 40 : 300)),
    ];
  },
};

function size(lines: number): string {
  return lines >= 1_000_000 ? `${lines / 1_000_000}M` : `${lines / 1000}k`;
}

async function queryable(ctx: Context, server: Server, dir: string, lines: number, rounds: number): Promise<Row[]> {
  const viaServer: number[] = [];
  const bare: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let t0 = nowMs();
    await shToFile(`seq ${lines}`, join(dir, `seq-${round}`));
    bare.push((nowMs() - t0) / 1000);

    t0 = nowMs();
    const id = await submit(server.base, `lines-${round}`, `seq ${lines}`);
    const trial = await trialOf(server, id);
    const deadline = Date.now() + 300_000;
    for (let i = 1; ; i++) {
      const { result } = await api(server.base, 'GET', `/api/v1/trials/${trial}/logs?tail=1`);
      if (result[0]?.text === String(lines)) break;
      if (i % 20 === 0) await checkNotFailed(server.base, id);
      if (Date.now() > deadline) throw new Error(`the last of ${lines} lines was not queryable after 300 s`);
      await sleep(10);
    }
    viaServer.push((nowMs() - t0) / 1000);
    await waitSucceeded(server.base, id);
    ctx.log(`${NAME}: ${size(lines)} lines queryable after ${viaServer.at(-1)!.toFixed(2)} s; seq > file ${bare.at(-1)!.toFixed(2)} s`);
  }
  return [
    row({
      benchmark: NAME,
      metric: `${size(lines)} lines queryable${rounds > 1 ? ` (median of ${rounds})` : ''}`,
      unit: 's',
      value: median(viaServer),
      baseline: median(bare),
      baselineLabel: `seq ${size(lines)} > file`,
      target: lines === 1_000_000 ? '≤ 1 s' : '',
      note: 'create request → tail=1 answers the last line',
    }),
  ];
}

async function tail(ctx: Context, server: Server, dir: string, lines: number, samples: number): Promise<Row[]> {
  const file = join(dir, 'tail-baseline');
  await shToFile(`seq ${lines}`, file);
  const trial = await longLog(server, lines);
  const viaServer: number[] = [];
  const bare: number[] = [];
  const last = String(lines);
  for (let i = 0; i < samples; i++) {
    let t0 = nowMs();
    const { result } = await api(server.base, 'GET', `/api/v1/trials/${trial}/logs?tail=100`);
    viaServer.push(nowMs() - t0);
    if (result.length !== 100 || result[99].text !== last) throw new Error(`tail=100 answered ${result.length} lines ending ${result.at(-1)?.text}`);
    t0 = nowMs();
    const direct = await lastLines(file, 100);
    bare.push(nowMs() - t0);
    if (direct.length !== 100 || direct[99] !== last) throw new Error('direct tail read the wrong lines');
  }
  ctx.log(`${NAME}: tail=100 of ${size(lines)} lines p50 ${median(viaServer).toFixed(2)} ms; direct ${median(bare).toFixed(3)} ms`);
  return ([[50, 'p50'], [95, 'p95']] as const).map(([p, name]) =>
    row({
      benchmark: NAME,
      metric: `tail=100 of ${size(lines)} lines ${name} (n=${samples})`,
      unit: 'ms',
      value: percentile(viaServer, p),
      baseline: percentile(bare, p),
      baselineLabel: 'read file end',
      target: lines === 10_000_000 ? '< 10 ms' : '',
      note: p === 50 ? 'HTTP + JSON included; baseline in-process' : '',
    }),
  );
}

/**
 * A slow writer's week is not waited for: two jobs print the same `seq entries`, and then the chunk index of
 * one is rewritten the way the tailer would have written it had each line arrived on its own (one
 * `endOffset millis` entry per line, times one second apart). The other keeps the few entries the tailer wrote.
 */
async function slowWriterIndex(ctx: Context, server: Server, entries: number, samples: number): Promise<Row[]> {
  const trials: number[] = [];
  const ids: string[] = [];
  for (const name of ['few-chunks', 'line-per-chunk']) {
    const id = await submit(server.base, `index-${name}-${size(entries)}`, `seq ${entries}`);
    await waitSucceeded(server.base, id, 50, 300_000);
    ids.push(id);
    trials.push(await trialOf(server, id));
  }
  const [executor] = await readdir(join(server.dataDir, 'logs', ids[1]!));
  const index = join(server.dataDir, 'index', ids[1]!, executor!, 'stdout.idx');
  const start = Date.now() - entries * 1000;
  const lines: string[] = [];
  for (let n = 1, end = 0; n <= entries; n++) lines.push(`${(end += String(n).length + 1)} ${start + n * 1000}\n`);
  const text = lines.join('');
  await writeFile(index, text);
  const timed = async (trial: number) => {
    const t0 = nowMs();
    const { result } = await api(server.base, 'GET', `/api/v1/trials/${trial}/logs?tail=100`);
    if (result.length !== 100 || result[99].text !== String(entries)) throw new Error(`tail=100 answered ${result.length} lines ending ${result.at(-1)?.text}`);
    return nowMs() - t0;
  };
  const few: number[] = [];
  const many: number[] = [];
  for (let i = 0; i < samples; i++) {
    few.push(await timed(trials[0]!));
    many.push(await timed(trials[1]!));
  }
  ctx.log(`${NAME}: tail=100 with a ${size(entries)}-entry index p50 ${median(many).toFixed(2)} ms; few entries ${median(few).toFixed(2)} ms`);
  return [
    row({
      benchmark: NAME,
      metric: `tail=100, ${size(entries)}-entry chunk index p50 (n=${samples})`,
      unit: 'ms',
      value: median(many),
      baseline: median(few),
      baselineLabel: 'same log, few entries',
      target: '≈ 1× (flat)',
      note: `index ${(text.length / 1e6).toFixed(0)} MB; lines timed by binary search`,
    }),
  ];
}

const longLogs = new Map<string, Promise<number>>();

/** The trial of a finished job that printed `seq lines` (one per server and size, shared by the rows on it). */
function longLog(server: Server, lines: number): Promise<number> {
  const key = `${server.base} ${lines}`;
  let trial = longLogs.get(key);
  if (!trial) {
    trial = (async () => {
      const id = await submit(server.base, `long-log-${size(lines)}`, `seq ${lines}`);
      await waitSucceeded(server.base, id, 50, 300_000);
      return trialOf(server, id);
    })();
    longLogs.set(key, trial);
  }
  return trial;
}

/**
 * A huge finished log, read two ways while the server's RSS is sampled: one client following it from the start
 * (its first line's latency; it stops reading for a while, as a slow client does, then reads as fast as it
 * can), and 20 clients paging through it at once. Baselines: the server's RSS before, `head=1`, one client paging.
 */
async function bigLogMemory(ctx: Context, server: Server, lines: number): Promise<Row[]> {
  const trial = await longLog(server, lines);
  const url = `${server.base}/api/v1/trials/${trial}/logs`;
  const headers = authHeaders(server.base);
  const pauseMs = ctx.quick ? 2_000 : 5_000;
  const readMs = ctx.quick ? 4_000 : 20_000;
  const idle = server.rssMb() ?? 0;

  const heads: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = nowMs();
    await api(server.base, 'GET', `/api/v1/trials/${trial}/logs?head=1`);
    heads.push(nowMs() - t0);
  }
  let pagedLines = 0;
  const pagedFor = async (ms: number, counter: (n: number) => void) => {
    const until = nowMs() + ms;
    for (let after = ''; nowMs() < until; ) {
      const page = await api(server.base, 'GET', `/api/v1/trials/${trial}/logs${after ? `?after=${after}` : ''}`);
      counter(page.result.length);
      const next = (page.attributes as { nextCursor?: string } | undefined)?.nextCursor;
      if (!next) break;
      after = encodeURIComponent(next);
    }
  };
  const t1 = nowMs();
  await pagedFor(readMs / 2, (n) => (pagedLines += n));
  const pagedRate = pagedLines / ((nowMs() - t1) / 1000);

  const followed = await peakRss(server, async () => {
    const t0 = nowMs();
    const response = await fetch(`${url}?follow=true`, { headers, signal: AbortSignal.timeout(pauseMs + readMs + 60_000) });
    let first = 0;
    let count = 0;
    let readingSince = 0;
    for await (const event of streamEvents(response)) {
      if (event.event !== 'message') break;
      count++;
      if (count === 1) {
        first = nowMs() - t0;
        await sleep(pauseMs);
        readingSince = nowMs();
      } else if (nowMs() - readingSince > readMs) break;
    }
    return { first, rate: (count - 1) / ((nowMs() - readingSince) / 1000) };
  });
  const paging = await peakRss(server, () => Promise.all(Array.from({ length: 20 }, () => pagedFor(readMs, () => undefined))));
  ctx.log(`${NAME}: following ${size(lines)} lines: first line ${followed.result.first.toFixed(1)} ms, peak RSS ${followed.peak} MB (idle ${idle} MB), ${Math.round(followed.result.rate)} lines/s; 20 pagers peak RSS ${paging.peak} MB`);
  return [
    row({ benchmark: NAME, metric: `follow ${size(lines)}-line log: first line`, unit: 'ms', value: followed.result.first, baseline: median(heads), baselineLabel: 'GET head=1 (median of 5)', target: '< 100 ms', note: 'request → first line event' }),
    row({ benchmark: NAME, metric: `follow ${size(lines)}-line log: peak server RSS`, unit: 'MB', value: followed.peak, baseline: idle, baselineLabel: 'server RSS before', target: '< 200 MB', note: `client stops reading ${pauseMs / 1000} s, then reads ${readMs / 1000} s` }),
    row({ benchmark: NAME, metric: `follow ${size(lines)}-line log: lines/s`, unit: 'lines/s', value: followed.result.rate, baseline: pagedRate, baselineLabel: 'one client paging', target: '' }),
    row({ benchmark: NAME, metric: `20 clients paging ${size(lines)}-line log: peak server RSS`, unit: 'MB', value: paging.peak, baseline: idle, baselineLabel: 'server RSS before', target: '< 200 MB', note: `${readMs / 1000} s, pages of 10,000 lines` }),
  ];
}

/** The last `count` lines of a file, reading backwards from its end in growing blocks. */
async function lastLines(path: string, count: number): Promise<string[]> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    for (let block = 16 * 1024; ; block *= 4) {
      const start = Math.max(0, size - block);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      const lines = buffer.toString('utf8').split('\n');
      if (lines.at(-1) === '') lines.pop();
      if (lines.length > count || start === 0) return lines.slice(-count);
    }
  } finally {
    await handle.close();
  }
}

async function trialOf(server: Server, experimentId: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await firstTrialId(server.base, experimentId);
    } catch (error) {
      if (attempt > 500) throw error;
      await sleep(10);
    }
  }
}

/** A line with its own write time every ~20 ms, after a pause that leaves time to subscribe. */
function ticker(lines: number): string {
  return `sleep 1.5; i=0; while [ $i -lt ${lines} ]; do date +%s%N; sleep 0.02; i=$((i+1)); done`;
}

async function follow(ctx: Context, scope: Scope, server: Server, dir: string, lines: number): Promise<Row[]> {
  const [{ latencies: viaServer, id }, bare] = await Promise.all([followServer(server, lines), followFile(scope, join(dir, 'follow-baseline'), lines)]);
  await checkNotFailed(server.base, id);
  if (viaServer.length !== lines) throw new Error(`the SSE follower saw ${viaServer.length} of ${lines} lines`);
  ctx.log(`${NAME}: follow p50 ${median(viaServer).toFixed(1)} ms; fs.watch ${median(bare).toFixed(1)} ms`);
  return ([[50, 'p50'], [95, 'p95']] as const).map(([p, name]) =>
    row({
      benchmark: NAME,
      metric: `follow latency ${name} (n=${lines})`,
      unit: 'ms',
      value: percentile(viaServer, p),
      baseline: percentile(bare, p),
      baselineLabel: 'fs.watch on file',
      target: p === 95 ? 'p95 < 100 ms' : '',
      note: p === 50 ? 'line written → SSE event received' : '',
    }),
  );
}

async function followServer(server: Server, lines: number): Promise<{ latencies: number[]; id: string }> {
  const id = await submit(server.base, 'follow', ticker(lines));
  const trial = await trialOf(server, id);
  const response = await fetch(`${server.base}/api/v1/trials/${trial}/logs?follow=true`, { headers: authHeaders(server.base) });
  const latencies: number[] = [];
  for await (const event of streamEvents(response)) {
    if (event.event === 'end') break;
    if (event.event === 'error') throw new Error(`follow failed: ${event.data}`);
    if (event.event === 'message') latencies.push(nowMs() - parseNanos(JSON.parse(event.data).text));
  }
  return { latencies, id };
}

async function followFile(scope: Scope, path: string, lines: number): Promise<number[]> {
  const fd = openSync(path, 'w');
  const latencies: number[] = [];
  let offset = 0;
  let partial = '';
  let reading: Promise<void> | undefined;
  let again = false;
  const read = async () => {
    const text = (await readFile(path)).subarray(offset);
    const at = nowMs();
    offset += text.length;
    const parts = (partial + text.toString('utf8')).split('\n');
    partial = parts.pop()!;
    for (const line of parts) if (line) latencies.push(at - parseNanos(line));
  };
  const kick = () => {
    if (reading) {
      again = true;
      return;
    }
    reading = (async () => {
      do {
        again = false;
        await read();
      } while (again);
    })().finally(() => (reading = undefined));
  };
  const watcher = watch(path, kick);
  scope.defer('fs.watch baseline', () => watcher.close());
  const child = spawn('sh', ['-c', ticker(lines)], { stdio: ['ignore', fd, 'ignore'] });
  closeSync(fd);
  await once(child, 'exit');
  await reading;
  await read();
  watcher.close();
  return latencies;
}
