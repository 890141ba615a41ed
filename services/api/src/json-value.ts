/** Small helpers over plain JSON values: equality, dotted paths, RFC 7386 merge patch. */

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Structural equality of JSON values; key order does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  if (isJsonObject(a) && isJsonObject(b)) {
    const keys = Object.keys(a).filter((k) => a[k] !== undefined);
    const otherKeys = Object.keys(b).filter((k) => b[k] !== undefined);
    return keys.length === otherKeys.length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** The value of `key` when `node` holds it itself; never one inherited from a prototype. */
export function ownValue(node: JsonObject, key: string): unknown {
  return Object.hasOwn(node, key) ? node[key] : undefined;
}

/**
 * Sets `node[key]` as the object's own data property, even for `__proto__`, which a plain
 * assignment would treat as the object's prototype.
 */
export function setOwn(node: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(node, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Follows a dotted path through own properties only (`__proto__.x` finds nothing). */
export function getPath(root: unknown, dotted: string): unknown {
  let node = root;
  for (const part of dotted.split('.')) {
    if (!isJsonObject(node)) return undefined;
    node = ownValue(node, part);
  }
  return node;
}

/** The object holding the last key of a dotted path, reached through own properties only, and that key. */
function holderOf(root: JsonObject, dotted: string): { holder: JsonObject; key: string } | undefined {
  const parts = dotted.split('.');
  const key = parts.pop()!;
  const holder = parts.length === 0 ? root : getPath(root, parts.join('.'));
  return isJsonObject(holder) && Object.hasOwn(holder, key) ? { holder, key } : undefined;
}

/**
 * Sets a value at a dotted path that already leads through own properties of objects, to a key
 * the last object already holds; does nothing otherwise (so never touches a prototype).
 */
export function setPath(root: JsonObject, dotted: string, value: unknown): void {
  const at = holderOf(root, dotted);
  if (at !== undefined) setOwn(at.holder, at.key, value);
}

/** Removes the key at a dotted path that leads through own properties; does nothing otherwise. */
export function deletePath(root: JsonObject, dotted: string): void {
  const at = holderOf(root, dotted);
  if (at !== undefined) delete at.holder[at.key];
}

/**
 * A deep copy of a JSON value, keeping `__proto__` an own key as `JSON.parse` makes it. Walked by
 * hand: `structuredClone` serialises and deserialises, several times the cost on the write path. A
 * value that is not plain JSON (a Date a row carries) is left to `structuredClone`.
 */
export function cloneJson<T>(value: T): T {
  return copyJson(value) as T;
}

function copyJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copyJson);
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return structuredClone(value);
  const copy: JsonObject = {};
  for (const key of Object.keys(value)) {
    const item = copyJson((value as JsonObject)[key]);
    if (key === '__proto__') setOwn(copy, key, item);
    else copy[key] = item;
  }
  return copy;
}

/** RFC 7386: objects merge recursively, `null` removes, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const result: JsonObject = isJsonObject(target) ? cloneJson(target) : {};
  // Keys come from the request (JSON.parse makes `__proto__` an own key): own properties only.
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else setOwn(result, key, applyMergePatch(ownValue(result, key), value));
  }
  return result;
}
