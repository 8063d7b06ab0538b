/**
 * Connection options in three stages: what the caller passes (all optional), the same with defaults filled in
 * (`ResolvedOptions`), and the wire form (`apiBase`, the URL every path is appended to).
 */
import type { Credentials } from './session.js';
import type { TlsOptions } from './tls.js';

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
  /**
   * Extra headers sent with every request (for a proxy's auth, say). Never logged. An `Authorization` here is
   * sent as given, instead of the token from `token`, `password` or the credentials file.
   */
  headers?: Record<string, string>;
  /** The fetch implementation. Default: the global `fetch` (undici's own with a TLS option below). */
  fetch?: typeof fetch;
  /**
   * Who to act as. With `password`, the user to log in as; without, whose token to take from the credentials
   * file (`periscope user login` saves it there). Default: the `PERISCOPE_USER` environment variable, else the
   * user last logged in to this master.
   */
  user?: string;
  /**
   * Log in as `user` with this password (once, on the first call; again if the session ends). Default: no
   * password, so the token comes from `token` or the credentials file.
   */
  password?: string;
  /**
   * A bearer token to send as is (wins over `password` and the credentials file). Default: none. Like the
   * password, it is never logged nor shown when the client is inspected.
   */
  token?: string;
  /**
   * A PEM file of the certificate authority (or the self-signed certificate) to trust for an `https://`
   * master, instead of the system's. Node only. Default: the system's trust store.
   */
  certPath?: string;
  /**
   * The host name the server's certificate must be valid for, when it differs from the master URL's host
   * (e.g. connecting by IP to a certificate issued to `periscope.internal`). Node only.
   */
  certName?: string;
  /** Accept any certificate from an `https://` master (no verification; for tests and trusted networks). */
  noverify?: boolean;
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
  /** How the client proves who it is; read by the transport only. */
  credentials: Credentials;
  /** Set when a TLS option was given: the transport then sends through undici with these settings. */
  tls: TlsOptions | undefined;
}

export function resolveOptions(options: PeriscopeOptions = {}): ResolvedOptions {
  const master = normalizeMaster(options.master ?? masterFromEnvironment() ?? DEFAULT_MASTER);
  if (options.fetch === undefined && typeof globalThis.fetch !== 'function') {
    throw new TypeError('fetch: no global fetch in this runtime; pass one as the `fetch` option');
  }
  const tls = tlsOptions(master, options);
  return {
    master,
    apiBase: `${master}/api/v1`,
    retries: nonNegativeInteger('retries', options.retries, 2),
    retryDelayMs: nonNegativeInteger('retryDelayMs', options.retryDelayMs, 200),
    requestTimeoutMs: nonNegativeInteger('requestTimeoutMs', options.requestTimeoutMs, 30_000),
    headers: { ...options.headers },
    // Called unbound, a browser's fetch throws "Illegal invocation".
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    credentials: credentials(options),
    tls,
  };
}

function credentials(options: PeriscopeOptions): Credentials {
  const user = optionalText('user', options.user) ?? environment('PERISCOPE_USER');
  const token = optionalText('token', options.token);
  if (token !== undefined) {
    if (options.password !== undefined) throw new TypeError('token: pass a token or a password, not both');
    return { kind: 'token', token, user };
  }
  if (options.password !== undefined) {
    if (typeof options.password !== 'string' || options.password === '') throw new TypeError('password: must be a non-empty string');
    if (user === undefined) throw new TypeError('password: name the user to log in as (the `user` option or PERISCOPE_USER)');
    return { kind: 'password', user, password: options.password };
  }
  return { kind: 'file', user };
}

function tlsOptions(master: string, options: PeriscopeOptions): TlsOptions | undefined {
  const certPath = optionalText('certPath', options.certPath);
  const certName = optionalText('certName', options.certName);
  const noverify = options.noverify === true;
  if (certPath === undefined && certName === undefined && !noverify) return undefined;
  const given = certPath !== undefined ? 'certPath' : certName !== undefined ? 'certName' : 'noverify';
  if (!master.startsWith('https:')) throw new TypeError(`${given}: applies to an https:// master only, not ${master}`);
  if (options.fetch !== undefined) throw new TypeError(`${given}: cannot be combined with a custom fetch (configure TLS in that fetch)`);
  return { certPath, certName, noverify };
}

/** A non-empty string option, trimmed; undefined when absent. */
function optionalText(field: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`${field}: ${JSON.stringify(value)} must be a non-empty string`);
  return value.trim();
}

/**
 * `PERISCOPE_MASTER`, read when a client is built (not at import), and only where `process.env` exists, so a
 * browser bundle that has no `process` still loads.
 */
function masterFromEnvironment(): string | undefined {
  return environment('PERISCOPE_MASTER');
}

/** A non-empty environment variable, where `process.env` exists (not in a browser). */
function environment(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.[name]?.trim();
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
