import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { ApiClient, ObjectRef } from '@tugboat/api-client';
import type { Resource } from '@tugboat/resource-model';
import { pino } from 'pino';
import { InputError } from '@tugboat/resource-model';
import { defineController } from './define-controller.js';
import { feedReadCache } from './read-cache-feed.js';
import { createReadCache, type ReadCache } from './read-cache.js';

/** A stand-in API holding objects by key, counting reads, whose answers a test can hold back. */
function fakeStore() {
  const objects = new Map<string, Resource>();
  const id = (kind: string, project: string | undefined, name: string) => `${kind}/${project ?? ''}/${name}`;
  const calls = { get: 0, list: 0 };
  let gate: Promise<void> | undefined;
  const api = {
    async get(ref: ObjectRef) {
      calls.get += 1;
      // The answer is what is stored when the request is served, i.e. before the gate opens.
      const answer = objects.get(id(ref.kind, ref.project, ref.name));
      if (gate !== undefined) await gate;
      return answer;
    },
    listAll(kind: string) {
      calls.list += 1;
      const answer = [...objects.values()].filter((object) => object.kind === kind);
      return {
        async *[Symbol.asyncIterator]() {
          if (gate !== undefined) await gate;
          yield* answer;
        },
      };
    },
  } as unknown as ApiClient;
  return {
    api,
    calls,
    put(kind: string, name: string, spec: Record<string, unknown>, project = '') {
      const object = { kind, metadata: { name, project, uid: name, generation: 1, resourceVersion: '1' }, spec, status: {} } as unknown as Resource;
      objects.set(id(kind, project, name), object);
      return { kind, project, name };
    },
    remove(kind: string, name: string, project = '') {
      objects.delete(id(kind, project, name));
    },
    /** Holds every answer until the returned function is called. */
    hold(): () => void {
      let open!: () => void;
      gate = new Promise<void>((resolve) => (open = resolve));
      return () => {
        gate = undefined;
        open();
      };
    },
  };
}

function liveCache(api: ApiClient, extra: Partial<Parameters<typeof createReadCache>[0]> = {}): ReadCache {
  const cache = createReadCache({ api, kinds: [{ kind: 'Definition' }, { kind: 'Cluster', on: 'spec' }], ...extra });
  cache.setLive(true);
  return cache;
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('read cache', () => {
  it('answers a second read of a declared kind from memory, and reads other kinds from the API every time', async () => {
    const store = fakeStore();
    const ref = store.put('Definition', 'web', { replicas: 1 });
    const other = store.put('Other', 'x', {});
    const cache = liveCache(store.api);
    expect((await cache.get(ref))?.spec).toEqual({ replicas: 1 });
    expect((await cache.get(ref))?.spec).toEqual({ replicas: 1 });
    expect(store.calls.get).toBe(1);
    await cache.get(other);
    await cache.get(other);
    expect(store.calls.get).toBe(3);
    expect(cache.stats()).toMatchObject({ hits: 1, entries: 1 });
  });

  it('drops an object on its change event, and the lists of its kind with it', async () => {
    const store = fakeStore();
    const ref = store.put('Definition', 'web', { replicas: 1 });
    const cache = liveCache(store.api);
    await cache.get(ref);
    expect(await cache.list('Definition')).toHaveLength(1);
    store.put('Definition', 'web', { replicas: 2 });
    store.put('Definition', 'api', {});
    // Another object's change leaves this one's entry alone, but not the list.
    cache.changed({ kind: 'Definition', project: '', name: 'api' });
    expect((await cache.get(ref))?.spec).toEqual({ replicas: 1 });
    expect(await cache.list('Definition')).toHaveLength(2);
    cache.changed({ kind: 'Definition', project: '', name: 'web' });
    expect((await cache.get(ref))?.spec).toEqual({ replicas: 2 });
    expect(store.calls).toEqual({ get: 2, list: 2 });
  });

  it('keeps "not found" until the object is created', async () => {
    const store = fakeStore();
    const ref = { kind: 'Definition', project: '', name: 'web' };
    const cache = liveCache(store.api);
    expect(await cache.get(ref)).toBeUndefined();
    expect(await cache.get(ref)).toBeUndefined();
    expect(store.calls.get).toBe(1);
    store.put('Definition', 'web', { replicas: 3 });
    cache.changed(ref);
    expect((await cache.get(ref))?.spec).toEqual({ replicas: 3 });
    // And deleted again: the delete event drops it, "not found" is kept anew.
    store.remove('Definition', 'web');
    cache.changed(ref);
    expect(await cache.get(ref)).toBeUndefined();
    expect(await cache.get(ref)).toBeUndefined();
    expect(store.calls.get).toBe(3);
  });

  it('does not keep an answer that a change of the object overtook on its way', async () => {
    const store = fakeStore();
    const ref = store.put('Definition', 'web', { replicas: 1 });
    const cache = liveCache(store.api);
    const release = store.hold();
    const reading = cache.get(ref);
    await flush();
    // The change commits and its event arrives while the old answer is still on its way.
    store.put('Definition', 'web', { replicas: 2 });
    cache.changed(ref);
    release();
    expect((await reading)?.spec).toEqual({ replicas: 1 });
    expect((await cache.get(ref))?.spec).toEqual({ replicas: 2 });
    expect(cache.stats().raced).toBe(1);
  });

  it('does not keep a list that a change of any object of its kind overtook', async () => {
    const store = fakeStore();
    store.put('Definition', 'web', {});
    const cache = liveCache(store.api);
    const release = store.hold();
    const listing = cache.list('Definition');
    await flush();
    store.put('Definition', 'api', {});
    cache.changed({ kind: 'Definition', project: '', name: 'api' });
    release();
    expect(await listing).toHaveLength(1);
    expect(await cache.list('Definition')).toHaveLength(2);
  });

  it('keeps an answer when only another object changed meanwhile', async () => {
    const store = fakeStore();
    const ref = store.put('Definition', 'web', { replicas: 1 });
    const cache = liveCache(store.api);
    const release = store.hold();
    const reading = cache.get(ref);
    await flush();
    cache.changed({ kind: 'Definition', project: '', name: 'other' });
    cache.changed({ kind: 'Cluster', project: '', name: 'web' });
    release();
    await reading;
    await cache.get(ref);
    expect(store.calls.get).toBe(1);
  });

  it('drops everything, and keeps nothing that was on its way, when events could have been missed', async () => {
    const store = fakeStore();
    const ref = store.put('Definition', 'web', { replicas: 1 });
    const cluster = store.put('Cluster', 'local', {});
    const cache = liveCache(store.api);
    await cache.get(cluster);
    const release = store.hold();
    const reading = cache.get(ref);
    await flush();
    // A disconnect: changes made now are never seen.
    cache.setLive(false);
    store.put('Definition', 'web', { replicas: 2 });
    store.put('Cluster', 'local', { changed: true });
    release();
    await reading;
    // While not live, every read goes to the API and nothing is kept.
    expect((await cache.get(ref))?.spec).toEqual({ replicas: 2 });
    expect((await cache.get(cluster))?.spec).toEqual({ changed: true });
    cache.setLive(true);
    expect(cache.stats().entries).toBe(0);
    await cache.get(ref);
    await cache.get(ref);
    expect(store.calls.get).toBe(5);
  });

  it('reads an entry again once it is older than the maximum age', async () => {
    const store = fakeStore();
    const ref = store.put('Definition', 'web', { replicas: 1 });
    let now = 1_000;
    const cache = liveCache(store.api, { maxAgeMs: 500, now: () => now });
    await cache.get(ref);
    now += 499;
    await cache.get(ref);
    expect(store.calls.get).toBe(1);
    store.put('Definition', 'web', { replicas: 2 });
    now += 1;
    expect((await cache.get(ref))?.spec).toEqual({ replicas: 2 });
    expect(store.calls.get).toBe(2);
  });

  it('keeps at most maxEntries, the least recently used going first', async () => {
    const store = fakeStore();
    const [a, b, c] = ['a', 'b', 'c'].map((name) => store.put('Definition', name, {})) as [ObjectRef, ObjectRef, ObjectRef];
    const cache = liveCache(store.api, { maxEntries: 2 });
    await cache.get(a);
    await cache.get(b);
    await cache.get(a);
    await cache.get(c);
    expect(cache.stats().entries).toBe(2);
    expect(store.calls.get).toBe(3);
    await cache.get(a);
    expect(store.calls.get).toBe(3);
    await cache.get(b);
    expect(store.calls.get).toBe(4);
  });

  it('reload reads from the API whatever is kept, and keeps the answer for other readers', async () => {
    const store = fakeStore();
    const ref = store.put('Definition', 'web', { replicas: 1 });
    const cache = liveCache(store.api);
    await cache.get(ref);
    store.put('Definition', 'web', { replicas: 2 });
    expect((await cache.reload(ref))?.spec).toEqual({ replicas: 2 });
    expect((await cache.get(ref))?.spec).toEqual({ replicas: 2 });
    expect(store.calls.get).toBe(2);
  });
});

describe('read cache: mayExist', () => {
  it('answers from one listing of the kind\'s names, shared by callers at once; a change event adds a name', async () => {
    const store = fakeStore();
    store.put('Definition', 'web', {}, 'team-a');
    const cache = liveCache(store.api);
    const release = store.hold();
    const answers = Promise.all([
      cache.mayExist({ kind: 'Definition', project: 'team-a', name: 'web' }),
      cache.mayExist({ kind: 'Definition', project: 'team-a', name: 'api' }),
      cache.mayExist({ kind: 'Definition', project: 'team-b', name: 'web' }),
    ]);
    await flush();
    release();
    expect(await answers).toEqual([true, false, false]);
    expect(await cache.mayExist({ kind: 'Definition', project: 'team-a', name: 'api' })).toBe(false);
    expect(store.calls).toEqual({ get: 0, list: 1 });
    // Created: its event makes the name known, without listing again.
    store.put('Definition', 'api', {}, 'team-a');
    cache.changed({ kind: 'Definition', project: 'team-a', name: 'api' });
    expect(await cache.mayExist({ kind: 'Definition', project: 'team-a', name: 'api' })).toBe(true);
    expect(store.calls.list).toBe(1);
  });

  it('knows a name created while the listing was on its way', async () => {
    const store = fakeStore();
    const cache = liveCache(store.api);
    const release = store.hold();
    const answer = cache.mayExist({ kind: 'Definition', name: 'web' });
    await flush();
    store.put('Definition', 'web', {});
    cache.changed({ kind: 'Definition', project: '', name: 'web' });
    release();
    expect(await answer).toBe(true);
    expect(await cache.mayExist({ kind: 'Definition', name: 'web' })).toBe(true);
    expect(store.calls.list).toBe(1);
  });

  it('says "may exist" for an undeclared kind, while not live, and for a listing that a gap overtook, which it does not keep', async () => {
    const store = fakeStore();
    const cache = liveCache(store.api);
    expect(await cache.mayExist({ kind: 'Other', name: 'x' })).toBe(true);
    cache.setLive(false);
    expect(await cache.mayExist({ kind: 'Definition', name: 'web' })).toBe(true);
    expect(store.calls.list).toBe(0);
    cache.setLive(true);
    const release = store.hold();
    const answer = cache.mayExist({ kind: 'Definition', name: 'web' });
    await flush();
    // Events could have been missed while listing (a reconnect): nothing is known.
    cache.dropAll('reconnect');
    release();
    expect(await answer).toBe(true);
    expect(await cache.mayExist({ kind: 'Definition', name: 'web' })).toBe(false);
    expect(store.calls.list).toBe(2);
    expect(cache.stats().raced).toBe(1);
  });

  it('lists again after a drop and once the names are older than the maximum age, forgetting deleted objects', async () => {
    const store = fakeStore();
    store.put('Definition', 'web', {});
    let now = 1_000;
    const cache = liveCache(store.api, { maxAgeMs: 500, now: () => now });
    expect(await cache.mayExist({ kind: 'Definition', name: 'web' })).toBe(true);
    store.remove('Definition', 'web');
    cache.changed({ kind: 'Definition', project: '', name: 'web' });
    // Deleted: a change event adds, never removes (it cannot tell a delete request from the end).
    expect(await cache.mayExist({ kind: 'Definition', name: 'web' })).toBe(true);
    now += 500;
    expect(await cache.mayExist({ kind: 'Definition', name: 'web' })).toBe(false);
    cache.dropAll('slow consumer');
    expect(await cache.mayExist({ kind: 'Definition', name: 'web' })).toBe(false);
    expect(store.calls.list).toBe(3);
  });

  it('stops waiting when the caller\'s signal aborts, and the listing still serves the others', async () => {
    const store = fakeStore();
    store.put('Definition', 'web', {});
    const cache = liveCache(store.api);
    const release = store.hold();
    const caller = new AbortController();
    const first = cache.mayExist({ kind: 'Definition', name: 'web' }, { signal: caller.signal });
    const second = cache.mayExist({ kind: 'Definition', name: 'web' });
    caller.abort(new Error('lease lost'));
    await expect(first).rejects.toThrow('lease lost');
    release();
    expect(await second).toBe(true);
    expect(store.calls.list).toBe(1);
  });
});

describe('read cache: an owned object as its last status write left it', () => {
  const gadget = { kind: 'Gadget', project: 'team-a', name: 'g1' };
  const written = (resourceVersion: string) => ({ kind: 'Gadget', metadata: { name: 'g1', project: 'team-a', resourceVersion }, spec: {}, status: { phase: 'Ready' } }) as unknown as Resource;
  const ownedCache = (extra: Partial<Parameters<typeof createReadCache>[0]> = {}) => {
    const cache = createReadCache({ api: fakeStore().api, kinds: [], owned: ['Gadget'], ...extra });
    cache.setLive(true);
    return cache;
  };
  const status = (resourceVersion: string) => ({ resourceVersion: () => resourceVersion });

  it('remembers the answer (a copy each time) through its own status event, and forgets it on any other change', () => {
    const cache = ownedCache();
    cache.writing(gadget).done(written('5'));
    const first = cache.remembered(gadget);
    expect(first?.metadata.resourceVersion).toBe('5');
    first!.status.phase = 'Failed';
    expect(cache.remembered(gadget)?.status.phase).toBe('Ready');
    // The write's own event: still what is stored.
    cache.changed(gadget, status('5'));
    expect(cache.remembered(gadget)).toBeDefined();
    // Another status write (another replica's): forgotten.
    cache.changed(gadget, status('6'));
    expect(cache.remembered(gadget)).toBeUndefined();
    // A desired-state change forgets it too, and so does a change whose version is unknown.
    cache.writing(gadget).done(written('7'));
    cache.changed(gadget);
    expect(cache.remembered(gadget)).toBeUndefined();
    cache.writing(gadget).done(written('8'));
    cache.changed(gadget, { resourceVersion: () => undefined });
    expect(cache.remembered(gadget)).toBeUndefined();
    // Another object's change leaves it alone.
    cache.writing(gadget).done(written('9'));
    cache.changed({ ...gadget, name: 'g2' }, status('10'));
    expect(cache.remembered(gadget)?.metadata.resourceVersion).toBe('9');
    expect(cache.stats().remembered).toBe(4);
  });

  it('does not remember a write that another change overtook on its way, a failed write, or one of a kind it does not own', () => {
    const cache = ownedCache();
    const overtaken = cache.writing(gadget);
    cache.changed(gadget, status('6'));
    overtaken.done(written('5'));
    expect(cache.remembered(gadget)).toBeUndefined();
    // Its own event arriving before its answer is no reason to forget.
    const own = cache.writing(gadget);
    cache.changed(gadget, status('7'));
    own.done(written('7'));
    expect(cache.remembered(gadget)?.metadata.resourceVersion).toBe('7');
    const failing = cache.writing(gadget);
    failing.failed();
    expect(cache.remembered(gadget)).toBeUndefined();
    const hub = { kind: 'Hub', project: 'team-a', name: 'h1' };
    cache.writing(hub).done({ ...written('8'), kind: 'Hub' } as Resource);
    expect(cache.remembered(hub)).toBeUndefined();
  });

  it('remembers nothing across a gap, while not live, or past the maximum age', () => {
    let now = 1_000;
    const cache = ownedCache({ maxAgeMs: 500, now: () => now });
    const during = cache.writing(gadget);
    cache.dropAll('reconnect');
    during.done(written('5'));
    expect(cache.remembered(gadget)).toBeUndefined();
    cache.writing(gadget).done(written('6'));
    cache.dropAll('slow consumer');
    expect(cache.remembered(gadget)).toBeUndefined();
    cache.writing(gadget).done(written('7'));
    cache.setLive(false);
    cache.writing(gadget).done(written('8'));
    expect(cache.remembered(gadget)).toBeUndefined();
    cache.setLive(true);
    cache.writing(gadget).done(written('9'));
    now += 499;
    expect(cache.remembered(gadget)).toBeDefined();
    now += 1;
    expect(cache.remembered(gadget)).toBeUndefined();
    cache.writing(gadget).done(written('10'));
    cache.forget(gadget);
    expect(cache.remembered(gadget)).toBeUndefined();
  });

  it('remembers at most 1,000 writes, the oldest going first', () => {
    const cache = ownedCache();
    const named = (name: string) => ({ ...gadget, name });
    for (let index = 0; index <= 1_000; index += 1) cache.writing(named(`g${index}`)).done({ ...written(String(index)), metadata: { name: `g${index}`, project: 'team-a', resourceVersion: String(index) } } as unknown as Resource);
    expect(cache.remembered(named('g0'))).toBeUndefined();
    expect(cache.remembered(named('g1'))?.metadata.resourceVersion).toBe('1');
    expect(cache.remembered(named('g1000'))?.metadata.resourceVersion).toBe('1000');
  });
});

describe('declaring the cached kinds', () => {
  const declare = (cache: unknown[]) => () => defineController({ name: 'c', owns: 'Gadget', cache: cache as never, reconcile: () => undefined });
  it('takes kind names and { kind, on }, and refuses what is not a kind, an unknown channel or a kind twice, naming the field', () => {
    expect(declare(['Hub', { kind: 'Stack', on: 'spec' }])().cache).toEqual([
      { kind: 'Hub', on: 'all' },
      { kind: 'Stack', on: 'spec' },
    ]);
    const refused = (cache: unknown[]) => {
      try {
        declare(cache)();
      } catch (error) {
        expect(error).toBeInstanceOf(InputError);
        return (error as InputError).details;
      }
      throw new Error('not refused');
    };
    expect(refused(['hubs'])).toEqual([{ path: 'cache[0].kind', rule: 'kind' }]);
    expect(refused([{ kind: 'Hub', on: 'sometimes' }])).toEqual([{ path: 'cache[0].on', rule: 'enum' }]);
    expect(refused(['Hub', { kind: 'Hub', on: 'spec' }])).toEqual([{ path: 'cache[1].kind', rule: 'unique' }]);
  });
});

describe('read cache fed by NATS', () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connect({ servers: '127.0.0.1:4222', reconnectTimeWait: 50, maxReconnectAttempts: -1 });
  });
  afterAll(async () => nc.close());

  async function until(what: string, probe: () => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!probe()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('drops an entry on a desired-state or status event of its object; a spec-only kind ignores status events', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const store = fakeStore();
    const definition = store.put('Definition', 'web', { replicas: 1 });
    const cluster = store.put('Cluster', 'local', {});
    const cache = createReadCache({ api: store.api, kinds: [{ kind: 'Definition' }, { kind: 'Cluster', on: 'spec' }] });
    const feed = await feedReadCache(cache, { nats: nc, prefix, logger: pino({ level: 'silent' }) });
    try {
      expect(cache.live).toBe(true);
      await cache.get(definition);
      await cache.get(cluster);
      nc.publish(`${prefix}.status.Definition._.web`, '{}');
      nc.publish(`${prefix}.status.Cluster._.local`, '{}');
      await nc.flush();
      await until('the status event to drop the definition', () => cache.stats().invalidations >= 1);
      await cache.get(definition);
      await cache.get(cluster);
      expect(store.calls.get).toBe(3);
      nc.publish(`${prefix}.res.Cluster._.local`, '{}');
      await until('the spec event to drop the cluster', () => cache.stats().invalidations >= 2);
      await cache.get(cluster);
      expect(store.calls.get).toBe(4);
    } finally {
      await feed.stop();
    }
    expect(cache.live).toBe(false);
  });

  it('follows both channels of an owned kind: its own status event keeps a remembered write, any other change forgets it', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const cache = createReadCache({ api: fakeStore().api, kinds: [], owned: ['Gadget'] });
    const feed = await feedReadCache(cache, { nats: nc, prefix, logger: pino({ level: 'silent' }) });
    const gadget = { kind: 'Gadget', project: 'team-a', name: 'g1' };
    const written = (resourceVersion: string) => ({ kind: 'Gadget', metadata: { name: 'g1', project: 'team-a', resourceVersion }, spec: {}, status: {} }) as unknown as Resource;
    const event = (resourceVersion: string) => JSON.stringify({ ...gadget, cause: 'status', resourceVersion });
    // A marker after each event: once it is seen, the event before it was handled (one connection, in order).
    const marker = { ...gadget, name: 'marker' };
    const handled = async (subject: string, body: string) => {
      nc.publish(subject, body);
      cache.writing(marker).done({ ...written('1'), metadata: { ...written('1').metadata, name: 'marker' } } as Resource);
      nc.publish(`${prefix}.res.Gadget.team-a.marker`, '{}');
      await until('the marker', () => cache.remembered(marker) === undefined);
    };
    try {
      cache.writing(gadget).done(written('5'));
      await handled(`${prefix}.status.Gadget.team-a.g1`, event('5'));
      expect(cache.remembered(gadget)?.metadata.resourceVersion).toBe('5');
      await handled(`${prefix}.status.Gadget.team-a.g1`, event('6'));
      expect(cache.remembered(gadget)).toBeUndefined();
      cache.writing(gadget).done(written('7'));
      await handled(`${prefix}.res.Gadget.team-a.g1`, JSON.stringify({ ...gadget, cause: 'spec', resourceVersion: '7' }));
      expect(cache.remembered(gadget)).toBeUndefined();
      cache.writing(gadget).done(written('8'));
      await handled(`${prefix}.status.Gadget.team-a.g1`, 'not json');
      expect(cache.remembered(gadget)).toBeUndefined();
    } finally {
      await feed.stop();
    }
  });

  it('drops everything on a reconnect and serves from memory again once the subscriptions are back', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const store = fakeStore();
    const definition = store.put('Definition', 'web', { replicas: 1 });
    const cache = createReadCache({ api: store.api, kinds: [{ kind: 'Definition' }] });
    const feed = await feedReadCache(cache, { nats: nc, prefix, logger: pino({ level: 'silent' }) });
    try {
      await cache.get(definition);
      expect(cache.stats().entries).toBe(1);
      // A change while the connection is away is never delivered: the reconnect must drop what was kept.
      store.put('Definition', 'web', { replicas: 2 });
      const drops = cache.stats().drops;
      await nc.reconnect();
      await until('the reconnect to drop the cache', () => cache.stats().drops > drops);
      await until('the cache to be live again', () => cache.live);
      expect((await cache.get(definition))?.spec).toEqual({ replicas: 2 });
      await cache.get(definition);
      expect(store.calls.get).toBe(2);
      // And the subscription works after the reconnect.
      nc.publish(`${prefix}.res.Definition._.web`, '{}');
      await until('the event after the reconnect', () => cache.stats().entries === 0);
    } finally {
      await feed.stop();
    }
  });
});
