/** Every seed-000 method of ExperimentClient (and the EnvironmentClient) against a real server on a random port. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EnvironmentClient, ExperimentClient, Periscope, PeriscopeApiError } from './index.js';
import { jobSpec, parkedSpec, startServer } from './testing/server.js';

const server = await startServer();
const client = new ExperimentClient({ host: server.master });

describe('ExperimentClient (seed 000) against a real server', () => {
  it('createExperiment returns the experiment with its id, Accepted status and normalized spec', async () => {
    const created = await client.createExperiment(parkedSpec('MNIST-Create', { Master: 1, Worker: 2 }));
    assert.match(created.experimentId, /^experiment-\d{13}-\d{4,}$/);
    assert.equal(created.status, 'Accepted');
    assert.equal(created.spec.meta.name, 'mnist-create');
    assert.deepEqual(Object.keys(created.spec.spec).sort(), ['Master', 'Worker']);
    assert.equal(created.spec.spec.Worker!.replicas, 2);
    assert.deepEqual(created.spec.spec.Worker!.resourceMap, { cpu: '1', memory: '512M' });
    assert.notEqual(created.acceptedTime, null);
    assert.equal(created.finishedTime, null);
  });

  it('getExperiment reads back what was created', async () => {
    const created = await client.createExperiment(parkedSpec('get-me'));
    const { experimentId, uid, acceptedTime, spec } = await client.getExperiment(created.experimentId);
    assert.deepEqual({ experimentId, uid, acceptedTime, spec }, { experimentId: created.experimentId, uid: created.uid, acceptedTime: created.acceptedTime, spec: created.spec });
  });

  it('patchExperiment replaces the spec and keeps id, uid, status and times', async () => {
    const created = await client.createExperiment(parkedSpec('patch-me', { Worker: 1 }));
    const patched = await client.patchExperiment(created.experimentId, parkedSpec('patch-me', { Worker: 3 }));
    assert.equal(patched.experimentId, created.experimentId);
    assert.equal(patched.uid, created.uid);
    assert.equal(patched.acceptedTime, created.acceptedTime);
    assert.equal(patched.spec.spec.Worker!.replicas, 3);
    assert.equal((await client.getExperiment(created.experimentId)).spec.spec.Worker!.replicas, 3);
  });

  it('patchExperiment accepts the spec exactly as the server echoed it', async () => {
    const created = await client.createExperiment(parkedSpec('echo-back', { Master: 1, Worker: 1 }));
    const patched = await client.patchExperiment(created.experimentId, created.spec);
    assert.deepEqual(patched.spec, created.spec);
  });

  it('listExperiments lists every experiment, and filters by status in any case', async () => {
    const own = new ExperimentClient({ host: (await startServer()).master });
    const good = await own.createExperiment(jobSpec('list-good', { Worker: 'true' }));
    const bad = await own.createExperiment(jobSpec('list-bad', { Worker: 'exit 1' }));
    await own.waitForFinish(good.experimentId, { pollingInterval: 0.02 });
    await own.waitForFinish(bad.experimentId, { pollingInterval: 0.02 });
    assert.deepEqual((await own.listExperiments()).map((e) => e.experimentId), [good.experimentId, bad.experimentId]);
    assert.deepEqual((await own.listExperiments('succeeded')).map((e) => e.experimentId), [good.experimentId]);
    assert.deepEqual((await own.listExperiments('FAILED')).map((e) => e.experimentId), [bad.experimentId]);
    assert.deepEqual(await own.listExperiments('Running'), []);
  });

  it('listExperiments with an unknown status is a BAD_REQUEST naming the value', async () => {
    await assert.rejects(client.listExperiments('Sleeping'), (error: unknown) => {
      assert.ok(error instanceof PeriscopeApiError);
      assert.equal(error.code, 'BAD_REQUEST');
      assert.equal(error.httpStatus, 400);
      assert.match(error.message, /status: unknown value "Sleeping"/);
      return true;
    });
  });

  it('deleteExperiment returns it as Deleted, after which it is NOT_FOUND', async () => {
    const created = await client.createExperiment(parkedSpec('delete-me'));
    const deleted = await client.deleteExperiment(created.experimentId);
    assert.equal(deleted.experimentId, created.experimentId);
    assert.equal(deleted.status, 'Deleted');
    assert.equal(deleted.acceptedTime, null);
    await assert.rejects(client.getExperiment(created.experimentId), { name: 'PeriscopeApiError', code: 'NOT_FOUND', httpStatus: 404 });
  });

  it('getLog names every pod, sorted; onlyMaster keeps the Master pod of a two-role experiment', async () => {
    const created = await client.createExperiment(parkedSpec('logs-pytorch', { Worker: 2, Master: 1 }));
    const id = created.experimentId;
    const all = await client.getLog(id);
    assert.equal(all.experimentId, id);
    assert.deepEqual(all.logContent.map((p) => p.podName), [`${id}-master-0`, `${id}-worker-0`, `${id}-worker-1`]);
    const master = await client.getLog(id, { onlyMaster: true });
    assert.deepEqual(master.logContent.map((p) => p.podName), [`${id}-master-0`]);
  });

  it('getLog onlyMaster prefers Master over Chief, and takes the first pod by name when neither exists', async () => {
    const both = await client.createExperiment(parkedSpec('tf-master-chief', { Worker: 1, Chief: 1, Master: 1 }, 'TensorFlow'));
    const master = await client.getLog(both.experimentId, { onlyMaster: true });
    assert.deepEqual(master.logContent.map((p) => p.podName), [`${both.experimentId}-master-0`]);
    const psWorker = await client.createExperiment(parkedSpec('tf-ps', { Worker: 2, Ps: 1 }, 'TensorFlow'));
    const first = await client.getLog(psWorker.experimentId, { onlyMaster: true });
    assert.deepEqual(first.logContent.map((p) => p.podName), [`${psWorker.experimentId}-ps-0`]);
  });

  it('listLog names the pods of the experiments in a status, with empty logs', async () => {
    const own = new ExperimentClient({ host: (await startServer()).master });
    const created = await own.createExperiment(jobSpec('list-log', { Master: 'echo m', Worker: 'echo w' }, 'PyTorch'));
    await own.waitForFinish(created.experimentId, { pollingInterval: 0.02 });
    const id = created.experimentId;
    assert.deepEqual(await own.listLog('Succeeded'), [
      { experimentId: id, logContent: [{ podName: `${id}-master-0`, podLog: [] }, { podName: `${id}-worker-0`, podLog: [] }] },
    ]);
    assert.deepEqual(await own.listLog('Running'), []);
    assert.equal((await own.listLog()).length, 1);
  });

  it('shares one connection with a Periscope client, whose list pages by cursor', async () => {
    const periscope = new Periscope({ master: (await startServer()).master });
    const facade = new ExperimentClient(periscope);
    const ids = [];
    for (const name of ['page-1', 'page-2', 'page-3']) ids.push((await facade.createExperiment(parkedSpec(name))).experimentId);
    const first = await periscope.experiments.list({ limit: 2 });
    assert.deepEqual(first.experiments.map((e) => e.experimentId), ids.slice(0, 2));
    assert.ok(first.nextCursor);
    const second = await periscope.experiments.list({ limit: 2, after: first.nextCursor });
    assert.deepEqual(second.experiments.map((e) => e.experimentId), ids.slice(2));
    assert.equal(second.nextCursor, null);
    const iterated = [];
    for await (const experiment of periscope.experiments.iterate({ pageSize: 1 })) iterated.push(experiment.experimentId);
    assert.deepEqual(iterated, ids);
  });
});

describe('EnvironmentClient against a real server', () => {
  const environments = new EnvironmentClient({ host: server.master });

  it('creates, gets, lists, updates and deletes an environment by name', async () => {
    const created = await environments.createEnvironment({ name: 'my-submarine-env', dockerImage: 'python:3.12', description: 'first' });
    assert.match(created.environmentId, /^environment_\d{13}_\d{4,}$/);
    assert.equal(created.environmentSpec.dockerImage, 'python:3.12');
    assert.deepEqual(await environments.getEnvironment('my-submarine-env'), created);
    assert.ok((await environments.listEnvironments()).some((e) => e.environmentSpec.name === 'my-submarine-env'));
    const updated = await environments.updateEnvironment('my-submarine-env', { dockerImage: 'python:3.13' });
    assert.equal(updated.environmentSpec.dockerImage, 'python:3.13');
    assert.equal(updated.environmentId, created.environmentId);
    await environments.deleteEnvironment('my-submarine-env');
    await assert.rejects(environments.getEnvironment('my-submarine-env'), { code: 'NOT_FOUND', message: 'Environment not found.' });
  });

  it('a duplicate name is a CONFLICT with the server message', async () => {
    await environments.createEnvironment({ name: 'twice', dockerImage: 'busybox' });
    await assert.rejects(environments.createEnvironment({ name: 'twice', dockerImage: 'busybox' }), {
      name: 'PeriscopeApiError',
      code: 'CONFLICT',
      httpStatus: 409,
      message: 'Environment "twice" already exists.',
    });
  });
});
