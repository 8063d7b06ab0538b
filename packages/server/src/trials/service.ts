import { formatTime, NotFoundError, type Executor, type Trial } from '@periscope/core';
import type { ExperimentRecord } from '../experiments/store.js';
import type { Endings, FollowedLine, LogPage, LogQuery, LogService, LogSource } from '../logs/service.js';
import { isTrialFinished, type ExecutorRecord, type TrialRecord, type TrialStore } from './store.js';

export type TrialView = Trial;
export type ExecutorView = Executor;

export interface TrialLogQuery extends LogQuery {
  executor?: string;
  rank?: number;
}

/** Trials and their executors as the API shows them, and their logs. */
export class TrialService {
  constructor(
    private readonly trials: TrialStore,
    private readonly logs: LogService,
    /** Why each trial in the engine's queue waits (the scheduler knows; the store does not keep it). */
    private readonly waiting: () => ReadonlyArray<{ trialId: number; reason: string }> = () => [],
    /** Calls back when the trial finishes (the engine's trial.finished), so a follow ends at once. */
    private readonly finishing: (trialId: number) => Endings | undefined = () => undefined,
  ) {}

  async ofExperiment(experiment: ExperimentRecord): Promise<TrialView[]> {
    const trials = await this.trials.ofExperiment(experiment.id);
    const reasons = trials.some((t) => t.state === 'Queued') ? this.reasons() : undefined;
    return Promise.all(trials.map((t) => this.view(t, reasons)));
  }

  async get(id: number): Promise<TrialView> {
    const trial = await this.require(id);
    return this.view(trial, trial.state === 'Queued' ? this.reasons() : undefined);
  }

  private reasons(): Map<number, string> {
    return new Map(this.waiting().map((w) => [w.trialId, w.reason]));
  }

  /** Head, tail, or one page of lines (see LogService.lines) with the next page's cursor. */
  async lines(id: number, query: TrialLogQuery): Promise<LogPage> {
    const sources = await this.sources(await this.require(id), query);
    return this.logs.lines(sources, query);
  }

  /**
   * The trial's lines as LogService.follow streams them, until the trial has ended and its logs are complete,
   * or `signal` aborts. A missing trial, a filter that names nothing, or a bad cursor is thrown here, before
   * the first line.
   */
  async follow(id: number, query: TrialLogQuery, signal: AbortSignal): Promise<AsyncGenerator<FollowedLine>> {
    const sources = await this.sources(await this.require(id), query);
    const ended = async () => {
      const current = await this.trials.get(id);
      return (!current || isTrialFinished(current.state)) && sources.every((s) => !this.logs.isLive(s.executor));
    };
    return this.logs.follow(sources, query, ended, signal, this.finishing(id));
  }

  private async sources(trial: TrialRecord, query: TrialLogQuery): Promise<LogSource[]> {
    const executors = await this.trials.executors(trial.id);
    // One rule for every filter: a value that names nothing the trial has is a 404 naming it (a typo is not
    // an empty log); values that exist but select no line (a rank of another executor) answer no lines.
    if (query.executor !== undefined && !executors.some((e) => e.name === query.executor)) throw new NotFoundError(`Trial ${trial.id} has no executor named "${query.executor}".`);
    if (query.rank !== undefined && !executors.some((e) => e.rank === query.rank)) throw new NotFoundError(`Trial ${trial.id} has no executor of rank ${query.rank}.`);
    const picked = executors.filter((e) => (query.executor === undefined || e.name === query.executor) && (query.rank === undefined || e.rank === query.rank));
    return picked.map((e) => ({ experimentId: trial.experimentId, executor: e.name, rank: e.rank }));
  }

  private async require(id: number): Promise<TrialRecord> {
    const trial = await this.trials.get(id);
    if (!trial) throw new NotFoundError(`Not found trial ${id}.`);
    return trial;
  }

  private async view(trial: TrialRecord, reasons: Map<number, string> | undefined): Promise<TrialView> {
    const executors = await this.trials.executors(trial.id);
    return {
      id: trial.id,
      experimentId: trial.experimentId,
      number: trial.number,
      state: trial.state,
      restarts: trial.restarts,
      hparams: trial.hparams,
      // A queued trial's message is why it waits, as the scheduler sees it now.
      message: (trial.state === 'Queued' && reasons?.get(trial.id)) || trial.message,
      queuedTime: formatTime(trial.queuedAt),
      startedTime: formatTime(trial.startedAt),
      finishedTime: formatTime(trial.finishedAt),
      stepsCompleted: trial.stepsCompleted,
      bestValidation: trial.bestValidation,
      latestValidation: trial.latestValidation,
      latestCheckpoint: trial.latestCheckpoint,
      executors: executors.map(viewExecutor),
    };
  }
}

function viewExecutor(e: ExecutorRecord): ExecutorView {
  return {
    name: e.name,
    role: e.role,
    replica: e.replica,
    rank: e.rank,
    node: e.node,
    state: e.state,
    pid: e.pid,
    exitCode: e.exitCode,
    signal: e.signal,
    cause: e.cause,
    gpus: e.gpus,
    handle: e.handle,
    startedTime: formatTime(e.startedAt),
    finishedTime: formatTime(e.finishedAt),
  };
}
