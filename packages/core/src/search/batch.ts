/**
 * What single, grid and random search share: a fixed number of trials, each trained to maxLength (or as long as its script decides), never
 * stopped early, created up to maxConcurrentTrials at a time and one more each time one exits. They differ
 * only in where trial n's hyperparameters come from.
 */
import { ValidationError } from '../errors.js';
import { Prng } from './prng.js';
import type { Searcher, SearcherAction, SearcherConfig, SearcherEvent, SearcherName } from './types.js';

export interface BatchSnapshot {
  version: 1;
  searcher: SearcherName;
  started: boolean;
  done: boolean;
  /** Trials created so far; trial n (0-based) is `r${n + 1}`. */
  created: number;
  finished: number;
  /** Live trials → the longest length each has reported (for progress). */
  live: Record<string, number>;
  prng: number;
}

/** Hyperparameters of trial `index` (0-based); random ones draw from `prng`, in creation order. */
export type HparamSource = (index: number, prng: Prng) => Record<string, unknown>;

export class BatchSearcher implements Searcher {
  private readonly prng: Prng;

  constructor(
    private readonly config: SearcherConfig,
    /** Trials in all. */
    private readonly total: number,
    private readonly hparams: HparamSource,
    private readonly state: BatchSnapshot,
  ) {
    this.prng = Prng.fromState(state.prng);
    if (state.created > total) throw new ValidationError(`searcher snapshot: ${state.created} trials created, but these settings allow ${total}`, 'searcher');
  }

  static initialState(name: SearcherName, seed: number): BatchSnapshot {
    return { version: 1, searcher: name, started: false, done: false, created: 0, finished: 0, live: {}, prng: new Prng(seed).state };
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
      case 'validation': {
        const reported = this.state.live[event.requestId];
        if (reported !== undefined && event.length > reported) this.state.live[event.requestId] = event.length;
        break;
      }
      case 'exited':
        if (!(event.requestId in this.state.live)) break;
        delete this.state.live[event.requestId];
        this.state.finished++;
        this.fill(actions);
        break;
    }
    this.state.prng = this.prng.state;
    return actions;
  }

  snapshot(): unknown {
    return structuredClone(this.state);
  }

  /** Finished trials count whole; live ones by the share of maxLength they have reported (nothing without one). */
  isDone(): boolean {
    return this.state.done;
  }

  progress(): number {
    if (this.state.done) return 1;
    let units = this.state.finished;
    const maxLength = this.config.maxLength;
    if (maxLength !== undefined) for (const length of Object.values(this.state.live)) units += Math.min(1, length / maxLength);
    return units / this.total;
  }

  private fill(actions: SearcherAction[]): void {
    const limit = this.config.name === 'single' || !this.config.maxConcurrentTrials ? Infinity : this.config.maxConcurrentTrials;
    while (this.state.created < this.total && Object.keys(this.state.live).length < limit) {
      const requestId = `r${this.state.created + 1}`;
      const hparams = this.hparams(this.state.created, this.prng);
      this.state.created++;
      this.state.live[requestId] = 0;
      actions.push({ type: 'create', requestId, hparams });
      // Without a budget the trial's script decides how long it trains.
      if (this.config.maxLength !== undefined) actions.push({ type: 'train', requestId, length: this.config.maxLength });
    }
    if (this.state.created === this.total && Object.keys(this.state.live).length === 0) {
      this.state.done = true;
      actions.push({ type: 'done' });
    }
  }
}
