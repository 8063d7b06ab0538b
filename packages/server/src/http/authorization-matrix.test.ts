/**
 * The authorization matrix, generated from the app's own route table (every API route with its policy):
 * no token, a malformed, unknown, expired or revoked token → 401; another user's private resource → 404 and
 * a shared one's change → 403; a non-admin on an admin route → 403; an executor's token outside its trial →
 * 403; every other spelling of an id (`2.0`, `+2`, `0x2`, an upper-case uuid…) reaches nothing more than the
 * canonical one. A route whose path parameters this file cannot fill fails the test, so a new route needs an
 * entry. It runs on both databases.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import type { App } from '../app.js';
import { adminHeaders, call, testApp, userHeaders } from '../testing/app.js';
import { DATABASES, type TestDatabase } from '../testing/databases.js';
import type { ApiRoute } from './auth.js';

const UUID = '6f1c0c47-8d55-4e2f-9a57-1a0f7f0c3b11';
const OTHER_UUID = 'd3a5a1f2-0b7e-4c7e-8f39-2f1e0c9b7a44';
const SHA = 'a'.repeat(64);

interface Fixture {
  app: App;
  alice: Record<string, string>;
  bob: Record<string, string>;
  /** Alice's experiment, its trial, checkpoint, model, environment and execution. */
  experiment: string;
  /** Its integer id on the Determined face. */
  experimentSeq: number;
  trial: number;
  /** Bob's experiment and trial. */
  bobExperiment: string;
  bobTrial: number;
  /** Task tokens of alice's trial and of bob's trial. */
  aliceTask: Record<string, string>;
  bobTask: Record<string, string>;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function fixture(database: TestDatabase): Promise<Fixture> {
  const app = await testApp(await database.fresh());
  const alice = await userHeaders(app, 'alice');
  const bob = await userHeaders(app, 'bob');
  const parked = (name: string) => ({ meta: { name, framework: 'Custom', cmd: 'true' }, spec: { Worker: { resources: 'cpu=0.1,memory=64M' } }, autoStart: false });
  const created = async (headers: Record<string, string>, name: string) => {
    const answer = await call(app, 'POST', '/api/v1/experiment', parked(name), headers);
    assert.equal(answer.status, 200, answer.body.message);
    const id = answer.body.result.experimentId as string;
    const trials = await call(app, 'GET', `/api/v1/experiment/${id}/trials`, undefined, headers);
    return { id, trial: trials.body.result[0].id as number };
  };
  const a = await created(alice, 'alice-exp');
  const b = await created(bob, 'bob-exp');
  const aliceTask = bearer(await app.users.issueTaskToken('alice', a.trial, a.id));
  const bobTask = bearer(await app.users.issueTaskToken('bob', b.trial, b.id));

  const checkpointDir = join(app.execution.layout.checkpointDir(a.id, 1), UUID);
  mkdirSync(checkpointDir, { recursive: true });
  writeFileSync(join(checkpointDir, 'model.bin'), 'weights');
  const reported = await call(app, 'POST', `/api/v1/trials/${a.trial}/checkpoints`, { uuid: UUID, stepsCompleted: 1 }, aliceTask);
  assert.equal(reported.status, 200, reported.body.message);
  for (const [method, url, body] of [
    ['POST', '/api/v1/models', { name: 'alice-model' }],
    ['POST', '/api/v1/models/alice-model/versions', { checkpointUuid: UUID }],
    ['POST', '/api/v1/environment', { name: 'alice-env', dockerImage: 'python:3.12' }],
    ['PUT', '/api/v1/executions/alice-run', parked('alice-run')],
    ['PUT', `/api/v1/experiment/${a.id}/flags/stage`, { textValue: 'one' }],
  ] as const) {
    const answer = await call(app, method, url, body, alice);
    assert.equal(answer.status, 200, `${method} ${url}: ${answer.body.message}`);
  }
  const seq = (await app.db.kysely.selectFrom('experiments').select('seq').where('id', '=', a.id).executeTakeFirstOrThrow()).seq;
  return { app, alice, bob, experiment: a.id, experimentSeq: Number(seq), trial: a.trial, bobExperiment: b.id, bobTrial: b.trial, aliceTask, bobTask };
}

/**
 * The route's path with alice's resources filled in (the one parameter `spell` names written its way);
 * throws for a parameter this table does not know.
 */
function pathOf(route: ApiRoute, f: Fixture, spell?: { param: string; as: (canonical: string) => string }): string {
  return route.url.replace(/:(\w+)/g, (_, param: string) => {
    const value = valueOf(route.url, param, f);
    if (value === undefined) throw new Error(`authorization-matrix.test.ts: no value for :${param} of ${route.method} ${route.url}; add one`);
    return encodeURIComponent(spell?.param === param ? spell.as(value) : value);
  });
}

/** Other spellings of an id that once reached the resource past the owner check. */
const SPELLINGS: Record<'integer' | 'uuid' | 'string', Array<[string, (id: string) => string]>> = {
  integer: [
    ['n.0', (id) => `${id}.0`],
    ['+n', (id) => `+${id}`],
    ['ne0', (id) => `${id}e0`],
    ['leading space', (id) => ` ${id}`],
    ['trailing space', (id) => `${id} `],
    ['hex', (id) => `0x${Number(id).toString(16)}`],
    ['leading zero', (id) => `0${id}`],
  ],
  uuid: [
    ['upper case', (id) => id.toUpperCase()],
    ['mixed case', (id) => id.replace(/[a-f]/, (c) => c.toUpperCase())],
    ['leading space', (id) => ` ${id}`],
  ],
  string: [
    ['upper case', (id) => id.toUpperCase()],
    ['leading space', (id) => ` ${id}`],
    ['trailing space', (id) => `${id} `],
  ],
};

function valueOf(url: string, param: string, f: Fixture): string | undefined {
  if (url.startsWith('/netunicorn/')) return { name: 'alice-run', flag: 'stage', secret: 'not-a-token', id: f.experiment }[param];
  if (param === 'id') {
    if (url.startsWith('/api/v1/trials/') || url.startsWith('/determined/api/v1/trials/')) return String(f.trial);
    if (url.startsWith('/determined/api/v1/experiments/')) return String(f.experimentSeq);
    return url.startsWith('/api/v1/experiment/') ? f.experiment : undefined;
  }
  if (param === 'name') {
    if (url.startsWith('/api/v1/environment/')) return 'alice-env';
    if (url.startsWith('/api/v1/executions/')) return 'alice-run';
    if (url.includes('/flags/')) return 'stage';
    return undefined;
  }
  return { uuid: UUID, model: 'alice-model', version: '1', username: 'alice', sha256: SHA }[param];
}

/** One request; a non-JSON success (a tar download) answers its status with an empty envelope. */
async function send(f: Fixture, route: ApiRoute, headers: Record<string, string>, spell?: Parameters<typeof pathOf>[2]): Promise<{ status: number; body: any }> {
  const response = await f.app.http.inject({
    method: route.method as 'GET',
    url: pathOf(route, f, spell),
    headers: { ...(headers.authorization === undefined ? adminHeaders(f.app) : headers.authorization === '' ? {} : { authorization: headers.authorization }), 'content-type': 'application/json' },
    ...(['POST', 'PUT', 'PATCH'].includes(route.method) && { payload: '{}' }),
  });
  const json = response.headers['content-type']?.toString().startsWith('application/json');
  return { status: response.statusCode, body: json ? response.json() : {} };
}

const label = (r: ApiRoute) => `${r.method} ${r.url}`;

/** Bob's own model, created by whichever subtest needs it first. */
async function bobModel(f: Fixture): Promise<void> {
  if ((await call(f.app, 'GET', '/api/v1/models/bob-model', undefined, f.bob)).status === 200) return;
  assert.equal((await call(f.app, 'POST', '/api/v1/models', { name: 'bob-model' }, f.bob)).status, 200);
}

// One app per database for the whole matrix (subtests share it; it closes after the last).
for (const database of DATABASES) it(`authorization matrix over every API route (${database.name})`, { skip: database.skip }, async (t) => {
  const f = await fixture(database);
  const routes = f.app.routes;

  await t.test('knows every route of the table (and the table is not empty)', () => {
    assert.ok(routes.length >= 60, `only ${routes.length} routes`);
    for (const route of routes) assert.doesNotThrow(() => pathOf(route, f), label(route));
  });

  await t.test('answers 401 without a token, with a malformed, unknown, expired or revoked one (public routes excepted)', async () => {
    const session = await f.app.users.issueToken('alice');
    const expired = await f.app.users.issueToken('alice');
    await f.app.db.kysely.updateTable('tokens').set({ expires_at: Date.now() - 1 }).where('selector', '=', expired.token.slice(4, 20)).execute();
    const revoked = await f.app.users.issueToken('alice');
    assert.equal((await call(f.app, 'POST', '/api/v1/auth/logout', undefined, bearer(revoked.token))).status, 200);
    const forged = `${session.token.slice(0, -4)}AAAA`;
    const cases: Array<[string, Record<string, string>]> = [
      ['no token', { authorization: '' }],
      ['not a bearer header', { authorization: `Basic ${Buffer.from('alice:alice-password').toString('base64')}` }],
      ['malformed', bearer('nope')],
      ['unknown', bearer(`pst_${'A'.repeat(16)}.${'B'.repeat(43)}`)],
      ['forged secret', bearer(forged)],
      ['expired', bearer(expired.token)],
      ['revoked', bearer(revoked.token)],
    ];
    for (const route of routes.filter((r) => r.policy.access !== 'public')) {
      for (const [what, given] of cases) {
        // Routes that take HTTP Basic (the netunicorn face) get a malformed one instead (a wrong password
        // would soon be the login limiter's 429).
        const headers = route.policy.basic && what === 'not a bearer header' ? { authorization: 'Basic !not-base64!' } : given;
        const answer = await send(f, route, headers);
        assert.equal(answer.status, 401, `${label(route)} with ${what}: ${answer.status} ${answer.body.message}`);
        assert.equal(answer.body.status, 'UNAUTHORIZED');
      }
    }
    // The genuine token next to the forged one still works: the forgery was refused on its secret alone.
    assert.equal((await call(f.app, 'GET', '/api/v1/me', undefined, bearer(session.token))).body.result.username, 'alice');
  });

  await t.test("answers another user's private resources 404 and changes to shared ones 403; the owner gets through", async () => {
    for (const route of routes.filter((r) => r.policy.resource)) {
      const resource = route.policy.resource!;
      const theirs = await send(f, route, f.bob);
      if (['experiment', 'trial', 'checkpoint', 'determined-experiment'].includes(resource.kind)) {
        assert.equal(theirs.status, 404, `${label(route)} as bob: ${theirs.status} ${theirs.body.message}`);
      } else if (resource.write) {
        assert.equal(theirs.status, 403, `${label(route)} as bob: ${theirs.status} ${theirs.body.message}`);
      } else {
        assert.ok(![401, 403, 404].includes(theirs.status), `${label(route)} (shared, read) as bob: ${theirs.status} ${theirs.body.message}`);
      }
      // Reading is harmless to repeat: the owner reads every one of these.
      if (route.method === 'GET') {
        const own = await send(f, route, f.alice);
        assert.ok(![401, 403, 404].includes(own.status), `${label(route)} as alice: ${own.status} ${own.body.message}`);
      }
    }
  });

  await t.test("reaches nothing of another user's by another spelling of an id: 400 or 404, as for a missing one", async () => {
    let tried = 0;
    for (const route of routes.filter((r) => r.policy.resource || r.policy.task)) {
      const param = route.policy.resource?.param ?? 'id';
      const kind = /^(\/determined)?\/api\/v1\/(trials|experiments)\//.test(route.url) || param === 'version' ? 'integer' : param === 'uuid' ? 'uuid' : 'string';
      for (const [what, as] of SPELLINGS[kind]) {
        tried++;
        const theirs = await send(f, route, f.bob, { param, as });
        const where = `${label(route)} as bob with :${param} written ${what}`;
        assert.ok(![200, 409].includes(theirs.status) && theirs.status < 500, `${where}: ${theirs.status} ${theirs.body.message}`);
        if (route.policy.resource && ['experiment', 'trial', 'checkpoint', 'determined-experiment'].includes(route.policy.resource.kind)) assert.ok([400, 404].includes(theirs.status), `${where}: ${theirs.status} ${theirs.body.message}`);
        // The executor's token of another trial gets no further either.
        const task = await send(f, route, f.bobTask, { param, as });
        assert.ok([400, 403, 404].includes(task.status), `${where} (task token): ${task.status} ${task.body.message}`);
      }
    }
    assert.ok(tried >= 100, `only ${tried} spellings tried`);
    // The owner's upper-case uuid is the same checkpoint (uuids are canonicalized), a misspelled trial id a 400.
    const upper = await call(f.app, 'GET', `/api/v1/checkpoints/${UUID.toUpperCase()}`, undefined, f.alice);
    assert.equal(upper.status, 200, upper.body.message);
    assert.equal(upper.body.result.uuid, UUID);
    const spelled = await call(f.app, 'GET', `/api/v1/trials/${f.trial}.0`, undefined, f.alice);
    assert.equal(spelled.status, 400);
    assert.equal(spelled.body.message, 'params id: must be a whole number written in plain digits');
    // What bob tried to delete is intact.
    const checkpoint = await call(f.app, 'GET', `/api/v1/checkpoints/${UUID}`, undefined, f.alice);
    assert.equal(checkpoint.body.result.state, 'COMPLETED');
  });

  await t.test("answers another user's resource named inside a body as a missing one, in any spelling", async () => {
    await bobModel(f);
    for (const uuid of [UUID, UUID.toUpperCase(), UUID.replace(/[a-f]/, (c) => c.toUpperCase())]) {
      const stolen = await call(f.app, 'POST', '/api/v1/models/bob-model/versions', { checkpointUuid: uuid }, f.bob);
      const missing = await call(f.app, 'POST', '/api/v1/models/bob-model/versions', { checkpointUuid: OTHER_UUID.toUpperCase() }, f.bob);
      assert.equal(stolen.status, 404, `${uuid}: ${stolen.body.message}`);
      assert.equal(stolen.body.message, missing.body.message.replace(OTHER_UUID, UUID));
    }
    // Her checkpoint is registered in her model: bob's delete must not say so (a 409 naming the model).
    const deleting = await call(f.app, 'DELETE', `/api/v1/checkpoints/${UUID.toUpperCase()}`, undefined, f.bob);
    const deletingMissing = await call(f.app, 'DELETE', `/api/v1/checkpoints/${OTHER_UUID.toUpperCase()}`, undefined, f.bob);
    assert.equal(deleting.status, 404);
    assert.equal(deleting.body.message, deletingMissing.body.message.replace(OTHER_UUID, UUID));
    assert.equal((await call(f.app, 'GET', '/api/v1/models/bob-model/versions', undefined, f.bob)).body.result.length, 0);
  });

  await t.test("answers exactly what a missing experiment answers, so another user's existence does not leak", async () => {
    const hidden = await call(f.app, 'GET', `/api/v1/experiment/${f.experiment}`, undefined, f.bob);
    const missing = await call(f.app, 'GET', `/api/v1/experiment/${f.experiment.replace(/\d{4}$/, '9999')}`, undefined, f.bob);
    assert.deepEqual(hidden.body, missing.body);
    const hiddenTrial = await call(f.app, 'GET', `/api/v1/trials/${f.trial}`, undefined, f.bob);
    assert.equal(hiddenTrial.body.message, `Not found trial ${f.trial}.`);
  });

  await t.test('refuses admin routes to a non-admin with 403, and lets an admin through', async () => {
    const adminRoutes = routes.filter((r) => r.policy.access === 'admin');
    assert.ok(adminRoutes.length >= 4);
    for (const route of adminRoutes) {
      const answer = await send(f, route, f.alice);
      assert.equal(answer.status, 403, `${label(route)} as alice: ${answer.status}`);
      const admin = await send(f, route, {});
      assert.ok(![401, 403].includes(admin.status), `${label(route)} as admin: ${admin.status} ${admin.body.message}`);
    }
  });

  await t.test("limits an executor's token to its own trial's reports and its experiment's flags (403 elsewhere)", async () => {
    for (const route of routes.filter((r) => r.policy.access !== 'public')) {
      // Alice's trial's routes, with bob's executor's token: always outside its trial.
      const outside = await send(f, route, f.bobTask);
      assert.equal(outside.status, 403, `${label(route)} with another trial's task token: ${outside.status} ${outside.body.message}`);
      if (route.policy.task && route.method === 'GET') {
        const own = await send(f, route, f.aliceTask);
        assert.ok(![401, 403, 404].includes(own.status), `${label(route)} with its own task token: ${own.status} ${own.body.message}`);
      }
    }
    const metrics = await call(f.app, 'POST', `/api/v1/trials/${f.trial}/metrics`, { group: 'training', reports: [{ stepsCompleted: 1, metrics: { loss: 1 } }] }, f.aliceTask);
    assert.ok(![401, 403].includes(metrics.status), metrics.body.message);
    const flag = await call(f.app, 'POST', `/api/v1/experiment/${f.experiment}/flags/stage/increment`, {}, f.aliceTask);
    assert.ok(![401, 403].includes(flag.status), flag.body.message);
  });

  await t.test("lists only the caller's own experiments, executions and logs; an admin lists everyone's", async () => {
    const ids = async (headers: Record<string, string>) => (await call(f.app, 'GET', '/api/v1/experiment', undefined, headers)).body.result.map((e: { experimentId: string }) => e.experimentId);
    const aliceIds = await ids(f.alice);
    assert.ok(aliceIds.includes(f.experiment));
    assert.ok(!aliceIds.includes(f.bobExperiment));
    assert.deepEqual(await ids(f.bob), [f.bobExperiment]);
    assert.ok((await ids({})).includes(f.bobExperiment) && (await ids({})).includes(f.experiment));
    const logs = await call(f.app, 'GET', '/api/v1/experiment/logs', undefined, f.bob);
    assert.deepEqual(logs.body.result.map((l: { experimentId: string }) => l.experimentId), [f.bobExperiment]);
    assert.deepEqual(Object.keys((await call(f.app, 'GET', '/api/v1/executions', undefined, f.bob)).body.result), []);
    assert.deepEqual(Object.keys((await call(f.app, 'GET', '/api/v1/executions', undefined, f.alice)).body.result), ['alice-run']);
  });

  await t.test('keeps execution names per user: bob may prepare alice-run too, and cannot cancel her executors', async () => {
    const spec = { meta: { name: 'bob-run', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} } };
    const prepared = await call(f.app, 'PUT', '/api/v1/executions/alice-run', spec, f.bob);
    assert.equal(prepared.status, 200, prepared.body.message);
    assert.notEqual(prepared.body.result.experiment.experimentId, (await call(f.app, 'GET', '/api/v1/executions/alice-run', undefined, f.alice)).body.result.experiment.experimentId);
    const executor = `${f.experiment}-worker-0`;
    const cancel = await call(f.app, 'POST', '/api/v1/executors/cancel', { executors: [executor] }, f.bob);
    assert.equal(cancel.status, 404);
    assert.match(cancel.body.message, /Not found executor/);
  });

  await t.test("refuses to register another user's checkpoint as a model version (404), and force-deleting a model to a non-admin (403)", async () => {
    await bobModel(f);
    const stolen = await call(f.app, 'POST', '/api/v1/models/bob-model/versions', { checkpointUuid: UUID }, f.bob);
    assert.equal(stolen.status, 404);
    assert.equal(stolen.body.message, `Not found checkpoint ${UUID}.`);
    const missing = await call(f.app, 'POST', '/api/v1/models/bob-model/versions', { checkpointUuid: OTHER_UUID }, f.bob);
    assert.equal(missing.body.message, stolen.body.message.replace(UUID, OTHER_UUID));
    assert.equal((await call(f.app, 'DELETE', '/api/v1/models/alice-model?force=true', undefined, f.alice)).status, 403);
  });
});
