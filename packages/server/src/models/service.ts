import { ConflictError, formatTime, NotFoundError, ValidationError, type CreateModelRequest, type ListModelsQuery, type Model, type ModelVersion, type PatchModelRequest, type RegisterVersionRequest } from '@periscope/core';
import type { TrainingService } from '../checkpoints/service.js';
import type { ModelRecord, ModelStore, VersionRecord } from './store.js';

export const DEFAULT_WORKSPACE = 'Uncategorized';

/** The model registry: named models whose versions are checkpoints. */
export class ModelService {
  constructor(
    private readonly store: ModelStore,
    private readonly training: TrainingService,
  ) {}

  async create(request: CreateModelRequest, owner: string): Promise<Model> {
    // Models are addressed by name or id on one path (`/models/16`): a name of digits would read as an id.
    if (/^\d+$/.test(request.name)) throw new ValidationError('name: a model name cannot be all digits (it would read as an id)', 'name');
    const now = Date.now();
    const created = await this.store.insert({
      name: request.name,
      description: request.description ?? '',
      metadata: request.metadata ?? {},
      labels: request.labels ?? [],
      archived: false,
      owner,
      workspace: request.workspace ?? DEFAULT_WORKSPACE,
      createdAt: now,
      updatedAt: now,
    });
    if (!created) throw new ConflictError(`A model named "${request.name}" already exists.`);
    return present(created);
  }

  async get(nameOrId: string): Promise<Model> {
    return present(await this.require(nameOrId));
  }

  async list(query: ListModelsQuery): Promise<Model[]> {
    // `?workspace=,,,` names no workspace at all: an empty `in ()`, which PostgreSQL refuses.
    if (query.workspace !== undefined && !query.workspace.split(',').some((w) => w.trim() !== '')) {
      throw new ValidationError(`workspace: name at least one workspace (got "${query.workspace}")`, 'workspace');
    }
    return (await this.store.list(query)).map(present);
  }

  labels(): Promise<{ label: string; count: number }[]> {
    return this.store.labels();
  }

  /** Metadata merges (add) and drops keys (remove); labels, when given, replace the set. */
  async patch(nameOrId: string, request: PatchModelRequest): Promise<Model> {
    const model = await this.require(nameOrId);
    let metadata: Record<string, unknown> | undefined;
    if (request.addMetadata || request.removeMetadata) {
      metadata = { ...model.metadata, ...request.addMetadata };
      for (const key of request.removeMetadata ?? []) delete metadata[key];
    }
    await this.store.update(model.id, {
      ...(request.description !== undefined && { description: request.description }),
      ...(metadata && { metadata }),
      ...(request.labels !== undefined && { labels: request.labels }),
      ...(request.archived !== undefined && { archived: request.archived }),
    });
    return this.get(String(model.id));
  }

  /** Refused while versions exist, unless forced (to be limited to admins once users exist). */
  async delete(nameOrId: string, force: boolean): Promise<Model> {
    const model = await this.require(nameOrId);
    if (model.numVersions > 0 && !force) {
      throw new ConflictError(`Model "${model.name}" has ${model.numVersions} version(s); delete them first, or delete with force=true.`);
    }
    const held = (await this.store.versions(model.id, 'asc')).map((v) => v.checkpointUuid);
    await this.store.delete(model.id);
    // A checkpoint kept only for this model's versions (its experiment was deleted) goes with them.
    for (const uuid of new Set(held)) await this.training.releaseUnheld(uuid);
    return present(model);
  }

  async registerVersion(nameOrId: string, request: RegisterVersionRequest): Promise<ModelVersion> {
    const model = await this.require(nameOrId);
    const checkpoint = await this.training.checkpoint(request.checkpointUuid);
    if (checkpoint.state !== 'COMPLETED') throw new ConflictError(`Checkpoint ${checkpoint.uuid} was deleted; it cannot become a model version.`);
    if (model.archived) throw new ConflictError(`Model "${model.name}" is archived; unarchive it to register versions.`);
    const version = await this.store.addVersion({
      modelId: model.id,
      checkpointUuid: checkpoint.uuid,
      name: request.name ?? null,
      comment: request.comment ?? null,
      notes: request.notes ?? null,
      metadata: request.metadata ?? {},
      createdAt: Date.now(),
    });
    return this.presentVersion(model, version);
  }

  async versions(nameOrId: string, order: 'asc' | 'desc' = 'desc'): Promise<ModelVersion[]> {
    const model = await this.require(nameOrId);
    return Promise.all((await this.store.versions(model.id, order)).map((v) => this.presentVersion(model, v)));
  }

  /** A version by number, or `latest`; null when a model has no version yet (asked for latest). */
  async version(nameOrId: string, version: string): Promise<ModelVersion | null> {
    const model = await this.require(nameOrId);
    const wanted = parseVersion(version);
    const found = await this.store.version(model.id, wanted);
    if (!found) {
      if (wanted === 'latest') return null;
      throw new NotFoundError(`Model "${model.name}" has no version ${wanted}.`);
    }
    return this.presentVersion(model, found);
  }

  async deleteVersion(nameOrId: string, version: string): Promise<ModelVersion> {
    const model = await this.require(nameOrId);
    const wanted = parseVersion(version);
    if (wanted === 'latest') throw new ValidationError('version: give a version number to delete', 'version');
    const found = await this.version(nameOrId, String(wanted));
    await this.store.deleteVersion(model.id, wanted);
    await this.training.releaseUnheld(found!.checkpoint.uuid);
    return found!;
  }

  private async require(nameOrId: string): Promise<ModelRecord> {
    const model = await this.store.get(nameOrId);
    if (!model) throw new NotFoundError(`Not found model "${nameOrId}".`);
    return model;
  }

  private async presentVersion(model: ModelRecord, version: VersionRecord): Promise<ModelVersion> {
    return {
      model: { id: model.id, name: model.name },
      version: version.version,
      checkpoint: await this.training.checkpoint(version.checkpointUuid),
      name: version.name,
      comment: version.comment,
      notes: version.notes,
      metadata: version.metadata,
      creationTime: formatTime(version.createdAt)!,
    };
  }
}

function parseVersion(text: string): number | 'latest' {
  if (text === 'latest') return 'latest';
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw new ValidationError(`version: "${text}" is not a version number (1, 2, …) or "latest"`, 'version');
  return Number(text);
}

function present(model: ModelRecord): Model {
  return {
    id: model.id,
    name: model.name,
    description: model.description,
    metadata: model.metadata,
    labels: model.labels,
    archived: model.archived,
    owner: model.owner,
    workspace: model.workspace,
    creationTime: formatTime(model.createdAt)!,
    lastUpdatedTime: formatTime(model.updatedAt)!,
    numVersions: model.numVersions,
  };
}
