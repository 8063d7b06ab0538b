import { Checkpoint, Envelope, ErrorEnvelope, ExperimentIdParams, MetricReport, ReportCheckpointRequest, ReportMetricsRequest, RowId, SearcherState, Steps, Uuid } from '@periscope/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { create as createTar } from 'tar';
import Type from 'typebox';
import { ok } from '../http/envelope.js';
import { sendListText } from '../http/streamed-envelope.js';
import type { TrainingService } from './service.js';

const TrialParams = Type.Object({ id: RowId() });
const UuidParams = Type.Object({ uuid: Uuid() });
const errors = { 400: ErrorEnvelope, 404: ErrorEnvelope, 409: ErrorEnvelope };

/** Metrics, checkpoints and the searcher's budget: what training code reports and what users read back. */
export function trainingRoutes(training: TrainingService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/api/v1/trials/:id/metrics',
      { schema: { tags: ['metrics'], summary: 'Report training or validation metrics in a batch', params: TrialParams, body: ReportMetricsRequest, response: { 200: Envelope(Type.Object({ accepted: Type.Integer() })), ...errors } }, bodyLimit: 16 * 1024 * 1024 },
      async (request) => ok(await training.reportMetrics(request.params.id, request.body)),
    );
    app.get(
      '/api/v1/trials/:id/metrics',
      {
        schema: {
          tags: ['metrics'],
          summary: "A trial's metric reports in step order, paged by step",
          params: TrialParams,
          querystring: Type.Object({
            group: Type.Optional(Type.Union([Type.Literal('training'), Type.Literal('validation')])),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000 })),
            afterSteps: Type.Optional(Steps({ minimum: -1 })),
            name: Type.Optional(Type.String({ maxLength: 256, description: 'Only this metric (reports without it are left out): one chart series.' })),
          }),
          response: { 200: Envelope(Type.Array(MetricReport)), ...errors },
        },
      },
      async (request, reply) => {
        const { group, limit = 10_000, afterSteps, name } = request.query;
        const items = name === undefined ? null : await training.seriesJson(request.params.id, group, limit, afterSteps, name);
        if (items !== null) return sendListText(reply, items);
        return ok(await training.reports(request.params.id, group, limit, afterSteps, name));
      },
    );
    app.post(
      '/api/v1/trials/:id/checkpoints',
      { schema: { tags: ['checkpoints'], summary: 'Report a checkpoint whose files are under $PERISCOPE_CHECKPOINT_DIR/<uuid>/', params: TrialParams, body: ReportCheckpointRequest, response: { 200: Envelope(Checkpoint), ...errors } } },
      async (request) => ok(await training.reportCheckpoint(request.params.id, request.body)),
    );
    app.get(
      '/api/v1/trials/:id/checkpoints',
      {
        schema: {
          tags: ['checkpoints'],
          summary: "A trial's checkpoints, by steps or by a validation metric",
          params: TrialParams,
          querystring: Type.Object({ sortBy: Type.Optional(Type.String({ maxLength: 256 })), orderBy: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])) }),
          response: { 200: Envelope(Type.Array(Checkpoint)), ...errors },
        },
      },
      async (request) => ok(await training.ofTrial(request.params.id, request.query.sortBy, request.query.orderBy)),
    );
    app.get(
      '/api/v1/trials/:id/searcher',
      { schema: { tags: ['metrics'], summary: 'How long to train and whether to stop now', params: TrialParams, response: { 200: Envelope(SearcherState), ...errors } } },
      async (request) => ok(await training.searcherState(request.params.id)),
    );
    app.get(
      '/api/v1/experiment/:id/checkpoints/top',
      {
        schema: {
          tags: ['checkpoints'],
          summary: 'The best checkpoints by a validation metric, one per trial, best first',
          params: ExperimentIdParams,
          querystring: Type.Object({
            sortBy: Type.Optional(Type.String({ maxLength: 256 })),
            smallerIsBetter: Type.Optional(Type.Boolean()),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          }),
          response: { 200: Envelope(Type.Array(Checkpoint)), ...errors },
        },
      },
      async (request) => ok(await training.top(request.params.id, request.query)),
    );
    app.get('/api/v1/checkpoints/:uuid', { schema: { tags: ['checkpoints'], summary: 'A checkpoint', params: UuidParams, response: { 200: Envelope(Checkpoint), ...errors } } }, async (request) =>
      ok(await training.checkpoint(request.params.uuid)),
    );
    app.patch(
      '/api/v1/checkpoints/:uuid/metadata',
      {
        schema: {
          tags: ['checkpoints'],
          summary: 'Merge keys into the metadata and remove others',
          params: UuidParams,
          body: Type.Object({ add: Type.Optional(Type.Record(Type.String(), Type.Unknown())), remove: Type.Optional(Type.Array(Type.String())) }),
          response: { 200: Envelope(Checkpoint), ...errors },
        },
      },
      async (request) => ok(await training.updateMetadata(request.params.uuid, request.body.add, request.body.remove)),
    );
    app.delete('/api/v1/checkpoints/:uuid', { schema: { tags: ['checkpoints'], summary: 'Delete a checkpoint\'s files (the record stays, DELETED)', params: UuidParams, response: { 200: Envelope(Checkpoint), ...errors } } }, async (request) =>
      ok(await training.deleteCheckpoint(request.params.uuid)),
    );
    app.get(
      '/api/v1/checkpoints/:uuid/download',
      { schema: { tags: ['checkpoints'], summary: "The checkpoint's files as a tar archive", params: UuidParams, response: { 200: Type.Unknown({ description: 'application/x-tar' }), ...errors } } },
      async (request, reply) => {
        const dir = await training.filesOf(request.params.uuid);
        reply.header('content-type', 'application/x-tar').header('content-disposition', `attachment; filename="${request.params.uuid}.tar"`);
        return reply.send(createTar({ cwd: dir, portable: true, follow: false }, ['.']));
      },
    );
  };
}
