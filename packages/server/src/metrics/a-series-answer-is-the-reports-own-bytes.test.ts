/**
 * `GET /trials/{id}/metrics?name=…` is built as text by the database (MetricStore.seriesJson). It must be, byte
 * for byte, what the whole reports say about that metric, serialized as any answer is: every value to the last
 * bit, names a JSON path would misread, both groups, paging and limits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminHeaders, call, create, testApp, waitForStatus } from '../testing/app.js';
import { DATABASES } from '../testing/databases.js';

const NAMES = ['loss', 'val.loss', 'a b', '$[0]', 'é✓', 'say "hi"', 'back\\slash', 'x'];
const VALUES = [0.1 + 0.2, 1e21, 5e-324, -1.5e-7, 2 ** 53 + 2, 123456789.12345679, 'NaN', 'Infinity', '-Infinity', 0, -3];

for (const database of DATABASES) {
  describe(`a metric series on ${database.name}`, { skip: database.skip }, () => {
    it('is what the whole reports say of that metric, byte for byte', async () => {
      const app = await testApp(await database.fresh());
      const id = await create(app, { meta: { name: 'series', framework: 'Custom', cmd: 'sleep 60' }, spec: { Worker: {} } });
      await waitForStatus(app, id, ['Running']);
      const trialId = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0].id;
      // Two batches per group (two report times); some reports lack some names; steps repeat across groups.
      for (const group of ['training', 'validation']) {
        for (let batch = 0; batch < 2; batch++) {
          const reports = Array.from({ length: 12 }, (_, i) => {
            const step = batch * 12 + i;
            return { stepsCompleted: step, metrics: Object.fromEntries(NAMES.filter((_, n) => (step + n) % 3 !== 0).map((name, n) => [name, VALUES[(step + n) % VALUES.length]])) };
          });
          const posted = await call(app, 'POST', `/api/v1/trials/${trialId}/metrics`, { group, reports });
          assert.equal(posted.status, 200, posted.body.message);
        }
      }
      const whole = (await call(app, 'GET', `/api/v1/trials/${trialId}/metrics?limit=1000`)).body.result as { group: string; stepsCompleted: number; metrics: Record<string, unknown>; time: string }[];
      assert.equal(whole.length, 48);
      const raw = async (query: string) => {
        const answer = await app.http.inject({ method: 'GET', url: `/api/v1/trials/${trialId}/metrics?${query}`, headers: adminHeaders(app) });
        assert.equal(answer.statusCode, 200, answer.body);
        assert.match(answer.headers['content-type'] as string, /^application\/json/);
        return answer.body;
      };
      for (const name of NAMES) {
        for (const { query, group, after, limit } of [
          { query: '', group: undefined, after: undefined, limit: 10_000 },
          { query: '&group=validation', group: 'validation', after: undefined, limit: 10_000 },
          { query: '&group=training&afterSteps=13&limit=4', group: 'training', after: 13, limit: 4 },
          { query: '&limit=1', group: undefined, after: undefined, limit: 1 },
        ]) {
          const points = whole
            .filter((r) => name in r.metrics && (group === undefined || r.group === group) && (after === undefined || r.stepsCompleted > after))
            .sort((a, b) => a.stepsCompleted - b.stepsCompleted)
            .slice(0, limit)
            .map((r) => ({ group: r.group, stepsCompleted: r.stepsCompleted, metrics: { [name]: r.metrics[name] }, time: r.time }));
          const expected = JSON.stringify({ status: 'OK', code: 200, success: true, message: null, result: points, attributes: {} });
          assert.equal(await raw(`name=${encodeURIComponent(name)}${query}`), expected, `${name}${query}`);
        }
      }
      assert.equal(await raw('name=absent'), JSON.stringify({ status: 'OK', code: 200, success: true, message: null, result: [], attributes: {} }));
      assert.equal((await call(app, 'GET', '/api/v1/trials/999999/metrics?name=loss')).status, 404);
      await call(app, 'POST', `/api/v1/experiment/${id}/cancel`);
    });
  });
}
