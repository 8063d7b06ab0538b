import { Envelope, ErrorEnvelope, ExperimentIdParams } from '@periscope/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { ExperimentService } from '../experiments/service.js';
import { ok } from '../http/envelope.js';
import { MAX_WAIT_SECONDS, type FlagService } from './service.js';

const tags = ['flags'];
const SafeInt = Type.Integer({ minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER });
const Flag = Type.Object({ name: Type.String(), textValue: Type.Union([Type.String(), Type.Null()]), intValue: Type.Union([SafeInt, Type.Null()]), version: Type.Integer() });
const FlagParams = Type.Intersect([ExperimentIdParams, Type.Object({ name: Type.String({ maxLength: 128 }) })]);
const errors = { 400: ErrorEnvelope, 404: ErrorEnvelope };

/** Experiment-wide flags: get (optionally long-polling for a change), set, increment. */
export function flagRoutes(flags: FlagService, experiments: ExperimentService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/experiment/:id/flags',
      { schema: { tags, summary: 'Every flag of an experiment', params: ExperimentIdParams, response: { 200: Envelope(Type.Array(Flag)), ...errors } } },
      async (request) => {
        await experiments.record(request.params.id);
        return ok(await flags.list(request.params.id));
      },
    );

    app.get(
      '/api/v1/experiment/:id/flags/:name',
      {
        schema: {
          tags,
          summary: 'A flag (never set: nulls and version 0); with waitFor, waits until its version passes that one',
          params: FlagParams,
          querystring: Type.Object({
            waitFor: Type.Optional(Type.Integer({ minimum: 0, description: 'Answer once the version is greater than this.' })),
            timeout: Type.Optional(Type.Number({ minimum: 0, maximum: MAX_WAIT_SECONDS, description: `Seconds to wait at most (default 30, at most ${MAX_WAIT_SECONDS}).` })),
          }),
          response: { 200: Envelope(Flag), ...errors },
        },
      },
      async (request) => {
        await experiments.record(request.params.id);
        const aborted = new AbortController();
        request.raw.on('close', () => aborted.abort());
        return ok(await flags.get(request.params.id, request.params.name, request.query.waitFor, request.query.timeout, aborted.signal));
      },
    );

    app.put(
      '/api/v1/experiment/:id/flags/:name',
      {
        schema: {
          tags,
          summary: 'Set a flag: replaces both values atomically',
          params: FlagParams,
          body: Type.Object({ textValue: Type.Optional(Type.Union([Type.String(), Type.Null()])), intValue: Type.Optional(Type.Union([SafeInt, Type.Null()])) }),
          response: { 200: Envelope(Flag), ...errors },
        },
      },
      async (request) => {
        await experiments.record(request.params.id);
        return ok(await flags.set(request.params.id, request.params.name, request.body));
      },
    );

    app.post(
      '/api/v1/experiment/:id/flags/:name/increment',
      {
        schema: {
          tags,
          summary: 'Add to (or, with a negative `by`, subtract from) the integer value atomically; answers the new flag',
          params: FlagParams,
          body: Type.Object({ by: Type.Optional(Type.Integer({ minimum: -1e12, maximum: 1e12, default: 1 })) }),
          response: { 200: Envelope(Flag), ...errors },
        },
      },
      async (request) => {
        await experiments.record(request.params.id);
        return ok(await flags.increment(request.params.id, request.params.name, request.body?.by ?? 1));
      },
    );
  };
}
