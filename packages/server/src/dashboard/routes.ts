import { Envelope, ErrorEnvelope, EventsQuery, ExperimentSummary, ListSummariesQuery, NotFoundError } from '@periscope/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { EXPERIMENT_NOT_FOUND, type ExperimentService } from '../experiments/service.js';
import { ok } from '../http/envelope.js';
import { DEFAULT_HEARTBEAT_MS } from '../http/sse.js';
import type { Owners } from '../users/owners.js';
import type { FeedEvent, LiveFeed } from './live-feed.js';
import type { Summaries } from './summaries.js';

const tags = ['dashboard'];
/** The stream a request's preHandler opened, for its handler to send. */
const opened = new WeakMap<FastifyRequest, AsyncGenerator<FeedEvent>>();

/** What the web dashboard reads: experiment summaries by page, and the live feed. */
export function dashboardRoutes(summaries: Summaries, feed: LiveFeed, experiments: ExperimentService, owners: Owners): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/experiments',
      {
        schema: {
          tags,
          summary: 'Experiment summaries, newest first, by page (attributes.nextCursor → before); filtered by status, name and owner',
          querystring: ListSummariesQuery,
          response: { 200: Envelope(Type.Array(ExperimentSummary)), 400: ErrorEnvelope, 403: ErrorEnvelope },
        },
      },
      async (request) => {
        const page = await summaries.page(request.query, request.principal!);
        return ok(page.items, page.nextCursor ? { nextCursor: page.nextCursor } : {});
      },
    );

    app.get(
      '/api/v1/events',
      {
        sse: true,
        schema: {
          tags,
          summary: 'Live changes as Server-Sent Events',
          description:
            '`event: ready` once subscribed (read the state you show after it: nothing later is missed), then `event: experiment` (data: its summary) for every change of an experiment you may read, ' +
            '`event: deleted` (data: {experimentId}), and with experiment=<id> only that one plus `event: trial` (data: {experimentId, trialId, what}) when one of its trials moves, reports or its executors start or end. ' +
            `A comment every ${DEFAULT_HEARTBEAT_MS / 1000} s keeps idle streams open through proxies.`,
          querystring: EventsQuery,
          response: { 400: ErrorEnvelope, 404: ErrorEnvelope },
        },
        preHandler: async (request, reply) => {
          request.headers = { ...request.headers, accept: 'text/event-stream' };
          const { experiment } = request.query;
          const caller = request.principal!;
          if (experiment !== undefined) {
            await experiments.record(experiment);
            if (await owners.hides(caller, 'experiment', experiment)) throw new NotFoundError(EXPERIMENT_NOT_FOUND);
          }
          const aborted = new AbortController();
          request.raw.once('close', () => aborted.abort());
          reply.header('content-type', 'text/event-stream; charset=utf-8');
          opened.set(request, feed.stream(caller, experiment, aborted.signal));
        },
      },
      async (request, reply) => {
        const stream = opened.get(request)!;
        await reply.sse.send(
          (async function* () {
            for await (const event of stream) yield { event: event.type, data: event };
          })(),
        );
      },
    );
  };
}
