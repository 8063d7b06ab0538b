/**
 * netunicorn's `BaseClient` (seed 004), camelCased, as a thin facade over `Periscope`: an experiment is
 * prepared under a name you choose, started, watched and cancelled by that name. What it maps to:
 *
 * | netunicorn | Periscope |
 * |---|---|
 * | `get_nodes()` | `periscope.nodes.list()` (a list, not a node pool) |
 * | `get_experiments()` | `periscope.executions.list()` |
 * | `prepare_experiment(exp, name, ctx)` | `periscope.executions.prepare(name, spec)` (an ExperimentSpec, not a pickled graph) |
 * | `start_execution(name, ctx)` | `periscope.executions.start(name)` |
 * | `get_experiment_status(name)` | `periscope.executions.status(name)` |
 * | `cancel_experiment` / `cancel_executors` / `delete_experiment` | `executions.cancel` / `cancelExecutors` / `delete` |
 * | `get_flag_values` / `set_flag_values` (by name) | `periscope.flags.get` / `set` (by experiment id) |
 *
 * Differences, on purpose: methods the Python client types as returning None answer what the server
 * answered; `cancelExecutors` answers which executors it stopped and which had already ended; a flag never
 * set reads as nulls (netunicorn errors); a set replaces both values, as netunicorn's does.
 */
import type { ExecutionInfo, ExperimentSpec } from '@periscope/core';
import type { CancelExecutorsResult } from './executions.js';
import type { Flag, FlagValues } from './flags.js';
import type { PeriscopeNode } from './nodes.js';
import { Periscope } from './periscope.js';
import { connect, type SubmarineClientOptions } from './submarine-clients.js';
import type { CallOptions } from './transport.js';

/**
 * netunicorn's deployment and execution contexts are `{connector name: {key: value}}`. Periscope has no
 * connectors: it reads `envVars` (environment variables for every executor) and ignores every other entry.
 */
export interface NetunicornContext {
  /** Set for every executor of the experiment; on a clash with the spec's `meta.envVars`, these win. */
  envVars?: Record<string, string>;
  /** Any other connector's context: accepted for compatibility, ignored. */
  [connector: string]: Record<string, string> | undefined;
}

export type NetunicornClientOptions = SubmarineClientOptions;

export class NetunicornClient {
  readonly periscope: Periscope;

  /** `new NetunicornClient({ host: 'http://127.0.0.1:32080' })`, or share a `Periscope`'s connection. */
  constructor(options: NetunicornClientOptions | Periscope = {}) {
    this.periscope = connect(options);
  }

  /** The nodes executors can run on, with capacity, labels and current allocations. */
  getNodes(options?: CallOptions): Promise<PeriscopeNode[]> {
    return this.periscope.nodes.list(options);
  }

  /** Every execution: name → status, experiment and results. */
  getExperiments(options?: CallOptions): Promise<Record<string, ExecutionInfo>> {
    return this.periscope.executions.list(options);
  }

  /** Deletes an execution that is not preparing or running, releasing its name; answers its last state. */
  deleteExperiment(experimentName: string, options?: CallOptions): Promise<ExecutionInfo> {
    return this.periscope.executions.delete(experimentName, options);
  }

  /** True only when the server answers that it is healthy (false when unhealthy or unreachable). */
  healthcheck(options?: CallOptions): Promise<boolean> {
    return this.periscope.healthcheck(options);
  }

  /**
   * Prepares `experiment` under `experimentName` and answers the name; preparation goes on in the
   * background (PREPARING, then READY: see `getExperimentStatus`). Safe to repeat and retried on network
   * failures: the same spec under the same name is one experiment, however many calls arrive. A different
   * spec under a live name is a CONFLICT. `deploymentContext.envVars` are merged into `meta.envVars`.
   */
  async prepareExperiment(experiment: ExperimentSpec, experimentName: string, deploymentContext?: NetunicornContext | null, options?: CallOptions): Promise<string> {
    await this.periscope.executions.prepare(experimentName, withEnvVars(experiment, deploymentContext?.envVars), options);
    return experimentName;
  }

  /**
   * Starts a prepared execution and answers its name. Safe to repeat and retried on network failures: the
   * server launches it once, and a start of one that runs or has finished changes nothing.
   *
   * The environment is fixed when the experiment is prepared, so `executionContext.envVars` cannot change it:
   * they are accepted only when the prepared experiment already has those values (give them to
   * `prepareExperiment` instead); other entries are ignored.
   */
  async startExecution(experimentName: string, executionContext?: NetunicornContext | null, options?: CallOptions): Promise<string> {
    const wanted = Object.entries(executionContext?.envVars ?? {});
    if (wanted.length > 0) {
      const prepared = (await this.periscope.executions.status(experimentName, options)).experiment.spec.meta.envVars ?? {};
      const differing = wanted.filter(([key, value]) => prepared[key] !== value).map(([key]) => key);
      if (differing.length > 0) {
        throw new TypeError(
          `executionContext.envVars: ${differing.join(', ')} differ from what ${experimentName} was prepared with; the environment is fixed at prepare time (pass them in prepareExperiment's deploymentContext)`,
        );
      }
    }
    await this.periscope.executions.start(experimentName, options);
    return experimentName;
  }

  /** Status (UNKNOWN, PREPARING, READY, RUNNING, FINISHED), the experiment, and per-executor results once it ran. */
  getExperimentStatus(experimentName: string, options?: CallOptions): Promise<ExecutionInfo> {
    return this.periscope.executions.status(experimentName, options);
  }

  /** Stops every executor of the execution and answers its name once none is left. */
  async cancelExperiment(experimentName: string, options?: CallOptions): Promise<string> {
    await this.periscope.executions.cancel(experimentName, options);
    return experimentName;
  }

  /** Stops the named executors (`executionResult[].executor`); the rest run on. Already ended ones are reported, not refused. */
  cancelExecutors(executors: Iterable<string>, options?: CallOptions): Promise<CancelExecutorsResult> {
    return this.periscope.executions.cancelExecutors([...executors], options);
  }

  /** A flag of the execution `experimentName` (nulls and version 0 when never set). */
  async getFlagValues(experimentName: string, flagName: string, options?: CallOptions): Promise<Flag> {
    return this.periscope.flags.get(await this.experimentId(experimentName, options), flagName, options);
  }

  /** Sets a flag of the execution `experimentName`, replacing both values; answers the flag with its new version. */
  async setFlagValues(experimentName: string, flagName: string, flagValues: FlagValues, options?: CallOptions): Promise<Flag> {
    return this.periscope.flags.set(await this.experimentId(experimentName, options), flagName, flagValues, options);
  }

  /** Flags are kept by experiment id; a name is looked up each time, since deleting frees it for another experiment. */
  private async experimentId(experimentName: string, options?: CallOptions): Promise<string> {
    return (await this.periscope.executions.status(experimentName, options)).experiment.experimentId;
  }
}

function withEnvVars(spec: ExperimentSpec, envVars: Record<string, string> | undefined): ExperimentSpec {
  if (!envVars || Object.keys(envVars).length === 0) return spec;
  return { ...spec, meta: { ...spec.meta, envVars: { ...spec.meta.envVars, ...envVars } } };
}
