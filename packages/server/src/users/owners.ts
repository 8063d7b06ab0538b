/** Who owns the resource a path parameter names: the lookups behind the auth hook's resource checks. */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { ResourceKind } from '../http/route-policies.js';

export interface Owned {
  owner: string;
  /** The experiment it belongs to (experiment, trial and checkpoint kinds), for task-token checks. */
  experimentId?: string;
}

export class Owners {
  constructor(private readonly db: Kysely<Database>) {}

  /** The owner of the resource, or undefined when there is none by that key (the route then says so). */
  async of(kind: ResourceKind, key: string): Promise<Owned | undefined> {
    switch (kind) {
      case 'experiment': {
        const row = await this.db.selectFrom('experiments').select(['owner', 'id']).where('id', '=', key).executeTakeFirst();
        return row && { owner: row.owner, experimentId: row.id };
      }
      case 'trial': {
        if (!/^\d{1,15}$/.test(key)) return undefined;
        const row = await this.db
          .selectFrom('trials')
          .innerJoin('experiments', 'experiments.id', 'trials.experiment_id')
          .select(['experiments.owner', 'experiments.id'])
          .where('trials.id', '=', Number(key))
          .executeTakeFirst();
        return row && { owner: row.owner, experimentId: row.id };
      }
      case 'checkpoint': {
        const row = await this.db
          .selectFrom('checkpoints')
          .innerJoin('experiments', 'experiments.id', 'checkpoints.experiment_id')
          .select(['experiments.owner', 'experiments.id'])
          .where('checkpoints.uuid', '=', key)
          .executeTakeFirst();
        return row && { owner: row.owner, experimentId: row.id };
      }
      case 'model': {
        let query = this.db.selectFrom('models').select(['owner', 'id', 'name']);
        query = /^\d{1,15}$/.test(key) ? query.where((eb) => eb.or([eb('id', '=', Number(key)), eb('name', '=', key)])) : query.where('name', '=', key);
        const rows = await query.execute();
        // The same precedence as the model service: an id match wins over a model named like a number.
        const row = rows.find((r) => String(r.id) === key) ?? rows[0];
        return row && { owner: row.owner ?? '' };
      }
      case 'environment': {
        const row = await this.db.selectFrom('environments').select('owner').where('name', '=', key).executeTakeFirst();
        return row && { owner: row.owner };
      }
    }
  }
}
