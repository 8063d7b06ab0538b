/**
 * The dashboard's row per experiment: the Submarine fields it lists plus owner, framework and best metric, read
 * a page at a time (newest first, by key) so 100,000 stored experiments list as fast as ten.
 */
import { ForbiddenError, formatTime, toSubmarineStatus, type ExperimentSummary, type ListSummariesQuery } from '@periscope/core';
import { statusFilter } from '../experiments/service.js';
import type { ExperimentRecord, ExperimentStore } from '../experiments/store.js';
import type { TrialStore, TrialTally } from '../trials/store.js';
import type { Principal } from '../users/service.js';

export const DEFAULT_SUMMARY_PAGE = 50;

export interface SummaryPage {
  items: ExperimentSummary[];
  nextCursor: string | null;
}

export class Summaries {
  constructor(
    private readonly experiments: ExperimentStore,
    private readonly trials: TrialStore,
  ) {}

  async page(query: ListSummariesQuery, caller: Principal): Promise<SummaryPage> {
    if (query.owner !== undefined && query.owner !== caller.username && !caller.admin) throw new ForbiddenError("Only an admin may list another user's experiments.");
    const owner = query.owner ?? (caller.admin ? undefined : caller.username);
    const page = await this.experiments.newestFirst({
      ...statusFilter(query.status),
      ...(query.name !== undefined && query.name !== '' && { nameContains: query.name }),
      ...(owner !== undefined && { owner }),
      limit: query.limit ?? DEFAULT_SUMMARY_PAGE,
      ...(query.before !== undefined && { before: Number(query.before) }),
    });
    return { items: await this.of(page.items), nextCursor: page.nextCursor };
  }

  /** The summaries of these records, with their trials counted in one query. */
  async of(records: readonly ExperimentRecord[]): Promise<ExperimentSummary[]> {
    const tallies = await this.trials.tallies(records.map((r) => r.id));
    return records.map((record) => summarize(record, tallies.get(record.id)));
  }
}

export function summarize(record: ExperimentRecord, tally: TrialTally | undefined): ExperimentSummary {
  const { meta, searcher } = record.spec;
  const best = searcher && (searcher.smallerIsBetter ? tally?.lowest : tally?.highest);
  return {
    experimentId: record.id,
    name: record.name,
    status: toSubmarineStatus(record.status),
    owner: record.owner,
    framework: meta.framework ?? null,
    tags: meta.tags ?? [],
    acceptedTime: formatTime(record.acceptedAt),
    createdTime: formatTime(record.createdAt),
    runningTime: formatTime(record.runningAt),
    finishedTime: formatTime(record.finishedAt),
    message: record.message,
    trials: tally?.trials ?? 0,
    searcher: searcher?.name ?? null,
    bestMetric: searcher && best !== undefined && best !== null ? { name: searcher.metric, value: best, smallerIsBetter: searcher.smallerIsBetter } : null,
  };
}
