/**
 * An answered create is whole after a crash: the experiment and its first trial are written in one
 * transaction, so a failure (or kill -9) part-way leaves neither. On both databases.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeExperimentSpec } from '@periscope/core';
import { openDatabase } from '../db/database.js';
import { DATABASES } from '../testing/databases.js';
import { TrialStore } from '../trials/store.js';
import { ExperimentStore } from './store.js';

const ID = 'experiment-1700000000000-0001';

for (const database of DATABASES) {
  describe(`create in one transaction (${database.name})`, { skip: database.skip }, () => {
    it('writes the experiment with its first trial, or neither', async () => {
      const db = await openDatabase(await database.fresh());
      try {
        const experiments = new ExperimentStore(db.kysely);
        const trials = new TrialStore(db.kysely);
        const spec = normalizeExperimentSpec({ meta: { name: 'whole', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} } }, { lowercaseName: true, experimentId: ID });
        const worker = [{ name: `${ID}-worker-0`, role: 'Worker', replica: 0, rank: 0 }];
        await assert.rejects(
          experiments.insert({ id: ID, uid: 'u', spec, status: 'Accepted', acceptedAt: Date.now(), owner: 'admin' }, async (tx) => {
            await trials.create(ID, 1, 0, {}, worker, null, spec, tx);
            throw new Error('cut off');
          }),
          /cut off/,
        );
        assert.equal(await experiments.get(ID), undefined, 'no experiment without its trial');
        assert.deepEqual(await trials.ofExperiment(ID), []);
        await experiments.insert({ id: ID, uid: 'u', spec, status: 'Accepted', acceptedAt: Date.now(), owner: 'admin' }, (tx) => trials.create(ID, 1, 0, {}, worker, null, spec, tx).then(() => {}));
        assert.equal((await experiments.get(ID))!.status, 'Accepted');
        const [trial] = await trials.ofExperiment(ID);
        assert.equal(trial!.runSpec!.meta.name, 'whole', 'the trial keeps the spec it runs with');
        assert.equal((await trials.executors(trial!.id)).length, 1);
      } finally {
        await db.close();
      }
    });
  });
}
