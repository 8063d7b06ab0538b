import type { ListModelsQuery, ModelSortKey } from '@periscope/core';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Dialect } from '../db/migrations.js';
import type { Database, ModelsTable, ModelVersionsTable } from '../db/schema.js';

export interface ModelRecord {
  id: number;
  name: string;
  description: string;
  metadata: Record<string, unknown>;
  labels: string[];
  archived: boolean;
  owner: string | null;
  workspace: string;
  createdAt: number;
  updatedAt: number;
  numVersions: number;
}

export interface VersionRecord {
  modelId: number;
  version: number;
  checkpointUuid: string;
  name: string | null;
  comment: string | null;
  notes: string | null;
  metadata: Record<string, unknown>;
  createdAt: number;
}

const SORT_COLUMNS: Record<ModelSortKey, 'name' | 'description' | 'created_at' | 'updated_at' | 'workspace'> = {
  name: 'name',
  description: 'description',
  creationTime: 'created_at',
  lastUpdatedTime: 'updated_at',
  workspace: 'workspace',
};

/** Models, their labels and versions. Sorting and filtering give the same answers on SQLite and PostgreSQL. */
export class ModelStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /** Inserts unless the name is taken (answers undefined then). */
  async insert(model: Omit<ModelRecord, 'id' | 'numVersions'>): Promise<ModelRecord | undefined> {
    return this.db.transaction().execute(async (tx) => {
      const row = await tx
        .insertInto('models')
        .values({ name: model.name, description: model.description, metadata: JSON.stringify(model.metadata), archived: model.archived ? 1 : 0, owner: model.owner, workspace: model.workspace, created_at: model.createdAt, updated_at: model.updatedAt })
        .onConflict((oc) => oc.column('name').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!row) return undefined;
      const id = Number(row.id);
      if (model.labels.length > 0) await tx.insertInto('model_labels').values([...new Set(model.labels)].map((label) => ({ model_id: id, label }))).execute();
      return { ...model, id, numVersions: 0 };
    });
  }

  async get(nameOrId: string): Promise<ModelRecord | undefined> {
    let query = this.db.selectFrom('models').selectAll();
    query = /^\d{1,15}$/.test(nameOrId) ? query.where((eb) => eb.or([eb('id', '=', Number(nameOrId)), eb('name', '=', nameOrId)])) : query.where('name', '=', nameOrId);
    const rows = await query.orderBy('id').execute();
    // A name made of digits could equal another model's id: the id wins.
    const row = rows.find((r) => String(r.id) === nameOrId) ?? rows[0];
    return row && (await this.complete([row]))[0];
  }

  async list(query: ListModelsQuery): Promise<ModelRecord[]> {
    let q = this.db.selectFrom('models').selectAll();
    if (query.id !== undefined) q = q.where('id', '=', query.id);
    if (query.name) q = q.where(sql<boolean>`lower(name) like ${containsPattern(query.name)} escape '!'`);
    if (query.description) q = q.where(sql<boolean>`lower(description) like ${containsPattern(query.description)} escape '!'`);
    if (query.workspace) q = q.where('workspace', 'in', query.workspace.split(',').map((w) => w.trim()).filter(Boolean));
    if (query.archived !== undefined) q = q.where('archived', '=', query.archived ? 1 : 0);
    if (query.label) {
      const label = query.label;
      q = q.where((eb) => eb.exists(eb.selectFrom('model_labels').select('label').whereRef('model_labels.model_id', '=', 'models.id').where('label', '=', label)));
    }
    const column = SORT_COLUMNS[query.sortBy ?? 'name'];
    const direction = query.orderBy ?? 'asc';
    // Byte order on both databases: PostgreSQL's default collation would sort by locale.
    const key = this.dialect === 'postgres' && ['name', 'description', 'workspace'].includes(column) ? sql`${sql.ref(column)} collate "C"` : sql.ref(column);
    const rows = await q.orderBy(key, direction).orderBy('id', direction).execute();
    return this.complete(rows);
  }

  /** Labels with how many models carry each, most used first. */
  async labels(): Promise<{ label: string; count: number }[]> {
    const key = this.dialect === 'postgres' ? sql`label collate "C"` : sql.ref('label');
    const rows = await this.db.selectFrom('model_labels').select(['label', (eb) => eb.fn.countAll<number | string>().as('count')]).groupBy('label').orderBy(sql`count(*)`, 'desc').orderBy(key).execute();
    return rows.map((r) => ({ label: r.label, count: Number(r.count) }));
  }

  async update(id: number, change: { description?: string; metadata?: Record<string, unknown>; labels?: string[]; archived?: boolean }): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('models')
        .set({
          updated_at: Date.now(),
          ...(change.description !== undefined && { description: change.description }),
          ...(change.metadata !== undefined && { metadata: JSON.stringify(change.metadata) }),
          ...(change.archived !== undefined && { archived: change.archived ? 1 : 0 }),
        })
        .where('id', '=', id)
        .execute();
      if (change.labels !== undefined) {
        await tx.deleteFrom('model_labels').where('model_id', '=', id).execute();
        if (change.labels.length > 0) await tx.insertInto('model_labels').values([...new Set(change.labels)].map((label) => ({ model_id: id, label }))).execute();
      }
    });
  }

  async delete(id: number): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('model_versions').where('model_id', '=', id).execute();
      await tx.deleteFrom('model_labels').where('model_id', '=', id).execute();
      await tx.deleteFrom('models').where('id', '=', id).execute();
    });
  }

  /** Adds the next version number; concurrent registrations are serialized by the (model, version) key. */
  async addVersion(version: Omit<VersionRecord, 'version'>): Promise<VersionRecord> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.transaction().execute(async (tx) => {
          const last = await tx.selectFrom('model_versions').select((eb) => eb.fn.max('version').as('max')).where('model_id', '=', version.modelId).executeTakeFirst();
          const next = Number(last?.max ?? 0) + 1;
          await tx
            .insertInto('model_versions')
            .values({ model_id: version.modelId, version: next, checkpoint_uuid: version.checkpointUuid, name: version.name, comment: version.comment, notes: version.notes, metadata: JSON.stringify(version.metadata), created_at: version.createdAt })
            .execute();
          await tx.updateTable('models').set({ updated_at: version.createdAt }).where('id', '=', version.modelId).execute();
          return { ...version, version: next };
        });
      } catch (error) {
        if (attempt >= 5) throw error;
      }
    }
  }

  async versions(modelId: number, order: 'asc' | 'desc'): Promise<VersionRecord[]> {
    return (await this.db.selectFrom('model_versions').selectAll().where('model_id', '=', modelId).orderBy('version', order).execute()).map(toVersion);
  }

  async version(modelId: number, version: number | 'latest'): Promise<VersionRecord | undefined> {
    let q = this.db.selectFrom('model_versions').selectAll().where('model_id', '=', modelId);
    q = version === 'latest' ? q.orderBy('version', 'desc').limit(1) : q.where('version', '=', version);
    const row = await q.executeTakeFirst();
    return row && toVersion(row);
  }

  async deleteVersion(modelId: number, version: number): Promise<boolean> {
    const result = await this.db.deleteFrom('model_versions').where('model_id', '=', modelId).where('version', '=', version).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Model versions that keep a checkpoint (its deletion is refused while any does). */
  async versionsOfCheckpoint(uuid: string): Promise<{ model: string; version: number }[]> {
    const rows = await this.db
      .selectFrom('model_versions')
      .innerJoin('models', 'models.id', 'model_versions.model_id')
      .select(['models.name as model', 'model_versions.version as version'])
      .where('checkpoint_uuid', '=', uuid)
      .execute();
    return rows.map((r) => ({ model: r.model, version: Number(r.version) }));
  }

  private async complete(rows: Selectable<ModelsTable>[]): Promise<ModelRecord[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => Number(r.id));
    const labels = await this.db.selectFrom('model_labels').select(['model_id', 'label']).where('model_id', 'in', ids).orderBy('label').execute();
    const counts = await this.db.selectFrom('model_versions').select(['model_id', (eb) => eb.fn.countAll<number | string>().as('n')]).where('model_id', 'in', ids).groupBy('model_id').execute();
    return rows.map((r) => ({
      id: Number(r.id),
      name: r.name,
      description: r.description,
      metadata: JSON.parse(r.metadata) as Record<string, unknown>,
      labels: labels.filter((l) => Number(l.model_id) === Number(r.id)).map((l) => l.label),
      archived: Number(r.archived) === 1,
      owner: r.owner,
      workspace: r.workspace,
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
      numVersions: Number(counts.find((c) => Number(c.model_id) === Number(r.id))?.n ?? 0),
    }));
  }
}

/** A LIKE pattern for "contains, any case", with the user's % and _ taken literally. */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

function toVersion(row: Selectable<ModelVersionsTable>): VersionRecord {
  return {
    modelId: Number(row.model_id),
    version: row.version,
    checkpointUuid: row.checkpoint_uuid,
    name: row.name,
    comment: row.comment,
    notes: row.notes,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    createdAt: Number(row.created_at),
  };
}
