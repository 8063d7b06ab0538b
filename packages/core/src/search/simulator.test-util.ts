/**
 * Test support: drives a searcher the way the server does, with simulated trials that all train one unit per
 * tick, report a validation metric (a known function of their hyperparameters and length) every
 * `reportEvery` units and at the end of their budget, and exit when the budget is reached or they are told
 * to stop.
 */
import type { Searcher, SearcherAction, SearcherEvent } from './types.js';

export interface SimTrial {
  requestId: string;
  hparams: Record<string, unknown>;
  budget: number;
  length: number;
  alive: boolean;
  stopRequested: boolean;
  exit?: 'completed' | 'errored' | 'stopped';
}

export interface SimOptions {
  objective: (hparams: Record<string, unknown>, length: number) => number;
  reportEvery?: number;
  /** requestId → the length at which that trial crashes. */
  crashAt?: Record<string, number>;
  /** Called before event n is handled; may return a replacement searcher (a restored one). */
  beforeEvent?: (n: number, searcher: Searcher) => Searcher;
}

export interface SimResult {
  trials: Map<string, SimTrial>;
  log: Array<{ event: SearcherEvent; actions: SearcherAction[] }>;
  maxLive: number;
  doneCount: number;
  totalLength: number;
}

export function simulate(initial: Searcher, options: SimOptions): SimResult {
  let searcher = initial;
  const trials = new Map<string, SimTrial>();
  const log: SimResult['log'] = [];
  let doneCount = 0;
  let maxLive = 0;
  const send = (event: SearcherEvent) => {
    if (options.beforeEvent) searcher = options.beforeEvent(log.length, searcher);
    const actions = searcher.handle(event);
    log.push({ event, actions });
    for (const action of actions) {
      if (action.type === 'create') {
        if (trials.has(action.requestId)) throw new Error(`${action.requestId} created twice`);
        trials.set(action.requestId, { requestId: action.requestId, hparams: action.hparams, budget: 0, length: 0, alive: true, stopRequested: false });
      } else if (action.type === 'train') {
        const trial = trials.get(action.requestId);
        if (!trial?.alive) throw new Error(`train for ${action.requestId}, which is not alive`);
        trial.budget = action.length;
      } else if (action.type === 'stop') {
        const trial = trials.get(action.requestId);
        if (!trial?.alive) throw new Error(`stop for ${action.requestId}, which is not alive`);
        trial.stopRequested = true;
      } else {
        doneCount++;
      }
    }
    maxLive = Math.max(maxLive, [...trials.values()].filter((t) => t.alive).length);
  };
  const exit = (trial: SimTrial, reason: NonNullable<SimTrial['exit']>) => {
    trial.alive = false;
    trial.exit = reason;
    send({ type: 'exited', requestId: trial.requestId, reason });
  };

  send({ type: 'start' });
  const every = options.reportEvery ?? 1;
  for (let tick = 0; doneCount === 0; tick++) {
    if (tick > 100_000) throw new Error('the search never finished');
    for (const trial of [...trials.values()]) {
      if (!trial.alive) continue;
      if (trial.stopRequested) {
        exit(trial, 'stopped');
        continue;
      }
      if (trial.budget === 0) throw new Error(`${trial.requestId} was never given a budget`);
      trial.length++;
      if (options.crashAt?.[trial.requestId] === trial.length) {
        exit(trial, 'errored');
        continue;
      }
      if (trial.length % every === 0 || trial.length >= trial.budget) {
        send({ type: 'validation', requestId: trial.requestId, length: trial.length, metric: options.objective(trial.hparams, trial.length) });
      }
      if (trial.alive && !trial.stopRequested && trial.length >= trial.budget) exit(trial, 'completed');
    }
  }
  const totalLength = [...trials.values()].reduce((sum, t) => sum + t.length, 0);
  return { trials, log, maxLive, doneCount, totalLength };
}
