/**
 * The simulated controllers around workloads: load balancers for Services and Ingresses,
 * Endpoints and EndpointSlices, volume provisioning and binding, and the default ServiceAccount.
 */
import { createHash } from 'node:crypto';
import { deepEqual, isPlainObject, type JsonObject } from './json-values.js';
import type { KubeObject } from './object-rules.js';
import type { ResourceType } from './resource-table.js';
import {
  CLAIM,
  CONTROLLER_MANAGER,
  DEFAULT_CLASS_ANNOTATION,
  ENDPOINTS,
  ENDPOINT_SLICE,
  NAMESPACE,
  SERVICE,
  SERVICE_ACCOUNT,
  STORAGE_CLASS,
  VOLUME,
  at,
  containersOf,
  ownerReference,
  podReady,
  type SimulationRuntime,
} from './simulation-runtime.js';

export function createServiceControllers(runtime: SimulationRuntime) {
  const { cluster, clock, timings, timers, later, writeStatus, recordEvent, podsIn } = runtime;

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
    // The selector first: of a namespace's pods it rules out the most, the most cheaply.
    const wanted = Object.entries(selector);
    const pods = podsIn(namespace).filter(
      (pod) => wanted.every(([key, value]) => pod.metadata.labels?.[key] === value) && !pod.metadata.deletionTimestamp && typeof at(pod, 'status.podIP') === 'string',
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


  return { reconcileClaim, reconcileLoadBalancer, reconcileEndpoints, ensureDefaultServiceAccount };
}
