/**
 * The trial lifecycle: the only code that moves a trial's state. Every move is one conditional write, from the
 * states the table allows, so a move the table does not list (or that lost a race to a terminal state) changes
 * nothing; each move that happened is published on the event bus, and a terminal one once as `trial.finished`.
 */
import type { FastifyBaseLogger } from 'fastify';
import { FINISHED_TRIAL_STATES, isTrialFinished, type TrialRecord, type TrialState, type TrialStore, type TrialUpdate } from '../trials/store.js';
import type { EventBus, TrialOutcome } from './events.js';

/**
 * Where each state may go. Queued → Preparing is a launch (Preparing → Ready is a two-phase prepare, Ready →
 * Queued its start); → Queued again from a live state is a restart or a recovery; an ended trial leaves its
 * state only through `reopen` (an ASHA promotion).
 */
export const TRIAL_TRANSITIONS: Readonly<Record<TrialState, readonly TrialState[]>> = {
  Queued: ['Queued', 'Preparing', 'Failed', 'Canceled'],
  Preparing: ['Preparing', 'Queued', 'Ready', 'Running', 'Succeeded', 'Failed', 'Canceled'],
  Ready: ['Queued', 'Failed', 'Canceled'],
  Running: ['Queued', 'Succeeded', 'Failed', 'Canceled'],
  Succeeded: [],
  Failed: [],
  Canceled: [],
};

/** The states a trial may move to `to` from. */
export function allowedFrom(to: TrialState): TrialState[] {
  return (Object.keys(TRIAL_TRANSITIONS) as TrialState[]).filter((from) => TRIAL_TRANSITIONS[from].includes(to));
}

export class TrialLifecycle {
  constructor(
    private readonly trials: TrialStore,
    private readonly bus: EventBus,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Moves the trial to `to` with `fields`; answers whether it moved (false: it had ended, or the table forbids it). */
  async move(trial: TrialRecord, to: TrialState, fields: Omit<TrialUpdate, 'state'> = {}): Promise<boolean> {
    const from = allowedFrom(to);
    const moved = await this.trials.update(trial.id, { ...fields, state: to }, from);
    if (!moved) {
      const current = await this.trials.get(trial.id);
      // Losing to a terminal state is the normal outcome of a race; anything else is a move the table lacks.
      if (current && !FINISHED_TRIAL_STATES.includes(current.state)) this.log.error({ trialId: trial.id, from: current.state, to }, 'trial lifecycle: a move the transition table does not allow was refused');
      return false;
    }
    const now: TrialRecord = { ...trial, ...fields, state: to };
    this.bus.emit('trial.moved', { trial: now, from, to });
    if (isTrialFinished(to)) this.bus.emit('trial.finished', { trial: now, outcome: to as TrialOutcome });
    return true;
  }

  /** Queues an ended trial again (an ASHA promotion); answers whether it was ended. */
  async reopen(trial: TrialRecord): Promise<boolean> {
    if (!(await this.trials.reopen(trial.id))) return false;
    this.bus.emit('trial.moved', { trial: { ...trial, state: 'Queued', finishedAt: null }, from: FINISHED_TRIAL_STATES, to: 'Queued' });
    return true;
  }
}
