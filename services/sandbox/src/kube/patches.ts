/** The patch formats the API server accepts besides server-side apply. */
import { clone, deepEqual, isPlainObject, isSetList, listMapKey, type JsonObject } from './json-values.js';
import { KubeStatusError, badRequest } from './kube-status.js';

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const out: JsonObject = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/**
 * Strategic merge patch for the built-in types: like a merge patch, but lists with a merge key
 * (containers by name, ports by containerPort/port, env by name …) merge item by item, with the
 * `$patch: delete|replace` and `$deleteFromPrimitiveList/<field>` directives.
 */
export function strategicMergePatch(target: unknown, patch: unknown, fieldName = ''): unknown {
  if (!isPlainObject(patch)) {
    if (Array.isArray(patch) && Array.isArray(target)) return mergeList(target, patch, fieldName);
    return clone(patch);
  }
  if (patch.$patch === 'replace') {
    const { $patch: _directive, ...rest } = patch;
    return clone(rest);
  }
  const out: JsonObject = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key.startsWith('$setElementOrder/') || key === '$retainKeys') continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const current = out[field];
      if (Array.isArray(current) && Array.isArray(value)) out[field] = current.filter((item) => !value.some((gone) => deepEqual(gone, item)));
      continue;
    }
    if (value === null) delete out[key];
    else if (isPlainObject(value) && value.$patch === 'delete') delete out[key];
    else out[key] = strategicMergePatch(out[key], value, key);
  }
  return out;
}

function mergeList(target: unknown[], patch: unknown[], fieldName: string): unknown[] {
  const replace = patch.find((item) => isPlainObject(item) && item.$patch === 'replace' && Object.keys(item).length === 1);
  if (replace !== undefined) return clone(patch.filter((item) => item !== replace));
  const items = patch.filter((item) => !(isPlainObject(item) && item.$patch === 'delete'));
  const key = listMapKey(fieldName, patch.filter(isPlainObject).length === patch.length ? patch : []);
  if (key !== undefined) {
    const out = target.slice() as JsonObject[];
    for (const item of patch as JsonObject[]) {
      const index = out.findIndex((existing) => isPlainObject(existing) && existing[key] === item[key]);
      if (item.$patch === 'delete') {
        if (index >= 0) out.splice(index, 1);
      } else if (index >= 0) {
        out[index] = strategicMergePatch(out[index], item) as JsonObject;
      } else {
        out.push(strategicMergePatch(undefined, item) as JsonObject);
      }
    }
    return out;
  }
  if (isSetList(fieldName, items) && isSetList(fieldName, target)) return [...target, ...items.filter((item) => !target.includes(item))];
  return clone(items);
}

interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`the server rejected our request due to an error in our request: invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(document: unknown, tokens: string[], path: string): { container: unknown; last: string } {
  let container = document;
  for (const token of tokens.slice(0, -1)) {
    container = Array.isArray(container) ? container[Number(token)] : isPlainObject(container) ? container[token] : undefined;
    if (container === undefined) throw new KubeStatusError(422, 'Invalid', `jsonpatch: path ${path} does not exist`);
  }
  return { container, last: tokens[tokens.length - 1] ?? '' };
}

function getPointer(document: unknown, path: string): unknown {
  let current = document;
  for (const token of pointer(path)) {
    current = Array.isArray(current) ? current[Number(token)] : isPlainObject(current) ? current[token] : undefined;
  }
  if (current === undefined) throw new KubeStatusError(422, 'Invalid', `jsonpatch: path ${path} does not exist`);
  return current;
}

function removePointer(document: unknown, path: string): unknown {
  const { container, last } = parentOf(document, pointer(path), path);
  if (Array.isArray(container)) {
    const index = Number(last);
    if (!Number.isInteger(index) || index < 0 || index >= container.length) throw new KubeStatusError(422, 'Invalid', `jsonpatch remove operation does not apply: doc is missing path: ${path}`);
    return container.splice(index, 1)[0];
  }
  if (!isPlainObject(container) || !(last in container)) throw new KubeStatusError(422, 'Invalid', `jsonpatch remove operation does not apply: doc is missing path: ${path}`);
  const value = container[last];
  delete container[last];
  return value;
}

function addPointer(document: unknown, path: string, value: unknown, replace: boolean): unknown {
  const tokens = pointer(path);
  if (tokens.length === 0) return clone(value);
  const { container, last } = parentOf(document, tokens, path);
  if (Array.isArray(container)) {
    const index = last === '-' ? container.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > container.length) throw new KubeStatusError(422, 'Invalid', `jsonpatch: invalid index in ${path}`);
    if (replace) container[index] = clone(value);
    else container.splice(index, 0, clone(value));
  } else if (isPlainObject(container)) {
    if (replace && !(last in container)) throw new KubeStatusError(422, 'Invalid', `jsonpatch replace operation does not apply: doc is missing key: ${path}`);
    container[last] = clone(value);
  } else {
    throw new KubeStatusError(422, 'Invalid', `jsonpatch: path ${path} does not exist`);
  }
  return document;
}

/** RFC 6902 JSON patch. */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest('the server rejected our request due to an error in our request: a JSON patch must be a list of operations');
  let document = clone(target);
  for (const raw of operations as JsonPatchOperation[]) {
    if (!isPlainObject(raw) || typeof raw.path !== 'string') throw badRequest('the server rejected our request due to an error in our request: every operation needs "op" and "path"');
    switch (raw.op) {
      case 'add':
        document = addPointer(document, raw.path, raw.value, false);
        break;
      case 'replace':
        document = addPointer(document, raw.path, raw.value, true);
        break;
      case 'remove':
        removePointer(document, raw.path);
        break;
      case 'move': {
        const value = removePointer(document, raw.from ?? '');
        document = addPointer(document, raw.path, value, false);
        break;
      }
      case 'copy':
        document = addPointer(document, raw.path, getPointer(document, raw.from ?? ''), false);
        break;
      case 'test':
        if (!deepEqual(getPointer(document, raw.path), raw.value)) throw new KubeStatusError(422, 'Invalid', `testing value ${raw.path} failed`);
        break;
      default:
        throw badRequest(`the server rejected our request due to an error in our request: unknown JSON patch operation "${String((raw as { op?: unknown }).op)}"`);
    }
  }
  return document;
}
