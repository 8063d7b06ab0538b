/** `GET /trials/{id}/metrics?name=…` picks the reports carrying that metric in SQL, before the page's limit. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { call, create, testApp, waitForStatus } from '../testing/app.js';
import { DATABASES } from '../testing/databases.js';

const ODD = 'val.loss"[0]$';

for (const database of DATABASES) {
  describe(`metric name filter on ${database.name}`, { skip: database.skip }, () => {
    it('fills a page with matching reports when earlier ones lack the metric, pages on by steps, and matches names exactly', async () => {
      const app = await testApp(await database.fresh());
      const id = await create(app, { meta: { name: 'names', framework: 'Custom', cmd: 'sleep 60' }, spec: { Worker: {} } });
      await waitForStatus(app, id, ['Running']);
      const trialId = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0].id;
      const reports = [
        ...[1, 2, 3, 4, 5].map((s) => ({ stepsCompleted: s, metrics: { a: s } })),
        ...[6, 7, 8, 9, 10].map((s) => ({ stepsCompleted: s, metrics: { b: s * 10, bb: 1 } })),
        { stepsCompleted: 11, metrics: { bb: 2, [ODD]: 3 } },
        { stepsCompleted: 12, metrics: { c: 0.1 + 0.2, n: 'NaN', big: 1e300, whole: 2 ** 52 + 1 } },
      ];
      assert.equal((await call(app, 'POST', `/api/v1/trials/${trialId}/metrics`, { group: 'training', reports })).status, 200);
      const page = async (query: string) => {
        const answer = await call(app, 'GET', `/api/v1/trials/${trialId}/metrics?${query}`);
        assert.equal(answer.status, 200, answer.body.message);
        return answer.body.result.map((r: { stepsCompleted: number; metrics: Record<string, number> }) => [r.stepsCompleted, r.metrics]);
      };
      assert.deepEqual(await page('limit=3&name=b'), [
        [6, { b: 60 }],
        [7, { b: 70 }],
        [8, { b: 80 }],
      ]);
      assert.deepEqual(await page('limit=3&name=b&afterSteps=8'), [
        [9, { b: 90 }],
        [10, { b: 100 }],
      ]);
      assert.deepEqual(await page(`limit=1&name=${encodeURIComponent(ODD)}`), [[11, { [ODD]: 3 }]]);
      assert.deepEqual(await page('limit=2&name=nope'), []);
      assert.equal((await page('limit=100')).length, 12, 'no name: every report');
      // The value taken out in SQL is the value reported, to the last bit; a non-finite one stays its word.
      for (const [name, value] of [['c', 0.1 + 0.2], ['n', 'NaN'], ['big', 1e300], ['whole', 2 ** 52 + 1]] as const) {
        assert.deepEqual(await page(`name=${name}`), [[12, { [name]: value }]], name);
      }
      await call(app, 'POST', `/api/v1/experiment/${id}/cancel`);
    });
  });
}
