import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeExperimentSpec, type ExperimentSpec } from '@periscope/core';
import { distributedEnv, planExecutors } from './plan.js';

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

describe('distributedEnv', () => {
  it('gives every executor its rank, the world size, rank 0 as master and its own GPUs', () => {
    const plans = planExecutors(ID, 1, spec({ meta: { name: 'pt', framework: 'PyTorch', cmd: 'x' }, spec: { Master: {}, Worker: { replicas: 2 } } }));
    const env = distributedEnv(plans, { framework: 'PyTorch', host: '127.0.0.1', ports: [4000, 4001, 4002], gpus: [[0], [1, 2], []] });
    assert.deepEqual(env[1], { RANK: '1', LOCAL_RANK: '1', WORLD_SIZE: '3', MASTER_ADDR: '127.0.0.1', MASTER_PORT: '4000', CUDA_VISIBLE_DEVICES: '1,2' });
    assert.equal(env[2]!.CUDA_VISIBLE_DEVICES, '');
    assert.equal(env[0]!.TF_CONFIG, undefined);
  });

  it('describes the TensorFlow cluster by role with each task type and index', () => {
    const plans = planExecutors(ID, 1, spec({ meta: { name: 'tf', framework: 'TensorFlow', cmd: 'x' }, spec: { Ps: {}, Worker: { replicas: 2 }, Evaluator: {} } }));
    const env = distributedEnv(plans, { framework: 'TensorFlow', host: '127.0.0.1', ports: [5000, 5001, 5002, 5003], gpus: [] });
    const worker1 = JSON.parse(env[2]!.TF_CONFIG!);
    assert.deepEqual(worker1, { cluster: { ps: ['127.0.0.1:5000'], worker: ['127.0.0.1:5001', '127.0.0.1:5002'] }, task: { type: 'worker', index: 1 } });
    assert.deepEqual(JSON.parse(env[3]!.TF_CONFIG!).task, { type: 'evaluator', index: 0 });
  });
});
