/**
 * The contract between the orchestrator and an execution engine (local processes now, Slurm next): a whole
 * gang is submitted at once with its executors' identity, resources, placement constraints, limits and engine
 * options; the launcher answers an opaque handle per executor, which the server stores and gives back to
 * cancel and recover; it reports through events (pending, started, exited). Launchers never touch HTTP or SQL.
 */
import type { EventEmitter } from 'node:events';
import type { Resources } from '@periscope/core';
import type { NodeCapacity } from './capacity.js';
import type { Placer } from './scheduler.js';

/** One executor of a gang, with everything an engine needs to place and run it. */
export interface LaunchSpec {
  /** The executor name (Submarine's pod name): unique, and the key of every event about it. */
  name: string;
  trialId: number;
  role: string;
  rank: number;
  /** Its index among its role's replicas (TF_CONFIG's task index). */
  replica: number;
  resources: Resources;
  /** Placement constraints: only these nodes, or only nodes with these labels (null: any). */
  nodes: string[] | null;
  nodeSelector: Record<string, string> | null;
  /** What to run: the user's `sh -c <cmd>` (see shellCommand), or a pipeline runner with its stages. */
  argv: string[];
  /** Working directory (the trial's synced code). */
  cwd: string;
  /** Variables added to the server's environment. */
  env: Record<string, string>;
  /** The user's own variables, laid last over what the engine adds (see GangSpec.distributed). */
  userEnv?: Record<string, string>;
  /** Directory that receives `stdout`, `stderr` and `exit` of this executor. */
  logDir: string;
  /** GPUs the local scheduler assigned (a cluster engine allocates its own and ignores this). */
  gpus?: number[];
}

/** Options a cluster engine understands (Slurm's partition, account, qos, extra sbatch arguments); local ignores them. */
export interface EngineOptions {
  partition?: string;
  account?: string;
  qos?: string;
  extraArgs?: string[];
}

/** A trial's executors, submitted together: all start or none does. */
export interface GangSpec {
  trialId: number;
  experimentId: string;
  executors: LaunchSpec[];
  /** Wall-clock limit in seconds; past it the engine ends the executors with cause `timeout`. */
  timeLimitS?: number;
  /** The image the executors' environment names (informative for local processes). */
  image?: string | null;
  engine?: EngineOptions;
  /**
   * For an engine that places executors itself (its placement had no host): the distributed-training
   * environment is computed by the engine once it knows where each executor landed (distributedEnv, with this
   * framework), laid over `env`, with each executor's `userEnv` over that. Absent when the placement was known
   * before submit (local): `env` is then complete.
   */
  distributed?: { framework: string };
  /**
   * Stores the handles where a restarted server finds them. The launcher calls it once, before submit answers;
   * one that can hold a gang back (Slurm: no launch file yet) lets none of it run until this resolved, so a
   * crash between the submit and the store never leaves an executor running that no one knows of. If it
   * throws, the launcher stops the gang and submit throws that error.
   */
  recorded?: (handles: ExecutorHandle[]) => Promise<void>;
}

/** What the launcher answered for one executor: stored with it, and all cancel and recovery need. */
export interface ExecutorHandle {
  name: string;
  /** Opaque to everyone but the launcher that made it (a pid for local, a job step for Slurm). */
  handle: string;
  /** The local process id when there is one (shown to users, and kept for servers older than handles). */
  pid: number | null;
}

/** Why an executor ended, classified once so every face can say it in words. */
export type ExitCause = 'exited' | 'signaled' | 'canceled' | 'timeout' | 'out-of-memory' | 'node-failure' | 'preempted' | 'lost';

/** Whose fault an end was: the user's code, the platform (node, engine, server), or a cancel asked for. */
export type ExitFault = 'user' | 'platform' | 'cancel';

export const FAULT_OF: Readonly<Record<ExitCause, ExitFault>> = {
  exited: 'user',
  signaled: 'user',
  'out-of-memory': 'user',
  timeout: 'user',
  canceled: 'cancel',
  'node-failure': 'platform',
  preempted: 'platform',
  lost: 'platform',
};

export interface ExecutorExit {
  name: string;
  exitCode: number | null;
  signal: string | null;
  cause: ExitCause;
  fault: ExitFault;
  /**
   * How many processes the command left running (background children, setsid daemons, double forks) that the
   * launcher killed once it ended; on a cancel, those the signals to its process group did not reach. Absent
   * when none.
   */
  leftovers?: number;
}

/** An executor is running: where, and on which GPUs. */
export interface ExecutorStarted {
  name: string;
  node: string;
  host: string;
  gpus: number[];
}

/** A gang is held back by the engine (queued by a cluster scheduler, waiting for GPUs): why, in words. */
export interface ExecutorPending {
  trialId: number;
  reason: string;
}

export interface LauncherEvents {
  pending: [ExecutorPending];
  started: [ExecutorStarted];
  exited: [ExecutorExit];
}

export interface Launcher extends EventEmitter<LauncherEvents> {
  /** The engine's name, as health and the nodes route show it (`local`, `slurm`). */
  readonly kind: string;
  /** Placement belongs to the launcher: where its gangs wait until they can be submitted. */
  readonly placer: Placer;
  nodes(): Promise<NodeCapacity[]>;
  /** A cluster engine's controller, for health: whether it answers, and what it said. */
  controller?(): Promise<{ reachable: boolean; detail: string }>;
  /** Starts every executor of a gang; all or none (a failure to start one stops the rest). */
  submit(gang: GangSpec): Promise<ExecutorHandle[]>;
  /** Stops executors: SIGTERM to each, SIGKILL after `graceMs`; resolves when all are gone. */
  cancel(names: string[], graceMs: number): Promise<void>;
  /** Re-attaches to executors recorded as running, by their handles; those that ended meanwhile are reported as exited. */
  recover(executors: RecoverableExecutor[]): Promise<void>;
  /** Stops watching (the executors keep running: they outlive the server by design). */
  close(): Promise<void>;
}

/** An executor recorded as started, for the launcher to re-attach to or settle from its exit file. */
export interface RecoverableExecutor {
  name: string;
  /** Null when the server died before the handle was stored. */
  handle: string | null;
  logDir: string;
}
