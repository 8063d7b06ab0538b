/**
 * 1. Submit → running: from the moment the client sends the create request to the moment the executor's
 * command starts (it prints its own start time, `date +%s%N`), for experiments submitted one after another.
 * Baseline, interleaved sample by sample: the same `sh -c` command spawned directly from Node with its stdout
 * going to a file, measured the same way.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readStarted, submit, waitSucceeded } from './lib/client.js';
import type { Benchmark, Context } from './lib/context.js';
import { targets } from './lib/postgres.js';
import { row, unavailable, type Row } from './lib/report.js';
import type { Scope } from './lib/scope.js';
import { startServer, tempDir, type Server } from './lib/server.js';
import { shToFile } from './lib/processes.js';
import { median, nowMs, parseNanos, percentile } from './lib/stats.js';

const COMMAND = 'date +%s%N';
const NAME = '1 submit→running';

export const submitLatency: Benchmark = {
  name: 'submit',
  title: 'Submit-to-running latency',
  async run(ctx, scope) {
    const count = ctx.quick ? 20 : 200;
    const rows: Row[] = [];
    for (const target of await targets(scope, ctx.databases)) {
      if ('skip' in target) {
        ctx.log(`${NAME}: postgres skipped: ${target.skip}`);
        rows.push(unavailable(NAME, 'p50 (postgres)', 'ms', `skipped: ${target.skip}`));
        continue;
      }
      const server = await startServer(scope, 'url' in target ? { db: target.url } : {});
      const { server: viaServer, bare } = await measure(ctx, scope, server, count, target.name);
      const label = 'bare spawn';
      for (const [p, name] of [[50, 'p50'], [95, 'p95']] as const) {
        const value = percentile(viaServer, p);
        const baseline = percentile(bare, p);
        rows.push(row({
          benchmark: NAME,
          metric: `${name} (${target.name}, n=${count})`,
          unit: 'ms',
          value,
          baseline,
          baselineLabel: label,
          target: p === 50 ? 'p50 ≤ bare spawn + 20 ms' : '',
          note: `+${(value - baseline).toFixed(1)} ms over bare spawn`,
        }));
      }
    }
    return rows;
  },
};

async function measure(ctx: Context, scope: Scope, server: Server, count: number, db: string): Promise<{ server: number[]; bare: number[] }> {
  const dir = tempDir(scope, 'periscope-bench-spawn-');
  const viaServer: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < count; i++) {
    // Alternate which goes first, so neither always runs right after the other's cleanup.
    const order = i % 2 === 0 ? [bareSample, serverSample] : [serverSample, bareSample];
    for (const sample of order) await sample();
  }
  ctx.log(`${NAME} (${db}): server p50 ${median(viaServer).toFixed(1)} ms, bare spawn p50 ${median(bare).toFixed(1)} ms`);
  return { server: viaServer, bare };

  async function bareSample(): Promise<void> {
    const file = join(dir, `bare-${bare.length}`);
    const sent = nowMs();
    await shToFile(COMMAND, file);
    bare.push(parseNanos(await readFile(file, 'utf8')) - sent);
  }

  async function serverSample(): Promise<void> {
    const sent = nowMs();
    const id = await submit(server.base, `latency-${viaServer.length}`, COMMAND);
    // Watch the file rather than poll the API, so the wait does not load the server it measures.
    const text = await readStarted(server, id);
    viaServer.push(parseNanos(text) - sent);
    // Sequential: the next submission waits until this experiment has finished, so each is measured alone.
    await waitSucceeded(server.base, id);
  }
}

