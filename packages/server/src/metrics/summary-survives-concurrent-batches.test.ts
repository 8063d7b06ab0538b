/**
 * A trial's summary (steps completed, best and latest validation) is moved by one SQL statement per batch, so
 * batches posted at the same time all count: steps_completed drives ASHA, a lost update stalls or misranks it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { call, create, testApp, waitForStatus } from '../testing/app.js';
import { DATABASES } from '../testing/databases.js';

const BATCHES = 8;
const ROUNDS = 5;

for (const database of DATABASES) {
  describe(`metric summaries on ${database.name}`, { skip: database.skip }, () => {
    it('eight concurrent batches for one trial leave the summary equal to the truth, round after round', async () => {
      const app = await testApp(await database.fresh());
      const id = await create(app, {
        meta: { name: 'summary', framework: 'Custom', cmd: 'sleep 60' },
        spec: { Worker: {} },
        searcher: { name: 'single', metric: 'loss', smallerIsBetter: true, maxLength: 1000 },
      });
      await waitForStatus(app, id, ['Running']);
      const trialId = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0].id;
      let bestLoss = Infinity;
      let maxSteps = 0;
      for (let round = 0; round < ROUNDS; round++) {
        // Each batch holds its own steps and losses; the best and the highest step are spread over all of them.
        const batches = Array.from({ length: BATCHES }, (_, b) => {
          const steps = round * 100 + b * 10 + ((b * 7) % BATCHES) + 1;
          const loss = 100 - round * 10 - ((b * 5) % BATCHES);
          return { steps, loss };
        });
        for (const b of batches) {
          maxSteps = Math.max(maxSteps, b.steps);
          bestLoss = Math.min(bestLoss, b.loss);
        }
        const answers = await Promise.all(
          batches.map((b) => call(app, 'POST', `/api/v1/trials/${trialId}/metrics`, { group: 'validation', reports: [{ stepsCompleted: b.steps, metrics: { loss: b.loss } }] })),
        );
        for (const a of answers) assert.equal(a.status, 200, a.body.message);
        const row = await app.db.kysely.selectFrom('trials').select(['steps_completed', 'best_validation', 'latest_validation']).where('id', '=', trialId).executeTakeFirstOrThrow();
        assert.equal(Number(row.steps_completed), maxSteps, `round ${round}: steps_completed`);
        assert.equal(Number(row.best_validation), bestLoss, `round ${round}: best_validation`);
        assert.ok(batches.some((b) => b.loss === Number(row.latest_validation)), `round ${round}: latest_validation ${row.latest_validation} is one of the batch's values`);
      }
      // A batch reporting lower steps and worse values moves neither the steps nor the best.
      await call(app, 'POST', `/api/v1/trials/${trialId}/metrics`, { group: 'validation', reports: [{ stepsCompleted: 1, metrics: { loss: 1e9 } }] });
      const after = await app.db.kysely.selectFrom('trials').select(['steps_completed', 'best_validation', 'latest_validation']).where('id', '=', trialId).executeTakeFirstOrThrow();
      assert.deepEqual([Number(after.steps_completed), Number(after.best_validation), Number(after.latest_validation)], [maxSteps, bestLoss, 1e9]);
      await call(app, 'POST', `/api/v1/experiment/${id}/cancel`);
    });
  });
}
