/**
 * The simulated controllers and kubelet of one cluster, in scaled time: Deployments roll out
 * through ReplicaSets and Pods and become Available; StatefulSets create ordered pods; DaemonSets
 * put one pod on each node; Jobs complete; CronJobs fire; LoadBalancer Services and Ingresses get a
 * hostname; claims bind. They are level-triggered from the cluster's change events, like the real
 * ones; this file routes events to them (see `kubelet-simulation.ts`, `workload-controllers.ts`,
 * `service-controllers.ts`, and `simulation-runtime.ts` for what they share).
 */
import type { Logger } from 'pino';
import type { SimClock } from '../sim-clock.js';
import { isPlainObject } from './json-values.js';
import type { KubeCluster, StoredEvent } from './kube-cluster.js';
import { createKubeletSimulation, requiredVolumeSources } from './kubelet-simulation.js';
import type { KubeObject } from './object-rules.js';
import type { ResourceType } from './resource-table.js';
import { storageKeyOf } from './resource-table.js';
import { createServiceControllers } from './service-controllers.js';
import {
  CLAIM,
  CONFIG_MAP,
  CRON_JOB,
  DAEMON_SET,
  DEPLOYMENT,
  ENDPOINTS,
  EVENT,
  INGRESS,
  JOB,
  NAMESPACE,
  NODE,
  POD,
  REPLICA_SET,
  SECRET,
  SERVICE,
  STATEFUL_SET,
  STORAGE_CLASS,
  VOLUME,
  at,
  controllerOf,
  createSimulationRuntime,
  type AddOnSimulation,
  type SimulationRuntime,
  type WorkloadTimings,
} from './simulation-runtime.js';
import { createWorkloadControllers } from './workload-controllers.js';

export { CRASHING_IMAGE_MARKER, DEFAULT_TIMINGS, FAILING_IMAGE_MARKER, templateHash, type WorkloadTimings } from './simulation-runtime.js';

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
  /** Simulated controllers of add-ons (Envoy Gateway, cert-manager), given the same runtime and every change event. */
  addOns?: Array<(runtime: SimulationRuntime) => AddOnSimulation> | undefined;
}


/** Whether the Service's selector picks the pod (a Service without a selector has no managed Endpoints). */
function selectsPod(service: KubeObject, pod: KubeObject): boolean {
  const selector = isPlainObject(service.spec) ? service.spec.selector : undefined;
  if (!isPlainObject(selector)) return false;
  const labels = pod.metadata.labels ?? {};
  let empty = true;
  for (const [key, value] of Object.entries(selector)) {
    empty = false;
    if (labels[key] !== value) return false;
  }
  return !empty;
}

export function createWorkloadSimulation(options: WorkloadSimulationOptions): WorkloadSimulation {
  const runtime = createSimulationRuntime(options);
  const { cluster, enqueue, cancelTimer, podsIn } = runtime;
  const { podStep } = createKubeletSimulation(runtime);
  const { reconcileReplicaSet, reconcileDeployment, reconcileStatefulSet, reconcileDaemonSet, reconcileJob, reconcileCronJob, forgetDeployment } = createWorkloadControllers(runtime);
  const { reconcileClaim, reconcileLoadBalancer, reconcileEndpoints, ensureDefaultServiceAccount } = createServiceControllers(runtime);
  const addOns = (options.addOns ?? []).map((create) => create(runtime));

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
    for (const addOn of addOns) addOn.onEvent(event);
    if (event.type !== 'DELETED') enqueueObject(event.storageKey, namespace, object.metadata.name);
    const owner = controllerOf(object);
    if (owner) {
      const ownerKey = ownerControllers[owner.kind];
      if (ownerKey) enqueueObject(ownerKey, namespace, owner.name);
    }
    if (event.storageKey === storageKeyOf(POD)) {
      // As the endpoints controller does: only the Services whose selector picks the pod, before or after the change
      // (the others' Endpoints cannot change; with a thousand Services in a namespace, all of them made every pod event quadratic).
      for (const service of cluster.scan(SERVICE, namespace)) {
        if (!selectsPod(service, object) && !(event.previous !== undefined && selectsPod(service, event.previous))) continue;
        enqueue(`endpoints:${namespace ?? ''}/${service.metadata.name}`, () => reconcileEndpoints(namespace, service.metadata.name));
      }
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
    if (event.storageKey === storageKeyOf(CRON_JOB) && event.type === 'DELETED') cancelTimer(`cron:${object.metadata.uid}`);
    if (event.storageKey === storageKeyOf(DEPLOYMENT) && event.type === 'DELETED') {
      forgetDeployment(object.metadata.uid);
      cancelTimer(`deployment-deadline:${object.metadata.uid}`);
    }
    if (event.storageKey === storageKeyOf(POD)) {
      if (event.type === 'DELETED') {
        cancelTimer(`pod:${object.metadata.uid}`);
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
    if ((event.storageKey === storageKeyOf(CONFIG_MAP) || event.storageKey === storageKeyOf(SECRET)) && event.type === 'ADDED') {
      // A pod waiting to mount it tries again now rather than at its next retry.
      const kind = event.storageKey === storageKeyOf(CONFIG_MAP) ? 'configmap' : 'secret';
      for (const pod of podsIn(namespace)) {
        if (at(pod, 'status.phase') !== 'Pending' || !requiredVolumeSources(pod).some((source) => source.kind === kind && source.name === object.metadata.name)) continue;
        cancelTimer(`pod:${pod.metadata.uid}`);
        enqueue(`pod:${pod.metadata.uid}`, () => podStep(pod.metadata.namespace, pod.metadata.name, pod.metadata.uid));
      }
    }
    if (event.storageKey === storageKeyOf(NAMESPACE) && event.type === 'ADDED') {
      enqueue(`sa:${object.metadata.name}`, () => ensureDefaultServiceAccount(object.metadata.name));
    }
  }

  const unsubscribe = cluster.subscribe(onEvent);

  return {
    resyncAll() {
      runtime.cancelAllTimers();
      for (const storageKey of Object.keys(controllers)) {
        const type = [DEPLOYMENT, REPLICA_SET, STATEFUL_SET, DAEMON_SET, JOB, CRON_JOB, SERVICE, INGRESS, CLAIM].find((candidate) => storageKeyOf(candidate) === storageKey) as ResourceType;
        for (const object of cluster.scan(type)) enqueueObject(storageKey, object.metadata.namespace, object.metadata.name);
      }
      for (const pod of podsIn(undefined)) enqueue(`pod:${pod.metadata.uid}`, () => podStep(pod.metadata.namespace, pod.metadata.name, pod.metadata.uid));
      for (const addOn of addOns) addOn.resyncAll();
      runtime.seedEventTimes();
    },
    stop() {
      unsubscribe();
      runtime.stop();
    },
  };
}
