/**
 * The contract between a searcher (a pure state machine, here in core) and the server's search driver, which
 * feeds it events, carries out its actions and persists its snapshot after every event.
 */

export type SearcherName = 'single' | 'grid' | 'random' | 'adaptive_asha';
export type AshaMode = 'aggressive' | 'standard' | 'conservative';

/** A searcher's settings with defaults filled in (see resolveSearcherConfig for what a user may leave out). */
export interface SearcherConfig {
  name: SearcherName;
  /** The validation metric that ranks trials. */
  metric: string;
  smallerIsBetter: boolean;
  /**
   * Training length budget per trial, in the unit the trial reports: steps, or the value of `timeMetric`.
   * Required by adaptive_asha; absent for single, grid and random, the trial's script decides its length (as in
   * Determined ≥ 0.38) and its trials see no budget (`ctx.max_length` is None in periscope.py).
   */
  maxLength?: number;
  /** Trials in all (random, adaptive_asha); for grid, at least the grid's size if given. */
  maxTrials?: number;
  /** Live trials at once; 0 = no limit (adaptive_asha: Determined's automatic choice). Default 16. */
  maxConcurrentTrials?: number;
  /** adaptive_asha: most rungs in a bracket (default 5; fewer when maxLength or maxTrials cannot fill them). */
  numRungs?: number;
  /** adaptive_asha: the top 1/divisor of a rung is promoted; rung budgets shrink by this factor (default 4). */
  divisor?: number;
  /** adaptive_asha: how many brackets (default standard). */
  mode?: AshaMode;
  /** The validation metric that measures progress (e.g. `epochs`); absent = the reported steps. */
  timeMetric?: string;
}

export type SearcherEvent =
  | { type: 'start' }
  /** A trial reported a validation metric at `length` (steps, or its timeMetric value). */
  | { type: 'validation'; requestId: string; length: number; metric: number }
  /** `completed`: it trained to its current length budget and exited 0. */
  | { type: 'exited'; requestId: string; reason: 'completed' | 'errored' | 'stopped' };

export type SearcherAction =
  /** Create a trial with these hyperparameters (followed by its first `train` when the search has a length budget). */
  | { type: 'create'; requestId: string; hparams: Record<string, unknown> }
  /** (Re)set the trial's length budget: train until `length`. */
  | { type: 'train'; requestId: string; length: number }
  /** Stop the trial's processes now. */
  | { type: 'stop'; requestId: string }
  /** No more trials will be created and all have finished. Sent once. */
  | { type: 'done' };

export interface Searcher {
  handle(event: SearcherEvent): SearcherAction[];
  /** The whole state as JSON-serializable data; restoreSearcher continues from it exactly. */
  snapshot(): unknown;
  /** 0..1 (1 once done). */
  progress(): number;
  /** Whether it has answered `done` (a restored searcher that has must not be left waiting: see SearchDriver). */
  isDone(): boolean;
}
