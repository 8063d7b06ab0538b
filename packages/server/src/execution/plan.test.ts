import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeExperimentSpec, type ExperimentSpec } from '@periscope/core';
import { planExecutors } from './plan.js';

const ID = 'experiment-1647574374688-0002';
const spec = (input: ExperimentSpec) => normalizeExperimentSpec(input, { lowercaseName: true, experimentId: ID });

describe('planExecutors', () => {
  it('puts PyTorch Master replica 0 at rank 0 whatever the spec order, names executors like pods', () => {
    const plans = planExecutors(ID, 1, spec({ meta: { name: 'pt', framework: 'PyTorch', cmd: 'python train.py' }, spec: { Worker: { replicas: 2, resources: 'cpu=1' }, Master: { replicas: 1, cmd: 'python master.py' } } }));
    assert.deepEqual(plans.map((p) => [p.name, p.rank, p.cmd]), [
      [`${ID}-master-0`, 0, 'python master.py'],
      [`${ID}-worker-0`, 1, 'python train.py'],
      [`${ID}-worker-1`, 2, 'python train.py'],
    ]);
    assert.equal(planExecutors(ID, 3, spec({ meta: { name: 'pt', framework: 'PyTorch', cmd: 'x' }, spec: { Worker: {} } }))[0]!.name, `${ID}-t3-worker-0`);
  });
});
