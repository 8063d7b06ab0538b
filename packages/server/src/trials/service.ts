import { formatTime, NotFoundError, type Executor, type Trial } from '@periscope/core';
import type { ExperimentRecord } from '../experiments/store.js';
import type { LogLine, LogPage, LogQuery, LogService, LogSource } from '../logs/service.js';
import { isTrialFinished, type ExecutorRecord, type TrialRecord, type TrialStore } from './store.js';

export type TrialView = Trial;
export type ExecutorView = Executor;

export interface TrialLogQuery extends LogQuery {
  executor?: string;
  rank?: number;
}

/** How often a follower checks whether its trial has ended (lines themselves arrive as they are written). */
const FOLLOW_CHECK_MS = 250;

/** Trials and their executors as the API shows them, and their logs. */
export class TrialService {
  constructor(
    private readonly trials: TrialStore,
    private readonly logs: LogService,
  ) {}

  async ofExperiment(experiment: ExperimentRecord): Promise<TrialView[]> {
    const trials = await this.trials.ofExperiment(experiment.id);
    return Promise.all(trials.map((t) => this.view(t)));
  }

  async get(id: number): Promise<TrialView> {
    return this.view(await this.require(id));
  }

  /** Head, tail, or one page of lines (see LogService.lines) with the next page's cursor. */
  async lines(id: number, query: TrialLogQuery): Promise<LogPage> {
    const sources = await this.sources(await this.require(id), query);
    return this.logs.lines(sources, query);
  }

  /** Backlog (per the query) then live lines until the trial has ended and its logs are complete, or `signal` aborts. */
  async follow(id: number, query: TrialLogQuery, onLines: (lines: LogLine[]) => void, signal: AbortSignal): Promise<void> {
    const trial = await this.require(id);
    const sources = await this.sources(trial, query);
    const buffered: LogLine[][] = [];
    let live = false;
    // Per executor stream, the offset of the last line sent: a line at or before it was sent already. The
    // tailer may deliver a line the backlog also read, before or after the backlog is sent; it goes out once.
    const reached = new Map<string, number>();
    const send = (lines: LogLine[]) => {
      const fresh = lines.filter((l) => l.offset > (reached.get(`${l.executor}/${l.stream}`) ?? -1));
      for (const l of fresh) reached.set(`${l.executor}/${l.stream}`, l.offset);
      if (fresh.length > 0) onLines(fresh);
    };
    // Subscribe before reading the backlog so no line falls between the two.
    const stop = this.logs.follow(sources, query, (lines) => (live ? send(lines) : buffered.push(lines)));
    try {
      // The backlog page by page (a plain follow sends all of it without holding it all at once).
      for (let page = await this.logs.lines(sources, query); ; page = await this.logs.lines(sources, { ...query, after: page.next })) {
        send(page.lines);
        if (page.next === null || signal.aborted) break;
      }
      for (const lines of buffered) send(lines);
      live = true;
      while (!signal.aborted) {
        const current = await this.trials.get(id);
        const ended = !current || isTrialFinished(current.state);
        if (ended && sources.every((s) => !this.logs.isLive(s.executor))) break;
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, FOLLOW_CHECK_MS);
          signal.addEventListener('abort', () => (clearTimeout(timer), resolve(undefined)), { once: true });
        });
      }
    } finally {
      stop();
    }
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

  private async view(trial: TrialRecord): Promise<TrialView> {
    const executors = await this.trials.executors(trial.id);
    return {
      id: trial.id,
      experimentId: trial.experimentId,
      number: trial.number,
      state: trial.state,
      restarts: trial.restarts,
      hparams: trial.hparams,
      message: trial.message,
      queuedTime: formatTime(trial.queuedAt),
      startedTime: formatTime(trial.startedAt),
      finishedTime: formatTime(trial.finishedAt),
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
    startedTime: formatTime(e.startedAt),
    finishedTime: formatTime(e.finishedAt),
  };
}
