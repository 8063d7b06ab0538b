/** Starts the bundled server (`npm start`'s build) as a real process on a free port with a temp data dir. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCredentials, tokenFor } from '@periscope/core';
import { api, useToken } from './client.js';
import { killQuietly, processesUnder, rssMb } from './processes.js';
import type { Scope } from './scope.js';
import { SERVER_NODE_FLAGS } from '../../scripts/node-flags.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SERVER_BUNDLE = join(ROOT, 'packages/server/dist/server.mjs');
const LISTENING = /listening on (http:\/\/[^\s]+) \(/;

/** Bundles the server as `npm start` does, so the suite measures what users run. */
export function buildServer(): void {
  const result = spawnSync(process.execPath, [join(ROOT, 'scripts/build-server.mjs')], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`scripts/build-server.mjs exited with ${result.status}`);
}

export interface Server {
  base: string;
  pid: number;
  dataDir: string;
  /** From the spawn to the listening line, in ms. */
  startMs: number;
  rssMb(): number | null;
  /** Stops it as the scope's end would (its data dir stays until then), so it can be started again on that dir. */
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** `--db`: a postgres:// URL; SQLite in the data dir when absent. */
  db?: string;
  /** CPUs the scheduler may hand out; large so the gang scheduler never throttles a throughput benchmark. */
  cpus?: number;
  /** `--launcher`: executors as Slurm jobs on the cluster this machine submits to; local processes when absent. */
  launcher?: 'slurm';
  /** Starts on this data dir (a stopped server's) instead of a new temp dir; with its port, its filed token still serves. */
  dataDir?: string;
  port?: number;
}

let profileDir: string | undefined;

/** With a dir, every server started afterwards writes a V8 CPU profile there when it stops (`--profile`). */
export function profileServersInto(dir: string | undefined): void {
  profileDir = dir;
}

export function tempDir(scope: Scope, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scope.defer(`temp dir ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function startServer(scope: Scope, options: ServerOptions = {}): Promise<Server> {
  const dataDir = options.dataDir ?? tempDir(scope, 'periscope-bench-');
  const args = ['--data-dir', dataDir, '--host', '127.0.0.1', '--port', String(options.port ?? 0), '--cpus', String(options.cpus ?? 64), '--memory', '1024G', '--gpus', 'none', '--log-level', 'warn'];
  if (options.db) args.push('--db', options.db);
  if (options.launcher) args.push('--launcher', options.launcher);
  // The server's own PERISCOPE_* settings of this shell must not leak in; the flags say everything.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PERISCOPE_')));
  // Auth is on, as users run it: the first admin's token is filed here and sent with every request.
  const credentials = join(dataDir, 'credentials');
  env.PERISCOPE_CREDENTIALS = credentials;
  const node = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const t0 = performance.now();
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...node, SERVER_BUNDLE, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  scope.defer(`server ${child.pid}`, () => stopServer(child, dataDir, base));
  let base = '';
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-8192);
  };
  child.stderr!.on('data', keep);
  base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 60 s: ${output}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      keep(d);
      const m = LISTENING.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code ?? signal} before listening: ${output}`));
    });
  });
  const startMs = performance.now() - t0;
  const filed = tokenFor(parseCredentials(readFileSync(credentials, 'utf8')), base);
  if (!filed) throw new Error(`the server filed no admin token in ${credentials}`);
  useToken(base, filed.token);
  return { base, pid: child.pid!, dataDir, startMs, rssMb: () => rssMb(child.pid!), stop: () => stopServer(child, dataDir, base) };
}

/** Cancels what still runs, stops the server (TERM, then KILL), and kills any executor left in its data dir. */
async function stopServer(child: ChildProcess, dataDir: string, base: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    if (base) {
      const running = await api(base, 'GET', '/api/v1/experiment?status=Running&limit=1000').catch(() => undefined);
      const ids: string[] = (running?.result ?? []).map((e: { experimentId: string }) => e.experimentId);
      await Promise.all(ids.map((id) => api(base, 'POST', `/api/v1/experiment/${id}/cancel`).catch(() => undefined)));
    }
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([exited.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(resolve, 10_000, false)))]);
    clearTimeout(timer);
    if (!done) {
      killQuietly(-child.pid!);
      await exited;
    }
  }
  for (const pid of processesUnder(dataDir)) killQuietly(pid);
}

/** Peak RSS of the server while `work` runs, sampled every 20 ms. */
export async function peakRss<T>(server: Server, work: () => Promise<T>): Promise<{ peak: number; result: T }> {
  let peak = server.rssMb() ?? 0;
  const timer = setInterval(() => (peak = Math.max(peak, server.rssMb() ?? 0)), 20);
  try {
    const result = await work();
    return { peak: Math.max(peak, server.rssMb() ?? 0), result };
  } finally {
    clearInterval(timer);
  }
}
