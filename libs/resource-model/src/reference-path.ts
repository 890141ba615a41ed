/**
 * Reference paths: where a kind's reference fields sit in `spec`. A dotted path of identifiers
 * (`definitionRef`, `existing.clusterRef`) names one field; a segment ending in `[]` walks every item
 * of that array (`databases[].ref`: the `ref` of each entry of `databases`). Each reference found
 * has its concrete path (`databases[1].ref`): what the API records, and what a referrer shows.
 */

/** Identifiers, dots, and `[]` after a segment. */
export const REFERENCE_PATH_SYNTAX = /^[A-Za-z_][A-Za-z0-9_]*(\[\])?(\.[A-Za-z_][A-Za-z0-9_]*(\[\])?)*$/;

/** Segments that reach an object's prototype: never followed. */
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The values a reference path reaches in `spec`, each with its concrete path; own properties only. */
export function referenceTargets(spec: unknown, path: string): Array<{ path: string; value: unknown }> {
  let found: Array<{ path: string; value: unknown }> = [{ path: '', value: spec }];
  for (const segment of path.split('.')) {
    const each = segment.endsWith('[]');
    const key = each ? segment.slice(0, -2) : segment;
    if (FORBIDDEN.has(key)) return [];
    const next: Array<{ path: string; value: unknown }> = [];
    for (const at of found) {
      if (!isObject(at.value) || !Object.hasOwn(at.value, key)) continue;
      const value = at.value[key];
      const here = at.path === '' ? key : `${at.path}.${key}`;
      if (!each) next.push({ path: here, value });
      else if (Array.isArray(value)) value.forEach((item, index) => next.push({ path: `${here}[${index}]`, value: item }));
    }
    found = next;
  }
  return found.filter((target) => target.value !== undefined);
}

/** The names a reference path points at (`{ name }` objects), with their concrete paths; malformed entries have `name: undefined`. */
export function referencedNames(spec: unknown, path: string): Array<{ path: string; name: string | undefined }> {
  return referenceTargets(spec, path).map((target) => ({
    path: target.path,
    name: isObject(target.value) && typeof target.value['name'] === 'string' ? target.value['name'] : undefined,
  }));
}

/** The declared path a concrete one came from: `databases[1].ref` → `databases[].ref`. */
export function declaredReferencePath(concrete: string): string {
  return concrete.replace(/\[\d+\]/g, '[]');
}
