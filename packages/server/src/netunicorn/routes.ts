import { Envelope, ErrorEnvelope, ExecutionInfo, ExperimentSpec } from '@periscope/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ok } from '../http/envelope.js';
import type { ExecutionService } from './service.js';

const tags = ['executions'];
const NameParams = Type.Object({ name: Type.String({ maxLength: 128 }) });
const errors = { 400: ErrorEnvelope, 404: ErrorEnvelope, 409: ErrorEnvelope };

/** netunicorn's client surface: PUT prepares, /start starts, GET tells, DELETE frees the name. */
export function executionRoutes(executions: ExecutionService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.put(
      '/api/v1/executions/:name',
      { schema: { tags, summary: 'Prepare an experiment under a name (idempotent: a retry with the same spec answers the same experiment)', params: NameParams, body: ExperimentSpec, response: { 200: Envelope(ExecutionInfo), ...errors } } },
      async (request) => ok(await executions.prepare(request.principal!, request.params.name, request.body)),
    );
    app.post(
      '/api/v1/executions/:name/start',
      { schema: { tags, summary: 'Start a prepared execution (idempotent: a retry never launches twice)', params: NameParams, response: { 200: Envelope(ExecutionInfo), ...errors } } },
      async (request) => ok(await executions.start(request.principal!, request.params.name)),
    );
    app.post(
      '/api/v1/executions/:name/cancel',
      { schema: { tags, summary: 'Cancel the whole execution; answers once no process is left', params: NameParams, response: { 200: Envelope(ExecutionInfo), ...errors } } },
      async (request) => ok(await executions.cancel(request.principal!, request.params.name)),
    );
    app.get(
      '/api/v1/executions/:name',
      { schema: { tags, summary: 'Status (UNKNOWN, PREPARING, READY, RUNNING, FINISHED), the experiment and per-executor results', params: NameParams, response: { 200: Envelope(ExecutionInfo), ...errors } } },
      async (request) => ok(await executions.status(request.principal!, request.params.name)),
    );
    app.get(
      '/api/v1/executions',
      { schema: { tags, summary: 'Every execution, name → status info', response: { 200: Envelope(Type.Record(Type.String(), ExecutionInfo)) } } },
      async (request) => ok(await executions.list(request.principal!)),
    );
    app.delete(
      '/api/v1/executions/:name',
      { schema: { tags, summary: 'Delete an execution that is not preparing or running; frees its name', params: NameParams, response: { 200: Envelope(ExecutionInfo), ...errors } } },
      async (request) => ok(await executions.delete(request.principal!, request.params.name)),
    );
    app.post(
      '/api/v1/executors/cancel',
      {
        schema: {
          tags,
          summary: 'Stop the given executors; the rest of their experiments run on. Ended ones are reported, not refused.',
          body: Type.Object({ executors: Type.Array(Type.String({ maxLength: 200 }), { minItems: 1, maxItems: 1000 }) }),
          response: { 200: Envelope(Type.Object({ canceled: Type.Array(Type.String()), alreadyEnded: Type.Array(Type.String()) })), ...errors },
        },
      },
      async (request) => ok(await executions.cancelExecutors(request.principal!, request.body.executors)),
    );
  };
}
