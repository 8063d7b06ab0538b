#!/usr/bin/env node
/**
 * `npm run bench [-- --quick] [--only submit,api] [--db sqlite,postgres] [--profile] [--out file]`
 *
 * Runs the benchmark suite against the bundled server (built first, as `npm start` does), prints one table of
 * value, in-run baseline, ratio and target, and writes the same rows to bench/results/latest.json. It reports;
 * it never judges: the exit code is non-zero only when a benchmark itself crashed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { apiThroughput } from './api.js';
import { chaos } from './chaos.js';
import { concurrentClients } from './concurrent.js';
import { dashboard } from './dashboard.js';
import type { Benchmark, Context } from './lib/context.js';
import { formatRatio, formatTable, formatValue, type Results, type Row } from './lib/report.js';
import { met, targetSummary } from './lib/targets.js';
import { Scope } from './lib/scope.js';
import { buildServer, profileServersInto } from './lib/server.js';
import { logs } from './logs.js';
import { metrics } from './metrics.js';
import { scale } from './scale.js';
import { slurm } from './slurm.js';
import { submitLatency } from './submit-latency.js';
import { throughput } from './throughput.js';

export const BENCHMARKS: readonly Benchmark[] = [submitLatency, throughput, apiThroughput, concurrentClients, logs, metrics, scale, chaos, slurm, dashboard];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    db: { type: 'string', default: 'sqlite,postgres' },
    profile: { type: 'boolean', default: false },
    out: { type: 'string', default: fileURLToPath(new URL('results/latest.json', import.meta.url)) },
  },
});

const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((name) => !BENCHMARKS.some((b) => b.name === name)) ?? [];
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')} (known: ${BENCHMARKS.map((b) => b.name).join(', ')})\n`);
  process.exit(2);
}
const selected = BENCHMARKS.filter((b) => !only || only.includes(b.name));
const ctx: Context = {
  quick: values.quick!,
  databases: values.db!.split(',').map((s) => s.trim()),
  log: (message) => process.stderr.write(`  ${message}\n`),
};

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}, cleaning up\n`);
    void Scope.closeAll().finally(() => process.exit(130));
  });
}

const started = Date.now();
buildServer();
if (values.profile) {
  const dir = fileURLToPath(new URL(`results/profiles/${new Date(started).toISOString().replace(/[:.]/g, '-')}`, import.meta.url));
  mkdirSync(dir, { recursive: true });
  profileServersInto(dir);
  process.stderr.write(`bench: servers write CPU profiles (.cpuprofile, open in Chrome DevTools) to ${dir}\n`);
}
const rows: Row[] = [];
const errors: Results['errors'] = [];
for (const benchmark of selected) {
  const t0 = Date.now();
  process.stderr.write(`bench: ${benchmark.title}${ctx.quick ? ' (quick)' : ''}\n`);
  const scope = new Scope();
  try {
    rows.push(...(await benchmark.run(ctx, scope)));
  } catch (error) {
    if (interrupted) break;
    const message = (error as Error).stack ?? String(error);
    errors.push({ benchmark: benchmark.name, message });
    process.stderr.write(`bench: ${benchmark.name} crashed: ${message}\n`);
  } finally {
    await scope.close();
  }
  if (interrupted) break;
  process.stderr.write(`bench: ${benchmark.title} took ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

if (interrupted) await new Promise(() => {}); // the signal handler exits once everything is cleaned up

const results: Results = {
  startedAt: new Date(started).toISOString(),
  durationS: (Date.now() - started) / 1000,
  quick: ctx.quick,
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', memoryMb: Math.round(totalmem() / 2 ** 20), node: process.version, platform: `${process.platform}-${process.arch}` },
  rows: rows.map((r) => ({ ...r, met: met(r) })),
  errors,
};
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(values.out!, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`\n${formatTable(rows)}\n\n`);
process.stdout.write(`${targetSummary(rows, (r) => `${r.benchmark} ${r.metric} ${formatValue(r.value, r.unit)} (${formatRatio(r.ratio)}; target ${r.target})`)}\n`);
process.stdout.write(`${rows.length} rows in ${results.durationS.toFixed(1)} s on ${results.machine.cpus} × ${results.machine.model}, ${process.version}; ratio = value ÷ baseline; written to ${values.out}\n`);
if (errors.length > 0) {
  process.stdout.write(`crashed: ${errors.map((e) => e.benchmark).join(', ')}\n`);
  process.exitCode = 1;
}
