import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConflictError,
  GoneError,
  InputError,
  InternalError,
  NotFoundError,
  UnauthenticatedError,
  UnavailableError,
  type KindDefinition,
} from '@tugboat/resource-model';
import { createApiClient as createClient, type ApiClientOptions } from './api-client.js';
import { createNodeHttpFetch } from './node-http-fetch.js';

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  body: unknown;
}

type Route = (req: Seen) => { status: number; body?: unknown; raw?: string; headers?: Record<string, string> } | undefined;

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

function object(name: string, resourceVersion = '1') {
  return {
    apiVersion: 'tugboat.dev/v1',
    kind: 'Widget',
    metadata: {
      name,
      project: 'team-a',
      uid: `uid-${name}`,
      labels: {},
      generation: 1,
      resourceVersion,
      finalizers: ['widget-controller'],
      deletionRequestedAt: null,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    },
    spec: { size: 1 },
    status: {},
  };
}

/** A tiny HTTP server standing in for the API: records every request, answers from `routes`. */
async function startFakeApi(routes: Route[]) {
  const seen: Seen[] = [];
  const kinds: KindDefinition[] = [widgetKind];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const text = Buffer.concat(chunks).toString('utf8');
      const request: Seen = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: text === '' ? undefined : JSON.parse(text),
      };
      seen.push(request);
      let answer: ReturnType<Route> = request.path === '/v1/kinds' && request.method === 'GET' ? { status: 200, body: { items: kinds } } : undefined;
      for (const route of routes) answer ??= route(request);
      const final = answer ?? { status: 404, body: { error: { code: 'NotFound', message: `no route ${request.method} ${request.path}`, details: [] } } };
      res.writeHead(final.status, { 'content-type': 'application/json', ...final.headers });
      res.end(final.raw ?? (final.body === undefined ? '' : JSON.stringify(final.body)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    seen,
    kinds,
    baseUrl: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    requestsTo: (path: string) => seen.filter((r) => r.path === path),
  };
}

// Every case runs over the global fetch and over the node:http transport controllers use.
const transports: Array<[string, Partial<ApiClientOptions>]> = [
  ['fetch', {}],
  ['node:http', { fetch: createNodeHttpFetch() }],
];

describe.each(transports)('createApiClient (%s)', (_transport, transport) => {
  const createApiClient = (options: ApiClientOptions) => createClient({ ...options, ...transport });

  let api: Awaited<ReturnType<typeof startFakeApi>>;
  afterEach(async () => api?.close());

  it('resolves a kind to its plural once, sends the token and user agent, and accepts aliases', async () => {
    api = await startFakeApi([
      (r) => (r.method === 'POST' && r.path === '/v1/widgets' ? { status: 201, body: object('a') } : undefined),
      (r) => (r.method === 'GET' && r.path === '/v1/widgets/a' ? { status: 200, body: object('a') } : undefined),
    ]);
    const client = createApiClient({ baseUrl: api.baseUrl, token: 's3cret', userAgent: 'test-agent/1' });

    const created = await client.create({ kind: 'Widget', metadata: { name: 'a', project: 'team-a' }, spec: { size: 1 } });
    expect(created.metadata.uid).toBe('uid-a');
    await client.get({ kind: 'widgets', project: 'team-a', name: 'a' });
    await client.get({ kind: 'wd', project: 'team-a', name: 'a' });

    const post = api.requestsTo('/v1/widgets')[0]!;
    expect(post.body).toEqual({ kind: 'Widget', metadata: { name: 'a', project: 'team-a' }, spec: { size: 1 } });
    expect(post.headers.authorization).toBe('Bearer s3cret');
    expect(post.headers['user-agent']).toBe('test-agent/1');
    expect(post.headers['content-type']).toBe('application/json');
    expect(api.requestsTo('/v1/widgets/a').map((r) => r.query)).toEqual([{ project: 'team-a' }, { project: 'team-a' }]);
    expect(api.requestsTo('/v1/kinds')).toHaveLength(1);
  });

  it('resolves a kind to its plural once: later calls make no /v1/kinds round trip, even past the cache TTL', async () => {
    api = await startFakeApi([(r) => (r.method === 'GET' && r.path === '/v1/widgets/a' ? { status: 200, body: object('a') } : undefined)]);
    // A TTL of 0: the kinds cache itself would reload on every lookup.
    const client = createApiClient({ baseUrl: api.baseUrl, token: 't', kindsCacheTtlMs: 0 });
    for (let i = 0; i < 5; i += 1) await client.get({ kind: 'Widget', project: 'team-a', name: 'a' });
    expect(api.requestsTo('/v1/widgets/a')).toHaveLength(5);
    expect(api.requestsTo('/v1/kinds')).toHaveLength(1);
  });

  it('answers undefined for a missing object from get, and NotFoundError from getOrThrow', async () => {
    api = await startFakeApi([]);
    const client = createApiClient({ baseUrl: api.baseUrl, token: 't' });
    await expect(client.get({ kind: 'Widget', project: 'team-a', name: 'nope' })).resolves.toBeUndefined();
    await expect(client.getOrThrow({ kind: 'Widget', project: 'team-a', name: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('rejects an unknown kind after one reload, and finds a kind registered through it', async () => {
    api = await startFakeApi([
      (r) => {
        if (r.method !== 'POST' || r.path !== '/v1/kinds') return undefined;
        api.kinds.push(r.body as KindDefinition);
        return { status: 201, body: r.body };
      },
      (r) => (r.method === 'GET' && r.path === '/v1/gadgets/g' ? { status: 200, body: { ...object('g'), kind: 'Gadget' } } : undefined),
    ]);
    const client = createApiClient({ baseUrl: api.baseUrl, token: 't' });
    const error = await client.get({ kind: 'Gadget', project: 'team-a', name: 'g' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).message).toContain('Gadget');

    await client.registerKind({ ...widgetKind, kind: 'Gadget', plural: 'gadgets', singular: 'gadget', shortNames: [] });
    const found = await client.get({ kind: 'Gadget', project: 'team-a', name: 'g' });
    expect(found?.kind).toBe('Gadget');
    expect(await client.getKind('gadgets')).toMatchObject({ kind: 'Gadget' });
  });

  it('applies and deletes kinds, saying whether the apply changed anything, and forgets its kinds after each', async () => {
    const gadget = { ...widgetKind, kind: 'Gadget', plural: 'gadgets', singular: 'gadget', shortNames: [] };
    api = await startFakeApi([
      (r) => (r.method === 'PUT' && r.path === '/v1/kinds/Gadget' ? { status: 200, body: r.body, headers: { 'tugboat-kind-action': 'unchanged' } } : undefined),
      (r) => (r.method === 'PUT' && r.path === '/v1/kinds/Widget' ? { status: 200, body: r.body } : undefined),
      (r) => (r.method === 'PUT' && r.path === '/v1/kinds/Thing' ? { status: 201, body: r.body } : undefined),
      (r) =>
        r.method === 'DELETE' && r.path === '/v1/kinds/gadgets'
          ? { status: 409, body: { error: { code: 'Conflict', message: 'kind Gadget: cannot be deleted while 1 object of it exist: Gadget/team-a/g', details: [{ path: 'kind', rule: 'has-objects' }] } } }
          : undefined,
      (r) => (r.method === 'DELETE' && r.path === '/v1/kinds/Widget' ? { status: 200, body: widgetKind } : undefined),
    ]);
    const client = createApiClient({ baseUrl: api.baseUrl, token: 't' });
    expect(await client.applyKind(gadget)).toEqual({ action: 'unchanged', definition: gadget });
    expect((await client.applyKind(widgetKind)).action).toBe('updated');
    expect((await client.applyKind({ ...gadget, kind: 'Thing' })).action).toBe('created');
    await expect(client.deleteKind('gadgets')).rejects.toMatchObject({ status: 409, details: [{ path: 'kind', rule: 'has-objects' }] });
    expect(await client.deleteKind('Widget')).toEqual(widgetKind);
    await client.getKind('widgets');
    expect(api.seen.filter((r) => r.method === 'GET' && r.path === '/v1/kinds')).toHaveLength(1);
    expect(api.seen.filter((r) => r.method === 'PUT').map((r) => r.headers['authorization'])).toEqual(['Bearer t', 'Bearer t', 'Bearer t']);
  });

  it('checks a label selector before sending it', async () => {
    api = await startFakeApi([]);
    const client = createApiClient({ baseUrl: api.baseUrl, token: 't' });
    await expect(client.list('widgets', { labelSelector: 'tier=prod,bad key' })).rejects.toMatchObject({ status: 400, details: [{ path: 'labelSelector', rule: 'label-key' }] });
    expect(api.seen.filter((r) => r.path === '/v1/widgets')).toHaveLength(0);
  });

  it('rebuilds typed errors with their details, status and code', async () => {
    api = await startFakeApi([
      (r) =>
        r.method === 'PUT' && r.path === '/v1/widgets/a'
          ? { status: 409, body: { error: { code: 'Conflict', message: 'stale resourceVersion', details: [{ path: 'metadata.resourceVersion', rule: 'current' }] } } }
          : undefined,
      (r) =>
        r.method === 'POST' && r.path === '/v1/widgets'
          ? { status: 422, body: { error: { code: 'InvalidInput', message: 'spec.size: must be >= 0', details: [{ path: 'spec.size', rule: 'minimum' }] } } }
          : undefined,
      (r) => (r.path === '/v1/whoami' ? { status: 401, body: { error: { code: 'Unauthenticated', message: 'no token', details: [] } } } : undefined),
      (r) => (r.path === '/v1/widgets/boom' ? { status: 502, raw: '<html>bad gateway</html>' } : undefined),
    ]);
    const client = createApiClient({ baseUrl: api.baseUrl, token: 't' });

    const conflict = await client
      .replace({ kind: 'Widget', metadata: { name: 'a', project: 'team-a', resourceVersion: '3' }, spec: {} })
      .catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(ConflictError);
    expect((conflict as ConflictError).details).toEqual([{ path: 'metadata.resourceVersion', rule: 'current' }]);
    expect(api.requestsTo('/v1/widgets/a')[0]!.headers['if-match']).toBe('"3"');

    const invalid = await client.create({ kind: 'Widget', metadata: { name: 'b', project: 'team-a' }, spec: { size: -1 } }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(InputError);
    expect((invalid as InputError).status).toBe(422);
    expect((invalid as InputError).details[0]).toEqual({ path: 'spec.size', rule: 'minimum' });

    await expect(client.whoami()).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(client.get({ kind: 'Widget', project: 'team-a', name: 'boom' })).rejects.toBeInstanceOf(InternalError);
  });

  it('lists with selector and pagination, and iterates over every page', async () => {
    api = await startFakeApi([
      (r) => {
        if (r.method !== 'GET' || r.path !== '/v1/widgets') return undefined;
        const pages: Record<string, { items: unknown[]; metadata: { continue?: string } }> = {
          '': { items: [object('a'), object('b')], metadata: { continue: 'c1' } },
          c1: { items: [object('c'), object('d')], metadata: { continue: 'c2' } },
          c2: { items: [object('e')], metadata: {} },
        };
        return { status: 200, body: pages[r.query.continue ?? ''] };
      },
    ]);
    const client = createApiClient({ baseUrl: api.baseUrl, token: 't' });

    const first = await client.list('Widget', { project: 'team-a', labelSelector: { tier: 'prod', app: 'shop' }, limit: 2 });
    expect(first.items.map((o) => o.metadata.name)).toEqual(['a', 'b']);
    expect(first.continue).toBe('c1');
    expect(api.requestsTo('/v1/widgets')[0]!.query).toEqual({ project: 'team-a', labelSelector: 'tier=prod,app=shop', limit: '2' });

    const names: string[] = [];
    for await (const item of client.listAll('Widget', { labelSelector: 'tier!=dev', limit: 2 })) names.push(item.metadata.name);
    expect(names).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(api.requestsTo('/v1/widgets').slice(1).map((r) => r.query)).toEqual([
      { labelSelector: 'tier!=dev', limit: '2' },
      { labelSelector: 'tier!=dev', limit: '2', continue: 'c1' },
      { labelSelector: 'tier!=dev', limit: '2', continue: 'c2' },
    ]);
  });

  it('sends patch, delete, status, finalizer, secrets, events and referrers to their routes', async () => {
    api = await startFakeApi([
      (r) => (r.method === 'PATCH' ? { status: 200, body: object('a', '5') } : undefined),
      (r) => (r.method === 'DELETE' && r.path === '/v1/widgets/a' ? { status: 202, body: { ...object('a'), metadata: { ...object('a').metadata, deletionRequestedAt: 'now' } } } : undefined),
      (r) => (r.method === 'DELETE' && r.path === '/v1/widgets/b' ? { status: 200, body: { deleted: true } } : undefined),
      (r) => (r.method === 'PUT' && r.path === '/v1/widgets/a/status' ? { status: 200, body: object('a', '6') } : undefined),
      (r) => (r.method === 'DELETE' && r.path === '/v1/widgets/a/finalizers/widget-controller' ? { status: 200, body: { deleted: true } } : undefined),
      (r) => (r.path === '/v1/widgets/a/secrets' ? { status: 200, body: { 'spec.password': 'pw' } } : undefined),
      (r) => (r.method === 'POST' && r.path === '/v1/widgets/a/events' ? { status: 201, body: { ...(r.body as object), count: 1, firstSeen: 'x', lastSeen: 'x' } } : undefined),
      (r) => (r.method === 'GET' && r.path === '/v1/widgets/a/events' ? { status: 200, body: { items: [{ type: 'Normal', reason: 'R', message: 'm', count: 2, firstSeen: 'x', lastSeen: 'y' }] } } : undefined),
      (r) => (r.path === '/v1/widgets/a/referrers' ? { status: 200, body: { items: [{ kind: 'Gizmo', project: 'team-a', name: 'g', uid: 'u', path: 'spec.widgetRef' }] } } : undefined),
    ]);
    const client = createApiClient({ baseUrl: api.baseUrl, token: 't' });
    const ref = { kind: 'Widget', project: 'team-a', name: 'a' };

    expect((await client.patch(ref, { spec: { size: 2 } }, { resourceVersion: '4' })).metadata.resourceVersion).toBe('5');
    const patch = api.seen.find((r) => r.method === 'PATCH')!;
    expect(patch.headers['content-type']).toBe('application/merge-patch+json');
    expect(patch.headers['if-match']).toBe('"4"');
    expect(patch.body).toEqual({ spec: { size: 2 } });

    const pending = await client.delete(ref, { cascade: true });
    expect(pending.deleted).toBe(false);
    expect(pending.deleted === false && pending.object.metadata.deletionRequestedAt).toBe('now');
    expect(api.seen.find((r) => r.method === 'DELETE')!.query).toEqual({ project: 'team-a', cascade: 'true' });
    expect(await client.delete({ ...ref, name: 'b' })).toEqual({ deleted: true });

    await client.writeStatus(ref, { phase: 'Ready', observedGeneration: 1 }, { resourceVersion: '5' });
    expect(api.requestsTo('/v1/widgets/a/status')[0]!.body).toEqual({ metadata: { resourceVersion: '5' }, status: { phase: 'Ready', observedGeneration: 1 } });

    expect(await client.removeFinalizer(ref, 'widget-controller')).toEqual({ deleted: true });
    expect(await client.readSecrets(ref)).toEqual({ 'spec.password': 'pw' });
    expect((await client.recordEvent(ref, { type: 'Warning', reason: 'Slow', message: 'taking long' })).count).toBe(1);
    expect(api.seen.find((r) => r.path === '/v1/widgets/a/events' && r.method === 'POST')!.body).toEqual({ type: 'Warning', reason: 'Slow', message: 'taking long' });
    expect((await client.listEvents(ref))[0]!.count).toBe(2);
    expect((await client.referrers(ref))[0]!.path).toBe('spec.widgetRef');
  });

  it('applies bundles, reads revisions and diffs, and sends the operator controls', async () => {
    const applied = { dryRun: true, results: [{ kind: 'Widget', project: 'team-a', name: 'a', action: 'updated', diff: [{ path: 'spec.size', op: 'replace', from: 1, to: 2 }] }] };
    api = await startFakeApi([
      (r) => (r.method === 'POST' && r.path === '/v1/apply' ? { status: 200, body: applied } : undefined),
      (r) => (r.path === '/v1/widgets/a/revisions' ? { status: 200, body: { items: [{ revision: 2 }, { revision: 1 }] } } : undefined),
      (r) => (r.path === '/v1/widgets/a/revisions/diff' ? { status: 200, body: { from: 1, to: 2, diff: [] } } : undefined),
      (r) => (r.path === '/v1/widgets/a/revisions/1' ? { status: 200, body: { revision: 1 } } : undefined),
      (r) => (r.method === 'POST' && /\/(suspend|resume|reconcile)$/.test(r.path) ? { status: 200, body: object('a') } : undefined),
      (r) => (r.method === 'DELETE' && r.path.includes('/finalizers/') ? { status: 200, body: { deleted: false } } : undefined),
    ]);
    const client = createApiClient({ baseUrl: api.baseUrl, token: 't' });
    const ref = { kind: 'wd', project: 'team-a', name: 'a' };
    const input = { kind: 'Widget', metadata: { name: 'a', project: 'team-a' }, spec: { size: 2 } };
    expect(await client.apply([input], { dryRun: true })).toEqual(applied);
    expect(api.requestsTo('/v1/apply')[0]).toMatchObject({ query: { dryRun: 'true' }, body: { items: [input] } });
    await client.apply([input]);
    expect(api.requestsTo('/v1/apply')[1]!.query).toEqual({});

    expect((await client.revisions(ref)).map((r) => r.revision)).toEqual([2, 1]);
    expect(await client.revision(ref, 1)).toEqual({ revision: 1 });
    expect(await client.revision(ref, 5)).toBeUndefined();
    await client.revisionDiff(ref, { from: 1 });
    expect(api.requestsTo('/v1/widgets/a/revisions/diff')[0]!.query).toEqual({ project: 'team-a', from: '1' });

    await client.suspend(ref);
    await client.resume(ref);
    await client.requestReconcile(ref);
    expect(api.seen.filter((r) => r.method === 'POST' && r.path !== '/v1/apply').map((r) => r.path)).toEqual([
      '/v1/widgets/a/suspend',
      '/v1/widgets/a/resume',
      '/v1/widgets/a/reconcile',
    ]);
    await client.removeFinalizer(ref, 'other-controller', { force: true });
    expect(api.seen.at(-1)!.query).toEqual({ project: 'team-a', force: 'true' });
  });

  it('approves, rejects and undoes through the rollout routes, with the message or the undo target as the body', async () => {
    api = await startFakeApi([
      (r) => (r.method === 'POST' && r.path === '/v1/rollouts/shop-prod-3/approve' ? { status: 200, body: { rollout: { metadata: { name: 'shop-prod-3' } }, results: [] } } : undefined),
      (r) => (r.method === 'POST' && r.path === '/v1/rollouts/shop-prod-3/reject' ? { status: 200, body: { rollout: { metadata: { name: 'shop-prod-3' } } } } : undefined),
      (r) => (r.method === 'POST' && r.path === '/v1/applications/shop/undo' ? { status: 200, body: { rollouts: [{ metadata: { name: 'shop-prod-4' } }] } } : undefined),
      (r) => (r.method === 'POST' && r.path === '/v1/rollouts/old/approve' ? { status: 409, body: { error: { code: 'Conflict', message: 'Rollout old was superseded by shop-prod-4', details: [] } } } : undefined),
    ]);
    api.kinds.push(
      { ...widgetKind, kind: 'Rollout', plural: 'rollouts', singular: 'rollout', shortNames: ['ro'] },
      { ...widgetKind, kind: 'Application', plural: 'applications', singular: 'application', shortNames: [] },
    );
    const client = createApiClient({ baseUrl: api.baseUrl, token: 't' });
    const rollout = { kind: 'Rollout', project: 'team-a', name: 'shop-prod-3' };

    expect((await client.approveRollout(rollout, { message: 'looks good' })).rollout.metadata.name).toBe('shop-prod-3');
    await client.rejectRollout(rollout);
    const undone = await client.undoApplication({ kind: 'application', project: 'team-a', name: 'shop' }, { tier: 'prod', release: 'shop-web-0123456789ab' });
    expect(undone.rollouts.map((r) => r.metadata.name)).toEqual(['shop-prod-4']);
    await client.undoApplication({ kind: 'Application', project: 'team-a', name: 'shop' });
    await expect(client.approveRollout({ ...rollout, name: 'old' })).rejects.toBeInstanceOf(ConflictError);

    expect(api.seen.filter((r) => r.method === 'POST').map((r) => [r.path, r.query, r.body])).toEqual([
      ['/v1/rollouts/shop-prod-3/approve', { project: 'team-a' }, { message: 'looks good' }],
      ['/v1/rollouts/shop-prod-3/reject', { project: 'team-a' }, {}],
      ['/v1/applications/shop/undo', { project: 'team-a' }, { tier: 'prod', release: 'shop-web-0123456789ab' }],
      ['/v1/applications/shop/undo', { project: 'team-a' }, {}],
      ['/v1/rollouts/old/approve', { project: 'team-a' }, {}],
    ]);
  });

  it('watches: yields changes with their cursors, rejects an old cursor with GoneError, and reports a cut-off', async () => {
    const change = (id: number, name: string) =>
      `id: ${id}\nevent: change\ndata: ${JSON.stringify({ type: 'MODIFIED', cause: 'spec', key: { kind: 'Widget', project: 'team-a', name, uid: 'u' }, resourceVersion: String(id), object: object(name, String(id)) })}\n\n`;
    api = await startFakeApi([
      (r) => {
        if (r.path !== '/v1/watch') return undefined;
        if (r.query.cursor === '1') return { status: 410, body: { error: { code: 'Gone', message: 'cursor 1 is too old', details: [] } } };
        if (r.query.cursor === '9') return { status: 200, raw: `${change(10, 'c')}event: error\ndata: {"code":"TooSlow"}\n\n` };
        return { status: 200, raw: `: heartbeat\n\n${change(5, 'a')}${change(6, 'b')}` };
      },
    ]);
    const client = createApiClient({ baseUrl: api.baseUrl, token: 't' });
    const seen = [];
    for await (const event of await client.watch({ kinds: ['wd'], project: 'team-a' })) seen.push([event.cursor, event.key.name, event.object?.metadata.resourceVersion]);
    expect(seen).toEqual([
      ['5', 'a', '5'],
      ['6', 'b', '6'],
    ]);
    expect(api.requestsTo('/v1/watch')[0]!.query).toEqual({ kinds: 'Widget', project: 'team-a' });
    expect(api.requestsTo('/v1/watch')[0]!.headers.accept).toBe('text/event-stream');

    await expect(client.watch({ kinds: ['Widget'], cursor: '1' })).rejects.toBeInstanceOf(GoneError);

    const cutOff: Array<string | undefined> = [];
    const error = await (async () => {
      for await (const event of await client.watch({ kinds: [], cursor: '9' })) cutOff.push(event.cursor);
    })().catch((e: unknown) => e);
    expect(cutOff).toEqual(['10']);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).details).toEqual([{ path: 'watch', rule: 'TooSlow' }]);
  });

  it('turns a refused connection into UnavailableError with its cause, but lets an abort through', async () => {
    api = await startFakeApi([
      (r) => (r.path === '/v1/whoami' ? { status: 200, body: { name: 'admin', type: 'user' } } : undefined),
    ]);
    const reachable = createApiClient({ baseUrl: api.baseUrl, token: 't' });
    expect(await reachable.whoami()).toEqual({ name: 'admin', type: 'user' });
    const controller = new AbortController();
    controller.abort(new Error('caller gave up'));
    await expect(reachable.whoami({ signal: controller.signal })).rejects.toThrow('caller gave up');

    const url = api.baseUrl;
    await api.close();
    const unreachable = createApiClient({ baseUrl: url, token: 't' });
    const error = await unreachable.whoami().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).cause).toBeDefined();
    api = await startFakeApi([]); // afterEach closes something that is open
  });
});
