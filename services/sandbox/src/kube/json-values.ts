/** Plain-JSON helpers the store, the patch strategies and server-side apply share. */

export type JsonObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
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
