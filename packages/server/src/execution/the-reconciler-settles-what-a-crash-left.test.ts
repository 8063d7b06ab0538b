/**
 * The reconciler's settle pass (reconciler.ts): an experiment whose trials have all ended but whose own status
 * was not moved (a server that died between the two writes) is settled from its last trial; experiments whose
 * trials have not ended, parked ones included, are left as they are. The pass reads only the candidates
 * (ExperimentStore.settleCandidates), so it is checked here against a history of parked experiments.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { App } from '../app.js';
import type { ExperimentStore } from '../experiments/store.js';
import { call, create, testApp, waitForStatus } from '../testing/app.js';
import { DATABASES, eventually } from '../testing/databases.js';
import type { TrialStore } from '../trials/store.js';

const job = (cmd: string, extra: object = {}) => ({ meta: { name: 'job', framework: 'Custom', cmd }, spec: { Worker: { resources: 'cpu=0.1,memory=64M' } }, ...extra });

function stores(app: App): { experiments: ExperimentStore; trials: TrialStore } {
  return (app.execution.orchestrator as unknown as { e: { o: { experiments: ExperimentStore; trials: TrialStore } } }).e.o;
}

const statusOf = async (app: App, id: string): Promise<string> => (await call(app, 'GET', `/api/v1/experiment/${id}`)).body.result.status;
const trialOf = async (app: App, id: string): Promise<any> => (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0];

for (const database of DATABASES) {
  describe(`the reconciler on ${database.name}`, { skip: database.skip }, () => {
    it('settles an experiment whose trials ended without it, and leaves parked and running ones alone', async () => {
      const app = await testApp(await database.fresh());
      const { experiments } = stores(app);
      const parked = await Promise.all(Array.from({ length: 30 }, () => create(app, job('true', { autoStart: false }))));
      for (const id of parked) await eventually(`${id} to be prepared`, async () => (await trialOf(app, id)).state === 'Ready' || undefined);
      const running = await create(app, job('sleep 60'));
      await waitForStatus(app, running, ['Running']);
      const ended = await create(app, job('exit 3'));
      await waitForStatus(app, ended, ['Failed']);
      // What a server that died after its trial's end was written, and before the experiment's, leaves.
      await app.db.kysely.updateTable('experiments').set({ status: 'Running', finished_at: null }).where('id', '=', ended).execute();
      await experiments.transition(ended, { status: 'Running' }); // through the store, which keeps rows it reads: now it holds this one
      assert.equal(await statusOf(app, ended), 'Running');
      assert.deepEqual(await experiments.settleCandidates(['Accepted', 'Preparing', 'Ready', 'Running'], ['Succeeded', 'Failed', 'Canceled']), [ended], 'only the one whose trials have all ended');
      await app.execution.reconciler.pass();
      assert.equal(await statusOf(app, ended), 'Failed');
      assert.equal(await statusOf(app, running), 'Running');
      for (const id of parked) assert.equal(await statusOf(app, id), 'Created', 'parked (Ready, which Submarine calls Created)');
      await call(app, 'POST', `/api/v1/experiment/${running}/cancel`);
    });
  });
}
