/**
 * The model registry (seed 003's `Model` and `ModelVersion`, camelCase): named models with metadata and labels,
 * and numbered versions, each a reported checkpoint. `periscope.models` is the sub-client; `Periscope`'s
 * `createModel`, `getModel`, `getModelById`, `getModels` and `getModelLabels` are Determined's names for the same
 * calls (`getModelLabels` answers the names only, as seed 003's `List[str]`; `models.labels()` adds the counts).
 */
import type { Model as ModelInfo, ModelSortKey, ModelVersion as ModelVersionInfo, PatchModelRequest } from '@periscope/core';
import { DeterminedApi } from './determined/api.js';
import { Checkpoint } from './determined/checkpoint.js';
import { PeriscopeApiError } from './errors.js';
import { path, type CallOptions, type Transport } from './transport.js';

/** Determined's `ModelSortBy`: the field a model list is ordered by. */
export type ModelSortBy = ModelSortKey;
/** Determined's `ModelOrderBy`. */
export type ModelOrderBy = 'asc' | 'desc';

export interface CreateModelOptions extends CallOptions {
  /** Default: empty. */
  description?: string;
  /** Any JSON object. Default: `{}`. */
  metadata?: Record<string, unknown>;
  /** Default: none. */
  labels?: string[];
  /** The workspace the model belongs to. Default: the server's (`Uncategorized`). */
  workspaceName?: string;
}

export interface GetModelsOptions extends CallOptions {
  /** Default `name` (byte order: upper case before lower case). */
  sortBy?: ModelSortBy;
  /** Default `asc`. */
  orderBy?: ModelOrderBy;
  /** Only models whose name contains this, in any case. */
  name?: string;
  /** Only models whose description contains this, in any case. */
  description?: string;
  /** Only the model with this id. */
  modelId?: number;
  /** Only models in one of these workspaces. */
  workspaceNames?: string[];
  /** Only archived (true) or only unarchived (false) models. Default: both. */
  archived?: boolean;
  /** Only models that carry this label. */
  label?: string;
}

export interface RegisterVersionOptions extends CallOptions {
  name?: string;
  comment?: string;
  notes?: string;
  metadata?: Record<string, unknown>;
}

export interface DeleteModelOptions extends CallOptions {
  /**
   * Delete the model with its versions (seed 003: `Model.delete()` deletes the model). Default true; false asks
   * the server's safety instead: refused (CONFLICT) while the model has versions. The server lets only admins
   * force a model that has versions (FORBIDDEN otherwise).
   */
  force?: boolean;
}

/** A label and how many models carry it (`periscope.models.labels()`, most popular first). */
export interface ModelLabel {
  label: string;
  count: number;
}

/** Models: `periscope.models`. */
export class ModelsClient {
  readonly #api: DeterminedApi;

  constructor(transport: Transport) {
    this.#api = new DeterminedApi(transport);
  }

  /** Adds a model to the registry; rejects with CONFLICT when the name is taken. */
  async create(name: string, options: CreateModelOptions = {}): Promise<Model> {
    const { description, metadata, labels, workspaceName, ...call } = options;
    const body = { name, description, metadata, labels, workspace: workspaceName };
    return new Model(this.#api, await this.#api.result<ModelInfo>({ method: 'POST', path: '/models', body, ...call }));
  }

  /** A model by name or numeric id; rejects with NOT_FOUND (a `PeriscopeApiError`) when there is none. */
  async get(nameOrId: string | number, options: CallOptions = {}): Promise<Model> {
    return new Model(this.#api, await this.#api.result<ModelInfo>({ method: 'GET', path: modelPath(nameOrId), ...options }));
  }

  /** A model by its id only (a model named like the number does not answer); NOT_FOUND when there is none. */
  async getById(modelId: number, options: CallOptions = {}): Promise<Model> {
    if (!(Number.isInteger(modelId) && modelId > 0)) throw new TypeError(`modelId: ${modelId} is not a positive integer`);
    const [info] = await this.#api.result<ModelInfo[]>({ method: 'GET', path: '/models', query: { id: modelId }, ...options });
    if (!info) throw new PeriscopeApiError({ httpStatus: 404, code: 'NOT_FOUND', message: `Not found model with id ${modelId}.`, request: 'GET /api/v1/models' });
    return new Model(this.#api, info);
  }

  async list(options: GetModelsOptions = {}): Promise<Model[]> {
    const { sortBy = 'name', orderBy = 'asc', name, description, modelId, workspaceNames, archived, label, ...call } = options;
    if (modelId !== undefined && !(Number.isInteger(modelId) && modelId > 0)) throw new TypeError(`modelId: ${modelId} is not a positive integer`);
    const query = { sortBy, orderBy, name, description, id: modelId, workspace: workspaceNames?.join(','), archived, label };
    const models = await this.#api.result<ModelInfo[]>({ method: 'GET', path: '/models', query, ...call });
    return models.map((info) => new Model(this.#api, info));
  }

  /** Every label in use, with how many models carry it, most popular first. */
  labels(options: CallOptions = {}): Promise<ModelLabel[]> {
    return this.#api.result<ModelLabel[]>({ method: 'GET', path: '/models/labels', ...options });
  }
}

/** A model of the registry. Its methods change it on the server and refresh these fields from the answer. */
export class Model {
  readonly id: number;
  name!: string;
  description!: string;
  metadata!: Record<string, unknown>;
  labels!: string[];
  archived!: boolean;
  /** Who created it, when the server knows users. */
  owner!: string | null;
  workspace!: string;
  /** ISO-8601. */
  readonly creationTime: string;
  lastUpdatedTime!: string;
  /** As of the last answer about this model (`reload()` asks again). */
  numVersions!: number;
  readonly #api: DeterminedApi;

  constructor(api: DeterminedApi, info: ModelInfo) {
    this.#api = api;
    this.id = info.id;
    this.creationTime = info.creationTime;
    this.#refresh(info);
  }

  /** A version by number, or the latest (default); null when the model has no versions yet. */
  async getVersion(version: number | 'latest' = 'latest', options: CallOptions = {}): Promise<ModelVersion | null> {
    if (version !== 'latest' && !(Number.isInteger(version) && version > 0)) throw new TypeError(`version: ${version} is not a positive integer or 'latest'`);
    const info = await this.#api.result<ModelVersionInfo | null>({ method: 'GET', path: `${this.#path}/versions/${version}`, ...options });
    return info && new ModelVersion(this.#api, info);
  }

  /** All versions, newest first by default. */
  async getVersions(orderBy: ModelOrderBy = 'desc', options: CallOptions = {}): Promise<ModelVersion[]> {
    const infos = await this.#api.result<ModelVersionInfo[]>({ method: 'GET', path: `${this.#path}/versions`, query: { orderBy }, ...options });
    return infos.map((info) => new ModelVersion(this.#api, info));
  }

  /** Registers a reported checkpoint as the next version (1, 2, …). */
  async registerVersion(checkpointUuid: string, options: RegisterVersionOptions = {}): Promise<ModelVersion> {
    const { name, comment, notes, metadata, ...call } = options;
    const body = { checkpointUuid, name, comment, notes, metadata };
    const info = await this.#api.result<ModelVersionInfo>({ method: 'POST', path: `${this.#path}/versions`, body, ...call });
    this.numVersions = Math.max(this.numVersions, info.version);
    return new ModelVersion(this.#api, info);
  }

  /** Merges these keys into the metadata. */
  addMetadata(metadata: Record<string, unknown>, options: CallOptions = {}): Promise<void> {
    return this.#patch({ addMetadata: metadata }, options);
  }

  /** Removes these top-level keys from the metadata. */
  removeMetadata(keys: string[], options: CallOptions = {}): Promise<void> {
    return this.#patch({ removeMetadata: keys }, options);
  }

  /** Replaces the labels. */
  setLabels(labels: string[], options: CallOptions = {}): Promise<void> {
    return this.#patch({ labels }, options);
  }

  setDescription(description: string, options: CallOptions = {}): Promise<void> {
    return this.#patch({ description }, options);
  }

  archive(options: CallOptions = {}): Promise<void> {
    return this.#patch({ archived: true }, options);
  }

  unarchive(options: CallOptions = {}): Promise<void> {
    return this.#patch({ archived: false }, options);
  }

  /** Reads the model again from the server. */
  async reload(options: CallOptions = {}): Promise<void> {
    this.#refresh(await this.#api.result<ModelInfo>({ method: 'GET', path: this.#path, ...options }));
  }

  /** Deletes the model and its versions (the versions' checkpoints stay); `{force: false}` refuses while it has versions. */
  async delete(options: DeleteModelOptions = {}): Promise<void> {
    const { force = true, ...call } = options;
    this.#refresh(await this.#api.result<ModelInfo>({ method: 'DELETE', path: this.#path, query: { force: force || undefined }, ...call }));
  }

  toJSON(): ModelInfo {
    const { id, name, description, metadata, labels, archived, owner, workspace, creationTime, lastUpdatedTime, numVersions } = this;
    return { id, name, description, metadata, labels, archived, owner, workspace, creationTime, lastUpdatedTime, numVersions };
  }

  // By id: it stays right when the name changes.
  get #path(): string {
    return modelPath(this.id);
  }

  async #patch(body: PatchModelRequest, options: CallOptions): Promise<void> {
    this.#refresh(await this.#api.result<ModelInfo>({ method: 'PATCH', path: this.#path, body, ...options }));
  }

  #refresh(info: ModelInfo): void {
    this.name = info.name;
    this.description = info.description;
    this.metadata = info.metadata;
    this.labels = info.labels;
    this.archived = info.archived;
    this.owner = info.owner;
    this.workspace = info.workspace;
    this.lastUpdatedTime = info.lastUpdatedTime;
    this.numVersions = info.numVersions;
  }
}

/** A version of a model: a checkpoint (`checkpoint.download()`) with a number, notes and metadata. */
export class ModelVersion {
  readonly model: { id: number; name: string };
  readonly version: number;
  readonly checkpoint: Checkpoint;
  readonly name: string | null;
  readonly comment: string | null;
  readonly notes: string | null;
  readonly metadata: Record<string, unknown>;
  /** ISO-8601. */
  readonly creationTime: string;
  readonly #api: DeterminedApi;

  constructor(api: DeterminedApi, info: ModelVersionInfo) {
    this.#api = api;
    this.model = info.model;
    this.version = info.version;
    this.checkpoint = new Checkpoint(api, info.checkpoint);
    this.name = info.name;
    this.comment = info.comment;
    this.notes = info.notes;
    this.metadata = info.metadata;
    this.creationTime = info.creationTime;
  }

  /** Removes this version from its model (the checkpoint stays). */
  async delete(options: CallOptions = {}): Promise<void> {
    await this.#api.result<ModelVersionInfo>({ method: 'DELETE', path: `${modelPath(this.model.id)}/versions/${this.version}`, ...options });
  }

  toJSON(): ModelVersionInfo {
    const { model, version, name, comment, notes, metadata, creationTime } = this;
    return { model, version, checkpoint: this.checkpoint.toJSON(), name, comment, notes, metadata, creationTime };
  }
}

function modelPath(nameOrId: string | number): string {
  return path`/models/${String(nameOrId)}`;
}
