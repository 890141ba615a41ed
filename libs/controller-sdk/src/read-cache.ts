import type { ApiClient, ObjectRef } from '@tugboat/api-client';
import { InputError, type Resource, type ResourceKey, type ResourceStatus } from '@tugboat/resource-model';

/**
 * Which changes of a cached kind drop its entries: every change (`all`: desired state and status,
 * the default), or desired-state changes only (`spec`: create, spec, labels, deletion). An entry of
 * a `spec` kind keeps its metadata and spec current but may hold an old status: for a kind whose
 * status churns (an owned kind, say) when only its labels or spec are read.
 */
export type CacheChannel = 'all' | 'spec';

export interface CacheSpec {
  kind: string;
  on?: CacheChannel;
}

export interface CachedReadOptions {
  signal?: AbortSignal;
}

/**
 * Reads of other kinds served from memory, kept current by their change events (see
 * `createReadCache`). Reads of kinds the controller did not declare in `cache` go to the API
 * uncached. What they return is shared between readers: never change it.
 */
export interface CachedReads {
  /** `undefined` when the object does not exist (that answer is cached too). */
  get<Spec = Record<string, unknown>, Status = ResourceStatus>(ref: ObjectRef, options?: CachedReadOptions): Promise<Resource<Spec, Status> | undefined>;
  /** Every object of the kind, all projects (what `listAll(kind)` yields, as one array). */
  list<Spec = Record<string, unknown>, Status = ResourceStatus>(kind: string, options?: CachedReadOptions): Promise<ReadonlyArray<Resource<Spec, Status>>>;
}

export interface ReadCacheOptions {
  api: ApiClient;
  kinds: readonly CacheSpec[];
  /** An entry is read again after this long even without an event: the safety net. Default 60 s. */
  maxAgeMs?: number;
  /** Entries kept at most (a list counts as one); the least recently used go first. Default 5,000. */
  maxEntries?: number;
  now?: () => number;
}

export interface ReadCacheStats {
  hits: number;
  misses: number;
  /** Reads whose answer was not kept because a change (or a gap) came while they were on their way. */
  raced: number;
  invalidations: number;
  drops: number;
  entries: number;
}

export interface ReadCache extends CachedReads {
  /** The kinds and the channel that keeps each current (`all` wins where declarations differ). */
  readonly kinds: ReadonlyMap<string, CacheChannel>;
  /**
   * Reads the object from the API whatever is kept, and keeps the answer by the same rules: for a
   * read that must be current (the object a reconcile is about) and primes the cache for others.
   */
  reload<Spec = Record<string, unknown>, Status = ResourceStatus>(ref: ObjectRef, options?: CachedReadOptions): Promise<Resource<Spec, Status> | undefined>;
  /** A change of one object: its entry and the lists of its kind go (and reads on their way are not kept). */
  changed(key: ResourceKey): void;
  /** Events could have been missed (a reconnect): everything goes, reads on their way are not kept. */
  dropAll(reason: string): void;
  /**
   * While not live (before the change feed is subscribed, while disconnected), reads go to the API
   * and nothing is kept. Going live or not drops everything.
   */
  setLive(live: boolean): void;
  readonly live: boolean;
  stats(): ReadCacheStats;
}

interface Entry {
  value: unknown;
  storedAt: number;
}

/** A read on its way: `stale` once something that could change its answer happened meanwhile. */
interface Flight {
  kind: string;
  /** `undefined` for a list of the kind. */
  id: string | undefined;
  stale: boolean;
}

const idOf = (kind: string, project: string | undefined, name: string): string => `${kind}/${project ?? ''}/${name}`;
const listId = (kind: string): string => `${kind}//*list`;

/**
 * A watch-fed cache, as Kubernetes informers and listers are: reads of the declared kinds are
 * answered from memory, and each change event of an object drops what was kept of it (and the
 * lists of its kind). Correctness rests on three rules:
 *
 * - A read that a change (or a gap) overtook is answered but not kept: every read in flight is
 *   registered, and `changed`/`dropAll` mark the ones they affect (the per-key epoch). The API
 *   commits before it publishes the event, so a read that starts after an event sees that change.
 * - Anything that could have lost events (a disconnect or reconnect, a slow consumer) drops
 *   everything, and nothing is kept until the feed is live again.
 * - Entries are read again after `maxAgeMs`, and at most `maxEntries` are kept (least recently used
 *   first out), so a missed event is bounded in time and the cache in memory.
 *
 * "Not found" is an answer like any other and is kept: a create event drops it.
 */
export function createReadCache(options: ReadCacheOptions): ReadCache {
  const api = options.api;
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const maxEntries = options.maxEntries ?? 5_000;
  const now = options.now ?? Date.now;
  if (!(maxAgeMs > 0)) throw new InputError('maxAgeMs: must be > 0', { details: [{ path: 'maxAgeMs', rule: 'minimum' }] });
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new InputError('maxEntries: must be an integer >= 1', { details: [{ path: 'maxEntries', rule: 'minimum' }] });
  const kinds = new Map<string, CacheChannel>();
  for (const spec of options.kinds) kinds.set(spec.kind, kinds.get(spec.kind) === 'all' ? 'all' : (spec.on ?? 'all'));

  // Insertion order is recency order: a hit moves its entry to the end, eviction takes the first.
  const entries = new Map<string, Entry>();
  const flights = new Set<Flight>();
  let live = false;
  const counters = { hits: 0, misses: 0, raced: 0, invalidations: 0, drops: 0 };

  function fresh(id: string): Entry | undefined {
    const entry = entries.get(id);
    if (entry === undefined) return undefined;
    if (now() - entry.storedAt >= maxAgeMs) {
      entries.delete(id);
      return undefined;
    }
    entries.delete(id);
    entries.set(id, entry);
    return entry;
  }

  function keep(id: string, value: unknown): void {
    entries.delete(id);
    entries.set(id, { value, storedAt: now() });
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next().value as string;
      entries.delete(oldest);
    }
  }

  async function read<T>(kind: string, id: string, single: boolean, load: () => Promise<T>, reload = false): Promise<T> {
    const kept = live && !reload ? fresh(id) : undefined;
    if (kept !== undefined) {
      counters.hits += 1;
      return kept.value as T;
    }
    counters.misses += 1;
    const flight: Flight = { kind, id: single ? id : undefined, stale: !live };
    flights.add(flight);
    try {
      const value = await load();
      if (flight.stale || !live) counters.raced += 1;
      else keep(id, value);
      return value;
    } finally {
      flights.delete(flight);
    }
  }

  const cache: ReadCache = {
    kinds,

    get<Spec, Status>(ref: ObjectRef, readOptions: CachedReadOptions = {}) {
      const load = () => api.get<Spec, Status>(ref, { signal: readOptions.signal });
      if (!kinds.has(ref.kind)) return load();
      return read(ref.kind, idOf(ref.kind, ref.project, ref.name), true, load);
    },

    reload<Spec, Status>(ref: ObjectRef, readOptions: CachedReadOptions = {}) {
      const load = () => api.get<Spec, Status>(ref, { signal: readOptions.signal });
      if (!kinds.has(ref.kind)) return load();
      return read(ref.kind, idOf(ref.kind, ref.project, ref.name), true, load, true);
    },

    list<Spec, Status>(kind: string, readOptions: CachedReadOptions = {}) {
      const load = async () => {
        const items: Array<Resource<Spec, Status>> = [];
        for await (const item of api.listAll<Spec, Status>(kind, { signal: readOptions.signal })) items.push(item);
        return items as ReadonlyArray<Resource<Spec, Status>>;
      };
      if (!kinds.has(kind)) return load();
      return read(kind, listId(kind), false, load);
    },

    changed(key) {
      if (!kinds.has(key.kind)) return;
      counters.invalidations += 1;
      const id = idOf(key.kind, key.project, key.name);
      entries.delete(id);
      entries.delete(listId(key.kind));
      for (const flight of flights) {
        if (flight.kind === key.kind && (flight.id === undefined || flight.id === id)) flight.stale = true;
      }
    },

    dropAll() {
      counters.drops += 1;
      entries.clear();
      for (const flight of flights) flight.stale = true;
    },

    setLive(next) {
      cache.dropAll(next ? 'live' : 'not live');
      live = next;
    },

    get live() {
      return live;
    },

    stats: () => ({ ...counters, entries: entries.size }),
  };
  return cache;
}

/** Reads straight from the API: what reconcile code gets where no cache runs (unit tests, `reconcileOnce`). */
export function uncachedReads(api: ApiClient): ReadCache {
  return createReadCache({ api, kinds: [] });
}
