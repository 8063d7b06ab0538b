/**
 * The shape of an adaptive ASHA search, computed from its settings alone (Determined's adaptive_asha.go):
 * how many rungs, which brackets, how many trials and live trials each bracket gets, and each rung's length
 * budget. Also a dry run for users ("preview search") before any trial exists.
 */
import { ValidationError } from '../errors.js';
import { SEARCHER_DEFAULTS } from './config.js';
import type { AshaMode, SearcherConfig } from './types.js';

export interface AshaBracketPlan {
  /** Rungs in this bracket; the last one's budget is maxLength. */
  numRungs: number;
  /** Length budget of each rung, lowest first: max(1, ⌊maxLength / divisor^(numRungs-1-k)⌋). */
  rungLengths: number[];
  /** Trials this bracket creates in all. */
  maxTrials: number;
  /** Trials of this bracket alive at once. */
  maxConcurrentTrials: number;
}

export interface AshaPlan {
  /** The effective rung count: numRungs clamped so that the lowest rung is ≥ 1 and one trial can reach the top. */
  numRungs: number;
  divisor: number;
  /** Most aggressive (most rungs) first. */
  brackets: AshaBracketPlan[];
}

export function planAdaptiveAsha(config: SearcherConfig): AshaPlan {
  const maxLength = config.maxLength;
  // validateSearcherConfig refuses this first; kept so a plan never divides by a missing budget.
  if (maxLength === undefined) throw new ValidationError('searcher.maxLength: required for adaptive_asha', 'searcher.maxLength');
  const divisor = config.divisor ?? SEARCHER_DEFAULTS.divisor;
  const maxTrials = config.maxTrials ?? 1;
  const maxConcurrent = config.maxConcurrentTrials ?? SEARCHER_DEFAULTS.maxConcurrentTrials;
  const numRungs = Math.max(
    1,
    Math.min(config.numRungs ?? SEARCHER_DEFAULTS.numRungs, floorLog(divisor, maxLength) + 1, floorLog(divisor, maxTrials) + 1),
  );
  // More brackets than trials (or than live trials allowed) would leave a bracket empty or break the limit.
  const rungCounts = bracketRungCounts(config.mode ?? SEARCHER_DEFAULTS.mode, numRungs)
    .sort((a, b) => b - a)
    .slice(0, Math.min(maxTrials, maxConcurrent > 0 ? maxConcurrent : Infinity));
  const trials = bracketMaxTrials(maxTrials, divisor, rungCounts);
  const concurrency = bracketMaxConcurrentTrials(maxConcurrent, divisor, trials);
  return {
    numRungs,
    divisor,
    brackets: rungCounts.map((r, i) => ({
      numRungs: r,
      rungLengths: Array.from({ length: r }, (_, k) => Math.max(1, Math.floor(maxLength / divisor ** (r - k - 1)))),
      maxTrials: trials[i]!,
      maxConcurrentTrials: Math.min(concurrency[i]!, trials[i]!),
    })),
  };
}

function bracketRungCounts(mode: AshaMode, maxRungs: number): number[] {
  const from = mode === 'aggressive' ? maxRungs : mode === 'standard' ? Math.floor((maxRungs - 1) / 2) + 1 : 1;
  return Array.from({ length: maxRungs - from + 1 }, (_, i) => from + i);
}

/** Roughly equal total training per bracket: bracket weight divisor^(r-1)/r; left-overs go to bracket 0. */
function bracketMaxTrials(maxTrials: number, divisor: number, rungCounts: number[]): number[] {
  const weights = rungCounts.map((r) => divisor ** (r - 1) / r);
  const total = weights.reduce((a, b) => a + b, 0);
  const trials = weights.map((w) => Math.max(1, Math.floor((w / total) * maxTrials)));
  let allocated = trials.reduce((a, b) => a + b, 0);
  trials[0]! += Math.max(0, maxTrials - allocated);
  // Every bracket holds at least one trial; if that overshot, take the excess back from the last brackets.
  for (let i = trials.length - 1; allocated > maxTrials && i >= 0; i--) {
    const take = Math.min(trials[i]! - 1, allocated - maxTrials);
    trials[i]! -= take;
    allocated -= take;
  }
  return trials;
}

/** maxConcurrentTrials split evenly, the remainder to the first brackets; 0 = Determined's automatic choice. */
function bracketMaxConcurrentTrials(maxConcurrent: number, divisor: number, trials: number[]): number[] {
  const n = trials.length;
  if (maxConcurrent === 0) return trials.map(() => Math.max(trials[n - 1]!, Math.floor(divisor)));
  const total = Math.max(maxConcurrent, n);
  return trials.map((_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}

/** The largest k ≥ 0 with base^k ≤ value, computed without floating-point logarithms (log(64)/log(4) < 3). */
function floorLog(base: number, value: number): number {
  let k = 0;
  for (let power = base; power <= value * (1 + 1e-12); power *= base) k++;
  return k;
}
