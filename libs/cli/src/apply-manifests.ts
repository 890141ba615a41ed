import type { ApiClient } from '@tugboat/api-client';
import { isErrorCode, REDACTED, type Resource, type ResourceInput } from '@tugboat/resource-model';
import { valueAt } from './order-manifests.js';
import type { Manifest } from './read-manifests.js';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface ApplyManifestOptions {
  client: ApiClient;
  signal?: AbortSignal;
}

/** A PUT that loses a race with another writer (409) re-reads and tries again, this many times. */
const MAX_ATTEMPTS = 3;

/**
 * Creates the object, or replaces it with the read resourceVersion when its labels or spec differ.
 * Secret fields read back as `<redacted>`: a manifest that carries `<redacted>` keeps the stored
 * value; one that carries a real value cannot be compared here, so it is sent, and the server's
 * generation tells whether anything changed.
 */
export async function applyManifest(manifest: Manifest, options: ApplyManifestOptions): Promise<ApplyOutcome> {
  const { client, signal } = options;
  const ref = { kind: manifest.definition.kind, project: manifest.input.metadata.project, name: manifest.input.metadata.name };
  for (let attempt = 1; ; attempt++) {
    const existing = await client.get(ref, { signal });
    if (existing === undefined) {
      try {
        await client.create(manifest.input, { signal });
        return 'created';
      } catch (error) {
        // Someone created it between our read and our write: compare against theirs.
        if (isErrorCode(error, 'Conflict') && attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
    }
    const comparison = compareWithStored(manifest, existing);
    if (comparison === 'equal') return 'unchanged';
    const input: ResourceInput = {
      ...manifest.input,
      metadata: { ...manifest.input.metadata, resourceVersion: existing.metadata.resourceVersion },
    };
    try {
      const updated = await client.replace(input, { signal, resourceVersion: existing.metadata.resourceVersion });
      if (comparison === 'secrets-unknown' && updated.metadata.generation === existing.metadata.generation) return 'unchanged';
      return 'configured';
    } catch (error) {
      if (isErrorCode(error, 'Conflict') && attempt < MAX_ATTEMPTS) continue;
      throw error;
    }
  }
}

export type Comparison = 'equal' | 'different' | 'secrets-unknown';

export function compareWithStored(manifest: Manifest, stored: Resource): Comparison {
  if (!deepEqual(manifest.input.metadata.labels ?? {}, stored.metadata.labels ?? {})) return 'different';
  const desired = structuredClone(manifest.input.spec);
  const current = structuredClone(stored.spec);
  let secretsUnknown = false;
  for (const path of manifest.definition.secretFields) {
    const wanted = valueAt(desired, path);
    const have = valueAt(current, path);
    if (wanted === undefined && have === undefined) continue;
    if (wanted === undefined || have === undefined) return 'different';
    if (wanted !== REDACTED && wanted !== have) secretsUnknown = true;
    deleteAt(desired, path);
    deleteAt(current, path);
  }
  if (!deepEqual(desired, current)) return 'different';
  return secretsUnknown ? 'secrets-unknown' : 'equal';
}

function deleteAt(root: Record<string, unknown>, path: string): void {
  const parts = path.split('.');
  const last = parts.pop()!;
  const parent = parts.length === 0 ? root : valueAt(root, parts.join('.'));
  if (typeof parent === 'object' && parent !== null) delete (parent as Record<string, unknown>)[last];
}

/** Structural equality of JSON values; key order does not matter. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, index) => deepEqual(item, b[index]));
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left).filter((key) => left[key] !== undefined);
  if (keys.length !== Object.keys(right).filter((key) => right[key] !== undefined).length) return false;
  return keys.every((key) => deepEqual(left[key], right[key]));
}
