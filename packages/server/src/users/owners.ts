/** Who owns the resource a path parameter names: the lookups behind the auth hook's resource checks. */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { ResourceKind } from '../http/route-policies.js';

export interface Owned {
  owner: string;
}

/** Experiments, trials and checkpoints never change owner and their keys are never reused: safe to remember. */
const IMMUTABLE: ReadonlySet<ResourceKind> = new Set(['experiment', 'trial', 'checkpoint', 'determined-experiment']);
const REMEMBERED = 10_000;

export class Owners {
  private readonly remembered = new Map<string, Owned>();

  constructor(
    private readonly db: Kysely<Database>,
    /** Checkpoints the registry kept after their experiment was deleted: owned still by that experiment's owner. */
    private readonly kept?: { get(uuid: string): Promise<{ owner: string } | undefined> },
  ) {}

  /**
   * Whether `caller` must not see this resource of a private kind: it exists, and belongs to someone else
   * (admins see everything). The caller is then answered as if it did not exist.
   */
  async hides(caller: { username: string; admin: boolean }, kind: ResourceKind, key: string): Promise<boolean> {
    if (caller.admin) return false;
    const owned = await this.of(kind, key);
    return owned !== undefined && owned.owner !== caller.username;
  }

  /** The owner of the resource, or undefined when there is none by that key (the route then says so). */
  async of(kind: ResourceKind, key: string): Promise<Owned | undefined> {
    if (!IMMUTABLE.has(kind)) return this.lookUp(kind, key);
    const cacheKey = `${kind}:${key}`;
    const known = this.remembered.get(cacheKey);
    if (known) return known;
    const owned = await this.lookUp(kind, key);
    if (owned) {
      if (this.remembered.size >= REMEMBERED) this.remembered.delete(this.remembered.keys().next().value!);
      this.remembered.set(cacheKey, owned);
    }
    return owned;
  }

  private async lookUp(kind: ResourceKind, key: string): Promise<Owned | undefined> {
    switch (kind) {
      case 'experiment': {
        const row = await this.db.selectFrom('experiments').select('owner').where('id', '=', key).executeTakeFirst();
        return row && { owner: row.owner };
      }
      case 'determined-experiment': {
        if (!/^\d{1,15}$/.test(key)) return undefined;
        const row = await this.db.selectFrom('experiments').select('owner').where('seq', '=', Number(key)).executeTakeFirst();
        return row && { owner: row.owner };
      }
      case 'trial': {
        if (!/^\d{1,15}$/.test(key)) return undefined;
        const row = await this.db
          .selectFrom('trials')
          .innerJoin('experiments', 'experiments.id', 'trials.experiment_id')
          .select('experiments.owner')
          .where('trials.id', '=', Number(key))
          .executeTakeFirst();
        return row && { owner: row.owner };
      }
      case 'checkpoint': {
        const row = await this.db
          .selectFrom('checkpoints')
          .innerJoin('experiments', 'experiments.id', 'checkpoints.experiment_id')
          .select('experiments.owner')
          .where('checkpoints.uuid', '=', key)
          .executeTakeFirst();
        if (row) return { owner: row.owner };
        // Kept by the registry (its experiment is gone): readable by uuid to that owner and admins; everyone
        // reads it as a model version.
        const kept = await this.kept?.get(key);
        return kept && { owner: kept.owner };
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
