/**
 * An app's secret kept in AWS Secrets Manager, as the workload-controller delivers it: an
 * `ExternalSecret` in the app's namespace pinned to the Secrets Manager version the SecretInstance's
 * status reports, read through its definition's `ClusterSecretStore` on the app's cluster (the
 * support-services-controller sets that up and reports it per cluster in `status.stores`). The
 * External Secrets Operator writes the Secret; the pods roll only once it has, at that version.
 * The value never passes through here.
 */
import { externalSecretSynced, type KubernetesObject } from '@tugboat/kube';
import type { Resource, ResourceStatus } from '@tugboat/resource-model';
import type { ExternalSecretSource } from '@tugboat/workloads';

type Waiting = { waiting: string; reason: string };

interface StoreEntry {
  cluster?: string;
  store?: string;
  ready?: boolean;
  message?: string;
}

/** Where the app's ExternalSecret reads the secret from, or why it cannot be written yet. */
export function externalSource(secret: Resource<unknown, ResourceStatus>, cluster: string): { source: ExternalSecretSource } | Waiting {
  const name = secret.metadata.name;
  const generation = secret.metadata.generation;
  const outputs = secret.status.outputs ?? {};
  const versionId = typeof outputs['versionId'] === 'string' ? outputs['versionId'] : undefined;
  const remoteKey = typeof outputs['secretName'] === 'string' ? outputs['secretName'] : undefined;
  if (secret.status.observedGeneration !== generation || outputs['version'] !== String(generation) || versionId === undefined || remoteKey === undefined) {
    const ready = secret.status.conditions?.find((condition) => condition.type === 'Ready');
    const said = ready?.message ? ` (${ready.reason ?? secret.status.phase}: ${ready.message})` : '';
    return { waiting: `SecretInstance ${name} is not written to AWS Secrets Manager at generation ${generation} yet${said}`, reason: 'SecretNotStored' };
  }
  const stores = Array.isArray(secret.status['stores']) ? (secret.status['stores'] as StoreEntry[]) : [];
  const entry = stores.find((candidate) => candidate.cluster === cluster);
  if (entry === undefined || typeof entry.store !== 'string') {
    return { waiting: `SecretInstance ${name}: the store it is read through on cluster ${cluster} is not set up yet (the support-services-controller installs it for the apps that receive the secret)`, reason: 'SecretStoreNotReady' };
  }
  if (entry.ready !== true) return { waiting: `SecretInstance ${name}: ${entry.message ?? `ClusterSecretStore ${entry.store} on cluster ${cluster} is not ready yet`}`, reason: 'SecretStoreNotReady' };
  return { source: { store: entry.store, remoteKey, versionId } };
}

/**
 * Whether the operator has written an ExternalSecret's target at its pinned version (the
 * ExternalSecret synced at its generation, the Secret there with the key); the words when not,
 * naming the secret and the cluster.
 */
export function externalSecretWaiting(live: KubernetesObject, target: KubernetesObject | undefined, secret: string, cluster: string): string | undefined {
  const synced = externalSecretSynced(live);
  if (!synced.synced) return `SecretInstance ${secret} on cluster ${cluster}: the External Secrets Operator says: ${synced.message}`;
  const key = (live as { spec?: { data?: Array<{ secretKey?: string }> } }).spec?.data?.[0]?.secretKey;
  const data = (target as { data?: Record<string, string> } | undefined)?.data ?? {};
  if (target === undefined || (key !== undefined && data[key] === undefined)) return `SecretInstance ${secret} on cluster ${cluster}: the External Secrets Operator has not written Secret ${live.metadata?.name} yet`;
  return undefined;
}
