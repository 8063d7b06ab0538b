import type { LoginAnswer, User } from '@periscope/core';
import { DashboardClient } from './dashboard.js';
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
import { ModelsClient, type CreateModelOptions, type GetModelsOptions, type Model } from './models.js';
import { NodesClient } from './nodes.js';
import { resolveOptions, type PeriscopeOptions, type ResolvedOptions } from './options.js';
import { Transport, type CallOptions } from './transport.js';
import { UsersClient } from './users.js';

/**
 * The client: one connection (server URL, retries, timeouts, headers, TLS) and one login session, shared by
 * the resource sub-clients. Several clients may talk to several masters, each as its own user, at once.
 *
 * ```ts
 * const periscope = new Periscope({ master: 'http://127.0.0.1:32080' }); // the token `periscope user login` saved
 * const experiment = await periscope.experiments.create(spec);
 * const { status, logs } = await periscope.experiments.wait(experiment.experimentId);
 *
 * const other = new Periscope({ master: 'https://gpu-box:32080', user: 'ci', password, certPath: 'ca.pem' });
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
  /** The server's users (admin only). */
  readonly users: UsersClient;
  /** The web dashboard's reads: browser session, experiment summaries, live feed, log pages. */
  readonly dashboard: DashboardClient;
  // Private, and so kept out of `console.log(client)`: the headers, password and token are credentials.
  readonly #options: ResolvedOptions;
  readonly #transport: Transport;
  readonly #determined: DeterminedClient;

  constructor(options: PeriscopeOptions = {}) {
    this.#options = resolveOptions(options);
    this.#transport = new Transport(this.#options);
    this.#determined = new DeterminedClient(this.#transport);
    this.experiments = new ExperimentsClient(this.#transport);
    this.environments = new EnvironmentsClient(this.#transport);
    this.executions = new ExecutionsClient(this.#transport);
    this.nodes = new NodesClient(this.#transport);
    this.flags = new FlagsClient(this.#transport);
    this.models = new ModelsClient(this.#transport);
    this.users = new UsersClient(this.#transport);
    this.dashboard = new DashboardClient(this.#transport);
  }

  /** The server URL this client talks to. */
  get master(): string {
    return this.#options.master;
  }

  /** The user this client acts as, as the server sees it (`--auth none`: an admin). Also checks the login. */
  async whoami(options: CallOptions = {}): Promise<User> {
    return (await this.#transport.call<User>({ method: 'GET', path: '/me', ...options })).result;
  }

  /**
   * Logs in with the client's `user` and `password` now rather than on the first call, and answers the
   * server's `LoginAnswer`, token included: for a caller that keeps it (`periscope user login` saves it in the
   * credentials file). Rejects with UNAUTHORIZED on a bad password, TOO_MANY_REQUESTS after too many.
   */
  login(): Promise<LoginAnswer> {
    return this.#transport.session.login();
  }

  /**
   * Ends this client's session: the server revokes the token it used (a saved one too: it stops working for
   * every program using it; the SDK leaves the credentials file as it is). The client sends no token after.
   */
  async logout(options: CallOptions = {}): Promise<void> {
    await this.#transport.call<null>({ method: 'POST', path: '/auth/logout', ...options });
    this.#transport.session.end();
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

  /** Seed 003's `get_model_by_id`: a model by its id only; rejects with NOT_FOUND when there is none. */
  getModelById(modelId: number, options: CallOptions = {}): Promise<Model> {
    return this.models.getById(modelId, options);
  }

  /** The registry's models, by name ascending unless `sortBy`/`orderBy` say otherwise, filtered as asked. */
  getModels(options: GetModelsOptions = {}): Promise<Model[]> {
    return this.models.list(options);
  }

  /** Seed 003's `get_model_labels`: the labels in use, most popular first (`models.labels()` for the counts). */
  async getModelLabels(options: CallOptions = {}): Promise<string[]> {
    return (await this.models.labels(options)).map((l) => l.label);
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
