import { Envelope, ErrorEnvelope, LogLine, RowId, Trial, ValidationError } from '@periscope/core';
import type { SSEMessage } from '@fastify/sse';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { ok } from '../http/envelope.js';
import { STREAMS } from '../logs/layout.js';
import { DEFAULT_HEARTBEAT_MS } from '../http/sse.js';
import { DEFAULT_PAGE_LINES, type FollowedLine } from '../logs/service.js';
import type { TrialLogQuery, TrialService } from './service.js';

const tags = ['trials'];
const MAX_HEAD_TAIL = 100_000;
const TrialParams = Type.Object({ id: RowId() });
const LogsQuery = Type.Object({
  // An answer is built whole (lines from several files merged in time order): head and tail are bounded like a
  // page, since tail=1000000 of a 1M-line log was a 166 MB answer and 1 GB of server RSS. More is read by paging.
  head: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_HEAD_TAIL, description: `First N lines (at most ${MAX_HEAD_TAIL.toLocaleString('en')}; page with limit and after for more).` })),
  tail: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_HEAD_TAIL, description: `Last N lines, read from the end of the files (at most ${MAX_HEAD_TAIL.toLocaleString('en')}).` })),
  follow: Type.Optional(Type.Boolean({ description: 'Stream as Server-Sent Events: the backlog, then lines as they are written, until the trial ends (see the description).' })),
  executor: Type.Optional(Type.String({ maxLength: 200, description: 'Only this executor (pod name); 404 when the trial has none by that name.' })),
  rank: Type.Optional(Type.Integer({ minimum: 0, description: 'Only the executor of this rank; 404 when no executor of the trial has it.' })),
  stream: Type.Optional(Type.Union(STREAMS.map((s) => Type.Literal(s)))),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: `Without head or tail: most lines in the page (default ${DEFAULT_PAGE_LINES}).` })),
  after: Type.Optional(Type.String({ maxLength: 100_000, description: 'Without head or tail: the page after the one that answered this as attributes.nextCursor; with follow, the lines after the event of this id.' })),
});
/** The stream a follow request's preHandler opened, for its handler to send. */
const opened = new WeakMap<FastifyRequest, AsyncGenerator<FollowedLine>>();

/** Trials and their logs: head, tail, filters, and follow over Server-Sent Events. */
export function trialRoutes(trials: TrialService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/v1/trials/:id', { schema: { tags, summary: 'A trial and its executors', params: TrialParams, response: { 200: Envelope(Trial), 404: ErrorEnvelope } } }, async (request) =>
      ok(await trials.get(request.params.id)),
    );

    app.get(
      '/api/v1/trials/:id/logs',
      {
        sse: true,
        schema: {
          tags,
          summary: "A trial's log lines",
          description:
            `Without head or tail, one page: up to limit (default ${DEFAULT_PAGE_LINES}) lines in time order, and while more remain attributes.nextCursor, to pass as after for the next page. ` +
            'With follow=true, a text/event-stream: one event per line (data: the line; id: the cursor just past it), the backlog first (all of it, or its head or tail), then lines as they are written, then `event: end` once the trial has ended and its logs are complete. ' +
            `A comment every ${DEFAULT_HEARTBEAT_MS / 1000} s keeps idle streams open through proxies. Reconnecting with Last-Event-ID (or after=) set to the last id received resumes after that line: nothing missed, nothing repeated.`,
          params: TrialParams, querystring: LogsQuery,
          headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 100_000, description: 'With follow: resume after this event id (an SSE client sends it when it reconnects).' })) }),
          response: { 200: Envelope(Type.Array(LogLine)), 400: ErrorEnvelope, 404: ErrorEnvelope },
        },
        // Everything that can be refused is refused here, as a JSON error: once the handler runs on a follow
        // request the answer is already an event stream.
        preHandler: async (request, reply) => {
          const { follow } = request.query;
          // The SSE plugin picks the stream by Accept; here `follow` picks it, whatever the client accepts. (Once
          // a headers schema has validated them, request.headers is a merged copy: they are set, not mutated.)
          request.headers = { ...request.headers, accept: follow ? 'text/event-stream' : 'application/json' };
          if (!follow) return; // a plain read is validated by the handler, which answers JSON
          const query = logQuery(request.query);
          const resume = request.headers['last-event-id'];
          if (resume !== undefined && resume !== '') {
            if (query.head !== undefined || query.tail !== undefined) throw new ValidationError('Last-Event-ID resumes a stream where it stopped; it cannot be combined with head or tail', 'last-event-id');
            query.after = resume;
          }
          const aborted = new AbortController();
          request.raw.once('close', () => aborted.abort());
          reply.header('content-type', 'text/event-stream; charset=utf-8');
          try {
            opened.set(request, await trials.follow(request.params.id, query, aborted.signal));
          } catch (error) {
            if (!(error instanceof ValidationError) || error.field !== 'after' || resume === undefined || query.after !== resume) throw error;
            throw new ValidationError(`Last-Event-ID: "${resume.length > 80 ? `${resume.slice(0, 80)}…` : resume}" is not an event id of this stream (send the id of the last event received)`, 'last-event-id');
          }
        },
      },
      async (request, reply) => {
        const stream = opened.get(request);
        if (!stream) {
          const page = await trials.lines(request.params.id, logQuery(request.query));
          return ok(page.lines, page.next !== null ? { nextCursor: page.next } : {});
        }
        try {
          await reply.sse.send(events(stream));
          if (reply.sse.isConnected) await reply.sse.send({ event: 'end', data: {} });
        } catch (error) {
          if (reply.sse.isConnected) await reply.sse.send({ event: 'error', data: { message: (error as Error).message } });
        }
      },
    );
  };
}

async function* events(stream: AsyncGenerator<FollowedLine>): AsyncGenerator<SSEMessage> {
  for await (const { line, cursor } of stream) yield { id: cursor, data: line };
}

function logQuery(params: Static<typeof LogsQuery>): TrialLogQuery {
  const { head, tail, executor, rank, stream, limit, after } = params;
  if (head !== undefined && tail !== undefined) throw new ValidationError('head and tail cannot be combined', 'tail');
  if ((head !== undefined || tail !== undefined) && (limit !== undefined || after !== undefined)) throw new ValidationError('limit and after page a plain read; they cannot be combined with head or tail', limit !== undefined ? 'limit' : 'after');
  return {
    ...(head !== undefined && { head }),
    ...(tail !== undefined && { tail }),
    ...(executor !== undefined && { executor }),
    ...(rank !== undefined && { rank }),
    ...(stream !== undefined && { stream }),
    ...(limit !== undefined && { limit }),
    ...(after !== undefined && { after }),
  };
}
