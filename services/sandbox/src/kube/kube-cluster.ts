/**
 * One simulated API server's storage and write semantics: a single resourceVersion counter,
 * objects keyed by (resource, namespace, name), generation, managedFields, optimistic concurrency,
 * finalizers and deletionTimestamp, garbage collection through ownerReferences, namespace
 * termination, CRDs extending the served types, and the bounded event history watches resume from.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { SandboxCounters } from '../counters.js';
import { createBuiltinSchemas, type BuiltinSchemas } from './builtin-schemas.js';
import { applyPathOf, checkBuiltinObject } from './check-builtin-object.js';
import { checkCustomResource, schemaOfCrdVersion } from './crd-schema.js';
import { clone, cloneWithoutNulls, deepEqual, deepFreeze, isPlainObject, type JsonObject } from './json-values.js';
import {
  KubeStatusError,
  STALE_OBJECT,
  alreadyExists,
  badRequest,
  conflict,
  invalid,
  notFound,
  successStatus,
  type KubeStatus,
} from './kube-status.js';
import { applyDefaults, validateObject, validateUpdate, type KubeObject } from './object-rules.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patches.js';
import {
  BUILT_IN_RESOURCES,
  createResourceRegistry,
  groupVersionOf,
  storageKeyOf,
  typesOfCrd,
  type ResourceRegistry,
  type ResourceType,
} from './resource-table.js';
import { applyConfiguration, applyConflictError, recordUpdate, type ManagedFieldsEntry, type WriteScope } from './server-side-apply.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  resourceVersion: number;
  type: WatchEventType;
  storageKey: string;
  object: KubeObject;
  /** The object before this change (MODIFIED and DELETED), so selector watches can tell enter from leave. */
  previous?: KubeObject;
}

/**
 * How a request's fields are checked against the schemas (`?fieldValidation=`, Warn when absent, as
 * kube-apiserver does). Absent for the simulator's own writes, which are not checked.
 */
export interface FieldValidation {
  directive: 'Strict' | 'Warn' | 'Ignore';
  /** Fields the raw request body gave twice (`JSON.parse` keeps only the last). */
  duplicates: string[];
  /** Filled with what the response's `Warning` headers say (`unknown field "spec.replicass"`). */
  warnings: string[];
}

export interface WriteOptions {
  /** The field manager (`?fieldManager=`, or derived from the User-Agent). */
  manager: string;
  dryRun?: boolean;
  /** Undeclared and duplicate fields: refused under Strict, reported as warnings under Warn, dropped under both and Ignore. */
  fieldValidation?: FieldValidation | undefined;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface PatchOptions extends WriteOptions {
  subresource?: 'status';
  force?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface DeleteResult {
  code: 200 | 202;
  body: KubeObject | KubeStatus;
}

export interface ClusterSnapshot {
  name: string;
  token: string;
  resourceVersion: number;
  clusterIps: number;
  objects: Array<{ storageKey: string; object: KubeObject }>;
}

/**
 * Every object a cluster hands out (from reads, writes and events) is the stored version itself,
 * deeply frozen: read it, or copy it (`clone`) to change it.
 */
export interface KubeCluster {
  readonly name: string;
  token: string;
  /** The Kubernetes `major.minor` `/version` reports (an EKS cluster's version); the sandbox's default when absent. */
  serverVersion?: string;
  readonly registry: ResourceRegistry;
  currentResourceVersion(): number;
  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined;
  /** Every object of the type (in one namespace when given), ordered by namespace and name. */
  list(type: ResourceType, namespace?: string): KubeObject[];
  create(type: ResourceType, namespace: string | undefined, body: unknown, options: WriteOptions): KubeObject;
  update(type: ResourceType, namespace: string | undefined, name: string, body: unknown, options: WriteOptions & { subresource?: 'status' }): KubeObject;
  patch(type: ResourceType, namespace: string | undefined, name: string, patchType: PatchType, patch: unknown, options: PatchOptions): { object: KubeObject; created: boolean };
  delete(type: ResourceType, namespace: string | undefined, name: string, options?: DeleteOptions): DeleteResult;
  /** The stored objects of the type (in one namespace when given), unordered. */
  scan(type: ResourceType, namespace?: string): readonly KubeObject[];
  /** The stored objects whose ownerReferences name `ownerUid`. */
  owned(ownerUid: string, type?: ResourceType): readonly KubeObject[];
  /** Calls `listener` synchronously after every committed change. */
  subscribe(listener: (event: StoredEvent) => void): () => void;
  /** Events after `resourceVersion`, or undefined when that version has left the history (410 Expired). */
  eventsSince(resourceVersion: number): StoredEvent[] | undefined;
  /** The state to persist; it holds the live objects, so serialise it before anything else runs. */
  snapshot(): ClusterSnapshot;
  /** Stops pending namespace clean-ups; the cluster answers nothing afterwards. */
  close(): void;
}

export interface KubeClusterOptions {
  name: string;
  token: string;
  counters: SandboxCounters;
  logger: Logger;
  /** How many change events a watch can resume from. Default 2000. */
  historySize?: number;
  now?: () => number;
  restoreFrom?: ClusterSnapshot;
  /** The built-in kinds' schemas (shared by every cluster of a simulator; read lazily). */
  schemas?: BuiltinSchemas;
}

const NAME_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);
const FOREGROUND = 'foregroundDeletion';
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

export function randomSuffix(length: number): string {
  let suffix = '';
  for (let index = 0; index < length; index += 1) suffix += NAME_SUFFIX_ALPHABET[Math.floor(Math.random() * NAME_SUFFIX_ALPHABET.length)];
  return suffix;
}

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** The last second formatted: a write stamps several fields, and writes come many to a second. */
let stamped: { second: number; text: string } = { second: Number.NaN, text: '' };

/** `metadata` and `managedFields` times: whole seconds, as the API server writes them. */
function timestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== stamped.second) stamped = { second, text: new Date(second * 1000).toISOString().replace('.000Z', 'Z') };
  return stamped.text;
}

function withoutMetadataAndStatus(object: JsonObject): JsonObject {
  const { metadata: _metadata, status: _status, ...rest } = object;
  return rest;
}

/** What a no-op check compares: everything but the version and the managers' timestamps. */
function comparable(object: KubeObject): JsonObject {
  const { resourceVersion: _rv, managedFields, ...metadata } = object.metadata;
  const managers = Array.isArray(managedFields) ? managedFields.map((entry) => (isPlainObject(entry) ? { ...entry, time: undefined } : entry)) : managedFields;
  return { ...object, metadata: { ...metadata, managedFields: managers } };
}

export function createKubeCluster(options: KubeClusterOptions): KubeCluster {
  const now = options.now ?? Date.now;
  const historySize = options.historySize ?? 2000;
  const registry = createResourceRegistry();
  const schemas = options.schemas ?? createBuiltinSchemas();
  const storage = new Map<string, Map<string, KubeObject>>();
  const listeners = new Set<(event: StoredEvent) => void>();
  const history: StoredEvent[] = [];
  const pendingCleanups = new Map<string, NodeJS.Immediate>();
  let resourceVersion = 0;
  let compactedResourceVersion = 0;
  let clusterIps = 0;
  let closed = false;
  const logger = options.logger.child({ cluster: options.name });

  const namespaceType = BUILT_IN_RESOURCES.find((type) => type.group === '' && type.plural === 'namespaces') as ResourceType;

  const bucket = (type: Pick<ResourceType, 'group' | 'plural'>) => {
    const key = storageKeyOf(type);
    let objects = storage.get(key);
    if (!objects) {
      objects = new Map();
      storage.set(key, objects);
    }
    return objects;
  };

  // Per storage key and namespace, the objects of that namespace (same order as their bucket):
  // what a scan or list of one namespace walks, instead of every object of the type.
  const byNamespace = new Map<string, Map<string, Map<string, KubeObject>>>();
  const indexNamespace = (storageKey: string, object: KubeObject, present: boolean): void => {
    const namespace = object.metadata.namespace;
    if (namespace === undefined) return;
    let spaces = byNamespace.get(storageKey);
    if (spaces === undefined) byNamespace.set(storageKey, (spaces = new Map()));
    let objects = spaces.get(namespace);
    if (present) {
      if (objects === undefined) spaces.set(namespace, (objects = new Map()));
      objects.set(object.metadata.name, object);
    } else if (objects !== undefined) {
      objects.delete(object.metadata.name);
      if (objects.size === 0) spaces.delete(namespace);
    }
  };
  const inNamespace = (type: Pick<ResourceType, 'group' | 'plural'>, namespace: string): KubeObject[] => [...(byNamespace.get(storageKeyOf(type))?.get(namespace)?.values() ?? [])];

  const counterName = (type: ResourceType) => `kube:${options.name}:${groupVersionOf(type)}/${type.kind}`;

  const allocateClusterIp = () => {
    clusterIps += 1;
    return `10.96.${Math.floor(clusterIps / 250)}.${(clusterIps % 250) + 1}`;
  };

  const typeOfStorageKey = (key: string): ResourceType | undefined => registry.forStorageKey(key);

  function emit(event: StoredEvent): void {
    history.push(event);
    while (history.length > historySize) {
      const dropped = history.shift() as StoredEvent;
      compactedResourceVersion = dropped.resourceVersion;
    }
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (error) {
        logger.error({ err: error }, 'kube event listener failed');
      }
    }
  }

  /** ownerReference uid → the objects naming it (by storage key and object key), for GC and controllers. */
  const ownerIndex = new Map<string, Map<string, { storageKey: string; key: string }>>();

  function indexOwners(storageKey: string, object: KubeObject | undefined, add: boolean): void {
    if (!object) return;
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    for (const reference of object.metadata.ownerReferences ?? []) {
      let dependents = ownerIndex.get(reference.uid);
      if (add) {
        if (!dependents) ownerIndex.set(reference.uid, (dependents = new Map()));
        dependents.set(`${storageKey}|${key}`, { storageKey, key });
      } else if (dependents) {
        dependents.delete(`${storageKey}|${key}`);
        if (dependents.size === 0) ownerIndex.delete(reference.uid);
      }
    }
  }

  /**
   * Stored objects are frozen (see `deepFreeze`): events, reads and answers hand them out as they
   * are, and a new version shares what did not change with the one before.
   */
  function store(type: ResourceType, object: KubeObject, eventType: 'ADDED' | 'MODIFIED', previous?: KubeObject): KubeObject {
    resourceVersion += 1;
    object.metadata.resourceVersion = String(resourceVersion);
    deepFreeze(object);
    const objects = bucket(type);
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    indexOwners(storageKeyOf(type), objects.get(key), false);
    objects.set(key, object);
    indexOwners(storageKeyOf(type), object, true);
    indexNamespace(storageKeyOf(type), object, true);
    if (type.crd === undefined && type.kind === 'CustomResourceDefinition' && type.group === 'apiextensions.k8s.io') {
      registry.setCustom(object.metadata.name, typesOfCrd(object));
    }
    emit({ resourceVersion, type: eventType, storageKey: storageKeyOf(type), object, ...(previous ? { previous } : {}) });
    return object;
  }

  function scheduleNamespaceCleanup(namespace: string): void {
    if (pendingCleanups.has(namespace) || closed) return;
    pendingCleanups.set(
      namespace,
      setImmediate(() => {
        pendingCleanups.delete(namespace);
        cleanupNamespace(namespace);
      }),
    );
  }

  /** The namespace controller: delete everything in a terminating namespace, then the namespace. */
  function cleanupNamespace(namespace: string): void {
    const namespaceObject = bucket(namespaceType).get(objectKey(undefined, namespace));
    if (!namespaceObject?.metadata.deletionTimestamp) return;
    let remaining = 0;
    for (const [key, objects] of storage) {
      const type = typeOfStorageKey(key);
      if (!type?.namespaced) continue;
      for (const object of [...(byNamespace.get(key)?.get(namespace)?.values() ?? [])]) {
        if (!object.metadata.deletionTimestamp && objects.has(objectKey(namespace, object.metadata.name))) {
          deleteObject(type, namespace, object.metadata.name, { propagationPolicy: 'Background' });
        }
        if (objects.has(objectKey(namespace, object.metadata.name))) remaining += 1;
      }
    }
    if (remaining === 0 && bucket(namespaceType).has(objectKey(undefined, namespace))) removeNow(namespaceType, namespaceObject, 'Background');
  }

  /** Drops the object for good: DELETED event, dependents collected, CRD types withdrawn. */
  function removeNow(type: ResourceType, object: KubeObject, policy: 'Background' | 'Foreground' | 'Orphan'): KubeObject {
    const objects = bucket(type);
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    const previous = objects.get(key);
    if (!previous) return object;
    objects.delete(key);
    indexOwners(storageKeyOf(type), previous, false);
    indexNamespace(storageKeyOf(type), previous, false);
    resourceVersion += 1;
    const gone = deepFreeze({ ...object, metadata: { ...object.metadata, resourceVersion: String(resourceVersion) } });
    emit({ resourceVersion, type: 'DELETED', storageKey: storageKeyOf(type), object: gone, previous });
    options.counters.deleted(counterName(type));

    if (type.group === 'apiextensions.k8s.io' && type.kind === 'CustomResourceDefinition') {
      const declared = registry.customOf(object.metadata.name);
      const first = declared[0];
      if (first) {
        for (const custom of [...bucket(first).values()]) removeNow(first, custom, 'Background');
        storage.delete(storageKeyOf(first));
      }
      registry.setCustom(object.metadata.name, []);
    }
    collectDependents(object.metadata.uid, policy);
    releaseForegroundOwners(object.metadata.ownerReferences ?? []);
    if (type.namespaced && object.metadata.namespace) {
      const namespaceObject = bucket(namespaceType).get(objectKey(undefined, object.metadata.namespace));
      if (namespaceObject?.metadata.deletionTimestamp) scheduleNamespaceCleanup(object.metadata.namespace);
    }
    return gone;
  }

  /** The stored objects (not copies) whose ownerReferences name `ownerUid`. */
  function dependentsOf(ownerUid: string): Array<{ type: ResourceType; object: KubeObject }> {
    const found: Array<{ type: ResourceType; object: KubeObject }> = [];
    for (const { storageKey, key } of ownerIndex.get(ownerUid)?.values() ?? []) {
      const type = typeOfStorageKey(storageKey);
      const object = storage.get(storageKey)?.get(key);
      if (type && object) found.push({ type, object });
    }
    return found;
  }

  function orphanDependents(ownerUid: string): void {
    for (const { type, object } of dependentsOf(ownerUid)) {
      const next = clone(object);
      next.metadata.ownerReferences = (object.metadata.ownerReferences ?? []).filter((reference) => reference.uid !== ownerUid);
      if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
      store(type, next, 'MODIFIED', object);
    }
  }

  /** Owners being deleted in the foreground: uid → where they are stored. */
  const foregroundOwners = new Map<string, { type: ResourceType; namespace: string | undefined; name: string }>();

  /** Owners deleted in the foreground lose their `foregroundDeletion` finalizer once no dependent is left. */
  function releaseForegroundOwners(references: Array<{ uid: string }>): void {
    for (const reference of references) {
      const waiting = foregroundOwners.get(reference.uid);
      if (!waiting || dependentsOf(reference.uid).length > 0) continue;
      foregroundOwners.delete(reference.uid);
      const owner = bucket(waiting.type).get(objectKey(waiting.namespace, waiting.name));
      if (!owner || owner.metadata.uid !== reference.uid || !(owner.metadata.finalizers ?? []).includes(FOREGROUND)) continue;
      const next = clone(owner);
      next.metadata.finalizers = (owner.metadata.finalizers ?? []).filter((finalizer) => finalizer !== FOREGROUND);
      commit(waiting.type, owner, next, { manager: 'generic-garbage-collector', subresource: '' });
    }
  }

  function collectDependents(ownerUid: string, policy: 'Background' | 'Foreground' | 'Orphan'): void {
    if (policy === 'Orphan') {
      orphanDependents(ownerUid);
      return;
    }
    for (const { type, object } of dependentsOf(ownerUid)) {
      if (bucket(type).has(objectKey(object.metadata.namespace, object.metadata.name))) {
        deleteObject(type, object.metadata.namespace, object.metadata.name, { propagationPolicy: 'Background' });
      }
    }
  }

  function requireNamespace(type: ResourceType, namespace: string | undefined, name: string): void {
    if (!type.namespaced) return;
    if (!namespace) throw badRequest('the server could not find the requested resource: a namespace is required');
    const namespaceObject = bucket(namespaceType).get(objectKey(undefined, namespace));
    if (!namespaceObject) throw notFound(namespaceType, namespace);
    if (namespaceObject.metadata.deletionTimestamp) {
      throw new KubeStatusError(
        403,
        'Forbidden',
        `${type.group === '' ? type.plural : `${type.plural}.${type.group}`} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        { name, group: type.group, kind: type.plural, causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }] },
      );
    }
  }

  function scopeOf(type: ResourceType, subresource: '' | 'status'): WriteScope {
    if (!type.subresources.includes('status')) return { scope: 'all', subresource: '' };
    return subresource === 'status' ? { scope: 'status', subresource: 'status' } : { scope: 'main', subresource: '' };
  }

  /** Defaults, validation and pruning of a custom resource against its CRD's schema. */
  function checkAgainstCrd(type: ResourceType, object: KubeObject, fieldValidation: FieldValidation | undefined): KubeObject {
    if (type.crd === undefined) return object;
    const crdType = registry.lookup('apiextensions.k8s.io', 'v1', 'customresourcedefinitions') as ResourceType;
    const schema = schemaOfCrdVersion(bucket(crdType).get(objectKey(undefined, type.crd)), type.version);
    if (schema === undefined) {
      reportFields(type, [], fieldValidation, cannotHandle(type));
      return object;
    }
    const check = checkCustomResource(schema, object);
    // A custom resource's metadata is an ObjectMeta like any other object's.
    const metadata = fieldValidation ? checkBuiltinObject((id) => schemas.definition(id), OBJECT_META, object.metadata) : undefined;
    reportFields(type, [...check.unknown, ...(metadata?.unknown ?? []).map((path) => `metadata.${path}`)], fieldValidation, cannotHandle(type));
    if (metadata && isPlainObject(metadata.object)) (check.object as KubeObject).metadata = metadata.object as KubeObject['metadata'];
    if (check.errors.length > 0) throw invalid(type, object.metadata.name, check.errors);
    return check.object as KubeObject;
  }

  function cannotHandle(type: ResourceType): string {
    return `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: `;
  }

  /** Strict: 400 naming every undeclared and duplicate field, as the strict decoder does; Warn: one warning each; Ignore: nothing. */
  function reportFields(type: ResourceType, unknown: string[], validation: FieldValidation | undefined, prefix: string): void {
    if (!validation || validation.directive === 'Ignore') return;
    const problems = [...unknown.map((path) => `unknown field "${path}"`), ...validation.duplicates.map((path) => `duplicate field "${path}"`)];
    // Each write checks the body once; a commit after an apply must not report the body's duplicates again.
    validation.duplicates = [];
    if (problems.length === 0) return;
    if (validation.directive === 'Strict') throw badRequest(`${prefix}strict decoding error: ${problems.join(', ')}`);
    validation.warnings.push(...problems);
  }

  /**
   * A built-in kind's body against its schema, as the decoder sees it: a wrong type is a 400 whatever
   * the directive; undeclared fields are reported (see `reportFields`) and dropped. `status` is the
   * simulator's on the main resource (it is never taken from the body there), so it is not checked.
   */
  function checkBuiltin(type: ResourceType, body: unknown, validation: FieldValidation | undefined, prefix: string): unknown {
    if (!validation || type.crd !== undefined || !isPlainObject(body)) return body;
    const id = schemas.idOfKind(type);
    if (!schemas.definition(id)) {
      reportFields(type, [], validation, prefix);
      return body;
    }
    const { status, ...rest } = body;
    const check = checkBuiltinObject((name) => schemas.definition(name), id, rest);
    if (check.mismatch) throw badRequest(`${prefix}${check.mismatch.decodeMessage}`);
    reportFields(type, check.unknown, validation, prefix);
    const object = check.object as JsonObject;
    if (status !== undefined) object.status = status;
    return object;
  }

  /**
   * Server-side apply turns the configuration into a typed value first: an undeclared field or a
   * wrong type fails the apply whatever `fieldValidation` says (only duplicates follow it), worded as
   * structured-merge-diff words it.
   */
  function checkApplyConfiguration(type: ResourceType, namespace: string | undefined, name: string, config: JsonObject, validation: FieldValidation | undefined): void {
    if (!validation) return;
    if (type.crd === undefined) {
      const id = schemas.idOfKind(type);
      if (schemas.definition(id)) {
        const { status: _status, ...rest } = config;
        const check = checkBuiltinObject((definition) => schemas.definition(definition), id, rest);
        const where = `failed to create typed patch object (${namespace ?? ''}/${name}; ${groupVersionOf(type)}, Kind=${type.kind})`;
        if (check.mismatch) throw badRequest(`${where}: ${applyPathOf(rest, check.mismatch.path)}: ${check.mismatch.applyMessage}`);
        const errors = check.unknown.map((path) => `${applyPathOf(rest, path)}: field not declared in schema`);
        // structured-merge-diff lists several errors one per line under `errors:`.
        if (errors.length > 0) throw badRequest(`${where}: ${errors.length === 1 ? errors[0] : ['errors:', ...errors.map((error) => `  ${error}`)].join('\n')}`);
      }
    }
    if (validation.directive === 'Ignore' || validation.duplicates.length === 0) return;
    const problems = validation.duplicates.map((path) => `duplicate field "${path}"`);
    validation.duplicates = [];
    if (validation.directive === 'Strict') throw badRequest(`error strict decoding YAML: ${problems.join(', ')}`);
    validation.warnings.push(...problems);
  }

  function crdStatus(object: KubeObject): JsonObject {
    const spec = isPlainObject(object.spec) ? object.spec : {};
    const versions = Array.isArray(spec.versions) ? spec.versions.filter(isPlainObject) : [];
    const at = timestamp(now());
    return {
      acceptedNames: clone(spec.names),
      conditions: [
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: at },
        { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: at },
      ],
      storedVersions: versions.filter((version) => version.storage === true).map((version) => version.name),
    };
  }

  function createObject(type: ResourceType, namespace: string | undefined, input: unknown, writeOptions: WriteOptions, managedFields?: ManagedFieldsEntry[]): KubeObject {
    if (!isPlainObject(input)) throw badRequest('the body of the request must be a JSON or YAML object');
    const body = checkBuiltin(type, input, writeOptions.fieldValidation, cannotHandle(type)) as JsonObject;
    const apiVersion = groupVersionOf(type);
    if (body.apiVersion !== undefined && body.apiVersion !== apiVersion) {
      throw badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${apiVersion})`);
    }
    if (body.kind !== undefined && body.kind !== type.kind) throw badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${type.kind})`);
    const metadata: JsonObject = isPlainObject(body.metadata) ? clone(body.metadata) : {};
    if (type.namespaced && metadata.namespace !== undefined && metadata.namespace !== '' && metadata.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    let name = typeof metadata.name === 'string' ? metadata.name : '';
    if (name === '' && typeof metadata.generateName === 'string' && metadata.generateName !== '') name = `${metadata.generateName}${randomSuffix(5)}`;
    const object = (type.crd === undefined ? cloneWithoutNulls(body) : clone(body)) as KubeObject;
    object.apiVersion = apiVersion;
    object.kind = type.kind;
    for (const serverSet of ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink']) {
      delete metadata[serverSet];
    }
    object.metadata = { ...metadata, name, uid: randomUUID(), resourceVersion: '', generation: 1, creationTimestamp: timestamp(now()) } as KubeObject['metadata'];
    if (type.namespaced) object.metadata.namespace = namespace;
    else delete object.metadata.namespace;
    if (type.subresources.includes('status')) delete object.status;
    applyDefaults(type, object, undefined, allocateClusterIp);
    const errors = validateObject(type, object);
    if (errors.length > 0) throw invalid(type, name, errors);
    const checked = checkAgainstCrd(type, object, writeOptions.fieldValidation);
    requireNamespace(type, namespace, name);
    if (bucket(type).has(objectKey(checked.metadata.namespace, name))) throw alreadyExists(type, name);
    if (type.group === 'apiextensions.k8s.io' && type.kind === 'CustomResourceDefinition') checked.status = crdStatus(checked);
    checked.metadata.managedFields =
      managedFields ?? recordUpdate({ previous: undefined, next: checked, manager: writeOptions.manager, apiVersion, now: timestamp(now()), ...scopeOf(type, '') });
    if (writeOptions.dryRun) return checked;
    const created = store(type, checked, 'ADDED');
    options.counters.created(counterName(type));
    return created;
  }

  interface CommitOptions extends WriteOptions {
    subresource: '' | 'status';
    managedFields?: ManagedFieldsEntry[];
  }

  /** Every change to an existing object goes through here. */
  function commit(type: ResourceType, previous: KubeObject, candidate: unknown, commitOptions: CommitOptions): KubeObject {
    const name = previous.metadata.name;
    if (!isPlainObject(candidate)) throw badRequest('the body of the request must be a JSON or YAML object');
    const candidateMetadata = isPlainObject(candidate.metadata) ? candidate.metadata : {};
    if (candidateMetadata.name !== undefined && candidateMetadata.name !== name) {
      throw badRequest(`the name of the object (${String(candidateMetadata.name)}) does not match the name on the URL (${name})`);
    }
    const expectedVersion = candidateMetadata.resourceVersion;
    if (expectedVersion !== undefined && expectedVersion !== '' && expectedVersion !== previous.metadata.resourceVersion) {
      throw conflict(type, name, STALE_OBJECT);
    }
    const hasStatus = type.subresources.includes('status');
    let next: KubeObject;
    if (commitOptions.subresource === 'status') {
      // Only the status changes: the rest is shared with the stored (frozen) version.
      next = { ...previous, metadata: { ...previous.metadata } };
      if (candidate.status === undefined || candidate.status === null) delete next.status;
      else next.status = type.crd === undefined ? cloneWithoutNulls(candidate.status) : clone(candidate.status);
    } else {
      next = (type.crd === undefined ? cloneWithoutNulls(candidate) : clone(candidate)) as KubeObject;
      next.apiVersion = groupVersionOf(type);
      next.kind = type.kind;
      if (hasStatus) {
        if (previous.status === undefined) delete next.status;
        else next.status = previous.status;
      }
      const kept = previous.metadata;
      next.metadata = {
        ...clone(candidateMetadata),
        name,
        uid: kept.uid,
        resourceVersion: kept.resourceVersion,
        creationTimestamp: kept.creationTimestamp,
      } as KubeObject['metadata'];
      if (kept.namespace !== undefined) next.metadata.namespace = kept.namespace;
      else delete next.metadata.namespace;
      for (const field of ['generation', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generateName'] as const) {
        if (kept[field] !== undefined) next.metadata[field] = kept[field] as never;
        else delete next.metadata[field];
      }
      if (kept.deletionTimestamp) {
        const added = (next.metadata.finalizers ?? []).filter((finalizer) => !(kept.finalizers ?? []).includes(finalizer));
        if (added.length > 0) {
          throw invalid(type, name, [{ field: 'metadata.finalizers', type: 'FieldValueForbidden', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` }]);
        }
      }
    }
    applyDefaults(type, next, previous, allocateClusterIp);
    const errors = [...validateObject(type, next), ...validateUpdate(type, previous, next)];
    if (errors.length > 0) throw invalid(type, name, errors);
    next = checkAgainstCrd(type, next, commitOptions.fieldValidation);
    if (commitOptions.subresource !== 'status' && !deepEqual(withoutMetadataAndStatus(previous), withoutMetadataAndStatus(next))) {
      next.metadata.generation = (previous.metadata.generation ?? 1) + 1;
    }
    next.metadata.managedFields =
      commitOptions.managedFields ??
      recordUpdate({ previous, next, manager: commitOptions.manager, apiVersion: groupVersionOf(type), now: timestamp(now()), ...scopeOf(type, commitOptions.subresource) });
    if ((next.metadata.finalizers ?? []).length === 0) delete next.metadata.finalizers;
    if (deepEqual(comparable(previous), comparable(next))) return previous;
    if (commitOptions.dryRun) return next;
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
      return removeNow(type, next, 'Background');
    }
    return store(type, next, 'MODIFIED', previous);
  }

  function existing(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const object = bucket(type).get(objectKey(type.namespaced ? namespace : undefined, name));
    if (!object) throw notFound(type, name);
    return object;
  }

  function deleteObject(type: ResourceType, namespace: string | undefined, name: string, deleteOptions: DeleteOptions = {}): DeleteResult {
    const object = existing(type, namespace, name);
    const preconditions = deleteOptions.preconditions ?? {};
    if (preconditions.uid && preconditions.uid !== object.metadata.uid) {
      throw conflict(type, name, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${object.metadata.uid}`);
    }
    if (preconditions.resourceVersion && preconditions.resourceVersion !== object.metadata.resourceVersion) {
      throw conflict(type, name, `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in meta: ${object.metadata.resourceVersion}`);
    }
    if (type === namespaceType && PROTECTED_NAMESPACES.has(name)) {
      throw new KubeStatusError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
    }
    if (deleteOptions.dryRun) return { code: 200, body: object };
    if (object.metadata.deletionTimestamp) return { code: 202, body: object };
    if (type === namespaceType) {
      const next = clone(object);
      next.metadata.deletionTimestamp = timestamp(now());
      next.metadata.deletionGracePeriodSeconds = 0;
      next.status = { ...(isPlainObject(next.status) ? next.status : {}), phase: 'Terminating' };
      const stored = store(type, next, 'MODIFIED', object);
      scheduleNamespaceCleanup(name);
      return { code: 200, body: stored };
    }
    const policy = deleteOptions.propagationPolicy ?? 'Background';
    if (policy === 'Orphan') orphanDependents(object.metadata.uid);
    if (policy === 'Foreground' && dependentsOf(object.metadata.uid).length > 0) {
      // Foreground: the owner waits, with the `foregroundDeletion` finalizer, until its dependents are gone.
      const next = clone(object);
      next.metadata.deletionTimestamp = timestamp(now());
      next.metadata.deletionGracePeriodSeconds = 0;
      next.metadata.finalizers = [...new Set([...(object.metadata.finalizers ?? []), FOREGROUND])];
      next.metadata.generation = (object.metadata.generation ?? 1) + 1;
      const stored = store(type, next, 'MODIFIED', object);
      foregroundOwners.set(object.metadata.uid, { type, namespace: object.metadata.namespace, name });
      for (const dependent of dependentsOf(object.metadata.uid)) {
        if (!dependent.object.metadata.deletionTimestamp) deleteObject(dependent.type, dependent.object.metadata.namespace, dependent.object.metadata.name, { propagationPolicy: 'Foreground' });
      }
      releaseForegroundOwners([{ uid: object.metadata.uid }]);
      return { code: 202, body: stored };
    }
    if ((object.metadata.finalizers ?? []).length > 0) {
      const next = clone(object);
      next.metadata.deletionTimestamp = timestamp(now());
      next.metadata.deletionGracePeriodSeconds = 0;
      next.metadata.generation = (object.metadata.generation ?? 1) + 1;
      return { code: 202, body: store(type, next, 'MODIFIED', object) };
    }
    const gone = removeNow(type, object, policy === 'Orphan' ? 'Orphan' : 'Background');
    return { code: 200, body: successStatus({ name, group: type.group, kind: type.plural, uid: gone.metadata.uid }) };
  }

  const cluster: KubeCluster = {
    name: options.name,
    token: options.token,
    registry,
    currentResourceVersion: () => resourceVersion,
    get(type, namespace, name) {
      return bucket(type).get(objectKey(type.namespaced ? namespace : undefined, name));
    },
    list(type, namespace) {
      return (namespace === undefined ? [...bucket(type).values()] : inNamespace(type, namespace)).sort((a, b) =>
        objectKey(a.metadata.namespace, a.metadata.name).localeCompare(objectKey(b.metadata.namespace, b.metadata.name)),
      );
    },
    scan(type, namespace) {
      return namespace === undefined ? [...bucket(type).values()] : inNamespace(type, namespace);
    },
    owned(ownerUid, type) {
      return dependentsOf(ownerUid)
        .filter((dependent) => type === undefined || storageKeyOf(dependent.type) === storageKeyOf(type))
        .map((dependent) => dependent.object);
    },
    create: (type, namespace, body, writeOptions) => createObject(type, namespace, body, writeOptions),
    update(type, namespace, name, body, writeOptions) {
      const live = existing(type, namespace, name);
      const checked = writeOptions.subresource === 'status' ? body : checkBuiltin(type, body, writeOptions.fieldValidation, cannotHandle(type));
      return commit(type, live, checked, { ...writeOptions, subresource: writeOptions.subresource ?? '' });
    },
    patch(type, namespace, name, patchType, patch, patchOptions) {
      const subresource = patchOptions.subresource ?? '';
      const live = bucket(type).get(objectKey(type.namespaced ? namespace : undefined, name));
      if (patchType === 'apply') {
        if (!isPlainObject(patch)) throw badRequest('the body of an apply request must be an object');
        if (!patch.apiVersion || !patch.kind) throw badRequest('error decoding YAML: Object \'Kind\' is missing in the applied configuration, or apiVersion is missing');
        if (patch.apiVersion !== groupVersionOf(type) || patch.kind !== type.kind) {
          throw badRequest(`the apiVersion and kind of the applied configuration (${String(patch.apiVersion)}, ${String(patch.kind)}) do not match the request (${groupVersionOf(type)}, ${type.kind})`);
        }
        const metadata = isPlainObject(patch.metadata) ? patch.metadata : {};
        if (metadata.name !== undefined && metadata.name !== name) {
          throw badRequest(`the name of the object (${String(metadata.name)}) does not match the name on the URL (${name})`);
        }
        checkApplyConfiguration(type, namespace, name, patch, patchOptions.fieldValidation);
        const applied = applyConfiguration({
          live,
          config: patch,
          manager: patchOptions.manager,
          force: patchOptions.force ?? false,
          apiVersion: groupVersionOf(type),
          now: timestamp(now()),
          ...scopeOf(type, subresource),
        });
        if (applied.conflicts) throw applyConflictError(type, name, applied.conflicts);
        // A built-in configuration was checked whole above; a custom resource is checked against its CRD as it is stored.
        const appliedOptions = type.crd === undefined ? { ...patchOptions, fieldValidation: undefined } : patchOptions;
        if (!live) {
          if (subresource === 'status') throw notFound(type, name);
          const body = { ...applied.object, metadata: { ...(applied.object.metadata as JsonObject), name } };
          return { object: createObject(type, namespace, body, appliedOptions, applied.managedFields), created: true };
        }
        return { object: commit(type, live, applied.object, { ...appliedOptions, subresource, managedFields: applied.managedFields }), created: false };
      }
      if (!live) throw notFound(type, name);
      // The patch functions copy what they change and leave `live` (frozen) as it is.
      const base = live;
      let patched: unknown;
      if (patchType === 'merge') patched = mergePatch(base, patch);
      else if (patchType === 'json') patched = jsonPatch(base, patch);
      else {
        if (type.crd !== undefined) {
          throw new KubeStatusError(
            415,
            'UnsupportedMediaType',
            'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
          );
        }
        if (!isPlainObject(patch)) throw badRequest('a strategic merge patch must be an object');
        patched = strategicMergePatch(base, patch);
      }
      const checked = subresource === 'status' ? patched : checkBuiltin(type, patched, patchOptions.fieldValidation, '');
      return { object: commit(type, live, checked, { ...patchOptions, subresource }), created: false };
    },
    delete: (type, namespace, name, deleteOptions) => deleteObject(type, namespace, name, deleteOptions),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    eventsSince(since) {
      if (since < compactedResourceVersion) return undefined;
      return history.filter((event) => event.resourceVersion > since);
    },
    snapshot() {
      const objects: ClusterSnapshot['objects'] = [];
      for (const [storageKey, bucketObjects] of storage) {
        // Live objects, not copies: the state store serialises the snapshot at once (copying every object first was most of a save's cost).
        for (const object of bucketObjects.values()) objects.push({ storageKey, object });
      }
      return { name: options.name, token: cluster.token, resourceVersion, clusterIps, objects };
    },
    close() {
      closed = true;
      for (const pending of pendingCleanups.values()) clearImmediate(pending);
      pendingCleanups.clear();
      listeners.clear();
    },
  };

  if (options.restoreFrom) {
    const data = options.restoreFrom;
    resourceVersion = data.resourceVersion;
    compactedResourceVersion = data.resourceVersion;
    clusterIps = data.clusterIps;
    const ordered = [...data.objects].sort((a, b) => Number(b.storageKey.endsWith('/customresourcedefinitions')) - Number(a.storageKey.endsWith('/customresourcedefinitions')));
    for (const { storageKey, object } of ordered) {
      const [groupName = '', plural = ''] = storageKey.split('/');
      const objects = bucket({ group: groupName, plural });
      const restored = deepFreeze(clone(object));
      objects.set(objectKey(object.metadata.namespace, object.metadata.name), restored);
      indexOwners(storageKey, object, true);
      indexNamespace(storageKey, restored, true);
      if (storageKey === 'apiextensions.k8s.io/customresourcedefinitions') registry.setCustom(object.metadata.name, typesOfCrd(object));
    }
    for (const namespaceObject of bucket(namespaceType).values()) {
      if (namespaceObject.metadata.deletionTimestamp) scheduleNamespaceCleanup(namespaceObject.metadata.name);
    }
  }
  return cluster;
}
