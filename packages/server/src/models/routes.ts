import { CreateModelRequest, Envelope, ErrorEnvelope, ForbiddenError, NotFoundError, ListModelsQuery, Model, ModelVersion, PatchModelRequest, RegisterVersionRequest } from '@periscope/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ok } from '../http/envelope.js';
import { notFoundMessage } from '../http/auth.js';
import type { Owners } from '../users/owners.js';
import type { ModelService } from './service.js';

const tags = ['models'];
const ModelParams = Type.Object({ model: Type.String({ minLength: 1, maxLength: 256 }) });
const VersionParams = Type.Intersect([ModelParams, Type.Object({ version: Type.String({ maxLength: 16, description: 'A number, or latest.' }) })]);
const errors = { 400: ErrorEnvelope, 404: ErrorEnvelope, 409: ErrorEnvelope };

/** The model registry under /api/v1/models; a model is addressed by its name or its id. */
export function modelRoutes(models: ModelService, owners: Owners): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post('/api/v1/models', { schema: { tags, summary: 'Create a model (409 on a taken name)', body: CreateModelRequest, response: { 200: Envelope(Model), ...errors } } }, async (request) =>
      ok(await models.create(request.body, request.principal!.username)),
    );
    app.get('/api/v1/models', { schema: { tags, summary: 'List models, sorted and filtered', querystring: ListModelsQuery, response: { 200: Envelope(Type.Array(Model)), ...errors } } }, async (request) =>
      ok(await models.list(request.query)),
    );
    app.get(
      '/api/v1/models/labels',
      { schema: { tags, summary: 'Labels in use, most popular first', response: { 200: Envelope(Type.Array(Type.Object({ label: Type.String(), count: Type.Integer() }))) } } },
      async () => ok(await models.labels()),
    );
    app.get('/api/v1/models/:model', { schema: { tags, summary: 'A model by name or id', params: ModelParams, response: { 200: Envelope(Model), ...errors } } }, async (request) =>
      ok(await models.get(request.params.model)),
    );
    app.patch(
      '/api/v1/models/:model',
      { schema: { tags, summary: 'Change description, metadata (merge/remove), labels (replace) or archived', params: ModelParams, body: PatchModelRequest, response: { 200: Envelope(Model), ...errors } } },
      async (request) => ok(await models.patch(request.params.model, request.body)),
    );
    app.delete(
      '/api/v1/models/:model',
      { schema: { tags, summary: 'Delete a model (refused while it has versions, unless force=true)', params: ModelParams, querystring: Type.Object({ force: Type.Optional(Type.Boolean()) }), response: { 200: Envelope(Model), ...errors } } },
      async (request) => {
        // Force deletes versions other users may rely on: an admin decision.
        if (request.query.force && !request.principal!.admin) throw new ForbiddenError('Only an admin may force-delete a model that has versions.');
        return ok(await models.delete(request.params.model, request.query.force ?? false));
      },
    );
    app.post(
      '/api/v1/models/:model/versions',
      { schema: { tags, summary: 'Register a checkpoint as the next version', params: ModelParams, body: RegisterVersionRequest, response: { 200: Envelope(ModelVersion), ...errors } } },
      async (request) => {
        // Registering publishes a checkpoint of one's own experiments; others' do not exist for the caller.
        const uuid = request.body.checkpointUuid;
        if (await owners.hides(request.principal!, 'checkpoint', uuid)) throw new NotFoundError(notFoundMessage('checkpoint', uuid));
        return ok(await models.registerVersion(request.params.model, request.body));
      },
    );
    app.get(
      '/api/v1/models/:model/versions',
      { schema: { tags, summary: 'Versions, newest first by default', params: ModelParams, querystring: Type.Object({ orderBy: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])) }), response: { 200: Envelope(Type.Array(ModelVersion)), ...errors } } },
      async (request) => ok(await models.versions(request.params.model, request.query.orderBy ?? 'desc')),
    );
    app.get(
      '/api/v1/models/:model/versions/:version',
      { schema: { tags, summary: 'A version by number, or latest (null when the model has none)', params: VersionParams, response: { 200: Envelope(Type.Union([ModelVersion, Type.Null()])), ...errors } } },
      async (request) => ok(await models.version(request.params.model, request.params.version)),
    );
    app.delete(
      '/api/v1/models/:model/versions/:version',
      { schema: { tags, summary: 'Delete a version', params: VersionParams, response: { 200: Envelope(ModelVersion), ...errors } } },
      async (request) => ok(await models.deleteVersion(request.params.model, request.params.version)),
    );
  };
}
