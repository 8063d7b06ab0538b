/**
 * Module-level functions bound to a default client, as seed 003's `client` module: the client is created on
 * first use from `PERISCOPE_MASTER` (or the local server) and the saved login, or explicitly with
 * `await login({ master, user, password })`.
 */
import { Periscope } from '../periscope.js';
import type { PeriscopeOptions } from '../options.js';
import type { CallOptions } from '../transport.js';
import type { CreateModelOptions, GetModelsOptions, Model } from '../models.js';
import type { Checkpoint } from './checkpoint.js';
import type { CreateExperimentOptions, ExperimentConfig } from './client.js';
import type { ExperimentReference } from './experiment-reference.js';
import type { TrialReference } from './trial-reference.js';

let defaultClient: Periscope | undefined;

/**
 * Determined's `client.login(master, user, password, cert_path, cert_name, noverify)`: makes the client the
 * module-level functions use, and checks it at once (a login with the password, or the saved token against
 * `/me`), so a wrong password fails here rather than at the first call. The default client is replaced only
 * when the check passes. Options as `new Periscope(…)`'s.
 */
export async function login(options: PeriscopeOptions = {}): Promise<Periscope> {
  const candidate = new Periscope(options);
  await candidate.whoami();
  defaultClient = candidate;
  return candidate;
}

function client(): Periscope {
  return (defaultClient ??= new Periscope());
}

export function createExperiment(config: ExperimentConfig, modelDir: string, options: CreateExperimentOptions = {}): Promise<ExperimentReference> {
  return client().createExperiment(config, modelDir, options);
}

export function getExperiment(id: string, options: CallOptions = {}): Promise<ExperimentReference> {
  return client().getExperiment(id, options);
}

export function getTrial(id: number, options: CallOptions = {}): Promise<TrialReference> {
  return client().getTrial(id, options);
}

export function getCheckpoint(uuid: string, options: CallOptions = {}): Promise<Checkpoint> {
  return client().getCheckpoint(uuid, options);
}

export function createModel(name: string, options: CreateModelOptions = {}): Promise<Model> {
  return client().createModel(name, options);
}

export function getModel(nameOrId: string | number, options: CallOptions = {}): Promise<Model> {
  return client().getModel(nameOrId, options);
}

export function getModelById(modelId: number, options: CallOptions = {}): Promise<Model> {
  return client().getModelById(modelId, options);
}

export function getModels(options: GetModelsOptions = {}): Promise<Model[]> {
  return client().getModels(options);
}

export function getModelLabels(options: CallOptions = {}): Promise<string[]> {
  return client().getModelLabels(options);
}
