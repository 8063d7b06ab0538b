/**
 * The auth hook: every request is authenticated (or let through for public routes), held to its route's
 * access level, and checked against the owner of the resource its path names, before its body is even
 * parsed. The owner check reads the path parameters as the route's own validator canonicalizes them
 * (http/validation.ts), so the check and the handler see the same id, and no other spelling of it (`2.0`, an
 * upper-case uuid) reaches another user's resource. Services then only need the caller for creating and
 * listing (`request.principal`).
 */
import { ForbiddenError, NotFoundError, UnauthorizedError, ValidationError } from '@periscope/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EXPERIMENT_NOT_FOUND } from '../experiments/service.js';
import type { Owners } from '../users/owners.js';
import { FIRST_ADMIN, type Principal, type UserService } from '../users/service.js';
import { authorizationOf, refuseCrossSite } from './browser-session.js';
import { isApiRoute, policyOf, type ResourceKind, type RoutePolicy } from './route-policies.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller; set on every API route but the public ones. */
    principal: Principal | undefined;
  }
}

export type AuthMode = 'token' | 'none';

/** The caller when auth is off: the first admin, so what is created then has an owner later. */
const NOBODY_CHECKS: Principal = { username: FIRST_ADMIN, admin: true };

export interface ApiRoute {
  method: string;
  url: string;
  policy: RoutePolicy;
}

/** Installs the hook; answers the API routes as they get registered, each with its policy. */
export function installAuth(app: FastifyInstance, mode: AuthMode, users: UserService, owners: Owners): ApiRoute[] {
  app.decorateRequest('principal', undefined);
  const routes: ApiRoute[] = [];

  // Routes outside the API (the OpenAPI page) are public; every API route must have a policy.
  app.addHook('onRoute', (route) => {
    if (!isApiRoute(route.url)) return;
    for (const method of [route.method].flat()) {
      const policy = policyOf(method, route.url);
      if (!policy) throw new Error(`route ${method} ${route.url} has no entry in http/route-policies.ts`);
      // The owner check reads the validated parameter: a route that does not validate it could be reached by
      // another spelling of the id.
      const param = policy.resource?.param ?? (policy.task ? 'id' : undefined);
      const params = route.schema?.params as { properties?: Record<string, unknown>; allOf?: Array<{ properties?: Record<string, unknown> }> } | undefined;
      const declared = params && [params, ...(params.allOf ?? [])].some((p) => p.properties?.[param!] !== undefined);
      if (param !== undefined && !declared) throw new Error(`route ${method} ${route.url} names a ${policy.resource?.kind ?? policy.task} by :${param} but its schema does not validate it`);
      if (method !== 'HEAD') routes.push({ method, url: route.url, policy });
      // The OpenAPI document says which routes need no token (the rest inherit the global bearer requirement).
      if (policy.access === 'public') route.schema = { ...route.schema, security: [] };
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    const url = request.routeOptions.url;
    if (url === undefined || !isApiRoute(url)) return;
    // PostgreSQL cannot store a NUL; refused here for every route, with or without a schema for its query.
    if (request.url.includes('%00')) throw new ValidationError('The URL must not contain NUL characters (%00).');
    const policy = policyOf(request.method, url)!;
    refuseCrossSite(request);
    // Public routes (health, login) act as nobody: a token sent along is not even looked up.
    if (policy.access === 'public') return;
    const header = authorizationOf(request);
    try {
      if (mode === 'none' && !header) request.principal = NOBODY_CHECKS;
      else if (policy.basic && header !== undefined && /^Basic\s/i.test(header)) request.principal = await users.authenticateBasic(header, request.ip);
      else request.principal = await users.authenticate(header);
    } catch (error) {
      if (error instanceof UnauthorizedError) void reply.header('www-authenticate', 'Bearer realm="periscope"');
      throw error;
    }
    await authorize(request, policy, request.principal, owners);
  });
  return routes;
}

/** The path parameters as the route's validator canonicalizes them; a misspelled id is a 400 here. */
function canonicalParams(request: FastifyRequest): Record<string, string | number | undefined> {
  const validate = request.getValidationFunction('params') as ((value: unknown) => { value?: unknown; error?: unknown[] }) | undefined;
  if (!validate) return request.params as Record<string, string>;
  const result = validate(request.params);
  if (result.error) throw Object.assign(new Error('invalid path parameters'), { validation: result.error, validationContext: 'params', statusCode: 400 });
  request.params = result.value;
  return result.value as Record<string, string | number>;
}

async function authorize(request: FastifyRequest, policy: RoutePolicy, principal: Principal, owners: Owners): Promise<void> {
  if (principal.task && !policy.task) throw new ForbiddenError("An executor's token may only report metrics and checkpoints of its own trial and use its experiment's flags.");
  if (policy.access === 'admin' && !principal.admin) throw new ForbiddenError('Only an admin may do this.');
  if (!policy.resource && !policy.task) return;
  const params = canonicalParams(request);
  if (principal.task) {
    const key = String(params[policy.resource?.param ?? 'id']);
    const own = policy.task === 'trial' ? String(principal.task.trialId) : principal.task.experimentId;
    if (key !== own) throw new ForbiddenError(`This token belongs to ${policy.task} ${own}, not ${key}.`);
    return;
  }
  const resource = policy.resource;
  if (!resource || principal.admin) return;
  const value = params[resource.param];
  if (value === undefined) return;
  const key = String(value);
  // Nothing by that key: the route answers its own 404 (or 400 for a malformed key).
  if (resource.kind === 'model' || resource.kind === 'environment') {
    // Shared: everyone reads them; only a change needs the owner.
    if (!resource.write) return;
    const owned = await owners.of(resource.kind, key);
    if (owned && owned.owner !== principal.username) throw new ForbiddenError(`Only the owner of ${resource.kind} "${key}" (${owned.owner}) or an admin may change it.`);
    return;
  }
  if (await owners.hides(principal, resource.kind, key)) throw new NotFoundError(notFoundMessage(resource.kind, key));
}

/** Word for word what the routes answer for a key that does not exist, so existence does not leak. */
export function notFoundMessage(kind: ResourceKind, key: string): string {
  switch (kind) {
    case 'trial':
      return `Not found trial ${key}.`;
    case 'checkpoint':
      return `Not found checkpoint ${key}.`;
    case 'determined-experiment':
      return `experiment ${key} not found`;
    default:
      return EXPERIMENT_NOT_FOUND;
  }
}
