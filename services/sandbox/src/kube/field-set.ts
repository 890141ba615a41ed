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

/** The key of `path` + `element` from the key of `path` (`keyOf`, one element at a time). */
function childKey(parentKey: string, path: FieldPath, element: string): string {
  if (parentKey.startsWith('\n') || element.includes('\n')) return keyOf([...path, element]);
  return path.length === 0 ? element : `${parentKey}\n${element}`;
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
    this.addKeyed(keyOf(path), path);
  }

  /** `add` with the path's key already made: `key` must be what `keyOf(path)` gives (`fieldSetOf` builds it as it walks). */
  addKeyed(key: string, path: FieldPath): void {
    const size = this.members.size;
    this.members.set(key, path);
    if (this.members.size !== size) this.changed();
  }

  /** Adds every member of `other`, in its order. */
  addAll(other: FieldSet): void {
    for (const [key, path] of other.members) this.addKeyed(key, path);
  }

  /** Removes every member of `other`. */
  deleteAll(other: FieldSet): void {
    for (const key of other.members.keys()) if (this.members.delete(key)) this.changed();
  }

  /** Keeps only the members that `other` holds, or holds something below (`other.hasAtOrBelow`). */
  retainAtOrBelow(other: FieldSet): void {
    const prefixes = other.prefixKeys();
    for (const key of [...this.members.keys()]) if (!prefixes.has(key) && this.members.delete(key)) this.changed();
  }

  has(path: FieldPath): boolean {
    return this.members.has(keyOf(path));
  }

  delete(path: FieldPath): void {
    if (this.members.delete(keyOf(path))) this.changed();
  }

  /** Whether the set holds `path` or anything below it. */
  hasAtOrBelow(path: FieldPath): boolean {
    return this.prefixKeys().has(keyOf(path));
  }

  /** The keys of every member and of every path above one. */
  private prefixKeys(): Set<string> {
    if (this.prefixes !== undefined) return this.prefixes;
    const prefixes = new Set<string>();
    for (const [key, member] of this.members) {
      if (key.startsWith('\n')) {
        for (let length = 0; length <= member.length; length += 1) prefixes.add(keyOf(member.slice(0, length)));
        continue;
      }
      // A joined key's prefixes end where its newlines are; once one is known, so is every shorter one.
      if (prefixes.has(key)) continue;
      prefixes.add(key);
      let end = key.lastIndexOf('\n');
      while (end >= 0 && !prefixes.has(key.slice(0, end))) {
        prefixes.add(key.slice(0, end));
        end = key.lastIndexOf('\n', end - 1);
      }
      if (end < 0) prefixes.add('');
    }
    this.prefixes = prefixes;
    return prefixes;
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

  /** The members `keep` says yes to, as a set of their own (same order); `keep` gets each one's key too. */
  filter(keep: (path: FieldPath, key: string) => boolean): FieldSet {
    const kept = new FieldSet();
    for (const [key, path] of this.members) if (keep(path, key)) kept.addKeyed(key, path);
    return kept;
  }

  /** Each member as its key (`keyOf`) and path, in the order added. */
  entries(): IterableIterator<[string, FieldPath]> {
    return this.members.entries();
  }

  /** `has` by the path's key (`keyOf`). */
  hasKey(key: string): boolean {
    return this.members.has(key);
  }

  get size(): number {
    return this.members.size;
  }

  toFieldsV1(): JsonObject {
    const root: JsonObject = {};
    const memberNodes: JsonObject[] = [];
    for (const path of this.members.values()) {
      let node = root;
      for (const element of path) {
        node[element] ??= {};
        node = node[element] as JsonObject;
      }
      memberNodes.push(node);
    }
    for (const node of memberNodes) {
      if (hasMembers(node)) {
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
    const walk = (node: unknown, prefix: FieldPath, prefixKey: string) => {
      if (!isPlainObject(node)) return;
      for (const [element, child] of Object.entries(node)) {
        if (element === '.') {
          set.addKeyed(prefixKey, prefix);
          continue;
        }
        const path = [...prefix, element];
        const key = childKey(prefixKey, prefix, element);
        if (isPlainObject(child) && hasMembers(child)) walk(child, path, key);
        else set.addKeyed(key, path);
      }
    };
    walk(tree, [], '');
    return set;
  }
}

function hasMembers(object: JsonObject): boolean {
  for (const key in object) if (Object.hasOwn(object, key)) return true;
  return false;
}

/** Metadata fields a manager can own; the rest are the server's. */
const OWNABLE_METADATA = ['labels', 'annotations', 'finalizers', 'ownerReferences'];

export type FieldScope = 'main' | 'status' | 'all';

/** The fields `object` sets. `main` leaves out `status`, `status` keeps only it. */
export function fieldSetOf(object: JsonObject, scope: FieldScope): FieldSet {
  const set = new FieldSet();
  // Each path's key is made from its parent's as the walk goes down (`childKey`), not joined anew.
  const add = (path: FieldPath, key: string) => set.addKeyed(key, path);
  const walk = (value: unknown, path: FieldPath, key: string, fieldName: string) => {
    if (isPlainObject(value)) {
      let empty = true;
      for (const field of Object.keys(value)) {
        if (value[field] === undefined) continue;
        empty = false;
        const element = `f:${field}`;
        walk(value[field], [...path, element], childKey(key, path, element), field);
      }
      if (empty && path.length > 0) add(path, key);
    } else if (Array.isArray(value)) {
      const mapKey = listMapKey(fieldName, value);
      if (mapKey !== undefined) {
        for (const item of value as JsonObject[]) {
          const itemElement = `k:${JSON.stringify({ [mapKey]: item[mapKey] })}`;
          const itemPath = [...path, itemElement];
          const itemKey = childKey(key, path, itemElement);
          add(itemPath, itemKey);
          for (const field of Object.keys(item)) {
            const element = `f:${field}`;
            walk(item[field], [...itemPath, element], childKey(itemKey, itemPath, element), field);
          }
        }
      } else if (isSetList(fieldName, value) && value.length > 0) {
        for (const item of value) {
          const element = `v:${JSON.stringify(item)}`;
          add([...path, element], childKey(key, path, element));
        }
      } else {
        add(path, key);
      }
    } else {
      add(path, key);
    }
  };
  for (const [field, value] of Object.entries(object)) {
    if (field === 'apiVersion' || field === 'kind' || value === undefined) continue;
    if (scope === 'main' && field === 'status') continue;
    if (scope === 'status' && field !== 'status') continue;
    if (field === 'metadata') {
      if (!isPlainObject(value)) continue;
      for (const ownable of OWNABLE_METADATA) {
        if (value[ownable] === undefined) continue;
        const path = ['f:metadata', `f:${ownable}`];
        walk(value[ownable], path, keyOf(path), ownable);
      }
      continue;
    }
    const path = [`f:${field}`];
    walk(value, path, keyOf(path), field);
  }
  return set;
}

/** `k:` and `v:` elements parsed, by their text: a write looks the same ones up again and again. */
const parsedElements = new Map<string, unknown>();

function parsedElement(element: string): unknown {
  let parsed = parsedElements.get(element);
  if (parsed === undefined) {
    parsed = JSON.parse(element.slice(2)) as unknown;
    if (parsedElements.size >= 4096) parsedElements.clear();
    parsedElements.set(element, parsed);
  }
  return parsed;
}

function step(container: unknown, element: string): { found: boolean; value?: unknown; index?: number } {
  if (element.startsWith('f:')) {
    if (!isPlainObject(container)) return { found: false };
    const name = element.slice(2);
    return name in container && container[name] !== undefined ? { found: true, value: container[name] } : { found: false };
  }
  if (!Array.isArray(container)) return { found: false };
  const wanted = parsedElement(element);
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

/**
 * `valueAt` for many paths of one object, each looked up by its key (`keyOf`): a path's parent is
 * looked up once for all its children, not walked again from the top for each.
 */
export function valuesIn(object: unknown): (path: FieldPath, key: string) => { found: boolean; value?: unknown } {
  const root = { found: true, value: object };
  const memo = new Map<string, { found: boolean; value?: unknown }>();
  const lookup = (path: FieldPath, length: number, key: string): { found: boolean; value?: unknown } => {
    if (length === 0) return root;
    let hit = memo.get(key);
    if (hit === undefined) {
      const parent = lookup(path, length - 1, length === 1 ? '' : key.slice(0, key.lastIndexOf('\n')));
      hit = parent.found ? step(parent.value, path[length - 1] as string) : parent;
      memo.set(key, hit);
    }
    return hit;
  };
  return (path, key) => (key.startsWith('\n') ? valueAt(object, path) : lookup(path, path.length, key));
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
