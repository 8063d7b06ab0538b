/** The events of a Server-Sent Events response as they arrive (comments skipped); a minimal parser for the bench. */
export interface StreamEvent {
  id: string;
  event: string;
  data: string;
}

export async function* streamEvents(response: Response): AsyncGenerator<StreamEvent> {
  if (!response.ok || !response.body) throw new Error(`the event stream answered ${response.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.startsWith(':')) continue;
      const event: StreamEvent = { id: '', event: 'message', data: '' };
      for (const field of block.split('\n')) {
        if (field.startsWith('id: ')) event.id = field.slice(4);
        else if (field.startsWith('event: ')) event.event = field.slice(7);
        else if (field.startsWith('data: ')) event.data = field.slice(6);
      }
      yield event;
    }
  }
}
