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
  /**
   * `false` when the object is known not to exist, `true` when it may (read it to know). For a
   * declared kind the answer comes from the names of all its objects, listed once and kept
   * current by the kind's change events (a name is added by any change of it and only a new
   * listing removes one): the first answer for an object that does not exist costs no read of
   * its own, where `get` would ask the API once per name. For another kind, or while the cache is
   * not live, always `true`.
   */
  mayExist(ref: ObjectRef, options?: CachedReadOptions): Promise<boolean>;
}

export interface ReadCacheOptions {
  api: ApiClient;
  kinds: readonly CacheSpec[];
  /**
   * The controller's owned kinds: what its status writes answer is remembered (`remembered`), and
   * the feed follows both channels of these kinds to know when that is no longer what is stored.
   */
  owned?: readonly string[];
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
  /** Reconciles that started from what their object's last status write left (`remembered`). */
  remembered: number;
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
  /** The owned kinds whose status writes are remembered (`remembered`). */
  readonly owned: ReadonlySet<string>;
  /**
   * A change of one object: its entry and the lists of its kind go (and reads on their way are not
   * kept). `status` for a status change (which leaves a `spec` kind's entries alone) with its
   * resourceVersion, read only when needed; absent: a desired-state change, or unknown.
   */
  changed(key: ResourceKey, status?: { resourceVersion: () => string | undefined }): void;
  /**
   * The object as this replica's last status write left it (the API's answer), while that is
   * still what is stored as far as the feed tells: no change of it of either channel since, other
   * than that write's own event, no gap, not older than the maximum age. `undefined` otherwise.
   */
  remembered<Spec = Record<string, unknown>, Status = ResourceStatus>(key: ResourceKey): Resource<Spec, Status> | undefined;
  /**
   * A status write of an owned object on its way: `done` with the API's answer remembers it unless
   * a change of the object (or a gap) came meanwhile; `failed` forgets what was remembered.
   */
  writing(key: ResourceKey): { done(object: Resource): void; failed(): void };
  /** Forgets what `remembered` would answer for this object (it was changed another way). */
  forget(key: ResourceKey): void;
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

/** A status write of an owned object on its way: `stale` once another change of it (or a gap) came. */
interface WriteFlight {
  id: string;
  stale: boolean;
  /** resourceVersions of the object's status changes seen meanwhile (its own among them, maybe). */
  seen: Set<string>;
}

/** The names of every object of a kind (ids as `idOf` makes them), as listed and since changed. */
interface NameIndex {
  ids: Set<string>;
  storedAt: number;
}

/** A listing of a kind's names on its way: the names changed meanwhile join it; `stale` after a gap. */
interface IndexFlight {
  kind: string;
  added: Set<string>;
  stale: boolean;
  done: Promise<Set<string> | undefined>;
}

const idOf = (kind: string, project: string | undefined, name: string): string => `${kind}/${project ?? ''}/${name}`;
const listId = (kind: string): string => `${kind}//*list`;
/** Status writes remembered at most (`remembered`): the objects requeued within seconds of their write. */
const MAX_REMEMBERED = 1_000;
/** A listing of a kind's names that takes longer is given up (and the next `mayExist` lists again). */
const INDEX_LISTING_TIMEOUT_MS = 30_000;

/** `promise`'s outcome, or the signal's reason once it aborts first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

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
  // One per kind asked about (a kind's names: as many as it has objects), outside `maxEntries`.
  const indexes = new Map<string, NameIndex>();
  const indexFlights = new Map<string, IndexFlight>();
  const owned = new Set(options.owned ?? []);
  // Per owned object: what this replica's last status write left stored, as JSON (a reconcile gets
  // its own copy); gone on any other change, a gap or after `maxAgeMs`, and at most
  // MAX_REMEMBERED, oldest write out first: a requeue comes seconds after its write.
  const written = new Map<string, { text: string; resourceVersion: string; storedAt: number }>();
  const writeFlights = new Set<WriteFlight>();
  let live = false;
  const counters = { hits: 0, misses: 0, raced: 0, invalidations: 0, drops: 0, remembered: 0 };

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

  /**
   * Lists the kind's names (all projects), once however many ask meanwhile; kept unless a gap came.
   * Shared, so no one caller's signal ends it: each caller stops waiting on its own (`untilAborted`).
   */
  function loadIndex(kind: string): Promise<Set<string> | undefined> {
    const flight: IndexFlight = { kind, added: new Set(), stale: !live, done: Promise.resolve(undefined) };
    flight.done = (async () => {
      try {
        const ids = new Set<string>();
        for await (const item of api.listAll(kind, { signal: AbortSignal.timeout(INDEX_LISTING_TIMEOUT_MS) })) ids.add(idOf(kind, item.metadata.project, item.metadata.name));
        for (const id of flight.added) ids.add(id);
        if (flight.stale || !live) {
          counters.raced += 1;
          return undefined;
        }
        indexes.set(kind, { ids, storedAt: now() });
        return ids;
      } finally {
        if (indexFlights.get(kind) === flight) indexFlights.delete(kind);
      }
    })();
    // Its callers may all have stopped waiting: a failure is theirs to see, never an unhandled rejection.
    flight.done.catch(() => undefined);
    indexFlights.set(kind, flight);
    return flight.done;
  }

  /** Whether a status write of `id` is in flight. */
  function writing(id: string): boolean {
    for (const flight of writeFlights) if (flight.id === id) return true;
    return false;
  }

  /**
   * A change of an owned object: what its last status write left is no longer known to be stored,
   * unless this is that write's own status event (the same resourceVersion).
   */
  function ownChange(id: string, status: { resourceVersion: () => string | undefined } | undefined): void {
    const kept = written.get(id);
    // Most events are of objects this replica neither remembers nor is writing: their body is not read.
    if (kept === undefined && !writing(id)) return;
    const version = status?.resourceVersion();
    if (kept !== undefined && (version === undefined || version !== kept.resourceVersion)) written.delete(id);
    for (const flight of writeFlights) {
      if (flight.id !== id) continue;
      if (version === undefined) flight.stale = true;
      else flight.seen.add(version);
    }
  }

  const cache: ReadCache = {
    kinds,
    owned,

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

    async mayExist(ref: ObjectRef, readOptions: CachedReadOptions = {}) {
      if (!kinds.has(ref.kind) || !live) return true;
      const id = idOf(ref.kind, ref.project, ref.name);
      const index = indexes.get(ref.kind);
      if (index !== undefined && now() - index.storedAt < maxAgeMs) {
        counters.hits += 1;
        return index.ids.has(id);
      }
      indexes.delete(ref.kind);
      counters.misses += 1;
      const ids = await untilAborted(indexFlights.get(ref.kind)?.done ?? loadIndex(ref.kind), readOptions.signal);
      // A gap while listing: nothing is known.
      return ids === undefined || ids.has(id);
    },

    changed(key, status) {
      const id = idOf(key.kind, key.project, key.name);
      if (owned.has(key.kind)) ownChange(id, status);
      const channel = kinds.get(key.kind);
      if (channel === undefined) return;
      // Created (or changed, which proves it exists or existed): the names know it from now on.
      indexes.get(key.kind)?.ids.add(id);
      indexFlights.get(key.kind)?.added.add(id);
      if (status !== undefined && channel === 'spec') return;
      counters.invalidations += 1;
      entries.delete(id);
      entries.delete(listId(key.kind));
      for (const flight of flights) {
        if (flight.kind === key.kind && (flight.id === undefined || flight.id === id)) flight.stale = true;
      }
    },

    remembered<Spec, Status>(key: ResourceKey) {
      if (!live) return undefined;
      const id = idOf(key.kind, key.project, key.name);
      const kept = written.get(id);
      if (kept === undefined) return undefined;
      if (now() - kept.storedAt >= maxAgeMs) {
        written.delete(id);
        return undefined;
      }
      counters.remembered += 1;
      // A copy: reconcile code may change the object it is given, the kept one must stay as stored.
      return JSON.parse(kept.text) as Resource<Spec, Status>;
    },

    writing(key) {
      const id = idOf(key.kind, key.project, key.name);
      const flight: WriteFlight = { id, stale: !live || !owned.has(key.kind), seen: new Set() };
      writeFlights.add(flight);
      return {
        done(object) {
          writeFlights.delete(flight);
          const version = object.metadata.resourceVersion;
          // Anything but this write's own event seen meanwhile: what is stored may be newer.
          if (flight.stale || !live || [...flight.seen].some((seen) => seen !== version)) {
            written.delete(id);
            counters.raced += 1;
            return;
          }
          written.delete(id);
          written.set(id, { text: JSON.stringify(object), resourceVersion: version, storedAt: now() });
          if (written.size > MAX_REMEMBERED) written.delete(written.keys().next().value as string);
        },
        failed() {
          writeFlights.delete(flight);
          written.delete(id);
        },
      };
    },

    forget(key) {
      written.delete(idOf(key.kind, key.project, key.name));
    },

    dropAll() {
      counters.drops += 1;
      entries.clear();
      indexes.clear();
      written.clear();
      for (const flight of writeFlights) flight.stale = true;
      for (const flight of flights) flight.stale = true;
      for (const flight of indexFlights.values()) flight.stale = true;
    },

    setLive(next) {
      cache.dropAll(next ? 'live' : 'not live');
      live = next;
    },

    get live() {
      return live;
    },

    stats: () => ({ ...counters, entries: entries.size + indexes.size + written.size }),
  };
  return cache;
}

/** Reads straight from the API: what reconcile code gets where no cache runs (unit tests, `reconcileOnce`). */
export function uncachedReads(api: ApiClient): ReadCache {
  return createReadCache({ api, kinds: [] });
}
