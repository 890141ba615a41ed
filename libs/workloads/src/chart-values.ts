/**
 * A Helm-chart workload's values: the definition's, with the instance's `overrides.values` merged
 * over them, where every path the instance sets is one the definition's `helm.overridableValues`
 * allows (the path itself, or a path under it). Pure, and safe with hostile input: a key such as
 * `__proto__` is refused (never walked into), depth and size are bounded before anything is copied.
 */
import type { Violation } from './workload-types.js';

type JsonRecord = Record<string, unknown>;

const isRecord = (value: unknown): value is JsonRecord => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Keys that would reach an object's prototype when assigned: refused in values. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** How deep an instance's values may nest (a chart's values are rarely deeper than 6). */
export const MAX_VALUES_DEPTH = 16;
/** How many leaves an instance's values may set. */
export const MAX_VALUES_LEAVES = 256;

/** The dotted paths of an object's leaves (a scalar, an array or an empty object ends a path). */
function leafPaths(values: JsonRecord, prefix: string, depth: number, out: string[], problems: Violation[]): void {
  for (const key of Object.keys(values)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (FORBIDDEN_KEYS.has(key) || key.includes('.') || key.length === 0) {
      problems.push({ path: `spec.overrides.values.${path}`, rule: 'key', message: `"${key}" is not a values key Tugboat accepts (no dots, not __proto__, constructor or prototype)` });
      continue;
    }
    const value = values[key];
    if (isRecord(value) && Object.keys(value).length > 0) {
      if (depth >= MAX_VALUES_DEPTH) {
        problems.push({ path: `spec.overrides.values.${path}`, rule: 'maxDepth', message: `nests deeper than ${MAX_VALUES_DEPTH} levels` });
        continue;
      }
      leafPaths(value, path, depth + 1, out, problems);
    } else {
      out.push(path);
    }
    if (out.length > MAX_VALUES_LEAVES) return;
  }
}

/** Whether `path` is `allowed` itself or lies under it (`image` allows `image.tag`). */
const allows = (allowed: string, path: string) => path === allowed || path.startsWith(`${allowed}.`);

/**
 * The instance's values against the definition's `overridableValues` (`definitionName` for the
 * messages): each leaf an allowed path, no forbidden key, within the depth and size bounds.
 * `where` names another definition kind and where the values sit (an ObservabilityInstance's per chart).
 */
export function valuesOverrideViolations(
  values: JsonRecord | undefined,
  overridableValues: readonly string[] | undefined,
  definitionName: string,
  where: { definitionKind?: string; at?: string } = {},
): Violation[] {
  if (values === undefined) return [];
  const problems: Violation[] = [];
  const paths: string[] = [];
  leafPaths(values, '', 1, paths, problems);
  const at = where.at ?? 'spec.overrides.values';
  if (paths.length > MAX_VALUES_LEAVES) {
    return [{ path: at, rule: 'maxLeaves', message: `sets more than ${MAX_VALUES_LEAVES} values` }];
  }
  const allowed = overridableValues ?? [];
  for (const path of paths) {
    if (!allowed.some((entry) => allows(entry, path))) {
      problems.push({
        path: `spec.overrides.values.${path}`,
        rule: 'overridableValues',
        message: `${where.definitionKind ?? 'WorkloadDefinition'} ${definitionName} does not let instances set chart value ${path} (overridableValues: ${allowed.length === 0 ? 'none' : allowed.join(', ')})`,
      });
    }
  }
  return at === 'spec.overrides.values' ? problems : problems.map((problem) => ({ ...problem, path: problem.path.replace(/^spec\.overrides\.values/, at) }));
}

/**
 * `overrides` deep-merged over `base` (objects merge key by key; anything else replaces), into
 * fresh objects without prototypes' keys: Helm's own `-f` merge order, done before Helm sees it.
 */
export function mergeValues(base: JsonRecord | undefined, overrides: JsonRecord | undefined): JsonRecord {
  const merged: JsonRecord = {};
  const assign = (target: JsonRecord, source: JsonRecord) => {
    for (const key of Object.keys(source)) {
      if (FORBIDDEN_KEYS.has(key)) continue;
      const value = source[key];
      const current = Object.hasOwn(target, key) ? target[key] : undefined;
      if (isRecord(value)) {
        const next: JsonRecord = isRecord(current) ? current : {};
        Object.defineProperty(target, key, { value: next, enumerable: true, writable: true, configurable: true });
        assign(next, value);
      } else {
        Object.defineProperty(target, key, { value: structuredClone(value), enumerable: true, writable: true, configurable: true });
      }
    }
  };
  if (base) assign(merged, base);
  if (overrides) assign(merged, overrides);
  return merged;
}
