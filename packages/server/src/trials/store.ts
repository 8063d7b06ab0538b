import type { NormalizedExperimentSpec } from '@periscope/core';
import type { Kysely, Selectable, Transaction, Updateable } from 'kysely';
import { millis } from '../db/database.js';
import type { Database, ExecutorsTable, TrialsTable } from '../db/schema.js';
import type { ExitFault } from '../execution/launcher.js';

/** Ready: prepared (code synced, executors planned) and waiting for an explicit start. */
export const TRIAL_STATES = ['Queued', 'Preparing', 'Ready', 'Running', 'Succeeded', 'Failed', 'Canceled'] as const;
export type TrialState = (typeof TRIAL_STATES)[number];
export const UNFINISHED_TRIAL_STATES: readonly TrialState[] = ['Queued', 'Preparing', 'Running'];
export const FINISHED_TRIAL_STATES: readonly TrialState[] = ['Succeeded', 'Failed', 'Canceled'];

export function isTrialFinished(state: TrialState): boolean {
  return FINISHED_TRIAL_STATES.includes(state);
}

export const EXECUTOR_STATES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Canceled', 'Lost'] as const;
export type ExecutorState = (typeof EXECUTOR_STATES)[number];
export const ENDED_EXECUTOR_STATES: readonly ExecutorState[] = ['Succeeded', 'Failed', 'Canceled', 'Lost'];

export function isExecutorEnded(state: ExecutorState): boolean {
  return ENDED_EXECUTOR_STATES.includes(state);
}

export interface TrialRecord {
  id: number;
  experimentId: string;
  number: number;
  state: TrialState;
  priority: number;
  restarts: number;
  hparams: Record<string, unknown>;
  message: string | null;
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  stepsCompleted: number | null;
  bestValidation: number | null;
  latestValidation: number | null;
  latestCheckpoint: string | null;
  requestId: string | null;
  lengthBudget: number | null;
  stopRequested: boolean;
  /** The spec this trial runs with (a PATCH of the experiment applies to its next run); null on old rows. */
  runSpec: NormalizedExperimentSpec | null;
}

export interface ExecutorRecord {
  name: string;
  trialId: number;
  experimentId: string;
  role: string;
  replica: number;
  rank: number;
  node: string | null;
  state: ExecutorState;
  pid: number | null;
  /** The launcher's handle (what cancel and recovery use); null before it started. */
  handle: string | null;
  exitCode: number | null;
  signal: string | null;
  cause: string | null;
  /** Whose fault its end was (user, platform, cancel); null while it runs. */
  fault: ExitFault | null;
  gpus: number[];
  startedAt: number | null;
  finishedAt: number | null;
  /** Asked to stop on its own (cancel of single executors); its end does not fail the trial. */
  cancelRequested: boolean;
}

export type TrialUpdate = Partial<Pick<TrialRecord, 'state' | 'restarts' | 'message' | 'startedAt' | 'finishedAt' | 'lengthBudget' | 'stopRequested'>>;
export type ExecutorUpdate = Partial<Pick<ExecutorRecord, 'state' | 'pid' | 'handle' | 'exitCode' | 'signal' | 'cause' | 'fault' | 'gpus' | 'node' | 'startedAt' | 'finishedAt' | 'cancelRequested'>>;
export type NewExecutor = Pick<ExecutorRecord, 'name' | 'role' | 'replica' | 'rank'>;

/** Storage of trials and their executors. */
export interface TrialTally {
  trials: number;
  lowest: number | null;
  highest: number | null;
}

export class TrialStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Writes a trial and its executors in one transaction (`within`: as part of the caller's transaction). */
  async create(
    experimentId: string,
    number: number,
    priority: number,
    hparams: Record<string, unknown>,
    executors: NewExecutor[],
    requestId: string | null = null,
    runSpec: NormalizedExperimentSpec | null = null,
    within?: Transaction<Database>,
    /** Ready for a trial prepared before it was stored (two-phase.ts). */
    state: 'Queued' | 'Ready' = 'Queued',
  ): Promise<TrialRecord> {
    const write = async (tx: Transaction<Database>): Promise<TrialRecord> => {
      const row = await tx
        .insertInto('trials')
        .values({ experiment_id: experimentId, number, state, priority, restarts: 0, hparams: JSON.stringify(hparams), message: null, queued_at: Date.now(), started_at: null, finished_at: null, request_id: requestId, run_spec: runSpec && JSON.stringify(runSpec) })
        .returningAll()
        .executeTakeFirstOrThrow();
      const trial = toTrial(row);
      if (executors.length > 0) {
        await tx
          .insertInto('executors')
          .values(executors.map((e) => ({ ...e, trial_id: trial.id, experiment_id: experimentId, node: null, state: 'Pending', pid: null, handle: null, exit_code: null, signal: null, cause: null, fault: null, gpus: null, started_at: null, finished_at: null })))
          .execute();
      }
      return trial;
    };
    return within ? await write(within) : await this.db.transaction().execute(write);
  }

  /** Per experiment: how many trials it has, and the lowest and highest best validation among them. */
  async tallies(experimentIds: readonly string[]): Promise<Map<string, TrialTally>> {
    const tallies = new Map<string, TrialTally>();
    if (experimentIds.length === 0) return tallies;
    const rows = await this.db
      .selectFrom('trials')
      .select((eb) => ['experiment_id', eb.fn.countAll().as('trials'), eb.fn.min('best_validation').as('lowest'), eb.fn.max('best_validation').as('highest')])
      .where('experiment_id', 'in', experimentIds)
      .groupBy('experiment_id')
      .execute();
    // pg answers count(*) as a string.
    for (const row of rows) tallies.set(row.experiment_id, { trials: Number(row.trials), lowest: row.lowest === null ? null : Number(row.lowest), highest: row.highest === null ? null : Number(row.highest) });
    return tallies;
  }

  async get(id: number): Promise<TrialRecord | undefined> {
    const row = await this.db.selectFrom('trials').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toTrial(row);
  }

  async ofExperiment(experimentId: string): Promise<TrialRecord[]> {
    return (await this.db.selectFrom('trials').selectAll().where('experiment_id', '=', experimentId).orderBy('number').execute()).map(toTrial);
  }

  async unfinished(): Promise<TrialRecord[]> {
    return (await this.db.selectFrom('trials').selectAll().where('state', 'in', UNFINISHED_TRIAL_STATES).orderBy('id').execute()).map(toTrial);
  }

  /**
   * Changes a trial. A change of state never moves a finished trial (the first terminal state wins); it
   * answers whether the change was applied. A deliberate new attempt of a finished trial goes through reopen().
   */
  /**
   * Changes a trial (answers whether the change applied). A change of state applies only from `from` (the trial
   * lifecycle's table), and never to a trial that has ended: the first terminal state written wins.
   */
  async update(id: number, update: TrialUpdate, from?: readonly TrialState[]): Promise<boolean> {
    const set: Updateable<TrialsTable> = {};
    if (update.state !== undefined) set.state = update.state;
    if (update.restarts !== undefined) set.restarts = update.restarts;
    if (update.message !== undefined) set.message = update.message;
    if (update.startedAt !== undefined) set.started_at = update.startedAt;
    if (update.finishedAt !== undefined) set.finished_at = update.finishedAt;
    if (update.lengthBudget !== undefined) set.length_budget = update.lengthBudget;
    if (update.stopRequested !== undefined) set.stop_requested = update.stopRequested ? 1 : 0;
    if (Object.keys(set).length === 0) return true;
    let query = this.db.updateTable('trials').set(set).where('id', '=', id);
    if (update.state !== undefined) query = query.where('state', 'not in', FINISHED_TRIAL_STATES);
    if (update.state !== undefined && from !== undefined) query = query.where('state', 'in', from.length > 0 ? from : ['']);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Queues a finished trial again (an ASHA promotion): the one path out of a terminal state. */
  async reopen(id: number): Promise<boolean> {
    const result = await this.db.updateTable('trials').set({ state: 'Queued', finished_at: null }).where('id', '=', id).where('state', 'in', FINISHED_TRIAL_STATES).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async executors(trialId: number): Promise<ExecutorRecord[]> {
    return (await this.db.selectFrom('executors').selectAll().where('trial_id', '=', trialId).orderBy('rank').execute()).map(toExecutor);
  }

  async executorsOfExperiment(experimentId: string): Promise<ExecutorRecord[]> {
    return (await this.db.selectFrom('executors').selectAll().where('experiment_id', '=', experimentId).orderBy('name').execute()).map(toExecutor);
  }

  /** Changes an executor; like a trial, one that has ended keeps its end (answers whether the change applied). */
  async updateExecutor(name: string, update: ExecutorUpdate): Promise<boolean> {
    const set: Updateable<ExecutorsTable> = {};
    if (update.state !== undefined) set.state = update.state;
    if (update.pid !== undefined) set.pid = update.pid;
    if (update.handle !== undefined) set.handle = update.handle;
    if (update.fault !== undefined) set.fault = update.fault;
    if (update.exitCode !== undefined) set.exit_code = update.exitCode;
    if (update.signal !== undefined) set.signal = update.signal;
    if (update.cause !== undefined) set.cause = update.cause;
    if (update.gpus !== undefined) set.gpus = update.gpus.join(',');
    if (update.node !== undefined) set.node = update.node;
    if (update.startedAt !== undefined) set.started_at = update.startedAt;
    if (update.finishedAt !== undefined) set.finished_at = update.finishedAt;
    if (update.cancelRequested !== undefined) set.cancel_requested = update.cancelRequested ? 1 : 0;
    if (Object.keys(set).length === 0) return true;
    let query = this.db.updateTable('executors').set(set).where('name', '=', name);
    if (update.state !== undefined) query = query.where('state', 'not in', ENDED_EXECUTOR_STATES);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Resets every executor of a trial for a new attempt. */
  async resetExecutors(trialId: number): Promise<void> {
    await this.db
      .updateTable('executors')
      .set({ state: 'Pending', pid: null, handle: null, exit_code: null, signal: null, cause: null, fault: null, gpus: null, started_at: null, finished_at: null, cancel_requested: 0 })
      .where('trial_id', '=', trialId)
      .execute();
  }

  async executor(name: string): Promise<ExecutorRecord | undefined> {
    const row = await this.db.selectFrom('executors').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toExecutor(row);
  }

  /** Everything an experiment leaves in the store besides its own row: trials, executors, metrics, checkpoints, flags. */
  async deleteExperiment(experimentId: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const trialIds = tx.selectFrom('trials').select('id').where('experiment_id', '=', experimentId);
      await tx.deleteFrom('metrics').where('trial_id', 'in', trialIds).execute();
      await tx.deleteFrom('checkpoints').where('experiment_id', '=', experimentId).execute();
      await tx.deleteFrom('executors').where('experiment_id', '=', experimentId).execute();
      await tx.deleteFrom('trials').where('experiment_id', '=', experimentId).execute();
      await tx.deleteFrom('flags').where('experiment_id', '=', experimentId).execute();
    });
  }
}

function toTrial(row: Selectable<TrialsTable>): TrialRecord {
  return {
    id: Number(row.id),
    experimentId: row.experiment_id,
    number: row.number,
    state: row.state as TrialState,
    priority: row.priority,
    restarts: row.restarts,
    hparams: JSON.parse(row.hparams) as Record<string, unknown>,
    message: row.message,
    queuedAt: Number(row.queued_at),
    startedAt: millis(row.started_at),
    finishedAt: millis(row.finished_at),
    stepsCompleted: millis(row.steps_completed),
    bestValidation: row.best_validation === null ? null : Number(row.best_validation),
    latestValidation: row.latest_validation === null ? null : Number(row.latest_validation),
    latestCheckpoint: row.latest_checkpoint,
    requestId: row.request_id,
    lengthBudget: row.length_budget === null ? null : Number(row.length_budget),
    stopRequested: Number(row.stop_requested) === 1,
    runSpec: row.run_spec ? (JSON.parse(row.run_spec) as NormalizedExperimentSpec) : null,
  };
}

function toExecutor(row: Selectable<ExecutorsTable>): ExecutorRecord {
  return {
    name: row.name,
    trialId: Number(row.trial_id),
    experimentId: row.experiment_id,
    role: row.role,
    replica: row.replica,
    rank: row.rank,
    node: row.node,
    state: row.state as ExecutorState,
    pid: row.pid,
    handle: row.handle,
    exitCode: row.exit_code,
    signal: row.signal,
    cause: row.cause,
    fault: row.fault as ExitFault | null,
    gpus: row.gpus ? row.gpus.split(',').map(Number) : [],
    startedAt: millis(row.started_at),
    finishedAt: millis(row.finished_at),
    cancelRequested: Number(row.cancel_requested) === 1,
  };
}
