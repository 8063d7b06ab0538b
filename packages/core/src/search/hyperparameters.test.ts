import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../errors.js';
import { hyperparameterGrid, sampleHyperparameters, validateHyperparameters, type HyperparameterSpace } from './hyperparameters.js';
import { Prng } from './prng.js';

function rejects(space: unknown, message: string | RegExp, field?: string): void {
  assert.throws(
    () => validateHyperparameters(space),
    (err: unknown) => {
      assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${String(err)}`);
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
      if (field !== undefined) assert.equal(err.field, field);
      return true;
    },
  );
}

describe('validateHyperparameters', () => {
  it('accepts every type, bare literals and nested groups', () => {
    validateHyperparameters({
      lr: { type: 'log', base: 10, minval: -4, maxval: -1, count: 4 },
      layers: { type: 'int', minval: 1, maxval: 4 },
      dropout: { type: 'double', minval: 0, maxval: 0.5 },
      opt: { type: 'categorical', vals: ['adam', 'sgd'] },
      seed: { type: 'const', val: null },
      batch: 64,
      name: 'mnist',
      flags: [1, 2],
      model: { width: { type: 'int', minval: 8, maxval: 64 }, head: { act: 'relu' }, empty: {} },
    });
  });

  it('names the field whose range is reversed', () => {
    rejects({ lr: { type: 'double', minval: 0.1, maxval: 0.01 } }, 'hyperparameters.lr: minval 0.1 > maxval 0.01', 'hyperparameters.lr');
    rejects({ model: { width: { type: 'int', minval: 9, maxval: 3 } } }, 'hyperparameters.model.width: minval 9 > maxval 3', 'hyperparameters.model.width');
  });

  it('refuses malformed definitions with the reason', () => {
    rejects([1, 2], 'hyperparameters: must be an object mapping names to hyperparameters');
    rejects({ x: { type: 'float', minval: 0, maxval: 1 } }, /^hyperparameters\.x\.type: unknown hyperparameter type "float" \(use const, int, double, log, categorical\)$/);
    rejects({ x: { type: 'int', minval: 1.5, maxval: 3 } }, 'hyperparameters.x.minval: must be an integer for type int, got 1.5');
    rejects({ x: { type: 'double', minval: 0 } }, 'hyperparameters.x.maxval: required, a finite number (got undefined)');
    rejects({ x: { type: 'double', min: 0, max: 1 } }, 'hyperparameters.x: unknown property "min" for type double (allowed: type, minval, maxval, count)', 'hyperparameters.x.min');
    rejects({ x: { type: 'categorical', vals: [] } }, 'hyperparameters.x.vals: must be a non-empty list of values');
    rejects({ x: { type: 'const' } }, 'hyperparameters.x.val: required for type const');
    rejects({ x: { type: 'log', base: 1, minval: 0, maxval: 1 } }, 'hyperparameters.x.base: must be a positive number other than 1, got 1');
    rejects({ x: { type: 'log', base: 10, minval: 0, maxval: 400 } }, /^hyperparameters\.x: 10\^0 … 10\^400 is beyond the range of a number$/);
    rejects({ x: { type: 'int', minval: 0, maxval: 3, count: 0 } }, 'hyperparameters.x.count: must be a positive integer, got 0');
    rejects({ a: { b: { c: { type: 'double', minval: 2, maxval: 1 } } } }, 'hyperparameters.a.b.c: minval 2 > maxval 1');
  });
});

describe('sampleHyperparameters', () => {
  const space: HyperparameterSpace = {
    lr: { type: 'log', base: 10, minval: -4, maxval: -1 },
    layers: { type: 'int', minval: 1, maxval: 4 },
    dropout: { type: 'double', minval: 0.1, maxval: 0.5 },
    opt: { type: 'categorical', vals: ['adam', 'sgd', 'rmsprop'] },
    batch: 64,
    tag: { type: 'const', val: { a: [1] } },
    model: { width: { type: 'int', minval: 8, maxval: 64 }, act: 'relu' },
  };

  it('is deterministic for a seed and differs across seeds', () => {
    const draw = (seed: number) => {
      const prng = new Prng(seed);
      return Array.from({ length: 5 }, () => sampleHyperparameters(space, prng));
    };
    assert.deepEqual(draw(7), draw(7));
    assert.notDeepEqual(draw(7), draw(8));
  });

  it('keeps every value in its range, hits both ends of an int range and nests groups', () => {
    const prng = new Prng(1);
    const layers = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const h = sampleHyperparameters(space, prng) as {
        lr: number; layers: number; dropout: number; opt: string; batch: number; tag: unknown; model: { width: number; act: string };
      };
      assert.ok(h.lr >= 1e-4 && h.lr <= 1e-1, `lr ${h.lr}`);
      assert.ok(Number.isInteger(h.layers) && h.layers >= 1 && h.layers <= 4);
      assert.ok(h.dropout >= 0.1 && h.dropout < 0.5);
      assert.ok(['adam', 'sgd', 'rmsprop'].includes(h.opt));
      assert.equal(h.batch, 64);
      assert.deepEqual(h.tag, { a: [1] });
      assert.ok(Number.isInteger(h.model.width) && h.model.width >= 8 && h.model.width <= 64);
      assert.equal(h.model.act, 'relu');
      layers.add(h.layers);
    }
    assert.deepEqual([...layers].sort(), [1, 2, 3, 4]);
  });

  it('samples log parameters uniformly in the exponent', () => {
    const prng = new Prng(3);
    const exponents = Array.from({ length: 4000 }, () => Math.log10((sampleHyperparameters(space, prng) as { lr: number }).lr));
    const mean = exponents.reduce((a, b) => a + b, 0) / exponents.length;
    assert.ok(Math.abs(mean - -2.5) < 0.05, `mean exponent ${mean}`);
    // A quarter of the draws below 10^-3.25: uniform in the exponent, not in the value (that would be ~0.5 %).
    const low = exponents.filter((e) => e < -3.25).length / exponents.length;
    assert.ok(Math.abs(low - 0.25) < 0.03, `share below 10^-3.25: ${low}`);
  });

  it('draws the same values whatever order the keys are stored in', () => {
    const reordered = Object.fromEntries(Object.entries(space).reverse()) as HyperparameterSpace;
    const a = sampleHyperparameters(space, new Prng(11));
    const b = sampleHyperparameters(reordered, new Prng(11));
    assert.deepEqual(a, b);
    assert.deepEqual(Object.keys(b), Object.keys(reordered));
  });

  it('gives every trial its own copy of structured values', () => {
    const prng = new Prng(5);
    const a = sampleHyperparameters(space, prng) as { tag: { a: number[] } };
    a.tag.a.push(2);
    assert.deepEqual((sampleHyperparameters(space, prng) as { tag: unknown }).tag, { a: [1] });
  });
});

describe('hyperparameterGrid', () => {
  const all = (space: HyperparameterSpace) => {
    const grid = hyperparameterGrid(space);
    return Array.from({ length: grid.size }, (_, i) => grid.at(i));
  };

  it('spreads int counts evenly over the range, both ends included, capped and deduplicated', () => {
    assert.deepEqual(all({ n: { type: 'int', minval: 1, maxval: 10, count: 4 } }).map((h) => h.n), [1, 4, 7, 10]);
    assert.deepEqual(all({ n: { type: 'int', minval: 1, maxval: 3, count: 10 } }).map((h) => h.n), [1, 2, 3]);
    assert.deepEqual(all({ n: { type: 'int', minval: 2, maxval: 6, count: 1 } }).map((h) => h.n), [4]);
    assert.deepEqual(all({ n: { type: 'int', minval: 0, maxval: 4, count: 4 } }).map((h) => h.n), [0, 1, 3, 4]);
  });

  it('spaces double points evenly and log points evenly in the exponent', () => {
    assert.deepEqual(all({ d: { type: 'double', minval: 0, maxval: 1, count: 5 } }).map((h) => h.d), [0, 0.25, 0.5, 0.75, 1]);
    const lr = all({ lr: { type: 'log', base: 10, minval: -4, maxval: -1, count: 4 } }).map((h) => h.lr as number);
    assert.deepEqual(lr.map((v) => Math.round(Math.log10(v))), [-4, -3, -2, -1]);
    assert.deepEqual(all({ d: { type: 'double', minval: 1, maxval: 2, count: 1 } }).map((h) => h.d), [1.5]);
  });

  it('is the exact Cartesian product, nested groups as nested objects', () => {
    const points = all({
      opt: { type: 'categorical', vals: ['adam', 'sgd'] },
      layers: { type: 'int', minval: 1, maxval: 3, count: 3 },
      batch: 32,
      model: { act: { type: 'categorical', vals: ['relu', 'tanh'] }, width: 8 },
    });
    assert.equal(points.length, 12);
    assert.equal(new Set(points.map((p) => JSON.stringify(p))).size, 12);
    for (const opt of ['adam', 'sgd']) {
      for (const layers of [1, 2, 3]) {
        for (const act of ['relu', 'tanh']) {
          assert.ok(points.some((p) => JSON.stringify(p) === JSON.stringify({ opt, layers, batch: 32, model: { act, width: 8 } })), `${opt} ${layers} ${act}`);
        }
      }
    }
  });

  it('has one point for a space of constants (or no hyperparameters)', () => {
    assert.deepEqual(all({ a: 1, b: { type: 'const', val: 'x' } }), [{ a: 1, b: 'x' }]);
    assert.deepEqual(all({}), [{}]);
  });

  it('needs a count on numeric parameters and refuses absurd sizes', () => {
    assert.throws(() => hyperparameterGrid({ m: { lr: { type: 'double', minval: 0, maxval: 1 } } }), {
      name: 'ValidationError',
      message: 'hyperparameters.m.lr.count: required for grid search (how many values of this double to try)',
    });
    const big = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`p${i}`, { type: 'double', minval: 0, maxval: 1, count: 10 }])) as HyperparameterSpace;
    assert.throws(() => hyperparameterGrid(big), /hyperparameters: the grid has 1000000 points \(10 × 10 × 10 × 10 × 10 × 10\), more than 100000/);
  });
});
