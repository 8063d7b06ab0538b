/** Determined's `TrialReference`: one trial's logs, metrics and checkpoints. */
import type { Checkpoint as CheckpointInfo, LogLine, MetricReport, Trial } from '@periscope/core';
import { readFollowedLines } from '../followed-lines.js';
import { path, type CallOptions } from '../transport.js';
import type { DeterminedApi, MetricGroup, OrderBy } from './api.js';
import { Checkpoint } from './checkpoint.js';
import { DeterminedUsageError, nonNegativeInteger, setOptions } from './selectors.js';

export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';
const LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];

export interface TrialLogsOptions extends CallOptions {
  /** Keep yielding lines as they are written until the trial ends. Excludes `head` and `tail`. Default false. */
  follow?: boolean;
  /** Only the first N lines. Excludes `follow` and `tail`. */
  head?: number;
  /** Only the last N lines. Excludes `follow` and `head`. */
  tail?: number;
  /** Only these executors (pod names); Determined's `container_ids`. A name the trial lacks: NOT_FOUND. */
  executors?: string[];
  /** Only these ranks. A rank no executor of the trial has: NOT_FOUND. */
  ranks?: number[];
  /** Only these streams. */
  stdtypes?: Array<'stdout' | 'stderr'>;
  /** Only lines at this level or above; a line without a level counts as INFO. */
  minLevel?: LogLevel;
}

export interface CheckpointOrder {
  /** A validation metric name. Default: the searcher's metric (server side). */
  sortBy?: string;
  /** Default: the searcher's `smallerIsBetter`. */
  smallerIsBetter?: boolean;
}

export interface SelectCheckpointOptions extends CheckpointOrder, CallOptions {
  latest?: boolean;
  best?: boolean;
  uuid?: string;
}

export class TrialReference {
  readonly id: number;
  readonly #api: DeterminedApi;
  /** The trial as last fetched: state, hparams, restarts, executors. */
  info: Trial | undefined;

  constructor(api: DeterminedApi, id: number, info?: Trial) {
    this.#api = api;
    this.id = id;
    this.info = info;
  }

  get experimentId(): string | undefined {
    return this.info?.experimentId;
  }
  get state(): string | undefined {
    return this.info?.state;
  }
  get hparams(): Record<string, unknown> | undefined {
    return this.info?.hparams;
  }

  /** Fetches the trial again (its state, restarts, executors). */
  async reload(options: CallOptions = {}): Promise<this> {
    this.info = await this.#api.trial(this.id, options);
    return this;
  }

  /**
   * The trial's log lines (text only, without the newline) as an async iterable. Validates its options at
   * once, before any request, so a bad combination throws here rather than at the first `next()`.
   */
  logs(options: TrialLogsOptions = {}): AsyncIterable<string> {
    const exclusive = setOptions({ follow: options.follow, head: options.head, tail: options.tail });
    if (exclusive.length > 1) throw new DeterminedUsageError(`logs: ${exclusive.join(' and ')} are mutually exclusive; pass at most one of follow, head, tail`);
    nonNegativeInteger('logs: head', options.head);
    nonNegativeInteger('logs: tail', options.tail);
    if (options.minLevel !== undefined && !LEVELS.includes(options.minLevel)) {
      throw new DeterminedUsageError(`logs: minLevel must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(options.minLevel)}`);
    }
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        for await (const line of self.logLines(options)) yield line.text;
      },
    };
  }

  /** As `logs`, with each line's executor, rank, stream, time and level. */
  async *logLines(options: TrialLogsOptions = {}): AsyncGenerator<LogLine> {
    const keep = lineFilter(options);
    // The server filters on one value of each; more than one is filtered here.
    const query = {
      head: options.head,
      tail: options.tail,
      executor: options.executors?.length === 1 ? options.executors[0] : undefined,
      rank: options.ranks?.length === 1 ? options.ranks[0] : undefined,
      stream: options.stdtypes?.length === 1 ? options.stdtypes[0] : undefined,
    };
    const route = path`/trials/${String(this.id)}/logs`;
    await this.checkFilters(route, options);
    if (!options.follow) {
      // A plain read is one page on the server (attributes.nextCursor names the next): follow the pages to the end.
      let after: string | undefined;
      do {
        const page = await this.#api.transport.call<LogLine[]>({ method: 'GET', path: route, query: { ...query, after }, ...(options.signal && { signal: options.signal }) });
        for (const line of page.result) if (keep(line)) yield line;
        const next = page.attributes.nextCursor;
        after = options.head === undefined && options.tail === undefined && typeof next === 'string' ? next : undefined;
      } while (after !== undefined);
      return;
    }
    const response = await this.#api.transport.open({ method: 'GET', path: route, query: { ...query, follow: true }, timeoutMs: 0, signal: options.signal });
    for await (const { id: _id, ...line } of readFollowedLines(response.body!, this.id, options.signal)) {
      if (keep(line)) yield line;
    }
  }

  /**
   * The server filters on one executor and one rank, and answers NOT_FOUND for a value the trial lacks. Each
   * value of a longer list is put to it the same way (`head=0`: no lines), so every list follows that one rule.
   */
  private async checkFilters(route: string, options: TrialLogsOptions): Promise<void> {
    const probes = [
      ...(options.executors && options.executors.length > 1 ? options.executors.map((executor) => ({ executor })) : []),
      ...(options.ranks && options.ranks.length > 1 ? options.ranks.map((rank) => ({ rank })) : []),
    ];
    for (const query of probes) await this.#api.result<LogLine[]>({ method: 'GET', path: route, query: { ...query, head: 0 }, signal: options.signal });
  }

  /** The trial's checkpoints, ordered by a validation metric (`sortBy`) or, without one, as reported. */
  async getCheckpoints(options: { sortBy?: string; orderBy?: OrderBy } & CallOptions = {}): Promise<Checkpoint[]> {
    const { signal, ...query } = options;
    const infos = await this.#api.trialCheckpoints(this.id, query, { signal });
    return infos.map((info) => new Checkpoint(this.#api, info));
  }

  /** The checkpoint with the best validation metric. Rejects when no checkpoint has that metric. */
  async topCheckpoint(options: CheckpointOrder & CallOptions = {}): Promise<Checkpoint> {
    const { sortBy, smallerIsBetter } = await this.order(options);
    const infos = await this.#api.trialCheckpoints(this.id, { sortBy, orderBy: smallerIsBetter ? 'asc' : 'desc' }, { signal: options.signal });
    const best = infos.find((info) => typeof info.training.validationMetrics?.[sortBy] === 'number');
    if (!best) {
      throw new DeterminedUsageError(
        infos.length === 0 ? `trial ${this.id} has no checkpoints` : `no checkpoint of trial ${this.id} has the validation metric "${sortBy}"; ${reportedMetrics(infos)}`,
      );
    }
    return new Checkpoint(this.#api, best);
  }

  /** Exactly one of `latest`, `best` or `uuid`. */
  async selectCheckpoint(options: SelectCheckpointOptions): Promise<Checkpoint> {
    const chosen = setOptions({ latest: options.latest, best: options.best, uuid: options.uuid });
    if (chosen.length !== 1) {
      throw new DeterminedUsageError(`selectCheckpoint: exactly one of latest, best or uuid must be set, got ${chosen.length === 0 ? 'none' : chosen.join(' and ')}`);
    }
    if ((options.sortBy !== undefined || options.smallerIsBetter !== undefined) && !options.best) {
      throw new DeterminedUsageError('selectCheckpoint: sortBy and smallerIsBetter apply only with best');
    }
    const signal = options.signal;
    if (options.best) return this.topCheckpoint(options);
    if (options.uuid !== undefined) {
      const info = await this.#api.checkpoint(options.uuid, { signal });
      if (info.trialId !== this.id) throw new DeterminedUsageError(`checkpoint ${options.uuid} belongs to trial ${info.trialId}, not trial ${this.id}`);
      return new Checkpoint(this.#api, info);
    }
    const infos = await this.#api.trialCheckpoints(this.id, {}, { signal });
    if (infos.length === 0) throw new DeterminedUsageError(`trial ${this.id} has no checkpoints`);
    const latest = infos.reduce((a, b) => (compareLatest(a, b) >= 0 ? a : b));
    return new Checkpoint(this.#api, latest);
  }

  /** Every metric report of the trial (both groups unless `group` says one), oldest step first, fetched in pages. */
  async *metrics(options: { group?: MetricGroup; pageSize?: number } & CallOptions = {}): AsyncGenerator<MetricReport> {
    const limit = options.pageSize ?? 10_000;
    const groups: MetricGroup[] = options.group ? [options.group] : ['training', 'validation'];
    for (const group of groups) {
      let afterSteps: number | undefined;
      for (;;) {
        const page = await this.#api.metrics(this.id, { group, limit, afterSteps }, { signal: options.signal });
        yield* page;
        if (page.length < limit) break;
        afterSteps = page[page.length - 1]!.stepsCompleted;
      }
    }
  }

  /** The explicit order, or the experiment's searcher metric. */
  private async order(options: CheckpointOrder & CallOptions): Promise<{ sortBy: string; smallerIsBetter: boolean }> {
    if (options.sortBy !== undefined && options.smallerIsBetter !== undefined) return { sortBy: options.sortBy, smallerIsBetter: options.smallerIsBetter };
    const info = this.info ?? (await this.reload(options)).info!;
    const searcher = (await this.#api.experiment(info.experimentId, options)).spec.searcher;
    const sortBy = options.sortBy ?? searcher?.metric;
    if (sortBy === undefined) throw new DeterminedUsageError(`sortBy: required, since experiment ${info.experimentId} has no searcher metric`);
    return { sortBy, smallerIsBetter: options.smallerIsBetter ?? searcher?.smallerIsBetter ?? true };
  }
}

function compareLatest(a: CheckpointInfo, b: CheckpointInfo): number {
  return a.reportTime.localeCompare(b.reportTime) || a.stepsCompleted - b.stepsCompleted;
}

export function reportedMetrics(infos: readonly CheckpointInfo[]): string {
  const names = new Set(infos.flatMap((info) => Object.keys(info.training.validationMetrics ?? {})));
  return names.size === 0 ? 'no validation metrics were reported at its checkpoints' : `reported: ${[...names].sort().join(', ')}`;
}

function lineFilter(options: TrialLogsOptions): (line: LogLine) => boolean {
  const executors = options.executors && new Set(options.executors);
  const ranks = options.ranks && new Set(options.ranks);
  const streams = options.stdtypes && new Set<string>(options.stdtypes);
  const min = options.minLevel ? LEVELS.indexOf(options.minLevel) : -1;
  return (line) =>
    (!executors || executors.has(line.executor)) &&
    (!ranks || ranks.has(line.rank)) &&
    (!streams || streams.has(line.stream)) &&
    (min < 0 || levelIndex(line.level) >= min);
}

function levelIndex(level: string | null): number {
  const index = LEVELS.indexOf((level ?? 'INFO').toUpperCase() as LogLevel);
  return index < 0 ? LEVELS.indexOf('INFO') : index;
}
