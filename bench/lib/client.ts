/** The few API calls the benchmarks make, over global fetch (keep-alive). */
import { readFile } from 'node:fs/promises';
export interface Envelope<T = any> {
  code: number;
  success: boolean | null;
  message: string | null;
  result: T;
  attributes: Record<string, unknown>;
}

/** Each benchmarked server's admin token (auth is on, as users run it), by base URL. */
const tokens = new Map<string, string>();

export function useToken(base: string, token: string): void {
  tokens.set(base, token);
}

/** The Authorization header for a server's URL (or any URL under it), or for another user's `token`. */
export function authHeaders(url: string, token = tokens.get(new URL(url).origin)): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

export async function api<T = any>(base: string, method: string, path: string, body?: unknown): Promise<Envelope<T>> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...authHeaders(base), ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const envelope = (await response.json()) as Envelope<T>;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${envelope.message ?? ''}`);
  return envelope;
}

/** A one-executor experiment running `cmd`. */
export function spec(name: string, cmd: string, autoStart = true): Record<string, unknown> {
  return { meta: { name, framework: 'Custom', cmd }, spec: { Worker: { replicas: 1 } }, ...(autoStart ? {} : { autoStart: false }) };
}

export async function submit(base: string, name: string, cmd: string, autoStart = true): Promise<string> {
  const { result } = await api<{ experimentId: string }>(base, 'POST', '/api/v1/experiment', spec(name, cmd, autoStart));
  return result.experimentId;
}

/** Where an experiment's single executor writes its stdout (trial 1, Worker 0). */
export function stdoutPath(dataDir: string, experimentId: string): string {
  return `${dataDir}/logs/${experimentId}/${experimentId}-worker-0/stdout`;
}

/** Polls the experiment until it has finished; resolves with its final status. */
export async function waitFinished(base: string, id: string, intervalMs = 10, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { result } = await api<{ status: string }>(base, 'GET', `/api/v1/experiment/${id}`);
    if (['Succeeded', 'Failed', 'Deleted'].includes(result.status)) return result.status;
    if (Date.now() > deadline) throw new Error(`${id} still ${result.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Polls until the experiment has finished and throws, with the server's reason, unless it succeeded. */
export async function waitSucceeded(base: string, id: string, intervalMs = 10, timeoutMs = 120_000): Promise<void> {
  if ((await waitFinished(base, id, intervalMs, timeoutMs)) !== 'Succeeded') await checkNotFailed(base, id);
}

/**
 * Throws with the server's own words (the trial's message) when the experiment has failed, e.g. because its
 * executors could not start; a benchmark then stops at once instead of waiting for output that never comes.
 */
export async function checkNotFailed(base: string, id: string): Promise<void> {
  const { result } = await api<{ status: string }>(base, 'GET', `/api/v1/experiment/${id}`);
  if (result.status === 'Succeeded' || result.status === 'Running' || result.status === 'Accepted' || result.status === 'Created') return;
  const trials = await api<{ message: string | null }[]>(base, 'GET', `/api/v1/experiment/${id}/trials`).catch(() => undefined);
  throw new Error(`experiment ${id} ${result.status}: ${trials?.result[0]?.message ?? 'no message'}`);
}

/** The id of an experiment's first trial. */
export async function firstTrialId(base: string, experimentId: string): Promise<number> {
  const { result } = await api<{ id: number }[]>(base, 'GET', `/api/v1/experiment/${experimentId}/trials`);
  if (!result[0]) throw new Error(`${experimentId} has no trial`);
  return result[0].id;
}

/** The executor's first line of stdout, once it is there (asking the server now and then whether it failed). */
export async function readStarted(server: { dataDir: string; base: string }, id: string, timeoutMs = 30_000): Promise<string> {
  const path = stdoutPath(server.dataDir, id);
  const deadline = Date.now() + timeoutMs;
  for (let i = 1; ; i++) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.endsWith('\n')) return text;
    if (i % 100 === 0) await checkNotFailed(server.base, id);
    if (Date.now() > deadline) throw new Error(`no start time in ${path} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
