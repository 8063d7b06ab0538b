/**
 * The netunicorn face: experiments keyed by a client-chosen name, prepared and started in two idempotent
 * phases, with per-executor results. Built on the experiment service and the orchestrator; it owns no state.
 */
import { createHash } from 'node:crypto';
import { ConflictError, NotFoundError, STATUS_TABLE, ValidationError, isTerminal, type ExecutionInfo, type ExperimentSpec } from '@periscope/core';
import type { ExperimentService } from '../experiments/service.js';
import { NameTakenError, type ExperimentRecord, type ExperimentStore } from '../experiments/store.js';
import type { Orchestrator } from '../execution/orchestrator.js';
import { readPipeline } from '../execution/pipeline.js';
import type { DataLayout } from '../logs/layout.js';
import type { TrialStore } from '../trials/store.js';
import type { Principal } from '../users/service.js';
import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

export const EXECUTION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class ExecutionService {
  constructor(
    private readonly experiments: ExperimentService,
    private readonly store: ExperimentStore,
    private readonly trials: TrialStore,
    private readonly orchestrator: Orchestrator,
    private readonly layout: DataLayout,
  ) {}

  /**
   * Prepares an experiment under `name`. A retry with the same spec answers the same experiment; a different
   * spec under a live name is a conflict. Concurrent calls race on the store's unique key, so only one wins.
   */
  async prepare(caller: Principal, name: string, spec: ExperimentSpec): Promise<ExecutionInfo> {
    return this.info(await this.prepareRecord(caller, name, spec));
  }

  /**
   * The experiment prepared under `name`: found, or created. `options.digest` names the request when it is
   * more than the spec (the netunicorn face's, with its graphs); `options.alongside` writes with the create.
   */
  async prepareRecord(caller: Principal, name: string, spec: ExperimentSpec, options: { digest?: string; alongside?: (tx: Transaction<Database>, id: string) => Promise<void> } = {}): Promise<ExperimentRecord> {
    checkName(name);
    const digest = options.digest ?? digestOf(spec);
    let record = await this.store.getByExecutionName(caller.username, name);
    if (!record) {
      try {
        record = await this.experiments.createNamed(spec, name, digest, caller.username, options.alongside);
      } catch (error) {
        if (!(error instanceof NameTakenError)) throw error;
        record = await this.store.getByExecutionName(caller.username, name);
        if (!record) throw new ConflictError(`Execution "${name}" is being deleted; try again.`);
      }
    }
    // A delete is under way (marked Deleted, its files being purged): the name is free once it is done.
    if (record.status === 'Deleted') throw new ConflictError(`Execution "${name}" is being deleted; try again.`);
    if (record.requestDigest !== digest) {
      throw new ConflictError(`Execution name "${name}" is already used by experiment ${record.id} with a different spec; delete it first to reuse the name.`);
    }
    return record;
  }

  /** Idempotent: starting one that runs or has finished answers its status and launches nothing. */
  async start(caller: Principal, name: string): Promise<ExecutionInfo> {
    const record = await this.require(caller, name);
    if (!isTerminal(record.status)) await this.experiments.start(record.id);
    return this.info(await this.require(caller, name));
  }

  async status(caller: Principal, name: string): Promise<ExecutionInfo> {
    return this.info(await this.require(caller, name));
  }

  /** The caller's executions (names are per user, so an admin too lists only their own). */
  async list(caller: Principal): Promise<Record<string, ExecutionInfo>> {
    const records = await this.store.executions(caller.username);
    const infos = await Promise.all(records.map((r) => this.info(r)));
    return Object.fromEntries(infos.map((i) => [i.name, i]));
  }

  async cancel(caller: Principal, name: string): Promise<ExecutionInfo> {
    const record = await this.require(caller, name);
    if (!isTerminal(record.status)) await this.experiments.cancel(record.id);
    return this.info(await this.require(caller, name));
  }

  /** Refused while it prepares or runs (cancel it first); afterwards the name is free for a new experiment. */
  async delete(caller: Principal, name: string): Promise<ExecutionInfo> {
    const record = await this.require(caller, name);
    if (['Accepted', 'Preparing', 'Running'].includes(record.status)) {
      throw new ConflictError(`Execution "${name}" is ${STATUS_TABLE[record.status].netunicorn}; cancel it before deleting it.`);
    }
    const info = await this.info(record);
    await this.experiments.delete(record.id);
    return info;
  }

  /** Executors of other users' experiments are reported missing, like ones that do not exist. */
  async cancelExecutors(caller: Principal, names: string[]): Promise<{ canceled: string[]; alreadyEnded: string[] }> {
    if (names.length === 0) throw new ValidationError('executors: give at least one executor name', 'executors');
    const found = await Promise.all(names.map((n) => this.trials.executor(n)));
    const owners = await Promise.all(found.map(async (r) => r && (await this.store.get(r.experimentId))?.owner));
    const records = found.map((r, i) => (caller.admin || owners[i] === caller.username ? r : undefined));
    const missing = names.filter((_, i) => !records[i]);
    if (missing.length > 0) throw new NotFoundError(`Not found executor${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}.`);
    return this.orchestrator.cancelExecutors(records.map((r) => r!));
  }

  /** The caller's execution under `name`; NOT_FOUND when there is none (names are per user). */
  async require(caller: Principal, name: string): Promise<ExperimentRecord> {
    checkName(name);
    const record = await this.store.getByExecutionName(caller.username, name);
    if (!record) throw new NotFoundError(`Not found execution "${name}".`);
    return record;
  }

  private async info(record: ExperimentRecord): Promise<ExecutionInfo> {
    const experiment = await this.experiments.get(record.id);
    const executors = await this.trials.executorsOfExperiment(record.id);
    const ran = executors.some((e) => e.startedAt !== null || e.finishedAt !== null);
    return {
      name: record.executionName!,
      status: STATUS_TABLE[record.status].netunicorn,
      experiment,
      executionResult: ran
        ? await Promise.all(
            executors.map(async (e) => {
              const pipeline = await readPipeline(this.layout.executorLogs(record.id, e.name));
              return {
                executor: e.name,
                role: e.role,
                rank: e.rank,
                node: e.node,
                state: e.state,
                exitCode: e.exitCode,
                error: e.cause ?? (e.state === 'Failed' ? `exited with code ${e.exitCode}` : null),
                ...(pipeline.length > 0 && { pipeline }),
              };
            }),
          )
        : null,
    };
  }
}

function checkName(name: string): void {
  if (!EXECUTION_NAME.test(name)) {
    throw new ValidationError(`execution name "${name}" must start with a letter or digit and contain only letters, digits, '.', '_' and '-' (at most 128)`, 'name');
  }
}

/** A digest of the spec that ignores key order, so a client re-sending the same object is recognised. */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
