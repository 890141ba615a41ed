/** `watch({ reconnect })` against a scripted HTTP server: resumes from the last id, stops on 410. */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GoneError, InputError, type KindDefinition } from '@tugboat/resource-model';
import { createApiClient as createClient, type ApiClientOptions } from './api-client.js';
import { createNodeHttpFetch } from './node-http-fetch.js';
import { parseServerSentEvents } from './server-sent-events.js';

const widgetKind: KindDefinition = {
  kind: 'Widget',
  plural: 'widgets',
  singular: 'widget',
  shortNames: ['wd'],
  scope: 'Project',
  controller: 'widget-controller',
  schema: { type: 'object' },
  references: [],
  secretFields: [],
};

function change(name: string, resourceVersion: string): string {
  return JSON.stringify({ type: 'MODIFIED', cause: 'spec', key: { kind: 'Widget', project: 'p', name, uid: `u-${name}` }, resourceVersion });
}

type Answer = (res: ServerResponse) => void;

async function scriptedApi(answers: Answer[]): Promise<{ url: string; cursors: Array<string | null>; close(): Promise<void> }> {
  const cursors: Array<string | null> = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/v1/kinds') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: [widgetKind] }));
      return;
    }
    cursors.push(url.searchParams.get('cursor'));
    const answer = answers.shift();
    if (!answer) res.writeHead(500).end();
    else answer(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cursors,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const stream = (text: string, end = true): Answer => (res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(text);
  if (end) res.end();
};
const status = (code: number, body: unknown): Answer => (res) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));

// Every case runs over the global fetch and over the node:http transport controllers use.
const transports: Array<[string, Partial<ApiClientOptions>]> = [
  ['fetch', {}],
  ['node:http', { fetch: createNodeHttpFetch() }],
];

describe.each(transports)('watch with reconnect (%s)', (_transport, transport) => {
  const createApiClient = (options: ApiClientOptions) => createClient({ ...options, ...transport });

  it('resumes from the last id (heartbeat ids included) after an end, a cut-off, a broken stream and a 503, and stops with GoneError on 410', async () => {
    const api = await scriptedApi([
      stream(`: watching\n\nid: 5\nevent: change\ndata: ${change('a', '10')}\n\n: heartbeat\nid: 7\n\n`),
      stream(`id: 8\nevent: change\ndata: ${change('b', '11')}\n\nevent: error\ndata: {"code":"TooSlow","message":"slow"}\n\n`),
      (res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`id: 9\nevent: change\ndata: ${change('c', '12')}\n\n`);
        setTimeout(() => res.socket?.destroy(), 20);
      },
      status(503, { error: { code: 'Unavailable', message: 'starting', details: [] } }),
      stream(`id: 10\nevent: change\ndata: ${change('d', '13')}\n\n`),
      status(410, { error: { code: 'Gone', message: 'too old', details: [{ path: 'cursor', rule: 'gone' }] } }),
    ]);
    try {
      const client = createApiClient({ baseUrl: api.url, token: 't' });
      const seen: Array<[string | undefined, string]> = [];
      const watching = async () => {
        for await (const event of await client.watch({ kinds: ['wd'], cursor: '3', reconnect: { initialDelayMs: 5, maxDelayMs: 20 } })) seen.push([event.cursor, event.key.name]);
      };
      await expect(watching()).rejects.toBeInstanceOf(GoneError);
      expect(seen).toEqual([
        ['5', 'a'],
        ['8', 'b'],
        ['9', 'c'],
        ['10', 'd'],
      ]);
      expect(api.cursors).toEqual(['3', '7', '8', '9', '9', '10']);
    } finally {
      await api.close();
    }
  });

  it('does not retry what a reconnect cannot cure, and stops when aborted while waiting', async () => {
    const api = await scriptedApi([
      stream(`id: 1\nevent: change\ndata: ${change('a', '1')}\n\n`),
      status(400, { error: { code: 'InvalidInput', message: 'cursor: bad', details: [{ path: 'cursor', rule: 'pattern' }] } }),
      stream(`id: 2\nevent: change\ndata: ${change('b', '2')}\n\n`),
    ]);
    try {
      const client = createApiClient({ baseUrl: api.url, token: 't' });
      const first = async () => {
        for await (const event of await client.watch({ kinds: [], reconnect: { initialDelayMs: 1 } })) void event;
      };
      await expect(first()).rejects.toBeInstanceOf(InputError);

      const abort = new AbortController();
      const names: string[] = [];
      const second = async () => {
        for await (const event of await client.watch({ kinds: [], reconnect: { initialDelayMs: 60_000 }, signal: abort.signal })) {
          names.push(event.key.name);
          setTimeout(() => abort.abort(new Error('stop')), 10);
        }
      };
      await expect(second()).rejects.toThrow('stop');
      expect(names).toEqual(['b']);
    } finally {
      await api.close();
    }
  });

  it('reports ids without data to onId', async () => {
    const chunks = [new TextEncoder().encode(': heartbeat\nid: 4\n\nid: 5\ndata: x\n\n')];
    const ids: string[] = [];
    const messages = [];
    const body = (async function* () {
      yield* chunks;
    })();
    for await (const message of parseServerSentEvents(body, { onId: (id) => ids.push(id) })) messages.push(message);
    expect(ids).toEqual(['4', '5']);
    expect(messages).toEqual([{ id: '5', event: 'message', data: 'x' }]);
  });
});
