import { randomUUID } from 'node:crypto';
import {
  IdGenerator,
  NotFoundError,
  ValidationError,
  canonicalOfSubmarine,
  isExperimentId,
  normalizeExperimentSpec,
  SUBMARINE_STATUSES,
  type Experiment,
  type ExperimentLog,
  type ExperimentSpec,
  type ExperimentStatus,
  type NormalizedExperimentSpec,
} from '@periscope/core';
import type { EnvironmentService } from '../environments/service.js';
import { podNames, presentDeleted, presentExperiment, presentLog } from './present.js';
import type { ExperimentRecord, ExperimentStore } from './store.js';

export const EXPERIMENT_NOT_FOUND = 'Not found experiment.';

export interface ExperimentListPage {
  experiments: Experiment[];
  nextCursor: string | null;
}

export interface ListExperimentsOptions {
  status?: string;
  limit?: number;
  after?: string;
}

/** The Submarine experiment service: create, read, patch, delete and the logs views. */
export class ExperimentService {
  constructor(
    private readonly store: ExperimentStore,
    private readonly environments: EnvironmentService,
    private readonly ids: IdGenerator,
  ) {}

  async create(input: ExperimentSpec): Promise<Experiment> {
    const id = this.ids.next();
    const spec = normalizeExperimentSpec(input, { lowercaseName: true, experimentId: id });
    await this.resolveEnvironment(spec);
    const record = await this.store.insert({ id, uid: randomUUID(), spec, status: 'Accepted', acceptedAt: Date.now() });
    return presentExperiment(record);
  }

  async get(id: string): Promise<Experiment> {
    return presentExperiment(await this.require(id));
  }

  async list(options: ListExperimentsOptions = {}): Promise<ExperimentListPage> {
    const page = await this.store.list({
      ...statusFilter(options.status),
      ...(options.limit !== undefined && { limit: options.limit }),
      ...(options.after !== undefined && { after: parseCursor(options.after) }),
    });
    return { experiments: page.items.map(presentExperiment), nextCursor: page.nextCursor };
  }

  /** Full replacement of the spec (Submarine's PATCH), validated like create; status and times are kept. */
  async patch(id: string, input: ExperimentSpec): Promise<Experiment> {
    await this.require(id);
    const spec = normalizeExperimentSpec(input, { lowercaseName: false, experimentId: id });
    await this.resolveEnvironment(spec);
    const updated = await this.store.replaceSpec(id, spec);
    if (!updated) throw new NotFoundError(EXPERIMENT_NOT_FOUND);
    return presentExperiment(updated);
  }

  async delete(id: string): Promise<Experiment> {
    checkId(id);
    const deleted = await this.store.delete(id);
    if (!deleted) throw new NotFoundError(EXPERIMENT_NOT_FOUND);
    return presentDeleted(deleted);
  }

  async getLog(id: string): Promise<ExperimentLog> {
    return presentLog(await this.require(id), () => []);
  }

  /** Submarine's list of logs names every pod of every (matching) experiment, with empty `podLog`. */
  async listLogs(status?: string): Promise<ExperimentLog[]> {
    const page = await this.store.list(statusFilter(status));
    return page.items.map((record) => ({
      experimentId: record.id,
      logContent: podNames(record).map((podName) => ({ podName, podLog: [] })),
    }));
  }

  private async require(id: string): Promise<ExperimentRecord> {
    checkId(id);
    const found = await this.store.get(id);
    if (!found) throw new NotFoundError(EXPERIMENT_NOT_FOUND);
    return found;
  }

  private async resolveEnvironment(spec: NormalizedExperimentSpec): Promise<void> {
    if (spec.environment.name != null) await this.environments.require(spec.environment.name);
  }
}

/** Not an experiment id at all (e.g. a path-like string): the same 404 as an unknown one, named. */
function checkId(id: string): void {
  if (!isExperimentId(id)) {
    throw new NotFoundError(`${EXPERIMENT_NOT_FOUND} "${id}" is not an experiment id (they look like experiment-1647574374688-0002).`);
  }
}

function statusFilter(status: string | undefined): { statuses?: ExperimentStatus[] } {
  if (status === undefined || status === '') return {};
  const statuses = canonicalOfSubmarine(status);
  if (!statuses) {
    throw new ValidationError(`status: unknown value "${status}" (one of ${SUBMARINE_STATUSES.join(', ')})`, 'status');
  }
  return { statuses };
}

function parseCursor(after: string): number {
  if (!/^\d{1,15}$/.test(after)) throw new ValidationError(`after: "${after}" is not a cursor returned by this server`, 'after');
  return Number(after);
}
