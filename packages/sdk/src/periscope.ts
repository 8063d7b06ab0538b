import { EnvironmentsClient } from './environments.js';
import { DeterminedClient, type CreateExperimentOptions, type ExperimentConfig } from './determined/client.js';
import type { Checkpoint } from './determined/checkpoint.js';
import type { ExperimentReference } from './determined/experiment-reference.js';
import type { TrialReference } from './determined/trial-reference.js';
import { isPeriscopeError } from './errors.js';
import { ExecutionsClient } from './executions.js';
import { ExperimentsClient } from './experiments.js';
import { FlagsClient } from './flags.js';
import type { HealthReport } from './health.js';
import { ModelsClient, type CreateModelOptions, type GetModelsOptions, type Model, type ModelLabel } from './models.js';
import { NodesClient } from './nodes.js';
import { resolveOptions, type PeriscopeOptions, type ResolvedOptions } from './options.js';
import { Transport, type CallOptions } from './transport.js';

/**
 * The client: one connection (server URL, retries, timeouts, headers) shared by the resource sub-clients.
 *
 * ```ts
 * const periscope = new Periscope({ master: 'http://127.0.0.1:32080' });
 * const experiment = await periscope.experiments.create(spec);
 * const { status, logs } = await periscope.experiments.wait(experiment.experimentId);
 * ```
 */
export class Periscope {
  readonly experiments: ExperimentsClient;
  readonly environments: EnvironmentsClient;
  /** Experiments under a name of yours, prepared and started in two steps (netunicorn's lifecycle). */
  readonly executions: ExecutionsClient;
  readonly nodes: NodesClient;
  readonly flags: FlagsClient;
  /** The model registry: models and their versions (checkpoints). */
  readonly models: ModelsClient;
  // Private, and so kept out of `console.log(client)`: the headers may hold credentials.
  readonly #options: ResolvedOptions;
  readonly #transport: Transport;
  readonly #determined: DeterminedClient;

  constructor(options: PeriscopeOptions = {}) {
    this.#options = resolveOptions(options);
    this.#transport = new Transport(this.#options);
    this.#determined = new DeterminedClient(this.#transport, this.#options);
    this.experiments = new ExperimentsClient(this.#transport);
    this.environments = new EnvironmentsClient(this.#transport);
    this.executions = new ExecutionsClient(this.#transport);
    this.nodes = new NodesClient(this.#transport);
    this.flags = new FlagsClient(this.#transport);
    this.models = new ModelsClient(this.#transport, this.#options);
  }

  /** The server URL this client talks to. */
  get master(): string {
    return this.#options.master;
  }

  /**
   * Determined's `create_experiment`: packs `modelDir` (tar.gz), uploads it and creates the experiment from a
   * Determined config (path or object, converted by core; see the answer's `warnings`) or a Periscope spec.
   * Node only.
   */
  createExperiment(config: ExperimentConfig, modelDir: string, options: CreateExperimentOptions = {}): Promise<ExperimentReference> {
    return this.#determined.createExperiment(config, modelDir, options);
  }

  /** A reference to an existing experiment: wait, top checkpoints, trials, kill, delete. */
  getExperiment(id: string, options: CallOptions = {}): Promise<ExperimentReference> {
    return this.#determined.getExperiment(id, options);
  }

  /** A reference to a trial: logs, metrics, checkpoints. */
  getTrial(id: number, options: CallOptions = {}): Promise<TrialReference> {
    return this.#determined.getTrial(id, options);
  }

  /** A checkpoint by uuid: download, metadata, delete. */
  getCheckpoint(uuid: string, options: CallOptions = {}): Promise<Checkpoint> {
    return this.#determined.getCheckpoint(uuid, options);
  }

  /** Determined's `create_model`: adds a model to the registry (CONFLICT when the name is taken). */
  createModel(name: string, options: CreateModelOptions = {}): Promise<Model> {
    return this.models.create(name, options);
  }

  /** A model by name or id; rejects with a NOT_FOUND `PeriscopeApiError` when there is none. */
  getModel(nameOrId: string | number, options: CallOptions = {}): Promise<Model> {
    return this.models.get(nameOrId, options);
  }

  /** The registry's models, by name ascending unless `sortBy`/`orderBy` say otherwise, filtered as asked. */
  getModels(options: GetModelsOptions = {}): Promise<Model[]> {
    return this.models.list(options);
  }

  /** Labels in use, most popular first. */
  getModelLabels(options: CallOptions = {}): Promise<ModelLabel[]> {
    return this.models.labels(options);
  }

  /** Resolves when the server answers `/api/v1/experiment/ping` (Submarine's connectivity check). */
  async ping(options: CallOptions = {}): Promise<void> {
    await this.#transport.call<string>({ method: 'GET', path: '/experiment/ping', ...options });
  }

  /**
   * The server's health: its store answers and its launcher has a node. Rejects with the server's reason
   * (`SERVICE_UNAVAILABLE`, HTTP 503) when it is unhealthy, and `UNREACHABLE` when nothing answers. Asked
   * once: a 503 is the answer here, not a reason to retry.
   */
  async health(options: CallOptions = {}): Promise<HealthReport> {
    return (await this.#transport.call<HealthReport>({ method: 'GET', path: '/health', retries: 0, ...options })).result;
  }

  /**
   * netunicorn's `healthcheck()`: true only when the server answers that it is healthy; false when it says it
   * is not, answers something else, or cannot be reached. An abort still rejects.
   */
  async healthcheck(options: CallOptions = {}): Promise<boolean> {
    try {
      return (await this.health(options)).status === 'healthy';
    } catch (error) {
      if (isPeriscopeError(error)) return false;
      throw error;
    }
  }
}
