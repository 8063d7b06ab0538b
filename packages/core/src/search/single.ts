/** One trial trained to maxLength. Non-constant hyperparameters are sampled once, as Determined's single does. */
import { BatchSearcher, type BatchSnapshot } from './batch.js';
import { sampleHyperparameters, type HyperparameterSpace } from './hyperparameters.js';
import type { SearcherConfig } from './types.js';

export function singleSearcher(config: SearcherConfig, space: HyperparameterSpace, state: BatchSnapshot): BatchSearcher {
  return new BatchSearcher(config, 1, (_, prng) => sampleHyperparameters(space, prng), state);
}
