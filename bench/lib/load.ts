/** autocannon, the load generator of the API benchmarks (in this process, sharing the machine's cores). */
import autocannon, { type Result } from 'autocannon';
import { authHeaders, spec } from './client.js';

export interface Load {
  /** Completed requests per second over the run. */
  rps: number;
  p50: number;
  p99: number;
  /** Non-2xx answers plus connection errors and timeouts: should be 0. */
  bad: number;
}

export interface LoadOptions {
  method?: 'GET' | 'POST';
  body?: unknown;
  seconds?: number;
  amount?: number;
  connections?: number;
  /** Acts as this user (a bearer token) instead of the server's admin. */
  token?: string;
}

export async function load(url: string, options: LoadOptions = {}): Promise<Load> {
  const result: Result = await autocannon({
    url,
    connections: options.connections ?? 50,
    ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.seconds ?? 5 }),
    method: options.method ?? 'GET',
    headers: { ...authHeaders(url, options.token), ...(options.body !== undefined && { 'content-type': 'application/json' }) },
    ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
  });
  return { rps: result.requests.total / result.duration, p50: result.latency.p50, p99: result.latency.p99, bad: result.non2xx + result.errors + result.timeouts };
}

/** Stores `count` experiments that do not run (autoStart false), 50 requests in flight; the admin's unless `token`. */
export async function populate(base: string, count: number, token?: string): Promise<void> {
  if (count <= 0) return;
  const result = await load(`${base}/api/v1/experiment`, { method: 'POST', body: spec('stored', 'true', false), amount: count, ...(token && { token }) });
  if (result.bad > 0) throw new Error(`populating ${count} experiments: ${result.bad} requests failed`);
}
