/**
 * Field-level differences between two JSON documents, as apply's plan and the revision history
 * show them: `{ path: 'spec.replicas', op: 'replace', from: 2, to: 3 }`. Objects are compared key
 * by key, arrays index by index; anything else is replaced as a whole.
 */
import type { FieldChange } from '@tugboat/resource-model';
import { isJsonObject, jsonEqual, ownValue } from './json-value.js';

export type { FieldChange };

export function diffJson(before: unknown, after: unknown, path = ''): FieldChange[] {
  const changes: FieldChange[] = [];
  collect(before, after, path, changes);
  return changes;
}

function join(path: string, key: string): string {
  // Keys that are not plain identifiers are quoted, so a path stays unambiguous.
  const segment = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key);
  return path === '' ? segment : `${path}.${segment}`;
}

function collect(before: unknown, after: unknown, path: string, changes: FieldChange[]): void {
  if (jsonEqual(before, after)) return;
  if (before === undefined) {
    changes.push({ path, op: 'add', to: after });
    return;
  }
  if (after === undefined) {
    changes.push({ path, op: 'remove', from: before });
    return;
  }
  if (isJsonObject(before) && isJsonObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    // Own values only: a key one side lacks (`constructor`) must not read the prototype's.
    for (const key of keys) collect(ownValue(before, key), ownValue(after, key), join(path, key), changes);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    for (let i = 0; i < Math.max(before.length, after.length); i += 1) collect(before[i], after[i], `${path}[${i}]`, changes);
    return;
  }
  changes.push({ path, op: 'replace', from: before, to: after });
}
