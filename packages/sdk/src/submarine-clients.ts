/**
 * Apache Submarine's Python `ExperimentClient` and `EnvironmentClient` (seed 000), camelCased, as thin facades
 * over `Periscope`. Differences from the Python client, on purpose: every method returns what the server
 * answered (Python's `get_log` and `wait_for_finish` return None and print), `waitForFinish` also stops on
 * Failed (Python polls forever), and each method takes an AbortSignal.
 */
import type { Environment, EnvironmentSpec, Experiment, ExperimentLog, ExperimentSpec } from '@periscope/core';
import type { CreateEnvironmentInput } from './environments.js';
import type { PeriscopeOptions } from './options.js';
import { Periscope } from './periscope.js';
import type { CallOptions } from './transport.js';
import type { WaitProgress } from './wait.js';

export interface SubmarineClientOptions extends PeriscopeOptions {
  /** The server URL, as Submarine's clients name it; same as `master` (and wins over it). */
  host?: string;
}

export interface WaitForFinishOptions extends CallOptions {
  /** Seconds between two polls, as in Submarine's client (fractions allowed). Default 10. */
  pollingInterval?: number;
  /** Give up after this many seconds with `PeriscopeTimeoutError`. Default: no limit. */
  timeout?: number;
  /** Called with the status after every poll (`progress.changed` tells a new status from a repeated one). */
  onProgress?: (progress: WaitProgress) => void;
}

/** A facade's connection: the given client's, or a new one (`host` is the server URL, as Submarine names it). */
export function connect(options: SubmarineClientOptions | Periscope): Periscope {
  if (options instanceof Periscope) return options;
  const { host, ...rest } = options;
  return new Periscope({ ...rest, ...(host !== undefined && { master: host }) });
}

export class ExperimentClient {
  readonly periscope: Periscope;

  /** `new ExperimentClient({ host: 'http://127.0.0.1:32080' })`, or share a `Periscope`'s connection. */
  constructor(options: SubmarineClientOptions | Periscope = {}) {
    this.periscope = connect(options);
  }

  createExperiment(experimentSpec: ExperimentSpec, options?: CallOptions): Promise<Experiment> {
    return this.periscope.experiments.create(experimentSpec, options);
  }

  patchExperiment(id: string, experimentSpec: ExperimentSpec, options?: CallOptions): Promise<Experiment> {
    return this.periscope.experiments.patch(id, experimentSpec, options);
  }

  getExperiment(id: string, options?: CallOptions): Promise<Experiment> {
    return this.periscope.experiments.get(id, options);
  }

  /** Every experiment, or those in `status` (Accepted, Created, Running, Succeeded, Failed, Deleted; any case). */
  async listExperiments(status?: string, options: CallOptions = {}): Promise<Experiment[]> {
    return (await this.periscope.experiments.list({ ...options, ...(status != null && { status }) })).experiments;
  }

  deleteExperiment(id: string, options?: CallOptions): Promise<Experiment> {
    return this.periscope.experiments.delete(id, options);
  }

  /** Every pod's logs; with `onlyMaster`, only the master pod (Master, else Chief, else the first pod). */
  getLog(id: string, options: CallOptions & { onlyMaster?: boolean } = {}): Promise<ExperimentLog> {
    return this.periscope.experiments.logs(id, options);
  }

  /** Pod names (with empty logs) of the experiments in `status`, or of all. */
  listLog(status?: string, options: CallOptions = {}): Promise<ExperimentLog[]> {
    return this.periscope.experiments.listLogs({ ...options, ...(status != null && { status }) });
  }

  /** Polls until Succeeded, Failed or Deleted, then returns the experiment's logs (empty when deleted). */
  async waitForFinish(id: string, options: WaitForFinishOptions = {}): Promise<ExperimentLog> {
    const { pollingInterval = 10, timeout, ...rest } = options;
    const result = await this.periscope.experiments.wait(id, {
      ...rest,
      pollIntervalMs: seconds('pollingInterval', pollingInterval),
      ...(timeout !== undefined && { timeoutMs: seconds('timeout', timeout) }),
    });
    return result.logs;
  }
}

export class EnvironmentClient {
  readonly periscope: Periscope;

  constructor(options: SubmarineClientOptions | Periscope = {}) {
    this.periscope = connect(options);
  }

  createEnvironment(environmentSpec: CreateEnvironmentInput, options?: CallOptions): Promise<Environment> {
    return this.periscope.environments.create(environmentSpec, options);
  }

  updateEnvironment(name: string, environmentSpec: EnvironmentSpec, options?: CallOptions): Promise<Environment> {
    return this.periscope.environments.update(name, environmentSpec, options);
  }

  getEnvironment(name: string, options?: CallOptions): Promise<Environment> {
    return this.periscope.environments.get(name, options);
  }

  listEnvironments(options?: CallOptions): Promise<Environment[]> {
    return this.periscope.environments.list(options);
  }

  deleteEnvironment(name: string, options?: CallOptions): Promise<Environment> {
    return this.periscope.environments.delete(name, options);
  }
}

function seconds(field: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${field}: ${value} must be a non-negative number of seconds`);
  return Math.round(value * 1000);
}
