import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../errors.js';
import { normalizeExperimentSpec } from '../spec.js';
import { fromDeterminedConfig } from './determined-config.js';
import { createSearcher } from './searcher.js';

const mnist = `
name: mnist-asha
description: ASHA on MNIST
labels: [vision, asha]
entrypoint: python3 train.py --epochs 16
hyperparameters:
  lr: {type: log, base: 10, minval: -4, maxval: -1}
  layers: {type: int, minval: 1, maxval: 4}
  opt: {type: categorical, vals: [adam, sgd]}
  batch: 64
  model:
    width: {type: int, minval: 16, maxval: 128}
searcher: {name: adaptive_asha, metric: val_loss, smaller_is_better: true,
           max_trials: 32, time_metric: epochs, max_time: 16, max_concurrent_trials: 4}
resources: {slots_per_trial: 2, priority: 42, resource_pool: a100}
max_restarts: 2
checkpoint_storage: {type: shared_fs, host_path: /data/ckpt}
environment:
  image: determinedai/pytorch-ngc:0.38.0
  environment_variables:
    - NCCL_DEBUG=INFO
    - EXTRA=a=b
bind_mounts: []
frobnicate: yes
`;

describe('fromDeterminedConfig', () => {
  it('converts the fields Periscope runs and reports the rest as warnings', () => {
    const { spec, warnings } = fromDeterminedConfig(mnist);
    assert.deepEqual(spec.meta, {
      name: 'mnist-asha',
      framework: 'Custom',
      cmd: 'python3 train.py --epochs 16',
      description: 'ASHA on MNIST',
      tags: ['vision', 'asha'],
      envVars: { NCCL_DEBUG: 'INFO', EXTRA: 'a=b' },
    });
    assert.deepEqual(spec.spec, { Worker: { replicas: 1, resources: 'gpu=2' } });
    assert.deepEqual(spec.environment, { image: 'determinedai/pytorch-ngc:0.38.0' });
    assert.equal(spec.maxRestarts, 2);
    assert.deepEqual(spec.slurm, { partition: 'a100' }, 'the resource pool is the Slurm partition');
    assert.deepEqual(spec.hyperparameters, {
      lr: { type: 'log', base: 10, minval: -4, maxval: -1 },
      layers: { type: 'int', minval: 1, maxval: 4 },
      opt: { type: 'categorical', vals: ['adam', 'sgd'] },
      batch: 64,
      model: { width: { type: 'int', minval: 16, maxval: 128 } },
    });
    assert.deepEqual(spec.searcher, {
      name: 'adaptive_asha', metric: 'val_loss', smallerIsBetter: true, maxTrials: 32, maxConcurrentTrials: 4, timeMetric: 'epochs', maxLength: 16,
      numRungs: 5, divisor: 4, mode: 'standard',
    });
    assert.deepEqual(warnings, [
      `field "checkpoint_storage" ignored (checkpoints go to the server's checkpoint storage)`,
      'field "bind_mounts" ignored (executors run as processes on the node; paths are visible as they are)',
      'unknown field "frobnicate" ignored',
      'field "resources.priority" ignored (not supported)',
      'field "environment.image" has no effect (executors run as processes, not containers; the image is kept in the spec for reference)',
    ]);
  });

  it('produces a spec that normalizes and a searcher that runs', () => {
    const { spec } = fromDeterminedConfig(mnist);
    const normalized = normalizeExperimentSpec(spec, { lowercaseName: true, experimentId: null });
    assert.equal(normalized.spec.Worker!.resourceMap.gpu, '2');
    const searcher = createSearcher(normalized.searcher!, normalized.hyperparameters!, 1);
    assert.equal(searcher.handle({ type: 'start' }).filter((a) => a.type === 'create').length, 4);
  });

  it('accepts the parsed object as well as YAML text', () => {
    const { spec, warnings } = fromDeterminedConfig({ name: 'x', entrypoint: ['python3', 'train.py', '--msg', "it's ok"], searcher: { name: 'single', metric: 'loss', max_length: { batches: 500 } } });
    assert.equal(spec.meta.cmd, `python3 train.py --msg 'it'\\''s ok'`);
    assert.deepEqual(spec.searcher, { name: 'single', metric: 'loss', smallerIsBetter: true, maxLength: 500 });
    assert.deepEqual(spec.spec, { Worker: { replicas: 1 } }, 'no slots_per_trial: no GPU request');
    assert.equal(spec.maxRestarts, 5, "Determined's default");
    assert.deepEqual(warnings, []);
  });

  it('reads the legacy max_length units and keeps epochs/records as the time metric', () => {
    const epochs = fromDeterminedConfig({ name: 'x', entrypoint: 'python3 t.py', searcher: { name: 'random', metric: 'loss', max_trials: 4, max_length: { epochs: 3 } } });
    assert.deepEqual(epochs.spec.searcher, { name: 'random', metric: 'loss', smallerIsBetter: true, maxTrials: 4, maxLength: 3, timeMetric: 'epochs', maxConcurrentTrials: 16 });
    const plain = fromDeterminedConfig({ name: 'x', entrypoint: 'python3 t.py', searcher: { name: 'random', metric: 'loss', max_trials: 4, max_length: 10 } });
    assert.equal(plain.spec.searcher!.maxLength, 10);
    assert.equal(plain.spec.searcher!.timeMetric, undefined);
  });

  it('drops searcher fields that do not apply, with a warning, instead of failing', () => {
    const { spec, warnings } = fromDeterminedConfig({
      name: 'g',
      entrypoint: 'python3 t.py',
      hyperparameters: { a: { type: 'categorical', vals: [1, 2] } },
      searcher: { name: 'grid', metric: 'loss', max_trials: 1, max_length: 5, divisor: 3, bracket_rungs: [1], source_trial_id: 7, foo: 1 },
    });
    assert.deepEqual(spec.searcher, { name: 'grid', metric: 'loss', smallerIsBetter: true, maxLength: 5, maxConcurrentTrials: 16 });
    assert.deepEqual(warnings, [
      'field "searcher.bracket_rungs" ignored (brackets follow from mode)',
      'field "searcher.source_trial_id" ignored (warm starts are not supported)',
      'unknown field "searcher.foo" ignored',
      'field "searcher.max_trials" ignored (grid runs every point of the grid)',
      'field "searcher.divisor" ignored (only adaptive_asha takes it)',
    ]);
  });

  it('runs async_halving as aggressive adaptive ASHA with its num_rungs', () => {
    const { spec, warnings } = fromDeterminedConfig({ name: 'a', entrypoint: 'python3 t.py', searcher: { name: 'async_halving', metric: 'loss', max_trials: 16, num_rungs: 3, max_length: { batches: 64 } } });
    assert.deepEqual(spec.searcher, { name: 'adaptive_asha', metric: 'loss', smallerIsBetter: true, maxTrials: 16, maxLength: 64, numRungs: 3, mode: 'aggressive', maxConcurrentTrials: 16, divisor: 4 });
    assert.deepEqual(warnings, ['searcher "async_halving" runs as adaptive_asha with mode aggressive (one bracket)']);
  });

  it('reads environment variables as a map or per device, and turns names into Periscope names', () => {
    const cpu = fromDeterminedConfig({ name: 'My Experiment #1', entrypoint: 'x', environment: { environment_variables: { cpu: ['A=1'], cuda: ['A=2'] } } });
    assert.deepEqual(cpu.spec.meta.envVars, { A: '1' });
    assert.equal(cpu.spec.meta.name, 'My-Experiment-1');
    assert.deepEqual(cpu.warnings, ['field "name" "My Experiment #1" became "My-Experiment-1"']);
    const gpu = fromDeterminedConfig({ name: 'e', entrypoint: 'x', resources: { slots_per_trial: 1 }, environment: { environment_variables: { cpu: ['A=1'], cuda: ['A=2'] } } });
    assert.deepEqual(gpu.spec.meta.envVars, { A: '2' });
    const map = fromDeterminedConfig({ name: 'e', entrypoint: 'x', environment: { environment_variables: { A: 1, B: 'two' } } });
    assert.deepEqual(map.spec.meta.envVars, { A: '1', B: 'two' });
    const unnamed = fromDeterminedConfig({ entrypoint: 'x' });
    assert.equal(unnamed.spec.meta.name, 'experiment');
    assert.deepEqual(unnamed.warnings, ['field "name" missing; the experiment is named "experiment"']);
  });

  it("takes Determined 0.38 configs, which have no max_length: the script decides the length; ASHA goes by max_time", () => {
    const hyperparameters = { lr: { type: 'categorical', vals: [0.1, 0.01] } };
    for (const searcher of [{ name: 'single', metric: 'loss' }, { name: 'grid', metric: 'loss' }, { name: 'random', metric: 'loss', max_trials: 2 }]) {
      const { spec, warnings } = fromDeterminedConfig({ name: 'x', entrypoint: 'python3 train.py', hyperparameters, searcher });
      assert.equal(spec.searcher!.name, searcher.name);
      assert.equal(spec.searcher!.maxLength, undefined, `${searcher.name} has no length budget`);
      assert.deepEqual(warnings, []);
      const normalized = normalizeExperimentSpec(spec, { lowercaseName: true, experimentId: null });
      const actions = createSearcher(normalized.searcher!, normalized.hyperparameters!, 1).handle({ type: 'start' });
      assert.ok(actions.some((a) => a.type === 'create'));
      assert.deepEqual(actions.filter((a) => a.type === 'train'), [], 'no budget is set: the trial trains as its script says');
    }
    const asha = fromDeterminedConfig({ name: 'a', entrypoint: 'python3 train.py', hyperparameters, searcher: { name: 'adaptive_asha', metric: 'loss', max_trials: 4, time_metric: 'batches', max_time: 100 } });
    assert.equal(asha.spec.searcher!.maxLength, 100);
    assert.equal(asha.spec.searcher!.timeMetric, 'batches');
  });

  it('refuses what Periscope cannot run, naming the Determined field', () => {
    const refuse = (config: string | Record<string, unknown>, message: string | RegExp) =>
      assert.throws(() => fromDeterminedConfig(config), (err: unknown) => {
        assert.ok(err instanceof ValidationError, String(err));
        if (typeof message === 'string') assert.equal(err.message, message);
        else assert.match(err.message, message);
        return true;
      });
    refuse({ name: 'x', entrypoint: 'x', resources: { resource_pool: 'a b' } }, /^resources\.resource_pool: must be a pool \(Slurm partition\) name/);
    refuse({ name: 'x' }, 'entrypoint: required, the command that runs the training code (e.g. python3 train.py)');
    refuse({ name: 'x', entrypoint: 'model_def:MnistTrial' }, /^entrypoint: "model_def:MnistTrial" names a legacy Trial class/);
    refuse({ name: 'x', entrypoint: 'x', searcher: { name: 'pbt', metric: 'loss' } }, 'searcher.name: "pbt" is not supported (use single, grid, random, adaptive_asha)');
    refuse(
      { name: 'x', entrypoint: 'x', searcher: { name: 'adaptive_asha', metric: 'loss', max_trials: 2 } },
      'searcher.max_time: required for adaptive_asha, with time_metric (or max_length, the training length budget per trial)',
    );
    refuse({ name: 'x', entrypoint: 'x', searcher: { name: 'adaptive_asha', metric: 'loss', max_trials: 2, max_time: 8 } }, 'searcher.time_metric: required with max_time (the validation metric whose final value is max_time)');
    refuse({ name: 'x', entrypoint: 'x', searcher: { name: 'random', metric: 'loss' } }, 'searcher.max_trials: required for random search');
    refuse({ name: 'x', entrypoint: 'x', searcher: { name: 'random', metric: 'loss', max_trials: 0 } }, 'searcher.max_trials: must be an integer from 1 to 100000, got 0');
    refuse({ name: 'x', entrypoint: 'x', searcher: { name: 'single', metric: 'loss', max_length: { steps: 3 } } }, 'searcher.max_length: must be a number or one of {batches: N}, {epochs: N}, {records: N}');
    refuse({ name: 'x', entrypoint: 'x', hyperparameters: { lr: { type: 'double', minval: 0.1, maxval: 0.01 } } }, 'hyperparameters.lr: minval 0.1 > maxval 0.01');
    refuse({ name: 'x', entrypoint: 'x', environment: { environment_variables: ['NOVALUE'] } }, 'environment.environment_variables[0]: "NOVALUE" must look like NAME=VALUE');
    refuse({ name: 'x', entrypoint: 'x', resources: { slots_per_trial: -1 } }, 'resources.slots_per_trial: must be a non-negative integer, got -1');
    refuse('name: [unclosed', /^config: not valid YAML: /);
    refuse('- a\n- b\n', 'config: must be a mapping of Determined experiment fields');
  });
});
