/**
 * Adaptive ASHA (asynchronous successive halving), Determined's stopping variant run as a tournament of
 * brackets (asha_stopping.go, tournament.go). Each trial is given its current rung's length budget; when it
 * reports a validation metric at or past that length, its metric joins the rung's sorted list:
 * - in the top 1/divisor of the rung so far (index < max(1, ⌊n/divisor⌋)): promoted, a `train` to the next
 *   rung's length (one report may clear several rungs);
 * - otherwise it can never be promoted (later arrivals only push it down): `stop`.
 * At the top rung the trial has finished its budget and exits by itself. A trial that exits before reporting
 * at its current rung (error, external stop, no report) counts as the worst value there, as in Determined.
 * Every exited trial frees a slot in its bracket, refilled with a new random trial while the bracket has
 * trials left; errored trials are not retried here (the server's maxRestarts does that).
 */
import { ValidationError } from '../errors.js';
import { planAdaptiveAsha, type AshaPlan } from './asha-plan.js';
import { sampleHyperparameters, type HyperparameterSpace } from './hyperparameters.js';
import { Prng } from './prng.js';
import type { Searcher, SearcherAction, SearcherConfig, SearcherEvent } from './types.js';

/** Determined's value for a trial that left a rung without a metric: worse than any real one. */
const WORST = Number.MAX_VALUE;

interface AshaTrial {
  bracket: number;
  /** The rung the trial is training towards (or has finished, when `settled`). */
  rung: number;
  /** Its metric is in its current rung's list: stopped there, or finished at the top. */
  settled: boolean;
  state: 'live' | 'stopping' | 'exited';
}

interface AshaBracketState {
  created: number;
  finished: number;
  live: number;
  /** Per rung: [requestId, metric] sorted best (smallest) first; metrics are sign-flipped when larger is better. */
  rungs: Array<Array<[string, number]>>;
}

interface AshaSnapshot {
  version: 1;
  searcher: 'adaptive_asha';
  started: boolean;
  done: boolean;
  prng: number;
  trialsCreated: number;
  brackets: AshaBracketState[];
  trials: Record<string, AshaTrial>;
}

export class AshaSearcher implements Searcher {
  private readonly plan: AshaPlan;
  private readonly prng: Prng;

  private constructor(
    private readonly config: SearcherConfig,
    private readonly space: HyperparameterSpace,
    private readonly state: AshaSnapshot,
  ) {
    this.plan = planAdaptiveAsha(config);
    this.prng = Prng.fromState(state.prng);
    if (state.brackets.length !== this.plan.brackets.length) {
      throw new ValidationError(`searcher snapshot: ${state.brackets.length} brackets, but these settings make ${this.plan.brackets.length}`, 'searcher');
    }
  }

  static create(config: SearcherConfig, space: HyperparameterSpace, seed: number): AshaSearcher {
    const brackets = planAdaptiveAsha(config).brackets.map((b) => ({ created: 0, finished: 0, live: 0, rungs: b.rungLengths.map(() => []) }));
    const state: AshaSnapshot = { version: 1, searcher: 'adaptive_asha', started: false, done: false, prng: new Prng(seed).state, trialsCreated: 0, brackets, trials: {} };
    return new AshaSearcher(config, space, state);
  }

  static restore(config: SearcherConfig, space: HyperparameterSpace, snapshot: Record<string, unknown>): AshaSearcher {
    return new AshaSearcher(config, space, structuredClone(snapshot) as unknown as AshaSnapshot);
  }

  handle(event: SearcherEvent): SearcherAction[] {
    if (this.state.done) return [];
    const actions: SearcherAction[] = [];
    switch (event.type) {
      case 'start':
        if (this.state.started) return [];
        this.state.started = true;
        this.fill(actions);
        break;
      case 'validation':
        this.validated(event.requestId, event.length, event.metric, actions);
        break;
      case 'exited':
        this.exited(event.requestId, actions);
        break;
    }
    this.state.prng = this.prng.state;
    return actions;
  }

  snapshot(): unknown {
    return structuredClone(this.state);
  }

  /** Determined's estimate per bracket (rung-0 entries against 1.2 × its trials, or finished/trials once all exist), averaged. */
  isDone(): boolean {
    return this.state.done;
  }

  progress(): number {
    if (this.state.done) return 1;
    const perBracket = this.state.brackets.map((b, i) => {
      const maxTrials = this.plan.brackets[i]!.maxTrials;
      let p = b.rungs[0]!.length / (1.2 * maxTrials);
      if (b.created === maxTrials) p = Math.max(p, b.finished / maxTrials);
      return Math.min(1, p);
    });
    return perBracket.reduce((a, b) => a + b, 0) / perBracket.length;
  }

  private validated(requestId: string, length: number, metric: number, actions: SearcherAction[]): void {
    const trial = this.state.trials[requestId];
    if (!trial || trial.state !== 'live' || trial.settled || !(length >= 0)) return; // late, duplicate or unknown: nothing to decide
    const value = this.normalize(metric);
    const plan = this.plan.brackets[trial.bracket]!;
    const rungs = this.state.brackets[trial.bracket]!.rungs;
    const startRung = trial.rung;
    for (let k = trial.rung; k < plan.numRungs; k++) {
      trial.rung = k;
      if (length < plan.rungLengths[k]!) break;
      const index = insertSorted(rungs[k]!, requestId, value);
      if (k === plan.numRungs - 1) {
        trial.settled = true; // it has trained its full budget and exits by itself
        return;
      }
      if (index >= Math.max(1, Math.floor(rungs[k]!.length / this.plan.divisor))) {
        trial.settled = true;
        trial.state = 'stopping';
        actions.push({ type: 'stop', requestId });
        return;
      }
      trial.rung = k + 1;
    }
    if (trial.rung > startRung) actions.push({ type: 'train', requestId, length: plan.rungLengths[trial.rung]! });
  }

  private exited(requestId: string, actions: SearcherAction[]): void {
    const trial = this.state.trials[requestId];
    if (!trial || trial.state === 'exited') return;
    const bracket = this.state.brackets[trial.bracket]!;
    if (!trial.settled) insertSorted(bracket.rungs[trial.rung]!, requestId, WORST);
    trial.settled = true;
    trial.state = 'exited';
    bracket.live--;
    bracket.finished++;
    this.fill(actions);
  }

  /** Creates trials while a bracket has trials left and room; `done` once all exist and none is live. */
  private fill(actions: SearcherAction[]): void {
    this.plan.brackets.forEach((plan, b) => {
      const bracket = this.state.brackets[b]!;
      while (bracket.created < plan.maxTrials && bracket.live < plan.maxConcurrentTrials) {
        const requestId = `r${++this.state.trialsCreated}`;
        bracket.created++;
        bracket.live++;
        this.state.trials[requestId] = { bracket: b, rung: 0, settled: false, state: 'live' };
        actions.push({ type: 'create', requestId, hparams: sampleHyperparameters(this.space, this.prng) });
        actions.push({ type: 'train', requestId, length: plan.rungLengths[0]! });
      }
    });
    const finished = this.plan.brackets.every((plan, b) => this.state.brackets[b]!.created === plan.maxTrials && this.state.brackets[b]!.live === 0);
    if (finished) {
      this.state.done = true;
      actions.push({ type: 'done' });
    }
  }

  /** Smaller is better after this; NaN and infinities become finite so the snapshot stays plain JSON. */
  private normalize(metric: number): number {
    if (typeof metric !== 'number' || Number.isNaN(metric)) return WORST;
    const value = this.config.smallerIsBetter ? metric : -metric;
    return Math.max(-WORST, Math.min(WORST, value));
  }
}

/** Inserts before the first entry that is not better (ties favour the newcomer, as in Determined); returns its index. */
function insertSorted(rung: Array<[string, number]>, requestId: string, value: number): number {
  let lo = 0;
  let hi = rung.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rung[mid]![1] >= value) hi = mid;
    else lo = mid + 1;
  }
  rung.splice(lo, 0, [requestId, value]);
  return lo;
}
