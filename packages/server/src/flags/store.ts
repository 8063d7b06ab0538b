import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, FlagsTable } from '../db/schema.js';

export interface FlagRecord {
  name: string;
  textValue: string | null;
  intValue: number | null;
  /** 0 for a flag never set; each change adds one. */
  version: number;
}

/** Per-experiment flags; every change is one atomic statement (an upsert), so concurrent writers never lose one. */
export class FlagStore {
  constructor(private readonly db: Kysely<Database>) {}

  async get(experimentId: string, name: string): Promise<FlagRecord> {
    const row = await this.db.selectFrom('flags').selectAll().where('experiment_id', '=', experimentId).where('name', '=', name).executeTakeFirst();
    return row ? toRecord(row) : { name, textValue: null, intValue: null, version: 0 };
  }

  async list(experimentId: string): Promise<FlagRecord[]> {
    return (await this.db.selectFrom('flags').selectAll().where('experiment_id', '=', experimentId).orderBy('name').execute()).map(toRecord);
  }

  /** Replaces both values. */
  async set(experimentId: string, name: string, textValue: string | null, intValue: number | null): Promise<FlagRecord> {
    const now = Date.now();
    const row = await this.db
      .insertInto('flags')
      .values({ experiment_id: experimentId, name, text_value: textValue, int_value: intValue, version: 1, updated_at: now })
      .onConflict((oc) =>
        oc.columns(['experiment_id', 'name']).doUpdateSet({
          text_value: textValue,
          int_value: intValue,
          version: sql<number>`flags.version + 1`,
          updated_at: now,
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRecord(row);
  }

  /** Adds `by` (negative subtracts) to the integer value, an unset value counting as 0. */
  async increment(experimentId: string, name: string, by: number): Promise<FlagRecord> {
    const now = Date.now();
    const row = await this.db
      .insertInto('flags')
      .values({ experiment_id: experimentId, name, text_value: null, int_value: by, version: 1, updated_at: now })
      .onConflict((oc) =>
        oc.columns(['experiment_id', 'name']).doUpdateSet({
          int_value: sql<number>`coalesce(flags.int_value, 0) + ${by}`,
          version: sql<number>`flags.version + 1`,
          updated_at: now,
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRecord(row);
  }
}

function toRecord(row: Selectable<FlagsTable>): FlagRecord {
  return { name: row.name, textValue: row.text_value, intValue: row.int_value === null ? null : Number(row.int_value), version: Number(row.version) };
}
