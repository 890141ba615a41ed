/** The one envelope every Tugboat object has, whatever its kind (see DESIGN.md, "Resources"). */

export const API_VERSION = 'tugboat.dev/v1';

/** Platform-wide objects (a shared cluster, a published definition) have no project. */
export const PLATFORM_PROJECT = '';

export type Phase = 'Pending' | 'Progressing' | 'Ready' | 'Degraded' | 'Failed' | 'Deleting';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export interface ResourceStatus {
  observedGeneration?: number;
  phase?: Phase;
  conditions?: Condition[];
  /** What dependents may consume (endpoint, hostnames …); never secrets. */
  outputs?: Record<string, unknown>;
  /** For instances of a definition: the definition generation applied. */
  definitionGeneration?: number;
  [extra: string]: unknown;
}

export interface ResourceMetadata {
  name: string;
  /** `''` for platform-wide kinds. */
  project: string;
  uid: string;
  labels: Record<string, string>;
  generation: number;
  resourceVersion: string;
  finalizers: string[];
  deletionRequestedAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** Set on objects created on behalf of another; deleted with their owner. */
  ownerReferences?: OwnerReference[];
  suspended?: boolean;
}

/** The fields of an object's envelope, as the API reads and writes them; any other is an unknown field. */
export const RESOURCE_FIELDS: ReadonlySet<string> = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

/** Metadata a client sets. */
export const CLIENT_METADATA_FIELDS: ReadonlySet<string> = new Set(['name', 'project', 'labels', 'resourceVersion', 'ownerReferences']);

/**
 * Metadata the server sets: accepted in a write (so an object as read can be written back) and
 * ignored. Any metadata field in neither set is an unknown field.
 */
export const SERVER_SET_METADATA_FIELDS: ReadonlySet<string> = new Set(['uid', 'generation', 'finalizers', 'deletionRequestedAt', 'createdAt', 'updatedAt', 'suspended']);

export interface OwnerReference {
  kind: string;
  name: string;
  uid: string;
}

export interface Resource<Spec = Record<string, unknown>, Status = ResourceStatus> {
  apiVersion: typeof API_VERSION;
  kind: string;
  metadata: ResourceMetadata;
  spec: Spec;
  status: Status;
}

/** What a client sends to create or replace an object. */
export interface ResourceInput<Spec = Record<string, unknown>> {
  apiVersion?: string;
  kind: string;
  metadata: {
    name: string;
    project?: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
    ownerReferences?: Array<Pick<OwnerReference, 'kind' | 'name'>>;
  };
  spec: Spec;
}

/** The identity of one object; what an event carries and what a work queue holds. */
export interface ResourceKey {
  kind: string;
  project: string;
  name: string;
}

export function keyOf(resource: Pick<Resource, 'kind' | 'metadata'>): ResourceKey {
  return { kind: resource.kind, project: resource.metadata.project, name: resource.metadata.name };
}

export function keyString(key: ResourceKey): string {
  return `${key.kind}/${key.project || '_'}/${key.name}`;
}

export type ChangeCause = 'spec' | 'status' | 'delete' | 'metadata' | 'resync' | 'reconcile';

/**
 * What the relay publishes for every committed change: a trigger, not the state.
 * A controller re-reads the object through the API before acting on it.
 */
export interface ChangeEvent extends ResourceKey {
  uid: string;
  generation: number;
  resourceVersion: string;
  cause: ChangeCause;
  /** The outbox row id (the relay's sequence). `Nats-Msg-Id` is `<uid>/<resourceVersion>`, see services/api/README.md. */
  seq: string;
  /** Identity that made the change (a user or a controller name). */
  actor?: string;
  at: string;
}
