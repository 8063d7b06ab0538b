import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planAdaptiveAsha } from './asha-plan.js';
import type { HyperparameterSpace } from './hyperparameters.js';
import { createSearcher } from './searcher.js';
import { simulate } from './simulator.test-util.js';
import type { SearcherConfig } from './types.js';

const asha = (extra: Partial<SearcherConfig> = {}): SearcherConfig => ({ name: 'adaptive_asha', metric: 'loss', smallerIsBetter: true, maxLength: 100, maxTrials: 16, ...extra });
const space: HyperparameterSpace = { x: { type: 'double', minval: 0, maxval: 1 }, width: { type: 'int', minval: 8, maxval: 64 } };
/** The quality of a trial's hyperparameters: lower is better, and no training length changes the order. */
const quality = (h: Record<string, unknown>) => (h.x as number) ** 2;
const loss = (h: Record<string, unknown>, length: number) => quality(h) + 1 / length;

describe('planAdaptiveAsha', () => {
  it('clamps the rungs so the lowest budget is ≥ 1 and a trial can reach the top, and splits standard mode into brackets', () => {
    const plan = planAdaptiveAsha(asha({ maxConcurrentTrials: 16 }));
    // numRungs 5 by default; ⌊log4 100⌋ + 1 = 4; ⌊log4 16⌋ + 1 = 3.
    assert.equal(plan.numRungs, 3);
    assert.deepEqual(plan.brackets, [
      { numRungs: 3, rungLengths: [6, 25, 100], maxTrials: 12, maxConcurrentTrials: 8 },
      { numRungs: 2, rungLengths: [25, 100], maxTrials: 4, maxConcurrentTrials: 4 },
    ]);
  });

  it('gives one bracket in aggressive mode and one per rung count in conservative mode', () => {
    assert.deepEqual(planAdaptiveAsha(asha({ mode: 'aggressive', maxConcurrentTrials: 16 })).brackets, [
      { numRungs: 3, rungLengths: [6, 25, 100], maxTrials: 16, maxConcurrentTrials: 16 },
    ]);
    const conservative = planAdaptiveAsha(asha({ mode: 'conservative', maxTrials: 64, maxLength: 256, maxConcurrentTrials: 16 }));
    assert.deepEqual(conservative.brackets.map((b) => b.numRungs), [4, 3, 2, 1]);
    assert.equal(conservative.brackets.reduce((sum, b) => sum + b.maxTrials, 0), 64);
    assert.ok(conservative.brackets.reduce((sum, b) => sum + b.maxConcurrentTrials, 0) <= 16);
    assert.deepEqual(conservative.brackets[0]!.rungLengths, [4, 16, 64, 256]);
  });

  it('counts rungs exactly at powers of the divisor and honours numRungs and divisor', () => {
    assert.equal(planAdaptiveAsha(asha({ maxLength: 64, maxTrials: 64, numRungs: 9 })).numRungs, 4);
    assert.equal(planAdaptiveAsha(asha({ maxLength: 63, maxTrials: 64, numRungs: 9 })).numRungs, 3);
    assert.deepEqual(planAdaptiveAsha(asha({ maxLength: 81, maxTrials: 100, divisor: 3, numRungs: 2, mode: 'aggressive' })).brackets[0]!.rungLengths, [27, 81]);
    assert.equal(planAdaptiveAsha(asha({ maxLength: 1, maxTrials: 5 })).numRungs, 1);
  });

  it('never plans more live trials than maxConcurrentTrials', () => {
    const plan = planAdaptiveAsha(asha({ maxTrials: 64, maxLength: 256, maxConcurrentTrials: 1 }));
    assert.equal(plan.brackets.length, 1);
    assert.equal(plan.brackets[0]!.maxConcurrentTrials, 1);
    assert.equal(plan.brackets[0]!.maxTrials, 64);
  });
});

describe('adaptive ASHA search', () => {
  it('with 16 trials on a known objective: promotes the better, stops the worse, trains far less than 16 × maxLength', () => {
    const totals: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const result = simulate(createSearcher(asha(), space, seed), { objective: loss });
      const trials = [...result.trials.values()];
      assert.equal(trials.length, 16);
      assert.equal(result.doneCount, 1);
      assert.deepEqual(result.log.at(-1)!.actions.at(-1), { type: 'done' });
      assert.ok(trials.every((t) => !t.alive));
      totals.push(result.totalLength);

      // The best trial is never stopped and trains to maxLength; the stopped ones are worse on average.
      const best = trials.reduce((a, b) => (quality(a.hparams) <= quality(b.hparams) ? a : b));
      assert.equal(best.length, 100, `seed ${seed}: the best trial trained ${best.length}`);
      assert.equal(best.exit, 'completed');
      const stopped = trials.filter((t) => t.exit === 'stopped');
      const finished = trials.filter((t) => t.length === 100);
      assert.ok(stopped.length >= 7, `seed ${seed}: ${stopped.length} stopped`);
      assert.equal(stopped.length + finished.length, 16, 'every trial either is stopped at a rung or trains to maxLength');
      const mean = (list: typeof trials) => list.reduce((sum, t) => sum + quality(t.hparams), 0) / list.length;
      assert.ok(mean(stopped) > mean(finished), `seed ${seed}: stopped ${mean(stopped)} vs finished ${mean(finished)}`);

      // Each stop obeys the rule: a better trial had already reported at the same rung.
      const reached = new Map<number, number[]>();
      for (const { event, actions } of result.log) {
        if (event.type !== 'validation') continue;
        const metrics = reached.get(event.length) ?? [];
        if (actions.some((a) => a.type === 'stop')) assert.ok(metrics.some((m) => m < event.metric), `seed ${seed}: ${event.requestId} stopped without a better trial`);
        metrics.push(event.metric);
        reached.set(event.length, metrics);
        // Budgets only step through the rungs: 6 → 25 → 100 (bracket 0), 25 → 100 (bracket 1).
        for (const action of actions) if (action.type === 'train') assert.ok([6, 25, 100].includes(action.length));
      }
    }
    const full = 16 * 100;
    const average = totals.reduce((a, b) => a + b, 0) / totals.length;
    assert.ok(average < 0.45 * full, `trained ${average} on average of ${full}`);
    assert.ok(Math.max(...totals) < 0.7 * full, `trained at most ${Math.max(...totals)} of ${full}`);
  });

  it('trains even less in aggressive mode (one bracket)', () => {
    const totals = Array.from({ length: 20 }, (_, seed) => simulate(createSearcher(asha({ mode: 'aggressive' }), space, seed), { objective: loss }).totalLength);
    assert.ok(totals.reduce((a, b) => a + b, 0) / totals.length < 0.35 * 16 * 100);
  });

  it('promotes larger values when smallerIsBetter is false', () => {
    const result = simulate(createSearcher(asha({ smallerIsBetter: false, mode: 'aggressive' }), space, 42), { objective: (h, len) => -loss(h, len) });
    const trials = [...result.trials.values()];
    const best = trials.reduce((a, b) => (quality(a.hparams) <= quality(b.hparams) ? a : b));
    const worst = trials.reduce((a, b) => (quality(a.hparams) >= quality(b.hparams) ? a : b));
    assert.equal(best.length, 100);
    assert.ok(worst.length < 100 || worst.requestId === 'r1', 'the worst trial is stopped unless it was the very first to report');
  });

  it('keeps live trials within maxConcurrentTrials and still runs maxTrials in all', () => {
    const result = simulate(createSearcher(asha({ maxConcurrentTrials: 4 }), space, 7), { objective: loss, reportEvery: 5 });
    assert.equal(result.trials.size, 16);
    assert.ok(result.maxLive <= 4, `max live ${result.maxLive}`);
    assert.equal(result.doneCount, 1);
  });

  it('gives every trial its first budget right after creating it', () => {
    const actions = createSearcher(asha({ maxConcurrentTrials: 3, mode: 'aggressive' }), space, 1).handle({ type: 'start' });
    assert.deepEqual(actions.map((a) => a.type), ['create', 'train', 'create', 'train', 'create', 'train']);
    assert.deepEqual(actions.filter((a) => a.type === 'train').map((a) => (a as { length: number }).length), [6, 6, 6]);
  });

  it('moves a trial up several rungs when one report clears them, with one train action', () => {
    const searcher = createSearcher(asha({ mode: 'aggressive', maxConcurrentTrials: 1 }), space, 1);
    searcher.handle({ type: 'start' });
    assert.deepEqual(searcher.handle({ type: 'validation', requestId: 'r1', length: 3, metric: 1 }), [], 'short of the first rung');
    assert.deepEqual(searcher.handle({ type: 'validation', requestId: 'r1', length: 30, metric: 1 }), [{ type: 'train', requestId: 'r1', length: 100 }]);
    assert.deepEqual(searcher.handle({ type: 'validation', requestId: 'r1', length: 100, metric: 1 }), []);
    assert.deepEqual(searcher.handle({ type: 'validation', requestId: 'r1', length: 100, metric: 1 }), [], 'a repeated report changes nothing');
    assert.deepEqual(searcher.handle({ type: 'exited', requestId: 'r1', reason: 'completed' }).map((a) => a.type), ['create', 'train']);
  });

  it('counts a trial that fails before its rung as the worst there, and does not retry it', () => {
    // 4 trials allow two rungs (25, 100): ⌊log4 4⌋ + 1.
    const searcher = createSearcher(asha({ mode: 'aggressive', maxConcurrentTrials: 2, maxTrials: 4 }), space, 1);
    searcher.handle({ type: 'start' });
    // r1 crashes before rung 0 and is replaced by r3; r2 then reports there and, with r1 the worst, is the best of two.
    const replaced = searcher.handle({ type: 'exited', requestId: 'r1', reason: 'errored' });
    assert.deepEqual(replaced.map((a) => [a.type, 'requestId' in a && a.requestId]), [['create', 'r3'], ['train', 'r3']]);
    assert.deepEqual(replaced[1], { type: 'train', requestId: 'r3', length: 25 });
    assert.deepEqual(searcher.handle({ type: 'validation', requestId: 'r2', length: 25, metric: 5 }), [{ type: 'train', requestId: 'r2', length: 100 }]);
    // NaN counts as the worst value: r3 is stopped.
    assert.deepEqual(searcher.handle({ type: 'validation', requestId: 'r3', length: 25, metric: Number.NaN }), [{ type: 'stop', requestId: 'r3' }]);
    assert.deepEqual(searcher.handle({ type: 'validation', requestId: 'r3', length: 26, metric: 0 }), [], 'reports after a stop are ignored');
    assert.deepEqual(searcher.handle({ type: 'exited', requestId: 'r3', reason: 'stopped' }).map((a) => a.type), ['create', 'train']);
    assert.deepEqual(searcher.handle({ type: 'exited', requestId: 'r2', reason: 'completed' }), []);
    assert.notEqual(searcher.progress(), 1);
    assert.deepEqual(searcher.handle({ type: 'exited', requestId: 'r4', reason: 'errored' }), [{ type: 'done' }]);
    assert.equal(searcher.progress(), 1);
  });

  it('ignores events for trials it does not know', () => {
    const searcher = createSearcher(asha(), space, 1);
    searcher.handle({ type: 'start' });
    assert.deepEqual(searcher.handle({ type: 'validation', requestId: 'r99', length: 100, metric: 0 }), []);
    assert.deepEqual(searcher.handle({ type: 'exited', requestId: 'r99', reason: 'completed' }), []);
  });

  it('reports progress between 0 and 1, reaching 1 when done', () => {
    const seen: number[] = [];
    const result = simulate(createSearcher(asha(), space, 3), {
      objective: loss,
      beforeEvent: (_, searcher) => {
        seen.push(searcher.progress());
        return searcher;
      },
    });
    assert.equal(result.doneCount, 1);
    assert.ok(seen.every((p) => p >= 0 && p <= 1));
    assert.equal(seen[0], 0);
    assert.ok(seen.at(-1)! > 0.5);
  });
});
