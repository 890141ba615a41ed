/**
 * The simulated kubelet: a scheduled pod starts after `podStartMs` and turns Running and Ready;
 * a pod that mounts a ConfigMap or Secret that does not exist (and is not `optional`) stays
 * ContainerCreating with FailedMount events until it does; an image containing `doesnotexist`
 * never pulls (ErrImagePull, then ImagePullBackOff); an image
 * containing `crashloop` exits (CrashLoopBackOff, or a failed pod under `restartPolicy: Never`);
 * a Job's pod succeeds after `jobRunMs`; a pod waits for its claims to bind. Unbound pods are
 * bound to a node here too (the scheduler's part).
 */
import { createHash, randomBytes } from 'node:crypto';
import { clone, isPlainObject, type JsonObject } from './json-values.js';
import type { KubeObject } from './object-rules.js';
import {
  CLAIM,
  CONFIG_MAP,
  FAILING_IMAGE_MARKER,
  KUBELET,
  POD,
  at,
  containersOf,
  controllerOf,
  crashes,
  failingImage,
  mergeConditions,
  podPhase,
  SECRET,
  objectsAt,
  type Condition,
  type SimulationRuntime,
} from './simulation-runtime.js';

/** A ConfigMap or Secret a pod's volume needs, by kind, name and volume. */
export interface VolumeSource {
  volume: string;
  kind: 'configmap' | 'secret';
  name: string;
}

/**
 * The ConfigMaps and Secrets a pod's volumes mount (directly or projected), except `optional`
 * ones: the kubelet cannot set those volumes up, nor start the pod, while one is missing.
 */
export function requiredVolumeSources(pod: KubeObject): VolumeSource[] {
  const sources: VolumeSource[] = [];
  for (const volume of objectsAt(pod, 'spec.volumes')) {
    const name = String(volume.name ?? '');
    const add = (kind: VolumeSource['kind'], source: unknown, nameField: string) => {
      if (isPlainObject(source) && source.optional !== true && typeof source[nameField] === 'string') sources.push({ volume: name, kind, name: source[nameField] as string });
    };
    add('configmap', volume.configMap, 'name');
    add('secret', volume.secret, 'secretName');
    for (const projected of objectsAt(volume, 'projected.sources')) {
      add('configmap', projected.configMap, 'name');
      add('secret', projected.secret, 'name');
    }
  }
  return sources;
}

export function createKubeletSimulation(runtime: SimulationRuntime) {
  const { cluster, clock, timings, now, later, writeStatus, recordEvent, nodeAddress, pickNode } = runtime;
  let podIps = 0;

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

    // Volumes are set up before any image is pulled: a missing ConfigMap or Secret holds the pod in
    // ContainerCreating, retried (and reported) until it exists.
    if (phase === 'Pending' && waitingReason === 'ContainerCreating') {
      const missing = requiredVolumeSources(pod).filter((source) => !cluster.get(source.kind === 'configmap' ? CONFIG_MAP : SECRET, namespace, source.name));
      if (missing.length > 0) {
        if (!clock.elapsed(created, timings.podStartMs)) {
          later(`pod:${uid}`, timings.podStartMs, () => podStep(namespace, name, uid));
          return;
        }
        for (const source of missing) {
          recordEvent(pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed for volume "${source.volume}" : ${source.kind} "${source.name}" not found`, 'kubelet');
        }
        later(`pod:${uid}`, timings.mountRetryMs, () => podStep(namespace, name, uid));
        return;
      }
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


  return { podStep };
}
