/**
 * Field sets as server-side apply tracks them: each path is a list of elements in the
 * `fieldsV1` vocabulary — `f:<field>`, `k:<json key>` for an item of a keyed list, `v:<json>` for
 * an item of a set — so a set converts to and from `metadata.managedFields[].fieldsV1` losslessly.
 */
import { isPlainObject, isSetList, listMapKey, type JsonObject } from './json-values.js';

export type FieldPath = string[];

/**
 * A path as a map key. Elements are never empty (they start with `f:`, `k:` or `v:`) and JSON never
 * holds a raw newline, so joining by newlines is unambiguous unless a field name has one: such a path
 * is keyed by its JSON after a newline, which no joined key starts with.
 */
function keyOf(path: FieldPath): string {
  for (const element of path) if (element.includes('\n')) return `\n${JSON.stringify(path)}`;
  return path.join('\n');
}

export class FieldSet {
  private readonly members = new Map<string, FieldPath>();
  /** Keys of every member and every path above one, for `hasAtOrBelow`; dropped on a change. */
  private prefixes: Set<string> | undefined;
  /** How many times the set changed, so a caller can tell whether it still holds what it was made from. */
  private changeCount = 0;

  static of(paths: Iterable<FieldPath>): FieldSet {
    const set = new FieldSet();
    for (const path of paths) set.add(path);
    return set;
  }

  add(path: FieldPath): void {
    const key = keyOf(path);
    const known = this.members.has(key);
    this.members.set(key, path);
    if (!known) this.changed();
  }

  has(path: FieldPath): boolean {
    return this.members.has(keyOf(path));
  }

  delete(path: FieldPath): void {
    if (this.members.delete(keyOf(path))) this.changed();
  }

  /** Whether the set holds `path` or anything below it. */
  hasAtOrBelow(path: FieldPath): boolean {
    if (this.prefixes === undefined) {
      const prefixes = new Set<string>();
      for (const member of this.members.values()) {
        for (let length = 0; length <= member.length; length += 1) prefixes.add(keyOf(member.slice(0, length)));
      }
      this.prefixes = prefixes;
    }
    return this.prefixes.has(keyOf(path));
  }

  get changes(): number {
    return this.changeCount;
  }

  private changed(): void {
    this.changeCount += 1;
    this.prefixes = undefined;
  }

  paths(): FieldPath[] {
    return [...this.members.values()];
  }

  get size(): number {
    return this.members.size;
  }

  toFieldsV1(): JsonObject {
    const root: JsonObject = {};
    const nodeOf = (path: FieldPath): JsonObject => {
      let node = root;
      for (const element of path) {
        node[element] ??= {};
        node = node[element] as JsonObject;
      }
      return node;
    };
    for (const path of this.members.values()) nodeOf(path);
    for (const path of this.members.values()) {
      const node = nodeOf(path);
      if (Object.keys(node).length > 0) {
        // `.` marks a node that is itself a member and has members below it; it comes first, as the API server writes it.
        const children = { ...node };
        for (const key of Object.keys(node)) delete node[key];
        Object.assign(node, { '.': {} }, children);
      }
    }
    return root;
  }

  static fromFieldsV1(tree: unknown): FieldSet {
    const set = new FieldSet();
    const walk = (node: unknown, prefix: FieldPath) => {
      if (!isPlainObject(node)) return;
      for (const [key, child] of Object.entries(node)) {
        if (key === '.') {
          set.add(prefix);
          continue;
        }
        const path = [...prefix, key];
        if (isPlainObject(child) && Object.keys(child).length > 0) walk(child, path);
        else set.add(path);
      }
    };
    walk(tree, []);
    return set;
  }
}

/** Metadata fields a manager can own; the rest are the server's. */
const OWNABLE_METADATA = ['labels', 'annotations', 'finalizers', 'ownerReferences'];

export type FieldScope = 'main' | 'status' | 'all';

/** The fields `object` sets. `main` leaves out `status`, `status` keeps only it. */
export function fieldSetOf(object: JsonObject, scope: FieldScope): FieldSet {
  const set = new FieldSet();
  const walk = (value: unknown, path: FieldPath, fieldName: string) => {
    if (isPlainObject(value)) {
      const keys = Object.keys(value).filter((key) => value[key] !== undefined);
      if (keys.length === 0 && path.length > 0) set.add(path);
      for (const key of keys) walk(value[key], [...path, `f:${key}`], key);
    } else if (Array.isArray(value)) {
      const mapKey = listMapKey(fieldName, value);
      if (mapKey !== undefined) {
        for (const item of value as JsonObject[]) {
          const itemPath = [...path, `k:${JSON.stringify({ [mapKey]: item[mapKey] })}`];
          set.add(itemPath);
          for (const key of Object.keys(item)) walk(item[key], [...itemPath, `f:${key}`], key);
        }
      } else if (isSetList(fieldName, value) && value.length > 0) {
        for (const item of value) set.add([...path, `v:${JSON.stringify(item)}`]);
      } else {
        set.add(path);
      }
    } else {
      set.add(path);
    }
  };
  for (const [key, value] of Object.entries(object)) {
    if (key === 'apiVersion' || key === 'kind' || value === undefined) continue;
    if (scope === 'main' && key === 'status') continue;
    if (scope === 'status' && key !== 'status') continue;
    if (key === 'metadata') {
      if (!isPlainObject(value)) continue;
      for (const field of OWNABLE_METADATA) {
        if (value[field] !== undefined) walk(value[field], ['f:metadata', `f:${field}`], field);
      }
      continue;
    }
    walk(value, [`f:${key}`], key);
  }
  return set;
}

function step(container: unknown, element: string): { found: boolean; value?: unknown; index?: number } {
  if (element.startsWith('f:')) {
    if (!isPlainObject(container)) return { found: false };
    const name = element.slice(2);
    return name in container && container[name] !== undefined ? { found: true, value: container[name] } : { found: false };
  }
  if (!Array.isArray(container)) return { found: false };
  const wanted = JSON.parse(element.slice(2)) as unknown;
  const index = element.startsWith('k:')
    ? container.findIndex(
        (item) => isPlainObject(item) && Object.entries(wanted as JsonObject).every(([key, value]) => item[key] === value),
      )
    : container.findIndex((item) => item === wanted);
  return index < 0 ? { found: false } : { found: true, value: container[index], index };
}

export function valueAt(object: unknown, path: FieldPath): { found: boolean; value?: unknown } {
  let current: { found: boolean; value?: unknown } = { found: true, value: object };
  for (const element of path) {
    current = step(current.value, element);
    if (!current.found) return current;
  }
  return current;
}

/** Removes the field or list item at `path`; a no-op when it is not there. */
export function removeAt(object: unknown, path: FieldPath): void {
  if (path.length === 0) return;
  const parent = valueAt(object, path.slice(0, -1));
  if (!parent.found) return;
  const last = path[path.length - 1] as string;
  if (last.startsWith('f:')) {
    if (isPlainObject(parent.value)) delete parent.value[last.slice(2)];
    return;
  }
  const hit = step(parent.value, last);
  if (hit.found && hit.index !== undefined && Array.isArray(parent.value)) parent.value.splice(hit.index, 1);
}
