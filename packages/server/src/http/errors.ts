import { PeriscopeError, TooManyRequestsError } from '@periscope/core';
import type { FastifyError, FastifyInstance, FastifySchemaValidationError } from 'fastify';
import { failure } from './envelope.js';

/**
 * The one place where errors become HTTP answers. Domain errors carry their code; Fastify's own client errors
 * (bad JSON, body too large, wrong media type, schema validation) keep their 4xx status; anything else is
 * logged with its stack and answered with a generic 500 that reveals nothing.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | PeriscopeError | Error, request, reply) => {
    if (error instanceof TooManyRequestsError) void reply.header('retry-after', String(error.retryAfterSeconds));
    if (error instanceof PeriscopeError) {
      return reply.code(error.httpStatus).send(failure(error.httpStatus, error.message));
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.validation) {
      return reply.code(400).send(failure(400, validationMessage(fastifyError.validation, fastifyError.validationContext)));
    }
    const status = fastifyError.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send(failure(status, clientErrorMessage(fastifyError, request.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit)));
    }
    const full = diskFull(error);
    if (full) {
      request.log.error({ err: error }, 'the store or the data dir is out of space');
      return reply.code(503).header('retry-after', '5').send(failure(503, `The server cannot store anything now: ${full}. Free some space and retry.`));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send(failure(500, 'Internal server error.'));
  });
}

function validationMessage(errors: FastifySchemaValidationError[], context: string | undefined): string {
  const where = context === 'body' ? '' : `${context ?? 'request'} `;
  // Nullable fields are unions: drop the "must be null" and "must match anyOf" echoes of the real fault,
  // and report the deepest faults, which name the field most precisely.
  const specific = errors.filter((e) => e.keyword !== 'anyOf' && !(e.keyword === 'type' && (e.params as { type?: unknown }).type === 'null'));
  const pool = specific.length > 0 ? specific : errors;
  const depth = (e: FastifySchemaValidationError) => e.instancePath.split('/').length;
  const deepest = Math.max(...pool.map(depth));
  const parts = pool.filter((e) => depth(e) === deepest).map((e) => {
    const path = e.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const params = e.params as { requiredProperties?: string[]; missingProperty?: string } | undefined;
    const property = params?.missingProperty ?? params?.requiredProperties?.[0];
    if (e.keyword === 'required' && property) return `${where}${path ? `${path}.` : ''}${property}: is required`;
    if (!path && context === 'body') return 'Request body must be a JSON object.';
    return `${where}${path}: ${e.message ?? 'is invalid'}`;
  });
  return [...new Set(parts)].slice(0, 3).join('; ');
}

function clientErrorMessage(error: FastifyError, bodyLimit: number | undefined): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return bodyLimit === undefined ? 'Request body is too large.' : `Request body is too large: this route takes at most ${sizeInWords(bodyLimit)}.`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Unsupported Content-Type: send application/json (or application/yaml).';
    default:
      return error.message;
  }
}

function sizeInWords(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/**
 * A write refused for want of space — SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100) or ENOSPC from the
 * data dir — in words; undefined for anything else. It is the operator's to fix, and the request may be retried.
 */
function diskFull(error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code;
  if (code === 'SQLITE_FULL') return 'the database file\'s disk is full';
  if (code === '53100') return 'PostgreSQL\'s disk is full';
  if (code === 'ENOSPC') return 'the data dir\'s disk is full';
  return undefined;
}
