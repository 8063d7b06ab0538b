import type { NormalizedEnvironmentSpec } from '@periscope/core';
import type { Kysely, Selectable } from 'kysely';
import type { Database, EnvironmentsTable } from '../db/schema.js';

export interface EnvironmentRecord {
  name: string;
  environmentId: string;
  spec: NormalizedEnvironmentSpec;
  owner: string;
}

/** Storage of environments, keyed by name. */
export class EnvironmentStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Inserts unless the name is taken; answers undefined when it is. */
  async insert(record: EnvironmentRecord): Promise<EnvironmentRecord | undefined> {
    const now = Date.now();
    const row = await this.db
      .insertInto('environments')
      .values({ name: record.name, environment_id: record.environmentId, spec: JSON.stringify(record.spec), owner: record.owner, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .returningAll()
      .executeTakeFirst();
    return row && toRecord(row);
  }

  async get(name: string): Promise<EnvironmentRecord | undefined> {
    const row = await this.db.selectFrom('environments').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toRecord(row);
  }

  async list(): Promise<EnvironmentRecord[]> {
    return (await this.db.selectFrom('environments').selectAll().orderBy('created_at').orderBy('name').execute()).map(toRecord);
  }

  async update(name: string, spec: NormalizedEnvironmentSpec): Promise<EnvironmentRecord | undefined> {
    const row = await this.db
      .updateTable('environments')
      .set({ spec: JSON.stringify(spec), updated_at: Date.now() })
      .where('name', '=', name)
      .returningAll()
      .executeTakeFirst();
    return row && toRecord(row);
  }

  async delete(name: string): Promise<EnvironmentRecord | undefined> {
    const row = await this.db.deleteFrom('environments').where('name', '=', name).returningAll().executeTakeFirst();
    return row && toRecord(row);
  }
}

function toRecord(row: Selectable<EnvironmentsTable>): EnvironmentRecord {
  return { name: row.name, environmentId: row.environment_id, spec: JSON.parse(row.spec) as NormalizedEnvironmentSpec, owner: row.owner };
}
