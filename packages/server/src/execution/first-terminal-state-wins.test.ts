/**
 * The first terminal state wins, on both databases: a cancel racing the natural end (or any late write) never
 * turns a Succeeded trial, executor or experiment into something else. The deliberate ways out of an end —
 * a failed trial restarted (maxRestarts), a promoted ASHA trial queued again — still work.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeExperimentSpec } from '@periscope/core';
import { openDatabase } from '../db/database.js';
import { ExperimentStore } from '../experiments/store.js';
import { DATABASES } from '../testing/databases.js';
import { TrialStore } from '../trials/store.js';
import { settleExperiment } from './settle.js';

const ID = 'experiment-1700000000000-0001';

async function stores(target: string) {
  const db = await openDatabase(target);
  const experiments = new ExperimentStore(db.kysely);
  const trials = new TrialStore(db.kysely);
  const spec = normalizeExperimentSpec({ meta: { name: 'race', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} } }, { lowercaseName: true, experimentId: ID });
  await experiments.insert({ id: ID, uid: 'u', spec, status: 'Running', acceptedAt: Date.now(), owner: 'admin' });
  const trial = await trials.create(ID, 1, 0, {}, [{ name: `${ID}-worker-0`, role: 'Worker', replica: 0, rank: 0 }]);
  return { db, experiments, trials, trial };
}

for (const database of DATABASES) {
  describe(`first terminal state wins (${database.name})`, { skip: database.skip }, () => {
    it('a trial, its executor and its experiment keep the end they reached first', async () => {
      const { db, experiments, trials, trial } = await stores(await database.fresh());
      try {
        const executor = `${ID}-worker-0`;
        assert.equal(await trials.updateExecutor(executor, { state: 'Running', pid: 1 }), true);
        assert.equal(await trials.updateExecutor(executor, { state: 'Succeeded', exitCode: 0 }), true);
        assert.equal(await trials.updateExecutor(executor, { state: 'Canceled', cause: 'canceled by request' }), false, 'a late cancel of an ended executor is refused');
        assert.equal((await trials.executor(executor))!.state, 'Succeeded');
        assert.equal((await trials.executor(executor))!.cause, null);
        assert.equal(await trials.updateExecutor(executor, { cancelRequested: true }), true, 'what is not a state still changes');

        assert.equal(await trials.update(trial.id, { state: 'Running' }), true);
        assert.equal(await trials.update(trial.id, { state: 'Succeeded', finishedAt: 1 }), true);
        assert.equal(await trials.update(trial.id, { state: 'Canceled', message: 'Canceled by request.', finishedAt: 2 }), false);
        const kept = (await trials.get(trial.id))!;
        assert.equal(kept.state, 'Succeeded');
        assert.equal(kept.message, null);
        assert.equal(kept.finishedAt, 1);

        assert.ok(await experiments.transition(ID, { status: 'Succeeded', finishedAt: 1 }));
        assert.equal(await experiments.transition(ID, { status: 'Canceled', finishedAt: 2, message: 'Canceled by request.' }), undefined);
        assert.equal((await experiments.get(ID))!.status, 'Succeeded');
        assert.equal((await experiments.requestCancel(ID))!.cancelRequestedAt, null, 'an ended experiment has nothing to cancel');
      } finally {
        await db.close();
      }
    });

    it('a failed trial can be restarted and a finished one promoted (reopened), and the experiment follows its trial', async () => {
      const { db, experiments, trials, trial } = await stores(await database.fresh());
      try {
        // maxRestarts: a failed attempt goes back to the queue from Running, never through a recorded end.
        assert.equal(await trials.update(trial.id, { state: 'Running' }), true);
        assert.equal(await trials.update(trial.id, { state: 'Queued', restarts: 1 }), true);
        assert.equal((await trials.get(trial.id))!.restarts, 1);
        await trials.resetExecutors(trial.id);

        // ASHA: a Succeeded trial with budget left is queued again, deliberately.
        assert.equal(await trials.update(trial.id, { state: 'Succeeded', finishedAt: 5 }), true);
        assert.equal(await trials.reopen(trial.id), true);
        assert.equal((await trials.get(trial.id))!.state, 'Queued');
        assert.equal((await trials.get(trial.id))!.finishedAt, null);
        assert.equal(await trials.reopen(trial.id), false, 'only a finished trial is reopened');

        await settleExperiment(experiments, trials, ID);
        assert.equal((await experiments.get(ID))!.status, 'Running', 'an experiment with a trial to run has not ended');
        assert.equal(await trials.update(trial.id, { state: 'Canceled', message: 'Canceled by request.', finishedAt: 7 }), true);
        assert.equal(await trials.update(trial.id, { state: 'Succeeded', finishedAt: 8 }), false, 'a natural end after the cancel is refused');
        await settleExperiment(experiments, trials, ID);
        const settled = (await experiments.get(ID))!;
        assert.equal(settled.status, 'Canceled', 'the experiment ends as its trial did');
        assert.equal(settled.finishedAt, 7);
      } finally {
        await db.close();
      }
    });

    it('a cancel asked for is kept until carried out, and a delete marks the experiment first', async () => {
      const { db, experiments } = await stores(await database.fresh());
      try {
        const asked = (await experiments.requestCancel(ID))!;
        assert.ok(asked.cancelRequestedAt !== null);
        assert.equal((await experiments.requestCancel(ID))!.cancelRequestedAt, asked.cancelRequestedAt, 'asking again keeps the first time');
        assert.deepEqual((await experiments.pendingCancels()).map((e) => e.id), [ID]);
        await experiments.transition(ID, { status: 'Canceled', finishedAt: 1 });
        assert.deepEqual(await experiments.pendingCancels(), []);
        assert.equal((await experiments.markDeleted(ID))!.status, 'Deleted', 'an ended experiment can be deleted');
        assert.equal(await experiments.transition(ID, { status: 'Running' }), undefined, 'nothing moves a deleted experiment');
        assert.deepEqual([...(await experiments.existing([ID, 'experiment-1700000000000-0002']))], [ID]);
      } finally {
        await db.close();
      }
    });
  });
}
