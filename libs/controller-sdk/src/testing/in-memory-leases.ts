import { LeaseLostError, type Lease, type LeaseManager } from '../lease-manager.js';

export interface InMemoryLeaseManager extends LeaseManager {
  /** Makes the holder of `key` lose its lease now, as a takeover by another replica would. */
  lose(key: string): void;
  /** Marks `key` as held by another replica (acquire answers busy) until `free(key)`. */
  holdElsewhere(key: string): void;
  free(key: string): void;
  /** What a released lease left behind, per key (e.g. `{ failures: 2 }`). */
  data(key: string): Record<string, unknown> | undefined;
}

/** Leases for one process, for unit tests: same contract as the NATS KV leases, no bus. */
export function createInMemoryLeaseManager(): InMemoryLeaseManager {
  const held = new Map<string, { abort: AbortController; lost: boolean }>();
  const elsewhere = new Set<string>();
  const left = new Map<string, Record<string, unknown>>();

  return {
    async acquire(key) {
      if (held.has(key) || elsewhere.has(key)) return { held: false, busyForMs: 100 };
      const entry = { abort: new AbortController(), lost: false };
      held.set(key, entry);
      let released = false;
      const lease: Lease = {
        key,
        signal: entry.abort.signal,
        previous: { ...left.get(key) },
        isHeld: () => !released && !entry.lost,
        assertHeld() {
          if (!lease.isHeld()) throw entry.abort.signal.reason ?? new LeaseLostError(key, 'released');
        },
        async release(data = {}) {
          if (released) return;
          released = true;
          if (held.get(key) === entry) held.delete(key);
          if (!entry.lost) left.set(key, { ...data });
        },
      };
      return { held: true, lease };
    },
    async releaseAll() {
      held.clear();
    },
    lose(key) {
      const entry = held.get(key);
      if (entry === undefined) return;
      entry.lost = true;
      held.delete(key);
      entry.abort.abort(new LeaseLostError(key, 'taken over by another holder'));
    },
    holdElsewhere: (key) => elsewhere.add(key),
    free: (key) => elsewhere.delete(key),
    data: (key) => left.get(key),
  };
}
