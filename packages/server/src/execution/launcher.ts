/**
 * The contract between the orchestrator and an execution engine (local processes now, Slurm later): a whole
 * gang is submitted at once, executors are cancelled by name, and survivors of a server crash are re-attached.
 * Launchers never touch HTTP or SQL; they report through events.
 */
import type { EventEmitter } from 'node:events';
import type { NodeCapacity } from './capacity.js';

export interface LaunchSpec {
  /** The executor name (Submarine's pod name). */
  name: string;
  /** What to run: the user's `sh -c <cmd>` (see shellCommand), or a pipeline runner with its stages. */
  argv: string[];
  /** Working directory (the trial's synced code). */
  cwd: string;
  /** Variables added to the server's environment. */
  env: Record<string, string>;
  /** Directory that receives `stdout`, `stderr` and `exit` of this executor. */
  logDir: string;
}

export interface Attached {
  name: string;
  pid: number;
}

/** Why an executor ended, classified once so every face can say it in words. */
export type ExitCause = 'exited' | 'signaled' | 'canceled' | 'lost';

export interface ExecutorExit {
  name: string;
  exitCode: number | null;
  signal: string | null;
  cause: ExitCause;
  /**
   * How many processes the command left running (background children, setsid daemons, double forks) that the
   * launcher killed once it ended; on a cancel, those the signals to its process group did not reach. Absent
   * when none.
   */
  leftovers?: number;
}

export interface LauncherEvents {
  exited: [ExecutorExit];
}

export interface Launcher extends EventEmitter<LauncherEvents> {
  nodes(): Promise<NodeCapacity[]>;
  /** Starts every executor of a trial; all or none (a failure to spawn one stops the rest). */
  submit(executors: LaunchSpec[]): Promise<Attached[]>;
  /** Stops executors: SIGTERM to each process group, SIGKILL after `graceMs`; resolves when all are gone. */
  cancel(names: string[], graceMs: number): Promise<void>;
  /** Re-attaches to executors recorded as running; those that ended while the server was down are reported as exited. */
  recover(executors: { name: string; pid: number | null; logDir: string }[]): Promise<void>;
  /** Stops watching (the executors keep running: they outlive the server by design). */
  close(): Promise<void>;
}
