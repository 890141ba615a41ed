/** Plain-JSON helpers the store, the patch strategies and server-side apply share. */

export type JsonObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A deep copy as a JSON round trip makes it (`toJSON`, undefined, non-finite numbers), in one pass. */
export function clone<T>(value: T): T {
  return value === undefined ? value : (jsonCopy(value, false) as T);
}

/**
 * What `JSON.parse(JSON.stringify(value))` gives, without the text in between; with `dropNulls`,
 * object members that are null are left out too (`withoutNulls` of the copy).
 */
function jsonCopy(value: unknown, dropNulls: boolean): unknown {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'number') return Number.isFinite(value) ? value : null;
    if (typeof value === 'function' || typeof value === 'symbol') return undefined;
    if (typeof value === 'bigint') throw new TypeError('Do not know how to serialize a BigInt');
    return value;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return jsonCopy((value as { toJSON: () => unknown }).toJSON(), dropNulls);
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let index = 0; index < value.length; index += 1) {
      const copied = jsonCopy(value[index], dropNulls);
      out[index] = copied === undefined ? null : copied;
    }
    return out;
  }
  const out: JsonObject = {};
  for (const key of Object.keys(value)) {
    const copied = jsonCopy((value as JsonObject)[key], dropNulls);
    if (copied === undefined || (dropNulls && copied === null)) continue;
    out[key] = copied;
  }
  return out;
}

/** `withoutNulls(clone(value))` in one pass. */
export function cloneWithoutNulls<T>(value: T): T {
  return value === undefined ? value : (jsonCopy(value, true) as T);
}

/**
 * Freezes `value` and everything below it, so that stored objects can be handed out and shared
 * between versions without copies. A frozen subtree is taken as frozen throughout (only this
 * function freezes), which keeps freezing a new version to the parts that changed.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (Array.isArray(value)) for (const item of value) deepFreeze(item);
  else for (const key of Object.keys(value)) deepFreeze((value as JsonObject)[key]);
  return Object.freeze(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, index) => deepEqual(item, b[index]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keysA = Object.keys(a).filter((key) => a[key] !== undefined);
    const keysB = Object.keys(b).filter((key) => b[key] !== undefined);
    return keysA.length === keysB.length && keysA.every((key) => deepEqual(a[key], b[key]));
  }
  return false;
}

/**
 * Lists whose items are merged by key (strategic merge patch) and tracked per item (server-side
 * apply), as the built-in types declare them (`patchMergeKey` / `listType: map`). Every other list
 * of objects is atomic: it is replaced whole.
 */
const LIST_MAP_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  conditions: 'type',
  ownerReferences: 'uid',
  resourceClaims: 'name',
};

/** Lists of scalars merged as sets. */
const SET_LISTS = new Set(['finalizers']);

/** The merge key of a list held in field `fieldName`, or undefined when the list is atomic. */
export function listMapKey(fieldName: string, items: unknown[]): string | undefined {
  if (!items.every(isPlainObject)) return undefined;
  const candidates = fieldName === 'ports' ? ['containerPort', 'port'] : LIST_MAP_KEYS[fieldName] ? [LIST_MAP_KEYS[fieldName]] : [];
  return candidates.find((key) => items.every((item) => item[key] !== undefined));
}

export function isSetList(fieldName: string, items: unknown[]): boolean {
  return SET_LISTS.has(fieldName) && items.every((item) => !isPlainObject(item) && !Array.isArray(item));
}

/** Built-in types decode into typed structs on a real server, where a JSON `null` is just an absent field. */
export function withoutNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item) => withoutNulls(item)) as T;
  if (isPlainObject(value)) {
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(value)) if (item !== null && item !== undefined) out[key] = withoutNulls(item);
    return out as T;
  }
  return value;
}
