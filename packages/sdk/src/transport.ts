/**
 * The one place the SDK talks HTTP: builds the URL, sends JSON with the session's token, unwraps Submarine's
 * envelope, turns failures into the SDK's errors and retries what is safe to retry.
 */
import type { EnvelopeOf, LoginAnswer } from '@periscope/core';
import { PeriscopeApiError } from './errors.js';
import { AttemptTimeout, certificateProblem, connectionError } from './network-errors.js';
import type { ResolvedOptions } from './options.js';
import { Session } from './session.js';
import { tlsFetch } from './tls.js';

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
  /** Sent without the session's token: the login itself. Default false. */
  anonymous?: boolean;
}

export interface ApiAnswer<T> {
  result: T;
  attributes: Record<string, unknown>;
}

/** A paged answer's `attributes.nextCursor`, or null on the last page. */
export function nextCursorOf(attributes: Record<string, unknown>): string | null {
  const cursor = attributes.nextCursor;
  return typeof cursor === 'string' && cursor !== '' ? cursor : null;
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
  // `#` keeps the options (headers, password, token) out of any inspection of a client.
  readonly #options: ResolvedOptions;
  readonly #session: Session;
  /** The fetch to send with: the option's, or undici's with the TLS settings (made on first use). */
  #fetch: Promise<typeof fetch> | undefined;
  /** The `headers` option carries an `Authorization` of its own, which then is sent instead of the session's. */
  readonly #ownAuthorization: boolean;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.#session = new Session(options.master, options.credentials, (username, password) => this.login(username, password));
    this.#ownAuthorization = Object.keys(options.headers).some((name) => name.toLowerCase() === 'authorization');
  }

  /** Who this client is: its token, and login/logout. */
  get session(): Session {
    return this.#session;
  }

  async call<T>(request: ApiRequest): Promise<ApiAnswer<T>> {
    const exchanged = await this.exchange(request, 'text');
    return this.decode<T>(exchanged, request);
  }

  /**
   * Opens a streaming answer (Server-Sent Events): retried like `call`, with the per-attempt limit applying
   * only until the headers arrive, never to the open stream. An error answer is decoded and thrown as `call`
   * would; a success answer is returned with its body unread: the reader owns it from then on (and cancels
   * it when it stops, e.g. on abort).
   */
  async open(request: ApiRequest): Promise<Response> {
    const exchanged = await this.exchange(request, 'stream');
    if (exchanged.response) return exchanged.response;
    return this.decode<never>(exchanged, request) as never;
  }

  /**
   * A raw body each way (an archive upload, a checkpoint download): sent once, with no per-attempt limit (a
   * large download takes its time), with the session's token; an error answer fails as `call` would.
   */
  async raw(method: 'GET' | 'PUT', route: string, options: CallOptions, send?: { body: Uint8Array; contentType: string }): Promise<Uint8Array> {
    const request: ApiRequest = { method, path: route };
    const fetchWith = await this.fetcher();
    for (let renewed = false; ; renewed = true) {
      const authorization = await this.authorization(request);
      let response: Response;
      try {
        response = await fetchWith(this.url(request), {
          method,
          headers: { ...(send && { 'content-type': send.contentType }), ...this.headers(authorization) },
          // The DOM's BodyInit takes only ArrayBuffer-backed arrays (Node's takes any); a Buffer is one.
          ...(send && { body: send.body as Uint8Array<ArrayBuffer> }),
          ...(options.signal && { signal: options.signal }),
        });
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        throw connectionError(this.#options.master, error);
      }
      if (response.status === 401 && !renewed && (await this.renew(request, authorization))) {
        await response.body?.cancel();
        continue;
      }
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (response.ok) return bytes;
      // An error status with any body (an envelope or not) decodes to the error.
      return this.decode<never>({ status: response.status, text: new TextDecoder().decode(bytes), retryAfter: response.headers.get('retry-after') }, request).result;
    }
  }

  /** POST /auth/login, without a token. */
  private async login(username: string, password: string): Promise<LoginAnswer> {
    return (await this.call<LoginAnswer>({ method: 'POST', path: '/auth/login', body: { username, password }, anonymous: true })).result;
  }

  /** The answer's result, or the error it is; a refused token (401) is explained by the session. */
  private decode<T>(exchanged: Exchanged, request: ApiRequest): ApiAnswer<T> {
    try {
      return decode<T>(exchanged, label(request), this.#options.master);
    } catch (error) {
      if (error instanceof PeriscopeApiError && error.httpStatus === 401 && !request.anonymous && !this.#ownAuthorization) throw this.#session.refused(error);
      throw error;
    }
  }

  /** The client's headers, with the session's token when there is one to send. */
  private headers(authorization: string | undefined): Record<string, string> {
    return { ...this.#options.headers, ...(authorization !== undefined && { authorization }) };
  }

  /** The session's `Authorization` for `request`: none for the login itself, or when `headers` has one. */
  private authorization(request: ApiRequest): Promise<string | undefined> {
    return request.anonymous || this.#ownAuthorization ? Promise.resolve(undefined) : this.#session.authorization();
  }

  /** After a 401: whether to send `request` once more, with the session's renewed token. */
  private async renew(request: ApiRequest, sent: string | undefined): Promise<boolean> {
    return !request.anonymous && !this.#ownAuthorization && (await this.#session.renew(sent));
  }

  private fetcher(): Promise<typeof fetch> {
    const { tls } = this.#options;
    if (!tls) return Promise.resolve(this.#options.fetch);
    // A CA file that cannot be read fails every call the same way, and the next call reads it again.
    this.#fetch ??= tlsFetch(tls).catch((error: unknown) => {
      this.#fetch = undefined;
      throw error;
    });
    return this.#fetch;
  }

  /**
   * Sends `request` with the session's token, retrying what is safe to retry; after a 401, once more with a
   * renewed token when the session has one (a login again, a token saved since). Answers the final status
   * with its text or open body.
   */
  private async exchange(request: ApiRequest, mode: 'text' | 'stream'): Promise<Exchanged> {
    for (let renewed = false; ; renewed = true) {
      const authorization = await this.authorization(request);
      const answer = await this.attempts(request, mode, authorization);
      if (answer.status === 401 && !renewed && (await this.renew(request, authorization))) continue;
      return answer;
    }
  }

  private async attempts(request: ApiRequest, mode: 'text' | 'stream', authorization: string | undefined): Promise<Exchanged> {
    const { signal } = request;
    const url = this.url(request);
    const send = await this.fetcher();
    const init: RequestInit = {
      method: request.method,
      headers: {
        accept: mode === 'stream' ? 'text/event-stream' : 'application/json',
        ...(request.body !== undefined && { 'content-type': 'application/json' }),
        ...this.headers(authorization),
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
        answer = await this.attempt(send, url, init, signal, limit, mode);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        // A certificate is no better a second time.
        if (attempt < retries && !certificateProblem(error)) {
          await sleep(this.backoff(attempt), signal);
          continue;
        }
        throw connectionError(this.#options.master, error);
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
  private async attempt(send: typeof fetch, url: string, init: RequestInit, signal: AbortSignal | undefined, limit: number, mode: 'text' | 'stream'): Promise<Exchanged> {
    const controller = new AbortController();
    const forward = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    const timer = limit > 0 ? setTimeout(() => controller.abort(new AttemptTimeout(limit)), limit) : undefined;
    try {
      const response = await send(url, { ...init, signal: controller.signal });
      const retryAfter = response.headers.get('retry-after');
      if (mode === 'stream' && response.ok) return { status: response.status, text: '', retryAfter, response };
      return { status: response.status, text: await response.text(), retryAfter };
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
  /** The `Retry-After` header, when there was one. */
  retryAfter: string | null;
  /** Set for a successful `stream`-mode answer, whose body is left unread. */
  response?: Response;
}

function label(request: ApiRequest): string {
  return `${request.method} /api/v1${request.path}`;
}

function decode<T>({ status, text, retryAfter }: Exchanged, label: string, master: string): ApiAnswer<T> {
  const envelope = parseEnvelope<T>(text);
  const ok = status >= 200 && status < 300;
  const retryAfterSeconds = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : undefined;
  if (!envelope) {
    throw new PeriscopeApiError({
      httpStatus: status,
      retryAfterSeconds,
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
      retryAfterSeconds,
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
