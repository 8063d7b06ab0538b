import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminHeaders, call, testApp as baseTestApp, waitForStatus } from '../testing/app.js';
import { DATABASES, eventually, tempDir } from '../testing/databases.js';
import { SecretBox } from '../secrets/secret-box.js';

// A node large enough for the specs below whatever machine runs the tests.
const testApp: typeof baseTestApp = (database, options = {}) => baseTestApp(database, { capacity: { cpus: 16, memoryMb: 65536, gpus: [] }, ...options });

// These tests are about the API and the store, so nothing is started (autoStart: false).
const spec = (name: string, extra: object = {}) => ({
  autoStart: false,
  meta: { name, namespace: 'ignored', framework: 'PyTorch', cmd: 'python train.py' },
  environment: { image: 'pytorch:2' },
  spec: { Master: { replicas: 1, resources: 'cpu=1,memory=1G' }, Worker: { replicas: 2, resources: 'cpu=1,memory=1G' } },
  ...extra,
});

for (const database of DATABASES) {
  describe(`experiment service on ${database.name}`, { skip: database.skip }, () => {
    it('lowercases the name on create but not on patch, and keeps status and times on patch', async () => {
      const app = await testApp(await database.fresh());
      const created = (await call(app, 'POST', '/api/v1/experiment', spec('MNIST'))).body.result;
      assert.equal(created.spec.meta.name, 'mnist');
      assert.equal(created.spec.meta.namespace, 'default');
      const patched = await call(app, 'PATCH', `/api/v1/experiment/${created.experimentId}`, { ...spec('MNIST-2'), meta: { ...spec('MNIST-2').meta, experimentId: 'experiment-1-1' } });
      assert.equal(patched.status, 200);
      assert.equal(patched.body.result.spec.meta.name, 'MNIST-2');
      assert.equal(patched.body.result.spec.meta.experimentId, created.experimentId);
      assert.equal(patched.body.result.acceptedTime, created.acceptedTime);
      assert.equal(patched.body.result.uid, created.uid);
    });

    it('tolerates what a client echoes back (resourceMap, cpu, memory, gpu, experimentId)', async () => {
      const app = await testApp(await database.fresh());
      const created = (await call(app, 'POST', '/api/v1/experiment', spec('echo'))).body.result;
      const echoed = await call(app, 'PATCH', `/api/v1/experiment/${created.experimentId}`, {
        ...created.spec,
        spec: { ...created.spec.spec, Master: { ...created.spec.spec.Master, cpu: '1', memory: '1G', gpu: null } },
      });
      assert.equal(echoed.status, 200, echoed.body.message);
      assert.deepEqual(echoed.body.result.spec, created.spec);
    });

    it('never echoes a git password, and a PATCH sending the mask back keeps the stored one', async () => {
      const dataDir = tempDir();
      const app = await testApp(await database.fresh(), { dataDir });
      // A port nothing listens on: the prepare's clone fails at once instead of waiting on DNS with no network.
      const code = { syncMode: 'git', git: { url: 'https://127.0.0.1:9/team/repo.git', username: 'bot', password: 's3cret' } };
      const created = (await call(app, 'POST', '/api/v1/experiment', spec('private', { code }))).body.result;
      assert.equal(created.spec.code.git.password, '******');
      assert.equal(JSON.stringify((await call(app, 'GET', `/api/v1/experiment/${created.experimentId}`)).body).includes('s3cret'), false);
      const patched = await call(app, 'PATCH', `/api/v1/experiment/${created.experimentId}`, created.spec);
      assert.equal(patched.status, 200, patched.body.message);
      const stored = await app.experiments.record(created.experimentId);
      // Stored sealed (experiments/secrets.ts); opened with the data dir's key it is the original.
      assert.equal((await SecretBox.load(dataDir)).open(stored.spec.code!.git!.password!), 's3cret', 'the mask did not overwrite the password');
      // The clone is over (it failed) before the test's work dir is removed under it.
      await eventually('the prepare to end', async () => !['Accepted', 'Preparing'].includes((await app.experiments.record(created.experimentId)).status));
    });

    it('accepts a YAML body, as Submarine does', async () => {
      const app = await testApp(await database.fresh());
      const yaml = 'autoStart: false\nmeta:\n  name: from-yaml\n  framework: TensorFlow\n  cmd: python a.py\nspec:\n  Worker:\n    replicas: 2\n    resources: cpu=1,memory=1G\n';
      const answer = await call(app, 'POST', '/api/v1/experiment', yaml, { 'content-type': 'application/yaml' });
      assert.equal(answer.status, 200, answer.body.message);
      assert.equal(answer.body.result.spec.spec.Worker.replicas, 2);
    });

    it('treats an empty application/json body on GET and DELETE as no body (the Python client sends that)', async () => {
      const app = await testApp(await database.fresh());
      const id = (await call(app, 'POST', '/api/v1/experiment', spec('empty-body'))).body.result.experimentId;
      const headers = { 'content-type': 'application/json', 'user-agent': 'OpenAPI-Generator/0.9.0-SNAPSHOT/python', ...adminHeaders(app) };
      for (const url of ['/api/v1/experiment', `/api/v1/experiment/${id}`, '/api/v1/experiment/logs', `/api/v1/experiment/logs/${id}`]) {
        const response = await app.http.inject({ method: 'GET', url, headers, payload: '' });
        assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
      }
      const deleted = await app.http.inject({ method: 'DELETE', url: `/api/v1/experiment/${id}`, headers, payload: '' });
      assert.equal(deleted.statusCode, 200, deleted.body);
      assert.equal(deleted.json().result.status, 'Deleted');
    });

    it('tolerates duplicate slashes from a host with a trailing slash', async () => {
      const app = await testApp(await database.fresh());
      assert.equal((await call(app, 'GET', '//api/v1/experiment/ping')).body.result, 'Pong');
    });

    it('filters lists by status in any case and pages by key', async () => {
      const app = await testApp(await database.fresh());
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push((await call(app, 'POST', '/api/v1/experiment', spec(`e${i}`))).body.result.experimentId);
      // autoStart: false prepares each one (Submarine shows Created) and leaves it waiting.
      for (const id of ids) await waitForStatus(app, id, ['Created']);
      assert.deepEqual((await call(app, 'GET', '/api/v1/experiment?status=created')).body.result.map((e: any) => e.experimentId), ids);
      assert.deepEqual((await call(app, 'GET', '/api/v1/experiment?status=RUNNING')).body.result, []);
      assert.deepEqual((await call(app, 'GET', '/api/v1/experiment?status=Accepted')).body.result, []);
      assert.equal((await call(app, 'GET', '/api/v1/experiment/logs?status=Created')).body.result.length, 7);

      const seen: string[] = [];
      let url = '/api/v1/experiment?limit=3';
      for (;;) {
        const page = (await call(app, 'GET', url)).body;
        seen.push(...page.result.map((e: any) => e.experimentId));
        const next = page.attributes.nextCursor as string | undefined;
        if (!next) break;
        url = `/api/v1/experiment?limit=3&after=${next}`;
      }
      assert.deepEqual(seen, ids);
    });

    it('names pods per role replica, sorted, in the logs views', async () => {
      const app = await testApp(await database.fresh());
      const id = (await call(app, 'POST', '/api/v1/experiment', spec('pods'))).body.result.experimentId;
      const log = (await call(app, 'GET', `/api/v1/experiment/logs/${id}`)).body.result;
      assert.deepEqual(log.logContent.map((p: any) => p.podName), [`${id}-master-0`, `${id}-worker-0`, `${id}-worker-1`]);
    });

    it('keeps experiments, environments and ids across a restart', async () => {
      const target = await database.fresh();
      const dataDir = tempDir();
      const first = await testApp(target, { dataDir });
      const env = (await call(first, 'POST', '/api/v1/environment', { name: 'kept', dockerImage: 'img' })).body.result;
      const kept = (await call(first, 'POST', '/api/v1/experiment', spec('kept'))).body.result.experimentId;
      const before = await waitForStatus(first, kept, ['Created']);
      await first.close();

      const second = await testApp(target, { dataDir });
      assert.deepEqual((await call(second, 'GET', `/api/v1/experiment/${before.experimentId}`)).body.result, before);
      assert.deepEqual((await call(second, 'GET', '/api/v1/environment/kept')).body.result, env);
      const after = (await call(second, 'POST', '/api/v1/experiment', spec('new'))).body.result;
      assert.notEqual(after.experimentId, before.experimentId);
      const startOf = (id: string) => Number(id.split('-')[1]);
      assert.ok(startOf(after.experimentId) > startOf(before.experimentId), `${after.experimentId} after ${before.experimentId}`);
      const envAfter = (await call(second, 'POST', '/api/v1/environment', { name: 'new-env', dockerImage: 'img' })).body.result;
      assert.notEqual(envAfter.environmentId, env.environmentId);
    });
  });
}
