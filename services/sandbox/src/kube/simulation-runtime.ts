/**
 * What the simulated controllers and kubelet of one cluster share: the cluster, the clock and the
 * durations, one work queue (level-triggered, deduplicated by key), timers in sandbox time, status
 * writes that skip no-ops, Kubernetes Events, and read helpers over the stored objects.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { SimClock } from '../sim-clock.js';
import { clone, deepEqual, isPlainObject, type JsonObject } from './json-values.js';
import type { KubeCluster, StoredEvent } from './kube-cluster.js';
import { isKubeStatusError } from './kube-status.js';
import type { KubeObject, OwnerReference } from './object-rules.js';
import { BUILT_IN_RESOURCES, type ResourceType } from './resource-table.js';

export interface WorkloadTimings {
  /** From pod creation to Running and Ready (or to ErrImagePull for a failing image). Default 5 s. */
  podStartMs: number;
  /** From ErrImagePull to ImagePullBackOff. Default 10 s. */
  imageBackOffMs: number;
  /** How long a Job's pod runs before it succeeds. Default 10 s. */
  jobRunMs: number;
  /** Until a LoadBalancer Service or an Ingress gets its hostname. Default 15 s. */
  loadBalancerMs: number;
  /** Until a PersistentVolumeClaim of a known storage class is provisioned and Bound. Default 3 s. */
  volumeBindMs: number;
  /** Between the kubelet's attempts to mount a ConfigMap or Secret that does not exist. Default 2 min (its retry cap). */
  mountRetryMs: number;
}

export const DEFAULT_TIMINGS: WorkloadTimings = { podStartMs: 5_000, imageBackOffMs: 10_000, jobRunMs: 10_000, loadBalancerMs: 15_000, volumeBindMs: 3_000, mountRetryMs: 120_000 };


export const FAILING_IMAGE_MARKER = 'doesnotexist';
/** An image whose name contains this starts and exits with code 1: CrashLoopBackOff, or a failed Job pod. */
export const CRASHING_IMAGE_MARKER = 'crashloop';

export const CONTROLLER_MANAGER = 'kube-controller-manager';
export const EVENT_TTL_MS = 60 * 60 * 1000;
export const EVENT_SWEEP_MS = 5 * 60 * 1000;
export const KUBELET = 'kubelet';

export function builtIn(group: string, kind: string): ResourceType {
  return BUILT_IN_RESOURCES.find((type) => type.group === group && type.kind === kind) as ResourceType;
}

export const POD = builtIn('', 'Pod');
export const NODE = builtIn('', 'Node');
export const EVENT = builtIn('', 'Event');
export const SERVICE = builtIn('', 'Service');
export const SERVICE_ACCOUNT = builtIn('', 'ServiceAccount');
export const SECRET = builtIn('', 'Secret');
export const CONFIG_MAP = builtIn('', 'ConfigMap');
export const NAMESPACE = builtIn('', 'Namespace');
export const DEPLOYMENT = builtIn('apps', 'Deployment');
export const REPLICA_SET = builtIn('apps', 'ReplicaSet');
export const STATEFUL_SET = builtIn('apps', 'StatefulSet');
export const DAEMON_SET = builtIn('apps', 'DaemonSet');
export const JOB = builtIn('batch', 'Job');
export const CRON_JOB = builtIn('batch', 'CronJob');
export const INGRESS = builtIn('networking.k8s.io', 'Ingress');
export const CLAIM = builtIn('', 'PersistentVolumeClaim');
export const ENDPOINTS = builtIn('', 'Endpoints');
export const ENDPOINT_SLICE = builtIn('discovery.k8s.io', 'EndpointSlice');
export const VOLUME = builtIn('', 'PersistentVolume');
export const STORAGE_CLASS = builtIn('storage.k8s.io', 'StorageClass');
export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

export const HASH_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Key order, nulls and empty objects do not change a template (Go's structs see `resources: {}` as no resources). */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isPlainObject(value)) {
    const entries = Object.keys(value)
      .sort()
      .map((key) => [key, value[key] === undefined || value[key] === null ? '' : canonical(value[key])] as const)
      .filter(([, text]) => text !== '' && text !== '{}');
    return `{${entries.map(([key, text]) => `${JSON.stringify(key)}:${text}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A stable, name-safe hash of a pod template, as `pod-template-hash` / `controller-revision-hash`. */
export function templateHash(template: unknown): string {
  const digest = createHash('sha256').update(canonical(template)).digest();
  let hash = '';
  for (let index = 0; index < 10; index += 1) hash += HASH_ALPHABET[(digest[index] ?? 0) % HASH_ALPHABET.length];
  return hash;
}

export function at(object: unknown, path: string): unknown {
  let current = object;
  for (const part of path.split('.')) current = isPlainObject(current) ? current[part] : undefined;
  return current;
}

export function containersOf(pod: KubeObject): JsonObject[] {
  const containers = at(pod, 'spec.containers');
  return Array.isArray(containers) ? containers.filter(isPlainObject) : [];
}

export function failingImage(pod: KubeObject): string | undefined {
  const container = containersOf(pod).find((candidate) => String(candidate.image ?? '').includes(FAILING_IMAGE_MARKER));
  return container === undefined ? undefined : String(container.image);
}

export function crashes(container: JsonObject): boolean {
  return String(container.image ?? '').includes(CRASHING_IMAGE_MARKER);
}

export function controllerOf(object: KubeObject): OwnerReference | undefined {
  return (object.metadata.ownerReferences ?? []).find((reference) => reference.controller === true);
}


export function podReady(pod: KubeObject): boolean {
  const conditions = at(pod, 'status.conditions');
  return !pod.metadata.deletionTimestamp && Array.isArray(conditions) && conditions.some((condition) => isPlainObject(condition) && condition.type === 'Ready' && condition.status === 'True');
}

export function podPhase(pod: KubeObject): string {
  return String(at(pod, 'status.phase') ?? 'Pending');
}

export function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function ownerReference(owner: KubeObject): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

/** The items of a list field that are objects (a missing or malformed field is an empty list). */
export function objectsAt(object: unknown, path: string): JsonObject[] {
  const value = at(object, path);
  return Array.isArray(value) ? value.filter(isPlainObject) : [];
}

/**
 * The Deployment of an add-on's controller (`envoy-gateway`, `cert-manager`) when it is Available
 * in some namespace: the add-on simulations act only while their controller would be running.
 */
export function availableDeployment(cluster: KubeCluster, name: string): KubeObject | undefined {
  return cluster
    .scan(DEPLOYMENT)
    .filter((deployment) => deployment.metadata.name === name && !deployment.metadata.deletionTimestamp)
    .sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? ''))
    .find((deployment) => objectsAt(deployment, 'status.conditions').some((condition) => condition.type === 'Available' && condition.status === 'True'));
}

/**
 * A simulated controller of an add-on installed into the cluster (Envoy Gateway, cert-manager):
 * it keys on custom resources, so it looks its types up in the cluster's registry (absent until
 * their CRDs exist) and is fed every change event.
 */
export interface AddOnSimulation {
  onEvent(event: StoredEvent): void;
  /** Re-evaluates every object it handles (after a restore, or a change of time scale). */
  resyncAll(): void;
}

export interface Condition extends JsonObject {
  type: string;
  /** `Degraded` is the Prometheus Operator's third state of `Available` (some pods ready, not all). */
  status: 'True' | 'False' | 'Unknown' | 'Degraded';
  reason: string;
  message: string;
}

/** Keeps `lastTransitionTime` while the status of a condition stays the same, as controllers do. */
export function mergeConditions(previous: unknown, next: Condition[], now: string, withUpdateTime: boolean): JsonObject[] {
  const old = Array.isArray(previous) ? previous.filter(isPlainObject) : [];
  return next.map((condition) => {
    const before = old.find((candidate) => candidate.type === condition.type);
    const unchanged = before !== undefined && before.status === condition.status;
    const sameReason = unchanged && before.reason === condition.reason && before.message === condition.message;
    const merged: JsonObject = { ...condition, lastTransitionTime: unchanged ? before.lastTransitionTime : now };
    if (withUpdateTime) merged.lastUpdateTime = sameReason ? before.lastUpdateTime : now;
    return merged;
  });
}

export interface SimulationRuntimeOptions {
  cluster: KubeCluster;
  clock: SimClock;
  logger: Logger;
  timings?: Partial<WorkloadTimings> | undefined;
}

export interface SimulationRuntime {
  cluster: KubeCluster;
  clock: SimClock;
  timings: WorkloadTimings;
  /** Pending timers by key; a key names one piece of work (`pod:<uid>`, `lb:<uid>` …). */
  timers: ReadonlyMap<string, () => void>;
  now(): string;
  /** Runs `work` soon, once per key however often it is asked for. */
  enqueue(key: string, work: () => void): void;
  /** Runs `work` after `simulatedMs` of sandbox time, replacing a pending timer of the same key. */
  later(key: string, simulatedMs: number, work: () => void): void;
  cancelTimer(key: string): void;
  cancelAllTimers(): void;
  writeStatus(type: ResourceType, object: KubeObject, status: JsonObject, manager?: string): void;
  recordEvent(involved: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void;
  /** Lets restored events expire by their timestamps. */
  seedEventTimes(): void;
  controlled(owner: KubeObject, type: ResourceType): KubeObject[];
  nodes(): KubeObject[];
  nodeAddress(nodeName: string): string;
  podsIn(namespace: string | undefined): readonly KubeObject[];
  pickNode(namespace: string | undefined): string | undefined;
  createPod(owner: KubeObject, name: string, template: unknown, extraLabels: Record<string, string>, nodeName?: string): void;
  stop(): void;
}

export function createSimulationRuntime(options: SimulationRuntimeOptions): SimulationRuntime {
  const { cluster, clock } = options;
  const timings: WorkloadTimings = { ...DEFAULT_TIMINGS, ...options.timings };
  const logger = options.logger.child({ cluster: cluster.name, component: 'workload-simulation' });
  const queue = new Map<string, () => void>();
  const timers = new Map<string, () => void>();
  let drainScheduled: NodeJS.Immediate | undefined;
  let stopped = false;
  let lastEventSweep: number | undefined;
  const eventTimes = new Map<string, number>();

  const now = () => timestamp(clock.now());

  function enqueue(key: string, work: () => void): void {
    if (stopped) return;
    queue.set(key, work);
    drainScheduled ??= setImmediate(drain);
  }

  function drain(): void {
    drainScheduled = undefined;
    const batch = [...queue.values()];
    queue.clear();
    for (const work of batch) {
      try {
        work();
      } catch (error) {
        if (isKubeStatusError(error) && (error.code === 404 || error.code === 409)) continue;
        logger.warn({ err: error }, 'simulated controller failed');
      }
    }
  }

  function later(key: string, simulatedMs: number, work: () => void): void {
    if (stopped) return;
    timers.get(key)?.();
    const cancel = clock.after(simulatedMs, () => {
      timers.delete(key);
      if (!stopped) enqueue(key, work);
    });
    timers.set(key, cancel);
  }

  function writeStatus(type: ResourceType, object: KubeObject, status: JsonObject, manager = CONTROLLER_MANAGER): void {
    if (deepEqual(object.status, status)) return;
    cluster.update(type, object.metadata.namespace, object.metadata.name, { ...object, status }, { manager, subresource: 'status' });
  }

  /**
   * Events expire after an hour of sandbox time, as with the API server's default event TTL.
   * `eventTimes` is in recording order, so a sweep stops at the first event still young.
   */
  function expireEvents(): void {
    if (lastEventSweep !== undefined && !clock.elapsed(lastEventSweep, EVENT_SWEEP_MS)) return;
    lastEventSweep = clock.now();
    for (const [key, recorded] of eventTimes) {
      if (!clock.elapsed(recorded, EVENT_TTL_MS)) break;
      eventTimes.delete(key);
      const separator = key.indexOf('/');
      const namespace = key.slice(0, separator);
      const name = key.slice(separator + 1);
      if (cluster.get(EVENT, namespace, name)) cluster.delete(EVENT, namespace, name);
    }
  }

  function recordEvent(involved: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void {
    expireEvents();
    const namespace = involved.metadata.namespace ?? 'default';
    const at = now();
    const name = `${involved.metadata.name}.${randomBytes(8).toString('hex')}`;
    eventTimes.set(`${namespace}/${name}`, clock.now());
    try {
      cluster.create(
        EVENT,
        namespace,
        {
          metadata: { name, namespace },
          involvedObject: {
            kind: involved.kind,
            namespace: involved.metadata.namespace,
            name: involved.metadata.name,
            uid: involved.metadata.uid,
            apiVersion: involved.apiVersion,
            resourceVersion: involved.metadata.resourceVersion,
          },
          reason,
          message,
          type,
          source: { component },
          reportingComponent: component,
          reportingInstance: '',
          firstTimestamp: at,
          lastTimestamp: at,
          count: 1,
        },
        { manager: component },
      );
    } catch (error) {
      if (!(isKubeStatusError(error) && (error.code === 404 || error.code === 403))) throw error;
    }
  }

  // Reads go through `scan` and `owned` (the stored objects, not copies): the controllers only read
  // them, and copying every pod of a namespace on every reconcile made large rollouts quadratic.
  function controlled(owner: KubeObject, type: ResourceType): KubeObject[] {
    return cluster.owned(owner.metadata.uid, type).filter((object) => controllerOf(object)?.uid === owner.metadata.uid);
  }

  function nodes(): KubeObject[] {
    return cluster.scan(NODE).filter((node) => !node.metadata.deletionTimestamp);
  }

  function nodeAddress(nodeName: string): string {
    const addresses = at(cluster.get(NODE, undefined, nodeName), 'status.addresses');
    const internal = Array.isArray(addresses) ? addresses.filter(isPlainObject).find((address) => address.type === 'InternalIP') : undefined;
    return typeof internal?.address === 'string' ? internal.address : '10.0.0.10';
  }

  function podsIn(namespace: string | undefined): readonly KubeObject[] {
    return cluster.scan(POD, namespace);
  }

  function pickNode(namespace: string | undefined): string | undefined {
    const available = nodes().filter((node) => at(node, 'spec.unschedulable') !== true);
    if (available.length === 0) return undefined;
    const counts = new Map(available.map((node) => [node.metadata.name, 0]));
    for (const pod of podsIn(namespace)) {
      const node = at(pod, 'spec.nodeName');
      if (typeof node === 'string' && counts.has(node)) counts.set(node, (counts.get(node) ?? 0) + 1);
    }
    return [...counts.entries()].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))[0]?.[0];
  }

  function createPod(owner: KubeObject, name: string, template: unknown, extraLabels: Record<string, string>, nodeName?: string): void {
    const templateMetadata = isPlainObject(at(template, 'metadata')) ? (at(template, 'metadata') as JsonObject) : {};
    const spec = clone(isPlainObject(at(template, 'spec')) ? (at(template, 'spec') as JsonObject) : {});
    spec.restartPolicy ??= 'Always';
    spec.dnsPolicy ??= 'ClusterFirst';
    spec.schedulerName ??= 'default-scheduler';
    spec.serviceAccountName ??= 'default';
    spec.terminationGracePeriodSeconds ??= 30;
    const node = nodeName ?? pickNode(owner.metadata.namespace);
    if (node !== undefined) spec.nodeName = node;
    cluster.create(
      POD,
      owner.metadata.namespace,
      {
        metadata: {
          name,
          labels: { ...(templateMetadata.labels as Record<string, string> | undefined), ...extraLabels },
          ...(isPlainObject(templateMetadata.annotations) ? { annotations: templateMetadata.annotations } : {}),
          ownerReferences: [ownerReference(owner)],
        },
        spec,
      },
      { manager: CONTROLLER_MANAGER },
    );
  }


  return {
    cluster,
    clock,
    timings,
    timers,
    now,
    enqueue,
    later,
    cancelTimer(key) {
      timers.get(key)?.();
      timers.delete(key);
    },
    cancelAllTimers() {
      for (const cancel of timers.values()) cancel();
      timers.clear();
    },
    writeStatus,
    recordEvent,
    seedEventTimes() {
      const restored = cluster
        .scan(EVENT)
        .map((event) => [`${event.metadata.namespace ?? ''}/${event.metadata.name}`, Date.parse(String(event.lastTimestamp ?? event.metadata.creationTimestamp))] as const)
        .sort((a, b) => a[1] - b[1]);
      for (const [key, recorded] of restored) if (!eventTimes.has(key)) eventTimes.set(key, recorded);
    },
    controlled,
    nodes,
    nodeAddress,
    podsIn,
    pickNode,
    createPod,
    stop() {
      stopped = true;
      if (drainScheduled) clearImmediate(drainScheduled);
      for (const cancel of timers.values()) cancel();
      timers.clear();
      queue.clear();
    },
  };
}
