/**
 * The crash-consistency check (issue 20 §4): a bounded mixed workload against a real server process
 * (multi-replica experiments whose executors report metrics through periscope.py, searches, sleepers that get
 * cancelled, deletes, streaming log followers), `kill -9` of the server at a random moment of each round, a
 * restart on the same data, and at the end every acknowledged operation checked against the final state:
 * no answered create lost, no answered cancel ending any other way, no answered delete leaving its files,
 * every experiment settled, and no process of ours left once the server stops.
 *
 * Self-contained (no node:test), so both the test suite (small N) and the benchmark suite (larger N) run it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';

export interface ChaosOptions {
  /** How to run `periscope server` (argv before the server's flags). */
  command: string[];
  /** `--db`: a postgres:// URL; the data dir's SQLite file when absent. */
  db?: string;
  rounds: number;
  /** Clients sending the workload at once. */
  clients?: number;
  /** The kill comes at a random moment in [min, max] ms into each round. */
  killAfterMs?: [number, number];
  /** A seed for the random choices, so a failing run can be repeated. */
  seed?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  rounds: number;
  creates: number;
  cancels: number;
  deletes: number;
  /** Requests that got no answer because the server died under them (not acknowledged, not checked). */
  cutShort: number;
  /** What did not hold; empty when everything acknowledged survived. */
  violations: string[];
  seed: number;
}

interface Server {
  child: ChildProcess;
  base: string;
  output(): string;
}

const TERMINAL = ['Succeeded', 'Failed'];

/** A small deterministic generator (mulberry32), so a seed repeats a run's choices. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REPORTING = `echo start; python3 -c "import periscope; c = periscope.init(); c.report_training_metrics(1, {'loss': 0.5}); c.report_validation_metrics(1, {'loss': 0.4})"; echo done`;

/**
 * How the test suite runs the check: the bundle `npm start` runs (built here first, in well under a second),
 * which starts several times faster than TypeScript through tsx — the check restarts the server each round.
 */
export function bundledServer(): string[] {
  const root = fileURLToPath(new URL('../../../../', import.meta.url));
  const built = spawnSync(process.execPath, [join(root, 'scripts/build-server.mjs')], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error(`scripts/build-server.mjs exited with ${built.status}`);
  return [process.execPath, join(root, 'packages/server/dist/server.mjs')];
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rand = random(seed);
  const log = options.log ?? (() => {});
  const dataDir = mkdtempSync(join(tmpdir(), 'periscope-chaos-'));
  const credentials = join(dataDir, 'credentials.json');
  const report: ChaosReport = { rounds: options.rounds, creates: 0, cancels: 0, deletes: 0, cutShort: 0, violations: [], seed };
  const created = new Map<string, 'multi' | 'search' | 'sleeper'>();
  const canceled = new Set<string>();
  const deleted = new Set<string>();
  let server: Server | undefined;
  // One port for every start, as a real restart keeps it: executors that outlive a server reach the next one.
  const port = await freePort();
  try {
    for (let round = 1; round <= options.rounds; round++) {
      server = await startServer(options, dataDir, credentials, port);
      const token = tokenFrom(credentials, server.base);
      const [min, max] = options.killAfterMs ?? [400, 2000];
      const killAt = Date.now() + min + rand() * (max - min);
      await Promise.all(Array.from({ length: options.clients ?? 6 }, () => client(server!.base, token, killAt)));
      server.child.kill('SIGKILL');
      await once(server.child, 'exit');
      log(`chaos round ${round}: killed; ${report.creates} creates, ${report.cancels} cancels, ${report.deletes} deletes acknowledged so far`);
    }

    // The last start: cancel what still sleeps (acknowledged like any cancel), then wait for every end.
    server = await startServer(options, dataDir, credentials, port);
    const token = tokenFrom(credentials, server.base);
    const call = (method: string, path: string, body?: unknown) => request(server!.base, token, method, path, body);
    for (const [id, kind] of created) {
      if (kind !== 'sleeper' || deleted.has(id) || canceled.has(id)) continue;
      const answer = await call('POST', `/api/v1/experiment/${id}/cancel`);
      if (answer.status === 200) canceled.add(id);
      else if (answer.status !== 409) report.violations.push(`cancel of ${id} after the last restart answered ${answer.status} ${answer.body?.message}`);
    }
    const deadline = Date.now() + 90_000;
    for (const [id, kind] of created) {
      if (deleted.has(id)) continue;
      let status: string | undefined;
      for (;;) {
        const answer = await call('GET', `/api/v1/experiment/${id}`);
        if (answer.status === 404) {
          report.violations.push(`acknowledged create of ${id} (${kind}) is lost: 404 after restart`);
          break;
        }
        status = answer.body.result.status as string;
        if (TERMINAL.includes(status)) break;
        if (Date.now() > deadline) {
          report.violations.push(`${id} (${kind}) is still ${status} 90 s after the last restart`);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (!status || !TERMINAL.includes(status)) continue;
      const trials = (await call('GET', `/api/v1/experiment/${id}/trials`)).body.result as Array<{ state: string; message: string | null }>;
      if (canceled.has(id)) {
        // Submarine shows Canceled as Failed; the trials say which it was.
        if (status !== 'Failed' || !trials.every((t) => t.state === 'Canceled')) {
          report.violations.push(`acknowledged cancel of ${id} ended ${status} with trials ${trials.map((t) => t.state).join(',')}`);
        }
      } else if (kind !== 'sleeper' && status !== 'Succeeded') {
        report.violations.push(`${id} (${kind}) ended ${status}: ${trials.map((t) => `${t.state} ${t.message ?? ''}`).join('; ')}`);
      }
    }
    for (const id of deleted) {
      const answer = await call('GET', `/api/v1/experiment/${id}`);
      if (answer.status !== 404) report.violations.push(`acknowledged delete of ${id} answers ${answer.status} after restart`);
      for (const dir of ['logs', 'index', 'work', 'checkpoints']) {
        // A delete may still be finishing its purge: the reconciler completes it, so poll a little.
        const path = join(dataDir, dir, id);
        const until = Date.now() + 20_000;
        while (existsSync(path) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
        if (existsSync(path)) report.violations.push(`deleted ${id} left ${dir}/${id} behind`);
      }
    }
    server.child.kill('SIGTERM');
    await once(server.child, 'exit');
    server = undefined;
    // Everything has ended, so nothing of ours may still run: no wrapper, no command, no helper.
    const left = processesUnder(dataDir);
    if (left.length > 0) report.violations.push(`processes left behind: ${left.join(' | ')}`);
  } finally {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    for (const pid of processesUnder(dataDir, true)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
  return report;

  async function client(base: string, token: string, killAt: number): Promise<void> {
    const call = (method: string, path: string, body?: unknown) => request(base, token, method, path, body);
    while (Date.now() < killAt) {
      const r = rand();
      const ids = [...created.keys()].filter((id) => !deleted.has(id));
      const pick = (kind?: string) => {
        const pool = ids.filter((id) => !kind || created.get(id) === kind);
        return pool[Math.floor(rand() * pool.length)];
      };
      let answer: Answer;
      if (r < 0.3) {
        answer = await call('POST', '/api/v1/experiment', { meta: { name: 'multi', framework: 'Custom', cmd: REPORTING }, spec: { Worker: { replicas: 2, resources: 'cpu=0.1,memory=32M' } } });
        if (answer.status === 200) created.set(answer.body.result.experimentId, 'multi');
      } else if (r < 0.4) {
        answer = await call('POST', '/api/v1/experiment', {
          meta: { name: 'search', framework: 'Custom', cmd: REPORTING },
          spec: { Worker: { resources: 'cpu=0.1,memory=32M' } },
          hyperparameters: { x: { type: 'int', minval: 0, maxval: 1, count: 2 } },
          searcher: { name: 'grid', metric: 'loss', smallerIsBetter: true, maxLength: 1, maxConcurrentTrials: 2 },
        });
        if (answer.status === 200) created.set(answer.body.result.experimentId, 'search');
      } else if (r < 0.6) {
        answer = await call('POST', '/api/v1/experiment', { meta: { name: 'sleeper', framework: 'Custom', cmd: 'sleep 60' }, spec: { Worker: { resources: 'cpu=0.1,memory=32M' } } });
        if (answer.status === 200) created.set(answer.body.result.experimentId, 'sleeper');
      } else if (r < 0.75) {
        const id = pick('sleeper');
        if (!id || canceled.has(id)) continue;
        answer = await call('POST', `/api/v1/experiment/${id}/cancel`);
        if (answer.status === 200) canceled.add(id);
      } else if (r < 0.9) {
        const id = pick();
        if (!id) continue;
        answer = await call('DELETE', `/api/v1/experiment/${id}`);
        if (answer.status === 200) deleted.add(id);
      } else {
        const id = pick('multi');
        if (!id) continue;
        const trials = await call('GET', `/api/v1/experiment/${id}/trials`);
        if (trials.status !== 200 || !trials.body.result[0]) continue;
        answer = await follow(base, token, trials.body.result[0].id, 300);
      }
      if (answer.status === 0) report.cutShort++;
      else if (answer.status >= 500) report.violations.push(`a request answered ${answer.status}: ${answer.body?.message}`);
    }
    report.creates = [...created.keys()].length;
    report.cancels = canceled.size;
    report.deletes = deleted.size;
  }
}

interface Answer {
  /** 0: no answer (the server died under the request). */
  status: number;
  body: any;
}

async function request(base: string, token: string, method: string, path: string, body?: unknown): Promise<Answer> {
  try {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
    return { status: response.status, body: await response.json() };
  } catch {
    return { status: 0, body: undefined };
  }
}

/** Follows a trial's log for a while, then lets go: a live stream open when the kill comes. */
async function follow(base: string, token: string, trialId: number, forMs: number): Promise<Answer> {
  const aborted = AbortSignal.timeout(forMs);
  try {
    const response = await fetch(`${base}/api/v1/trials/${trialId}/logs?follow=true`, { headers: { authorization: `Bearer ${token}` }, signal: aborted });
    if (!response.ok) return { status: response.status, body: await response.json() };
    for await (const _chunk of response.body!) {
      // Read what comes until the stream ends or our time is up.
    }
    return { status: 200, body: {} };
  } catch {
    return { status: aborted.aborted ? 200 : 0, body: {} };
  }
}

async function startServer(options: ChaosOptions, dataDir: string, credentials: string, port: number): Promise<Server> {
  const args = ['--data-dir', dataDir, '--port', String(port), '--cpus', '64', '--memory', '64G', '--gpus', 'none', ...(options.db ? ['--db', options.db] : [])];
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PERISCOPE_')));
  const child = spawn(options.command[0]!, [...options.command.slice(1), ...args], {
    env: { ...env, PERISCOPE_CREDENTIALS: credentials, PERISCOPE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (d) => (output = (output + d).slice(-20_000)));
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      output = (output + d).slice(-20_000);
      const m = /listening on (https?:\/\/[\d.]+:\d+)/.exec(output);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening: ${output}`)));
  });
  return { child, base, output: () => output };
}


/** The admin token the first start filed for this address (the file names each server by its URL). */
function tokenFrom(credentials: string, base: string): string {
  const parsed = JSON.parse(readFileSync(credentials, 'utf8')) as { masters: Record<string, { tokens: Record<string, string> }> };
  const filed = Object.values(parsed.masters).flatMap((m) => Object.values(m.tokens));
  const exact = parsed.masters[base]?.tokens;
  const token = exact ? Object.values(exact)[0] : filed[0];
  if (!token) throw new Error(`no token filed in ${credentials}`);
  return token;
}

/** Processes whose command line names the data dir (executors' wrappers, and what they run with it). */
function processesUnder(dataDir: string, pidsOnly?: false): string[];
function processesUnder(dataDir: string, pidsOnly: true): number[];
function processesUnder(dataDir: string, pidsOnly = false): Array<string | number> {
  const found: Array<string | number> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (!cmdline.includes(dataDir) && !environ.includes(dataDir)) continue;
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if (state === 'Z') continue;
      found.push(pidsOnly ? Number(entry) : `${entry}: ${cmdline.replaceAll('\0', ' ').trim()}`);
    } catch {
      // exited while we looked
    }
  }
  return found;
}
