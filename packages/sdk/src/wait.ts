/**
 * Waiting for an experiment (by polling its status), and following its logs by polling: what `followLogs`
 * falls back to on a server without the log stream (follow-logs.ts).
 */
import type { Experiment, ExperimentLog } from '@periscope/core';
import { isNotFound, PeriscopeTimeoutError } from './errors.js';
import type { CallOptions } from './transport.js';
import { sleep } from './transport.js';

/** The two reads waiting and following need (what `ExperimentsClient` offers). */
export interface ExperimentReader {
  get(id: string, options?: CallOptions): Promise<Experiment>;
  logs(id: string, options?: CallOptions & { onlyMaster?: boolean }): Promise<ExperimentLog>;
}

export type FinalStatus = 'Succeeded' | 'Failed' | 'Deleted';
const FINAL: ReadonlySet<string> = new Set<FinalStatus>(['Succeeded', 'Failed', 'Deleted']);

export function isFinal(status: string): status is FinalStatus {
  return FINAL.has(status);
}

export interface WaitProgress {
  experimentId: string;
  status: Experiment['status'];
  /** The experiment as just read; null once it is gone (Deleted). */
  experiment: Experiment | null;
  /** Milliseconds since the wait began. */
  elapsedMs: number;
  /** True when the status differs from the previous report (always true for the first). */
  changed: boolean;
}

export interface WaitOptions extends CallOptions {
  /** Milliseconds between two reads of the experiment. Default 1000. */
  pollIntervalMs?: number;
  /** Give up after this many milliseconds with `PeriscopeTimeoutError`. Default: wait as long as it takes. */
  timeoutMs?: number;
  /** Called after every read of the experiment, with its status; errors it throws abort the wait. */
  onProgress?: (progress: WaitProgress) => void;
}

export interface WaitResult {
  status: FinalStatus;
  /** The last state read. When the experiment was deleted meanwhile, the last state seen before. */
  experiment: Experiment;
  /** Every pod's logs at the end; empty `logContent` when the experiment was deleted (its logs went with it). */
  logs: ExperimentLog;
}

export async function waitForExperiment(experiments: ExperimentReader, id: string, options: WaitOptions = {}): Promise<WaitResult> {
  const { signal, onProgress } = options;
  const interval = options.pollIntervalMs ?? 1000;
  const started = Date.now();
  const deadline = options.timeoutMs !== undefined ? started + options.timeoutMs : Infinity;
  let last: Experiment | undefined;

  for (;;) {
    let current: Experiment | null;
    try {
      current = await experiments.get(id, signal ? { signal } : {});
    } catch (error) {
      // Before it was ever seen, NOT_FOUND means a wrong id; after, the experiment was deleted while we waited.
      if (!last || !isNotFound(error)) throw error;
      current = null;
    }
    const status = current?.status ?? 'Deleted';
    onProgress?.({ experimentId: id, status, experiment: current, elapsedMs: Date.now() - started, changed: status !== last?.status });
    if (current) last = current;
    if (isFinal(status)) {
      const logs = current && status !== 'Deleted' ? await experiments.logs(id, signal ? { signal } : {}).catch(goneAsEmpty(id)) : empty(id);
      return { status, experiment: last!, logs };
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new PeriscopeTimeoutError(`${id} is still ${status} after ${Math.round((Date.now() - started) / 1000)} s`, status);
    }
    await sleep(Math.min(interval, remaining), signal);
  }
}

export interface FollowLogsOptions extends CallOptions {
  /** Only the master pod's lines (see `logs({ onlyMaster })`). Default false. */
  onlyMaster?: boolean;
  /** Start with at most this many of each pod's existing lines. Default: all of them. */
  tail?: number;
  /**
   * Milliseconds between two reads when nothing streams: while the experiment has no trial yet (or between a
   * trial's end and its restart), and on a server without the log stream, which is polled. Default 500.
   */
  pollIntervalMs?: number;
}

export interface PodLogLine {
  /** The executor: `<experimentId>-<role>-<index>` (`<experimentId>-t<n>-<role>-<index>` after trial 1). */
  podName: string;
  /** 0-based line number within the pod's log (stdout and stderr together). */
  lineNumber: number;
  text: string;
}

export interface FollowEnd {
  status: FinalStatus;
}

/** New lines by reading every pod's whole log each `pollIntervalMs` (Submarine's logs route). */
export async function* pollLogs(
  experiments: ExperimentReader,
  id: string,
  options: FollowLogsOptions = {},
): AsyncGenerator<PodLogLine, FollowEnd> {
  const { signal, tail } = options;
  const interval = options.pollIntervalMs ?? 500;
  const call = signal ? { signal } : {};
  const emitted = new Map<string, number>();
  let seen = false;

  for (;;) {
    // Status first, logs second: when the status is final, the logs read after it are complete.
    let status: Experiment['status'];
    let logs: ExperimentLog;
    try {
      status = (await experiments.get(id, call)).status;
      logs = await experiments.logs(id, { ...call, onlyMaster: options.onlyMaster ?? false });
    } catch (error) {
      if (seen && isNotFound(error)) return { status: 'Deleted' };
      throw error;
    }
    for (const { podName, podLog } of logs.logContent) {
      const from = emitted.get(podName) ?? (tail !== undefined && !seen ? Math.max(0, podLog.length - tail) : 0);
      for (let n = from; n < podLog.length; n++) yield { podName, lineNumber: n, text: podLog[n]! };
      emitted.set(podName, Math.max(from, podLog.length));
    }
    seen = true;
    if (isFinal(status)) return { status };
    await sleep(interval, signal);
  }
}

function empty(experimentId: string): ExperimentLog {
  return { experimentId, logContent: [] };
}

function goneAsEmpty(experimentId: string) {
  return (error: unknown): ExperimentLog => {
    if (isNotFound(error)) return empty(experimentId);
    throw error;
  };
}
