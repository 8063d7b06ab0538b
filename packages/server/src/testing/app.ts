import { after } from 'node:test';
import { createApp, type App, type AppOptions } from '../app.js';
import { adminToken } from './admin-token.js';
import { tempDir } from './databases.js';

/** Each test app's admin token, which `call` sends unless told otherwise. */
const tokens = new WeakMap<App, string>();

/**
 * An app on the given database with a fresh data dir, closed after the test. Auth is on, as in production:
 * `call` acts as the first admin unless it is given an `authorization` header ('' sends none).
 */
export async function testApp(database: string, options: Partial<AppOptions> = {}): Promise<App> {
  // A cheap scrypt cost: hundreds of test apps each hash an admin's password (the cost is tested on its own).
  const app = await createApp({ database, dataDir: tempDir(), passwordCost: 1024, ...options });
  after(() => app.close());
  tokens.set(app, await adminToken(app));
  return app;
}

/** The admin's bearer header for a test app (to pass to inject by hand). */
export function adminHeaders(app: App): Record<string, string> {
  return { authorization: `Bearer ${tokens.get(app)}` };
}

/** A user (admin or not) and a bearer header acting as them. */
export async function userHeaders(app: App, username: string, admin = false): Promise<Record<string, string>> {
  await app.users.create({ username, password: `${username}-password`, admin });
  return { authorization: `Bearer ${(await app.users.issueToken(username)).token}` };
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
  given: Record<string, string> = {},
): Promise<Answer<T>> {
  const headers = given.authorization === undefined ? { ...adminHeaders(app), ...given } : Object.fromEntries(Object.entries(given).filter(([k, v]) => k !== 'authorization' || v !== ''));
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
