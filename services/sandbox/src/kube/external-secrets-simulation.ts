/**
 * What the External Secrets Operator does once its chart is installed, for the AWS Secrets
 * Manager provider: validates SecretStores and ClusterSecretStores by calling Secrets Manager with
 * their credentials (read from Kubernetes Secrets), and for each ExternalSecret reads its remote
 * keys with the store's credentials and writes the target Secret, again every `refreshInterval` of
 * sandbox time. The calls go to the sandbox's own Secrets Manager over HTTP (`SecretsManagerReader`),
 * so a wrong key or a missing secret fails as it would against AWS. Nothing happens until the
 * external-secrets.io CRDs exist and the `external-secrets` Deployment is Available.
 */
import { createHash } from 'node:crypto';
import { isPlainObject, type JsonObject } from './json-values.js';
import type { StoredEvent } from './kube-cluster.js';
import type { KubeObject } from './object-rules.js';
import { storageKeyOf, type ResourceType } from './resource-table.js';
import {
  DEPLOYMENT,
  SECRET,
  at,
  availableDeployment,
  controllerOf,
  mergeConditions,
  objectsAt,
  ownerReference,
  type AddOnSimulation,
  type Condition,
  type SimulationRuntime,
} from './simulation-runtime.js';
import type { AwsCredentials } from './dns01-solver.js';
import { SecretsManagerReadError, type SecretsManagerReader } from './secrets-manager-reader.js';

export const EXTERNAL_SECRETS_DEPLOYMENT = 'external-secrets';
export const CREATED_BY_LABEL = 'reconcile.external-secrets.io/created-by';
const GROUP = 'external-secrets.io';
const COMPONENT = 'external-secrets';
const MANAGER = 'external-secrets';
/** ESO's default `refreshInterval`. */
const DEFAULT_REFRESH_MS = 60 * 60_000;
/** Retries after a failure, in sandbox time: 5 s, doubling, at most 5 min (controller-runtime's rate limiter, coarsened). */
const FIRST_BACKOFF_MS = 5_000;
const MAX_BACKOFF_MS = 5 * 60_000;

type StoreKind = 'SecretStore' | 'ClusterSecretStore';

/** Consecutive failures of one object with the same inputs (`key`), and when the last one was. */
interface Failure {
  key: string;
  count: number;
  at: number;
}

export interface ExternalSecretsSimulationOptions {
  reader: SecretsManagerReader;
  /** Credentials a store uses when it names no `auth.secretRef` (the controller's ambient credentials). */
  ambientCredentials?: AwsCredentials | undefined;
}

export function backoffMs(failures: number): number {
  return Math.min(FIRST_BACKOFF_MS * 2 ** Math.max(0, failures - 1), MAX_BACKOFF_MS);
}

/** A Go duration (`1h`, `15s`, `1h30m`, `500ms`, `0`) in milliseconds; undefined when malformed. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const pattern = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index !== consumed) return undefined;
    total += Number(match[1]) * (units[match[2] as string] ?? 0);
    consumed += match[0].length;
  }
  return consumed === text.length && consumed > 0 ? total : undefined;
}

function decode(secret: KubeObject | undefined, key: string): string | undefined {
  const data = isPlainObject(secret?.data) ? secret.data : {};
  const stringData = isPlainObject(secret?.stringData) ? secret.stringData : {};
  if (typeof data[key] === 'string') return Buffer.from(data[key], 'base64').toString('utf8');
  return typeof stringData[key] === 'string' ? stringData[key] : undefined;
}

/** A failure worded for the ExternalSecret's or store's condition. */
class SyncError extends Error {}

/** A field of a JSON secret, as ESO's `property` reads it (a gjson path: `a.b`, keys with dots escaped as `a\.b`). */
function propertyOf(secretString: string, property: string, key: string): string {
  let value: unknown;
  try {
    value = JSON.parse(secretString);
  } catch {
    throw new SyncError(`key ${property} does not exist in secret ${key}`);
  }
  if (isPlainObject(value) && property in value) value = value[property];
  else for (const part of property.split(/(?<!\\)\./).map((segment) => segment.replace(/\\\./g, '.'))) value = isPlainObject(value) ? value[part] : undefined;
  if (value === undefined || value === null) throw new SyncError(`key ${property} does not exist in secret ${key}`);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function createExternalSecretsSimulation(runtime: SimulationRuntime, options: ExternalSecretsSimulationOptions): AddOnSimulation {
  const { cluster, clock, enqueue, later, recordEvent } = runtime;
  const type = (plural: string): ResourceType | undefined => cluster.registry.forStorageKey(`${GROUP}/${plural}`);
  const storeType = (kind: StoreKind) => type(kind === 'ClusterSecretStore' ? 'clustersecretstores' : 'secretstores');
  /** Per store uid: what was validated (generation and credentials), so a status write does not validate again. */
  const validated = new Map<string, string>();
  const storeFailures = new Map<string, Failure>();
  /** Per ExternalSecret uid: the generation last synced and when (sandbox ms). */
  const synced = new Map<string, { generation: number; at: number }>();
  const syncFailures = new Map<string, Failure>();
  /** The call running per object uid; a result is applied only while it is still the current one. */
  const attempts = new Map<string, object>();

  const controller = () => availableDeployment(cluster, EXTERNAL_SECRETS_DEPLOYMENT);
  /** Sandbox ms left of `simulatedMs` that began at the real instant `sinceRealMs`. */
  const remaining = (sinceRealMs: number, simulatedMs: number) => Math.max(simulatedMs - (clock.now() - sinceRealMs) * clock.scale, 1);

  function writeConditions(resourceType: ResourceType, object: KubeObject, conditions: Condition[], extra: JsonObject = {}): void {
    const previous = isPlainObject(object.status) ? object.status : {};
    runtime.writeStatus(resourceType, object, { ...previous, ...extra, conditions: mergeConditions(previous.conditions, conditions, runtime.now(), false) }, MANAGER);
  }

  /** Records an Event only when the Ready condition changes, so a level-triggered loop does not repeat it. */
  function eventOnChange(object: KubeObject, next: Condition, eventType: 'Normal' | 'Warning', reason: string): void {
    const before = objectsAt(object, 'status.conditions').find((candidate) => candidate.type === 'Ready');
    if (before?.status !== next.status || before.reason !== next.reason || before.message !== next.message) recordEvent(object, eventType, reason, next.message, COMPONENT);
  }

  // ---- Stores ------------------------------------------------------------------------------

  interface Provider {
    region: string;
    credentials: AwsCredentials;
  }

  /** The store's AWS provider with its credentials read from Secrets; throws a `SyncError` saying what is wrong. */
  function providerOf(kind: StoreKind, store: KubeObject): Provider {
    const aws = at(store, 'spec.provider.aws');
    if (!isPlainObject(aws)) throw new SyncError('unable to validate store: only the aws provider is simulated (spec.provider.aws is missing)');
    const service = aws.service ?? 'SecretsManager';
    if (service !== 'SecretsManager') throw new SyncError(`unable to validate store: only service SecretsManager is simulated, not ${String(service)}`);
    const region = typeof aws.region === 'string' && aws.region !== '' ? aws.region : undefined;
    if (region === undefined) throw new SyncError('unable to validate store: missing region');
    const secretRef = at(aws, 'auth.secretRef');
    if (!isPlainObject(secretRef)) {
      if (!options.ambientCredentials) throw new SyncError('unable to validate store: no auth.secretRef and no ambient credentials');
      return { region, credentials: options.ambientCredentials };
    }
    const read = (field: string): string => {
      const ref = secretRef[field];
      const name = at(ref, 'name');
      const key = at(ref, 'key');
      if (typeof name !== 'string' || typeof key !== 'string') throw new SyncError(`unable to validate store: invalid ${field}: name and key are required`);
      const namespace = at(ref, 'namespace');
      if (kind === 'ClusterSecretStore' && typeof namespace !== 'string') throw new SyncError(`unable to validate store: invalid ${field}: namespace is required for a ClusterSecretStore`);
      if (kind === 'SecretStore' && typeof namespace === 'string' && namespace !== store.metadata.namespace) throw new SyncError(`unable to validate store: invalid ${field}: namespace not allowed with namespaced SecretStore`);
      const secretNamespace = typeof namespace === 'string' ? namespace : (store.metadata.namespace as string);
      const secret = cluster.get(SECRET, secretNamespace, name);
      if (!secret) throw new SyncError(`unable to validate store: could not fetch ${field} secret: Secret "${name}" not found`);
      const value = decode(secret, key);
      if (value === undefined) throw new SyncError(`unable to validate store: could not fetch ${field} secret: key "${key}" not found in Secret "${secretNamespace}/${name}"`);
      return value.trim();
    };
    return { region, credentials: { accessKeyId: read('accessKeyIDSecretRef'), secretAccessKey: read('secretAccessKeySecretRef') } };
  }

  /**
   * Whether a failure with the same `key` (generation and inputs) is still backing off; if so the
   * retry is scheduled for when it ends. Status writes re-trigger reconciles: this keeps them from
   * retrying at once.
   */
  function backingOff(failures: Map<string, Failure>, uid: string, key: string, timer: string, retry: () => void): boolean {
    const failure = failures.get(uid);
    if (!failure || failure.key !== key || clock.elapsed(failure.at, backoffMs(failure.count))) return false;
    later(timer, remaining(failure.at, backoffMs(failure.count)), retry);
    return true;
  }

  function recordFailure(failures: Map<string, Failure>, uid: string, key: string, timer: string, retry: () => void): void {
    const count = (failures.get(uid)?.count ?? 0) + 1;
    failures.set(uid, { key, count, at: clock.now() });
    later(timer, backoffMs(count), retry);
  }

  function reconcileStore(kind: StoreKind, namespace: string | undefined, name: string): void {
    const stores = storeType(kind);
    const store = stores && cluster.get(stores, namespace, name);
    if (!stores || !store || store.metadata.deletionTimestamp || !controller()) return;
    const uid = store.metadata.uid;
    const generation = store.metadata.generation ?? 1;
    const timer = `external-secrets-store:${uid}`;
    const retry = () => reconcileStore(kind, namespace, name);
    const invalid = (current: KubeObject, key: string, message: string) => {
      validated.delete(uid);
      const next: Condition = { type: 'Ready', status: 'False', reason: 'InvalidProviderConfig', message };
      eventOnChange(current, next, 'Warning', 'InvalidProviderConfig');
      recordFailure(storeFailures, uid, key, timer, retry);
      writeConditions(stores, current, [next]);
    };
    let provider: Provider;
    try {
      provider = providerOf(kind, store);
    } catch (error) {
      const message = (error as Error).message;
      const key = JSON.stringify([generation, message]);
      if (!backingOff(storeFailures, uid, key, timer, retry)) invalid(store, key, message);
      return;
    }
    const fingerprint = JSON.stringify([generation, provider]);
    if (validated.get(uid) === fingerprint || attempts.has(uid) || backingOff(storeFailures, uid, fingerprint, timer, retry)) return;
    const attempt = {};
    attempts.set(uid, attempt);
    void options.reader
      .validate(provider.region, provider.credentials)
      .then(
        () => {
          const current = cluster.get(stores, namespace, name);
          if (attempts.get(uid) !== attempt || current?.metadata.uid !== uid) return;
          validated.set(uid, fingerprint);
          storeFailures.delete(uid);
          runtime.cancelTimer(timer);
          const next: Condition = { type: 'Ready', status: 'True', reason: 'Valid', message: 'store validated' };
          eventOnChange(current, next, 'Normal', 'Valid');
          writeConditions(stores, current, [next], { capabilities: 'ReadWrite' });
        },
        (error: unknown) => {
          const current = cluster.get(stores, namespace, name);
          if (attempts.get(uid) !== attempt || current?.metadata.uid !== uid) return;
          const message = error instanceof SecretsManagerReadError ? error.message : String((error as Error).message ?? error);
          invalid(current, fingerprint, `unable to validate store: ${message}`);
        },
      )
      .finally(() => {
        if (attempts.get(uid) === attempt) attempts.delete(uid);
        enqueueAllExternalSecrets();
      });
  }

  function readyStore(kind: StoreKind, namespace: string, name: string): { store?: KubeObject; problem?: string } {
    const stores = storeType(kind);
    const store = stores && cluster.get(stores, kind === 'SecretStore' ? namespace : undefined, name);
    if (!store) return { problem: `could not get store: ${kind === 'SecretStore' ? 'secretstores' : 'clustersecretstores'}.${GROUP} "${name}" not found` };
    const ready = objectsAt(store, 'status.conditions').find((condition) => condition.type === 'Ready');
    if (ready?.status !== 'True') return { problem: `${kind} "${name}" is not ready` };
    return { store };
  }

  // ---- ExternalSecrets ---------------------------------------------------------------------

  interface DataItem {
    secretKey: string;
    key: string;
    version?: string;
    property?: string;
  }

  interface Spec {
    refreshMs: number;
    storeKind: StoreKind;
    storeName: string;
    targetName: string;
    creationPolicy: string;
    data: DataItem[];
  }

  function specOf(externalSecret: KubeObject): Spec | string {
    const refresh = at(externalSecret, 'spec.refreshInterval');
    const refreshMs = refresh === undefined ? DEFAULT_REFRESH_MS : parseGoDuration(String(refresh));
    if (refreshMs === undefined) return `invalid refreshInterval "${String(refresh)}"`;
    const storeName = at(externalSecret, 'spec.secretStoreRef.name');
    const storeKind = at(externalSecret, 'spec.secretStoreRef.kind') ?? 'SecretStore';
    if (typeof storeName !== 'string' || (storeKind !== 'SecretStore' && storeKind !== 'ClusterSecretStore')) return 'spec.secretStoreRef must name a SecretStore or ClusterSecretStore';
    const targetName = at(externalSecret, 'spec.target.name');
    const data: DataItem[] = [];
    for (const item of objectsAt(externalSecret, 'spec.data')) {
      const secretKey = item.secretKey;
      const key = at(item, 'remoteRef.key');
      if (typeof secretKey !== 'string' || typeof key !== 'string') return 'spec.data[] needs secretKey and remoteRef.key';
      const version = at(item, 'remoteRef.version');
      const property = at(item, 'remoteRef.property');
      data.push({ secretKey, key, ...(typeof version === 'string' ? { version } : {}), ...(typeof property === 'string' && property !== '' ? { property } : {}) });
    }
    return {
      refreshMs,
      storeKind,
      storeName,
      targetName: typeof targetName === 'string' && targetName !== '' ? targetName : externalSecret.metadata.name,
      creationPolicy: String(at(externalSecret, 'spec.target.creationPolicy') ?? 'Owner'),
      data,
    };
  }

  /** ESO's `syncedResourceVersion`: the generation and a hash of the ExternalSecret's labels and annotations. */
  function syncedResourceVersion(externalSecret: KubeObject): string {
    const meta = JSON.stringify([externalSecret.metadata.labels ?? {}, externalSecret.metadata.annotations ?? {}]);
    return `${externalSecret.metadata.generation ?? 1}-${createHash('md5').update(meta).digest('hex')}`;
  }

  function reconcileExternalSecret(namespace: string, name: string): void {
    const externalSecrets = type('externalsecrets');
    const externalSecret = externalSecrets && cluster.get(externalSecrets, namespace, name);
    if (!externalSecrets || !externalSecret || externalSecret.metadata.deletionTimestamp || !controller()) return;
    const uid = externalSecret.metadata.uid;
    const generation = externalSecret.metadata.generation ?? 1;
    if (attempts.has(uid)) return;
    const spec = specOf(externalSecret);
    if (typeof spec === 'string') return fail(externalSecrets, externalSecret, spec);
    // Up to date: the same generation synced less than refreshInterval ago, and its Secret still there.
    const last = synced.get(uid);
    const targetPresent = spec.creationPolicy === 'None' || cluster.get(SECRET, namespace, spec.targetName) !== undefined;
    if (last && last.generation === generation && targetPresent && (spec.refreshMs === 0 || !clock.elapsed(last.at, spec.refreshMs))) {
      if (spec.refreshMs > 0) later(`external-secret-refresh:${uid}`, remaining(last.at, spec.refreshMs), () => reconcileExternalSecret(namespace, name));
      return;
    }
    if (backingOff(syncFailures, uid, String(generation), `external-secret-refresh:${uid}`, () => reconcileExternalSecret(namespace, name))) return;
    const { store, problem } = readyStore(spec.storeKind, namespace, spec.storeName);
    if (!store) return fail(externalSecrets, externalSecret, problem ?? 'store not ready', false);
    let provider: Provider;
    try {
      provider = providerOf(spec.storeKind, store);
    } catch (error) {
      return fail(externalSecrets, externalSecret, `could not get provider client: ${(error as Error).message}`);
    }
    const attempt = {};
    attempts.set(uid, attempt);
    void fetchData(spec, provider)
      .then(
        (data) => {
          if (attempts.get(uid) === attempt) writeTarget(namespace, name, uid, generation, spec, data);
        },
        (error: unknown) => {
          const current = cluster.get(externalSecrets, namespace, name);
          if (attempts.get(uid) === attempt && current?.metadata.uid === uid) fail(externalSecrets, current, (error as Error).message);
        },
      )
      .finally(() => {
        if (attempts.get(uid) === attempt) attempts.delete(uid);
        // A change while the call ran was skipped: look again (an up-to-date object only re-arms its timer).
        enqueueExternalSecret(namespace, name);
      });
  }

  async function fetchData(spec: Spec, provider: Provider): Promise<Record<string, string>> {
    const data: Record<string, string> = {};
    for (const [index, item] of spec.data.entries()) {
      let secretString: string;
      try {
        secretString = await options.reader.getSecretString(provider.region, provider.credentials, item.key, item.version);
      } catch (error) {
        throw new SyncError(`could not get secret data from provider: error retrieving secret at .data[${index}], key: ${item.key}, err: ${(error as Error).message}`);
      }
      try {
        data[item.secretKey] = item.property === undefined ? secretString : propertyOf(secretString, item.property, item.key);
      } catch (error) {
        throw new SyncError(`could not get secret data from provider: error retrieving secret at .data[${index}], key: ${item.key}, err: ${(error as Error).message}`);
      }
    }
    return data;
  }

  function writeTarget(namespace: string, name: string, uid: string, generation: number, spec: Spec, values: Record<string, string>): void {
    const externalSecrets = type('externalsecrets');
    const externalSecret = externalSecrets && cluster.get(externalSecrets, namespace, name);
    if (!externalSecrets || !externalSecret || externalSecret.metadata.uid !== uid || externalSecret.metadata.deletionTimestamp) return;
    // Read for a spec that has changed since: the next reconcile reads again.
    if ((externalSecret.metadata.generation ?? 1) !== generation) return;
    const data = Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
    const existing = cluster.get(SECRET, namespace, spec.targetName);
    const labels = { [CREATED_BY_LABEL]: createHash('sha256').update(uid).digest('hex').slice(0, 63) };
    let changed = false;
    if (spec.creationPolicy !== 'None') {
      if (!existing) {
        if (spec.creationPolicy === 'Merge') return fail(externalSecrets, externalSecret, `error processing spec.data: secret "${spec.targetName}" not found (creationPolicy Merge does not create it)`);
        cluster.create(
          SECRET,
          namespace,
          { metadata: { name: spec.targetName, labels, ...(spec.creationPolicy === 'Owner' ? { ownerReferences: [ownerReference(externalSecret)] } : {}) }, type: 'Opaque', data },
          { manager: MANAGER },
        );
        changed = true;
      } else {
        const owner = controllerOf(existing);
        if (spec.creationPolicy === 'Owner' && owner && owner.uid !== uid) {
          return fail(externalSecrets, externalSecret, `could not update Secret: target is owned by another ${owner.kind} "${owner.name}"`);
        }
        const nextData = spec.creationPolicy === 'Merge' ? { ...(isPlainObject(existing.data) ? existing.data : {}), ...data } : data;
        const adopt = spec.creationPolicy === 'Owner' && !owner;
        if (JSON.stringify(existing.data ?? {}) !== JSON.stringify(nextData) || adopt || (spec.creationPolicy !== 'Merge' && existing.metadata.labels?.[CREATED_BY_LABEL] === undefined)) {
          const metadata = { ...existing.metadata, labels: { ...existing.metadata.labels, ...(spec.creationPolicy === 'Merge' ? {} : labels) } };
          if (adopt) metadata.ownerReferences = [...(existing.metadata.ownerReferences ?? []), ownerReference(externalSecret)];
          changed = JSON.stringify(existing.data ?? {}) !== JSON.stringify(nextData);
          cluster.update(SECRET, namespace, spec.targetName, { ...existing, metadata, data: nextData }, { manager: MANAGER });
        }
      }
    }
    synced.set(uid, { generation, at: clock.now() });
    syncFailures.delete(uid);
    const ready: Condition = { type: 'Ready', status: 'True', reason: 'SecretSynced', message: 'secret synced' };
    if (changed) recordEvent(externalSecret, 'Normal', 'Updated', existing ? 'Updated Secret' : 'Created Secret', COMPONENT);
    else eventOnChange(externalSecret, ready, 'Normal', 'Updated');
    writeConditions(externalSecrets, externalSecret, [ready], { refreshTime: runtime.now(), syncedResourceVersion: syncedResourceVersion(externalSecret), binding: { name: spec.targetName } });
    if (spec.refreshMs > 0) later(`external-secret-refresh:${uid}`, spec.refreshMs, () => reconcileExternalSecret(namespace, name));
  }

  /** Ready=False SecretSyncedError, and a retry with backoff (`retry` false: the store's own change will bring it back). */
  function fail(externalSecrets: ResourceType, externalSecret: KubeObject, message: string, retry = true): void {
    const { uid, namespace = '', name } = externalSecret.metadata;
    const next: Condition = { type: 'Ready', status: 'False', reason: 'SecretSyncedError', message };
    eventOnChange(externalSecret, next, 'Warning', 'UpdateFailed');
    synced.delete(uid);
    if (retry) recordFailure(syncFailures, uid, String(externalSecret.metadata.generation ?? 1), `external-secret-refresh:${uid}`, () => reconcileExternalSecret(namespace, name));
    writeConditions(externalSecrets, externalSecret, [next]);
  }

  // ---- Routing of change events ------------------------------------------------------------

  function enqueueExternalSecret(namespace: string, name: string): void {
    enqueue(`external-secrets|externalsecret|${namespace}/${name}`, () => reconcileExternalSecret(namespace, name));
  }
  function enqueueStore(kind: StoreKind, namespace: string | undefined, name: string): void {
    enqueue(`external-secrets|${kind}|${namespace ?? ''}/${name}`, () => reconcileStore(kind, namespace, name));
  }
  function enqueueAllExternalSecrets(): void {
    const externalSecrets = type('externalsecrets');
    if (externalSecrets) for (const object of cluster.scan(externalSecrets)) enqueueExternalSecret(object.metadata.namespace ?? '', object.metadata.name);
  }
  function enqueueAllStores(): void {
    for (const kind of ['SecretStore', 'ClusterSecretStore'] as const) {
      const stores = storeType(kind);
      if (stores) for (const store of cluster.scan(stores)) enqueueStore(kind, store.metadata.namespace, store.metadata.name);
    }
  }
  function enqueueAll(): void {
    enqueueAllStores();
    enqueueAllExternalSecrets();
  }

  function forget(uid: string): void {
    for (const map of [validated, storeFailures, synced, syncFailures, attempts]) map.delete(uid);
    runtime.cancelTimer(`external-secrets-store:${uid}`);
    runtime.cancelTimer(`external-secret-refresh:${uid}`);
  }

  function onEvent(event: StoredEvent): void {
    const { object, storageKey } = event;
    switch (storageKey) {
      case `${GROUP}/externalsecrets`:
        if (event.type === 'DELETED') forget(object.metadata.uid);
        else enqueueExternalSecret(object.metadata.namespace ?? '', object.metadata.name);
        return;
      case `${GROUP}/secretstores`:
      case `${GROUP}/clustersecretstores`:
        if (event.type === 'DELETED') forget(object.metadata.uid);
        else enqueueStore(object.kind as StoreKind, object.metadata.namespace, object.metadata.name);
        enqueueAllExternalSecrets();
        return;
      case storageKeyOf(SECRET): {
        // Store credentials, or a target Secret deleted or edited by hand (its owner syncs it again).
        enqueueAllStores();
        const owner = controllerOf(object);
        if (owner?.kind === 'ExternalSecret') {
          if (event.type === 'DELETED') synced.delete(owner.uid);
          enqueueExternalSecret(object.metadata.namespace ?? '', owner.name);
        }
        return;
      }
      case storageKeyOf(DEPLOYMENT):
        if (object.metadata.name === EXTERNAL_SECRETS_DEPLOYMENT) enqueueAll();
        return;
      case 'apiextensions.k8s.io/customresourcedefinitions':
        if (at(object, 'spec.group') === GROUP) enqueueAll();
        return;
      default:
    }
  }

  function resyncAll(): void {
    // The runtime's timers were dropped: calls waiting on them are forgotten and everything is looked at again.
    attempts.clear();
    synced.clear();
    enqueueAll();
  }

  return { onEvent, resyncAll };
}
