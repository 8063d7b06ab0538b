/**
 * What a call can fail with. Every error has a stable `code` string, so callers can branch without
 * `instanceof` (which breaks across duplicated bundles):
 * - `PeriscopeApiError`: the server answered with an error; `code` is the envelope's status name
 *   (`NOT_FOUND`, `BAD_REQUEST`, `CONFLICT`, …), `httpStatus` the HTTP status, `message` the server's own words.
 *   Three codes are about who is calling: `UNAUTHORIZED` (401: not logged in, or the token is bad, expired or
 *   revoked; the message says which and what to do), `FORBIDDEN` (403: logged in, but not allowed, e.g. a
 *   non-admin managing users) and `TOO_MANY_REQUESTS` (429: too many failed logins; see `retryAfterSeconds`).
 * - `PeriscopeConnectionError`: no answer at all (refused, DNS, reset, per-attempt timeout, a certificate not
 *   trusted); `code` `UNREACHABLE`.
 * - `PeriscopeTimeoutError`: `waitForFinish` gave up waiting; `code` `TIMEOUT`.
 * An aborted call rejects with the signal's reason (an `AbortError` DOMException by default), as fetch does.
 */

/**
 * Reason names (JAX-RS `Response.Status` spelling, as the envelope's `status`) for answers that carry no
 * envelope, e.g. from a proxy. The SDK imports only types from @periscope/core: loading core's schemas at
 * runtime would pull TypeBox into every browser bundle and add ~0.6 s to each CLI start.
 */
const REASONS: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

function reasonOf(httpStatus: number): string {
  return REASONS[httpStatus] ?? (httpStatus >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST');
}

export abstract class PeriscopeClientError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class PeriscopeApiError extends PeriscopeClientError {
  /** The envelope's status name, e.g. `NOT_FOUND`; derived from `httpStatus` when the body is no envelope. */
  readonly code: string;
  readonly httpStatus: number;
  /** `GET /api/v1/experiment/…`: the request that failed (no query string, no headers). */
  readonly request: string;

  /** Seconds the server asked to wait before trying again (its `Retry-After`, e.g. on a 429), when it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: { httpStatus: number; code?: string | null; message?: string | null; request: string; retryAfterSeconds?: number | undefined }) {
    const code = init.code && /^[A-Z][A-Z_]*$/.test(init.code) ? init.code : reasonOf(init.httpStatus);
    super(init.message?.trim() || `${init.request} answered HTTP ${init.httpStatus} (${code})`);
    this.code = code;
    this.httpStatus = init.httpStatus;
    this.request = init.request;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/**
 * The same error told in other words (the SDK explains a refused login or token better than a status). Not a
 * method: a class that names itself inside its body gets renamed by bundlers, and `name` with it.
 */
export function reworded(error: PeriscopeApiError, message: string): PeriscopeApiError {
  return new PeriscopeApiError({ httpStatus: error.httpStatus, code: error.code, message, request: error.request, retryAfterSeconds: error.retryAfterSeconds });
}

/**
 * What was wrong with a server's certificate: not issued by anyone trusted (self-signed, unknown CA), issued
 * for another name, or out of its validity dates.
 */
export type CertificateProblem = 'untrusted' | 'wrong-name' | 'expired';

const CERTIFICATE_ADVICE: Record<CertificateProblem, string> = {
  untrusted: 'pass certPath with the PEM file of the certificate or its CA, or noverify to skip the check',
  'wrong-name': 'pass certName with a name the certificate holds, or noverify to skip the check',
  expired: 'renew the certificate, or pass noverify to skip the check',
};

export class PeriscopeConnectionError extends PeriscopeClientError {
  readonly code = 'UNREACHABLE';
  /** The server URL that could not be reached. */
  readonly master: string;
  /** Why, in a few words (`connection refused`, `its certificate is self-signed`). */
  readonly reason: string;
  /** Set when the connection failed on the server's certificate; the message then says which option helps. */
  readonly certificate: CertificateProblem | undefined;

  constructor(master: string, reason: string, cause?: unknown, certificate?: CertificateProblem) {
    super(`cannot reach the Periscope server at ${master}: ${reason}${certificate ? ` (${CERTIFICATE_ADVICE[certificate]})` : ''}`, { cause });
    this.master = master;
    this.reason = reason;
    this.certificate = certificate;
  }
}

export class PeriscopeTimeoutError extends PeriscopeClientError {
  readonly code = 'TIMEOUT';
  /** The last status seen before giving up, when one was. */
  readonly lastStatus: string | undefined;

  constructor(message: string, lastStatus?: string) {
    super(message);
    this.lastStatus = lastStatus;
  }
}

/** True for any error this SDK raises on purpose (as opposed to a bug or an abort). */
export function isPeriscopeError(error: unknown): error is PeriscopeClientError {
  return error instanceof PeriscopeClientError;
}

/** True when the server said the experiment (or environment) does not exist. */
export function isNotFound(error: unknown): error is PeriscopeApiError {
  return error instanceof PeriscopeApiError && error.code === 'NOT_FOUND';
}
