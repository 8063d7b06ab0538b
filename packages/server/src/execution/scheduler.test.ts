import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeCapacity } from './capacity.js';
import { parseNvidiaSmi } from './capacity.js';
import { GangScheduler, NeverFitsError } from './scheduler.js';

/** A fake GPU inventory: the scheduler only sees indices. */
const node = (gpus = 4): NodeCapacity => ({
  name: 'box',
  architecture: 'x64',
  cpus: 8,
  memoryMb: 16384,
  gpus: Array.from({ length: gpus }, (_, index) => ({ index, name: 'fake', memoryMb: 80000, uuid: `GPU-${index}` })),
  labels: {},
});
const r = (cpu: number, memoryMb = 0, gpu = 0) => ({ cpu, memoryMb, gpu });

describe('GangScheduler', () => {
  it('places a whole gang or nothing', () => {
    const s = new GangScheduler(node());
    s.enqueue({ trialId: 1, priority: 0, executors: [r(4), r(4)] });
    s.enqueue({ trialId: 2, priority: 0, executors: [r(1), r(1)] });
    assert.deepEqual(s.schedule().map((p) => p.trialId), [1]);
    assert.ok(s.isQueued(2));
    s.release(1);
    assert.deepEqual(s.schedule().map((p) => p.trialId), [2]);
  });

  it('says why each queued trial waits: what the head needs against what is free, the rest behind it', () => {
    const s = new GangScheduler(node(2));
    s.enqueue({ trialId: 1, priority: 0, executors: [r(6, 0, 1)] });
    s.enqueue({ trialId: 2, priority: 0, executors: [r(4, 1024, 2)] });
    s.enqueue({ trialId: 3, priority: 0, executors: [r(1)] });
    assert.deepEqual(s.schedule().map((p) => p.trialId), [1]);
    assert.deepEqual(s.pendingReasons(), [
      { trialId: 2, reason: 'Waiting for capacity on box: needs cpu=4 (2 free), gpu=2 (1 free).' },
      { trialId: 3, reason: 'Waiting behind 1 trial ahead of it in the queue.' },
    ]);
    s.release(1);
    s.schedule();
    assert.deepEqual(s.pendingReasons(), []);
  });

  it('orders by priority, then first come first served, without overtaking the head', () => {
    const s = new GangScheduler(node());
    s.enqueue({ trialId: 1, priority: 0, executors: [r(8)] });
    assert.equal(s.schedule().length, 1);
    s.enqueue({ trialId: 2, priority: 0, executors: [r(6)] });
    s.enqueue({ trialId: 3, priority: 5, executors: [r(4)] });
    s.enqueue({ trialId: 4, priority: 0, executors: [r(1)] });
    assert.deepEqual(s.schedule(), []);
    s.release(1);
    // 3 (priority 5) first, then 2 does not fit beside it, and 4 must wait behind 2.
    assert.deepEqual(s.schedule().map((p) => p.trialId), [3]);
    s.release(3);
    assert.deepEqual(s.schedule().map((p) => p.trialId), [2, 4]);
  });

  it('assigns distinct GPUs by index, lowest first, and reuses freed ones', () => {
    const s = new GangScheduler(node(4));
    s.enqueue({ trialId: 1, priority: 0, executors: [r(1, 0, 1), r(1, 0, 2)] });
    s.enqueue({ trialId: 2, priority: 0, executors: [r(1, 0, 1)] });
    s.enqueue({ trialId: 3, priority: 0, executors: [r(1, 0, 1)] });
    const placed = s.schedule();
    assert.deepEqual(placed.map((p) => p.gpus), [[[0], [1, 2]], [[3]]]);
    s.release(1);
    assert.deepEqual(s.schedule()[0]!.gpus, [[0]]);
    assert.deepEqual(s.usage().gpus, [0, 3]);
  });

  it('refuses at once a gang larger than the node', () => {
    const s = new GangScheduler(node(1));
    assert.throws(() => s.enqueue({ trialId: 1, priority: 0, executors: [r(6), r(6)] }), (e: unknown) => e instanceof NeverFitsError && /cpu=12 \(node has 8\)/.test(e.message));
    assert.throws(() => s.enqueue({ trialId: 2, priority: 0, executors: [r(1, 0, 2)] }), /gpu=2 \(node has 1\)/);
    assert.throws(() => s.enqueue({ trialId: 3, priority: 0, executors: [r(1, 20000)] }), /memory=20000M/);
  });

  it('counts memory and adopted (recovered) trials', () => {
    const s = new GangScheduler(node());
    s.adopt({ trialId: 9, priority: 0, executors: [r(2, 12000, 1)] }, [[2]]);
    s.enqueue({ trialId: 1, priority: 0, executors: [r(1, 8000)] });
    assert.deepEqual(s.schedule(), []);
    s.release(9);
    assert.deepEqual(s.schedule()[0]!.gpus, [[]]);
  });
});

describe('parseNvidiaSmi', () => {
  it('reads index, name, memory and uuid', () => {
    assert.deepEqual(parseNvidiaSmi('0, NVIDIA H100 80GB HBM3, 81559, GPU-abc\n1, NVIDIA H100 80GB HBM3, 81559, GPU-def\n'), [
      { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryMb: 81559, uuid: 'GPU-abc' },
      { index: 1, name: 'NVIDIA H100 80GB HBM3', memoryMb: 81559, uuid: 'GPU-def' },
    ]);
  });
});
