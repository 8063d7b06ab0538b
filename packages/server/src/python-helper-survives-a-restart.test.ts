/**
 * python/periscope.py keeps a training loop alive through a server restart: a refused connection, a dropped
 * answer or a 5xx is retried with a growing pause and the reports arrive in their order; a refusal (4xx)
 * still ends the call at once with the server's message. Driven against a scripted HTTP endpoint, since the
 * faults are what is under test; the real server is exercised by the other helper tests.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { eventually } from './testing/databases.js';
import { freePort } from './testing/free-port.js';

const PYTHON_DIR = fileURLToPath(new URL('../../../python/', import.meta.url));

interface Run {
  done: Promise<{ code: number | null; stderr: string }>;
  stderr(): string;
}

function runPython(api: string, script: string): Run {
  const child = spawn('python3', ['-c', script], {
    env: { ...process.env, PYTHONPATH: PYTHON_DIR, PERISCOPE_API: api, PERISCOPE_TRIAL_ID: '7', PERISCOPE_RETRY_SECONDS: '30' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return { done: once(child, 'exit').then(([code]) => ({ code: code as number | null, stderr })), stderr: () => stderr };
}

async function listen(handler: (request: IncomingMessage, body: string, response: ServerResponse) => void, port = 0): Promise<{ url: string; close(): void }> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (d) => (body += d));
    request.on('end', () => handler(request, body, response));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  after(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => server.close() };
}

const ok = (response: ServerResponse, result: unknown = { accepted: 1 }) =>
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'OK', code: 200, success: true, message: null, result, attributes: {} }));


describe('python/periscope.py through faults', () => {
  it('retries 503s and dropped connections, and delivers the reports in order', async () => {
    const seen: number[] = [];
    let calls = 0;
    const endpoint = await listen((request, body, response) => {
      calls++;
      if (calls === 1) return response.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 503, message: 'database unavailable' }));
      if (calls === 2) return request.socket.destroy();
      seen.push(JSON.parse(body).reports[0].stepsCompleted);
      ok(response);
    });
    const run = runPython(endpoint.url, 'import periscope\nctx = periscope.init()\nfor step in (1, 2, 3):\n    ctx.report_training_metrics(step, {"loss": 1.0 / step})');
    const { code, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    assert.deepEqual(seen, [1, 2, 3]);
    assert.match(stderr, /POST \/api\/v1\/trials\/7\/metrics failed \(HTTP 503: database unavailable\); retrying/);
  });

  it('waits for a server that is down when training reports, and goes on once it is back', async () => {
    const port = await freePort();
    const run = runPython(`http://127.0.0.1:${port}`, 'import periscope\nperiscope.init().report_training_metrics(5, {"loss": 0.5})');
    // The first attempt is refused (nothing listens); the helper says it retries.
    await eventually('the helper to say it retries', () => /retrying/.test(run.stderr()));
    const got: string[] = [];
    await listen((_request, body, response) => {
      got.push(body);
      ok(response);
    }, port);
    const { code, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    assert.equal(JSON.parse(got[0]!).reports[0].stepsCompleted, 5);
  });

  it('ends at once on a refusal, with the server\'s message', async () => {
    let calls = 0;
    const endpoint = await listen((_request, _body, response) => {
      calls++;
      response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 400, message: 'reports.0.stepsCompleted: must be >= 0' }));
    });
    const run = runPython(endpoint.url, 'import periscope\ntry:\n    periscope.init().report_training_metrics(-1, {"loss": 1})\nexcept periscope.PeriscopeError as e:\n    print(e, file=__import__("sys").stderr)\n    raise SystemExit(3)');
    const { code, stderr } = await run.done;
    assert.equal(code, 3, stderr);
    assert.match(stderr, /must be >= 0/);
    assert.equal(calls, 1);
  });
});
