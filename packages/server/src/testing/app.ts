import { after } from 'node:test';
import { createApp, type App, type AppOptions } from '../app.js';
import { tempDir } from './databases.js';

/** An app on the given database with a fresh data dir, closed after the test. */
export async function testApp(database: string, options: Partial<AppOptions> = {}): Promise<App> {
  const app = await createApp({ database, dataDir: tempDir(), ...options });
  after(() => app.close());
  return app;
}

export interface Answer<T = any> {
  status: number;
  /** The envelope; loosely typed so tests can reach into results and messages. */
  body: { status: string; code: number; success: boolean | null; message: string; result: T; attributes: Record<string, any> };
}

/** One request through Fastify's inject (the real router, parsers, validation and error mapping). */
export async function call<T = any>(
  app: App,
  method: string,
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  const response = await app.http.inject({
    method: method as 'GET',
    url,
    ...(payload !== undefined && {
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      headers: { 'content-type': 'application/json', ...headers },
    }),
    ...(payload === undefined && { headers }),
  });
  return { status: response.statusCode, body: response.json() };
}

/** Polls an experiment until its Submarine status is one of `statuses`; returns it. */
export async function waitForStatus(app: App, id: string, statuses: string[], timeoutMs = 60_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await call(app, 'GET', `/api/v1/experiment/${id}`);
    const status = answer.body.result?.status;
    if (statuses.includes(status)) return answer.body.result;
    if (['Succeeded', 'Failed'].includes(status)) throw new Error(`experiment ${id} ended ${status}; wanted ${statuses.join('|')}`);
    if (Date.now() > deadline) throw new Error(`experiment ${id} still ${answer.body.result?.status} (${answer.body.message}) after ${timeoutMs} ms; wanted ${statuses.join('|')}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function create(app: App, spec: unknown): Promise<string> {
  const answer = await call(app, 'POST', '/api/v1/experiment', spec);
  if (answer.status !== 200) throw new Error(`create failed: ${answer.status} ${answer.body.message}`);
  return answer.body.result.experimentId;
}
