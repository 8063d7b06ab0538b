/**
 * Replays the curl examples of Submarine's Experiment REST doc (seed 002) and compares every response with the
 * documented one field for field. Values that depend on the run (ids, uid, times, status, log lines) are
 * compared by form; everything else must be equal.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DATABASES } from '../testing/databases.js';
import { call, testApp } from '../testing/app.js';

interface Example {
  method: string;
  url: string;
  body: unknown;
  response: unknown;
}
const { examples } = JSON.parse(readFileSync(new URL('../../test/fixtures/seed-002-examples.json', import.meta.url), 'utf8')) as { examples: Example[] };
const SEED_ID = 'experiment-1647574374688-0002';

const ID = /^experiment-\d{13}-\d{4,}$/;
const ID_IN_TEXT = /experiment-\d{13}-\d{4,}/g;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/;

/** Replaces run-dependent values by their form, so the documented and the actual response compare equal. */
function shape(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return key === 'podLog' ? '<lines>' : value.map((v) => shape(v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v, k)]));
  }
  if (key === 'status' && typeof value === 'string' && value !== 'OK') return '<status>';
  if (key.endsWith('Time')) return value === null || (typeof value === 'string' && TIME.test(value)) ? '<time|null>' : value;
  if (typeof value === 'string' && value.replace(ID_IN_TEXT, '') !== value) return value.replace(ID_IN_TEXT, '<experimentId>');
  if (typeof value === 'string' && UUID.test(value)) return '<uuid>';
  return value;
}

for (const database of DATABASES) {
  describe(`seed 002 curl examples on ${database.name}`, { skip: database.skip }, () => {
    for (const auth of ['token', 'none'] as const) {
    it(`answer field for field as documented (auth ${auth}: ${auth === 'token' ? 'with a bearer token' : 'no token sent'})`, async () => {
      const app = await testApp(await database.fresh(), { auth });
      // With auth on, `call` sends the admin's bearer token; with it off, nothing.
      const headers: Record<string, string> = auth === 'none' ? { authorization: '' } : {};
      let id = '';
      // The doc's log examples show the experiment before its PATCH (one worker) and before its DELETE.
      const rank = (e: Example) => ['POST', 'GET', 'PATCH', 'DELETE'].indexOf(e.method);
      const ordered = [...examples].sort((a, b) => rank(a) - rank(b));
      for (const example of ordered) {
        const path = new URL(example.url).pathname.replace(SEED_ID, id);
        const answer = await call(app, example.method, path, example.body ?? undefined, headers);
        assert.equal(answer.status, 200, `${example.method} ${path}: ${JSON.stringify(answer.body)}`);
        if (example.method === 'POST') {
          id = answer.body.result.experimentId;
          assert.match(id, ID);
          assert.equal(answer.body.result.status, 'Accepted');
          assert.equal(answer.body.result.createdTime, null);
          assert.match(answer.body.result.acceptedTime, TIME);
        }
        assert.deepEqual(shape(answer.body), shape(example.response), `${example.method} ${path}`);
        if (example.method === 'DELETE') {
          assert.equal(answer.body.result.status, 'Deleted');
          assert.equal(answer.body.result.acceptedTime, null);
        }
      }
      // After the documented DELETE the experiment is gone.
      assert.equal((await call(app, 'GET', `/api/v1/experiment/${id}`, undefined, headers)).status, 404);
      // And without a token an auth-on server refuses the very same request.
      if (auth === 'token') assert.equal((await call(app, 'GET', '/api/v1/experiment', undefined, { authorization: '' })).status, 401);
    });
    }

    it('keeps the experiment id in the echoed meta and the status of the record', async () => {
      const app = await testApp(await database.fresh());
      const created = await call(app, 'POST', '/api/v1/experiment', examples[0]!.body);
      const id = created.body.result.experimentId;
      assert.equal(created.body.result.spec.meta.experimentId, id);
      const listed = await call(app, 'GET', '/api/v1/experiment');
      assert.deepEqual(listed.body.result.map((e: { experimentId: string }) => e.experimentId), [id]);
      const logs = await call(app, 'GET', `/api/v1/experiment/logs/${id}`);
      assert.deepEqual(logs.body.result, {
        experimentId: id,
        logContent: [
          { podName: `${id}-ps-0`, podLog: [] },
          { podName: `${id}-worker-0`, podLog: [] },
        ],
      });
    });
  });
}
