/**
 * The inventory: which objects Tugboat may have applied for one instance, kept on the cluster in a
 * ConfigMap beside them (the ApplySet idea). Before applying, it is widened to previous ∪ desired;
 * after applying, what is in it but no longer desired is deleted; then it is narrowed to desired.
 * A crash anywhere leaves at worst a superset, so the next reconcile prunes what leaked, and never
 * an object Tugboat applied that nothing remembers.
 */
import type { KubernetesObject, ObjectIdentity } from '@tugboat/kube';
import { groupOf } from '@tugboat/workloads';

export const INVENTORY_ANNOTATION = 'tugboat.dev/inventory';
/** A ConfigMap name is a DNS subdomain: the dot cannot collide with an object an instance renders from a DNS label. */
export const INVENTORY_PREFIX = 'tugboat-inventory.';

export type InventoryEntry = ObjectIdentity;

export function inventoryName(instanceName: string): string {
  return `${INVENTORY_PREFIX}${instanceName}`;
}

/**
 * One object, whatever version it was written at: group, kind, namespace and name (an object read
 * as `v1beta1` and applied as `v1` is the same object and must not be pruned as a stranger).
 */
export function entryKey(entry: InventoryEntry): string {
  return `${groupOf(entry.apiVersion)}/${entry.kind}/${entry.namespace ?? ''}/${entry.name}`;
}

export function identityOf(object: KubernetesObject): InventoryEntry {
  const namespace = object.metadata?.namespace;
  return {
    apiVersion: object.apiVersion ?? 'v1',
    kind: object.kind ?? '',
    ...(namespace === undefined ? {} : { namespace }),
    name: object.metadata?.name ?? '',
  };
}

export function describeEntry(entry: InventoryEntry): string {
  return `${entry.kind} ${entry.namespace === undefined ? '' : `${entry.namespace}/`}${entry.name}`;
}

/** Sorted by key and without duplicates (the later entry wins: it carries the version last written). */
function normalized(entries: readonly InventoryEntry[]): InventoryEntry[] {
  const byKey = new Map<string, InventoryEntry>();
  for (const entry of entries) byKey.set(entryKey(entry), entry);
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, entry]) => entry);
}

/** What the inventory must hold before applying: everything it held, and everything about to be applied. */
export function widenedInventory(previous: readonly InventoryEntry[], desired: readonly InventoryEntry[]): InventoryEntry[] {
  return normalized([...previous, ...desired]);
}

/** What to delete: in the inventory, no longer desired. Cluster-wide types (a CRD takes its objects with it) go last. */
export function prunable(inventory: readonly InventoryEntry[], desired: readonly InventoryEntry[]): InventoryEntry[] {
  const wanted = new Set(desired.map(entryKey));
  const leaving = normalized(inventory).filter((entry) => !wanted.has(entryKey(entry)));
  return [...leaving.filter((entry) => entry.namespace !== undefined), ...leaving.filter((entry) => entry.namespace === undefined)];
}

export function sameInventory(a: readonly InventoryEntry[], b: readonly InventoryEntry[]): boolean {
  return serializeInventory(a) === serializeInventory(b);
}

export function serializeInventory(entries: readonly InventoryEntry[]): string {
  return JSON.stringify(
    normalized(entries).map((entry) => ({
      apiVersion: entry.apiVersion,
      kind: entry.kind,
      ...(entry.namespace === undefined ? {} : { namespace: entry.namespace }),
      name: entry.name,
    })),
  );
}

export interface ParsedInventory {
  entries: InventoryEntry[];
  /** Set when the annotation held something that is not an inventory (entries then holds what could be read). */
  problem?: string;
}

const isName = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 253;

/** Reads the annotation; a hand-edited or damaged one yields the entries that are well-formed and says what was wrong. */
export function parseInventory(annotation: string | undefined): ParsedInventory {
  if (annotation === undefined || annotation === '') return { entries: [] };
  let value: unknown;
  try {
    value = JSON.parse(annotation);
  } catch {
    return { entries: [], problem: `annotation ${INVENTORY_ANNOTATION} is not JSON` };
  }
  if (!Array.isArray(value)) return { entries: [], problem: `annotation ${INVENTORY_ANNOTATION} is not a JSON array` };
  const entries: InventoryEntry[] = [];
  let skipped = 0;
  for (const item of value as unknown[]) {
    const entry = item as Partial<Record<keyof InventoryEntry, unknown>> | null;
    if (
      typeof entry === 'object' &&
      entry !== null &&
      isName(entry.apiVersion) &&
      isName(entry.kind) &&
      isName(entry.name) &&
      (entry.namespace === undefined || isName(entry.namespace))
    ) {
      entries.push({ apiVersion: entry.apiVersion, kind: entry.kind, ...(entry.namespace === undefined ? {} : { namespace: entry.namespace }), name: entry.name });
    } else {
      skipped += 1;
    }
  }
  return skipped === 0 ? { entries: normalized(entries) } : { entries: normalized(entries), problem: `${skipped} malformed entr${skipped === 1 ? 'y' : 'ies'} in annotation ${INVENTORY_ANNOTATION}` };
}

/** The inventory ConfigMap as applied: labelled like the instance's objects, the entries in the annotation. */
export function inventoryConfigMap(instanceName: string, namespace: string, labels: Record<string, string>, entries: readonly InventoryEntry[]): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: inventoryName(instanceName), namespace, labels: { ...labels }, annotations: { [INVENTORY_ANNOTATION]: serializeInventory(entries) } },
  };
}
