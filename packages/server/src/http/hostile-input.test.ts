/**
 * Input PostgreSQL cannot take (a NUL character, an integer past bigint, an empty `IN ()`) is refused at the
 * boundary with the same 400 on both databases, never passed on to become a database error and a 500. The
 * NUL cases are generated from the app's own route table: every path parameter of every route, and a query
 * parameter of every GET route.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { call, testApp } from '../testing/app.js';
import { DATABASES } from '../testing/databases.js';

const TOO_BIG = '99999999999999999999';

for (const database of DATABASES) {
  describe(`hostile input on ${database.name}`, { skip: database.skip }, async () => {
    const app = await testApp(await database.fresh());
    const experiment = await call(app, 'POST', '/api/v1/experiment', { meta: { name: 'parked', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} }, autoStart: false });
    assert.equal(experiment.status, 200, experiment.body.message);
    const trial = (await call(app, 'GET', `/api/v1/experiment/${experiment.body.result.experimentId}/trials`)).body.result[0].id as number;

    const refusedAs400 = async (method: string, url: string, body?: unknown) => {
      const answer = await call(app, method, url, body ?? (['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined));
      assert.equal(answer.status, 400, `${method} ${url}: ${answer.status} ${answer.body.message}`);
      assert.equal(answer.body.status, 'BAD_REQUEST');
      return answer.body.message;
    };

    it('refuses a NUL in any path parameter of any route, and in a query parameter of any GET route', async () => {
      let tried = 0;
      for (const route of app.routes) {
        const params = [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1]!);
        for (const param of params) {
          const url = route.url.replace(/:(\w+)/g, (_, name: string) => (name === param ? 'a%00b' : name === 'id' && route.url.startsWith('/api/v1/trials/') ? String(trial) : 'x'));
          assert.match(await refusedAs400(route.method, url), /NUL/);
          tried++;
        }
        if (route.method === 'GET') {
          const url = route.url.replace(/:(\w+)/g, (_, name: string) => (name === 'id' && route.url.startsWith('/api/v1/trials/') ? String(trial) : 'x'));
          assert.match(await refusedAs400('GET', `${url}?name=a%00b&status=%00`), /NUL/);
          tried++;
        }
      }
      assert.ok(tried >= 60, `only ${tried} cases`);
    });

    it('refuses a NUL inside a JSON body, in a value or in a key', async () => {
      const named = await refusedAs400('POST', '/api/v1/experiment', { meta: { name: 'a\u0000b', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} } });
      assert.equal(named, 'meta.name: must not contain NUL characters');
      const keyed = await refusedAs400('POST', '/api/v1/experiment', { meta: { name: 'ok', framework: 'Custom', cmd: 'true', envVars: { 'A\u0000': 'x' } }, spec: { Worker: {} } });
      assert.match(keyed, /NUL/);
      await refusedAs400('POST', '/api/v1/models', { name: 'm', metadata: { note: 'x\u0000' } });
    });

    it('refuses ids and steps past what a bigint holds, and misspelled integers in a query', async () => {
      assert.match(await refusedAs400('GET', `/api/v1/trials/${TOO_BIG}`), /params id/);
      assert.match(await refusedAs400('GET', `/api/v1/trials/${trial}/metrics?afterSteps=${TOO_BIG}`), /afterSteps/);
      assert.match(await refusedAs400('GET', `/api/v1/trials/${trial}/metrics?afterSteps=1e3`), /afterSteps: must be a whole number written in plain digits/);
      assert.match(await refusedAs400('GET', `/api/v1/models?id=${TOO_BIG}`), /id/);
      const steps = await refusedAs400('POST', `/api/v1/trials/${trial}/metrics`, { group: 'training', reports: [{ stepsCompleted: 1e20, metrics: { loss: 1 } }] });
      assert.match(steps, /stepsCompleted/);
      // The largest accepted spelling is still a plain answer.
      assert.equal((await call(app, 'GET', `/api/v1/trials/${trial}/metrics?afterSteps=-1`)).status, 200);
      assert.equal((await call(app, 'GET', '/api/v1/trials/999999999999999')).status, 404);
    });

    it('refuses a workspace filter that names no workspace', async () => {
      assert.equal(await refusedAs400('GET', '/api/v1/models?workspace=,,,,'), 'workspace: name at least one workspace (got ",,,,")');
      assert.equal((await call(app, 'GET', '/api/v1/models?workspace=,default,')).status, 200);
    });
  });
}
