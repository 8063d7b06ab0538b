import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeExperimentSpec, type ExperimentSpec } from '@periscope/core';
import { distributedEnv, type Landing } from './distributed-env.js';
import { planExecutors } from './plan.js';

const ID = 'experiment-1647574374688-0002';
const spec = (input: ExperimentSpec) => normalizeExperimentSpec(input, { lowercaseName: true, experimentId: ID });
const local = (ports: number[], gpus: number[][] = []): Landing[] => ports.map((port, rank) => ({ node: 'n1', host: '127.0.0.1', port, gpus: gpus[rank] ?? [] }));

describe('distributedEnv', () => {
  it('gives every executor its rank, the world size, rank 0 as master and its own GPUs', () => {
    const plans = planExecutors(ID, 1, spec({ meta: { name: 'pt', framework: 'PyTorch', cmd: 'x' }, spec: { Master: {}, Worker: { replicas: 2 } } }));
    const env = distributedEnv(plans, 'PyTorch', local([4000, 4001, 4002], [[0], [1, 2], []]));
    assert.deepEqual(env[1], { RANK: '1', LOCAL_RANK: '1', LOCAL_WORLD_SIZE: '3', NODE_RANK: '0', WORLD_SIZE: '3', MASTER_ADDR: '127.0.0.1', MASTER_PORT: '4000', CUDA_VISIBLE_DEVICES: '1,2' });
    assert.equal(env[2]!.CUDA_VISIBLE_DEVICES, '');
    assert.equal(env[0]!.TF_CONFIG, undefined);
  });

  it('across nodes: the master is where rank 0 landed, local ranks and node ranks per node', () => {
    const plans = planExecutors(ID, 1, spec({ meta: { name: 'pt', framework: 'PyTorch', cmd: 'x' }, spec: { Master: {}, Worker: { replicas: 3 } } }));
    const landings: Landing[] = [
      { node: 'gpu-b', host: '10.0.0.2', port: 29500, gpus: [0] },
      { node: 'gpu-a', host: '10.0.0.1', port: 29501, gpus: [0] },
      { node: 'gpu-b', host: '10.0.0.2', port: 29502, gpus: [1] },
      { node: 'gpu-a', host: '10.0.0.1', port: 29503, gpus: [1] },
    ];
    const env = distributedEnv(plans, 'PyTorch', landings);
    assert.deepEqual(
      env.map((e) => [e.RANK, e.NODE_RANK, e.LOCAL_RANK, e.LOCAL_WORLD_SIZE, e.MASTER_ADDR, e.MASTER_PORT, e.CUDA_VISIBLE_DEVICES]),
      [
        ['0', '0', '0', '2', '10.0.0.2', '29500', '0'],
        ['1', '1', '0', '2', '10.0.0.2', '29500', '0'],
        ['2', '0', '1', '2', '10.0.0.2', '29500', '1'],
        ['3', '1', '1', '2', '10.0.0.2', '29500', '1'],
      ],
    );
  });

  it('describes the TensorFlow cluster by role with each task type and index, on the hosts they landed on', () => {
    const plans = planExecutors(ID, 1, spec({ meta: { name: 'tf', framework: 'TensorFlow', cmd: 'x' }, spec: { Ps: {}, Worker: { replicas: 2 }, Evaluator: {} } }));
    const env = distributedEnv(plans, 'TensorFlow', local([5000, 5001, 5002, 5003]));
    const worker1 = JSON.parse(env[2]!.TF_CONFIG!);
    assert.deepEqual(worker1, { cluster: { ps: ['127.0.0.1:5000'], worker: ['127.0.0.1:5001', '127.0.0.1:5002'] }, task: { type: 'worker', index: 1 } });
    assert.deepEqual(JSON.parse(env[3]!.TF_CONFIG!).task, { type: 'evaluator', index: 0 });
    const spread = distributedEnv(plans, 'TensorFlow', [
      { node: 'a', host: 'ps-host', port: 1, gpus: [] },
      { node: 'b', host: 'w-host', port: 2, gpus: [] },
      { node: 'b', host: 'w-host', port: 3, gpus: [] },
      { node: 'c', host: 'e-host', port: 4, gpus: [] },
    ]);
    assert.deepEqual(JSON.parse(spread[0]!.TF_CONFIG!).cluster, { ps: ['ps-host:1'], worker: ['w-host:2', 'w-host:3'] });
  });
});
