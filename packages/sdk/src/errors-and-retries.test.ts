/** How calls fail: server errors, no server, aborts, and which failures are retried. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExperimentClient, Periscope, PeriscopeApiError, PeriscopeConnectionError } from './index.js';
import { flakyProxy } from './testing/flaky-proxy.js';
import { parkedSpec, startServer, unusedMaster } from './testing/server.js';

const server = await startServer();
/** Retries without waiting long: these tests are about whether a retry happens, not when. */
const fast = { retryDelayMs: 1 };

describe('errors', () => {
  it('an unknown id is a PeriscopeApiError NOT_FOUND carrying the server message', async () => {
    const client = new ExperimentClient({ host: server.master });
    await assert.rejects(client.getExperiment('experiment-1647574374688-9999'), (error: unknown) => {
      assert.ok(error instanceof PeriscopeApiError);
      assert.equal(error.name, 'PeriscopeApiError');
      assert.equal(error.code, 'NOT_FOUND');
      assert.equal(error.httpStatus, 404);
      assert.equal(error.message, 'Not found experiment.');
      assert.equal(error.request, 'GET /api/v1/experiment/experiment-1647574374688-9999');
      return true;
    });
  });

  it('a bad spec is a BAD_REQUEST naming the field', async () => {
    const client = new ExperimentClient({ host: server.master });
    const spec = parkedSpec('bad-resources');
    spec.spec.Worker!.resources = 'cpu=lots';
    await assert.rejects(client.createExperiment(spec), { code: 'BAD_REQUEST', httpStatus: 400, message: /spec\.Worker\.resources/ });
  });

  it('ids are URL-encoded, so a path-like id cannot reach another route', async () => {
    const client = new ExperimentClient({ host: server.master });
    await assert.rejects(client.getExperiment('../environment'), { code: 'NOT_FOUND', message: /"\.\.\/environment" is not an experiment id/ });
  });

  it('no server at the address is a PeriscopeConnectionError UNREACHABLE naming the address', async () => {
    const master = await unusedMaster();
    const client = new ExperimentClient({ host: master, ...fast });
    await assert.rejects(client.listExperiments(), (error: unknown) => {
      assert.ok(error instanceof PeriscopeConnectionError);
      assert.equal(error.code, 'UNREACHABLE');
      assert.equal(error.message, `cannot reach the Periscope server at ${master}: connection refused`);
      return true;
    });
  });

  it('a server that does not answer in time is UNREACHABLE too, after the per-attempt limit', async () => {
    const proxy = await flakyProxy(server.master, ['hang']);
    const client = new ExperimentClient({ host: proxy.master, requestTimeoutMs: 50, retries: 0 });
    await assert.rejects(client.getExperiment('experiment-1647574374688-0001'), { code: 'UNREACHABLE', message: /no answer within 50 ms/ });
  });

  it('an answer that is not the envelope says the address may not be a Periscope server', async () => {
    const { createServer } = await import('node:http');
    const other = createServer((_req, res) => res.end('<html>hello</html>'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const port = (other.address() as { port: number }).port;
      const client = new ExperimentClient({ host: `http://127.0.0.1:${port}` });
      await assert.rejects(client.listExperiments(), { code: 'INVALID_RESPONSE', message: /is http:\/\/127\.0\.0\.1:\d+ a Periscope server\?/ });
    } finally {
      other.close();
    }
  });

  it('a malformed master URL is refused when the client is built, naming the option', () => {
    assert.throws(() => new Periscope({ master: 'localhost:32080' }), { name: 'TypeError', message: /^master: "localhost:32080" must be an http/ });
    assert.throws(() => new Periscope({ master: 'not a url' }), { name: 'TypeError', message: /^master: "not a url" is not a URL/ });
  });

  it('sends the configured headers, and never shows them when the client is inspected or logged', async () => {
    const { inspect } = await import('node:util');
    const proxy = await flakyProxy(server.master, []);
    const seen: Array<string | null> = [];
    const recording: typeof fetch = async (input, init) => {
      seen.push(new Headers(init?.headers).get('authorization'));
      return fetch(input, init);
    };
    // An Authorization among the headers is sent as given, instead of the saved token (another session's).
    const { token } = await server.app.users.issueToken('admin');
    assert.notEqual(token, server.token);
    const periscope = new Periscope({ master: proxy.master, headers: { authorization: `Bearer ${token}`, 'x-proxy-key': 's3cret' }, fetch: recording });
    assert.equal((await periscope.whoami()).username, 'admin');
    assert.deepEqual(seen, [`Bearer ${token}`]);
    for (const shown of [inspect(periscope, { depth: 20, showHidden: true }), JSON.stringify(periscope), inspect(new ExperimentClient(periscope), { depth: 20 })]) {
      assert.doesNotMatch(shown, /s3cret/);
      assert.ok(!shown.includes(token), 'the token is not shown');
    }
  });

  it('the master defaults to PERISCOPE_MASTER, read when the client is built, trailing slash ignored', () => {
    const saved = process.env.PERISCOPE_MASTER;
    try {
      process.env.PERISCOPE_MASTER = 'http://example.test:9000/';
      assert.equal(new Periscope().master, 'http://example.test:9000');
      delete process.env.PERISCOPE_MASTER;
      assert.equal(new Periscope().master, 'http://127.0.0.1:32080');
    } finally {
      if (saved === undefined) delete process.env.PERISCOPE_MASTER;
      else process.env.PERISCOPE_MASTER = saved;
    }
  });
});

describe('retries', () => {
  it('a GET answered 503 once is retried and succeeds', async () => {
    const proxy = await flakyProxy(server.master, ['503']);
    const client = new ExperimentClient({ host: proxy.master, ...fast });
    assert.ok(Array.isArray(await client.listExperiments()));
    assert.deepEqual(proxy.received, ['GET /api/v1/experiment', 'GET /api/v1/experiment']);
  });

  it('a GET whose connection drops is retried; DELETE too', async () => {
    const created = await new ExperimentClient({ host: server.master }).createExperiment(parkedSpec('retry-delete'));
    const proxy = await flakyProxy(server.master, ['reset', 'pass', 'reset']);
    const client = new ExperimentClient({ host: proxy.master, ...fast });
    assert.equal((await client.getExperiment(created.experimentId)).experimentId, created.experimentId);
    assert.equal((await client.deleteExperiment(created.experimentId)).status, 'Deleted');
    assert.equal(proxy.received.length, 4);
  });

  it('gives up after `retries` retries with the last answer', async () => {
    const proxy = await flakyProxy(server.master, ['503', '503', '503', '503']);
    const client = new ExperimentClient({ host: proxy.master, retries: 2, ...fast });
    await assert.rejects(client.listExperiments(), { code: 'SERVICE_UNAVAILABLE', httpStatus: 503, message: 'Restarting, try again.' });
    assert.equal(proxy.received.length, 3);
  });

  it('never retries a POST or a PATCH: the server may have acted on it', async () => {
    const proxy = await flakyProxy(server.master, ['503', 'reset']);
    const client = new ExperimentClient({ host: proxy.master, ...fast });
    await assert.rejects(client.createExperiment(parkedSpec('once-only')), { code: 'SERVICE_UNAVAILABLE' });
    await assert.rejects(client.patchExperiment('experiment-1647574374688-0001', parkedSpec('once-only')), { code: 'UNREACHABLE' });
    assert.deepEqual(proxy.received, ['POST /api/v1/experiment', 'PATCH /api/v1/experiment/experiment-1647574374688-0001']);
  });

  it('does not retry a 4xx answer', async () => {
    const proxy = await flakyProxy(server.master, []);
    const client = new ExperimentClient({ host: proxy.master, ...fast });
    await assert.rejects(client.getExperiment('experiment-1647574374688-9999'), { code: 'NOT_FOUND' });
    assert.equal(proxy.received.length, 1);
  });
});

describe('abort signals', () => {
  it('an already aborted signal sends nothing', async () => {
    const proxy = await flakyProxy(server.master, []);
    const client = new ExperimentClient({ host: proxy.master });
    await assert.rejects(client.listExperiments(undefined, { signal: AbortSignal.abort() }), { name: 'AbortError' });
    assert.equal(proxy.received.length, 0);
  });

  it('aborting a call in flight rejects it with the abort reason, without a retry', async () => {
    const proxy = await flakyProxy(server.master, ['hang']);
    const client = new ExperimentClient({ host: proxy.master, ...fast });
    const controller = new AbortController();
    const pending = client.getExperiment('experiment-1647574374688-0001', { signal: controller.signal });
    await proxy.arrived(1);
    controller.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    assert.equal(proxy.received.length, 1);
  });

  it('aborting during the wait before a retry stops the retrying', async () => {
    const proxy = await flakyProxy(server.master, ['503']);
    let answered!: () => void;
    const firstAnswer = new Promise<void>((resolve) => (answered = resolve));
    const observed: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      answered();
      return response;
    };
    const client = new ExperimentClient({ host: proxy.master, retryDelayMs: 60_000, fetch: observed });
    const controller = new AbortController();
    const pending = client.listExperiments(undefined, { signal: controller.signal });
    await firstAnswer;
    controller.abort(new Error('user pressed ^C'));
    await assert.rejects(pending, { message: 'user pressed ^C' });
    assert.equal(proxy.received.length, 1);
  });
});
