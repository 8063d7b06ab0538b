/**
 * A small incremental Server-Sent Events parser over a fetch body (WHATWG "event stream interpretation"):
 * events are dispatched at a blank line; `data:` lines are joined with "\n"; lines may end in LF, CR or CRLF,
 * split anywhere across chunks (multi-byte characters too); comments (`:`) and unknown fields are skipped; an
 * event cut off by the end of the stream is dropped, as the spec says. No dependency, no Node-only API.
 */

export interface ServerSentEvent {
  /** The `event:` field; `message` when absent. */
  event: string;
  data: string;
  /** The last `id:` seen on this stream, or '' when none was. */
  id: string;
}

/**
 * Yields each event of `body` as it completes. Stops at the end of the stream; rejects on a network error
 * mid-stream. Returning early (a `break`) or aborting `signal` cancels the body, which closes the connection;
 * an abort rejects with the signal's reason.
 */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<ServerSentEvent, void> {
  const reader = body.getReader();
  const onAbort = () => void reader.cancel(signal!.reason).catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  const parser = new EventParser();
  const decoder = new TextDecoder();
  try {
    signal?.throwIfAborted();
    for (;;) {
      const { done, value } = await reader.read();
      if (signal?.aborted) throw signal.reason;
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Closes the connection when the consumer stopped before the end; a no-op after it.
    await reader.cancel().catch(() => {});
  }
}

/** The line and field state machine, fed text of any size; exported for its own tests. */
export class EventParser {
  private buffer = '';
  /** The last chunk ended with CR: a LF at the start of the next one belongs to it. */
  private pendingCr = false;
  private data: string[] = [];
  private event = '';
  private lastId = '';

  /** Every event completed by `text`. */
  push(text: string): ServerSentEvent[] {
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    const events: ServerSentEvent[] = [];
    let start = 0;
    for (;;) {
      const lf = this.buffer.indexOf('\n', start);
      const cr = this.buffer.indexOf('\r', start);
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (end === -1) break;
      const line = this.buffer.slice(start, end);
      if (this.buffer[end] === '\r') {
        if (end + 1 === this.buffer.length) this.pendingCr = true;
        start = this.buffer[end + 1] === '\n' ? end + 2 : end + 1;
      } else {
        start = end + 1;
      }
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    return undefined;
  }

  private dispatch(): ServerSentEvent | undefined {
    const event = this.event || 'message';
    const data = this.data;
    this.event = '';
    this.data = [];
    // An event with no data line is not dispatched (the spec's rule), whatever its type.
    if (data.length === 0) return undefined;
    return { event, data: data.join('\n'), id: this.lastId };
  }
}
