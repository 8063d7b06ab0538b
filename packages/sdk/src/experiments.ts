import type { Experiment, ExperimentLog, ExperimentSpec, Trial } from '@periscope/core';
import { onlyMaster } from './master-pod.js';
import { nextCursorOf, path, type CallOptions, type Transport } from './transport.js';
import { followLogs } from './follow-logs.js';
import { waitForExperiment, type FollowEnd, type FollowLogsOptions, type PodLogLine, type WaitOptions, type WaitResult } from './wait.js';

/** A Submarine status name: Accepted, Created, Running, Succeeded, Failed or Deleted. */
export type SubmarineExperimentStatus = Experiment['status'];

export interface ListExperimentsOptions extends CallOptions {
  /** Only experiments in this status (any case: `running`, `Running`). Default: every status. */
  status?: string;
  /** Page size (1–1000). Default: no paging, every matching experiment in one answer, as Submarine does. */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  after?: string;
}

export interface ExperimentPage {
  experiments: Experiment[];
  /** Pass as `after` to get the next page; null on the last page. */
  nextCursor: string | null;
}

export interface GetLogOptions extends CallOptions {
  /** Keep only the master pod: replica 0 of Master, else of Chief, else the first pod by name. Default false. */
  onlyMaster?: boolean;
}

/** Experiments: `periscope.experiments`. */
export class ExperimentsClient {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  async create(spec: ExperimentSpec, options: CallOptions = {}): Promise<Experiment> {
    return this.result<Experiment>({ method: 'POST', path: '/experiment', body: spec, ...options });
  }

  async get(id: string, options: CallOptions = {}): Promise<Experiment> {
    return this.result<Experiment>({ method: 'GET', path: path`/experiment/${id}`, ...options });
  }

  /** One page of experiments, oldest first. */
  async list(options: ListExperimentsOptions = {}): Promise<ExperimentPage> {
    const { status, limit, after, signal } = options;
    const answer = await this.#transport.call<Experiment[]>({
      method: 'GET',
      path: '/experiment',
      query: { status, limit, after },
      ...(signal && { signal }),
    });
    return { experiments: answer.result, nextCursor: nextCursorOf(answer.attributes) };
  }

  /** Every matching experiment, fetched `pageSize` at a time (default 200) as the loop consumes them. */
  async *iterate(options: Omit<ListExperimentsOptions, 'limit' | 'after'> & { pageSize?: number } = {}): AsyncGenerator<Experiment> {
    const { pageSize = 200, ...rest } = options;
    let after: string | undefined;
    do {
      const page = await this.list({ ...rest, limit: pageSize, ...(after !== undefined && { after }) });
      yield* page.experiments;
      after = page.nextCursor ?? undefined;
    } while (after !== undefined);
  }

  /** Replaces the spec (Submarine's PATCH is a full replacement, not a merge); status and times are kept. */
  async patch(id: string, spec: ExperimentSpec, options: CallOptions = {}): Promise<Experiment> {
    return this.result<Experiment>({ method: 'PATCH', path: path`/experiment/${id}`, body: spec, ...options });
  }

  /** Deletes the experiment and its logs; the answer has status `Deleted`, and later reads get NOT_FOUND. */
  async delete(id: string, options: CallOptions = {}): Promise<Experiment> {
    return this.result<Experiment>({ method: 'DELETE', path: path`/experiment/${id}`, ...options });
  }

  /** Stops a running experiment (its executors get SIGTERM, then SIGKILL); it ends Failed (canceled). */
  async cancel(id: string, options: CallOptions = {}): Promise<Experiment> {
    return this.result<Experiment>({ method: 'POST', path: path`/experiment/${id}/cancel`, ...options });
  }

  /** The experiment's trials, each with its executors (pods): state, node, pid, exit code, GPUs. */
  async trials(id: string, options: CallOptions = {}): Promise<Trial[]> {
    return this.result<Trial[]>({ method: 'GET', path: path`/experiment/${id}/trials`, ...options });
  }

  /** Every pod's log lines, pods sorted by name. */
  async logs(id: string, options: GetLogOptions = {}): Promise<ExperimentLog> {
    const { onlyMaster: masterOnly = false, ...call } = options;
    const log = await this.result<ExperimentLog>({ method: 'GET', path: path`/experiment/logs/${id}`, ...call });
    return masterOnly ? onlyMaster(log) : log;
  }

  /** Pod names (with empty `podLog`) of every experiment, or of those in `status`. */
  async listLogs(options: CallOptions & { status?: string } = {}): Promise<ExperimentLog[]> {
    const { status, ...call } = options;
    return this.result<ExperimentLog[]>({ method: 'GET', path: '/experiment/logs', query: { status }, ...call });
  }

  /**
   * Polls until the experiment is Succeeded, Failed or Deleted (a NOT_FOUND after it was seen counts as
   * Deleted) and returns its final state and logs. Rejects with `PeriscopeTimeoutError` after `timeoutMs`.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<WaitResult> {
    return waitForExperiment(this, id, options);
  }

  /** Starts an experiment created with `autoStart: false` (prepared, status Created); starting twice launches once. */
  async start(id: string, options: CallOptions = {}): Promise<Experiment> {
    return this.result<Experiment>({ method: 'POST', path: path`/experiment/${id}/start`, ...options });
  }

  /**
   * New log lines as they are written, until the experiment ends (the generator's return value says how):
   * each trial's log stream (Server-Sent Events) in turn, lines merged across pods in time order. A dropped
   * stream is reopened and lines already yielded are not yielded again. On a server without the stream (a
   * Submarine server) it polls the logs route every `pollIntervalMs` instead. Stop early with `break` or the
   * signal; either closes the stream.
   */
  followLogs(id: string, options: FollowLogsOptions = {}): AsyncGenerator<PodLogLine, FollowEnd> {
    return followLogs(this, this.#transport, id, options);
  }

  private async result<T>(request: Parameters<Transport['call']>[0]): Promise<T> {
    return (await this.#transport.call<T>(request)).result;
  }
}
