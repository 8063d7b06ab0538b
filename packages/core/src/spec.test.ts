import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from './errors.js';
import { IdGenerator, isExperimentId } from './ids.js';
import type { ExperimentSpec } from './schemas.js';
import { normalizeExperimentSpec, planRoles } from './spec.js';
import { formatTime } from './time.js';

const base: ExperimentSpec = {
  meta: { name: 'TF-Mnist', namespace: 'elsewhere', framework: 'tensorflow', cmd: 'python train.py', envVars: { ENV_1: 'ENV1' } },
  environment: { image: 'apache/submarine:tf-mnist-with-summaries-1.0' },
  spec: { Ps: { replicas: 1, resources: 'cpu=1,memory=1024M' }, Worker: { resources: 'cpu=1,memory=2048M', cmd: 'python worker.py', envVars: { W: '1' } } },
};

describe('normalizeExperimentSpec', () => {
  it('pads the echo as Submarine does and lowercases the name on create', () => {
    const spec = normalizeExperimentSpec(base, { lowercaseName: true, experimentId: 'experiment-1647192232698-0001' });
    assert.deepEqual(spec.meta, {
      experimentId: 'experiment-1647192232698-0001',
      name: 'tf-mnist',
      namespace: 'default',
      framework: 'tensorflow',
      cmd: 'python train.py',
      envVars: { ENV_1: 'ENV1' },
      tags: [],
    });
    assert.deepEqual(spec.environment, { name: null, dockerImage: null, kernelSpec: null, description: null, image: 'apache/submarine:tf-mnist-with-summaries-1.0' });
    assert.deepEqual(spec.spec.Ps, { replicas: 1, resources: 'cpu=1,memory=1024M', name: null, image: null, cmd: null, envVars: null, resourceMap: { cpu: '1', memory: '1024M' } });
    assert.equal(spec.spec.Worker!.replicas, 1);
    assert.equal(spec.code, null);
    assert.equal('autoStart' in spec, false);
  });

  it('keeps the name as given on patch', () => {
    assert.equal(normalizeExperimentSpec(base, { lowercaseName: false, experimentId: null }).meta.name, 'TF-Mnist');
  });

  it('accepts both CodeSpec shapes', () => {
    const a = normalizeExperimentSpec({ ...base, code: { syncMode: 'git', url: 'https://example.com/a.git' } }, { lowercaseName: true, experimentId: null });
    assert.deepEqual(a.code, { syncMode: 'git', url: 'https://example.com/a.git' });
    const b = normalizeExperimentSpec({ ...base, code: { syncMode: 'git', git: { url: 'file:///srv/repo', branch: 'dev' } } }, { lowercaseName: true, experimentId: null });
    assert.deepEqual(b.code, { syncMode: 'git', git: { url: 'file:///srv/repo', branch: 'dev' } });
  });

  it('lets role cmd, image and envVars override the experiment-level ones (envVars replace, no merge)', () => {
    const spec = normalizeExperimentSpec(
      { ...base, environment: { name: 'my-env' }, spec: { ...base.spec, Ps: { image: 'ps:1' } } },
      { lowercaseName: true, experimentId: null },
    );
    const [ps, worker] = planRoles(spec, 'stored:2');
    const none = { pipeline: null, nodes: null, nodeSelector: null };
    assert.deepEqual(ps, { role: 'Ps', replicas: 1, resources: { cpu: 0, memoryMb: 0, gpu: 0 }, cmd: 'python train.py', image: 'ps:1', envVars: { ENV_1: 'ENV1' }, ...none });
    assert.deepEqual(worker, { role: 'Worker', replicas: 1, resources: { cpu: 1, memoryMb: 2048, gpu: 0 }, cmd: 'python worker.py', image: 'stored:2', envVars: { W: '1' }, ...none });
  });

  const refusals: [string, ExperimentSpec, string, RegExp][] = [
    ['an unknown framework', { ...base, meta: { ...base.meta, framework: 'Caffe' } }, 'meta.framework', /Unsupported framework name: Caffe/],
    ['a role in the wrong case', { ...base, spec: { ps: {} } }, 'spec.ps', /Unrecognized replica type name: ps, it should be Ps,Worker,Chief,Master,Evaluator/],
    ['a PyTorch Ps role', { ...base, meta: { ...base.meta, framework: 'PyTorch' }, spec: { Ps: {} } }, 'spec.Ps', /Master,Worker for PyTorch/],
    ['no roles', { ...base, spec: {} }, 'spec', /at least one task role/],
    ['no command anywhere', { ...base, meta: { ...base.meta, cmd: null }, spec: { Ps: {} } }, 'meta.cmd', /required unless every role/],
    ['a bad env var name', { ...base, meta: { ...base.meta, envVars: { 'A-B': '1' } } }, 'meta.envVars.A-B', /not a valid environment variable name/],
    ['a bad name', { ...base, meta: { ...base.meta, name: '../etc' } }, 'meta.name', /must start and end/],
    ['an hdfs code sync', { ...base, code: { syncMode: 'hdfs', url: 'hdfs://x' } }, 'code.syncMode', /not supported/],
    ['both cmd and pipeline', { ...base, spec: { Worker: { cmd: 'x', pipeline: [['a']] } } }, 'spec.Worker.pipeline', /either cmd or pipeline/],
    ['a blank pipeline command', { ...base, spec: { Worker: { pipeline: [['a', ' ']] } } }, 'spec.Worker.pipeline', /pipeline\[0\]\[1\]: must not be blank/],
    ['an upload without a digest', { ...base, code: { syncMode: 'upload', url: 'code.tgz' } }, 'code.url', /sha256/],
  ];
  for (const [what, input, field, message] of refusals) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => normalizeExperimentSpec(input, { lowercaseName: true, experimentId: null }),
        (error: unknown) => error instanceof ValidationError && error.field === field && message.test(error.message),
      );
    });
  }

  it('accepts any well-formed role name for the Custom framework', () => {
    const spec = normalizeExperimentSpec({ ...base, meta: { ...base.meta, framework: 'custom' }, spec: { trainer: {}, 'data-loader': { replicas: 2 } } }, { lowercaseName: true, experimentId: null });
    assert.deepEqual(Object.keys(spec.spec), ['trainer', 'data-loader']);
  });
});

describe('ids and times', () => {
  it('numbers ids per start with at least four digits', () => {
    const ids = new IdGenerator('experiment', '-', 1647574374688);
    assert.equal(ids.next(), 'experiment-1647574374688-0001');
    assert.equal(ids.next(), 'experiment-1647574374688-0002');
    assert.ok(isExperimentId('experiment-1647574374688-12345'));
    assert.ok(!isExperimentId('experiment_1647574374688_0001'));
    assert.ok(!isExperimentId('../../etc/passwd'));
  });

  it('formats times as ISO-8601 with milliseconds and an offset', () => {
    assert.match(formatTime(1647241390000)!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
    assert.equal(new Date(formatTime(1647241390123)!).getTime(), 1647241390123);
    assert.equal(formatTime(null), null);
  });
});
