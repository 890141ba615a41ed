/**
 * The watch proof against the real API process (Postgres, NATS): every change in order to two
 * clients, resumption from a cursor, 410 for a cursor the stream dropped, the slow-client cut-off,
 * and the kinds and project filters. The API runs with a small stream (`TUGBOAT_STREAM_MAX_MSGS`),
 * a small ring (so a resume is served from the stream) and a tiny per-client buffer.
 */
import { connect as connectTcp } from 'node:net';
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createApiClient, type ApiClient, type WatchEvent } from '@tugboat/api-client';
import { GoneError, streamNames, type ChangeEvent } from '@tugboat/resource-model';
import { NATS_URL, startApiProcess, waitUntil, type ApiProcess } from './harness/cli-processes.js';

const STREAM_MAX_MSGS = 60;

let apiProcess: ApiProcess;
let url: string;
let prefix: string;
let admin: ApiClient;
let nc: NatsConnection;
let jsm: JetStreamManager;
const stops: AbortController[] = [];

beforeAll(async () => {
  apiProcess = await startApiProcess({
    projects: ['team-a', 'team-b'],
    name: 'watch',
    env: {
      TUGBOAT_STREAM_MAX_MSGS: String(STREAM_MAX_MSGS),
      TUGBOAT_WATCH_RING_SIZE: '8',
      TUGBOAT_WATCH_CLIENT_BUFFER: '4',
      TUGBOAT_WATCH_SLOW_CLIENT_GRACE_MS: '20000',
    },
  });
  ({ url, prefix } = apiProcess);
  admin = createApiClient({ baseUrl: url, token: apiProcess.adminToken });
  nc = await connect({ servers: NATS_URL });
  jsm = await jetstreamManager(nc);
});

afterEach(() => {
  for (const stop of stops.splice(0)) stop.abort();
});

afterAll(async () => {
  await nc?.close();
  await apiProcess?.close();
});

interface Collected {
  events: WatchEvent[];
  error: unknown;
  done: boolean;
}

/** Follows a watch in the background until the test aborts it. */
async function follow(client: ApiClient, options: { kinds: string[]; project?: string; cursor?: string }): Promise<Collected> {
  const stop = new AbortController();
  stops.push(stop);
  const collected: Collected = { events: [], error: undefined, done: false };
  const stream = await client.watch({ ...options, signal: stop.signal });
  void (async () => {
    try {
      for await (const event of stream) collected.events.push(event);
    } catch (error) {
      if (!stop.signal.aborted) collected.error = error;
    }
    collected.done = true;
  })();
  return collected;
}

/** Every event of the stream after `after`, in stream order, read straight from JetStream. */
async function streamEvents(after: number): Promise<Array<{ seq: number; event: ChangeEvent }>> {
  const { state } = await jsm.streams.info(streamNames(prefix).eventsStream);
  if (state.last_seq <= after) return [];
  const consumer = await jetstream(nc).consumers.get(streamNames(prefix).eventsStream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 });
  const out: Array<{ seq: number; event: ChangeEvent }> = [];
  const messages = await consumer.consume();
  for await (const message of messages) {
    out.push({ seq: message.seq, event: message.json<ChangeEvent>() });
    if (message.seq >= state.last_seq) break;
  }
  await messages.close();
  return out;
}

/** A WorkloadDefinition: a container unless `spec` brings manifests. */
const wd = (name: string, spec: Record<string, unknown> = {}) => ({
  kind: 'WorkloadDefinition',
  metadata: { name },
  spec: { ...(spec['manifests'] === undefined ? { container: { image: 'nginx' } } : {}), overridable: ['replicas'], ...spec },
});

describe('GET /v1/watch against the real API', () => {
  let firstCursor: string;

  it('delivers every change, in stream order and per object in resourceVersion order, to two clients; a cursor resumes with exactly what followed it', async () => {
    const listed = await admin.list('WorkloadDefinition');
    expect(listed.cursor).toMatch(/^\d+$/);
    firstCursor = listed.cursor!;
    const one = await follow(admin, { kinds: ['WorkloadDefinition'], cursor: firstCursor });
    const two = await follow(createApiClient({ baseUrl: url, token: apiProcess.adminToken }), { kinds: ['wd'], cursor: firstCursor });

    const names = ['w-a', 'w-b', 'w-c', 'w-d'];
    await Promise.all(names.map((name) => admin.create(wd(name))));
    for (let round = 0; round < 6; round++) {
      // Objects change concurrently, each one in order.
      await Promise.all(names.map((name) => admin.patch({ kind: 'wd', name }, { spec: { description: `round ${round}` } })));
    }
    // A definition holds no finalizer: the delete is one change.
    await admin.delete({ kind: 'wd', name: 'w-a' });
    // Another kind: not asked for.
    await admin.create({ kind: 'ClusterDefinition', metadata: { name: 'std' }, spec: { provider: 'eks', allowedVersions: ['1.30'], allowedRegions: ['eu-west-1'], allowedNodeSizes: ['m5.large'] } });
    const total = names.length * 7 + 1;

    const truth = (await waitUntil(async () => {
      const events = await streamEvents(Number(firstCursor));
      return events.length >= total + 1 ? events : undefined;
    }, 'every change in the stream')).filter((e) => e.event.kind === 'WorkloadDefinition');
    expect(truth).toHaveLength(total);
    for (const client of [one, two]) {
      await waitUntil(() => client.events.length >= total || client.error, `a client to see ${total} changes`);
      expect(client.error).toBeUndefined();
      expect(client.events.map((e) => Number(e.cursor))).toEqual(truth.map((e) => e.seq));
      expect(client.events.map((e) => e.resourceVersion)).toEqual(truth.map((e) => e.event.resourceVersion));
      for (const name of names) {
        const versions = client.events.filter((e) => e.key.name === name).map((e) => Number(e.resourceVersion));
        expect(versions).toEqual([...versions].sort((a, b) => a - b));
        expect(versions).toHaveLength(name === 'w-a' ? 8 : 7);
      }
      expect(client.events.filter((e) => e.type === 'ADDED').map((e) => e.key.name).sort()).toEqual(names);
      expect(client.events.at(-1)).toMatchObject({ type: 'DELETED', key: { name: 'w-a' } });
      expect(client.events.find((e) => e.key.name === 'w-b' && e.type === 'MODIFIED')?.object?.spec).toHaveProperty('description');
    }

    // Resume from the middle (older than the API's ring of 8, so served from the stream), then one more change.
    const middle = one.events[10]!;
    const resumed = await follow(admin, { kinds: ['WorkloadDefinition'], cursor: middle.cursor! });
    await admin.patch({ kind: 'wd', name: 'w-b' }, { spec: { description: 'after' } });
    await waitUntil(() => resumed.events.length >= total - 11 + 1 || resumed.error, 'the resumed watch to reach the new change');
    expect(resumed.error).toBeUndefined();
    expect(resumed.events.map((e) => e.cursor)).toEqual([...one.events.slice(11, total).map((e) => e.cursor), resumed.events.at(-1)!.cursor]);
    expect(resumed.events.at(-1)!.object?.spec['description']).toBe('after');
    await waitUntil(() => one.events.length === total + 1 && two.events.length === total + 1, 'both clients to see the new change');
    expect(one.events.at(-1)!.cursor).toBe(resumed.events.at(-1)!.cursor);
  });

  it('filters by kinds and project', async () => {
    const teamA = await follow(admin, { kinds: ['app'], project: 'team-a' });
    const clusters = await follow(admin, { kinds: ['ClusterInstance'] });
    await admin.create({ kind: 'ClusterInstance', metadata: { name: 'c1' }, spec: { definitionRef: { name: 'std' } } });
    for (const project of ['team-b', 'team-a']) {
      await admin.create({ kind: 'WorkloadInstance', metadata: { name: 'web', project }, spec: { definitionRef: { name: 'w-b' }, clusterRef: { name: 'c1' } } });
    }
    await admin.patch({ kind: 'app', project: 'team-b', name: 'web' }, { spec: { overrides: { replicas: 2 } } });
    await admin.patch({ kind: 'app', project: 'team-a', name: 'web' }, { spec: { overrides: { replicas: 3 } } });
    await waitUntil(() => teamA.events.length >= 2, 'the team-a changes');
    await waitUntil(() => clusters.events.length >= 1, 'the cluster change');
    expect(teamA.events.map((e) => [e.type, e.key.kind, e.key.project, e.key.name])).toEqual([
      ['ADDED', 'WorkloadInstance', 'team-a', 'web'],
      ['MODIFIED', 'WorkloadInstance', 'team-a', 'web'],
    ]);
    expect(teamA.events[1]!.object?.spec['overrides']).toEqual({ replicas: 3 });
    expect(clusters.events.map((e) => [e.type, e.key.kind, e.key.name])).toEqual([['ADDED', 'ClusterInstance', 'c1']]);
  });

  it('cuts off a client that stops reading, and the other client still gets every change', async () => {
    const socket = connectTcp(Number(new URL(url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(`GET /v1/watch?kinds=WorkloadDefinition HTTP/1.1\r\nhost: api\r\nauthorization: Bearer ${apiProcess.adminToken}\r\n\r\n`);
    await waitUntil(() => received.includes(': watching') || undefined, 'the slow watch to start');
    socket.pause();
    const reader = await follow(admin, { kinds: ['WorkloadDefinition'] });

    // Big objects fill the socket buffers quickly; past them, the 4-change buffer overflows.
    const big = `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: big }\ndata: { blob: ${'x'.repeat(200_000)} }\n`;
    let written = 0;
    await waitUntil(
      async () => {
        await admin.create(wd(`big-${written++}`, { manifests: big }));
        return apiProcess.child.output().includes('watch client too slow') || undefined;
      },
      'the API to cut off the slow client',
      30_000,
    );
    await waitUntil(() => reader.events.length >= written || reader.error, 'the reading client to get every change');
    expect(reader.error).toBeUndefined();
    expect(reader.events.map((e) => e.key.name)).toEqual(Array.from({ length: written }, (_, i) => `big-${i}`));

    // Reading again, the slow client finds the end of its stream: the error event, then the close.
    socket.resume();
    await closed;
    expect(received).toMatch(/event: error\ndata: \{"code":"TooSlow"/);
    expect((received.match(/event: change/g) ?? []).length).toBeLessThan(written);
  });

  it('answers 410 for a cursor the stream no longer holds; a re-list gives one that works', async () => {
    const stream = streamNames(prefix).eventsStream;
    // Push the first cursor out of the stream (it keeps the last STREAM_MAX_MSGS changes).
    let i = 0;
    while ((await jsm.streams.info(stream)).state.first_seq <= Number(firstCursor) + 1) {
      await admin.create(wd(`filler-${i++}`));
      if (i > STREAM_MAX_MSGS + 5) throw new Error('the stream does not drop old messages');
    }
    await expect(admin.watch({ kinds: ['wd'], cursor: firstCursor })).rejects.toBeInstanceOf(GoneError);
    const answer = await fetch(`${url}/v1/watch?cursor=${firstCursor}`, { headers: { authorization: `Bearer ${apiProcess.adminToken}` } });
    expect(answer.status).toBe(410);
    expect(await answer.json()).toMatchObject({ error: { code: 'Gone', details: [{ path: 'cursor', rule: 'gone' }] } });

    const relisted = await admin.list('wd', { limit: 1000 });
    const again = await follow(admin, { kinds: ['wd'], cursor: relisted.cursor! });
    await admin.patch({ kind: 'wd', name: 'w-c' }, { spec: { description: 'after the re-list' } });
    await waitUntil(() => again.events.some((e) => e.object?.spec['description'] === 'after the re-list') || again.error, 'the change after the re-list');
    expect(again.error).toBeUndefined();
  });
});
