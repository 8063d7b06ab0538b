import { Envelope, ErrorEnvelope, LogLine, RowId, Trial, ValidationError } from '@periscope/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ok } from '../http/envelope.js';
import { STREAMS } from '../logs/layout.js';
import { DEFAULT_PAGE_LINES } from '../logs/service.js';
import type { TrialLogQuery, TrialService } from './service.js';

const tags = ['trials'];
const TrialParams = Type.Object({ id: RowId() });
const LogsQuery = Type.Object({
  head: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000, description: 'First N lines.' })),
  tail: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000, description: 'Last N lines (read from the end of the files).' })),
  follow: Type.Optional(Type.Boolean({ description: 'Stream as Server-Sent Events: the backlog, then lines as they are written, until the trial ends.' })),
  executor: Type.Optional(Type.String({ maxLength: 200, description: 'Only this executor (pod name); 404 when the trial has none by that name.' })),
  rank: Type.Optional(Type.Integer({ minimum: 0, description: 'Only the executor of this rank; 404 when no executor of the trial has it.' })),
  stream: Type.Optional(Type.Union(STREAMS.map((s) => Type.Literal(s)))),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: `Without head or tail: most lines in the page (default ${DEFAULT_PAGE_LINES}).` })),
  after: Type.Optional(Type.String({ maxLength: 100_000, description: 'Without head or tail: the page after the one that answered this as attributes.nextCursor.' })),
});
/** Trials and their logs: head, tail, filters, and follow over Server-Sent Events. */
export function trialRoutes(trials: TrialService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/v1/trials/:id', { schema: { tags, summary: 'A trial and its executors', params: TrialParams, response: { 200: Envelope(Trial), 404: ErrorEnvelope } } }, async (request) =>
      ok(await trials.get(request.params.id)),
    );

    app.get(
      '/api/v1/trials/:id/logs',
      {
        schema: {
          tags,
          summary: "A trial's log lines",
          description: `Without head or tail, one page: up to limit (default ${DEFAULT_PAGE_LINES}) lines in time order, and while more remain attributes.nextCursor, to pass as after for the next page.`,
          params: TrialParams, querystring: LogsQuery,
          response: { 200: Envelope(Type.Array(LogLine)), 400: ErrorEnvelope, 404: ErrorEnvelope },
        },
      },
      async (request, reply) => {
        const { follow, head, tail, executor, rank, stream, limit, after } = request.query;
        if (head !== undefined && tail !== undefined) throw new ValidationError('head and tail cannot be combined', 'tail');
        if ((head !== undefined || tail !== undefined) && (limit !== undefined || after !== undefined)) throw new ValidationError('limit and after page a plain read; they cannot be combined with head or tail', limit !== undefined ? 'limit' : 'after');
        const query: TrialLogQuery = {
          ...(head !== undefined && { head }),
          ...(tail !== undefined && { tail }),
          ...(executor !== undefined && { executor }),
          ...(rank !== undefined && { rank }),
          ...(stream !== undefined && { stream }),
          ...(limit !== undefined && { limit }),
          ...(after !== undefined && { after }),
        };
        if (!follow) {
          const page = await trials.lines(request.params.id, query);
          return ok(page.lines, page.next !== null ? { nextCursor: page.next } : {});
        }

        await trials.get(request.params.id); // a 404 before the stream starts
        reply.hijack();
        const raw = reply.raw;
        raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
        const aborted = new AbortController();
        request.raw.on('close', () => aborted.abort());
        try {
          await trials.follow(request.params.id, query, (lines) => {
            if (lines.length > 0) raw.write(lines.map((l) => `data: ${JSON.stringify(l)}\n\n`).join(''));
          }, aborted.signal);
          if (!aborted.signal.aborted) raw.write('event: end\ndata: {}\n\n');
        } catch (error) {
          raw.write(`event: error\ndata: ${JSON.stringify({ message: (error as Error).message })}\n\n`);
        } finally {
          raw.end();
        }
      },
    );
  };
}
