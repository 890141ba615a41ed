import {
  entryKey,
  inventoryConfigMap,
  INVENTORY_ANNOTATION,
  parseInventory,
  prunable,
  sameInventory,
  serializeInventory,
  widenedInventory,
  type InventoryEntry,
} from './inventory.js';

const deployment: InventoryEntry = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ns', name: 'web' };
const service: InventoryEntry = { apiVersion: 'v1', kind: 'Service', namespace: 'ns', name: 'web' };
const account: InventoryEntry = { apiVersion: 'v1', kind: 'ServiceAccount', namespace: 'ns', name: 'web' };
const crd: InventoryEntry = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: 'widgets.example.com' };
const role: InventoryEntry = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'reader' };

describe('inventory arithmetic', () => {
  it('widens to previous ∪ desired, once per object whatever its version', () => {
    const widened = widenedInventory([deployment, service], [account, { ...deployment, apiVersion: 'apps/v1beta2' }]);
    expect(widened.map(entryKey).sort()).toEqual([entryKey(deployment), entryKey(service), entryKey(account)].sort());
    // The version last written wins.
    expect(widened.find((entry) => entry.kind === 'Deployment')?.apiVersion).toBe('apps/v1beta2');
    expect(sameInventory(widenedInventory([deployment], [deployment]), [deployment])).toBe(true);
    expect(sameInventory([service, deployment], [deployment, service])).toBe(true);
    expect(sameInventory([service], [deployment, service])).toBe(false);
  });

  it('prunes inventory − desired, namespaced objects before cluster-wide ones', () => {
    expect(prunable([deployment, service, account], [deployment, account])).toEqual([service]);
    expect(prunable([crd, deployment, role, service], [])).toEqual([service, deployment, crd, role]);
    expect(prunable([deployment], [{ ...deployment, apiVersion: 'apps/v1beta2' }])).toEqual([]);
    // Same name in another namespace is another object.
    expect(prunable([deployment], [{ ...deployment, namespace: 'other' }])).toEqual([deployment]);
  });

  it('is crash-safe: a widened inventory applied and then killed before narrowing is narrowed by the next round', () => {
    const before = [deployment, service];
    const desired = [deployment, account];
    const widened = widenedInventory(before, desired);
    // Killed after apply: the stored inventory is the widened one; the next round prunes from it.
    expect(prunable(widenedInventory(widened, desired), desired)).toEqual([service]);
    // Killed mid-prune with the service already gone: deleting it again is harmless, and it leaves the inventory after.
    expect(widenedInventory(widened, desired)).toEqual(widened);
  });

  it('round-trips through the annotation, sorted and stable', () => {
    const text = serializeInventory([service, crd, deployment]);
    expect(text).toBe(serializeInventory([deployment, service, crd]));
    expect(parseInventory(text)).toEqual({ entries: widenedInventory([], [service, crd, deployment]) });
    const map = inventoryConfigMap('web', 'ns', { a: 'b' }, [service]);
    expect(map).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'tugboat-inventory.web', namespace: 'ns', labels: { a: 'b' } } });
    expect(JSON.parse(map.metadata!.annotations![INVENTORY_ANNOTATION]!)).toEqual([service]);
  });

  it('keeps what parses from a damaged annotation and says what was wrong', () => {
    expect(parseInventory(undefined)).toEqual({ entries: [] });
    expect(parseInventory('{nope')).toMatchObject({ entries: [], problem: expect.stringContaining('not JSON') });
    expect(parseInventory('{}')).toMatchObject({ entries: [], problem: expect.stringContaining('not a JSON array') });
    const mixed = parseInventory(JSON.stringify([deployment, { kind: 'Service' }, 7, { ...service, namespace: 3 }]));
    expect(mixed.entries).toEqual([deployment]);
    expect(mixed.problem).toContain('3 malformed entries');
  });
});
