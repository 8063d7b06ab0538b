/** Determined's `Checkpoint`: a reported checkpoint's record, its files and its metadata. */
import type { Checkpoint as CheckpointInfo } from '@periscope/core';
import type { CallOptions } from '../transport.js';
import { path } from '../transport.js';
import type { DeterminedApi } from './api.js';
import { loadNodeFiles } from './load-node-files.js';

export type CheckpointState = 'COMPLETED' | 'DELETED' | (string & {});

export class Checkpoint {
  readonly uuid: string;
  readonly trialId: number;
  readonly experimentId: string;
  readonly stepsCompleted: number;
  /** When the trial reported it (ISO-8601). */
  readonly reportTime: string;
  /** Relative path → bytes, as the server measured the files. */
  readonly resources: Readonly<Record<string, number>>;
  state: CheckpointState;
  metadata: Record<string, unknown>;
  /** The trial's hyperparameters and the validation metrics reported at this checkpoint's step. */
  readonly training: CheckpointInfo['training'];
  readonly #api: DeterminedApi;

  constructor(api: DeterminedApi, info: CheckpointInfo) {
    this.#api = api;
    this.uuid = info.uuid;
    this.trialId = info.trialId;
    this.experimentId = info.experimentId;
    this.stepsCompleted = info.stepsCompleted;
    this.reportTime = info.reportTime;
    this.resources = info.resources;
    this.state = info.state;
    this.metadata = info.metadata;
    this.training = info.training;
  }

  /**
   * Downloads the files into `dir` (default `checkpoints/<uuid>` under the current directory) and writes
   * `metadata.json` beside them; answers the directory. Node only.
   */
  async download(dir?: string, options: CallOptions = {}): Promise<string> {
    const files = await loadNodeFiles();
    const target = dir ?? files.defaultCheckpointDir(this.uuid);
    const archive = await this.#api.downloadCheckpoint(this.uuid, options);
    await files.extractTar(archive, target);
    await this.writeMetadataFile(files.join(target, 'metadata.json'));
    return target;
  }

  /** Writes the metadata as JSON to the file `file`. Node only. */
  async writeMetadataFile(file: string): Promise<void> {
    const files = await loadNodeFiles();
    await files.writeJson(file, this.metadata);
  }

  /** Merges `metadata` into the checkpoint's metadata, on the server and here. */
  async addMetadata(metadata: Record<string, unknown>, options: CallOptions = {}): Promise<void> {
    await this.patchMetadata({ add: metadata }, options);
  }

  /** Removes these top-level keys from the metadata, on the server and here. */
  async removeMetadata(keys: string[], options: CallOptions = {}): Promise<void> {
    await this.patchMetadata({ remove: keys }, options);
  }

  /** Deletes the checkpoint's files; the record stays, in state DELETED. */
  async delete(options: CallOptions = {}): Promise<void> {
    const info = await this.#api.result<CheckpointInfo>({ method: 'DELETE', path: path`/checkpoints/${this.uuid}`, ...options });
    this.state = info.state;
  }

  toJSON(): CheckpointInfo {
    const { uuid, trialId, experimentId, stepsCompleted, state, reportTime, resources, metadata, training } = this;
    return { uuid, trialId, experimentId, stepsCompleted, state, reportTime, resources: { ...resources }, metadata, training };
  }

  private async patchMetadata(body: { add?: Record<string, unknown>; remove?: string[] }, options: CallOptions): Promise<void> {
    const info = await this.#api.result<CheckpointInfo>({ method: 'PATCH', path: path`/checkpoints/${this.uuid}/metadata`, body, ...options });
    this.metadata = info.metadata;
  }
}
