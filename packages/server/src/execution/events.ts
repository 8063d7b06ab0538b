/**
 * Domain events: what happened to trials, experiments and executors, told to any number of subscribers (the
 * search driver, follow streams, and next the dashboard's live feed). A subscriber that throws is logged and
 * the others still hear the event; publishing never fails the code that published.
 */
import type { Checkpoint, MetricGroup, MetricValue } from '@periscope/core';
import type { FastifyBaseLogger } from 'fastify';
import type { TrialRecord, TrialState } from '../trials/store.js';
import type { ExecutorExit, ExecutorPending, ExecutorStarted } from './launcher.js';

/** How a trial ended. */
export type TrialOutcome = 'Succeeded' | 'Failed' | 'Canceled';

export interface DomainEvents {
  /** A trial's status moved (written to the store; the record is as it is now). */
  'trial.moved': { trial: TrialRecord; from: readonly TrialState[]; to: TrialState };
  /** A trial reached a terminal state: the first one written wins, and only it is told. */
  'trial.finished': { trial: TrialRecord; outcome: TrialOutcome };
  /** The engine is holding a trial back: why, in words ("waiting for 2 GPUs"). */
  'trial.pending': { trialId: number; reason: string };
  'executor.started': ExecutorStarted & { trialId: number };
  'executor.exited': ExecutorExit & { trialId: number };
  /** A trial reported training or validation metrics (stored before this is told). */
  'metrics.reported': { trial: TrialRecord; group: MetricGroup; reports: readonly { stepsCompleted: number; metrics: Record<string, MetricValue> }[] };
  /** A trial reported a checkpoint (stored, its files listed). */
  'checkpoint.reported': { trial: TrialRecord; checkpoint: Checkpoint };
}

export type DomainEventName = keyof DomainEvents;
type Listener<K extends DomainEventName> = (event: DomainEvents[K]) => void;

export class EventBus {
  private readonly listeners = new Map<DomainEventName, Set<Listener<never>>>();

  constructor(private readonly log: FastifyBaseLogger) {}

  /** Subscribes; the answer unsubscribes. */
  on<K extends DomainEventName>(name: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  /** Whether anyone listens: lets a publisher skip building events nobody hears. */
  heard(name: DomainEventName): boolean {
    return (this.listeners.get(name)?.size ?? 0) > 0;
  }

  emit<K extends DomainEventName>(name: K, event: DomainEvents[K]): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        (listener as Listener<K>)(event);
      } catch (error) {
        this.log.error({ err: error, event: name }, 'a subscriber to a domain event failed');
      }
    }
  }
}
