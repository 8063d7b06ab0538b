/**
 * A parked experiment (autoStart false) with no code to sync is prepared before its create's transaction and
 * stored Ready by it: the answer already says so, its trial is Ready and its dirs exist, with no write after
 * the create; a start runs it. What cannot be prepared that quickly (a gang that never fits, code to sync)
 * still goes through the prepare after the create, which records why it failed. A create that fails (a taken
 * execution name) leaves no dirs behind.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { call, testApp, waitForStatus } from '../testing/app.js';
import { DATABASES } from '../testing/databases.js';

const parked = (extra: object = {}) => ({ autoStart: false, meta: { name: 'parked', framework: 'Custom', cmd: 'echo ran' }, spec: { Worker: { resources: 'cpu=0.1,memory=64M' } }, ...extra });

for (const database of DATABASES) {
  describe(`a parked create on ${database.name}`, { skip: database.skip }, () => {
    it('is stored Ready, with its trial Ready and its dirs made, and runs when started', async () => {
      const app = await testApp(await database.fresh());
      const answer = await call(app, 'POST', '/api/v1/experiment', parked());
      assert.equal(answer.status, 200, answer.body.message);
      const { experimentId: id, status, acceptedTime, createdTime } = answer.body.result;
      // Submarine shows Ready as Created, created as it was accepted.
      assert.equal(status, 'Created');
      assert.equal(createdTime, acceptedTime);
      // Read at once, not polled: nothing is left to happen after the create.
      assert.equal((await app.experiments.record(id)).status, 'Ready');
      assert.equal((await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0].state, 'Ready');
      assert.ok(statSync(app.execution.layout.workDir(id, 1)).isDirectory());
      assert.ok(statSync(app.execution.layout.checkpointDir(id, 1)).isDirectory());

      assert.equal((await call(app, 'POST', `/api/v1/experiment/${id}/start`)).status, 200);
      assert.equal((await waitForStatus(app, id, ['Succeeded'], 30_000)).status, 'Succeeded');
    });

    it('that fails (a taken execution name) leaves no dirs behind', async () => {
      const app = await testApp(await database.fresh());
      const first = await app.experiments.createNamed(parked(), 'taken', 'digest', 'admin');
      await assert.rejects(app.experiments.createNamed(parked(), 'taken', 'digest', 'admin'), /taken/);
      const { dataDir } = app.execution.layout;
      assert.deepEqual(readdirSync(join(dataDir, 'work')), [first.id]);
      assert.deepEqual(readdirSync(join(dataDir, 'checkpoints')), [first.id]);
    });

    it('that can never fit is accepted and then fails with the reason', async () => {
      const app = await testApp(await database.fresh(), { capacity: { cpus: 2, memoryMb: 4096, gpus: [] } });
      const answer = await call(app, 'POST', '/api/v1/experiment', parked({ spec: { Worker: { resources: 'cpu=64,memory=64M' } } }));
      assert.equal(answer.status, 200, answer.body.message);
      assert.equal(answer.body.result.status, 'Accepted');
      const id = answer.body.result.experimentId;
      assert.equal((await waitForStatus(app, id, ['Failed'], 10_000)).status, 'Failed');
      assert.match((await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0].message, /cpu=64/);
    });

    it('with code to sync is accepted and prepared after the create', async () => {
      const app = await testApp(await database.fresh());
      // A port nothing listens on: the clone fails at once.
      const answer = await call(app, 'POST', '/api/v1/experiment', parked({ code: { syncMode: 'git', url: 'http://127.0.0.1:9/refused.git' } }));
      assert.equal(answer.status, 200, answer.body.message);
      assert.equal(answer.body.result.status, 'Accepted');
      const id = answer.body.result.experimentId;
      assert.equal((await waitForStatus(app, id, ['Failed'], 10_000)).status, 'Failed');
      assert.match((await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0].message, /^Could not prepare: Code sync failed: git clone of http:\/\/127\.0\.0\.1:9\/refused\.git/);
    });
  });
}
