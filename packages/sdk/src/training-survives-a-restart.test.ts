/**
 * @periscope/sdk/training keeps a training loop alive through a server restart, as periscope.py does: a
 * refused connection, a dropped answer or a 5xx is retried with a growing pause, reports keep their order,
 * a refusal ends the call at once, and NaN or infinite values travel as the strings JSON can carry.
 * Driven against a scripted HTTP endpoint, since the faults are what is under test.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, describe, it } from 'node:test';
import { init, PeriscopeTrainingError } from './training.js';

async function listen(handler: (request: IncomingMessage, body: string, response: ServerResponse) => void): Promise<string> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (d) => (body += d));
    request.on('end', () => handler(request, body, response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => server.close());
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

const answer = (response: ServerResponse, status: number, body: object) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

describe('@periscope/sdk/training through faults', () => {
  it('retries a 503 and a dropped connection, keeps the order, and sends NaN and infinities as strings', async () => {
    const seen: unknown[] = [];
    let calls = 0;
    const api = await listen((request, body, response) => {
      calls++;
      if (calls === 1) return answer(response, 503, { message: 'database unavailable' });
      if (calls === 2) return request.socket.destroy();
      seen.push(JSON.parse(body).reports[0]);
      answer(response, 200, { result: { accepted: 1 } });
    });
    const ctx = init({ PERISCOPE_API: api, PERISCOPE_TRIAL_ID: '7', PERISCOPE_RETRY_SECONDS: '30' });
    await ctx.reportTrainingMetrics(1, { loss: Number.NaN });
    await ctx.reportTrainingMetrics(2, { loss: Number.POSITIVE_INFINITY, grad: Number.NEGATIVE_INFINITY });
    await ctx.reportTrainingMetrics(3, { loss: 0.5 });
    assert.deepEqual(seen, [
      { stepsCompleted: 1, metrics: { loss: 'NaN' } },
      { stepsCompleted: 2, metrics: { loss: 'Infinity', grad: '-Infinity' } },
      { stepsCompleted: 3, metrics: { loss: 0.5 } },
    ]);
  });

  it('ends at once on a refusal, with the server\'s message', async () => {
    let calls = 0;
    const api = await listen((_request, _body, response) => {
      calls++;
      answer(response, 400, { message: 'reports.0.stepsCompleted: must be >= 0' });
    });
    const ctx = init({ PERISCOPE_API: api, PERISCOPE_TRIAL_ID: '7' });
    await assert.rejects(ctx.reportTrainingMetrics(-1, { loss: 1 }), (error: unknown) => error instanceof PeriscopeTrainingError && /must be >= 0/.test(error.message));
    assert.equal(calls, 1);
  });
});
