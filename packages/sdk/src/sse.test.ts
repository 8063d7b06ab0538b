/** The Server-Sent Events parser: events whole, however the bytes are cut. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventParser, readServerSentEvents, type ServerSentEvent } from './sse.js';

const STREAM = [
  ': a comment, then two lines as the server sends them\n',
  'data: {"text":"héllo ✓"}\n\n',
  'data: {"text":"second"}\n\n',
  'event: end\ndata: {}\n\n',
].join('');
const EXPECTED: ServerSentEvent[] = [
  { event: 'message', data: '{"text":"héllo ✓"}', id: '' },
  { event: 'message', data: '{"text":"second"}', id: '' },
  { event: 'end', data: '{}', id: '' },
];

/** A body that delivers `bytes` in the given cuts. */
function body(bytes: Uint8Array, cuts: number[]): ReadableStream<Uint8Array> {
  const bounds = [0, ...cuts, bytes.length];
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i + 1 >= bounds.length) return controller.close();
      controller.enqueue(bytes.slice(bounds[i], bounds[i + 1]));
      i++;
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>, signal?: AbortSignal): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of readServerSentEvents(stream, signal)) events.push(event);
  return events;
}

describe('Server-Sent Events parser', () => {
  it('gives the same events whichever byte the chunks are cut at, multi-byte characters included', async () => {
    const bytes = new TextEncoder().encode(STREAM);
    for (let cut = 1; cut < bytes.length; cut++) assert.deepEqual(await collect(body(bytes, [cut])), EXPECTED, `cut at byte ${cut}`);
    assert.deepEqual(await collect(body(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1))), EXPECTED, 'one byte at a time');
  });

  it('accepts CRLF and lone CR line ends, even a CRLF split across chunks', () => {
    for (const eol of ['\r\n', '\r']) {
      const text = STREAM.replaceAll('\n', eol);
      const parser = new EventParser();
      const events = [...parser.push(text.slice(0, 40)), ...parser.push(text.slice(40))];
      assert.deepEqual(events, EXPECTED, JSON.stringify(eol));
    }
    const parser = new EventParser();
    assert.deepEqual([...parser.push('data: a\r'), ...parser.push('\n\r'), ...parser.push('\ndata: b\r\n\r\n')], [
      { event: 'message', data: 'a', id: '' },
      { event: 'message', data: 'b', id: '' },
    ]);
  });

  it('joins data lines, keeps the last id, ignores unknown fields and events without data, drops a cut-off event', async () => {
    const text = 'id: 7\nretry: 100\nfoo: bar\ndata: line 1\ndata:line 2\ndata\n\nevent: ping\n\ndata: unfinished';
    assert.deepEqual(await collect(body(new TextEncoder().encode(text), [5, 17])), [{ event: 'message', data: 'line 1\nline 2\n', id: '7' }]);
  });

  it('rejects with the reason when aborted while waiting for data, and cancels the body', async () => {
    let cancelled: unknown;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('data: first\n\n'));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const controller = new AbortController();
    const events = readServerSentEvents(stream, controller.signal);
    assert.deepEqual((await events.next()).value, { event: 'message', data: 'first', id: '' });
    const pending = events.next();
    controller.abort(new Error('stop'));
    await assert.rejects(pending, { message: 'stop' });
    assert.equal((cancelled as Error).message, 'stop');
  });
});
