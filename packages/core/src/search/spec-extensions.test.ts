import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../errors.js';
import type { ExperimentSpec } from '../schemas.js';
import { normalizeExperimentSpec } from '../spec.js';

const base: ExperimentSpec = { meta: { name: 'search', framework: 'Custom', cmd: 'python3 train.py' }, spec: { Worker: { replicas: 1 } } };
const options = { lowercaseName: true, experimentId: null };

describe('normalizeExperimentSpec with hyperparameters and searcher', () => {
  it('echoes neither when absent, as a plain Submarine spec', () => {
    const spec = normalizeExperimentSpec(base, options);
    assert.equal('hyperparameters' in spec, false);
    assert.equal('searcher' in spec, false);
  });

  it('echoes the hyperparameters as given and the searcher with its defaults', () => {
    const hyperparameters = { lr: { type: 'log' as const, base: 10, minval: -4, maxval: -1 }, batch: 64 };
    const spec = normalizeExperimentSpec({ ...base, hyperparameters, searcher: { name: 'random', metric: 'val_loss', maxTrials: 8, maxLength: 100 } }, options);
    assert.deepEqual(spec.hyperparameters, hyperparameters);
    assert.deepEqual(spec.searcher, { name: 'random', metric: 'val_loss', smallerIsBetter: true, maxTrials: 8, maxLength: 100, maxConcurrentTrials: 16 });
  });

  it('refuses bad ranges and contradictory searcher settings with the field named', () => {
    assert.throws(
      () => normalizeExperimentSpec({ ...base, hyperparameters: { lr: { type: 'double', minval: 0.1, maxval: 0.01 } } }, options),
      (err: unknown) => err instanceof ValidationError && err.message === 'hyperparameters.lr: minval 0.1 > maxval 0.01' && err.field === 'hyperparameters.lr',
    );
    assert.throws(
      () => normalizeExperimentSpec({ ...base, hyperparameters: { lr: { type: 'double', minval: 0, maxval: 1 } }, searcher: { name: 'grid', metric: 'loss', maxLength: 3 } }, options),
      (err: unknown) => err instanceof ValidationError && err.message === 'hyperparameters.lr.count: required for grid search (how many values of this double to try)',
    );
    assert.throws(
      () => normalizeExperimentSpec({ ...base, searcher: { name: 'adaptive_asha', metric: 'loss', maxLength: 3 } }, options),
      (err: unknown) => err instanceof ValidationError && err.message === 'searcher.maxTrials: required for adaptive_asha',
    );
  });
});
