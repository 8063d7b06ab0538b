/**
 * Entry points of the search state machines: create one for a new experiment, restore one from the snapshot
 * the server persisted after the last event. Searchers are pure: no I/O, no clock, randomness only from the
 * seeded generator whose state is part of the snapshot, so a restored searcher answers the same events with
 * the same actions as the original would have.
 */
import { ValidationError } from '../errors.js';
import { AshaSearcher } from './asha.js';
import { BatchSearcher, type BatchSnapshot } from './batch.js';
import { validateSearcherConfig, withSearcherDefaults } from './config.js';
import { gridSearcher } from './grid.js';
import type { HyperparameterSpace } from './hyperparameters.js';
import { randomSearcher } from './random.js';
import { singleSearcher } from './single.js';
import type { Searcher, SearcherConfig } from './types.js';

export type { Searcher, SearcherAction, SearcherConfig, SearcherEvent } from './types.js';
export { validateSearcherConfig } from './config.js';

/** Validates the settings (ValidationError on contradictions) and returns a searcher waiting for `start`. */
export function createSearcher(config: SearcherConfig, space: HyperparameterSpace, seed: number): Searcher {
  const resolved = withSearcherDefaults(config);
  validateSearcherConfig(resolved, space);
  if (resolved.name === 'adaptive_asha') return AshaSearcher.create(resolved, space, seed);
  return batchSearcher(resolved, space, BatchSearcher.initialState(resolved.name, seed));
}

/** Continues from `snapshot()` of a searcher created with the same config and space. */
export function restoreSearcher(config: SearcherConfig, space: HyperparameterSpace, snapshot: unknown): Searcher {
  const resolved = withSearcherDefaults(config);
  validateSearcherConfig(resolved, space);
  if (typeof snapshot !== 'object' || snapshot === null || (snapshot as { version?: unknown }).version !== 1) {
    throw new ValidationError('searcher snapshot: not a snapshot of this version of Periscope', 'searcher');
  }
  const record = snapshot as Record<string, unknown>;
  if (record.searcher !== resolved.name) {
    throw new ValidationError(`searcher snapshot: taken from a ${String(record.searcher)} searcher, but the settings say ${resolved.name}`, 'searcher');
  }
  const shaped =
    typeof record.prng === 'number' &&
    typeof record.started === 'boolean' &&
    (resolved.name === 'adaptive_asha'
      ? Array.isArray(record.brackets) && typeof record.trials === 'object' && record.trials !== null
      : typeof record.created === 'number' && typeof record.live === 'object' && record.live !== null);
  if (!shaped) throw new ValidationError('searcher snapshot: damaged (fields missing)', 'searcher');
  if (resolved.name === 'adaptive_asha') return AshaSearcher.restore(resolved, space, record);
  return batchSearcher(resolved, space, structuredClone(record) as unknown as BatchSnapshot);
}

function batchSearcher(config: SearcherConfig, space: HyperparameterSpace, state: BatchSnapshot): Searcher {
  switch (config.name) {
    case 'single':
      return singleSearcher(config, space, state);
    case 'grid':
      return gridSearcher(config, space, state);
    default:
      return randomSearcher(config, space, state);
  }
}
