import type { KindDefinition } from '@tugboat/resource-model';

export interface KindCacheOptions {
  load(signal: AbortSignal | undefined): Promise<KindDefinition[]>;
  /** How long a loaded list is trusted before a miss reloads it. */
  ttlMs: number;
  /** A miss reloads at most this often, so a typo cannot hammer the API. Default 1 s. */
  missReloadMs?: number;
  now?: () => number;
}

export interface KindCache {
  /** By kind, plural, singular or short name (names other than the kind are case-insensitive). */
  resolve(name: string, signal: AbortSignal | undefined): Promise<KindDefinition | undefined>;
  refresh(signal: AbortSignal | undefined): Promise<KindDefinition[]>;
  invalidate(): void;
}

/** Caches `/v1/kinds`: kinds change rarely, but a newly registered one must be found on first use. */
export function createKindCache(options: KindCacheOptions): KindCache {
  const now = options.now ?? Date.now;
  const missReloadMs = options.missReloadMs ?? 1_000;
  let loadedAt = -Infinity;
  let byName = new Map<string, KindDefinition>();
  let list: KindDefinition[] = [];
  let inFlight: Promise<KindDefinition[]> | undefined;

  function index(definitions: KindDefinition[]): void {
    const next = new Map<string, KindDefinition>();
    for (const definition of definitions) {
      for (const alias of [definition.plural, definition.singular, ...(definition.shortNames ?? [])]) {
        if (alias) next.set(alias.toLowerCase(), definition);
      }
      next.set(definition.kind.toLowerCase(), definition);
    }
    byName = next;
    list = definitions;
    loadedAt = now();
  }

  function refresh(signal: AbortSignal | undefined): Promise<KindDefinition[]> {
    // Concurrent callers share one request; the first caller's signal governs it.
    inFlight ??= options
      .load(signal)
      .then((definitions) => {
        index(definitions);
        return definitions;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  return {
    async resolve(name, signal) {
      const key = name.toLowerCase();
      const age = now() - loadedAt;
      const cached = byName.get(key);
      if (cached !== undefined && age < options.ttlMs) return cached;
      if (cached === undefined && age < missReloadMs) return undefined;
      try {
        await refresh(signal);
      } catch (error) {
        // A stale definition is still right for building URLs; prefer it to failing the call.
        if (cached !== undefined && !signal?.aborted) return cached;
        throw error;
      }
      return byName.get(key);
    },
    refresh: async (signal) => {
      await refresh(signal);
      return list;
    },
    invalidate() {
      loadedAt = -Infinity;
    },
  };
}
