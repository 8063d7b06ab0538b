import {
  ConflictError,
  IdGenerator,
  NotFoundError,
  ValidationError,
  normalizeEnvironment,
  type Environment,
  type EnvironmentSpec,
} from '@periscope/core';
import type { EnvironmentRecord, EnvironmentStore } from './store.js';

export const ENVIRONMENT_NOT_FOUND = 'Environment not found.';

/** Submarine's Environment API: stored environments keyed by name. */
export class EnvironmentService {
  constructor(
    private readonly store: EnvironmentStore,
    private readonly ids: IdGenerator,
  ) {}

  async create(input: EnvironmentSpec & { name: string }, owner: string): Promise<Environment> {
    const spec = normalizeEnvironment(input);
    const created = await this.store.insert({ name: input.name, environmentId: this.ids.next(), spec, owner });
    if (!created) throw new ConflictError(`Environment "${input.name}" already exists.`);
    return present(created);
  }

  async get(name: string): Promise<Environment> {
    return present(await this.require(name));
  }

  /** The stored record, or a 404 with Submarine's message. */
  async require(name: string): Promise<EnvironmentRecord> {
    const found = await this.store.get(name);
    if (!found) throw new NotFoundError(ENVIRONMENT_NOT_FOUND);
    return found;
  }

  async list(): Promise<Environment[]> {
    return (await this.store.list()).map(present);
  }

  /** Full replacement of the spec; the name is the key and cannot change. */
  async update(name: string, input: EnvironmentSpec): Promise<Environment> {
    if (input.name != null && input.name !== name) {
      throw new ValidationError(`name: renaming an environment is not supported ("${name}" → "${input.name}")`, 'name');
    }
    const updated = await this.store.update(name, normalizeEnvironment({ ...input, name }));
    if (!updated) throw new NotFoundError(ENVIRONMENT_NOT_FOUND);
    return present(updated);
  }

  async delete(name: string): Promise<Environment> {
    const deleted = await this.store.delete(name);
    if (!deleted) throw new NotFoundError(ENVIRONMENT_NOT_FOUND);
    return present(deleted);
  }
}

function present(record: EnvironmentRecord): Environment {
  return { environmentId: record.environmentId, environmentSpec: record.spec };
}
