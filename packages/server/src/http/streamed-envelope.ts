/**
 * Submarine's unpaged lists answered as a stream: the success envelope is written around items that arrive a
 * page at a time, so an answer about 100k experiments is never whole in the server's memory (it was 71 MB of
 * JSON and 381 MB of RSS). Submarine's clients get the same bytes they would from one `ok(...)`.
 */
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { TSchema } from 'typebox';
import { ok } from './envelope.js';

/** The success envelope of an empty list, cut where its items go: the same fields, in the same order, as `ok`. */
const [HEAD, TAIL] = (() => {
  const empty = JSON.stringify(ok([]));
  const at = empty.indexOf('[]') + 1;
  return [empty.slice(0, at), empty.slice(at)];
})();

/**
 * Sends `{"status":"OK",…,"result":[…],"attributes":{}}` with the items of `pages`, each serialized by the
 * schema's compiled serializer (as a whole answer would be). The first page is read before anything is sent,
 * so a failure to start is still an ordinary error answer; a failure later cuts the connection, which a client
 * sees as a truncated body rather than a complete-looking list.
 */
export async function sendStreamedList<T>(reply: FastifyReply, itemSchema: TSchema, pages: AsyncIterable<T[]>): Promise<FastifyReply> {
  const serialize = reply.compileSerializationSchema(itemSchema as unknown as Record<string, unknown>) as (item: T) => string;
  const iterator = pages[Symbol.asyncIterator]();
  const first = await iterator.next();
  async function* body(): AsyncGenerator<string> {
    yield HEAD;
    let separator = '';
    for (let page = first; !page.done; page = await iterator.next()) {
      if (page.value.length === 0) continue;
      yield separator + page.value.map(serialize).join(',');
      separator = ',';
    }
    yield TAIL;
  }
  return reply.type('application/json; charset=utf-8').send(Readable.from(body(), { objectMode: false }));
}

/** Sends the success envelope of a list whose items are already JSON text, comma-separated (see MetricStore.seriesJson). */
export function sendListText(reply: FastifyReply, items: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(`${HEAD}${items}${TAIL}`);
}

/** The success envelope cut where its result goes (as HEAD and TAIL are for a list). */
const [RESULT_HEAD, RESULT_TAIL] = (() => {
  const marked = JSON.stringify(ok('\u0000'));
  const at = marked.indexOf('"\\u0000"');
  return [marked.slice(0, at), marked.slice(at + '"\\u0000"'.length)];
})();

/** Sends the success envelope of a result that is already JSON text (see ExperimentService.getJson). */
export function sendResultText(reply: FastifyReply, result: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(`${RESULT_HEAD}${result}${RESULT_TAIL}`);
}
