/**
 * Determined's client surface (seed 003, camelCase) over one Periscope connection: create an experiment from a
 * config and a model directory, and reference experiments, trials and checkpoints by id.
 */
import type { ExperimentSpec } from '@periscope/core';
import type { CallOptions, Transport } from '../transport.js';
import { DeterminedApi } from './api.js';
import { Checkpoint } from './checkpoint.js';
import { ExperimentReference } from './experiment-reference.js';
import { loadNodeFiles } from './load-node-files.js';
import { TrialReference } from './trial-reference.js';

/** A Determined config (YAML file path, or its parsed object) or a Periscope ExperimentSpec (object or file). */
export type ExperimentConfig = string | Record<string, unknown> | ExperimentSpec;

export interface CreateExperimentOptions extends CallOptions {
  /** Files or directories outside the model dir to add to the archive, each under its own base name. */
  includes?: string[];
}

export class DeterminedClient {
  readonly #api: DeterminedApi;

  constructor(transport: Transport) {
    this.#api = new DeterminedApi(transport);
  }

  /**
   * Packs `modelDir` as a tar.gz, uploads it, and creates the experiment with that code; the entrypoint runs
   * in the unpacked directory. Conversion warnings are on the answer's `warnings`. Node only.
   */
  async createExperiment(config: ExperimentConfig, modelDir: string, options: CreateExperimentOptions = {}): Promise<ExperimentReference> {
    const files = await loadNodeFiles();
    const { spec, warnings } = await files.loadConfig(config as string | Record<string, unknown>);
    const { archive, sha256 } = await files.packModelDir(modelDir, options.includes);
    await this.#api.uploadCode(sha256, archive, options);
    const created = await this.#api.result<{ experimentId: string }>({
      method: 'POST',
      path: '/experiment',
      body: { ...spec, code: { syncMode: 'upload', url: sha256 } },
      signal: options.signal,
    });
    return new ExperimentReference(this.#api, created.experimentId, warnings);
  }

  /** A reference to an existing experiment (checked: rejects with NOT_FOUND when there is none). */
  async getExperiment(id: string, options: CallOptions = {}): Promise<ExperimentReference> {
    await this.#api.experiment(id, options);
    return new ExperimentReference(this.#api, id);
  }

  async getTrial(id: number, options: CallOptions = {}): Promise<TrialReference> {
    return new TrialReference(this.#api, id, await this.#api.trial(id, options));
  }

  async getCheckpoint(uuid: string, options: CallOptions = {}): Promise<Checkpoint> {
    return new Checkpoint(this.#api, await this.#api.checkpoint(uuid, options));
  }
}
