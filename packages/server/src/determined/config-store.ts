/** The Determined configs experiments were created from through /determined (rows only). */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { DeterminedConfig } from './wire.js';

export class DeterminedConfigStore {
  constructor(private readonly db: Kysely<Database>) {}

  async put(experimentId: string, config: DeterminedConfig): Promise<void> {
    await this.db.insertInto('determined_configs').values({ experiment_id: experimentId, original: config.original, config: JSON.stringify(config.config) }).execute();
  }

  async get(experimentId: string): Promise<DeterminedConfig | undefined> {
    const row = await this.db.selectFrom('determined_configs').selectAll().where('experiment_id', '=', experimentId).executeTakeFirst();
    return row && { original: row.original, config: JSON.parse(row.config) as Record<string, unknown> };
  }
}
