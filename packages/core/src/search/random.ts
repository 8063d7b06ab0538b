/** maxTrials independent samples of the hyperparameter space, each trained to maxLength. */
import { BatchSearcher, type BatchSnapshot } from './batch.js';
import { sampleHyperparameters, type HyperparameterSpace } from './hyperparameters.js';
import type { SearcherConfig } from './types.js';

export function randomSearcher(config: SearcherConfig, space: HyperparameterSpace, state: BatchSnapshot): BatchSearcher {
  return new BatchSearcher(config, config.maxTrials!, (_, prng) => sampleHyperparameters(space, prng), state);
}
