/**
 * The one error hierarchy of Periscope. Domain code throws these; the server maps them to HTTP in exactly one
 * place (server/src/http/errors.ts) and the SDK rebuilds them from the status code.
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'TOO_MANY_REQUESTS'
  | 'INTERNAL_SERVER_ERROR'
  | 'SERVICE_UNAVAILABLE';

export const HTTP_STATUS_OF: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_REQUESTS: 429,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
};

/** The reason name for an HTTP status, as Submarine's envelope spells it (JAX-RS `Response.Status` names). */
export function reasonOf(httpStatus: number): string {
  for (const [code, status] of Object.entries(HTTP_STATUS_OF)) if (status === httpStatus) return code;
  if (httpStatus === 405) return 'METHOD_NOT_ALLOWED';
  return httpStatus >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST';
}

export class PeriscopeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
  get httpStatus(): number {
    return HTTP_STATUS_OF[this.code];
  }
}

/** Bad input. `field` is the dotted path of the offending field when there is one. */
export class ValidationError extends PeriscopeError {
  readonly field: string | undefined;
  constructor(message: string, field?: string) {
    super('BAD_REQUEST', message);
    this.field = field;
  }
}

export class NotFoundError extends PeriscopeError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

export class ConflictError extends PeriscopeError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

export class UnauthorizedError extends PeriscopeError {
  constructor(message = 'Authentication required.') {
    super('UNAUTHORIZED', message);
  }
}

export class ForbiddenError extends PeriscopeError {
  constructor(message = 'Forbidden.') {
    super('FORBIDDEN', message);
  }
}

/** Too many attempts (failed logins); `retryAfterSeconds` is when the next one may succeed. */
export class TooManyRequestsError extends PeriscopeError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super('TOO_MANY_REQUESTS', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
