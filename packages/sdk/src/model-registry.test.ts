/**
 * The model registry through the SDK against a real server: two checkpoints of a trial become versions 1 and 2,
 * models are listed, sorted and filtered, version 1's files come back byte for byte, archive and delete.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createModel, getModel, getModels, login, Model, ModelVersion, Periscope, PeriscopeApiError } from './index.js';
import { eventually, startServer, tempDir } from './testing/server.js';

const server = await startServer();
const client = new Periscope({ master: server.master });

const UUIDS = ['1b4e28ba-2fa1-11d2-883f-0016d3cca427', '6fa459ea-ee8a-3ca4-894e-db77e160355e'] as const;
const weights = (i: number) => Buffer.from(Array.from({ length: 300 * (i + 1) }, (_, k) => (k * 7 + i) % 256));

/**
 * A parked experiment's trial reporting two checkpoints, their files written where training code writes them
 * (the trial's checkpoint dir on the server).
 */
async function twoCheckpoints(): Promise<void> {
  const experiment = await client.experiments.create({ meta: { name: 'for-registry', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} }, autoStart: false } as never);
  const id = experiment.experimentId;
  await eventually('the experiment to be Created', async () => (await client.experiments.get(id)).status === 'Created');
  const [trial] = await client.experiments.trials(id);
  assert.ok(trial, 'the parked experiment has a trial');
  for (const [i, uuid] of UUIDS.entries()) {
    const dir = join(server.app.execution.layout.checkpointDir(id, 1), uuid);
    mkdirSync(join(dir, 'weights'), { recursive: true });
    writeFileSync(join(dir, 'weights', 'w.bin'), weights(i));
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ step: 10 * (i + 1) }));
    const answer = await fetch(`${server.master}/api/v1/trials/${trial.id}/checkpoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
      body: JSON.stringify({ uuid, stepsCompleted: 10 * (i + 1) }),
    });
    assert.equal(answer.status, 200, await answer.text());
  }
}

async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof PeriscopeApiError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

describe('model registry through the SDK', () => {
  it('registers two checkpoints as versions 1 and 2 and downloads version 1 byte for byte', async () => {
    await twoCheckpoints();
    const model = await client.createModel('mnist-cnn', { description: 'digits', metadata: { owner: 'ml' }, labels: ['prod'], workspaceName: 'vision' });
    assert.ok(model instanceof Model);
    assert.deepEqual([model.name, model.description, model.metadata, model.labels, model.workspace, model.numVersions], ['mnist-cnn', 'digits', { owner: 'ml' }, ['prod'], 'vision', 0]);
    assert.equal(await model.getVersion(), null, 'no version yet');

    const v1 = await model.registerVersion(UUIDS[0], { name: 'first', comment: 'baseline', notes: 'n', metadata: { acc: 0.9 } });
    assert.ok(v1 instanceof ModelVersion);
    assert.deepEqual([v1.version, v1.name, v1.comment, v1.notes, v1.metadata, v1.checkpoint.uuid], [1, 'first', 'baseline', 'n', { acc: 0.9 }, UUIDS[0]]);
    assert.equal((await model.registerVersion(UUIDS[1])).version, 2);
    assert.equal(model.numVersions, 2);

    const latest = await model.getVersion();
    assert.equal(latest?.version, 2);
    assert.equal(latest?.checkpoint.uuid, UUIDS[1]);
    const first = await model.getVersion(1);
    assert.equal(first?.comment, 'baseline');
    assert.deepEqual((await model.getVersions()).map((v) => v.version), [2, 1]);
    assert.deepEqual((await model.getVersions('asc')).map((v) => v.version), [1, 2]);
    await rejectsWith(model.getVersion(3), 'NOT_FOUND', /3/);
    await assert.rejects(model.getVersion(0), TypeError);

    const dir = await first!.checkpoint.download(join(tempDir(), 'v1'));
    assert.deepEqual(readFileSync(join(dir, 'weights', 'w.bin')), weights(0));
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')), { step: 10 });

    await rejectsWith(model.registerVersion('00000000-0000-0000-0000-000000000000'), 'NOT_FOUND', /00000000-0000-0000-0000-000000000000/);
    const again = await client.getModel(model.id);
    assert.deepEqual([again.name, again.numVersions], ['mnist-cnn', 2]);
  });

  it('lists, sorts and filters models, and edits metadata, labels and the archived flag', async () => {
    for (const [name, description, workspaceName, labels] of [
      ['gamma', 'Vision transformer', 'vision', ['prod', 'vit']],
      ['Beta', 'speech', 'audio', ['prod']],
      ['alpha', 'A baseline', undefined, ['baseline']],
    ] as const) {
      await client.createModel(name, { description, workspaceName, labels: [...labels] });
    }
    await rejectsWith(client.createModel('alpha'), 'CONFLICT', /A model named "alpha" already exists/);
    const names = async (options: Parameters<Periscope['getModels']>[0]) => (await client.getModels(options)).map((m) => m.name);

    assert.deepEqual(await names({ name: 'a' }), ['Beta', 'alpha', 'gamma'], 'by name, ascending, byte order');
    assert.deepEqual(await names({ name: 'a', orderBy: 'desc' }), ['gamma', 'alpha', 'Beta']);
    assert.deepEqual(await names({ name: 'a', sortBy: 'creationTime' }), ['gamma', 'Beta', 'alpha']);
    assert.deepEqual(await names({ description: 'VISION' }), ['gamma']);
    assert.deepEqual(await names({ workspaceNames: ['audio', 'vision'] }), ['Beta', 'gamma', 'mnist-cnn']);
    assert.deepEqual(await names({ label: 'prod' }), ['Beta', 'gamma', 'mnist-cnn']);
    const gamma = await client.getModel('gamma');
    assert.deepEqual(await names({ modelId: gamma.id }), ['gamma']);
    assert.deepEqual((await client.getModelLabels()).slice(0, 1), ['prod'], 'names only, most popular first (seed 003)');
    assert.deepEqual((await client.models.labels()).slice(0, 1), [{ label: 'prod', count: 3 }]);

    await gamma.addMetadata({ stage: 'old', owner: 'ml' });
    await gamma.removeMetadata(['owner']);
    await gamma.setLabels(['vit']);
    assert.deepEqual([gamma.metadata, gamma.labels], [{ stage: 'old' }, ['vit']], 'fields follow the answers');
    await gamma.archive();
    assert.equal(gamma.archived, true);
    assert.equal((await client.getModel('gamma')).archived, true, 'archived on the server');
    assert.deepEqual(await names({ archived: true }), ['gamma']);
    assert.ok(!(await names({ archived: false })).includes('gamma'));
    await gamma.unarchive();
    assert.equal((await client.getModel('gamma')).archived, false);
  });

  it('refuses to delete a model with versions when asked not to force, and says when a model does not exist', async () => {
    const model = await client.getModel('mnist-cnn');
    await rejectsWith(model.delete({ force: false }), 'CONFLICT', /has 2 version\(s\)/);
    const [newest] = await model.getVersions();
    await newest!.delete();
    assert.deepEqual((await model.getVersions()).map((v) => v.version), [1]);
    await model.delete({ force: true });
    await rejectsWith(client.getModel('mnist-cnn'), 'NOT_FOUND', /mnist-cnn/);
    await rejectsWith(client.getModel(987654), 'NOT_FOUND', /987654/);

    const empty = await client.createModel('empty');
    await empty.delete();
    await rejectsWith(client.getModel('empty'), 'NOT_FOUND', /empty/);
  });

  it('module-level functions use the login() client', async () => {
    await login({ master: server.master });
    const made = await createModel('via-login', { labels: ['x'] });
    assert.equal((await getModel('via-login')).id, made.id);
    assert.deepEqual((await getModels({ label: 'x' })).map((m) => m.name), ['via-login']);
  });
});
