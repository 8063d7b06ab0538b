/**
 * Submarine's unpaged lists (`GET /api/v1/experiment`, `GET /api/v1/experiment/logs`) stay complete, as its
 * clients expect, but are streamed a page of rows at a time instead of built whole: the answer is chunked (no
 * Content-Length), crosses the store's page boundaries without losing or repeating an experiment, and is what
 * the paged list answers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { App } from '../app.js';
import { adminHeaders, call, testApp, userHeaders } from '../testing/app.js';
import { DATABASES } from '../testing/databases.js';

/** More than two of the store's pages (500 rows each). */
const COUNT = 1_105;

const spec = (name: string) => ({ meta: { name, framework: 'Custom', cmd: 'true' }, spec: { Worker: {} }, autoStart: false });

async function createMany(app: App, count: number, headers: Record<string, string> = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 50) {
    const answers = await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, j) => call(app, 'POST', '/api/v1/experiment', spec(`stored-${i + j}`), headers)));
    for (const answer of answers) {
      assert.equal(answer.status, 200, answer.body.message);
      ids.push(answer.body.result.experimentId);
    }
  }
  return ids;
}

/** Every experiment through the paged list, following nextCursor. */
async function paged(app: App, query = ''): Promise<unknown[]> {
  const all: unknown[] = [];
  for (let after: string | undefined; ; ) {
    const answer = await call(app, 'GET', `/api/v1/experiment?limit=1000${query}${after ? `&after=${after}` : ''}`);
    assert.equal(answer.status, 200, answer.body.message);
    all.push(...answer.body.result);
    after = answer.body.attributes.nextCursor;
    if (!after) return all;
  }
}

for (const database of DATABASES) {
  describe(`unpaged Submarine lists (${database.name})`, { skip: database.skip }, () => {
    it('streams every experiment, in order, as the paged list has them, to their owners only', async () => {
      const app = await testApp(await database.fresh());
      const alice = await userHeaders(app, 'alice');
      const mine = await createMany(app, COUNT);
      const hers = await createMany(app, 3, alice);
      // A new experiment moves on from Accepted by itself: the lists are compared once none will move.
      for (const deadline = Date.now() + 60_000; (await paged(app)).some((e) => (e as { status: string }).status === 'Accepted'); ) {
        assert.ok(Date.now() < deadline, 'experiments still Accepted after 60 s');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }

      const response = await app.http.inject({ method: 'GET', url: '/api/v1/experiment', headers: adminHeaders(app) });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-length'], undefined, 'streamed, not sent whole');
      assert.match(String(response.headers['content-type']), /^application\/json/);
      const envelope = response.json();
      assert.deepEqual(Object.keys(envelope), ['status', 'code', 'success', 'message', 'result', 'attributes']);
      assert.deepEqual([envelope.status, envelope.code, envelope.success, envelope.message, envelope.attributes], ['OK', 200, true, null, {}]);
      const ids = envelope.result.map((e: { experimentId: string }) => e.experimentId);
      assert.deepEqual([...ids].sort(), [...mine, ...hers].sort(), 'every experiment, once');
      assert.deepEqual(envelope.result, await paged(app), 'the same experiments, in the same order, field for field, as the paged list');

      const theirs = await call(app, 'GET', '/api/v1/experiment', undefined, alice);
      assert.deepEqual(theirs.body.result.map((e: { experimentId: string }) => e.experimentId).sort(), [...hers].sort(), "a user's list is their own");

      const rest = await call(app, 'GET', `/api/v1/experiment?after=${(await call(app, 'GET', `/api/v1/experiment?limit=1000`)).body.attributes.nextCursor}`);
      assert.deepEqual(rest.body.result.map((e: { experimentId: string }) => e.experimentId), ids.slice(1000), 'a cursor without a limit streams the rest');

      const logs = await call(app, 'GET', '/api/v1/experiment/logs');
      assert.equal(logs.status, 200);
      assert.deepEqual(logs.body.result.map((l: { experimentId: string }) => l.experimentId), ids);
      assert.deepEqual(logs.body.result[0].logContent.map((p: { podLog: string[] }) => p.podLog), [[]]);

      const running = await call(app, 'GET', '/api/v1/experiment?status=Running');
      assert.deepEqual([running.status, running.body.result], [200, []], 'a filter that matches nothing is an empty list');
      for (const url of ['/api/v1/experiment?status=Bogus', '/api/v1/experiment/logs?status=Bogus', '/api/v1/experiment?after=x']) {
        const bad = await call(app, 'GET', url);
        assert.equal(bad.status, 400, url);
        assert.equal(bad.body.success, null, url);
      }
    });
  });
}

