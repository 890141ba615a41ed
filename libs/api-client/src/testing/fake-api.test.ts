import { GoneError, NotFoundError, UnauthenticatedError, type ChangeEvent } from '@tugboat/resource-model';
import { createApiClient } from '../api-client.js';
import { createFakeApi, FAKE_TOKEN } from './fake-api.js';

// What only the fake has: the hooks tests use behind the API's back. Its API behaviour is checked by
// the contract suite (fake-api.contract.test.ts), which also runs against the real API.
const web = { kind: 'WorkloadDefinition', name: 'web' };
const webSpec = { description: 'web services', container: { image: 'nginx' }, maxReplicas: 5 };

describe('createFakeApi hooks', () => {
  it('reports every committed change to onChange and in changes; setStatus that changes nothing writes nothing', async () => {
    const seen: ChangeEvent[] = [];
    const api = createFakeApi({ onChange: (event) => seen.push(event) });
    const created = await api.create({ kind: 'wd', metadata: { name: 'web' }, spec: webSpec });
    api.setStatus(web, { phase: 'Ready' });
    api.setStatus(web, { phase: 'Ready' });
    expect(seen.map((event) => [event.cause, event.generation, event.actor])).toEqual([
      ['spec', 1, 'admin'],
      ['status', 1, 'workload-controller'],
    ]);
    expect(api.changes).toEqual(seen);
    expect(api.lastSeq).toBe(2);
    expect(api.object(web)?.status).toEqual({ phase: 'Ready' });
    expect(api.objects().map((object) => object.metadata.uid)).toEqual([created.metadata.uid]);
    expect(api.requests.map((request) => `${request.method} ${request.path}`)).toEqual(['GET /v1/kinds', 'POST /v1/workloaddefinitions']);
  });

  it('refuses an unknown token, answers 404 for missing routes, and serves any client through fetch', async () => {
    const api = createFakeApi();
    const stranger = createApiClient({ baseUrl: 'http://fake-api.invalid', token: 'nope', fetch: api.fetch });
    await expect(stranger.whoami()).rejects.toBeInstanceOf(UnauthenticatedError);
    const tug = createApiClient({ baseUrl: 'http://fake-api.invalid', token: FAKE_TOKEN, fetch: api.fetch });
    expect(await tug.whoami()).toEqual({ name: 'admin', type: 'user' });
    api.missingRoutes.add('/v1/watch');
    await expect(tug.watch({ kinds: [] })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('ends watches, forgets old cursors (410), and removes objects as a last finalizer would', async () => {
    const api = createFakeApi();
    await api.create({ kind: 'wd', metadata: { name: 'web' }, spec: webSpec });
    const cursor = String(api.lastSeq);
    const watch = await api.watch({ kinds: ['WorkloadDefinition'], cursor: '0' });
    expect(api.watchers).toBe(1);
    api.removeObject(web);
    const types: string[] = [];
    const following = (async () => {
      for await (const event of watch) {
        types.push(event.type);
        if (types.length === 2) api.endWatches();
      }
    })();
    await following;
    expect(types).toEqual(['ADDED', 'DELETED']);
    expect(api.watchers).toBe(0);
    expect(api.object(web)).toBeUndefined();
    api.forgetChanges();
    await expect(api.watch({ kinds: [], cursor: String(Number(cursor) - 1) })).rejects.toBeInstanceOf(GoneError);
  });

  it('pins an added event to the time given', () => {
    const api = createFakeApi();
    return api.create({ kind: 'wd', metadata: { name: 'web' }, spec: webSpec }).then(() => {
      api.addEvent(web, { type: 'Warning', reason: 'BackOff', message: 'pulling', source: 'workload-controller', lastSeen: '2026-05-31T23:59:00Z' });
      expect(api.eventsOf(web)).toEqual([{ type: 'Warning', reason: 'BackOff', message: 'pulling', count: 1, firstSeen: '2026-05-31T23:59:00Z', lastSeen: '2026-05-31T23:59:00Z', source: 'workload-controller' }]);
    });
  });
});
