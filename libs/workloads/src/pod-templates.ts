/**
 * Where the built-in workload kinds keep their pod template and their replica count, so overrides
 * and guardrails reach every container the same way whichever source rendered the object.
 */
import type { KubeManifest } from './workload-types.js';

type JsonRecord = Record<string, unknown>;

const isRecord = (value: unknown): value is JsonRecord => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The API group of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

/** Path from the object to its pod spec, per `group/kind`. */
const POD_SPEC_PATHS: Record<string, readonly string[]> = {
  'apps/Deployment': ['spec', 'template', 'spec'],
  'apps/StatefulSet': ['spec', 'template', 'spec'],
  'apps/DaemonSet': ['spec', 'template', 'spec'],
  'apps/ReplicaSet': ['spec', 'template', 'spec'],
  'batch/Job': ['spec', 'template', 'spec'],
  'batch/CronJob': ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  '/Pod': ['spec'],
};

/** The kinds whose `spec.replicas` is a replica count. */
const REPLICATED = new Set(['apps/Deployment', 'apps/StatefulSet', 'apps/ReplicaSet']);

const typeKey = (object: KubeManifest) => `${groupOf(object.apiVersion)}/${object.kind}`;

/** The object's pod template metadata (live, for editing; created when absent), or `undefined` for a kind without a template. */
export function podTemplateMetadataOf(object: KubeManifest): JsonRecord | undefined {
  const path = POD_SPEC_PATHS[typeKey(object)];
  // A bare Pod's own metadata is not a template: nothing to roll.
  if (path === undefined || path.length < 2) return undefined;
  let at: unknown = object;
  for (const step of path.slice(0, -1)) {
    if (!isRecord(at)) return undefined;
    at = at[step];
  }
  if (!isRecord(at)) return undefined;
  if (!isRecord(at['metadata'])) at['metadata'] = {};
  return at['metadata'] as JsonRecord;
}

/** The object's pod spec (live, for editing), or `undefined` for a kind without one. */
export function podSpecOf(object: KubeManifest): JsonRecord | undefined {
  const path = POD_SPEC_PATHS[typeKey(object)];
  if (path === undefined) return undefined;
  let at: unknown = object;
  for (const step of path) {
    if (!isRecord(at)) return undefined;
    at = at[step];
  }
  return isRecord(at) ? at : undefined;
}

/** The containers of a pod spec (init containers second), skipping entries that are not objects. */
export function containersOf(podSpec: JsonRecord, which: 'containers' | 'initContainers' = 'containers'): JsonRecord[] {
  const list = podSpec[which];
  return Array.isArray(list) ? list.filter(isRecord) : [];
}

export function isReplicated(object: KubeManifest): boolean {
  return REPLICATED.has(typeKey(object));
}

/** The object's own `spec` (created when absent), for kinds that are replicated. */
export function specOf(object: KubeManifest): JsonRecord {
  if (!isRecord(object['spec'])) object['spec'] = {};
  return object['spec'] as JsonRecord;
}

/** Sets one annotation on the object's pod template (a change of it rolls the pods); nothing for a kind without one. */
export function annotatePodTemplate(object: KubeManifest, annotation: string, value: string): void {
  const metadata = podTemplateMetadataOf(object);
  if (metadata === undefined) return;
  const annotations = isRecord(metadata['annotations']) ? (metadata['annotations'] as Record<string, string>) : {};
  metadata['annotations'] = { ...annotations, [annotation]: value };
}
