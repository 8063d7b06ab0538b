/**
 * What the dashboard reads, over the real routes on both databases: the browser's cookie session and its CSRF
 * rule, experiment summaries by page with their filters and owners, and the live feed over a real socket.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { App } from '../app.js';
import { selfSignedCertificate } from '../testing/certificates.js';
import { call, create, testApp, userHeaders, waitForStatus } from '../testing/app.js';
import { DATABASES, tempDir } from '../testing/databases.js';
import { events } from '../testing/event-stream.js';

const none = { authorization: '' };
const quick = (name: string, cmd = 'true') => ({ meta: { name, framework: 'TensorFlow' }, environment: { image: 'local' }, spec: { Worker: { replicas: 1, resources: 'cpu=0.1,memory=16M', cmd } } });
const parked = (name: string) => ({ ...quick(name), autoStart: false });

/** The cookies a response set, by name, with their attributes as written. */
function cookiesOf(setCookie: string | string[] | undefined): Map<string, string> {
  const all = [setCookie ?? []].flat();
  return new Map(all.map((line) => [line.slice(0, line.indexOf('=')), line]));
}

async function browserLogin(app: App, username: string, password: string): Promise<{ cookie: string; csrf: string; set: Map<string, string> }> {
  const response = await app.http.inject({ method: 'POST', url: '/api/v1/auth/session', payload: { username, password } });
  assert.equal(response.statusCode, 200, response.body);
  const set = cookiesOf(response.headers['set-cookie']);
  const value = (name: string) => /^[^=]+=([^;]*)/.exec(set.get(name) ?? '')?.[1] ?? '';
  return { cookie: `periscope_session=${value('periscope_session')}; periscope_csrf=${value('periscope_csrf')}`, csrf: response.json().result.csrfToken, set };
}

/** Reads a live feed over a real connection: its events as they come, until `stop`. */
async function openFeed(base: string, headers: Record<string, string>, query = ''): Promise<{ status: number; next: (match: (e: any) => boolean) => Promise<any>; seen: any[]; stop: () => void }> {
  const aborted = new AbortController();
  const response = await fetch(`${base}/api/v1/events${query}`, { headers, signal: aborted.signal });
  const seen: any[] = [];
  const waiters: Array<{ match: (e: any) => boolean; resolve: (e: any) => void }> = [];
  if (response.ok) {
    void (async () => {
      try {
        for await (const { event: name, data } of events(response)) {
          if (name === 'comment') continue;
          const event = JSON.parse(data);
          seen.push(event);
          for (const waiter of waiters.splice(0)) (waiter.match(event) ? waiter.resolve(event) : waiters.push(waiter));
        }
      } catch {
        // aborted by stop()
      }
    })();
  } else await response.body?.cancel();
  return {
    status: response.status,
    seen,
    stop: () => aborted.abort(),
    next: (match) =>
      new Promise((resolve, reject) => {
        const found = seen.find(match);
        if (found) return resolve(found);
        const timer = setTimeout(() => reject(new Error(`no matching event within 30 s; seen ${JSON.stringify(seen)}`)), 30_000);
        waiters.push({ match, resolve: (event) => (clearTimeout(timer), resolve(event)) });
      }),
  };
}

async function listening(app: App): Promise<string> {
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.http.server.address() as { port: number }).port}`;
  app.execution.setApiUrl(base);
  return base;
}

for (const database of DATABASES) {
  describe(`the dashboard's API on ${database.name}`, { skip: database.skip }, () => {
    it('a browser login sets an HttpOnly, SameSite=Strict session cookie that authenticates reads; changes need the CSRF token', async () => {
      const app = await testApp(await database.fresh());
      await userHeaders(app, 'alice');
      const { cookie, csrf, set } = await browserLogin(app, 'alice', 'alice-password');
      assert.match(set.get('periscope_session')!, /HttpOnly/);
      assert.match(set.get('periscope_session')!, /SameSite=Strict/);
      assert.doesNotMatch(set.get('periscope_csrf')!, /HttpOnly/);
      // Plain HTTP here: a Secure cookie would never come back.
      assert.doesNotMatch(set.get('periscope_session')!, /Secure/);

      const me = await call(app, 'GET', '/api/v1/me', undefined, { ...none, cookie });
      assert.equal(me.body.result.username, 'alice');
      const forged = await call(app, 'POST', '/api/v1/experiment', parked('forged'), { ...none, cookie });
      assert.equal(forged.status, 403);
      assert.match(forged.body.message, /x-csrf-token/);
      const wrong = await call(app, 'POST', '/api/v1/experiment', parked('forged'), { ...none, cookie, 'x-csrf-token': `${csrf.slice(1)}x` });
      assert.equal(wrong.status, 403);
      const made = await call(app, 'POST', '/api/v1/experiment', parked('mine'), { ...none, cookie, 'x-csrf-token': csrf });
      assert.equal(made.status, 200, made.body.message);
      assert.equal((await call(app, 'GET', '/api/v1/experiments', undefined, { ...none, cookie })).body.result[0].owner, 'alice');

      // Another site's page cannot make the browser change anything, with or without a cookie.
      const crossSite = await call(app, 'POST', `/api/v1/experiment/${made.body.result.experimentId}/cancel`, undefined, { ...none, cookie, 'x-csrf-token': csrf, origin: 'https://evil.example' });
      assert.equal(crossSite.status, 403);
      assert.match(crossSite.body.message, /Cross-site/);

      const out = await app.http.inject({ method: 'DELETE', url: '/api/v1/auth/session', headers: { cookie, 'x-csrf-token': csrf } });
      assert.equal(out.statusCode, 200, out.body);
      assert.match(cookiesOf(out.headers['set-cookie']).get('periscope_session')!, /Expires=Thu, 01 Jan 1970/);
      // The token itself is revoked, not only the cookie dropped.
      assert.equal((await call(app, 'GET', '/api/v1/me', undefined, { ...none, cookie })).status, 401);
    });

    it('under --auth none, where every caller is admin, another site still cannot change anything', async () => {
      const app = await testApp(await database.fresh(), { auth: 'none' });
      const id = (await call(app, 'POST', '/api/v1/experiment', parked('local'), none)).body.result.experimentId;
      const crossSite = await call(app, 'DELETE', `/api/v1/experiment/${id}`, undefined, { ...none, origin: 'http://evil.example' });
      assert.equal(crossSite.status, 403);
      assert.equal((await call(app, 'DELETE', `/api/v1/experiment/${id}`, undefined, { ...none, origin: 'null' })).status, 403);
      const sameSite = await call(app, 'DELETE', `/api/v1/experiment/${id}`, undefined, { ...none, origin: 'http://localhost:80', host: 'localhost:80' });
      assert.equal(sameSite.status, 200, sameSite.body.message);
    });

    it('cookies are Secure under TLS', async () => {
      const { cert, key } = selfSignedCertificate(tempDir(), 'localhost', 'DNS:localhost,IP:127.0.0.1');
      const app = await testApp(await database.fresh(), { tls: { cert: readFileSync(cert), key: readFileSync(key) } });
      await userHeaders(app, 'alice');
      const { set } = await browserLogin(app, 'alice', 'alice-password');
      assert.match(set.get('periscope_session')!, /Secure/);
      assert.match(set.get('periscope_csrf')!, /Secure/);
    });

    it('summaries: newest first by key, filtered by status, name (LIKE wildcards are text) and owner; a user sees only their own', async () => {
      const app = await testApp(await database.fresh());
      const alice = await userHeaders(app, 'alice');
      const ids: string[] = [];
      for (const name of ['alpha', 'beta_1', 'betax1', 'Gamma']) {
        const made = await call(app, 'POST', '/api/v1/experiment', parked(name), alice);
        assert.equal(made.status, 200, made.body.message);
        ids.push(made.body.result.experimentId);
      }
      await create(app, parked('admins-own'));

      const first = await call(app, 'GET', '/api/v1/experiments?limit=2', undefined, alice);
      assert.deepEqual(first.body.result.map((s: any) => s.name), ['gamma', 'betax1']);
      assert.ok(first.body.attributes.nextCursor);
      const second = await call(app, 'GET', `/api/v1/experiments?limit=2&before=${first.body.attributes.nextCursor}`, undefined, alice);
      assert.deepEqual(second.body.result.map((s: any) => s.name), ['beta_1', 'alpha']);
      const summary = second.body.result[1];
      assert.deepEqual(
        { ...summary, acceptedTime: typeof summary.acceptedTime },
        { experimentId: ids[0], name: 'alpha', status: 'Created', owner: 'alice', framework: 'TensorFlow', tags: [], acceptedTime: 'string', createdTime: summary.createdTime, runningTime: null, finishedTime: null, message: null, trials: 1, searcher: null, bestMetric: null },
      );

      const names = async (query: string, headers = alice) => (await call(app, 'GET', `/api/v1/experiments?${query}`, undefined, headers)).body.result.map((s: any) => s.name);
      assert.deepEqual(await names('name=BETA'), ['betax1', 'beta_1']);
      assert.deepEqual(await names('name=a_1'), ['beta_1'], 'an underscore matches only itself');
      assert.deepEqual(await names(`name=${encodeURIComponent('%')}`), [], 'a percent sign matches only itself');
      assert.deepEqual(await names('status=running'), []);
      assert.deepEqual(await names('status=created&name=gam'), ['gamma']);
      assert.equal((await names('')).length, 4, "alice does not see the admin's experiment");
      assert.deepEqual(await names('owner=admin', {}), ['admins-own']);
      assert.equal((await names('', {})).length, 5, 'an admin sees everyone');

      const foreign = await call(app, 'GET', '/api/v1/experiments?owner=admin', undefined, alice);
      assert.equal(foreign.status, 403);
      for (const bad of ['status=Sleeping', 'limit=0', 'limit=501', 'before=abc', `name=${'x'.repeat(201)}`]) {
        const answer = await call(app, 'GET', `/api/v1/experiments?${bad}`);
        assert.equal(answer.status, 400, `${bad}: ${answer.body.message}`);
      }
    });

    it('the live feed: ready first, then each change of what the caller may read, and nudges for the trials of a followed experiment', async () => {
      const app = await testApp(await database.fresh());
      const base = await listening(app);
      const alice = await userHeaders(app, 'alice');
      const bob = await userHeaders(app, 'bob');
      const all = await openFeed(base, alice);
      assert.equal(all.status, 200);
      assert.deepEqual(await all.next(() => true), { type: 'ready' });
      const bobs = await openFeed(base, bob);
      await bobs.next((e) => e.type === 'ready');

      const id = (await call(app, 'POST', '/api/v1/experiment', quick('watched', 'sleep 0.3'), alice)).body.result.experimentId;
      const followed = await openFeed(base, alice, `?experiment=${id}`);
      await followed.next((e) => e.type === 'ready');
      const done = await all.next((e) => e.type === 'experiment' && e.experiment.experimentId === id && e.experiment.status === 'Succeeded');
      assert.equal(done.experiment.owner, 'alice');
      assert.equal(done.experiment.trials, 1);
      await followed.next((e) => e.type === 'trial' && e.experimentId === id && e.what === 'executor');
      await followed.next((e) => e.type === 'experiment' && e.experiment.status === 'Succeeded');

      const other = (await call(app, 'POST', '/api/v1/experiment', parked('not-watched'), alice)).body.result.experimentId;
      await all.next((e) => e.type === 'experiment' && e.experiment.experimentId === other);
      assert.equal((await call(app, 'DELETE', `/api/v1/experiment/${other}`, undefined, alice)).status, 200);
      await all.next((e) => e.type === 'deleted' && e.experimentId === other);
      assert.ok(!followed.seen.some((e) => e.experiment?.experimentId === other || e.experimentId === other), 'a followed experiment stream carries only that experiment');
      // Bob heard nothing of alice's experiments, and may not follow one: it does not exist for him.
      const bobsMarker = (await call(app, 'POST', '/api/v1/experiment', parked('bobs'), bob)).body.result.experimentId;
      await bobs.next((e) => e.type === 'experiment' && e.experiment.experimentId === bobsMarker);
      assert.deepEqual(bobs.seen.filter((e) => e.type !== 'ready').map((e) => e.experiment?.owner ?? e.experimentId).filter((owner) => owner !== 'bob'), []);
      const peek = await openFeed(base, bob, `?experiment=${id}`);
      assert.equal(peek.status, 404);
      const missing = await openFeed(base, alice, '?experiment=experiment-1647574374688-9999');
      assert.equal(missing.status, 404);
      const anonymous = await openFeed(base, {});
      assert.equal(anonymous.status, 401);
      for (const feed of [all, bobs, followed]) feed.stop();
    });

    it('a trial waiting for capacity says why, in its message', async () => {
      const app = await testApp(await database.fresh(), { capacity: { cpus: 1, memoryMb: 1024, gpus: [] } });
      const busy = await create(app, { ...quick('busy', 'sleep 30'), spec: { Worker: { replicas: 1, resources: 'cpu=1,memory=64M', cmd: 'sleep 30' } } });
      await waitForStatus(app, busy, ['Running']);
      const waiting = await create(app, { ...quick('waiting'), spec: { Worker: { replicas: 1, resources: 'cpu=1,memory=64M', cmd: 'true' } } });
      const [trial] = (await call(app, 'GET', `/api/v1/experiment/${waiting}/trials`)).body.result;
      assert.equal(trial.state, 'Queued');
      assert.match(trial.message, /^Waiting for capacity on .*: needs cpu=1 \(0 free\)/);
      assert.equal((await call(app, 'GET', `/api/v1/trials/${trial.id}`)).body.result.message, trial.message);
      await call(app, 'POST', `/api/v1/experiment/${busy}/cancel`);
      await waitForStatus(app, waiting, ['Succeeded']);
    });

    it("a search's summary carries the best validation metric of its trials, in the searcher's direction", async () => {
      const app = await testApp(await database.fresh(), { capacity: { cpus: 8, memoryMb: 8192, gpus: [] } });
      await listening(app);
      const dir = tempDir();
      writeFileSync(join(dir, 'train.py'), 'import periscope\nctx = periscope.init()\nctx.report_validation_metrics(1, {"loss": float(ctx.hparams["x"]) * 1.5})\n');
      const id = await create(app, {
        meta: { name: 'search', framework: 'Custom', cmd: `python3 ${join(dir, 'train.py')}` },
        spec: { Worker: {} },
        hyperparameters: { x: { type: 'categorical', vals: [3, 1, 2] } },
        searcher: { name: 'grid', metric: 'loss', smallerIsBetter: true, maxConcurrentTrials: 3 },
      });
      await waitForStatus(app, id, ['Succeeded'], 120_000);
      const [summary] = (await call(app, 'GET', '/api/v1/experiments?limit=1')).body.result;
      assert.equal(summary.trials, 3);
      assert.equal(summary.searcher, 'grid');
      assert.deepEqual(summary.bestMetric, { name: 'loss', value: 1.5, smallerIsBetter: true });
      const trials = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result;
      assert.deepEqual(trials.map((t: any) => t.bestValidation).sort(), [1.5, 3, 4.5]);
      assert.ok(trials.every((t: any) => t.stepsCompleted === 1 && t.executors[0].handle !== null));
    });
  });
}

describe('the dashboard at /', () => {
  it('serves its build with index.html for page addresses, and API misses stay JSON 404s', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>Periscope</title>');
    writeFileSync(join(root, 'app-abc123.js'), 'console.log(1)');
    const app = await testApp(join(tempDir(), 'db.sqlite'), { webRoot: root });
    const page = await app.http.inject({ method: 'GET', url: '/experiments/experiment-1-0001?tab=logs' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<title>Periscope/);
    assert.equal(page.headers['cache-control'], 'no-cache');
    const asset = await app.http.inject({ method: 'GET', url: '/app-abc123.js' });
    assert.equal(asset.body, 'console.log(1)');
    assert.match(String(asset.headers['cache-control']), /immutable/);
    const miss = await app.http.inject({ method: 'GET', url: '/api/v1/nothing-here' });
    assert.equal(miss.statusCode, 404);
    assert.equal(miss.json().status, 'NOT_FOUND');
    const escape = await app.http.inject({ method: 'GET', url: '/..%2f..%2fetc%2fpasswd' });
    assert.doesNotMatch(escape.body, /root:/);
  });

  it('says how to build the dashboard when it is not built', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'), { webRoot: tempDir() });
    const page = await app.http.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 404);
    assert.match(page.body, /npm run build/);
  });
});
