/** The Determined configs experiments were created from through /determined (rows only). */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import type { DeterminedConfig } from './wire.js';

export class DeterminedConfigStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Written in the experiment's create transaction (`tx`), so no experiment made here lacks its config. */
  async put(tx: Transaction<Database>, experimentId: string, config: DeterminedConfig): Promise<void> {
    await tx.insertInto('determined_configs').values({ experiment_id: experimentId, original: config.original, config: JSON.stringify(config.config) }).execute();
  }

  async get(experimentId: string): Promise<DeterminedConfig | undefined> {
    const row = await this.db.selectFrom('determined_configs').selectAll().where('experiment_id', '=', experimentId).executeTakeFirst();
    return row && { original: row.original, config: JSON.parse(row.config) as Record<string, unknown> };
  }
}
