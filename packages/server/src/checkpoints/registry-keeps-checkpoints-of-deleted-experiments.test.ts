/**
 * A checkpoint a model version holds survives the deletion of its experiment (record and files), as in
 * Determined's registry: the version still shows it and its files still download. Who reads it then: everyone
 * through the model's version routes (models are shared); by uuid, the experiment's owner and admins (as before
 * the deletion). A checkpoint no version holds goes with its experiment; a kept one goes with its last version.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { list as listTar } from 'tar';
import { call, testApp, userHeaders, waitForStatus } from '../testing/app.js';
import { DATABASES, tempDir } from '../testing/databases.js';

const HELD = '2b4e28ba-2fa1-41d2-883f-0016d3cca427';
const LOOSE = '3b4e28ba-2fa1-41d2-883f-0016d3cca427';

for (const database of DATABASES) {
  describe(`registry-held checkpoints on ${database.name}`, { skip: database.skip }, () => {
    it('survive their experiment: the version shows and downloads them; the uuid route answers the owner and admins', async () => {
      const app = await testApp(await database.fresh());
      const alice = await userHeaders(app, 'alice');
      const bob = await userHeaders(app, 'bob');
      const created = await call(app, 'POST', '/api/v1/experiment', { meta: { name: 'kept', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} }, autoStart: false, hyperparameters: {} }, alice);
      assert.equal(created.status, 200, created.body.message);
      const id = created.body.result.experimentId;
      await waitForStatus(app, id, ['Created']);
      const trialId = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0].id;
      const weights = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 13) % 256));
      for (const [uuid, steps] of [[HELD, 10], [LOOSE, 20]] as const) {
        const dir = join(app.execution.layout.checkpointDir(id, 1), uuid);
        mkdirSync(join(dir, 'weights'), { recursive: true });
        writeFileSync(join(dir, 'weights', 'w.bin'), weights);
        writeFileSync(join(dir, 'state.json'), JSON.stringify({ steps }));
        assert.equal((await call(app, 'POST', `/api/v1/trials/${trialId}/metrics`, { group: 'validation', reports: [{ stepsCompleted: steps, metrics: { loss: 1 / steps } }] })).status, 200);
        assert.equal((await call(app, 'POST', `/api/v1/trials/${trialId}/checkpoints`, { uuid, stepsCompleted: steps, metadata: { note: uuid } })).status, 200);
      }
      assert.equal((await call(app, 'POST', '/api/v1/models', { name: 'keeper' }, alice)).status, 200);
      const registered = await call(app, 'POST', '/api/v1/models/keeper/versions', { checkpointUuid: HELD }, alice);
      assert.equal(registered.status, 200, registered.body.message);
      const before = registered.body.result.checkpoint;

      const deleted = await call(app, 'DELETE', `/api/v1/experiment/${id}`, undefined, alice);
      assert.equal(deleted.status, 200, deleted.body.message);
      assert.equal(existsSync(join(app.execution.layout.checkpointDir(id, 1), HELD)), false, 'the experiment dir is purged');

      // Everyone reads the model's versions, with the checkpoint as it was.
      for (const who of [alice, bob, {}]) {
        const model = await call(app, 'GET', '/api/v1/models/keeper', undefined, who);
        assert.equal(model.body.result.numVersions, 1);
        const version = await call(app, 'GET', '/api/v1/models/keeper/versions/1', undefined, who);
        assert.equal(version.status, 200, version.body.message);
        assert.deepEqual(version.body.result.checkpoint, before);
        assert.deepEqual(version.body.result.checkpoint.training.validationMetrics, { loss: 0.1 });
        assert.equal((await call(app, 'GET', '/api/v1/models/keeper/versions', undefined, who)).body.result.length, 1);
      }
      // By uuid: its experiment's owner and admins, as before; another user is told it does not exist.
      assert.deepEqual((await call(app, 'GET', `/api/v1/checkpoints/${HELD}`, undefined, alice)).body.result, before);
      assert.equal((await call(app, 'GET', `/api/v1/checkpoints/${HELD}`)).status, 200, 'admin');
      const hidden = await call(app, 'GET', `/api/v1/checkpoints/${HELD}`, undefined, bob);
      assert.equal(hidden.status, 404);
      assert.match(hidden.body.message, new RegExp(HELD));
      assert.equal((await call(app, 'GET', `/api/v1/checkpoints/${HELD}/download`, undefined, bob)).status, 404);

      const download = await app.http.inject({ method: 'GET', url: `/api/v1/checkpoints/${HELD}/download`, headers: alice });
      assert.equal(download.statusCode, 200, download.body);
      const entries = new Map<string, number>();
      const archive = join(tempDir(), 'download.tar');
      writeFileSync(archive, download.rawPayload);
      listTar({ file: archive, sync: true, onReadEntry: (e) => void entries.set(e.path.replace(/^\.\//, ''), e.size ?? 0) });
      assert.equal(entries.get('weights/w.bin'), weights.length);
      assert.ok(entries.has('state.json'));

      // Metadata stays editable by its owner; a held checkpoint still refuses deletion.
      const patched = await call(app, 'PATCH', `/api/v1/checkpoints/${HELD}/metadata`, { add: { stage: 'prod' } }, alice);
      assert.deepEqual(patched.body.result.metadata, { note: HELD, stage: 'prod' });
      assert.equal((await call(app, 'DELETE', `/api/v1/checkpoints/${HELD}`, undefined, alice)).status, 409);

      // What no version held went with the experiment.
      assert.equal((await call(app, 'GET', `/api/v1/checkpoints/${LOOSE}`)).status, 404);

      // The last version going releases the kept checkpoint, files and all.
      assert.equal((await call(app, 'DELETE', '/api/v1/models/keeper/versions/1', undefined, alice)).status, 200);
      assert.equal((await call(app, 'GET', `/api/v1/checkpoints/${HELD}`)).status, 404);
      assert.equal(existsSync(join(app.execution.layout.dataDir, 'registry', HELD)), false);
    });
  });
}
