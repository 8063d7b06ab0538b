import {
  Envelope,
  ErrorEnvelope,
  Experiment,
  ExperimentIdParams,
  ExperimentLog,
  ExperimentSpec,
  ListExperimentsQuery,
  Trial,
} from '@periscope/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ok } from '../http/envelope.js';
import { sendResultText, sendStreamedList } from '../http/streamed-envelope.js';
import { ownedBy } from '../users/service.js';
import type { TrialService } from '../trials/service.js';
import type { ExperimentService } from './service.js';

const tags = ['experiment'];
const errors = { 400: ErrorEnvelope, 404: ErrorEnvelope };

/** Submarine's Experiment REST API, routes exactly as seed 002 documents them. */
export function experimentRoutes(service: ExperimentService, trials: TrialService): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Fixed path words; Fastify's router prefers them over `{id}` as JAX-RS does.
    app.get('/api/v1/experiment/ping', { schema: { tags, summary: 'Connectivity check', response: { 200: Envelope(Type.String()) } } }, async () =>
      ok('Pong'),
    );
    for (const tool of ['tensorboard', 'mlflow'] as const) {
      app.get(
        `/api/v1/experiment/${tool}`,
        { schema: { tags, summary: `Whether a shared ${tool} is available (not yet)`, response: { 200: Envelope(Type.Object({ available: Type.Boolean(), url: Type.String() })) } } },
        async () => ok({ available: false, url: `/${tool}/` }),
      );
    }

    app.post(
      '/api/v1/experiment',
      { schema: { tags, summary: 'Create an experiment', body: ExperimentSpec, response: { 200: Envelope(Experiment), ...errors } } },
      async (request) => ok(await service.create(request.body, request.principal!.username)),
    );

    app.get(
      '/api/v1/experiment',
      {
        schema: {
          tags,
          summary: 'List experiments (optionally by status; paged by key when `limit` is given)',
          querystring: ListExperimentsQuery,
          response: { 200: Envelope(Type.Array(Experiment)), 400: ErrorEnvelope },
        },
      },
      async (request, reply) => {
        const { status, limit, after } = request.query;
        // Submarine's clients expect every experiment in one answer: it is streamed, never built whole.
        if (limit === undefined) return sendStreamedList(reply, Experiment, service.listAll(status, ownedBy(request.principal!).owner, after));
        const page = await service.list({
          ...ownedBy(request.principal!),
          ...(status !== undefined && { status }),
          ...(limit !== undefined && { limit }),
          ...(after !== undefined && { after }),
        });
        return ok(page.experiments, page.nextCursor ? { nextCursor: page.nextCursor } : {});
      },
    );

    app.get(
      '/api/v1/experiment/logs',
      {
        schema: {
          tags,
          summary: 'Pod names of every (matching) experiment, with empty logs',
          querystring: Type.Object({ status: Type.Optional(Type.String()) }),
          response: { 200: Envelope(Type.Array(ExperimentLog)), 400: ErrorEnvelope },
        },
      },
      async (request, reply) => sendStreamedList(reply, ExperimentLog, service.listLogs(request.query.status, ownedBy(request.principal!).owner)),
    );

    app.get(
      '/api/v1/experiment/logs/:id',
      { schema: { tags, summary: "Every pod's log lines (the last 250,000 of each pod, no more than about 8 MiB of each stream)", params: ExperimentIdParams, response: { 200: Envelope(ExperimentLog), ...errors } } },
      async (request) => ok(await service.getLog(request.params.id)),
    );

    app.get(
      '/api/v1/experiment/:id',
      { schema: { tags, summary: 'Get an experiment', params: ExperimentIdParams, response: { 200: Envelope(Experiment), ...errors } } },
      async (request, reply) => sendResultText(reply, await service.getJson(request.params.id)),
    );

    app.patch(
      '/api/v1/experiment/:id',
      {
        schema: {
          tags,
          summary: 'Replace the spec of an experiment',
          params: ExperimentIdParams,
          body: ExperimentSpec,
          response: { 200: Envelope(Experiment), ...errors },
        },
      },
      async (request) => ok(await service.patch(request.params.id, request.body)),
    );

    app.post(
      '/api/v1/experiment/:id/cancel',
      { schema: { tags, summary: 'Stop every executor (SIGTERM, then SIGKILL after the grace period); answers when they are gone', params: ExperimentIdParams, response: { 200: Envelope(Experiment), 409: ErrorEnvelope, ...errors } } },
      async (request) => ok(await service.cancel(request.params.id)),
    );

    app.post(
      '/api/v1/experiment/:id/start',
      { schema: { tags, summary: 'Start a prepared experiment (created with autoStart: false); a retry never launches twice', params: ExperimentIdParams, response: { 200: Envelope(Experiment), 409: ErrorEnvelope, ...errors } } },
      async (request) => ok(await service.start(request.params.id)),
    );

    app.get(
      '/api/v1/experiment/:id/trials',
      { schema: { tags, summary: 'Trials of an experiment with their executors', params: ExperimentIdParams, response: { 200: Envelope(Type.Array(Trial)), ...errors } } },
      async (request) => ok(await trials.ofExperiment(await service.record(request.params.id))),
    );

    app.delete(
      '/api/v1/experiment/:id',
      { schema: { tags, summary: 'Delete an experiment', params: ExperimentIdParams, response: { 200: Envelope(Experiment), ...errors } } },
      async (request) => ok(await service.delete(request.params.id)),
    );
  };
}
