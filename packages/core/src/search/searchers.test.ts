import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../errors.js';
import type { HyperparameterSpace } from './hyperparameters.js';
import { createSearcher, restoreSearcher } from './searcher.js';
import { simulate } from './simulator.test-util.js';
import type { SearcherAction, SearcherConfig } from './types.js';

const loss = (h: Record<string, unknown>, length: number) => Math.abs((h.x as number) ?? 0) + 1 / length;
const creates = (actions: SearcherAction[]) => actions.filter((a): a is Extract<SearcherAction, { type: 'create' }> => a.type === 'create');

describe('single search', () => {
  it('creates one trial with its budget and is done when it exits', () => {
    const searcher = createSearcher({ name: 'single', metric: 'loss', smallerIsBetter: true, maxLength: 10 }, { x: 0.5, y: { type: 'const', val: 'a' } }, 1);
    assert.deepEqual(searcher.handle({ type: 'start' }), [
      { type: 'create', requestId: 'r1', hparams: { x: 0.5, y: 'a' } },
      { type: 'train', requestId: 'r1', length: 10 },
    ]);
    assert.deepEqual(searcher.handle({ type: 'start' }), [], 'a second start is a no-op');
    assert.deepEqual(searcher.handle({ type: 'validation', requestId: 'r1', length: 5, metric: 0.3 }), []);
    assert.equal(searcher.progress(), 0.5);
    assert.deepEqual(searcher.handle({ type: 'exited', requestId: 'r1', reason: 'completed' }), [{ type: 'done' }]);
    assert.equal(searcher.progress(), 1);
    assert.deepEqual(searcher.handle({ type: 'exited', requestId: 'r1', reason: 'completed' }), [], 'nothing after done');
  });

  it('counts an errored trial as finished (retries are the server’s)', () => {
    const searcher = createSearcher({ name: 'single', metric: 'loss', smallerIsBetter: true, maxLength: 10 }, {}, 1);
    searcher.handle({ type: 'start' });
    assert.deepEqual(searcher.handle({ type: 'exited', requestId: 'r1', reason: 'errored' }), [{ type: 'done' }]);
  });
});

describe('grid search', () => {
  const space: HyperparameterSpace = {
    x: { type: 'double', minval: -1, maxval: 1, count: 5 },
    opt: { type: 'categorical', vals: ['adam', 'sgd'] },
    layers: { type: 'int', minval: 1, maxval: 2, count: 2 },
    batch: 32,
  };

  it('runs the exact Cartesian product, each trial to maxLength', () => {
    const result = simulate(createSearcher({ name: 'grid', metric: 'loss', smallerIsBetter: true, maxLength: 4 }, space, 9), { objective: loss });
    const points = [...result.trials.values()].map((t) => t.hparams);
    assert.equal(points.length, 20);
    const keys = new Set(points.map((h) => `${h.x}/${h.opt}/${h.layers}/${h.batch}`));
    assert.equal(keys.size, 20);
    for (const x of [-1, -0.5, 0, 0.5, 1]) for (const opt of ['adam', 'sgd']) for (const layers of [1, 2]) assert.ok(keys.has(`${x}/${opt}/${layers}/32`));
    assert.ok([...result.trials.values()].every((t) => t.length === 4 && t.exit === 'completed'));
    assert.equal(result.doneCount, 1);
    assert.deepEqual(result.log.at(-1)!.actions.at(-1), { type: 'done' });
  });

  it('keeps at most maxConcurrentTrials alive and creates the next as one exits', () => {
    const searcher = createSearcher({ name: 'grid', metric: 'loss', smallerIsBetter: true, maxLength: 3, maxConcurrentTrials: 3 }, space, 9);
    const first = searcher.handle({ type: 'start' });
    assert.deepEqual(creates(first).map((a) => a.requestId), ['r1', 'r2', 'r3']);
    assert.deepEqual(searcher.handle({ type: 'exited', requestId: 'r2', reason: 'stopped' }).map((a) => a.type), ['create', 'train']);
    const result = simulate(createSearcher({ name: 'grid', metric: 'loss', smallerIsBetter: true, maxLength: 3, maxConcurrentTrials: 3 }, space, 9), { objective: loss });
    assert.equal(result.trials.size, 20);
    assert.equal(result.maxLive, 3);
  });

  it('starts everything at once with maxConcurrentTrials 0', () => {
    const searcher = createSearcher({ name: 'grid', metric: 'loss', smallerIsBetter: true, maxLength: 3, maxConcurrentTrials: 0 }, space, 9);
    assert.equal(creates(searcher.handle({ type: 'start' })).length, 20);
  });

  it('reports progress as the share of the grid trained', () => {
    const searcher = createSearcher({ name: 'grid', metric: 'loss', smallerIsBetter: true, maxLength: 10 }, { a: { type: 'categorical', vals: [1, 2] } }, 1);
    searcher.handle({ type: 'start' });
    assert.equal(searcher.progress(), 0);
    searcher.handle({ type: 'validation', requestId: 'r1', length: 5, metric: 1 });
    assert.equal(searcher.progress(), 0.25);
    searcher.handle({ type: 'exited', requestId: 'r1', reason: 'completed' });
    assert.equal(searcher.progress(), 0.5);
  });
});

describe('random search', () => {
  const space: HyperparameterSpace = { x: { type: 'double', minval: -2, maxval: 2 }, n: { type: 'int', minval: 0, maxval: 9 }, lr: { type: 'log', base: 10, minval: -5, maxval: -2 } };
  const config: SearcherConfig = { name: 'random', metric: 'loss', smallerIsBetter: true, maxLength: 5, maxTrials: 8, maxConcurrentTrials: 3 };

  it('creates maxTrials samples within their ranges, at most maxConcurrentTrials at a time', () => {
    const result = simulate(createSearcher(config, space, 5), { objective: loss });
    assert.equal(result.trials.size, 8);
    assert.equal(result.maxLive, 3);
    for (const { hparams: h } of result.trials.values()) {
      assert.ok((h.x as number) >= -2 && (h.x as number) <= 2);
      assert.ok(Number.isInteger(h.n) && (h.n as number) >= 0 && (h.n as number) <= 9);
      assert.ok((h.lr as number) >= 1e-5 && (h.lr as number) <= 1e-2);
    }
    assert.equal(result.doneCount, 1);
  });

  it('is deterministic for a seed', () => {
    const run = (seed: number) => [...simulate(createSearcher(config, space, seed), { objective: loss }).trials.values()].map((t) => t.hparams);
    assert.deepEqual(run(5), run(5));
    assert.notDeepEqual(run(5), run(6));
  });

  it('does not retry errored trials: they count towards maxTrials', () => {
    const result = simulate(createSearcher(config, space, 5), { objective: loss, crashAt: { r1: 2, r4: 1 } });
    assert.equal(result.trials.size, 8);
    assert.equal([...result.trials.values()].filter((t) => t.exit === 'errored').length, 2);
  });
});

describe('snapshot and restore', () => {
  const space: HyperparameterSpace = { x: { type: 'double', minval: -1, maxval: 1, count: 4 }, opt: { type: 'categorical', vals: ['a', 'b', 'c'] } };
  const configs: SearcherConfig[] = [
    { name: 'single', metric: 'loss', smallerIsBetter: true, maxLength: 7 },
    { name: 'grid', metric: 'loss', smallerIsBetter: true, maxLength: 7, maxConcurrentTrials: 4 },
    { name: 'random', metric: 'loss', smallerIsBetter: true, maxLength: 7, maxTrials: 10, maxConcurrentTrials: 3 },
    { name: 'adaptive_asha', metric: 'loss', smallerIsBetter: true, maxLength: 64, maxTrials: 20, maxConcurrentTrials: 6 },
  ];

  for (const config of configs) {
    it(`${config.name}: a restored searcher continues exactly (restored at every 7th event)`, () => {
      const original = simulate(createSearcher(config, space, 1234), { objective: loss, reportEvery: 2, crashAt: { r2: 3 } });
      const restoredRun = simulate(createSearcher(config, space, 1234), {
        objective: loss,
        reportEvery: 2,
        crashAt: { r2: 3 },
        beforeEvent: (n, searcher) => (n % 7 === 3 ? restoreSearcher(config, space, JSON.parse(JSON.stringify(searcher.snapshot()))) : searcher),
      });
      assert.ok(original.log.length > 5);
      assert.deepEqual(restoredRun.log, original.log);
    });
  }

  it('refuses a snapshot of another searcher or of nothing', () => {
    const grid = createSearcher(configs[1]!, space, 1);
    assert.throws(() => restoreSearcher(configs[2]!, space, grid.snapshot()), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.message, 'searcher snapshot: taken from a grid searcher, but the settings say random');
      return true;
    });
    assert.throws(() => restoreSearcher(configs[2]!, space, null), /searcher snapshot: not a snapshot/);
    assert.throws(() => restoreSearcher(configs[3]!, space, { version: 1, searcher: 'adaptive_asha' }), /searcher snapshot: damaged/);
  });

  it('snapshots are independent of the live searcher', () => {
    const searcher = createSearcher(configs[2]!, space, 1);
    const before = JSON.stringify(searcher.snapshot());
    const snapshot = searcher.snapshot();
    searcher.handle({ type: 'start' });
    assert.equal(JSON.stringify(snapshot), before);
  });
});
