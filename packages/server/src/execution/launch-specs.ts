/**
 * What a placed trial needs before its executors start: its code in a fresh work dir, and for each executor
 * the command and the environment it runs with.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodeSpec } from '@periscope/core';
import type { ExperimentRecord } from '../experiments/store.js';
import type { DataLayout } from '../logs/layout.js';
import type { TrialRecord } from '../trials/store.js';
import type { LaunchSpec } from './launcher.js';
import { shellCommand } from './local/wrapper.js';
import { pipelineArgv, pipelineDir } from './pipeline.js';
import { distributedEnv, type Landing } from './distributed-env.js';
import type { ExecutorPlan } from './plan.js';
import { freePorts } from './ports.js';

/** Where periscope.py lives, so `import periscope` works in any executor (from the sources or the bundle). */
const PYTHON_HELPER_DIR = findUp('python/periscope.py', dirname(fileURLToPath(import.meta.url))) ?? '';

function findUp(relativePath: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, relativePath))) return dirname(join(dir, relativePath));
    if (dirname(dir) === dir) return undefined;
  }
}

/** Brings an experiment's code (a git URL or an uploaded archive) into a work dir. */
export interface CodeMaterializer {
  /** Aborting `signal` (a cancel) stops the sync at once and makes it throw. */
  materialize(code: CodeSpec, workDir: string, signal?: AbortSignal): Promise<void>;
}

export interface LaunchContext {
  experiment: ExperimentRecord;
  trial: TrialRecord;
  plans: ExecutorPlan[];
  /** Where the gang landed: the node and host, and GPU indices per executor by rank. */
  node: string;
  /** Null when the engine places the executors itself (see GangSpec.distributed). */
  host: string | null;
  gpus: number[][];
  layout: DataLayout;
  apiUrl: string;
  /** The trial's task-scoped API token. */
  token?: string;
  /** PEM file to verify the API's HTTPS certificate with. */
  caFile?: string | undefined;
}

/**
 * One launch spec per executor: its argv (the user's `sh -c`, or a pipeline runner) and its environment. When
 * the placement has a host, the distributed-training variables are computed now (ports free on this host);
 * when the engine places the executors itself, it computes them from where they landed (GangSpec.distributed),
 * and the user's variables travel apart (`userEnv`) to be laid over them.
 */
export async function launchSpecs({ experiment, trial, plans, node, host, gpus, layout, apiUrl, token, caFile }: LaunchContext): Promise<LaunchSpec[]> {
  const checkpointDir = layout.checkpointDir(experiment.id, trial.number);
  const base = plans.map((p) => ({
    ...(p.pipeline && { PERISCOPE_PIPELINE_DIR: pipelineDir(layout.executorLogs(experiment.id, p.name)) }),
    PERISCOPE_API: apiUrl,
    ...(token !== undefined && { PERISCOPE_TOKEN: token }),
    // periscope.py reads the first; Node (the TypeScript helper's fetch) the second.
    ...(caFile !== undefined && { PERISCOPE_CA_FILE: caFile, NODE_EXTRA_CA_CERTS: caFile }),
    PERISCOPE_EXPERIMENT_ID: experiment.id,
    PERISCOPE_TRIAL_ID: String(trial.id),
    PERISCOPE_EXECUTOR: p.name,
    PERISCOPE_ROLE: p.role,
    PERISCOPE_REPLICA: String(p.replica),
    PERISCOPE_HPARAMS: JSON.stringify(trial.hparams),
    PERISCOPE_CHECKPOINT_DIR: checkpointDir,
    // A restarted trial resumes from where it last saved.
    ...(trial.latestCheckpoint && { PERISCOPE_LATEST_CHECKPOINT: join(checkpointDir, trial.latestCheckpoint) }),
    PYTHONPATH: [PYTHON_HELPER_DIR, process.env.PYTHONPATH].filter(Boolean).join(':'),
  }));
  let distributed: Record<string, string>[] | null = null;
  if (host !== null) {
    const ports = await freePorts(plans.length, host);
    const landings: Landing[] = [];
    for (const p of plans) landings[p.rank] = { node, host, port: ports[p.rank]!, gpus: gpus[p.rank] ?? [] };
    distributed = distributedEnv(plans, experiment.spec.meta.framework, landings);
  }
  return plans.map((p, i) => ({
    name: p.name,
    trialId: trial.id,
    role: p.role,
    rank: p.rank,
    replica: p.replica,
    resources: p.resources,
    nodes: p.nodes,
    nodeSelector: p.nodeSelector,
    gpus: gpus[p.rank] ?? [],
    argv: p.pipeline ? pipelineArgv(p.pipeline) : shellCommand(p.cmd),
    cwd: layout.workDir(experiment.id, trial.number),
    logDir: layout.executorLogs(experiment.id, p.name),
    // The user's variables come last: they may override ours on purpose.
    ...(distributed ? { env: { ...base[i]!, ...distributed[i], ...p.envVars } } : { env: base[i]!, userEnv: p.envVars }),
  }));
}

/**
 * A trial's work dir and checkpoint dir, empty: all a trial without code needs synced. The two trees are made
 * side by side, a level at a time: each mkdir is a trip through the thread pool and back to a busy event
 * loop (a recursive one of a new experiment's trial dir is three), and under 50 clients parked creates spent a
 * median 75-175 ms in the six trips this used to take one after another. Not mkdirSync: on this machine's
 * disk a pair costs ~370 µs of the main thread, a third of a core at the POST bench's rate.
 */
export async function makeTrialDirs(layout: DataLayout, experimentId: string, trialNumber: number): Promise<void> {
  await Promise.all([mkdir(layout.experimentWork(experimentId), { recursive: true }), mkdir(layout.experimentCheckpoints(experimentId), { recursive: true })]);
  await Promise.all([layout.workDir(experimentId, trialNumber), layout.checkpointDir(experimentId, trialNumber)].map((dir) => mkdir(dir).catch(existing)));
}

function existing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EEXIST') throw error;
}

/** An experiment's work and checkpoint dirs, whatever is in them. */
export async function removeExperimentDirs(layout: DataLayout, experimentId: string): Promise<void> {
  await rm(layout.experimentWork(experimentId), { recursive: true, force: true });
  await rm(layout.experimentCheckpoints(experimentId), { recursive: true, force: true });
}

/**
 * Brings the code into a fresh work dir; a failure is written to every executor's log and thrown in words.
 * Aborting `signal` (a cancel) stops it at once; it then throws without writing to the logs.
 */
export async function syncCode(layout: DataLayout, code: CodeMaterializer | undefined, experiment: ExperimentRecord, trial: TrialRecord, plans: ExecutorPlan[], signal?: AbortSignal): Promise<void> {
  const workDir = layout.workDir(experiment.id, trial.number);
  try {
    await rm(workDir, { recursive: true, force: true });
    await makeTrialDirs(layout, experiment.id, trial.number);
    if (experiment.spec.code) {
      if (!code) throw new Error('code sync is not available on this server');
      await code.materialize(experiment.spec.code, workDir, signal);
    }
  } catch (error) {
    if (signal?.aborted) throw new Error(`Code sync canceled: ${(error as Error).message}`);
    const message = `Code sync failed: ${(error as Error).message}`;
    for (const p of plans) {
      const dir = layout.executorLogs(experiment.id, p.name);
      await mkdir(dir, { recursive: true });
      await appendFile(join(dir, 'stderr'), `periscope: ${message}\n`);
    }
    throw new Error(message);
  }
}
