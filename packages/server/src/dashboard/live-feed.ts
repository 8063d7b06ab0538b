/**
 * The dashboard's live feed: every committed experiment change as its summary, and, for a stream that follows
 * one experiment, a nudge per change of its trials (the page then reads what it shows). Nothing is built while
 * nobody listens. Each stream sees only what its caller may read, and a slow reader holds at most one pending
 * event per experiment or trial change kind: newer replaces older, so memory stays bounded and the last word
 * always arrives.
 */
import type { DashboardEvent, TrialChange } from '@periscope/core';
import type { FastifyBaseLogger } from 'fastify';
import type { EventBus } from '../execution/events.js';
import type { ExperimentChange, ExperimentRecord, ExperimentStore } from '../experiments/store.js';
import type { TrialStore } from '../trials/store.js';
import type { Principal } from '../users/service.js';
import type { Summaries } from './summaries.js';

/** The first event of every stream: from here on nothing is missed, so the page may read its state now. */
export type FeedEvent = DashboardEvent | { type: 'ready' };

interface Subscriber {
  caller: Principal;
  /** Only this experiment, with its trials' nudges. */
  experiment: string | undefined;
  pending: Map<string, FeedEvent>;
  wake: (() => void) | undefined;
}

/** Trial → experiment, for the executor and pending events that name only the trial. */
const MAX_REMEMBERED_TRIALS = 10_000;

export class LiveFeed {
  readonly #subscribers = new Set<Subscriber>();
  /** Experiments whose summary is due: the record as told, or null to read it again (its trials changed). */
  #due = new Map<string, { record: ExperimentRecord | null; deleted: boolean }>();
  #flushing: Promise<void> | undefined;
  #closed = false;
  readonly #experimentOfTrial = new Map<number, string>();
  readonly #stopHearingExperiments: () => void;
  /** Subscribed only while a stream is open: some publishers skip work nobody hears (pending reasons). */
  #stopHearingTrials: Array<() => void> = [];

  constructor(
    private readonly experiments: ExperimentStore,
    private readonly trials: TrialStore,
    private readonly summaries: Summaries,
    private readonly bus: EventBus,
    private readonly log: FastifyBaseLogger,
  ) {
    this.#stopHearingExperiments = experiments.onChange((change) => this.#experimentChanged(change));
  }

  #hearTrials(): void {
    const { bus } = this;
    this.#stopHearingTrials = [
      bus.on('trial.moved', ({ trial }) => this.#trialChanged(trial.id, trial.experimentId, 'moved', true)),
      bus.on('metrics.reported', ({ trial, group }) => this.#trialChanged(trial.id, trial.experimentId, 'metrics', group === 'validation')),
      bus.on('checkpoint.reported', ({ trial }) => this.#trialChanged(trial.id, trial.experimentId, 'checkpoint', false)),
      bus.on('trial.pending', ({ trialId }) => this.#trialChanged(trialId, undefined, 'pending', false)),
      bus.on('executor.started', ({ trialId }) => this.#trialChanged(trialId, undefined, 'executor', false)),
      bus.on('executor.exited', ({ trialId }) => this.#trialChanged(trialId, undefined, 'executor', false)),
    ];
  }

  #stopTrials(): void {
    for (const stop of this.#stopHearingTrials.splice(0)) stop();
  }

  get listeners(): number {
    return this.#subscribers.size;
  }

  /** The caller's events until `signal` aborts: `ready` first, then each change as it is committed. */
  async *stream(caller: Principal, experiment: string | undefined, signal: AbortSignal): AsyncGenerator<FeedEvent> {
    const subscriber: Subscriber = { caller, experiment, pending: new Map([['ready', { type: 'ready' }]]), wake: undefined };
    this.#subscribers.add(subscriber);
    if (this.#subscribers.size === 1) this.#hearTrials();
    const onAbort = () => subscriber.wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted && !this.#closed) {
        if (subscriber.pending.size === 0) await new Promise<void>((resolve) => (subscriber.wake = resolve));
        subscriber.wake = undefined;
        const events = [...subscriber.pending.values()];
        subscriber.pending.clear();
        for (const event of events) {
          if (signal.aborted) return;
          yield event;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#subscribers.delete(subscriber);
      if (this.#subscribers.size === 0) this.#stopTrials();
    }
  }

  close(): void {
    this.#closed = true;
    this.#stopHearingExperiments();
    this.#stopTrials();
    for (const subscriber of this.#subscribers) subscriber.wake?.();
  }

  #experimentChanged(change: ExperimentChange): void {
    if (this.#subscribers.size === 0) return;
    if ('deleted' in change) this.#due.set(change.deleted.id, { record: change.deleted, deleted: true });
    else this.#due.set(change.record.id, { record: change.record, deleted: false });
    this.#flushSoon();
  }

  #trialChanged(trialId: number, experimentId: string | undefined, what: TrialChange, summaryChanged: boolean): void {
    if (this.#subscribers.size === 0) return;
    if (experimentId === undefined) {
      experimentId = this.#experimentOfTrial.get(trialId);
      if (experimentId === undefined) {
        void this.trials.get(trialId).then(
          (trial) => trial && this.#trialChanged(trialId, trial.experimentId, what, summaryChanged),
          (error: unknown) => this.log.warn({ err: error, trialId }, 'the live feed could not read a trial'),
        );
        return;
      }
    } else {
      if (this.#experimentOfTrial.size >= MAX_REMEMBERED_TRIALS) this.#experimentOfTrial.clear();
      this.#experimentOfTrial.set(trialId, experimentId);
    }
    const event: FeedEvent = { type: 'trial', experimentId, trialId, what };
    for (const subscriber of this.#subscribers) {
      if (subscriber.experiment === experimentId) this.#deliver(subscriber, `trial:${trialId}:${what}`, event);
    }
    if (summaryChanged && !this.#due.has(experimentId)) {
      this.#due.set(experimentId, { record: null, deleted: false });
      this.#flushSoon();
    }
  }

  /** One flush at a time, so an experiment's summaries go out in the order its changes were committed. */
  #flushSoon(): void {
    this.#flushing ??= (async () => {
      try {
        while (this.#due.size > 0) {
          const due = this.#due;
          this.#due = new Map();
          await this.#flush(due);
        }
      } catch (error) {
        this.log.warn({ err: error }, 'the live feed could not build experiment summaries');
      } finally {
        this.#flushing = undefined;
      }
    })();
  }

  async #flush(due: Map<string, { record: ExperimentRecord | null; deleted: boolean }>): Promise<void> {
    const records: ExperimentRecord[] = [];
    for (const [id, { record, deleted }] of due) {
      if (deleted) {
        this.#publish(record!.owner, id, { type: 'deleted', experimentId: id });
        continue;
      }
      const current = record ?? (await this.experiments.get(id));
      if (current) records.push(current);
    }
    for (const summary of await this.summaries.of(records)) this.#publish(summary.owner, summary.experimentId, { type: 'experiment', experiment: summary });
  }

  #publish(owner: string, experimentId: string, event: FeedEvent): void {
    for (const subscriber of this.#subscribers) {
      if (subscriber.experiment !== undefined && subscriber.experiment !== experimentId) continue;
      if (!subscriber.caller.admin && subscriber.caller.username !== owner) continue;
      this.#deliver(subscriber, `experiment:${experimentId}`, event);
    }
  }

  #deliver(subscriber: Subscriber, key: string, event: FeedEvent): void {
    // Re-inserted at the end: the order of delivery stays the order of the latest changes.
    subscriber.pending.delete(key);
    subscriber.pending.set(key, event);
    subscriber.wake?.();
  }
}
