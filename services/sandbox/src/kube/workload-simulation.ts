/**
 * The simulated controllers and kubelet of one cluster, in scaled time: Deployments roll out
 * through ReplicaSets and Pods and become Available; StatefulSets create ordered pods; DaemonSets
 * put one pod on each node; Jobs complete; LoadBalancer Services and Ingresses get a hostname.
 * An image whose name contains `doesnotexist` never pulls: its pods sit in `ErrImagePull` /
 * `ImagePullBackOff` and the Deployment reports `ProgressDeadlineExceeded` after its deadline.
 * Controllers are level-triggered from the cluster's change events, like the real ones.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { SimClock } from '../sim-clock.js';
import { clone, deepEqual, isPlainObject, type JsonObject } from './json-values.js';
import { parseCronSchedule } from './cron-schedule.js';
import { randomSuffix, type KubeCluster, type StoredEvent } from './kube-cluster.js';
import { isKubeStatusError } from './kube-status.js';
import type { KubeObject, OwnerReference } from './object-rules.js';
import { BUILT_IN_RESOURCES, storageKeyOf, type ResourceType } from './resource-table.js';

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
}

export const DEFAULT_TIMINGS: WorkloadTimings = { podStartMs: 5_000, imageBackOffMs: 10_000, jobRunMs: 10_000, loadBalancerMs: 15_000, volumeBindMs: 3_000 };

export interface WorkloadSimulation {
  /** Drops pending timers and re-evaluates every workload (after a restore, or a change of time scale). */
  resyncAll(): void;
  stop(): void;
}

export interface WorkloadSimulationOptions {
  cluster: KubeCluster;
  clock: SimClock;
  logger: Logger;
  timings?: Partial<WorkloadTimings> | undefined;
}

export const FAILING_IMAGE_MARKER = 'doesnotexist';
/** An image whose name contains this starts and exits with code 1: CrashLoopBackOff, or a failed Job pod. */
export const CRASHING_IMAGE_MARKER = 'crashloop';

const CONTROLLER_MANAGER = 'kube-controller-manager';
const EVENT_TTL_MS = 60 * 60 * 1000;
const EVENT_SWEEP_MS = 5 * 60 * 1000;
const KUBELET = 'kubelet';

function builtIn(group: string, kind: string): ResourceType {
  return BUILT_IN_RESOURCES.find((type) => type.group === group && type.kind === kind) as ResourceType;
}

const POD = builtIn('', 'Pod');
const NODE = builtIn('', 'Node');
const EVENT = builtIn('', 'Event');
const SERVICE = builtIn('', 'Service');
const SERVICE_ACCOUNT = builtIn('', 'ServiceAccount');
const NAMESPACE = builtIn('', 'Namespace');
const DEPLOYMENT = builtIn('apps', 'Deployment');
const REPLICA_SET = builtIn('apps', 'ReplicaSet');
const STATEFUL_SET = builtIn('apps', 'StatefulSet');
const DAEMON_SET = builtIn('apps', 'DaemonSet');
const JOB = builtIn('batch', 'Job');
const CRON_JOB = builtIn('batch', 'CronJob');
const INGRESS = builtIn('networking.k8s.io', 'Ingress');
const CLAIM = builtIn('', 'PersistentVolumeClaim');
const ENDPOINTS = builtIn('', 'Endpoints');
const ENDPOINT_SLICE = builtIn('discovery.k8s.io', 'EndpointSlice');
const VOLUME = builtIn('', 'PersistentVolume');
const STORAGE_CLASS = builtIn('storage.k8s.io', 'StorageClass');
const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

const HASH_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Key order, nulls and empty objects do not change a template (Go's structs see `resources: {}` as no resources). */
function canonical(value: unknown): string {
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

function at(object: unknown, path: string): unknown {
  let current = object;
  for (const part of path.split('.')) current = isPlainObject(current) ? current[part] : undefined;
  return current;
}

function containersOf(pod: KubeObject): JsonObject[] {
  const containers = at(pod, 'spec.containers');
  return Array.isArray(containers) ? containers.filter(isPlainObject) : [];
}

function failingImage(pod: KubeObject): string | undefined {
  const container = containersOf(pod).find((candidate) => String(candidate.image ?? '').includes(FAILING_IMAGE_MARKER));
  return container === undefined ? undefined : String(container.image);
}

function crashes(container: JsonObject): boolean {
  return String(container.image ?? '').includes(CRASHING_IMAGE_MARKER);
}

function controllerOf(object: KubeObject): OwnerReference | undefined {
  return (object.metadata.ownerReferences ?? []).find((reference) => reference.controller === true);
}


function podReady(pod: KubeObject): boolean {
  const conditions = at(pod, 'status.conditions');
  return !pod.metadata.deletionTimestamp && Array.isArray(conditions) && conditions.some((condition) => isPlainObject(condition) && condition.type === 'Ready' && condition.status === 'True');
}

function podPhase(pod: KubeObject): string {
  return String(at(pod, 'status.phase') ?? 'Pending');
}

function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function ownerReference(owner: KubeObject): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

interface Condition extends JsonObject {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** Keeps `lastTransitionTime` while the status of a condition stays the same, as controllers do. */
function mergeConditions(previous: unknown, next: Condition[], now: string, withUpdateTime: boolean): JsonObject[] {
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

export function createWorkloadSimulation(options: WorkloadSimulationOptions): WorkloadSimulation {
  const { cluster, clock } = options;
  const timings: WorkloadTimings = { ...DEFAULT_TIMINGS, ...options.timings };
  const logger = options.logger.child({ cluster: cluster.name, component: 'workload-simulation' });
  const queue = new Map<string, () => void>();
  const timers = new Map<string, () => void>();
  /** When each Deployment's current rollout started (real ms), for its progress deadline. */
  const rollouts = new Map<string, { hash: string; since: number }>();
  let drainScheduled: NodeJS.Immediate | undefined;
  let stopped = false;
  let podIps = 0;
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

  // ---- kubelet: pod lifecycle -------------------------------------------------------------

  function podStep(namespace: string | undefined, name: string, uid: string): void {
    const pod = cluster.get(POD, namespace, name);
    if (!pod || pod.metadata.uid !== uid || pod.metadata.deletionTimestamp) return;
    const phase = podPhase(pod);
    const containers = containersOf(pod);
    const nodeName = at(pod, 'spec.nodeName');
    const created = Date.parse(pod.metadata.creationTimestamp);
    const status: JsonObject = isPlainObject(pod.status) ? clone(pod.status) : {};
    const stamp = now();

    if (typeof nodeName !== 'string') {
      // The scheduler: bind to the least busy schedulable node, or report why it cannot.
      const node = pickNode(namespace);
      if (node !== undefined) {
        cluster.patch(POD, namespace, name, 'merge', { spec: { nodeName: node } }, { manager: 'kube-scheduler' });
        podStep(namespace, name, uid);
        return;
      }
      writeStatus(
        POD,
        pod,
        {
          phase: 'Pending',
          conditions: mergeConditions(status.conditions, [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/0 nodes are available: no nodes available to schedule pods.' }], stamp, false),
          qosClass: 'BestEffort',
        },
        'kube-scheduler',
      );
      return;
    }
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const failing = failingImage(pod);
    const waitingReason = Array.isArray(status.containerStatuses) ? at(status.containerStatuses[0], 'state.waiting.reason') : undefined;

    if (status.phase === undefined) {
      writeStatus(
        POD,
        pod,
        {
          phase: 'Pending',
          hostIP: nodeAddress(nodeName),
          hostIPs: [{ ip: nodeAddress(nodeName) }],
          startTime: stamp,
          qosClass: 'BestEffort',
          conditions: mergeConditions(
            undefined,
            [
              { type: 'PodReadyToStartContainers', status: 'False', reason: '', message: '' },
              { type: 'Initialized', status: 'True', reason: '', message: '' },
              { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${containers.map((c) => String(c.name)).join(' ')}]` },
              { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${containers.map((c) => String(c.name)).join(' ')}]` },
              { type: 'PodScheduled', status: 'True', reason: '', message: '' },
            ],
            stamp,
            false,
          ),
          containerStatuses: containers.map((container) => ({
            name: container.name,
            image: container.image,
            imageID: '',
            ready: false,
            started: false,
            restartCount: 0,
            state: { waiting: { reason: 'ContainerCreating' } },
          })),
        },
        KUBELET,
      );
      recordEvent(pod, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${name} to ${nodeName}`, 'default-scheduler');
      later(`pod:${uid}`, timings.podStartMs, () => podStep(namespace, name, uid));
      return;
    }

    if (failing !== undefined) {
      if (waitingReason === 'ImagePullBackOff') return;
      const pulling = waitingReason === 'ContainerCreating';
      if (pulling && !clock.elapsed(created, timings.podStartMs)) {
        later(`pod:${uid}`, timings.podStartMs, () => podStep(namespace, name, uid));
        return;
      }
      const reason = pulling ? 'ErrImagePull' : 'ImagePullBackOff';
      const message = pulling
        ? `rpc error: code = NotFound desc = failed to pull and unpack image "${failing}": failed to resolve reference "${failing}": not found`
        : `Back-off pulling image "${failing}"`;
      writeStatus(
        POD,
        pod,
        {
          ...status,
          containerStatuses: containers.map((container) => ({
            name: container.name,
            image: container.image,
            imageID: '',
            ready: false,
            started: false,
            restartCount: 0,
            state: { waiting: String(container.image).includes(FAILING_IMAGE_MARKER) ? { reason, message } : { reason: 'PodInitializing' } },
          })),
        },
        KUBELET,
      );
      if (pulling) {
        recordEvent(pod, 'Warning', 'Failed', `Failed to pull image "${failing}": ${message}`, 'kubelet');
        recordEvent(pod, 'Warning', 'Failed', 'Error: ErrImagePull', 'kubelet');
        later(`pod:${uid}`, timings.imageBackOffMs, () => podStep(namespace, name, uid));
      } else {
        recordEvent(pod, 'Normal', 'BackOff', message, 'kubelet');
        recordEvent(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff', 'kubelet');
      }
      return;
    }

    const isJobPod = controllerOf(pod)?.kind === 'Job';
    if (phase === 'Pending') {
      if (!clock.elapsed(created, timings.podStartMs)) {
        later(`pod:${uid}`, timings.podStartMs, () => podStep(namespace, name, uid));
        return;
      }
      // A pod whose claims are not bound yet does not start (the scheduler waits for the volumes).
      const volumes = at(pod, 'spec.volumes');
      const unbound = (Array.isArray(volumes) ? volumes : [])
        .map((volume) => at(volume, 'persistentVolumeClaim.claimName'))
        .filter((claimName): claimName is string => typeof claimName === 'string')
        .filter((claimName) => at(cluster.get(CLAIM, namespace, claimName), 'status.phase') !== 'Bound');
      if (unbound.length > 0) {
        later(`pod:${uid}`, timings.volumeBindMs, () => podStep(namespace, name, uid));
        return;
      }
      if (containers.some(crashes)) {
        podIps += 1;
        crash(pod, { ...status, podIP: `10.244.${Math.floor(podIps / 250) % 250}.${(podIps % 250) + 2}` });
        return;
      }
      podIps += 1;
      const readyConditions: Condition[] = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', reason: '', message: '' }));
      writeStatus(
        POD,
        pod,
        {
          ...status,
          phase: 'Running',
          podIP: `10.244.${Math.floor(podIps / 250) % 250}.${(podIps % 250) + 2}`,
          podIPs: [{ ip: `10.244.${Math.floor(podIps / 250) % 250}.${(podIps % 250) + 2}` }],
          conditions: mergeConditions(status.conditions, readyConditions, stamp, false),
          containerStatuses: containers.map((container) => ({
            name: container.name,
            image: container.image,
            imageID: `${String(container.image)}@sha256:${createHash('sha256').update(String(container.image)).digest('hex')}`,
            containerID: `containerd://${randomBytes(32).toString('hex')}`,
            ready: true,
            started: true,
            restartCount: 0,
            state: { running: { startedAt: stamp } },
          })),
        },
        KUBELET,
      );
      recordEvent(pod, 'Normal', 'Started', `Started container ${String(containers[0]?.name ?? '')}`, 'kubelet');
      if (isJobPod) later(`pod:${uid}`, timings.jobRunMs, () => podStep(namespace, name, uid));
      return;
    }

    if (phase === 'Running' && containers.some(crashes)) {
      crash(pod, status);
      return;
    }

    if (phase === 'Running' && isJobPod) {
      writeStatus(
        POD,
        pod,
        {
          ...status,
          phase: 'Succeeded',
          conditions: mergeConditions(
            status.conditions,
            [
              { type: 'PodReadyToStartContainers', status: 'False', reason: '', message: '' },
              { type: 'Initialized', status: 'True', reason: 'PodCompleted', message: '' },
              { type: 'Ready', status: 'False', reason: 'PodCompleted', message: '' },
              { type: 'ContainersReady', status: 'False', reason: 'PodCompleted', message: '' },
              { type: 'PodScheduled', status: 'True', reason: '', message: '' },
            ],
            stamp,
            false,
          ),
          containerStatuses: containers.map((container) => ({
            name: container.name,
            image: container.image,
            imageID: `${String(container.image)}@sha256:${createHash('sha256').update(String(container.image)).digest('hex')}`,
            ready: false,
            started: false,
            restartCount: 0,
            state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: status.startTime, finishedAt: stamp } },
          })),
        },
        KUBELET,
      );
    }
  }

  /**
   * A crashing container exits with code 1. Under `restartPolicy: Never` the pod fails; otherwise
   * the kubelet restarts it with a doubling back-off (10 s … 5 min) and it sits in CrashLoopBackOff.
   */
  function crash(pod: KubeObject, status: JsonObject): void {
    const stamp = now();
    const containers = containersOf(pod);
    const previous = Array.isArray(status.containerStatuses) ? status.containerStatuses.filter(isPlainObject) : [];
    const restarts = (container: JsonObject) => Number(previous.find((entry) => entry.name === container.name)?.restartCount ?? 0);
    const exited = { terminated: { exitCode: 1, reason: 'Error', startedAt: stamp, finishedAt: stamp } };
    const imageOf = (container: JsonObject) => ({
      name: container.name,
      image: container.image,
      imageID: `${String(container.image)}@sha256:${createHash('sha256').update(String(container.image)).digest('hex')}`,
      containerID: `containerd://${randomBytes(32).toString('hex')}`,
    });
    const running = (container: JsonObject) => ({ ...imageOf(container), ready: true, started: true, restartCount: restarts(container), state: { running: { startedAt: stamp } } });
    const notReady = (type: string, reason: string): Condition => ({ type, status: 'False', reason, message: `containers with unready status: [${containers.filter(crashes).map((c) => String(c.name)).join(' ')}]` });
    if (at(pod, 'spec.restartPolicy') === 'Never') {
      writeStatus(
        POD,
        pod,
        {
          ...status,
          phase: 'Failed',
          conditions: mergeConditions(status.conditions, [notReady('Ready', 'PodFailed'), notReady('ContainersReady', 'PodFailed'), { type: 'PodScheduled', status: 'True', reason: '', message: '' }], stamp, false),
          containerStatuses: containers.map((container) => ({ ...imageOf(container), ready: false, started: false, restartCount: 0, state: crashes(container) ? exited : { terminated: { exitCode: 0, reason: 'Completed', startedAt: stamp, finishedAt: stamp } } })),
        },
        KUBELET,
      );
      return;
    }
    const attempt = Math.max(0, ...containers.filter(crashes).map(restarts)) + 1;
    const backOffSeconds = Math.min(10 * 2 ** (attempt - 1), 300);
    writeStatus(
      POD,
      pod,
      {
        ...status,
        phase: 'Running',
        conditions: mergeConditions(status.conditions, [notReady('Ready', 'ContainersNotReady'), notReady('ContainersReady', 'ContainersNotReady'), { type: 'PodScheduled', status: 'True', reason: '', message: '' }], stamp, false),
        containerStatuses: containers.map((container) =>
          crashes(container)
            ? {
                ...imageOf(container),
                ready: false,
                started: false,
                restartCount: attempt,
                state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${backOffSeconds}s restarting failed container=${String(container.name)} pod=${pod.metadata.name}` } },
                lastState: exited,
              }
            : running(container),
        ),
      },
      KUBELET,
    );
    recordEvent(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${String(containers.find(crashes)?.name ?? '')} in pod ${pod.metadata.name}`, 'kubelet');
    later(`pod:${pod.metadata.uid}`, backOffSeconds * 1000, () => podStep(pod.metadata.namespace, pod.metadata.name, pod.metadata.uid));
  }

  // ---- ReplicaSet, Deployment ------------------------------------------------------------

  function reconcileReplicaSet(namespace: string | undefined, name: string): void {
    const replicaSet = cluster.get(REPLICA_SET, namespace, name);
    if (!replicaSet || replicaSet.metadata.deletionTimestamp) return;
    const desired = Number(at(replicaSet, 'spec.replicas') ?? 1);
    let pods = controlled(replicaSet, POD).filter((pod) => !pod.metadata.deletionTimestamp);
    const hash = replicaSet.metadata.labels?.['pod-template-hash'];
    for (let count = pods.length; count < desired; count += 1) {
      createPod(replicaSet, `${name}-${randomSuffix(5)}`, at(replicaSet, 'spec.template'), hash ? { 'pod-template-hash': hash } : {});
    }
    if (pods.length > desired) {
      const surplus = [...pods].sort((a, b) => Number(podReady(a)) - Number(podReady(b))).slice(0, pods.length - desired);
      for (const pod of surplus) cluster.delete(POD, namespace, pod.metadata.name);
    }
    pods = controlled(replicaSet, POD).filter((pod) => !pod.metadata.deletionTimestamp);
    const ready = pods.filter(podReady).length;
    writeStatus(REPLICA_SET, replicaSet, {
      replicas: pods.length,
      fullyLabeledReplicas: pods.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: replicaSet.metadata.generation,
    });
  }

  function reconcileDeployment(namespace: string | undefined, name: string): void {
    let deployment = cluster.get(DEPLOYMENT, namespace, name);
    if (!deployment || deployment.metadata.deletionTimestamp) return;
    const desired = Number(at(deployment, 'spec.replicas') ?? 1);
    const template = at(deployment, 'spec.template');
    const hash = templateHash(template);
    const owned = controlled(deployment, REPLICA_SET);
    let current = owned.find((replicaSet) => replicaSet.metadata.labels?.['pod-template-hash'] === hash);
    const revisions = owned.map((replicaSet) => Number(replicaSet.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0));
    const stamp = now();

    if (!current) {
      const templateLabels = (at(template, 'metadata.labels') as Record<string, string> | undefined) ?? {};
      const selector = clone(isPlainObject(at(deployment, 'spec.selector')) ? (at(deployment, 'spec.selector') as JsonObject) : {});
      selector.matchLabels = { ...(selector.matchLabels as Record<string, string> | undefined), 'pod-template-hash': hash };
      const rsTemplate = clone(template) as JsonObject;
      rsTemplate.metadata = { ...(isPlainObject(rsTemplate.metadata) ? rsTemplate.metadata : {}), labels: { ...templateLabels, 'pod-template-hash': hash } };
      current = cluster.create(
        REPLICA_SET,
        namespace,
        {
          metadata: {
            name: `${name}-${hash}`,
            labels: { ...templateLabels, 'pod-template-hash': hash },
            annotations: { 'deployment.kubernetes.io/desired-replicas': String(desired), 'deployment.kubernetes.io/max-replicas': String(desired + 1), 'deployment.kubernetes.io/revision': String(Math.max(0, ...revisions) + 1) },
            ownerReferences: [ownerReference(deployment)],
          },
          spec: { replicas: desired, selector, template: rsTemplate },
        },
        { manager: CONTROLLER_MANAGER },
      );
      recordEvent(deployment, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${current.metadata.name} from 0 to ${desired}`, 'deployment-controller');
    } else if (Number(at(current, 'spec.replicas')) !== desired) {
      const previous = Number(at(current, 'spec.replicas'));
      current = cluster.patch(REPLICA_SET, namespace, current.metadata.name, 'merge', { spec: { replicas: desired } }, { manager: CONTROLLER_MANAGER }).object;
      recordEvent(deployment, 'Normal', 'ScalingReplicaSet', `Scaled ${desired > previous ? 'up' : 'down'} replica set ${current.metadata.name} from ${previous} to ${desired}`, 'deployment-controller');
    }

    // Revisions as the deployment controller keeps them: the live ReplicaSet has the highest one
    // (rolling back to an old template re-numbers its ReplicaSet), mirrored on the Deployment.
    const REVISION = 'deployment.kubernetes.io/revision';
    const highest = Math.max(0, ...revisions);
    if (owned.some((replicaSet) => replicaSet.metadata.uid === current?.metadata.uid) && Number(current.metadata.annotations?.[REVISION] ?? 0) < highest) {
      current = cluster.patch(REPLICA_SET, namespace, current.metadata.name, 'merge', { metadata: { annotations: { [REVISION]: String(highest + 1) } } }, { manager: CONTROLLER_MANAGER }).object;
    }
    const revision = current.metadata.annotations?.[REVISION];
    if (revision !== undefined && deployment.metadata.annotations?.[REVISION] !== revision) {
      deployment = cluster.patch(DEPLOYMENT, namespace, name, 'merge', { metadata: { annotations: { [REVISION]: revision } } }, { manager: CONTROLLER_MANAGER }).object;
    }

    const rollout = rollouts.get(deployment.metadata.uid);
    if (!rollout || rollout.hash !== hash) rollouts.set(deployment.metadata.uid, { hash, since: clock.now() });
    const since = rollouts.get(deployment.metadata.uid)?.since ?? clock.now();

    const currentReady = Number(at(current, 'status.availableReplicas') ?? 0);
    const newComplete = currentReady >= desired && Number(at(current, 'status.replicas') ?? 0) === desired;
    const old = owned.filter((replicaSet) => replicaSet.metadata.uid !== current?.metadata.uid);
    if (newComplete) {
      for (const replicaSet of old) {
        const count = Number(at(replicaSet, 'spec.replicas') ?? 0);
        if (count === 0) continue;
        cluster.patch(REPLICA_SET, namespace, replicaSet.metadata.name, 'merge', { spec: { replicas: 0 } }, { manager: CONTROLLER_MANAGER });
        recordEvent(deployment, 'Normal', 'ScalingReplicaSet', `Scaled down replica set ${replicaSet.metadata.name} from ${count} to 0`, 'deployment-controller');
      }
    }

    const all = [current, ...old];
    const sum = (path: string) => all.reduce((total, replicaSet) => total + Number(at(replicaSet, path) ?? 0), 0);
    const replicas = sum('status.replicas');
    const available = sum('status.availableReplicas');
    const updated = Number(at(current, 'status.replicas') ?? 0);
    const maxUnavailable = Math.floor(desired * 0.25);
    const complete = newComplete && replicas === desired && updated === desired;
    const deadlineSeconds = Number(at(deployment, 'spec.progressDeadlineSeconds') ?? 600);
    const rsName = current.metadata.name;
    let progressing: Condition;
    if (complete) {
      progressing = { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` };
    } else if (clock.elapsed(since, deadlineSeconds * 1000)) {
      progressing = { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rsName}" has timed out progressing.` };
    } else {
      progressing = { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` };
      const remaining = deadlineSeconds * 1000 - (clock.now() - since) * clock.scale;
      later(`deployment-deadline:${deployment.metadata.uid}`, Math.max(0, remaining) + 1, () => reconcileDeployment(namespace, name));
    }
    const availableCondition: Condition =
      available >= desired - maxUnavailable
        ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
        : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' };
    const status: JsonObject = {
      observedGeneration: deployment.metadata.generation,
      replicas,
      updatedReplicas: updated,
      readyReplicas: sum('status.readyReplicas'),
      availableReplicas: available,
      conditions: mergeConditions(at(deployment, 'status.conditions'), [availableCondition, progressing], stamp, true),
    };
    if (replicas - available > 0) status.unavailableReplicas = replicas - available;
    if (desired - available > 0) status.unavailableReplicas = Math.max(desired - available, replicas - available);
    for (const key of ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas']) if (status[key] === 0) delete status[key];
    writeStatus(DEPLOYMENT, deployment, status);
  }

  // ---- StatefulSet, DaemonSet, Job ---------------------------------------------------------

  function reconcileStatefulSet(namespace: string | undefined, name: string): void {
    const statefulSet = cluster.get(STATEFUL_SET, namespace, name);
    if (!statefulSet || statefulSet.metadata.deletionTimestamp) return;
    const desired = Number(at(statefulSet, 'spec.replicas') ?? 1);
    const revision = `${name}-${templateHash(at(statefulSet, 'spec.template'))}`;
    const parallel = at(statefulSet, 'spec.podManagementPolicy') === 'Parallel';
    let pods = controlled(statefulSet, POD);
    const byOrdinal = new Map(pods.map((pod) => [Number(pod.metadata.name.slice(name.length + 1)), pod]));

    for (const [ordinal, pod] of byOrdinal) {
      if (ordinal >= desired && !pod.metadata.deletionTimestamp) cluster.delete(POD, namespace, pod.metadata.name);
    }
    for (let ordinal = 0; ordinal < desired; ordinal += 1) {
      const pod = byOrdinal.get(ordinal);
      if (pod) {
        if (!podReady(pod) && !parallel) break;
        continue;
      }
      createPod(statefulSet, `${name}-${ordinal}`, templateWithClaims(statefulSet, ordinal), {
        'controller-revision-hash': revision,
        'statefulset.kubernetes.io/pod-name': `${name}-${ordinal}`,
        'apps.kubernetes.io/pod-index': String(ordinal),
      });
      if (!parallel) break;
    }
    pods = controlled(statefulSet, POD).filter((pod) => !pod.metadata.deletionTimestamp);
    const outdated = pods.filter((pod) => pod.metadata.labels?.['controller-revision-hash'] !== revision).sort((a, b) => b.metadata.name.localeCompare(a.metadata.name));
    if (outdated.length > 0 && pods.every(podReady) && pods.length >= desired) {
      cluster.delete(POD, namespace, (outdated[0] as KubeObject).metadata.name);
    }
    const ready = pods.filter(podReady).length;
    const updated = pods.filter((pod) => pod.metadata.labels?.['controller-revision-hash'] === revision).length;
    const previousCurrent = at(statefulSet, 'status.currentRevision');
    const currentRevision = updated === desired && outdated.length === 0 ? revision : typeof previousCurrent === 'string' ? previousCurrent : revision;
    writeStatus(STATEFUL_SET, statefulSet, {
      observedGeneration: statefulSet.metadata.generation,
      replicas: pods.length,
      readyReplicas: ready,
      currentReplicas: currentRevision === revision ? updated : pods.length - updated,
      updatedReplicas: updated,
      availableReplicas: ready,
      currentRevision,
      updateRevision: revision,
      collisionCount: 0,
    });
  }

  /** A StatefulSet pod's template with one claim per `volumeClaimTemplates` entry, made on first use and kept. */
  function templateWithClaims(statefulSet: KubeObject, ordinal: number): unknown {
    const template = clone(at(statefulSet, 'spec.template')) as JsonObject;
    const claims = at(statefulSet, 'spec.volumeClaimTemplates');
    if (!Array.isArray(claims) || claims.length === 0) return template;
    const spec = (isPlainObject(template.spec) ? template.spec : (template.spec = {})) as JsonObject;
    const volumes = Array.isArray(spec.volumes) ? spec.volumes : (spec.volumes = []);
    for (const claim of claims.filter(isPlainObject)) {
      const volume = String(at(claim, 'metadata.name') ?? '');
      const claimName = `${volume}-${statefulSet.metadata.name}-${ordinal}`;
      if (!cluster.get(CLAIM, statefulSet.metadata.namespace, claimName)) {
        const selectorLabels = at(statefulSet, 'spec.selector.matchLabels');
        cluster.create(
          CLAIM,
          statefulSet.metadata.namespace,
          { metadata: { name: claimName, labels: { ...(isPlainObject(selectorLabels) ? (selectorLabels as Record<string, string>) : {}), ...((at(claim, 'metadata.labels') as Record<string, string> | undefined) ?? {}) } }, spec: clone(claim.spec ?? {}) },
          { manager: CONTROLLER_MANAGER },
        );
      }
      if (!volumes.some((entry) => isPlainObject(entry) && entry.name === volume)) volumes.push({ name: volume, persistentVolumeClaim: { claimName } });
    }
    return template;
  }

  /** The provisioner and binder: a claim of a known (or the default) storage class gets a volume. */
  function reconcileClaim(namespace: string | undefined, name: string): void {
    const claim = cluster.get(CLAIM, namespace, name);
    if (!claim || claim.metadata.deletionTimestamp || at(claim, 'status.phase') === 'Bound') return;
    const classes = cluster.scan(STORAGE_CLASS);
    const requested = at(claim, 'spec.storageClassName');
    const storageClass =
      typeof requested === 'string' ? classes.find((candidate) => candidate.metadata.name === requested) : classes.find((candidate) => candidate.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
    if (!storageClass) {
      writeStatus(CLAIM, claim, { phase: 'Pending' });
      return;
    }
    if (!clock.elapsed(Date.parse(claim.metadata.creationTimestamp), timings.volumeBindMs) && !timers.has(`claim:${claim.metadata.uid}`)) {
      later(`claim:${claim.metadata.uid}`, timings.volumeBindMs, () => reconcileClaim(namespace, name));
      writeStatus(CLAIM, claim, { phase: 'Pending' });
      return;
    }
    if (timers.has(`claim:${claim.metadata.uid}`)) return;
    const volumeName = `pvc-${claim.metadata.uid}`;
    const storage = at(claim, 'spec.resources.requests.storage') ?? '1Gi';
    const accessModes = at(claim, 'spec.accessModes') ?? ['ReadWriteOnce'];
    if (!cluster.get(VOLUME, undefined, volumeName)) {
      cluster.create(
        VOLUME,
        undefined,
        {
          metadata: { name: volumeName, annotations: { 'pv.kubernetes.io/provisioned-by': String(storageClass.provisioner ?? 'sandbox.tugboat.dev/local') } },
          spec: {
            capacity: { storage },
            accessModes,
            persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? 'Delete',
            storageClassName: storageClass.metadata.name,
            volumeMode: 'Filesystem',
            hostPath: { path: `/var/lib/tugboat-sandbox/${volumeName}` },
            claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name, uid: claim.metadata.uid },
          },
        },
        { manager: 'persistentvolume-controller' },
      );
      const created = cluster.get(VOLUME, undefined, volumeName);
      if (created) writeStatus(VOLUME, created, { phase: 'Bound' }, 'persistentvolume-controller');
    }
    const bound = cluster.patch(CLAIM, namespace, name, 'merge', { spec: { volumeName, storageClassName: storageClass.metadata.name } }, { manager: 'persistentvolume-controller' }).object;
    writeStatus(CLAIM, bound, { phase: 'Bound', accessModes, capacity: { storage } }, 'persistentvolume-controller');
    recordEvent(bound, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${volumeName}`, 'persistentvolume-controller');
  }

  function matchesNodeSelector(node: KubeObject, selector: unknown): boolean {
    if (!isPlainObject(selector)) return true;
    return Object.entries(selector).every(([key, value]) => node.metadata.labels?.[key] === value);
  }

  function reconcileDaemonSet(namespace: string | undefined, name: string): void {
    const daemonSet = cluster.get(DAEMON_SET, namespace, name);
    if (!daemonSet || daemonSet.metadata.deletionTimestamp) return;
    const revision = templateHash(at(daemonSet, 'spec.template'));
    const eligible = nodes().filter((node) => matchesNodeSelector(node, at(daemonSet, 'spec.template.spec.nodeSelector')));
    const eligibleNames = new Set(eligible.map((node) => node.metadata.name));
    let pods = controlled(daemonSet, POD).filter((pod) => !pod.metadata.deletionTimestamp);
    for (const pod of pods) {
      const stale = pod.metadata.labels?.['controller-revision-hash'] !== revision;
      if (!eligibleNames.has(String(at(pod, 'spec.nodeName'))) || stale) cluster.delete(POD, namespace, pod.metadata.name);
    }
    pods = controlled(daemonSet, POD).filter((pod) => !pod.metadata.deletionTimestamp);
    for (const node of eligible) {
      if (pods.some((pod) => at(pod, 'spec.nodeName') === node.metadata.name)) continue;
      createPod(daemonSet, `${name}-${randomSuffix(5)}`, at(daemonSet, 'spec.template'), { 'controller-revision-hash': revision, 'pod-template-generation': String(daemonSet.metadata.generation ?? 1) }, node.metadata.name);
    }
    pods = controlled(daemonSet, POD).filter((pod) => !pod.metadata.deletionTimestamp);
    const ready = pods.filter(podReady).length;
    const status: JsonObject = {
      observedGeneration: daemonSet.metadata.generation,
      desiredNumberScheduled: eligible.length,
      currentNumberScheduled: pods.length,
      numberMisscheduled: 0,
      numberReady: ready,
      numberAvailable: ready,
      updatedNumberScheduled: pods.filter((pod) => pod.metadata.labels?.['controller-revision-hash'] === revision).length,
    };
    if (eligible.length - ready > 0) status.numberUnavailable = eligible.length - ready;
    writeStatus(DAEMON_SET, daemonSet, status);
  }

  function reconcileJob(namespace: string | undefined, name: string): void {
    const job = cluster.get(JOB, namespace, name);
    if (!job || job.metadata.deletionTimestamp) return;
    const status: JsonObject = isPlainObject(job.status) ? clone(job.status) : {};
    const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isPlainObject) : [];
    if (conditions.some((condition) => (condition.type === 'Complete' || condition.type === 'Failed') && condition.status === 'True')) return;
    const completions = Number(at(job, 'spec.completions') ?? 1);
    const parallelism = Number(at(job, 'spec.parallelism') ?? 1);
    const suspended = at(job, 'spec.suspend') === true;
    let pods = controlled(job, POD);
    const succeeded = () => pods.filter((pod) => podPhase(pod) === 'Succeeded').length;
    const active = () => pods.filter((pod) => podPhase(pod) !== 'Succeeded' && podPhase(pod) !== 'Failed' && !pod.metadata.deletionTimestamp).length;
    const failed = () => pods.filter((pod) => podPhase(pod) === 'Failed').length;
    const backoffLimit = Number(at(job, 'spec.backoffLimit') ?? 6);
    if (!suspended && failed() <= backoffLimit) {
      const labels = { 'batch.kubernetes.io/controller-uid': job.metadata.uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': job.metadata.uid, 'job-name': name };
      let missing = Math.min(parallelism - active(), completions - succeeded() - active());
      while (missing > 0) {
        createPod(job, `${name}-${randomSuffix(5)}`, at(job, 'spec.template'), labels);
        missing -= 1;
      }
      pods = controlled(job, POD);
    }
    const stamp = now();
    const next: JsonObject = {
      ...status,
      startTime: status.startTime ?? stamp,
      active: active(),
      succeeded: succeeded(),
      ready: pods.filter(podReady).length,
      terminating: 0,
      uncountedTerminatedPods: {},
    };
    if (failed() > 0) next.failed = failed();
    if (next.active === 0) delete next.active;
    if (next.succeeded === 0) delete next.succeeded;
    if (failed() > backoffLimit) {
      const message = 'Job has reached the specified backoff limit';
      next.conditions = [
        { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', message, lastProbeTime: stamp, lastTransitionTime: stamp },
        { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message, lastProbeTime: stamp, lastTransitionTime: stamp },
      ];
      recordEvent(job, 'Warning', 'BackoffLimitExceeded', message, 'job-controller');
    }
    if (succeeded() >= completions) {
      next.completionTime = stamp;
      next.conditions = [
        { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: stamp, lastTransitionTime: stamp },
        { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: stamp, lastTransitionTime: stamp },
      ];
      recordEvent(job, 'Normal', 'Completed', 'Job completed', 'job-controller');
    }
    writeStatus(JOB, job, next);
  }

  function jobFinished(job: KubeObject): 'Complete' | 'Failed' | undefined {
    const conditions = at(job, 'status.conditions');
    const done = Array.isArray(conditions) ? conditions.filter(isPlainObject).find((condition) => (condition.type === 'Complete' || condition.type === 'Failed') && condition.status === 'True') : undefined;
    return done === undefined ? undefined : (done.type as 'Complete' | 'Failed');
  }

  /**
   * CronJobs run in sandbox time, on a timeline that starts at the CronJob's creation: at scale 50
   * a `*\/5 * * * *` schedule fires every 6 real seconds. Times are UTC (`timeZone` is ignored).
   */
  function reconcileCronJob(namespace: string | undefined, name: string): void {
    const cronJob = cluster.get(CRON_JOB, namespace, name);
    if (!cronJob || cronJob.metadata.deletionTimestamp) return;
    let schedule;
    try {
      schedule = parseCronSchedule(String(at(cronJob, 'spec.schedule') ?? ''));
    } catch {
      return;
    }
    const created = Date.parse(cronJob.metadata.creationTimestamp);
    const simulatedNow = created + (clock.now() - created) * clock.scale;
    const status: JsonObject = isPlainObject(cronJob.status) ? clone(cronJob.status) : {};
    let jobs = controlled(cronJob, JOB);
    const lastSchedule = typeof status.lastScheduleTime === 'string' ? Date.parse(status.lastScheduleTime) : created;
    let due: number | undefined;
    let next = schedule.nextAfter(lastSchedule);
    for (let missed = 0; next !== undefined && next <= simulatedNow && missed < 1000; missed += 1) {
      due = next;
      next = schedule.nextAfter(next);
    }
    const active = () => jobs.filter((job) => jobFinished(job) === undefined && !job.metadata.deletionTimestamp);
    const policy = at(cronJob, 'spec.concurrencyPolicy') ?? 'Allow';
    if (due !== undefined && at(cronJob, 'spec.suspend') !== true && !(policy === 'Forbid' && active().length > 0)) {
      if (policy === 'Replace') for (const job of active()) cluster.delete(JOB, namespace, job.metadata.name, { propagationPolicy: 'Background' });
      const template = isPlainObject(at(cronJob, 'spec.jobTemplate')) ? (at(cronJob, 'spec.jobTemplate') as JsonObject) : {};
      const jobName = `${name}-${Math.floor(due / 60_000)}`;
      if (!cluster.get(JOB, namespace, jobName)) {
        const metadata = isPlainObject(template.metadata) ? template.metadata : {};
        cluster.create(
          JOB,
          namespace,
          {
            metadata: {
              name: jobName,
              labels: metadata.labels,
              annotations: { ...(isPlainObject(metadata.annotations) ? metadata.annotations : {}), 'batch.kubernetes.io/cronjob-scheduled-timestamp': new Date(due).toISOString() },
              ownerReferences: [ownerReference(cronJob)],
            },
            spec: clone(template.spec ?? {}),
          },
          { manager: CONTROLLER_MANAGER },
        );
        recordEvent(cronJob, 'Normal', 'SuccessfulCreate', `Created job ${jobName}`, 'cronjob-controller');
      }
      status.lastScheduleTime = new Date(due).toISOString().replace('.000Z', 'Z');
      jobs = controlled(cronJob, JOB);
    }
    const byAge = (a: KubeObject, b: KubeObject) => a.metadata.name.localeCompare(b.metadata.name, undefined, { numeric: true });
    for (const [outcome, limitPath, fallback] of [['Complete', 'spec.successfulJobsHistoryLimit', 3], ['Failed', 'spec.failedJobsHistoryLimit', 1]] as const) {
      const finished = jobs.filter((job) => jobFinished(job) === outcome).sort(byAge);
      const limit = Number(at(cronJob, limitPath) ?? fallback);
      for (const job of finished.slice(0, Math.max(0, finished.length - limit))) cluster.delete(JOB, namespace, job.metadata.name, { propagationPolicy: 'Background' });
    }
    const running = active();
    if (running.length > 0) status.active = running.map((job) => ({ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, namespace, uid: job.metadata.uid }));
    else delete status.active;
    const successTimes = jobs.filter((job) => jobFinished(job) === 'Complete').map((job) => String(at(job, 'status.completionTime') ?? ''));
    if (successTimes.length > 0) status.lastSuccessfulTime = successTimes.sort().at(-1);
    writeStatus(CRON_JOB, cronJob, status);
    if (next !== undefined) later(`cron:${cronJob.metadata.uid}`, Math.max(0, next - simulatedNow) + 1, () => reconcileCronJob(namespace, name));
  }

  // ---- Services and Ingresses --------------------------------------------------------------

  function loadBalancerHostname(object: KubeObject): string {
    const hash = createHash('sha256').update(object.metadata.uid).digest('hex').slice(0, 12);
    return `${object.metadata.name}-${hash}.${object.metadata.namespace ?? 'default'}.${cluster.name}.elb.sandbox.local`;
  }

  function reconcileLoadBalancer(type: ResourceType, namespace: string | undefined, name: string): void {
    const object = cluster.get(type, namespace, name);
    if (!object || object.metadata.deletionTimestamp) return;
    const wants = type === SERVICE ? at(object, 'spec.type') === 'LoadBalancer' : true;
    const ingress = at(object, 'status.loadBalancer.ingress');
    const has = Array.isArray(ingress) && ingress.length > 0;
    if (wants && !has) {
      if (!clock.elapsed(Date.parse(object.metadata.creationTimestamp), timings.loadBalancerMs) && !timers.has(`lb:${object.metadata.uid}`)) {
        later(`lb:${object.metadata.uid}`, timings.loadBalancerMs, () => {
          const current = cluster.get(type, namespace, name);
          if (!current || current.metadata.uid !== object.metadata.uid) return;
          writeStatus(type, current, { ...(isPlainObject(current.status) ? current.status : {}), loadBalancer: { ingress: [{ hostname: loadBalancerHostname(current) }] } });
        });
        return;
      }
      if (timers.has(`lb:${object.metadata.uid}`)) return;
      writeStatus(type, object, { ...(isPlainObject(object.status) ? object.status : {}), loadBalancer: { ingress: [{ hostname: loadBalancerHostname(object) }] } });
    } else if (!wants && has) {
      writeStatus(type, object, { ...(isPlainObject(object.status) ? object.status : {}), loadBalancer: {} });
    }
  }

  /** The endpoints controllers: a Service's Endpoints and EndpointSlice list the pods its selector picks. */
  function reconcileEndpoints(namespace: string | undefined, name: string): void {
    const service = cluster.get(SERVICE, namespace, name);
    const selector = at(service, 'spec.selector');
    if (!service || service.metadata.deletionTimestamp || !isPlainObject(selector) || Object.keys(selector).length === 0 || at(service, 'spec.type') === 'ExternalName') return;
    const pods = podsIn(namespace).filter(
      (pod) => !pod.metadata.deletionTimestamp && typeof at(pod, 'status.podIP') === 'string' && Object.entries(selector).every(([key, value]) => pod.metadata.labels?.[key] === value),
    );
    const servicePorts = (Array.isArray(at(service, 'spec.ports')) ? (at(service, 'spec.ports') as unknown[]) : []).filter(isPlainObject);
    const targetPort = (pod: KubeObject, port: JsonObject): number | undefined => {
      const target = port.targetPort ?? port.port;
      if (typeof target === 'number') return target;
      const named = containersOf(pod)
        .flatMap((container) => (Array.isArray(container.ports) ? container.ports.filter(isPlainObject) : []))
        .find((candidate) => candidate.name === target);
      return typeof named?.containerPort === 'number' ? named.containerPort : undefined;
    };
    const reference = (pod: KubeObject) => ({ kind: 'Pod', namespace, name: pod.metadata.name, uid: pod.metadata.uid });
    const sample = pods[0];
    const ports = servicePorts
      .map((port) => ({ ...(port.name ? { name: port.name } : {}), port: sample ? targetPort(sample, port) : undefined, protocol: port.protocol ?? 'TCP' }))
      .filter((port) => port.port !== undefined);
    const ready = pods.filter(podReady);
    const notReady = pods.filter((pod) => !podReady(pod));
    const address = (pod: KubeObject) => ({ ip: at(pod, 'status.podIP'), nodeName: at(pod, 'spec.nodeName'), targetRef: reference(pod) });
    const subsets =
      pods.length === 0 || ports.length === 0
        ? undefined
        : [{ ...(ready.length > 0 ? { addresses: ready.map(address) } : {}), ...(notReady.length > 0 ? { notReadyAddresses: notReady.map(address) } : {}), ports }];
    const endpoints = cluster.get(ENDPOINTS, namespace, name);
    const desiredEndpoints = { metadata: { name, labels: service.metadata.labels ?? {} }, ...(subsets ? { subsets } : {}) };
    if (!endpoints) cluster.create(ENDPOINTS, namespace, desiredEndpoints, { manager: 'endpoint-controller' });
    else if (!deepEqual(endpoints.subsets, subsets)) cluster.update(ENDPOINTS, namespace, name, { ...endpoints, subsets }, { manager: 'endpoint-controller' });

    const sliceName = `${name}-${createHash('sha256').update(service.metadata.uid).digest('hex').slice(0, 5)}`;
    const slice = cluster.get(ENDPOINT_SLICE, namespace, sliceName);
    const sliceBody = {
      addressType: 'IPv4',
      endpoints: pods.map((pod) => ({
        addresses: [at(pod, 'status.podIP')],
        conditions: { ready: podReady(pod), serving: podReady(pod), terminating: false },
        nodeName: at(pod, 'spec.nodeName'),
        targetRef: reference(pod),
      })),
      ports,
    };
    if (!slice) {
      cluster.create(
        ENDPOINT_SLICE,
        namespace,
        {
          metadata: {
            name: sliceName,
            labels: { ...(service.metadata.labels ?? {}), 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
            ownerReferences: [ownerReference(service)],
          },
          ...sliceBody,
        },
        { manager: 'endpointslice-controller' },
      );
    } else if (!deepEqual({ addressType: slice.addressType, endpoints: slice.endpoints, ports: slice.ports }, sliceBody)) {
      cluster.update(ENDPOINT_SLICE, namespace, sliceName, { ...slice, ...sliceBody }, { manager: 'endpointslice-controller' });
    }
  }

  function ensureDefaultServiceAccount(namespace: string): void {
    const namespaceObject = cluster.get(NAMESPACE, undefined, namespace);
    if (!namespaceObject || namespaceObject.metadata.deletionTimestamp) return;
    if (cluster.get(SERVICE_ACCOUNT, namespace, 'default')) return;
    cluster.create(SERVICE_ACCOUNT, namespace, { metadata: { name: 'default' } }, { manager: CONTROLLER_MANAGER });
  }

  // ---- wiring ----------------------------------------------------------------------------

  const controllers: Record<string, (namespace: string | undefined, name: string) => void> = {
    [storageKeyOf(DEPLOYMENT)]: reconcileDeployment,
    [storageKeyOf(REPLICA_SET)]: reconcileReplicaSet,
    [storageKeyOf(STATEFUL_SET)]: reconcileStatefulSet,
    [storageKeyOf(DAEMON_SET)]: reconcileDaemonSet,
    [storageKeyOf(JOB)]: reconcileJob,
    [storageKeyOf(CRON_JOB)]: reconcileCronJob,
    [storageKeyOf(SERVICE)]: (namespace, name) => {
      reconcileLoadBalancer(SERVICE, namespace, name);
      reconcileEndpoints(namespace, name);
    },
    [storageKeyOf(INGRESS)]: (namespace, name) => reconcileLoadBalancer(INGRESS, namespace, name),
    [storageKeyOf(CLAIM)]: reconcileClaim,
  };
  const ownerControllers: Record<string, string> = {
    ReplicaSet: storageKeyOf(REPLICA_SET),
    Deployment: storageKeyOf(DEPLOYMENT),
    StatefulSet: storageKeyOf(STATEFUL_SET),
    DaemonSet: storageKeyOf(DAEMON_SET),
    Job: storageKeyOf(JOB),
    CronJob: storageKeyOf(CRON_JOB),
  };

  function enqueueObject(storageKey: string, namespace: string | undefined, name: string): void {
    const controller = controllers[storageKey];
    if (controller) enqueue(`${storageKey}|${namespace ?? ''}|${name}`, () => controller(namespace, name));
  }

  function onEvent(event: StoredEvent): void {
    const { object } = event;
    const namespace = object.metadata.namespace;
    if (event.storageKey === storageKeyOf(EVENT)) return;
    if (event.type !== 'DELETED') enqueueObject(event.storageKey, namespace, object.metadata.name);
    const owner = controllerOf(object);
    if (owner) {
      const ownerKey = ownerControllers[owner.kind];
      if (ownerKey) enqueueObject(ownerKey, namespace, owner.name);
    }
    if (event.storageKey === storageKeyOf(POD)) {
      for (const service of cluster.scan(SERVICE, namespace)) enqueue(`endpoints:${namespace ?? ''}/${service.metadata.name}`, () => reconcileEndpoints(namespace, service.metadata.name));
    }
    if (event.storageKey === storageKeyOf(SERVICE) && event.type === 'DELETED') {
      enqueue(`endpoints-gone:${namespace ?? ''}/${object.metadata.name}`, () => {
        if (!cluster.get(SERVICE, namespace, object.metadata.name) && cluster.get(ENDPOINTS, namespace, object.metadata.name)) cluster.delete(ENDPOINTS, namespace, object.metadata.name);
      });
    }
    if (event.storageKey === storageKeyOf(CLAIM) && event.type === 'DELETED') {
      const volumeName = at(object, 'spec.volumeName');
      const volume = typeof volumeName === 'string' ? cluster.get(VOLUME, undefined, volumeName) : undefined;
      if (volume && at(volume, 'spec.persistentVolumeReclaimPolicy') === 'Delete') {
        enqueue(`pv:${volume.metadata.uid}`, () => cluster.delete(VOLUME, undefined, volume.metadata.name));
      }
    }
    if (event.storageKey === storageKeyOf(STORAGE_CLASS) && event.type === 'ADDED') {
      for (const claim of cluster.scan(CLAIM)) enqueueObject(storageKeyOf(CLAIM), claim.metadata.namespace, claim.metadata.name);
    }
    if (event.storageKey === storageKeyOf(CRON_JOB) && event.type === 'DELETED') {
      timers.get(`cron:${object.metadata.uid}`)?.();
      timers.delete(`cron:${object.metadata.uid}`);
    }
    if (event.storageKey === storageKeyOf(DEPLOYMENT) && event.type === 'DELETED') {
      rollouts.delete(object.metadata.uid);
      timers.get(`deployment-deadline:${object.metadata.uid}`)?.();
      timers.delete(`deployment-deadline:${object.metadata.uid}`);
    }
    if (event.storageKey === storageKeyOf(POD)) {
      if (event.type === 'DELETED') {
        timers.get(`pod:${object.metadata.uid}`)?.();
        timers.delete(`pod:${object.metadata.uid}`);
      } else if (event.type === 'ADDED') {
        enqueue(`pod:${object.metadata.uid}`, () => podStep(namespace, object.metadata.name, object.metadata.uid));
      }
    }
    if (event.storageKey === storageKeyOf(NODE)) {
      if (event.type === 'DELETED') {
        // Pod garbage collection: pods bound to a node that is gone are deleted (their controllers make new ones).
        for (const pod of podsIn(undefined)) {
          if (at(pod, 'spec.nodeName') === object.metadata.name) enqueue(`pod-gc:${pod.metadata.uid}`, () => {
            if (cluster.get(POD, pod.metadata.namespace, pod.metadata.name)?.metadata.uid === pod.metadata.uid) cluster.delete(POD, pod.metadata.namespace, pod.metadata.name);
          });
        }
      }
      for (const daemonSet of cluster.scan(DAEMON_SET)) enqueueObject(storageKeyOf(DAEMON_SET), daemonSet.metadata.namespace, daemonSet.metadata.name);
      for (const pod of podsIn(undefined)) {
        if (at(pod, 'spec.nodeName') === undefined) enqueue(`pod:${pod.metadata.uid}`, () => podStep(pod.metadata.namespace, pod.metadata.name, pod.metadata.uid));
      }
    }
    if (event.storageKey === storageKeyOf(NAMESPACE) && event.type === 'ADDED') {
      enqueue(`sa:${object.metadata.name}`, () => ensureDefaultServiceAccount(object.metadata.name));
    }
  }

  const unsubscribe = cluster.subscribe(onEvent);

  return {
    resyncAll() {
      for (const cancel of timers.values()) cancel();
      timers.clear();
      for (const storageKey of Object.keys(controllers)) {
        const type = [DEPLOYMENT, REPLICA_SET, STATEFUL_SET, DAEMON_SET, JOB, CRON_JOB, SERVICE, INGRESS, CLAIM].find((candidate) => storageKeyOf(candidate) === storageKey) as ResourceType;
        for (const object of cluster.scan(type)) enqueueObject(storageKey, object.metadata.namespace, object.metadata.name);
      }
      for (const pod of podsIn(undefined)) enqueue(`pod:${pod.metadata.uid}`, () => podStep(pod.metadata.namespace, pod.metadata.name, pod.metadata.uid));
      // Restored events expire by their (second-precision) timestamps.
      const restored = cluster
        .scan(EVENT)
        .map((event) => [`${event.metadata.namespace ?? ''}/${event.metadata.name}`, Date.parse(String(event.lastTimestamp ?? event.metadata.creationTimestamp))] as const)
        .sort((a, b) => a[1] - b[1]);
      for (const [key, recorded] of restored) if (!eventTimes.has(key)) eventTimes.set(key, recorded);
    },
    stop() {
      stopped = true;
      unsubscribe();
      if (drainScheduled) clearImmediate(drainScheduled);
      for (const cancel of timers.values()) cancel();
      timers.clear();
      queue.clear();
    },
  };
}
