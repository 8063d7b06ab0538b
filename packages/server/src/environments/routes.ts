import { CreateEnvironmentRequest, Envelope, Environment, EnvironmentSpec, ErrorEnvelope, NameParams } from '@periscope/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ok } from '../http/envelope.js';
import type { EnvironmentService } from './service.js';

const tags = ['environment'];
const errors = { 400: ErrorEnvelope, 404: ErrorEnvelope };

/** Submarine's Environment API, keyed by name. */
export function environmentRoutes(service: EnvironmentService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/api/v1/environment',
      { schema: { tags, summary: 'Create an environment', body: CreateEnvironmentRequest, response: { 200: Envelope(Environment), 409: ErrorEnvelope, ...errors } } },
      async (request) => ok(await service.create(request.body, request.principal!.username)),
    );
    app.get(
      '/api/v1/environment',
      { schema: { tags, summary: 'List environments', response: { 200: Envelope(Type.Array(Environment)) } } },
      async () => ok(await service.list()),
    );
    app.get(
      '/api/v1/environment/:name',
      { schema: { tags, summary: 'Get an environment by name', params: NameParams, response: { 200: Envelope(Environment), ...errors } } },
      async (request) => ok(await service.get(request.params.name)),
    );
    app.patch(
      '/api/v1/environment/:name',
      { schema: { tags, summary: 'Replace an environment', params: NameParams, body: EnvironmentSpec, response: { 200: Envelope(Environment), ...errors } } },
      async (request) => ok(await service.update(request.params.name, request.body)),
    );
    app.delete(
      '/api/v1/environment/:name',
      { schema: { tags, summary: 'Delete an environment', params: NameParams, response: { 200: Envelope(Environment), ...errors } } },
      async (request) => ok(await service.delete(request.params.name)),
    );
  };
}
