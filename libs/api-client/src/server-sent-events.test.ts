import { parseServerSentEvents } from './server-sent-events.js';

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  for (const part of parts) yield encoder.encode(part);
}

async function collect(...parts: string[]) {
  const out = [];
  for await (const message of parseServerSentEvents(chunks(...parts))) out.push(message);
  return out;
}

describe('parseServerSentEvents', () => {
  it('joins data lines, keeps the last id, skips comments, and survives any chunking', async () => {
    const text = ': hello\n\nid: 7\nevent: change\ndata: {"a":\ndata: 1}\n\n: heartbeat\n\ndata: plain\r\n\r\nid: 9\nevent: change\ndata:x\n\n';
    const expected = [
      { id: '7', event: 'change', data: '{"a":\n1}' },
      { id: '7', event: 'message', data: 'plain' },
      { id: '9', event: 'change', data: 'x' },
    ];
    expect(await collect(text)).toEqual(expected);
    // One byte at a time, so every line and the \r\n pair are split across chunks.
    expect(await collect(...[...text])).toEqual(expected);
  });

  it('drops a message the stream ended in the middle of', async () => {
    expect(await collect('data: whole\n\ndata: half')).toEqual([{ id: undefined, event: 'message', data: 'whole' }]);
  });
});
