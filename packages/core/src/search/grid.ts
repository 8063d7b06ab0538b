/** Every point of the hyperparameter grid (the exact Cartesian product), each trained to maxLength. */
import { BatchSearcher, type BatchSnapshot } from './batch.js';
import { hyperparameterGrid, type HyperparameterSpace } from './hyperparameters.js';
import type { SearcherConfig } from './types.js';

export function gridSearcher(config: SearcherConfig, space: HyperparameterSpace, state: BatchSnapshot): BatchSearcher {
  const grid = hyperparameterGrid(space);
  return new BatchSearcher(config, grid.size, (index) => grid.at(index), state);
}
