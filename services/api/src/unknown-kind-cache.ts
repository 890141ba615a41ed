/**
 * A kind registry that remembers names it did not find. Every miss of the registry re-reads the
 * kinds table (so a kind registered through another replica is found), which let a request naming
 * many unknown kinds, or many requests naming one, cost a query each. A name found missing is
 * answered from memory for `ttlMs`; any change the registry sees (a registration, update or delete
 * through this process, or one through another replica found by its reload) forgets every remembered
 * name at once, and a change not yet seen by the registry is found within `ttlMs`.
 */
import { NotFoundError } from '@tugboat/resource-model';
import type { KindRegistry } from './kind-registry.js';

export interface UnknownKindCacheOptions {
  /** How long a miss is remembered. Default 2 s. */
  ttlMs?: number;
  /** Names remembered at most; the oldest is forgotten first. Default 10 000. */
  maxEntries?: number;
  now?: () => number;
}

export function withUnknownKindCache(registry: KindRegistry, options: UnknownKindCacheOptions = {}): KindRegistry {
  const ttlMs = options.ttlMs ?? 2_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const unknown = new Map<string, number>();

  function knownMissing(name: string): boolean {
    const key = name.toLowerCase();
    const until = unknown.get(key);
    if (until === undefined) return false;
    if (until > now()) return true;
    unknown.delete(key);
    return false;
  }

  function remember(name: string): void {
    const key = name.toLowerCase();
    unknown.delete(key);
    if (unknown.size >= maxEntries) unknown.delete(unknown.keys().next().value!);
    unknown.set(key, now() + ttlMs);
  }

  async function get(name: string): ReturnType<KindRegistry['get']> {
    if (knownMissing(name)) return undefined;
    const found = await registry.get(name);
    if (!found) remember(name);
    return found;
  }

  registry.onChange(() => unknown.clear());

  return {
    ...registry,
    get,
    async getOrThrow(name) {
      const found = await get(name);
      if (!found) throw new NotFoundError(`unknown kind "${name}"`, { details: [{ path: 'kind', rule: 'unknown-kind' }] });
      return found;
    },
  };
}
