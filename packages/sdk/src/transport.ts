/**
 * The one place the SDK talks HTTP: builds the URL, sends JSON, unwraps Submarine's envelope, turns failures
 * into the SDK's errors and retries what is safe to retry.
 */
import type { EnvelopeOf } from '@periscope/core';
import { PeriscopeApiError, PeriscopeConnectionError } from './errors.js';
import type { ResolvedOptions } from './options.js';

/** Options every SDK method accepts. */
export interface CallOptions {
  /** Aborts the call (and any retry wait); the call then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiRequest extends CallOptions {
  method: Method;
  /** Under `/api/v1`, e.g. `/experiment/experiment-1647574374688-0002`; build it with `path`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /**
   * The server guarantees that repeating this request is harmless (e.g. `POST /executions/{name}/start`), so
   * it is retried like GET, PUT and DELETE although its method is POST. Default false.
   */
  idempotent?: boolean;
  /** Retries for this request instead of the client's `retries` (0 for a check that must answer at once). */
  retries?: number;
  /** Per-attempt limit for this request instead of `requestTimeoutMs` (a long-poll waits longer); 0 = none. */
  timeoutMs?: number;
}

export interface ApiAnswer<T> {
  result: T;
  attributes: Record<string, unknown>;
}

/** Only these methods may be sent twice: repeating them cannot do anything the first attempt did not. */
const IDEMPOTENT: ReadonlySet<Method> = new Set(['GET', 'PUT', 'DELETE']);
/** Answers from a proxy or a server that is restarting: worth another try. */
const RETRY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);
const MAX_RETRY_DELAY_MS = 5_000;

/** A path under `/api/v1` with each dynamic segment URL-encoded: path`/experiment/${id}`. */
export function path(strings: TemplateStringsArray, ...segments: string[]): string {
  return strings.reduce((out, text, i) => out + text + (i < segments.length ? encodeURIComponent(segments[i]!) : ''), '');
}

export class Transport {
  // `#` keeps the options (headers may hold credentials) out of any inspection of a client.
  readonly #options: ResolvedOptions;

  constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  async call<T>(request: ApiRequest): Promise<ApiAnswer<T>> {
    const { status, text } = await this.exchange(request, 'text');
    return decode<T>(status, text, label(request), this.#options.master);
  }

  /**
   * Opens a streaming answer (Server-Sent Events): retried like `call`, with the per-attempt limit applying
   * only until the headers arrive, never to the open stream. An error answer is decoded and thrown as `call`
   * would; a success answer is returned with its body unread: the reader owns it from then on (and cancels
   * it when it stops, e.g. on abort).
   */
  async open(request: ApiRequest): Promise<Response> {
    const { status, text, response } = await this.exchange(request, 'stream');
    if (response) return response;
    return decode<never>(status, text, label(request), this.#options.master) as never;
  }

  /** Sends `request`, retrying what is safe to retry; answers the final status with its text or open body. */
  private async exchange(request: ApiRequest, mode: 'text' | 'stream'): Promise<Exchanged> {
    const { signal } = request;
    const url = this.url(request);
    const init: RequestInit = {
      method: request.method,
      headers: {
        accept: mode === 'stream' ? 'text/event-stream' : 'application/json',
        ...(request.body !== undefined && { 'content-type': 'application/json' }),
        ...this.#options.headers,
      },
      ...(request.body !== undefined && { body: JSON.stringify(request.body) }),
    };
    const retryable = IDEMPOTENT.has(request.method) || request.idempotent === true;
    const retries = retryable ? (request.retries ?? this.#options.retries) : 0;
    const limit = request.timeoutMs ?? this.#options.requestTimeoutMs;

    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      let answer: Exchanged;
      try {
        answer = await this.attempt(url, init, signal, limit, mode);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (attempt < retries) {
          await sleep(this.backoff(attempt), signal);
          continue;
        }
        throw new PeriscopeConnectionError(this.#options.master, describeNetworkError(error), error);
      }
      if (RETRY_STATUSES.has(answer.status) && attempt < retries) {
        await sleep(this.backoff(attempt), signal);
        continue;
      }
      return answer;
    }
  }

  private url(request: ApiRequest): string {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) query.set(key, String(value));
    const search = query.size > 0 ? `?${query}` : '';
    return `${this.#options.apiBase}${request.path}${search}`;
  }

  /**
   * One attempt, bounded by `limit` ms: the whole answer in `text` mode; only until the headers in `stream`
   * mode, where a 2xx answer comes back with its body open. Rejects on network failure or abort.
   */
  private async attempt(url: string, init: RequestInit, signal: AbortSignal | undefined, limit: number, mode: 'text' | 'stream'): Promise<Exchanged> {
    const controller = new AbortController();
    const forward = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    const timer = limit > 0 ? setTimeout(() => controller.abort(new AttemptTimeout(limit)), limit) : undefined;
    try {
      const response = await this.#options.fetch(url, { ...init, signal: controller.signal });
      if (mode === 'stream' && response.ok) return { status: response.status, text: '', response };
      return { status: response.status, text: await response.text() };
    } catch (error) {
      // fetch rejects with the abort reason; surface our own timeout as such, not as an abort.
      throw controller.signal.reason instanceof AttemptTimeout && !signal?.aborted ? controller.signal.reason : error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    }
  }

  /** The client's `requestTimeoutMs` option (0 = none). */
  get requestTimeoutMs(): number {
    return this.#options.requestTimeoutMs;
  }

  /** The client's `retries` option. */
  get retries(): number {
    return this.#options.retries;
  }

  /** How long to wait before retry number `attempt` (0-based): `retryDelayMs` doubled each time, ±25%, ≤ 5 s. */
  retryDelay(attempt: number): number {
    return this.backoff(attempt);
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.#options.retryDelayMs * 2 ** attempt, MAX_RETRY_DELAY_MS);
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }
}

interface Exchanged {
  status: number;
  text: string;
  /** Set for a successful `stream`-mode answer, whose body is left unread. */
  response?: Response;
}

function label(request: ApiRequest): string {
  return `${request.method} /api/v1${request.path}`;
}

class AttemptTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

function decode<T>(status: number, text: string, label: string, master: string): ApiAnswer<T> {
  const envelope = parseEnvelope<T>(text);
  const ok = status >= 200 && status < 300;
  if (!envelope) {
    throw new PeriscopeApiError({
      httpStatus: status,
      code: ok ? 'INVALID_RESPONSE' : null,
      message: ok
        ? `${label} answered HTTP ${status} without Periscope's JSON envelope (is ${master} a Periscope server?)`
        : null,
      request: label,
    });
  }
  if (!ok || envelope.success !== true) {
    // A real Submarine server answers some bad input with HTTP 200, `success: null` and a message.
    throw new PeriscopeApiError({
      httpStatus: status,
      code: envelope.status === 'OK' ? null : envelope.status,
      message: envelope.message,
      request: label,
    });
  }
  return { result: envelope.result, attributes: envelope.attributes ?? {} };
}

function parseEnvelope<T>(text: string): EnvelopeOf<T> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || !('code' in value) || !('result' in value)) return undefined;
  return value as EnvelopeOf<T>;
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

/** A short reason for a failed fetch: undici hides the useful part in `cause`. */
function describeNetworkError(error: unknown): string {
  if (error instanceof AttemptTimeout) return error.message;
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const code = cause?.code ?? (error as { code?: string } | undefined)?.code;
  if (code && NETWORK_REASONS[code]) return NETWORK_REASONS[code];
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
