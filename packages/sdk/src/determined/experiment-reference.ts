/** Determined's `ExperimentReference`: wait for an experiment, rank its checkpoints, list its trials. */
import type { Trial } from '@periscope/core';
import { PeriscopeTimeoutError } from '../errors.js';
import { path, sleep, type CallOptions } from '../transport.js';
import type { DeterminedApi, OrderBy } from './api.js';
import { Checkpoint } from './checkpoint.js';
import { DeterminedUsageError } from './selectors.js';
import { TrialReference, type CheckpointOrder } from './trial-reference.js';

const FINAL = new Set(['Succeeded', 'Failed']);

export interface ExperimentWaitOptions extends CallOptions {
  /** Seconds between status checks, as in Determined. Default 1. */
  interval?: number;
  /** Give up (rejecting with `PeriscopeTimeoutError`) after this many seconds. Default: wait for ever. */
  timeout?: number;
}

export type TrialSortBy = 'id' | 'number' | 'state' | 'startedTime' | 'finishedTime' | 'restarts';

export interface GetTrialsOptions extends CallOptions {
  /** Default `id`. */
  sortBy?: TrialSortBy;
  /** Default `asc`. */
  orderBy?: OrderBy;
}

export class ExperimentReference {
  readonly id: string;
  readonly #api: DeterminedApi;
  /** What core's Determined conversion changed or left out of the config (empty for a Periscope spec). */
  readonly warnings: readonly string[];

  constructor(api: DeterminedApi, id: string, warnings: readonly string[] = []) {
    this.#api = api;
    this.id = id;
    this.warnings = warnings;
  }

  /** Polls until the experiment has ended; answers its final status (`Succeeded` or `Failed`). */
  async wait(options: ExperimentWaitOptions = {}): Promise<string> {
    const intervalMs = (options.interval ?? 1) * 1000;
    if (!(intervalMs > 0)) throw new DeterminedUsageError(`wait: interval must be a positive number of seconds, got ${JSON.stringify(options.interval)}`);
    const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout * 1000;
    for (;;) {
      const { status } = await this.#api.experiment(this.id, options);
      if (FINAL.has(status)) return status;
      if (Date.now() >= deadline) throw new PeriscopeTimeoutError(`experiment ${this.id} did not end within ${options.timeout} s (last status ${status})`, status);
      await sleep(intervalMs, options.signal);
    }
  }

  /** The experiment's current status. */
  async getStatus(options: CallOptions = {}): Promise<string> {
    return (await this.#api.experiment(this.id, options)).status;
  }

  /** The checkpoint with the best validation metric over all trials. */
  async topCheckpoint(options: CheckpointOrder & CallOptions = {}): Promise<Checkpoint> {
    const [best] = await this.topNCheckpoints(1, options);
    if (!best) throw new DeterminedUsageError(`experiment ${this.id} has no checkpoints`);
    return best;
  }

  /** The best checkpoint of each of the `limit` best distinct trials, best first. */
  async topNCheckpoints(limit: number, options: CheckpointOrder & CallOptions = {}): Promise<Checkpoint[]> {
    if (!Number.isInteger(limit) || limit < 1) throw new DeterminedUsageError(`topNCheckpoints: limit must be a positive integer, got ${JSON.stringify(limit)}`);
    const { signal, sortBy, smallerIsBetter } = options;
    const infos = await this.#api.topCheckpoints(this.id, { sortBy, smallerIsBetter, limit }, { signal });
    return infos.map((info) => new Checkpoint(this.#api, info));
  }

  async getTrials(options: GetTrialsOptions = {}): Promise<TrialReference[]> {
    const trials = await this.#api.trials(this.id, options);
    const key = options.sortBy ?? 'id';
    const sign = options.orderBy === 'desc' ? -1 : 1;
    return trials.sort((a, b) => sign * compare(a[key], b[key])).map((trial) => new TrialReference(this.#api, trial.id, trial));
  }

  /** Waits until the experiment has a trial and answers it (the lowest-numbered one). */
  async awaitFirstTrial(options: ExperimentWaitOptions = {}): Promise<TrialReference> {
    const intervalMs = (options.interval ?? 0.1) * 1000;
    const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout * 1000;
    for (;;) {
      const [first] = await this.getTrials({ sortBy: 'number', signal: options.signal });
      if (first) return first;
      const { status } = await this.#api.experiment(this.id, options);
      if (FINAL.has(status)) throw new DeterminedUsageError(`experiment ${this.id} ended (${status}) without a trial`);
      if (Date.now() >= deadline) throw new PeriscopeTimeoutError(`experiment ${this.id} had no trial within ${options.timeout} s`, status);
      await sleep(intervalMs, options.signal);
    }
  }

  /** Stops the experiment: its trials' processes are signalled, then killed after the grace period. */
  async kill(options: CallOptions = {}): Promise<void> {
    await this.#api.result({ method: 'POST', path: path`/experiment/${this.id}/cancel`, ...options });
  }

  async delete(options: CallOptions = {}): Promise<void> {
    await this.#api.result({ method: 'DELETE', path: path`/experiment/${this.id}`, ...options });
  }
}

function compare(a: Trial[TrialSortBy], b: Trial[TrialSortBy]): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}
