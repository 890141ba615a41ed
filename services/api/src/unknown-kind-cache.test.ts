import type { KindDefinition } from '@tugboat/resource-model';
import type { KindChange, KindRegistry, RegisteredKind } from './kind-registry.js';
import { withUnknownKindCache } from './unknown-kind-cache.js';

/** A registry that counts its table reads (every miss is one). */
function fakeRegistry() {
  const known = new Map<string, RegisteredKind>();
  const calls = { misses: 0 };
  const listeners = new Set<(change: KindChange) => void>();
  const changed = (change: KindChange) => listeners.forEach((listener) => listener(change));
  const registry: KindRegistry = {
    async get(name) {
      const found = known.get(name.toLowerCase());
      if (!found) calls.misses++;
      return found;
    },
    async getOrThrow(name) {
      const found = await registry.get(name);
      if (!found) throw new Error('not found');
      return found;
    },
    async list() {
      return [...known.values()].map((k) => k.definition);
    },
    async register(input) {
      const definition = input as KindDefinition;
      known.set(definition.kind.toLowerCase(), { definition, validateSpec: () => [] });
      changed({ added: [definition.kind], changed: [], removed: [] });
      return definition;
    },
    async apply(kindName, input) {
      const definition = { ...(input as KindDefinition), kind: kindName };
      known.set(kindName.toLowerCase(), { definition, validateSpec: () => [] });
      changed({ added: [kindName], changed: [], removed: [] });
      return { definition, action: 'created' };
    },
    async delete(name) {
      const found = known.get(name.toLowerCase());
      if (!found) throw new Error('not found');
      known.delete(name.toLowerCase());
      changed({ added: [], changed: [], removed: [name] });
      return found.definition;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async refresh() {},
  };
  return { registry, calls };
}

describe('withUnknownKindCache', () => {
  it('answers a repeated miss from memory until the time-to-live passes', async () => {
    const { registry, calls } = fakeRegistry();
    let now = 0;
    const kinds = withUnknownKindCache(registry, { ttlMs: 1_000, now: () => now });
    for (let i = 0; i < 50; i++) expect(await kinds.get('Nope')).toBeUndefined();
    expect(calls.misses).toBe(1);
    await expect(kinds.getOrThrow('NOPE')).rejects.toMatchObject({ status: 404, details: [{ path: 'kind', rule: 'unknown-kind' }] });
    expect(calls.misses).toBe(1);
    now = 1_001;
    await kinds.get('nope');
    expect(calls.misses).toBe(2);
  });

  it('forgets every miss when a kind is registered', async () => {
    const { registry } = fakeRegistry();
    const kinds = withUnknownKindCache(registry, { ttlMs: 60_000 });
    expect(await kinds.get('Gadget')).toBeUndefined();
    await kinds.register({ kind: 'Gadget' });
    expect((await kinds.get('gadget'))?.definition.kind).toBe('Gadget');
  });

  it('forgets every miss when the registry reports any change (an update, a delete, another replica)', async () => {
    const { registry } = fakeRegistry();
    const kinds = withUnknownKindCache(registry, { ttlMs: 60_000 });
    expect(await kinds.get('Widget')).toBeUndefined();
    await registry.apply('Widget', {});
    expect((await kinds.get('widget'))?.definition.kind).toBe('Widget');
  });

  it('remembers at most maxEntries names', async () => {
    const { registry, calls } = fakeRegistry();
    const kinds = withUnknownKindCache(registry, { ttlMs: 60_000, maxEntries: 2 });
    for (const name of ['a', 'b', 'c', 'a']) await kinds.get(name);
    expect(calls.misses).toBe(4);
  });
});
