/**
 * Whether one applied object is ready, read from its own status the way `kubectl rollout status`
 * and the Kubernetes controllers read it, and whether the pods of its current rollout are stuck in a
 * way that waiting will not fix (the image does not pull, the container keeps crashing).
 */
import type { ClusterConnection } from './cluster-connections.js';
import type { KubernetesObject } from '@kubernetes/client-node';

export interface Readiness {
  ready: boolean;
  /** One word for a row and a condition: `Available`, `RollingOut`, `ImagePullBackOff` … */
  reason: string;
  message: string;
  /** Waiting will not make it ready: the instance is Degraded, naming this object and the reason. */
  failed?: boolean;
}

type Json = Record<string, unknown>;

interface StatusCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

const record = (value: unknown): Json => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {});
const numberAt = (value: unknown): number => (typeof value === 'number' ? value : 0);
const conditionsOf = (status: Json): StatusCondition[] => (Array.isArray(status['conditions']) ? (status['conditions'] as StatusCondition[]) : []);
const conditionOf = (status: Json, type: string) => conditionsOf(status).find((condition) => condition.type === type);

function generationSeen(object: KubernetesObject, status: Json): boolean {
  const generation = object.metadata?.generation;
  const observed = status['observedGeneration'];
  return generation === undefined || (typeof observed === 'number' && observed >= generation);
}

const ready = (reason: string, message: string): Readiness => ({ ready: true, reason, message });
const waiting = (reason: string, message: string): Readiness => ({ ready: false, reason, message });
const failed = (reason: string, message: string): Readiness => ({ ready: false, reason, message, failed: true });

/** Kinds whose readiness comes from pods, and whose pods are looked at when they are not ready. */
export const POD_CONTROLLERS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);

export interface ReadinessContext {
  /** For a Service with a selector: its Endpoints object (undefined when there is none yet). */
  endpoints?: KubernetesObject | undefined;
}

/** The readiness of one object as the cluster answered it (with its status). */
export function objectReadiness(object: KubernetesObject, context: ReadinessContext = {}): Readiness {
  const spec = record((object as Json)['spec']);
  const status = record((object as Json)['status']);
  switch (object.kind) {
    case 'Deployment':
      return deploymentReadiness(object, spec, status);
    case 'StatefulSet': {
      if (!generationSeen(object, status)) return waiting('RollingOut', 'waiting for the StatefulSet controller to see the new generation');
      const want = typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
      const readyReplicas = numberAt(status['readyReplicas']);
      const updated = numberAt(status['updatedReplicas']);
      const onOldRevision = status['updateRevision'] !== undefined && status['currentRevision'] !== undefined && status['updateRevision'] !== status['currentRevision'];
      if (updated < want || onOldRevision) return waiting('RollingOut', `${updated} of ${want} pods updated`);
      if (readyReplicas < want) return waiting('RollingOut', `${readyReplicas} of ${want} pods ready`);
      return ready('RolledOut', `${readyReplicas}/${want} pods ready`);
    }
    case 'DaemonSet': {
      if (!generationSeen(object, status)) return waiting('RollingOut', 'waiting for the DaemonSet controller to see the new generation');
      const want = numberAt(status['desiredNumberScheduled']);
      const updated = numberAt(status['updatedNumberScheduled']);
      const available = numberAt(status['numberAvailable']);
      if (updated < want) return waiting('RollingOut', `${updated} of ${want} pods updated`);
      if (available < want) return waiting('RollingOut', `${available} of ${want} pods available`);
      return ready('RolledOut', `${available}/${want} pods available`);
    }
    case 'Job': {
      const failure = conditionOf(status, 'Failed');
      if (failure?.status === 'True') return failed(failure.reason ?? 'JobFailed', failure.message ?? 'the Job failed');
      const complete = conditionOf(status, 'Complete');
      if (complete?.status === 'True') return ready('Complete', `completed (${numberAt(status['succeeded'])} succeeded)`);
      return waiting('Running', `${numberAt(status['active'])} active, ${numberAt(status['succeeded'])} succeeded, ${numberAt(status['failed'])} failed`);
    }
    case 'Service':
      return serviceReadiness(spec, context.endpoints);
    case 'ExternalSecret': {
      // Its Secret written by the External Secrets Operator at the version it pins (this generation).
      const synced = externalSecretSynced(object);
      return synced.synced ? ready('SecretSynced', 'the External Secrets Operator wrote its Secret') : waiting(synced.reason, `the External Secrets Operator says: ${synced.message}`);
    }
    case 'PersistentVolumeClaim': {
      const phase = typeof status['phase'] === 'string' ? status['phase'] : 'Pending';
      if (phase === 'Bound') return ready('Bound', 'bound to a volume');
      if (phase === 'Lost') return failed('ClaimLost', 'the claim lost its volume');
      return waiting(phase, `the claim is ${phase}`);
    }
    case 'Prometheus':
    case 'Alertmanager':
      return operatorManagedReadiness(object, status);
    default:
      return ready('Exists', 'exists');
  }
}

/**
 * A Prometheus or Alertmanager of the Prometheus Operator (`monitoring.coreos.com`): ready when the
 * operator reports it `Available` at its generation, as it does once its StatefulSet's pods are.
 */
function operatorManagedReadiness(object: KubernetesObject, status: Json): Readiness {
  if (!(object.apiVersion ?? '').startsWith('monitoring.coreos.com/')) return ready('Exists', 'exists');
  const available = conditionOf(status, 'Available');
  const observed = (available as { observedGeneration?: unknown } | undefined)?.observedGeneration;
  if (available === undefined) return waiting('NotReconciled', 'the Prometheus Operator has not reported on it yet');
  if (typeof observed === 'number' && observed < (object.metadata?.generation ?? 0)) return waiting('RollingOut', 'waiting for the Prometheus Operator to see the new generation');
  if (available.status !== 'True') return waiting(available.reason ?? 'Unavailable', available.message ?? 'not Available');
  return ready('Available', `${numberAt(status['availableReplicas'])} replicas available`);
}

function deploymentReadiness(object: KubernetesObject, spec: Json, status: Json): Readiness {
  const progressing = conditionOf(status, 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return failed('ProgressDeadlineExceeded', progressing.message ?? 'the rollout did not progress within progressDeadlineSeconds');
  }
  if (!generationSeen(object, status)) return waiting('RollingOut', 'waiting for the Deployment controller to see the new generation');
  const want = typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
  const updated = numberAt(status['updatedReplicas']);
  const total = numberAt(status['replicas']);
  const available = numberAt(status['availableReplicas']);
  if (updated < want) return waiting('RollingOut', `${updated} of ${want} new replicas updated`);
  if (total > updated) return waiting('RollingOut', `${total - updated} old replicas pending termination`);
  if (available < updated) return waiting('RollingOut', `${available} of ${updated} updated replicas available`);
  const availableCondition = conditionOf(status, 'Available');
  if (want > 0 && availableCondition !== undefined && availableCondition.status !== 'True') {
    return waiting('Unavailable', availableCondition.message ?? 'not Available');
  }
  return ready('Available', `${available}/${want} replicas available`);
}

function serviceReadiness(spec: Json, endpoints: KubernetesObject | undefined): Readiness {
  const selector = record(spec['selector']);
  if (spec['type'] === 'ExternalName' || Object.keys(selector).length === 0) return ready('Exists', 'exists (no selector: endpoints are managed elsewhere)');
  const subsets = Array.isArray((endpoints as Json | undefined)?.['subsets']) ? ((endpoints as Json)['subsets'] as Json[]) : [];
  const readyAddresses = subsets.reduce((sum, subset) => sum + (Array.isArray(subset['addresses']) ? subset['addresses'].length : 0), 0);
  if (readyAddresses > 0) return ready('EndpointsReady', `${readyAddresses} ready endpoint${readyAddresses === 1 ? '' : 's'}`);
  return waiting('NoReadyEndpoints', 'no ready pod behind the selector yet');
}

/** Container states that waiting will not fix. */
const STUCK_WAITING = new Set(['ImagePullBackOff', 'ErrImagePull', 'CrashLoopBackOff', 'InvalidImageName', 'CreateContainerConfigError']);

/**
 * The first pod of the current rollout stuck in a state that waiting will not fix, as a failed
 * readiness naming the pod, the container and what the kubelet said.
 */
export function stuckPods(pods: readonly KubernetesObject[]): Readiness | undefined {
  for (const pod of pods) {
    const status = record((pod as Json)['status']);
    const containers = [
      ...(Array.isArray(status['initContainerStatuses']) ? (status['initContainerStatuses'] as Json[]) : []),
      ...(Array.isArray(status['containerStatuses']) ? (status['containerStatuses'] as Json[]) : []),
    ];
    for (const container of containers) {
      const waitingState = record(record(container['state'])['waiting']);
      const reason = waitingState['reason'];
      if (typeof reason === 'string' && STUCK_WAITING.has(reason)) {
        const said = typeof waitingState['message'] === 'string' && waitingState['message'] !== '' ? `: ${waitingState['message']}` : '';
        const image = typeof container['image'] === 'string' ? ` (image ${container['image']})` : '';
        return failed(reason, `pod ${pod.metadata?.name ?? ''} container ${String(container['name'] ?? '')}${image} is in ${reason}${said}`);
      }
    }
  }
  return undefined;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** A `metav1.LabelSelector` as the `labelSelector` query parameter; undefined for one that selects nothing expressible. */
export function labelSelectorQuery(selector: LabelSelector | undefined, extra: Record<string, string> = {}): string | undefined {
  if (selector === undefined) return undefined;
  const parts = Object.entries({ ...selector.matchLabels, ...extra }).map(([key, value]) => `${key}=${value}`);
  for (const expression of selector.matchExpressions ?? []) {
    const values = (expression.values ?? []).join(',');
    switch (expression.operator) {
      case 'In':
        parts.push(`${expression.key} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${expression.key} notin (${values})`);
        break;
      case 'Exists':
        parts.push(expression.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${expression.key}`);
        break;
      default:
        return undefined;
    }
  }
  return parts.length === 0 ? undefined : parts.join(',');
}

/** The pods that stand for a controller's current rollout (a Deployment's newest ReplicaSet, a StatefulSet's update revision). */
export async function currentPods(cluster: ClusterConnection, object: KubernetesObject, namespace: string, signal?: AbortSignal): Promise<KubernetesObject[]> {
  const options = signal === undefined ? {} : { signal };
  const spec = (object as { spec?: { selector?: LabelSelector } }).spec;
  const status = (object as { status?: { updateRevision?: string } }).status;
  const selector = spec?.selector;
  if (object.kind === 'Deployment') {
    const query = labelSelectorQuery(selector);
    if (query === undefined) return [];
    const replicaSets = (await cluster.list('apps/v1', 'ReplicaSet', { namespace, labelSelector: query, ...options })).filter((replicaSet) =>
      (replicaSet.metadata?.ownerReferences ?? []).some((owner) => owner.uid === object.metadata?.uid),
    );
    const revision = (replicaSet: KubernetesObject) => Number(replicaSet.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
    const newest = replicaSets.sort((a, b) => revision(b) - revision(a))[0];
    const hash = newest?.metadata?.labels?.['pod-template-hash'];
    if (hash === undefined) return [];
    const podQuery = labelSelectorQuery(selector, { 'pod-template-hash': hash });
    return podQuery === undefined ? [] : cluster.list('v1', 'Pod', { namespace, labelSelector: podQuery, ...options });
  }
  const extra: Record<string, string> = object.kind === 'StatefulSet' && status?.updateRevision ? { 'controller-revision-hash': status.updateRevision } : {};
  const query = labelSelectorQuery(selector, extra);
  return query === undefined ? [] : cluster.list('v1', 'Pod', { namespace, labelSelector: query, ...options });
}

/**
 * An object's readiness as the cluster holds it, and for a controller of pods that is not ready,
 * whether a pod of its current rollout is stuck (the image does not pull, the container crashes).
 */
export async function liveReadiness(cluster: ClusterConnection, object: KubernetesObject, context: ReadinessContext & { signal?: AbortSignal } = {}): Promise<Readiness> {
  const namespace = object.metadata?.namespace;
  const readiness = objectReadiness(object, context);
  // A rollout past its deadline is failed either way; a stuck pod says more precisely why.
  const pastDeadline = readiness.failed === true && readiness.reason === 'ProgressDeadlineExceeded';
  if (readiness.ready || (readiness.failed && !pastDeadline) || !POD_CONTROLLERS.has(object.kind ?? '') || namespace === undefined) return readiness;
  // Its controller has not seen this generation yet: no pod of it exists to be stuck.
  const observed = (object as { status?: { observedGeneration?: number } }).status?.observedGeneration;
  if (observed === undefined || observed < (object.metadata?.generation ?? 0)) return readiness;
  const pods = await currentPods(cluster, object, namespace, context.signal);
  return stuckPods(pods) ?? readiness;
}

/**
 * Whether an External Secrets Operator `ExternalSecret` has written its target at its current
 * generation: Ready, and its `syncedResourceVersion` (`<generation>-<hash of labels and
 * annotations>`, as the operator writes it) of this generation, so a spec just changed (a pinned
 * version) is not taken for synced. The words when not.
 */
export function externalSecretSynced(object: unknown): { synced: true } | { synced: false; reason: string; message: string } {
  const generation = (object as { metadata?: { generation?: number } } | undefined)?.metadata?.generation ?? 1;
  const status = record((object as Json | undefined)?.['status']);
  const condition = conditionOf(status, 'Ready');
  if (condition === undefined) return { synced: false, reason: 'Pending', message: 'the External Secrets Operator has not reported on it yet' };
  if (condition.status !== 'True') return { synced: false, reason: condition.reason ?? 'NotReady', message: condition.message ?? condition.reason ?? 'not ready' };
  const version = status['syncedResourceVersion'];
  if (typeof version !== 'string' || !version.startsWith(`${generation}-`)) return { synced: false, reason: 'Syncing', message: `the operator has not synced generation ${generation} yet` };
  return { synced: true };
}
