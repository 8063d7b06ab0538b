import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { call, testApp } from '../testing/app.js';
import { DATABASES } from '../testing/databases.js';

const myEnv = {
  name: 'my-submarine-env',
  dockerImage: 'apache/submarine:jupyter-notebook-0.7.0',
  kernelSpec: { name: 'team_default_python_3.7', channels: ['defaults'], condaDependencies: ['_ipyw_jlab_nb_ext_conf=0.1.0=py37_0'], pipDependencies: ['apache-submarine==0.7.0'] },
  description: 'team env',
};
const ENV_ID = /^environment_\d{13}_\d{4,}$/;

const experimentUsing = (environment: object) => ({
  meta: { name: 'uses-env', framework: 'TensorFlow', cmd: 'true' },
  environment,
  spec: { Worker: { replicas: 1, resources: 'cpu=1,memory=512M' } },
});

for (const database of DATABASES) {
  describe(`environment API on ${database.name}`, { skip: database.skip }, () => {
    it('creates, gets, lists, updates and deletes by name', async () => {
      const app = await testApp(await database.fresh());
      const created = await call(app, 'POST', '/api/v1/environment', myEnv);
      assert.equal(created.status, 200);
      assert.match(created.body.result.environmentId, ENV_ID);
      assert.deepEqual(created.body.result.environmentSpec, { ...myEnv, image: null });

      const got = await call(app, 'GET', '/api/v1/environment/my-submarine-env');
      assert.deepEqual(got.body.result, created.body.result);
      assert.deepEqual((await call(app, 'GET', '/api/v1/environment')).body.result, [created.body.result]);

      const updated = await call(app, 'PATCH', '/api/v1/environment/my-submarine-env', { ...myEnv, dockerImage: 'python:3.12' });
      assert.equal(updated.status, 200);
      // Unlike Submarine, the id stays the id.
      assert.equal(updated.body.result.environmentId, created.body.result.environmentId);
      assert.equal(updated.body.result.environmentSpec.dockerImage, 'python:3.12');

      const renamed = await call(app, 'PATCH', '/api/v1/environment/my-submarine-env', { ...myEnv, name: 'other' });
      assert.equal(renamed.status, 400);
      assert.match(renamed.body.message, /renaming an environment is not supported/);

      const deleted = await call(app, 'DELETE', '/api/v1/environment/my-submarine-env');
      assert.equal(deleted.body.result.environmentSpec.dockerImage, 'python:3.12');
      assert.equal((await call(app, 'GET', '/api/v1/environment/my-submarine-env')).status, 404);
      assert.equal((await call(app, 'DELETE', '/api/v1/environment/my-submarine-env')).status, 404);
    });

    it('refuses a duplicate name with 409 and keeps the first', async () => {
      const app = await testApp(await database.fresh());
      await call(app, 'POST', '/api/v1/environment', myEnv);
      const again = await call(app, 'POST', '/api/v1/environment', { ...myEnv, dockerImage: 'other' });
      assert.equal(again.status, 409);
      assert.equal(again.body.status, 'CONFLICT');
      assert.match(again.body.message, /Environment "my-submarine-env" already exists/);
      assert.equal((await call(app, 'GET', '/api/v1/environment/my-submarine-env')).body.result.environmentSpec.dockerImage, myEnv.dockerImage);
    });

    it('resolves an experiment environment by name and echoes it as sent', async () => {
      const app = await testApp(await database.fresh());
      assert.equal((await call(app, 'POST', '/api/v1/experiment', experimentUsing({ name: 'my-submarine-env' }))).status, 404);
      await call(app, 'POST', '/api/v1/environment', myEnv);
      const created = await call(app, 'POST', '/api/v1/experiment', experimentUsing({ name: 'my-submarine-env' }));
      assert.equal(created.status, 200, created.body.message);
      assert.deepEqual(created.body.result.spec.environment, { name: 'my-submarine-env', dockerImage: null, kernelSpec: null, description: null, image: null });
      // A PATCH naming a missing environment is refused and leaves the spec as it was.
      const id = created.body.result.experimentId;
      const patched = await call(app, 'PATCH', `/api/v1/experiment/${id}`, experimentUsing({ name: 'gone' }));
      assert.equal(patched.status, 404);
      assert.equal((await call(app, 'GET', `/api/v1/experiment/${id}`)).body.result.spec.environment.name, 'my-submarine-env');
    });
  });
}
