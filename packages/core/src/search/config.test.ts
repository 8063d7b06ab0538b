import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../errors.js';
import { resolveSearcherConfig, validateSearcherConfig, type SearcherConfigInput } from './config.js';
import type { HyperparameterSpace } from './hyperparameters.js';
import { createSearcher } from './searcher.js';
import type { SearcherConfig } from './types.js';

function fails(run: () => unknown, message: string, field?: string): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${String(err)}`);
    assert.equal(err.message, message);
    if (field !== undefined) assert.equal(err.field, field);
    return true;
  });
}

const space: HyperparameterSpace = { lr: { type: 'log', base: 10, minval: -4, maxval: -1 }, batch: 64 };
const base = { metric: 'val_loss', smallerIsBetter: true, maxLength: 100 } as const;

describe('resolveSearcherConfig', () => {
  it('fills in Determined’s defaults for the searcher named, and only those', () => {
    assert.deepEqual(resolveSearcherConfig({ name: 'adaptive_asha', metric: 'val_loss', maxLength: 100, maxTrials: 16 }), {
      name: 'adaptive_asha', metric: 'val_loss', smallerIsBetter: true, maxLength: 100, maxTrials: 16, maxConcurrentTrials: 16, numRungs: 5, divisor: 4, mode: 'standard',
    });
    assert.deepEqual(resolveSearcherConfig({ name: 'random', metric: 'acc', smallerIsBetter: false, maxLength: 5, maxTrials: 8 }), {
      name: 'random', metric: 'acc', smallerIsBetter: false, maxLength: 5, maxTrials: 8, maxConcurrentTrials: 16,
    });
    assert.deepEqual(resolveSearcherConfig({ name: 'single', metric: 'loss', maxLength: 5 }), { name: 'single', metric: 'loss', smallerIsBetter: true, maxLength: 5 });
  });

  it('takes timeMetric + maxTime (Determined ≥ 0.38) as the length budget', () => {
    const config = resolveSearcherConfig({ name: 'adaptive_asha', metric: 'val_loss', timeMetric: 'epochs', maxTime: 16, maxTrials: 32 });
    assert.equal(config.maxLength, 16);
    assert.equal(config.timeMetric, 'epochs');
    assert.equal('maxTime' in config, false);
  });

  it('leaves the length to the script for single, grid and random (Determined ≥ 0.38 has no max_length)', () => {
    assert.deepEqual(resolveSearcherConfig({ name: 'single', metric: 'loss' }), { name: 'single', metric: 'loss', smallerIsBetter: true });
    assert.deepEqual(resolveSearcherConfig({ name: 'grid', metric: 'loss' }), { name: 'grid', metric: 'loss', smallerIsBetter: true, maxConcurrentTrials: 16 });
    assert.deepEqual(resolveSearcherConfig({ name: 'random', metric: 'loss', maxTrials: 3 }), { name: 'random', metric: 'loss', smallerIsBetter: true, maxTrials: 3, maxConcurrentTrials: 16 });
  });

  it('refuses ASHA without a budget, maxTime without timeMetric, both budgets, and unknown properties', () => {
    fails(
      () => resolveSearcherConfig({ name: 'adaptive_asha', metric: 'loss', maxTrials: 4 }),
      'searcher.maxTime: required for adaptive_asha, with timeMetric (or maxLength, the training length budget per trial)',
      'searcher.maxTime',
    );
    fails(() => resolveSearcherConfig({ name: 'single', metric: 'loss', maxTime: 3 }), 'searcher.timeMetric: required with maxTime (the validation metric whose final value is maxTime)');
    fails(() => resolveSearcherConfig({ name: 'single', metric: 'loss', maxTime: 3, maxLength: 4, timeMetric: 'epochs' }), 'searcher.maxTime: give maxTime or maxLength, not both (3 ≠ 4)');
    fails(() => resolveSearcherConfig({ name: 'random', metric: 'loss', maxLength: 4, maxTrails: 3 } as SearcherConfigInput), 'searcher: unknown property "maxTrails"', 'searcher.maxTrails');
  });
});

describe('validateSearcherConfig', () => {
  const check = (config: Partial<SearcherConfig> & Pick<SearcherConfig, 'name'>, hp: HyperparameterSpace = space) =>
    () => validateSearcherConfig({ ...base, ...config }, hp);

  it('accepts sane settings of every searcher', () => {
    check({ name: 'single' })();
    check({ name: 'grid' }, { a: { type: 'int', minval: 1, maxval: 3, count: 3 } })();
    check({ name: 'random', maxTrials: 8, maxConcurrentTrials: 0 })();
    check({ name: 'adaptive_asha', maxTrials: 16, numRungs: 3, divisor: 3, mode: 'conservative', timeMetric: 'epochs' })();
  });

  it('refuses contradictory or incomplete settings, naming the field', () => {
    fails(check({ name: 'random' }), 'searcher.maxTrials: required for random search', 'searcher.maxTrials');
    fails(check({ name: 'adaptive_asha' }), 'searcher.maxTrials: required for adaptive_asha');
    fails(check({ name: 'single', maxTrials: 3 }), 'searcher.maxTrials: single runs one trial; got maxTrials 3');
    fails(check({ name: 'random', maxTrials: 4, numRungs: 3 }), 'searcher.numRungs: only adaptive_asha takes numRungs (this searcher is random)', 'searcher.numRungs');
    fails(check({ name: 'grid', divisor: 3 }, { a: 1 }), 'searcher.divisor: only adaptive_asha takes divisor (this searcher is grid)');
    fails(check({ name: 'adaptive_asha', maxTrials: 4, divisor: 1 }), 'searcher.divisor: must be a number above 1 (at most 1000), got 1');
    fails(check({ name: 'adaptive_asha', maxTrials: 4, numRungs: 0 }), 'searcher.numRungs: must be an integer from 1 to 32, got 0');
    fails(check({ name: 'adaptive_asha', maxTrials: 4, mode: 'wild' as SearcherConfig['mode'] }), 'searcher.mode: "wild" is not a mode (use aggressive, standard, conservative)');
    fails(check({ name: 'random', maxTrials: 4, maxLength: 0 }), 'searcher.maxLength: must be a positive integer, got 0');
    fails(check({ name: 'random', maxTrials: 1.5 }), 'searcher.maxTrials: must be an integer from 1 to 100000, got 1.5');
    fails(check({ name: 'random', maxTrials: 2, maxConcurrentTrials: -1 }), 'searcher.maxConcurrentTrials: must be 0 (no limit) or a positive integer, got -1');
    fails(check({ name: 'single', metric: ' ' }), 'searcher.metric: required, the name of a validation metric');
    fails(check({ name: 'single', timeMetric: 'val_loss', metric: 'val_loss' }), 'searcher.timeMetric: "val_loss" measures progress; it cannot also be the metric that ranks trials');
    fails(check({ name: 'bayes' as SearcherConfig['name'] }), 'searcher.name: "bayes" is not a searcher (use single, grid, random, adaptive_asha)');
  });

  it('checks the hyperparameters against the searcher: grid needs counts and runs the whole grid', () => {
    fails(check({ name: 'grid' }), 'hyperparameters.lr.count: required for grid search (how many values of this log to try)', 'hyperparameters.lr.count');
    const grid: HyperparameterSpace = { a: { type: 'categorical', vals: [1, 2, 3] }, b: { type: 'int', minval: 0, maxval: 1, count: 2 } };
    fails(check({ name: 'grid', maxTrials: 5 }, grid), 'searcher.maxTrials: grid runs every point of the grid (6); maxTrials 5 would skip some (leave it out)');
    check({ name: 'grid', maxTrials: 6 }, grid)();
    fails(check({ name: 'random', maxTrials: 2 }, { lr: { type: 'double', minval: 0.1, maxval: 0.01 } }), 'hyperparameters.lr: minval 0.1 > maxval 0.01');
  });

  it('accepts single, grid and random without maxLength, and refuses adaptive_asha without one', () => {
    const { maxLength: _, ...unbounded } = base;
    validateSearcherConfig({ ...unbounded, name: 'single' }, space);
    validateSearcherConfig({ ...unbounded, name: 'random', maxTrials: 2 }, space);
    fails(() => validateSearcherConfig({ ...unbounded, name: 'adaptive_asha', maxTrials: 4 }, space), 'searcher.maxLength: required for adaptive_asha, the training length budget per trial (or maxTime with timeMetric)', 'searcher.maxLength');
  });

  it('is applied by createSearcher too', () => {
    fails(() => createSearcher({ ...base, name: 'random' }, space, 1), 'searcher.maxTrials: required for random search');
  });
});
