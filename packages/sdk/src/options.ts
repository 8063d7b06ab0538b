/**
 * Connection options in three stages: what the caller passes (all optional), the same with defaults filled in
 * (`ResolvedOptions`), and the wire form (`apiBase`, the URL every path is appended to).
 */

/** Where a Periscope server listens when nothing else is said (`periscope server` binds it). */
export const DEFAULT_MASTER = 'http://127.0.0.1:32080';

export interface PeriscopeOptions {
  /**
   * Base URL of the Periscope server, e.g. `http://gpu-box:32080`. Default: the `PERISCOPE_MASTER` environment
   * variable when running under Node, else `http://127.0.0.1:32080`. A trailing slash is ignored.
   */
  master?: string;
  /**
   * Retries of an idempotent call (GET, PUT, DELETE) after a network failure or a 502/503/504 answer.
   * POST and PATCH are never retried: the server may have acted on them. Default 2 (so 3 attempts at most).
   */
  retries?: number;
  /**
   * Delay before the first retry, in milliseconds; each further retry doubles it (with ±25% jitter) up to
   * 5 seconds. Default 200.
   */
  retryDelayMs?: number;
  /**
   * How long one attempt may wait for the server's answer, in milliseconds, before it counts as a network
   * failure. 0 disables the limit. Default 30 000.
   */
  requestTimeoutMs?: number;
  /** Extra headers sent with every request (for a proxy's auth, say). Never logged. */
  headers?: Record<string, string>;
  /** The fetch implementation. Default: the global `fetch`. */
  fetch?: typeof fetch;
}

export interface ResolvedOptions {
  master: string;
  /** `${master}/api/v1`: the wire form every resource path is appended to. */
  apiBase: string;
  retries: number;
  retryDelayMs: number;
  requestTimeoutMs: number;
  headers: Readonly<Record<string, string>>;
  fetch: typeof fetch;
}

export function resolveOptions(options: PeriscopeOptions = {}): ResolvedOptions {
  const master = normalizeMaster(options.master ?? masterFromEnvironment() ?? DEFAULT_MASTER);
  if (options.fetch === undefined && typeof globalThis.fetch !== 'function') {
    throw new TypeError('fetch: no global fetch in this runtime; pass one as the `fetch` option');
  }
  return {
    master,
    apiBase: `${master}/api/v1`,
    retries: nonNegativeInteger('retries', options.retries, 2),
    retryDelayMs: nonNegativeInteger('retryDelayMs', options.retryDelayMs, 200),
    requestTimeoutMs: nonNegativeInteger('requestTimeoutMs', options.requestTimeoutMs, 30_000),
    headers: { ...options.headers },
    // Called unbound, a browser's fetch throws "Illegal invocation".
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
  };
}

/**
 * `PERISCOPE_MASTER`, read when a client is built (not at import), and only where `process.env` exists, so a
 * browser bundle that has no `process` still loads.
 */
function masterFromEnvironment(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.PERISCOPE_MASTER?.trim();
  return value ? value : undefined;
}

function normalizeMaster(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new TypeError(`master: "${value}" is not a URL (expected e.g. ${DEFAULT_MASTER})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`master: "${value}" must be an http:// or https:// URL`);
  }
  if (url.search || url.hash) throw new TypeError(`master: "${value}" must not have a query or fragment`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function nonNegativeInteger(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw new TypeError(`${field}: ${value} must be a non-negative integer`);
  return value;
}
