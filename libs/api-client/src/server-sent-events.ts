/** One message of a `text/event-stream` (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export interface ServerSentEvent {
  /** `id:` of this message, or the last one seen before it (the resume cursor). */
  id: string | undefined;
  /** `event:`; `message` when the server named none. */
  event: string;
  data: string;
}

/**
 * Parses an event stream as it arrives. Comment lines (`: heartbeat`) and messages without data
 * are skipped; `\r\n`, `\r` and `\n` all end lines, as the format allows.
 */
export async function* parseServerSentEvents(
  body: AsyncIterable<Uint8Array>,
  options: { /** Called for every message's `id:`, also one without data (which yields nothing). */ onId?(id: string): void } = {},
): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let lastId: string | undefined;
  let event = '';
  let data: string[] = [];
  let hasData = false;
  let idSet = false;

  function* takeLines(final: boolean): Generator<string> {
    for (;;) {
      const match = /\r\n|\r|\n/.exec(buffer);
      // A lone `\r` at the end may be the first half of `\r\n`: wait for more unless the stream ended.
      if (match === null || (match[0] === '\r' && match.index === buffer.length - 1 && !final)) return;
      yield buffer.slice(0, match.index);
      buffer = buffer.slice(match.index + match[0].length);
    }
  }

  function* consume(final: boolean): Generator<ServerSentEvent> {
    for (const line of takeLines(final)) {
      if (line === '') {
        if (idSet && lastId !== undefined) options.onId?.(lastId);
        idSet = false;
        if (hasData) yield { id: lastId, event: event || 'message', data: data.join('\n') };
        event = '';
        data = [];
        hasData = false;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') {
        data.push(value);
        hasData = true;
      } else if (field === 'event') {
        event = value;
      } else if (field === 'id' && !value.includes('\0')) {
        lastId = value;
        idSet = true;
      }
    }
  }

  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    yield* consume(false);
  }
  buffer += decoder.decode();
  yield* consume(true);
}
