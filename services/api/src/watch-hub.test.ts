/**
 * The watch in-process against real Postgres and NATS: query checks, resumption from the ring and
 * from the stream, 410 for a cursor the stream dropped, redaction, heartbeats that move the
 * cursor, the slow-client cut-off, and the hub on PGlite.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as connectNats } from '@nats-io/transport-node';
import { eventSubject, REDACTED, streamNames, type ChangeEvent } from '@tugboat/resource-model';
import { pino } from 'pino';
import { ADMIN_TOKEN, startTestApi, TEST_NATS_URL, uniqueName, waitUntil, type TestApi } from './api-test-harness.js';
import { ensureEventStream } from './event-stream.js';
import { createWatchHub, type WatchChange } from './watch-hub.js';

/** A change as a watcher sees it, without reading the object. */
const modified = async (event: ChangeEvent): Promise<WatchChange> => ({ type: 'MODIFIED', cause: event.cause, key: { kind: event.kind, project: event.project, name: event.name, uid: event.uid }, resourceVersion: event.resourceVersion });

const WORKLOAD_DEFINITION_SPEC = { container: { image: 'nginx' } };

interface Frame {
  id: string | undefined;
  event: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers loosely
  data: any;
}

interface OpenWatch {
  status: number;
  frames: Frame[];
  /** Every raw text received, comments included. */
  text(): string;
  ended(): boolean;
  changes(): Frame[];
  close(): void;
}

/** A minimal event-stream reader, so these tests do not depend on the client under test elsewhere. */
async function openWatch(api: TestApi, query: string, headers: Record<string, string> = {}): Promise<OpenWatch & { body?: unknown }> {
  const abort = new AbortController();
  const response = await fetch(`${api.url}/v1/watch${query}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers }, signal: abort.signal });
  const frames: Frame[] = [];
  let raw = '';
  let ended = false;
  const base = {
    status: response.status,
    frames,
    text: () => raw,
    ended: () => ended,
    changes: () => frames.filter((f) => f.event === 'change'),
    close: () => abort.abort(),
  };
  if (response.status !== 200) return { ...base, body: await response.json() };
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(chunk, { stream: true });
        raw += text;
        buffer += text;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            fields.set(line.slice(0, colon), line.slice(colon + 2));
          }
          if (fields.has('data')) frames.push({ id: fields.get('id'), event: fields.get('event') ?? 'message', data: JSON.parse(fields.get('data')!) });
        }
      }
    } catch {
      // aborted by the test
    }
    ended = true;
  })();
  return base;
}

const clusterDefinition = { provider: 'eks', allowedVersions: ['1.30'], allowedRegions: ['eu-west-1'], allowedNodeSizes: ['m5.large'] };

describe('watch (in-process, Postgres)', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ projects: ['p', 'team-a', 'team-b', 'team-c'], streamMaxMsgs: 40, watch: { ringSize: 8, heartbeatMs: 200, clientBufferEvents: 4, slowClientGraceMs: 10_000 } });
    expect((await api.call('POST', '/v1/workloaddefinitions', { metadata: { name: 'web' }, spec: WORKLOAD_DEFINITION_SPEC })).status).toBe(201);
  });
  afterAll(async () => {
    await api?.close();
  });

  async function streamLast(): Promise<number> {
    return Math.max(0, ...api.events().map((e) => e.streamSeq));
  }

  it('rejects bad queries with the field and the rule, and 401 without a token', async () => {
    const bad = async (query: string, headers: Record<string, string> = {}) => {
      const watch = await openWatch(api, query, headers);
      return { status: watch.status, details: (watch.body as { error: { details: unknown[] } }).error.details };
    };
    expect(await bad('?kinds=Nope,wi')).toEqual({ status: 404, details: [{ path: 'kinds', rule: 'unknown-kind' }] });
    expect(await bad('?cursor=abc')).toEqual({ status: 400, details: [{ path: 'cursor', rule: 'pattern' }] });
    expect(await bad('?kinds=wi', { 'last-event-id': '-1' })).toEqual({ status: 400, details: [{ path: 'cursor', rule: 'pattern' }] });
    expect(await bad('?project=Team_A')).toEqual({ status: 400, details: [{ path: 'project', rule: 'dns-label' }] });
    expect(await bad('?kinds=ClusterInstance&project=team-a')).toEqual({ status: 400, details: [{ path: 'project', rule: 'platform-scope' }] });
    expect(await bad('?kind=wi')).toEqual({ status: 400, details: [{ path: 'kind', rule: 'additionalProperties' }] });
    expect((await fetch(`${api.url}/v1/watch`)).status).toBe(401);
  });

  it('streams changes with types, redacted objects and ids; resumes from the ring, from the stream, and answers 410 when the stream dropped the cursor', async () => {
    const before = await api.call('GET', '/v1/awsaccounts');
    const listCursor = Number(before.body.metadata.cursor);
    expect(listCursor).toBe(await streamLast());
    const live = await openWatch(api, '?kinds=AwsAccount');
    expect(live.status).toBe(200);

    const spec = { accountId: '123456789012', region: 'eu-west-1', accessKeyId: 'AKIAEXAMPLE000001', secretAccessKey: 'very-secret-value' };
    expect((await api.call('POST', '/v1/awsaccounts', { metadata: { name: 'acct' }, spec })).status).toBe(201);
    expect((await api.call('PUT', '/v1/awsaccounts/acct', { metadata: { name: 'acct', labels: { a: 'b' } }, spec: { ...spec, secretAccessKey: REDACTED } })).status).toBe(200);
    expect((await api.call('DELETE', '/v1/awsaccounts/acct')).status).toBe(202);
    expect((await api.call('DELETE', '/v1/awsaccounts/acct/finalizers/infra-controller', undefined, { token: await controllerToken() })).status).toBe(200);
    // Another kind, which this watch does not ask for.
    expect((await api.call('POST', '/v1/clusterdefinitions', { metadata: { name: 'std' }, spec: clusterDefinition })).status).toBe(201);

    await waitUntil(() => live.changes().length >= 4 || undefined, 'four AwsAccount changes');
    const changes = live.changes();
    expect(changes.map((f) => [f.data.type, f.data.cause])).toEqual([
      ['ADDED', 'spec'],
      ['MODIFIED', 'spec'],
      ['MODIFIED', 'metadata'],
      ['DELETED', 'delete'],
    ]);
    const published = api.events().filter((e) => e.event.kind === 'AwsAccount');
    expect(changes.map((f) => Number(f.id))).toEqual(published.map((e) => e.streamSeq));
    expect(changes.map((f) => f.data.resourceVersion)).toEqual(published.map((e) => e.event.resourceVersion));
    expect(changes[0]!.data.key).toEqual({ kind: 'AwsAccount', project: '', name: 'acct', uid: published[0]!.event.uid });
    for (const frame of changes.slice(0, 3)) {
      // Absent when the object was already gone by the time the change was fanned out.
      if (frame.data.object) expect(frame.data.object.spec.secretAccessKey).toBe(REDACTED);
    }
    expect(changes[3]!.data.object).toBeUndefined();
    expect(live.text()).not.toContain('very-secret-value');

    // The list's cursor resumes with exactly what followed it: from the ring ...
    const resumed = await openWatch(api, `?kinds=awsaccounts&cursor=${listCursor}`);
    await waitUntil(() => resumed.changes().length >= 4 || undefined, 'the resumed changes');
    expect(resumed.changes().map((f) => f.id)).toEqual(changes.map((f) => f.id));
    // ... and, as Last-Event-ID, from the middle.
    const middle = await openWatch(api, `?kinds=awsaccounts&cursor=${listCursor}`, { 'last-event-id': changes[1]!.id! });
    await waitUntil(() => middle.changes().length >= 2 || undefined, 'the changes after the second');
    expect(middle.changes().map((f) => f.id)).toEqual(changes.slice(2).map((f) => f.id));

    // More changes than the ring holds: the same cursor is now served from the stream.
    for (let i = 0; i < 10; i++) expect((await api.call('POST', '/v1/workloaddefinitions', { metadata: { name: `wd-${i}` }, spec: WORKLOAD_DEFINITION_SPEC })).status).toBe(201);
    await waitUntil(async () => (await api.call('GET', '/v1/awsaccounts')).body.metadata.cursor === String(await streamLast()) || undefined, 'the hub to take in every change');
    const fromStream = await openWatch(api, `?kinds=AwsAccount,WorkloadDefinition&cursor=${listCursor}`);
    await waitUntil(() => fromStream.changes().length >= 14 || undefined, 'the changes from the stream');
    expect(fromStream.changes().map((f) => f.data.key.name)).toEqual(['acct', 'acct', 'acct', 'acct', ...Array.from({ length: 10 }, (_, i) => `wd-${i}`)]);
    expect(fromStream.changes().map((f) => Number(f.id))).toEqual([...fromStream.changes().map((f) => Number(f.id))].sort((a, b) => a - b));

    // The stream keeps 40 messages: push the first ones out and the old cursor is gone.
    for (let i = 10; i < 40; i++) expect((await api.call('POST', '/v1/workloaddefinitions', { metadata: { name: `wd-${i}` }, spec: WORKLOAD_DEFINITION_SPEC })).status).toBe(201);
    await waitUntil(async () => (await api.call('GET', '/v1/awsaccounts')).body.metadata.cursor === String(await streamLast()) || undefined, 'the hub to take in every change');
    const gone = await openWatch(api, `?cursor=${listCursor}`);
    expect(gone.status).toBe(410);
    expect(gone.body).toMatchObject({ error: { code: 'Gone', details: [{ path: 'cursor', rule: 'gone' }] } });
    const ahead = await openWatch(api, `?cursor=${(await streamLast()) + 1000}`);
    expect(ahead.status).toBe(410);

    for (const watch of [live, resumed, middle, fromStream]) watch.close();
  });

  it('moves an idle filtered watcher cursor with heartbeat ids, and filters by project', async () => {
    const teamA = await openWatch(api, '?kinds=wi&project=team-a');
    // From an explicit cursor: a watch without one starts at the hub's position, which may still
    // include a change of the previous test that was being fanned out.
    const everything = await openWatch(api, `?cursor=${await streamLast()}`);
    expect((await api.call('POST', '/v1/clusterdefinitions', { metadata: { name: 'std-2' }, spec: clusterDefinition })).status).toBe(201);
    expect((await api.call('POST', '/v1/clusterinstances', { metadata: { name: 'c1' }, spec: { definitionRef: { name: 'std-2' } } })).status).toBe(201);
    const workload = (project: string) => ({ metadata: { name: 'app', project }, spec: { definitionRef: { name: 'web' }, clusterRef: { name: 'c1' } } });
    expect((await api.call('POST', '/v1/workloadinstances', workload('team-b'))).status).toBe(201);
    expect((await api.call('POST', '/v1/workloadinstances', workload('team-a'))).status).toBe(201);
    await waitUntil(() => everything.changes().length >= 4 || undefined, 'every change');
    await waitUntil(() => teamA.changes().length >= 1 || undefined, 'the team-a change');
    expect(teamA.changes().map((f) => [f.data.key.kind, f.data.key.project])).toEqual([['WorkloadInstance', 'team-a']]);
    expect(everything.changes().map((f) => f.data.key.name)).toEqual(['std-2', 'c1', 'app', 'app']);

    // Nothing more for team-a, but the stream moves on: a heartbeat carries the id to resume from.
    expect((await api.call('POST', '/v1/workloadinstances', workload('team-c'))).status).toBe(201);
    const last = await waitUntil(() => api.events().find((e) => e.event.project === 'team-c')?.streamSeq, 'the team-c event');
    await waitUntil(() => teamA.text().includes(`: heartbeat\nid: ${last}\n\n`) || undefined, 'a heartbeat with the new id');
    expect(teamA.changes()).toHaveLength(1);
    teamA.close();
    everything.close();
  });

  it('cuts off a client that does not keep up, without affecting the others', async () => {
    // The buffer is 4 changes: a client whose socket stays full (big objects, nobody reading) passes it.
    const socket = connectTcp(Number(new URL(api.url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET /v1/watch?kinds=WorkloadDefinition HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN_TOKEN}\r\n\r\n`);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    await waitUntil(() => received.includes(': watching') || undefined, 'the slow watch to start');
    socket.pause();
    const reader = await openWatch(api, '?kinds=WorkloadDefinition');
    const big = 'x'.repeat(200_000);
    let written = 0;
    await waitUntil(
      async () => {
        expect((await api.call('POST', '/v1/workloaddefinitions', { metadata: { name: `big-${written++}` }, spec: { description: 'big', manifests: `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: big }\ndata: { blob: ${big} }\n` } })).status).toBe(201);
        return api.logText().includes('watch client too slow') || undefined;
      },
      'the slow client to be cut off',
      30_000,
    );
    await waitUntil(() => reader.changes().length >= written || undefined, 'the reading client to get every change');
    expect(reader.ended()).toBe(false);
    // Reading again (inside the grace period), it finds the end of its stream: the error, then the close.
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.resume();
    await closed;
    expect(received).toMatch(/event: error\ndata: \{"code":"TooSlow"/);
    expect((received.match(/event: change/g) ?? []).length).toBeLessThan(written);
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toContain('tugboat_watch_ended_total{code="TooSlow"} 1');
    // Watches of earlier tests and the cut-off socket leave as the server notices their sockets close.
    await waitUntil(async () => /tugboat_watch_clients 1\n/.test(await (await fetch(`${api.url}/metrics`)).text()) || undefined, 'only the reader left watching');
    reader.close();
  });

  async function controllerToken(): Promise<string> {
    return (await api.call('POST', '/v1/tokens', { name: `infra-${Math.random().toString(36).slice(2, 8)}`, type: 'controller', controller: 'infra-controller' })).body.token;
  }
});

describe('watch on PGlite', () => {
  it('fans out changes like on Postgres', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tugboat-watch-pglite-'));
    const api = await startTestApi({ pglite: true, dataDir: join(dataDir, 'pgdata'), stateDir: dataDir });
    try {
      const watch = await openWatch(api, '?kinds=wd');
      expect((await api.call('POST', '/v1/workloaddefinitions', { metadata: { name: 'lite' }, spec: WORKLOAD_DEFINITION_SPEC })).status).toBe(201);
      await waitUntil(() => watch.changes().length >= 1 || undefined, 'the change');
      expect(watch.changes()[0]!.data).toMatchObject({ type: 'ADDED', key: { kind: 'WorkloadDefinition', name: 'lite' }, object: { metadata: { name: 'lite' } } });
      watch.close();
    } finally {
      await api.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('watch hub alone (NATS only)', () => {
  it('reads each change once for every client that receives it, and ends every watch when it stops', async () => {
    const prefix = uniqueName('hub');
    const nc = await connectNats({ servers: TEST_NATS_URL });
    const jsm = await jetstreamManager(nc);
    await ensureEventStream(jsm, { prefix });
    const reads: string[] = [];
    const hub = createWatchHub({
      prefix,
      logger: pino({ level: 'silent' }),
      readChange: async (event: ChangeEvent): Promise<WatchChange> => {
        reads.push(event.resourceVersion);
        return { type: 'MODIFIED', cause: event.cause, key: { kind: event.kind, project: event.project, name: event.name, uid: event.uid }, resourceVersion: event.resourceVersion };
      },
    });
    await hub.start(nc);
    const server = createServer((req, res) => {
      const abort = new AbortController();
      res.once('close', () => abort.abort());
      void hub.serve(res, { filter: {}, signal: abort.signal, ...(req.url === '/resume' ? { cursor: 1 } : {}) });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const bodies = await Promise.all([1, 2, 3].map(() => fetch(`http://127.0.0.1:${port}/`)));
      const texts = bodies.map(() => '');
      const reading = bodies.map(async (response, i) => {
        for await (const chunk of response.body as AsyncIterable<Uint8Array>) texts[i] += Buffer.from(chunk).toString();
      });
      await waitUntil(() => hub.clientCount === 3 || undefined, 'three watches');
      const js = jetstream(nc);
      for (let i = 1; i <= 5; i++) {
        const key = { kind: 'Widget', project: 'p', name: `w${i % 2}` };
        // Desired-state and status changes travel on separate subjects; the watch reads both.
        const cause = i % 2 === 0 ? 'status' : 'spec';
        const event: ChangeEvent = { ...key, uid: `u${i % 2}`, generation: 1, resourceVersion: String(i), cause, seq: String(i), at: new Date().toISOString() };
        await js.publish(eventSubject(prefix, key, cause), JSON.stringify(event));
      }
      await waitUntil(() => texts.every((t) => (t.match(/event: change/g) ?? []).length === 5) || undefined, 'every client to get five changes');
      expect(reads).toEqual(['1', '2', '3', '4', '5']);
      expect(hub.position).toBe(5);
      // A resume inside the ring is served from the frames already made: no read.
      const resumed = await fetch(`http://127.0.0.1:${port}/resume`);
      let resumedText = '';
      const resumedReading = (async () => {
        for await (const chunk of resumed.body as AsyncIterable<Uint8Array>) resumedText += Buffer.from(chunk).toString();
      })();
      await waitUntil(() => (resumedText.match(/event: change/g) ?? []).length === 4 || undefined, 'the four changes after cursor 1');
      expect(resumedText).not.toContain('id: 1\n');
      expect(reads).toHaveLength(5);
      await hub.stop();
      // Every stream ends (the iteration completes) once the hub stops.
      await Promise.all([...reading, resumedReading]);
      expect(hub.clientCount).toBe(0);
    } finally {
      await hub.stop();
      await new Promise((resolve) => server.close(resolve));
      await jsm.streams.delete(streamNames(prefix).eventsStream).catch(() => undefined);
      await nc.close();
    }
  });

  it('follows the stream only while someone watches: lists take the stream\'s last sequence, the first watch subscribes, the last one leaving unsubscribes', async () => {
    const prefix = uniqueName('hub');
    const nc = await connectNats({ servers: TEST_NATS_URL });
    const jsm = await jetstreamManager(nc);
    await ensureEventStream(jsm, { prefix });
    const stream = streamNames(prefix).eventsStream;
    const consumers = async () => (await jsm.consumers.list(stream).next()).length;
    const hub = createWatchHub({
      prefix,
      logger: pino({ level: 'silent' }),
      idleAfterMs: 200,
      readChange: modified,
    });
    const js = jetstream(nc);
    const publish = async (i: number) => {
      const key = { kind: 'Widget', project: 'p', name: 'w' };
      await js.publish(eventSubject(prefix, key, 'spec'), JSON.stringify({ ...key, uid: 'u', generation: 1, resourceVersion: String(i), cause: 'spec', seq: String(i), at: '' }));
    };
    const server = createServer((req, res) => {
      const abort = new AbortController();
      res.once('close', () => abort.abort());
      const cursor = new URL(req.url!, 'http://x').searchParams.get('cursor');
      void hub.serve(res, { filter: {}, signal: abort.signal, ...(cursor ? { cursor: Number(cursor) } : {}) });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const watch = async (cursor: number) => {
      const abort = new AbortController();
      const response = await fetch(`http://127.0.0.1:${port}/?cursor=${cursor}`, { signal: abort.signal });
      const seen = { text: '', close: () => abort.abort() };
      void (async () => {
        for await (const chunk of response.body as AsyncIterable<Uint8Array>) seen.text += Buffer.from(chunk).toString();
      })().catch(() => undefined);
      return seen;
    };
    try {
      await hub.start(nc);
      await publish(1);
      await publish(2);
      // Nobody watches: no consumer, nothing taken in, and a list's cursor is the stream's last sequence.
      expect(hub.following).toBe(false);
      expect(await consumers()).toBe(0);
      expect(hub.position).toBe(0);
      expect(await hub.cursor()).toBe(2);
      // The first watch subscribes; its cursor (from a list) is caught up from the stream, then it goes on live.
      const first = await watch(1);
      await waitUntil(() => first.text.includes('id: 2\n') || undefined, 'change 2 from the stream');
      expect(hub.following).toBe(true);
      await publish(3);
      await waitUntil(() => first.text.includes('id: 3\n') || undefined, 'change 3 live');
      expect(first.text).not.toContain('id: 1\n');
      expect(await hub.cursor()).toBe(3);
      // The last watch leaves: idleAfterMs later the subscription is closed and its consumer gone.
      first.close();
      await waitUntil(() => !hub.following || undefined, 'the hub to stop following');
      await waitUntil(async () => (await consumers()) === 0 || undefined, 'the hub\'s consumer to be deleted');
      await publish(4);
      expect(await hub.cursor()).toBe(4);
      // And a later watch subscribes again, from a cursor taken while nobody watched.
      const again = await watch(3);
      await waitUntil(() => again.text.includes('id: 4\n') || undefined, 'change 4 after subscribing again');
      await publish(5);
      await waitUntil(() => again.text.includes('id: 5\n') || undefined, 'change 5 live');
      expect(again.text).not.toContain('id: 3\n');
      again.close();
    } finally {
      await hub.stop();
      await new Promise((resolve) => server.close(resolve));
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
  });

  it('answers 503 to a watch whose subscription cannot be opened (the bus is away), and opens it on the next one', async () => {
    const prefix = uniqueName('hub');
    const nc = await connectNats({ servers: TEST_NATS_URL });
    const jsm = await jetstreamManager(nc);
    await ensureEventStream(jsm, { prefix });
    const hub = createWatchHub({
      prefix,
      logger: pino({ level: 'silent' }),
      readChange: modified,
    });
    const stream = streamNames(prefix).eventsStream;
    try {
      await hub.start(nc);
      // The stream is gone when the first watch comes: nothing to follow.
      await jsm.streams.delete(stream);
      const refused = { writeHead: () => undefined, write: () => true } as unknown as Parameters<typeof hub.serve>[0];
      await expect(hub.serve(refused, { filter: {}, signal: new AbortController().signal })).rejects.toMatchObject({ status: 503, retryAfterSeconds: 1 });
      expect(hub.following).toBe(false);
      await ensureEventStream(jsm, { prefix });
      const abort = new AbortController();
      const written: string[] = [];
      const res = { writeHead: () => undefined, write: (text: string) => written.push(text), end: () => undefined, destroy: () => undefined, once: () => undefined, writableNeedDrain: false } as unknown as Parameters<typeof hub.serve>[0];
      const serving = hub.serve(res, { filter: {}, signal: abort.signal });
      await waitUntil(() => hub.clientCount === 1 || undefined, 'the second watch to start');
      expect(hub.following).toBe(true);
      abort.abort();
      await serving;
    } finally {
      await hub.stop();
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
  });

  it('resets the connection of a cut-off client that still does not read after the grace period', async () => {
    const prefix = uniqueName('hub');
    const nc = await connectNats({ servers: TEST_NATS_URL });
    const jsm = await jetstreamManager(nc);
    await ensureEventStream(jsm, { prefix });
    const big = 'x'.repeat(1_000_000);
    const hub = createWatchHub({
      prefix,
      logger: pino({ level: 'silent' }),
      clientBufferEvents: 2,
      slowClientGraceMs: 200,
      readChange: async (event: ChangeEvent): Promise<WatchChange> => ({
        type: 'MODIFIED',
        cause: event.cause,
        key: { kind: event.kind, project: event.project, name: event.name, uid: event.uid },
        resourceVersion: event.resourceVersion,
        object: { metadata: { note: big } } as unknown as WatchChange['object'],
      }),
    });
    await hub.start(nc);
    const server = createServer((req, res) => {
      const abort = new AbortController();
      res.once('close', () => abort.abort());
      void hub.serve(res, { filter: {}, signal: abort.signal });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const connections = () => new Promise<number>((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
    try {
      const socket = connectTcp((server.address() as AddressInfo).port, '127.0.0.1');
      socket.on('error', () => undefined);
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
      await waitUntil(() => received.includes(': watching') || undefined, 'the watch to start');
      socket.pause();
      const js = jetstream(nc);
      for (let i = 1; hub.clientCount > 0; i++) {
        if (i > 100) throw new Error('the client was never cut off');
        const key = { kind: 'Widget', project: 'p', name: 'w' };
        await js.publish(eventSubject(prefix, key, 'spec'), JSON.stringify({ ...key, uid: 'u', generation: 1, resourceVersion: String(i), cause: 'spec', seq: String(i), at: '' }));
        // The hub has taken this change in (queued or written) before the next one: paced by the hub, not a sleep.
        await waitUntil(() => hub.position >= i || hub.clientCount === 0 || undefined, `change ${i} to reach the hub`);
      }
      // Cut off, and it never reads again: the server side of the connection is reset after the grace period.
      await waitUntil(async () => (await connections()) === 0 || undefined, 'the connection to be reset', 5_000);
      socket.destroy();
    } finally {
      await hub.stop();
      await new Promise((resolve) => server.close(resolve));
      await jsm.streams.delete(streamNames(prefix).eventsStream).catch(() => undefined);
      await nc.close();
    }
  });
});
