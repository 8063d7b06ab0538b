import { randomUUID } from 'node:crypto';
import {
  ConflictError,
  IdGenerator,
  isTerminal,
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
import type { SecretBox } from '../secrets/secret-box.js';
import { presentDeleted, presentExperiment, presentLog } from './present.js';
import { sealSpec } from './secrets.js';
import type { ExperimentRecord, ExperimentStore, NewExperiment } from './store.js';
import type { Admission } from '../execution/orchestrator.js';
import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

export const EXPERIMENT_NOT_FOUND = 'Not found experiment.';

/** What the service needs from execution (the orchestrator and the logs), kept narrow for the facade. */
export interface ExecutionPort {
  /**
   * What a new experiment's create writes in its own transaction (its first trial) and then starts: queued,
   * or with autoStart false prepared (plan, check, sync; it becomes Ready and waits). A search starts its searcher.
   */
  admission(experimentId: string, spec: NormalizedExperimentSpec): Promise<Admission>;
  /** Second phase; a retry never launches twice. */
  startPrepared(experimentId: string): Promise<void>;
  cancel(experimentId: string): Promise<void>;
  purge(experimentId: string): Promise<void>;
  /** Each pod's log lines, by pod name; pods that never ran have none. */
  podLogs(experiment: ExperimentRecord): Promise<Map<string, string[]>>;
}

export interface ExperimentListPage {
  experiments: Experiment[];
  nextCursor: string | null;
}

export interface ListExperimentsOptions {
  status?: string;
  /** Only this user's experiments; absent for an admin, who sees everyone's. */
  owner?: string;
  limit?: number;
  after?: string;
}

/** Rows per query of a streamed list: a page in memory at a time, few round trips. */
const STREAMED_PAGE = 500;

/** The Submarine experiment service: create, read, patch, delete and the logs views. */
export class ExperimentService {
  constructor(
    private readonly store: ExperimentStore,
    private readonly environments: EnvironmentService,
    private readonly ids: IdGenerator,
    private readonly execution: ExecutionPort,
    /** Seals git passwords before the spec is stored (experiments/secrets.ts). */
    private readonly secrets: SecretBox,
  ) {}

  /** Runs before an experiment is marked deleted and purged: the registry keeps what model versions hold. */
  keep?: (experimentId: string) => Promise<void>;

  /** `alongside` writes what belongs with the experiment (the Determined face's config) in its create transaction. */
  async create(input: ExperimentSpec, owner: string, alongside?: (tx: Transaction<Database>, id: string) => Promise<void>): Promise<Experiment> {
    const id = this.ids.next();
    const spec = sealSpec(this.secrets, normalizeExperimentSpec(input, { lowercaseName: true, experimentId: id }));
    await this.resolveEnvironment(spec);
    // The experiment and its first trial commit together before the answer: an answered create survives kill -9 whole.
    const record = await this.admit(id, spec, alongside, (initial, write) => this.store.insert({ id, uid: randomUUID(), spec, ...initial, owner }, write));
    return presentExperiment(record);
  }

  /**
   * Creates an experiment under a netunicorn execution name; the caller handles a taken name. `alongside`
   * writes in the same transaction (the netunicorn face's request), so neither exists without the other.
   */
  async createNamed(input: ExperimentSpec, executionName: string, requestDigest: string, owner: string, alongside?: (tx: Transaction<Database>, id: string) => Promise<void>): Promise<ExperimentRecord> {
    const id = this.ids.next();
    const spec = sealSpec(this.secrets, normalizeExperimentSpec({ ...input, autoStart: false }, { lowercaseName: true, experimentId: id }));
    await this.resolveEnvironment(spec);
    return this.admit(id, spec, alongside, (initial, write) => this.store.insert({ id, uid: randomUUID(), spec, ...initial, executionName, requestDigest, owner }, write));
  }

  /**
   * Stores a new experiment with what execution writes alongside (its first trial) in one transaction, then
   * starts it; what execution made before a create that then failed (a taken name) is removed.
   */
  private async admit(
    id: string,
    spec: NormalizedExperimentSpec,
    alongside: ((tx: Transaction<Database>, id: string) => Promise<void>) | undefined,
    insert: (initial: Pick<NewExperiment, 'status' | 'acceptedAt' | 'createdAt'>, write: (tx: Transaction<Database>) => Promise<void>) => Promise<ExperimentRecord>,
  ): Promise<ExperimentRecord> {
    const admission = await this.execution.admission(id, spec);
    const acceptedAt = Date.now();
    // Prepared before its create (a parked experiment with nothing to sync): created (Submarine's term) as it is accepted.
    const initial = { status: admission.status, acceptedAt, ...(admission.status === 'Ready' && { createdAt: acceptedAt }) };
    let record: ExperimentRecord;
    try {
      record = await insert(initial, async (tx) => {
        await admission.write(tx);
        await alongside?.(tx, id);
      });
    } catch (error) {
      await admission.abandon();
      throw error;
    }
    await admission.begin();
    return record;
  }

  /** Starts a prepared experiment (or one stored with autoStart false before it was prepared). Idempotent. */
  async start(id: string): Promise<Experiment> {
    const found = await this.require(id);
    if (isTerminal(found.status)) throw new ConflictError(`Experiment ${id} has already finished (${found.status}); it cannot be started again.`);
    await this.execution.startPrepared(id);
    return presentExperiment(await this.require(id));
  }

  async get(id: string): Promise<Experiment> {
    return presentExperiment(await this.require(id));
  }

  /** `get`'s experiment as JSON text, serialized once per stored version of it (the most polled answer). */
  async getJson(id: string): Promise<string> {
    checkId(id);
    const text = await this.store.derived(id, answerText);
    if (text == null) throw new NotFoundError(EXPERIMENT_NOT_FOUND);
    return text;
  }

  async list(options: ListExperimentsOptions = {}): Promise<ExperimentListPage> {
    const page = await this.store.list({
      ...statusFilter(options.status),
      ...(options.owner !== undefined && { owner: options.owner }),
      ...(options.limit !== undefined && { limit: options.limit }),
      ...(options.after !== undefined && { after: parseCursor(options.after) }),
    });
    return { experiments: page.items.map(presentExperiment), nextCursor: page.nextCursor };
  }

  /**
   * Every (matching) experiment, oldest first, a page at a time: Submarine's unpaged list, streamed.
   */
  listAll(status: string | undefined, owner: string | undefined, after?: string): AsyncIterable<Experiment[]> {
    return this.pagesOf(status, owner, presentExperiment, after === undefined ? undefined : parseCursor(after));
  }

  /** Submarine's list of logs: every pod of every (matching) experiment, with empty `podLog`, a page at a time. */
  listLogs(status: string | undefined, owner: string | undefined): AsyncIterable<ExperimentLog[]> {
    return this.pagesOf(status, owner, (record) => presentLog(record, () => []));
  }

  /** A bad status is thrown by the first page (read before anything is sent: see sendStreamedList). */
  private async *pagesOf<T>(status: string | undefined, owner: string | undefined, present: (record: ExperimentRecord) => T, from?: number): AsyncGenerator<T[]> {
    const filter = { ...statusFilter(status), ...(owner !== undefined && { owner }), limit: STREAMED_PAGE };
    for (let after = from; ; ) {
      const page = await this.store.list({ ...filter, ...(after !== undefined && { after }) });
      yield page.items.map(present);
      if (page.nextCursor === null) return;
      after = Number(page.nextCursor);
    }
  }

  /** Full replacement of the spec (Submarine's PATCH), validated like create; status and times are kept. */
  async patch(id: string, input: ExperimentSpec): Promise<Experiment> {
    const current = await this.require(id);
    // A client PATCHing what it got sends the redacted passwords back: that means "keep them".
    const spec = sealSpec(this.secrets, normalizeExperimentSpec(input, { lowercaseName: false, experimentId: id }), current.spec);
    // A run in progress keeps the spec it started with (its trials carry it, restarts included): this applies to the next run.
    await this.resolveEnvironment(spec);
    const updated = await this.store.replaceSpec(id, spec);
    if (!updated) throw new NotFoundError(EXPERIMENT_NOT_FOUND);
    return presentExperiment(updated);
  }

  /**
   * Submarine's DELETE: a running experiment is stopped first (no process is left), then marked Deleted, then
   * its files and rows are purged; a server that dies part-way finishes the purge when it starts again.
   */
  async delete(id: string): Promise<Experiment> {
    const found = await this.require(id);
    if (!isTerminal(found.status)) await this.execution.cancel(id);
    await this.keep?.(id);
    const deleted = await this.store.markDeleted(id);
    if (!deleted) throw new NotFoundError(EXPERIMENT_NOT_FOUND);
    await this.execution.purge(id);
    return presentDeleted(deleted);
  }

  /** Stops every executor of the experiment; answers once they are gone. Canceling twice is harmless. */
  async cancel(id: string): Promise<Experiment> {
    const found = await this.require(id);
    if (found.status === 'Succeeded' || found.status === 'Failed') {
      throw new ConflictError(`Experiment ${id} has already finished (${found.status}); there is nothing to cancel.`);
    }
    if (found.status !== 'Canceled') await this.execution.cancel(id);
    return presentExperiment(await this.require(id));
  }

  async getLog(id: string): Promise<ExperimentLog> {
    const record = await this.require(id);
    const logs = await this.execution.podLogs(record);
    return presentLog(record, (pod) => logs.get(pod) ?? []);
  }

  /** The stored record, for other services of this server (404 when absent). */
  async record(id: string): Promise<ExperimentRecord> {
    return this.require(id);
  }

  private async require(id: string): Promise<ExperimentRecord> {
    checkId(id);
    const found = await this.store.get(id);
    // Marked Deleted, its purge may still run: to every reader it is already gone.
    if (!found || found.status === 'Deleted') throw new NotFoundError(EXPERIMENT_NOT_FOUND);
    return found;
  }

  private async resolveEnvironment(spec: NormalizedExperimentSpec): Promise<void> {
    if (spec.environment.name != null) await this.environments.require(spec.environment.name);
  }
}

/** The answer text of an experiment; null for one marked Deleted (gone to every reader, as in `require`). */
function answerText(record: ExperimentRecord): string | null {
  return record.status === 'Deleted' ? null : JSON.stringify(presentExperiment(record));
}

/** Not an experiment id at all (e.g. a path-like string): the same 404 as an unknown one, named. */
function checkId(id: string): void {
  if (!isExperimentId(id)) {
    throw new NotFoundError(`${EXPERIMENT_NOT_FOUND} "${id}" is not an experiment id (they look like experiment-1647574374688-0002).`);
  }
}

/**
 * Without a filter, every status but Deleted: a deleted experiment is gone, even while its purge runs. Said as
 * "not Deleted" rather than as the list of the others, so the store reads one range in seq order.
 */
export function statusFilter(status: string | undefined): { statuses?: ExperimentStatus[]; except?: ExperimentStatus[] } {
  if (status === undefined || status === '') return { except: ['Deleted'] };
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
