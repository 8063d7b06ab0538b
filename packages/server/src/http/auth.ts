/**
 * The auth hook: every request is authenticated (or let through for public routes), held to its route's
 * access level, and checked against the owner of the resource its path names, before its body is even
 * parsed. Services then only need the caller for creating and listing (`request.principal`).
 */
import { ForbiddenError, NotFoundError, UnauthorizedError } from '@periscope/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EXPERIMENT_NOT_FOUND } from '../experiments/service.js';
import type { Owners } from '../users/owners.js';
import { FIRST_ADMIN, type Principal, type UserService } from '../users/service.js';
import { policyOf, type ResourceKind, type RoutePolicy } from './route-policies.js';

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
    if (!route.url.startsWith('/api/v1/')) return;
    for (const method of [route.method].flat()) {
      const policy = policyOf(method, route.url);
      if (!policy) throw new Error(`route ${method} ${route.url} has no entry in http/route-policies.ts`);
      if (method !== 'HEAD') routes.push({ method, url: route.url, policy });
      // The OpenAPI document says which routes need no token (the rest inherit the global bearer requirement).
      if (policy.access === 'public') route.schema = { ...route.schema, security: [] };
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    const url = request.routeOptions.url;
    if (url === undefined || !url.startsWith('/api/v1/')) return;
    const policy = policyOf(request.method, url)!;
    const header = request.headers.authorization;
    // Public routes (health, login) act as nobody: a token sent along is not even looked up.
    if (policy.access === 'public') return;
    try {
      request.principal = mode === 'none' && !header ? NOBODY_CHECKS : await users.authenticate(header);
    } catch (error) {
      if (error instanceof UnauthorizedError) void reply.header('www-authenticate', 'Bearer realm="periscope"');
      throw error;
    }
    await authorize(request, policy, request.principal, owners);
  });
  return routes;
}

async function authorize(request: FastifyRequest, policy: RoutePolicy, principal: Principal, owners: Owners): Promise<void> {
  if (principal.task) {
    if (!policy.task) throw new ForbiddenError("An executor's token may only report metrics and checkpoints of its own trial and use its experiment's flags.");
    const key = (request.params as Record<string, string>)[policy.resource?.param ?? 'id'];
    const own = policy.task === 'trial' ? String(principal.task.trialId) : principal.task.experimentId;
    if (key !== own) throw new ForbiddenError(`This token belongs to ${policy.task} ${own}, not ${key}.`);
    return;
  }
  if (policy.access === 'admin' && !principal.admin) throw new ForbiddenError('Only an admin may do this.');
  const resource = policy.resource;
  if (!resource || principal.admin) return;
  const key = (request.params as Record<string, string>)[resource.param];
  if (key === undefined) return;
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
    default:
      return EXPERIMENT_NOT_FOUND;
  }
}
