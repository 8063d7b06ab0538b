/** The model registry on both databases: versions from real checkpoints, sorting, filtering, archive, delete. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { App } from '../app.js';
import { call, create, testApp, waitForStatus } from '../testing/app.js';
import { DATABASES } from '../testing/databases.js';

/** A parked experiment's trial with two reported checkpoints (files written where training code writes them). */
async function twoCheckpoints(app: App): Promise<[string, string]> {
  const id = await create(app, { meta: { name: 'for-registry', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} }, autoStart: false });
  await waitForStatus(app, id, ['Created']);
  const trial = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0];
  const uuids = ['1b4e28ba-2fa1-11d2-883f-0016d3cca427', '6fa459ea-ee8a-3ca4-894e-db77e160355e'] as const;
  for (const [i, uuid] of uuids.entries()) {
    const dir = join(app.execution.layout.checkpointDir(id, 1), uuid);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'weights.bin'), Buffer.alloc(100 * (i + 1), i + 1));
    assert.equal((await call(app, 'POST', `/api/v1/trials/${trial.id}/checkpoints`, { uuid, stepsCompleted: 10 * (i + 1) })).status, 200);
  }
  return [...uuids];
}

const names = (answer: any) => answer.body.result.map((m: any) => m.name);

for (const database of DATABASES) {
  describe(`model registry on ${database.name}`, { skip: database.skip }, () => {
    it('creates, sorts and filters models the same way on every database', async () => {
      const app = await testApp(await database.fresh());
      const specs = [
        { name: 'gamma', description: 'Vision transformer', workspace: 'vision', labels: ['prod', 'vit'] },
        { name: 'Beta', description: 'speech 100%', workspace: 'audio', labels: ['prod'] },
        { name: 'alpha', description: 'A baseline', labels: ['baseline', 'prod'] },
        { name: '_tmp', description: 'scratch', workspace: 'vision' },
      ];
      for (const s of specs) assert.equal((await call(app, 'POST', '/api/v1/models', { ...s, metadata: { owner: 'ml' } })).status, 200);
      const dup = await call(app, 'POST', '/api/v1/models', { name: 'alpha' });
      assert.equal(dup.status, 409);
      assert.match(dup.body.message, /A model named "alpha" already exists/);

      assert.deepEqual(names(await call(app, 'GET', '/api/v1/models')), ['Beta', '_tmp', 'alpha', 'gamma'], 'byte order by name');
      assert.deepEqual(names(await call(app, 'GET', '/api/v1/models?sortBy=name&orderBy=desc')), ['gamma', 'alpha', '_tmp', 'Beta']);
      assert.deepEqual(names(await call(app, 'GET', '/api/v1/models?sortBy=creationTime')), ['gamma', 'Beta', 'alpha', '_tmp']);
      assert.deepEqual(names(await call(app, 'GET', '/api/v1/models?sortBy=description')), ['A baseline', 'Vision transformer', 'scratch', 'speech 100%'].map((d) => specs.find((s) => s.description === d)!.name));
      // Workspaces in byte order (Uncategorized, audio, vision), ties by id.
      assert.deepEqual(names(await call(app, 'GET', '/api/v1/models?sortBy=workspace&orderBy=asc')), ['alpha', 'Beta', 'gamma', '_tmp']);
      assert.deepEqual(names(await call(app, 'GET', '/api/v1/models?name=AL')), ['alpha']);
      assert.deepEqual(names(await call(app, 'GET', '/api/v1/models?description=100%25')), ['Beta'], '% is taken literally');
      assert.deepEqual(names(await call(app, 'GET', '/api/v1/models?name=_')), ['_tmp'], '_ is taken literally');
      assert.deepEqual(names(await call(app, 'GET', '/api/v1/models?workspace=vision,audio')), ['Beta', '_tmp', 'gamma']);
      assert.deepEqual(names(await call(app, 'GET', '/api/v1/models?label=prod')), ['Beta', 'alpha', 'gamma']);
      const gamma = (await call(app, 'GET', '/api/v1/models/gamma')).body.result;
      assert.deepEqual(names(await call(app, 'GET', `/api/v1/models?id=${gamma.id}`)), ['gamma']);
      assert.deepEqual((await call(app, 'GET', `/api/v1/models/${gamma.id}`)).body.result, gamma);
      assert.deepEqual((await call(app, 'GET', '/api/v1/models/labels')).body.result, [
        { label: 'prod', count: 3 },
        { label: 'baseline', count: 1 },
        { label: 'vit', count: 1 },
      ]);

      const archived = await call(app, 'PATCH', '/api/v1/models/gamma', { archived: true, addMetadata: { stage: 'old' }, removeMetadata: ['owner'], labels: ['vit'] });
      assert.deepEqual([archived.body.result.archived, archived.body.result.metadata, archived.body.result.labels], [true, { stage: 'old' }, ['vit']]);
      assert.deepEqual(names(await call(app, 'GET', '/api/v1/models?archived=true')), ['gamma']);
      assert.deepEqual(names(await call(app, 'GET', '/api/v1/models?archived=false')), ['Beta', '_tmp', 'alpha']);
      assert.equal((await call(app, 'PATCH', '/api/v1/models/gamma', { archived: false })).body.result.archived, false);
      assert.equal((await call(app, 'GET', '/api/v1/models?sortBy=size')).status, 400);
      assert.equal((await call(app, 'GET', '/api/v1/models/nope')).status, 404);
      assert.equal((await call(app, 'POST', '/api/v1/models', { name: 'a/b' })).status, 400);
    });

    it('registers checkpoints as versions 1..n, serves them newest first, and guards deletion', async () => {
      const app = await testApp(await database.fresh());
      const [first, second] = await twoCheckpoints(app);
      await call(app, 'POST', '/api/v1/models', { name: 'mnist' });
      assert.equal((await call(app, 'GET', '/api/v1/models/mnist/versions/latest')).body.result, null, 'no version yet');
      const v1 = await call(app, 'POST', '/api/v1/models/mnist/versions', { checkpointUuid: first, comment: 'first' });
      assert.equal(v1.status, 200, v1.body.message);
      assert.equal(v1.body.result.version, 1);
      assert.deepEqual(v1.body.result.checkpoint.resources, { 'weights.bin': 100 });
      assert.equal((await call(app, 'POST', '/api/v1/models/mnist/versions', { checkpointUuid: second })).body.result.version, 2);
      assert.equal((await call(app, 'GET', '/api/v1/models/mnist/versions/latest')).body.result.checkpoint.uuid, second);
      assert.equal((await call(app, 'GET', '/api/v1/models/mnist/versions/1')).body.result.comment, 'first');
      assert.deepEqual((await call(app, 'GET', '/api/v1/models/mnist/versions')).body.result.map((v: any) => v.version), [2, 1]);
      assert.deepEqual((await call(app, 'GET', '/api/v1/models/mnist/versions?orderBy=asc')).body.result.map((v: any) => v.version), [1, 2]);
      assert.equal((await call(app, 'GET', '/api/v1/models/mnist')).body.result.numVersions, 2);
      assert.equal((await call(app, 'GET', '/api/v1/models/mnist/versions/3')).status, 404);
      assert.equal((await call(app, 'GET', '/api/v1/models/mnist/versions/zero')).status, 400);
      assert.equal((await call(app, 'POST', '/api/v1/models/mnist/versions', { checkpointUuid: '00000000-0000-0000-0000-000000000000' })).status, 404);

      const kept = await call(app, 'DELETE', `/api/v1/checkpoints/${first}`);
      assert.equal(kept.status, 409);
      assert.match(kept.body.message, /version 1 of model "mnist"; delete those versions first/);
      const refused = await call(app, 'DELETE', '/api/v1/models/mnist');
      assert.equal(refused.status, 409);
      assert.match(refused.body.message, /has 2 version\(s\)/);
      assert.equal((await call(app, 'DELETE', '/api/v1/models/mnist/versions/1')).body.result.version, 1);
      assert.equal((await call(app, 'DELETE', `/api/v1/checkpoints/${first}`)).status, 200, 'free once no version keeps it');
      assert.equal((await call(app, 'DELETE', '/api/v1/models/mnist?force=true')).status, 200);
      assert.equal((await call(app, 'GET', '/api/v1/models/mnist')).status, 404);
    });
  });
}
