/** Reading a Server-Sent Events response in tests, over a real connection. */

export interface StreamEvent {
  id: string;
  event: string;
  data: string;
}

/** The events (and comments, as event 'comment') of an event stream as they arrive; a minimal parser. */
export async function* events(response: Response): AsyncGenerator<StreamEvent> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: StreamEvent = { id: '', event: 'message', data: '' };
        for (const field of block.split('\n')) {
          if (field.startsWith(':')) event.event = 'comment';
          else if (field.startsWith('id: ')) event.id = field.slice(4);
          else if (field.startsWith('event: ')) event.event = field.slice(7);
          else if (field.startsWith('data: ')) event.data = field.slice(6);
        }
        yield event;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
