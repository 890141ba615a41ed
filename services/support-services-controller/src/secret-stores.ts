/**
 * A secret kept in AWS Secrets Manager is read into a cluster by the External Secrets Operator, so
 * every cluster where an app that receives such a secret runs needs: the operator (its chart,
 * installed on first use), the definition's account credentials in a Secret beside it, and the
 * definition's `ClusterSecretStore` `tugboat-<definition>` (Secrets Manager in the definition's
 * region, with those credentials, and the account's role to assume when it names one). A store is
 * ready when the operator says so (its `Ready` condition, after it called AWS with the credentials).
 *
 * Which clusters: those of the live WorkloadInstances that name the secret (its referrers). A store
 * serves every secret of its definition on the cluster, so it is removed (with its credentials
 * Secret) only when no live app there receives any secret of the definition; the operator stays
 * installed for the next one.
 *
 * The ExternalSecrets themselves are the workload-controller's: it writes one per app and secret.
 */
import { createClusterAccess, createEksAccess, KilledAtPoint, type AwsAccountSpec, type ClusterResource, type EksAccess } from '@tugboat/aws';
import type { ApiClient } from '@tugboat/api-client';
import { isKubeClusterError, type ClusterConnection, type ClusterConnections, type KubernetesObject } from '@tugboat/kube';
import { noKillPoint, type KillPoint, type Resource, type ResourceStatus } from '@tugboat/resource-model';
import {
  clusterSecretStoreManifest,
  clusterSecretStoreName,
  EXTERNAL_SECRETS_API,
  EXTERNAL_SECRETS_NAMESPACE,
  externalSecretsReady,
  storeCredentialsManifest,
  storeCredentialsName,
} from '@tugboat/workloads';
import { createComponentInstaller, externalSecretsComponent, type ChartRenderer, type ComponentInstaller } from './components.js';
import { SUPPORT_FIELD_MANAGER } from './gateway-objects.js';

/** One cluster's store, as a SecretInstance's status reports it (`status.stores`). */
export interface StoreEntry {
  cluster: string;
  store: string;
  ready: boolean;
  reason: string;
  message: string;
  /** The apps on the cluster that receive the secret (its project's WorkloadInstances). */
  workloads: string[];
}

/** What a store is made with: the definition, its region, and its account (with the access key when the account has one). */
export interface StoreSource {
  definition: Resource<{ accountRef?: { name: string } }, ResourceStatus>;
  region: string;
  account: Resource<AwsAccountSpec, ResourceStatus>;
  /** Reads the account's secret access key (an audited read: only when the store is written). */
  secretAccessKey(): Promise<string | undefined>;
}

export interface SecretStoresOptions {
  connections: ClusterConnections;
  charts: ChartRenderer;
  eksAccess?: EksAccess;
  installer?: ComponentInstaller;
  killPoint?: KillPoint;
}

interface Ctx {
  api: ApiClient;
  signal: AbortSignal;
  assertLeaseHeld(): void;
}

type StoreState = Pick<StoreEntry, 'ready' | 'reason' | 'message'>;

const STORE_LABELS = { 'app.kubernetes.io/managed-by': 'tugboat' };

export function createSecretStores(options: SecretStoresOptions) {
  const clusterAccess = createClusterAccess({ connections: options.connections, eksAccess: options.eksAccess ?? createEksAccess() });
  // Its own installer: what is settled is kept per cluster and component list.
  const installer = options.installer ?? createComponentInstaller({ charts: options.charts });
  const killPoint = options.killPoint ?? noKillPoint;
  /** Per cluster uid and definition: what the store was last written from, so a recheck need not read the key again. */
  const written = new Map<string, string>();

  /** The clusters of the live apps that receive the secret, with their names. */
  async function receivingClusters(ctx: Ctx, secret: { project: string; name: string }): Promise<Map<string, string[]>> {
    const clusters = new Map<string, string[]>();
    const referrers = await ctx.api.referrers({ kind: 'SecretInstance', project: secret.project, name: secret.name }, { signal: ctx.signal });
    for (const referrer of referrers) {
      if (referrer.kind !== 'WorkloadInstance') continue;
      const workload = await ctx.api.get<{ clusterRef?: { name: string } }>({ kind: 'WorkloadInstance', project: referrer.project, name: referrer.name }, { signal: ctx.signal });
      const cluster = workload?.spec.clusterRef?.name;
      if (workload === undefined || workload.metadata.deletionRequestedAt !== null || cluster === undefined) continue;
      clusters.set(cluster, [...(clusters.get(cluster) ?? []), workload.metadata.name].sort());
    }
    return clusters;
  }

  /** Whether a live app on the cluster receives a secret of the definition other than `except`. */
  async function neededOn(ctx: Ctx, definition: string, cluster: string, except: { project: string; name: string }): Promise<boolean> {
    const secrets = await ctx.api.referrers({ kind: 'SecretDefinition', name: definition }, { signal: ctx.signal });
    for (const secret of secrets) {
      if (secret.kind !== 'SecretInstance' || (secret.project === except.project && secret.name === except.name)) continue;
      if ((await receivingClusters(ctx, { project: secret.project, name: secret.name })).has(cluster)) return true;
    }
    return false;
  }

  async function connect(ctx: Ctx, clusterName: string): Promise<{ cluster: ClusterResource; connection: ClusterConnection } | string> {
    const cluster = await ctx.api.get<Record<string, unknown>>({ kind: 'ClusterInstance', name: clusterName }, { signal: ctx.signal });
    if (cluster === undefined) return `ClusterInstance ${clusterName} does not exist`;
    if (cluster.status.phase !== 'Ready') {
      const why = cluster.status.conditions?.find((condition) => condition.type === 'Ready')?.message;
      return `ClusterInstance ${clusterName} is ${cluster.status.phase ?? 'Pending'}${why ? ` (${why})` : ''}`;
    }
    const resource = cluster as unknown as ClusterResource;
    return { cluster: resource, connection: await clusterAccess.connect(ctx.api, resource, ctx.signal) };
  }

  /** Installs the operator, writes the credentials and the store on the cluster, and says whether the operator found the store ready. */
  async function ensure(ctx: Ctx, clusterName: string, source: StoreSource): Promise<StoreState> {
    const definition = source.definition.metadata.name;
    const store = clusterSecretStoreName(definition);
    let clusterUid: string | undefined;
    try {
      const connected = await connect(ctx, clusterName);
      if (typeof connected === 'string') return { ready: false, reason: 'WaitingForCluster', message: connected };
      const { cluster, connection } = connected;
      clusterUid = cluster.metadata.uid;
      const component = externalSecretsComponent(EXTERNAL_SECRETS_NAMESPACE);
      const installed = await installer.ensureComponents(connection, cluster.metadata.uid, [component], ctx.signal, () => ctx.assertLeaseHeld());
      if (!installed.ready) return { ready: false, reason: installed.reason, message: `on cluster ${clusterName}: ${installed.message}` };
      const account = source.account;
      const fingerprint = JSON.stringify([account.metadata.uid, account.metadata.generation, source.definition.metadata.generation, source.region]);
      const key = `${cluster.metadata.uid}/${definition}`;
      const identity = { apiVersion: EXTERNAL_SECRETS_API, kind: 'ClusterSecretStore', metadata: { name: store } };
      let live = written.get(key) === fingerprint ? await connection.read<KubernetesObject>(identity, { signal: ctx.signal }) : undefined;
      if (live === undefined) {
        const withKeys = account.spec.accessKeyId !== undefined;
        if (withKeys) {
          const secretAccessKey = await source.secretAccessKey();
          if (secretAccessKey === undefined) return { ready: false, reason: 'AccountNotReady', message: `AwsAccount ${account.metadata.name} has no secretAccessKey for ClusterSecretStore ${store}` };
          ctx.assertLeaseHeld();
          await connection.apply(storeCredentialsManifest(definition, account.spec.accessKeyId!, secretAccessKey, STORE_LABELS) as KubernetesObject, { fieldManager: SUPPORT_FIELD_MANAGER, signal: ctx.signal });
        }
        const manifest = clusterSecretStoreManifest(
          definition,
          source.region,
          { withKeys, ...(account.spec.roleArn === undefined ? {} : { roleArn: account.spec.roleArn }), ...(account.spec.externalId === undefined ? {} : { externalId: account.spec.externalId }) },
          STORE_LABELS,
        );
        ctx.assertLeaseHeld();
        live = await connection.apply(manifest as KubernetesObject, { fieldManager: SUPPORT_FIELD_MANAGER, signal: ctx.signal });
        if (killPoint.pass('secret.after-store', 1) === 0) throw new KilledAtPoint('killed at secret.after-store');
        written.set(key, fingerprint);
        // The operator validates a new or changed store on its own time: read what it says now.
        live = (await connection.read<KubernetesObject>(identity, { signal: ctx.signal })) ?? live;
      }
      return storeState(live, store, clusterName);
    } catch (error) {
      if (error instanceof KilledAtPoint || ctx.signal.aborted) throw error;
      if (!isKubeClusterError(error)) {
        // The chart cannot be fetched or rendered (`@tugboat/helm` says why in `reason`).
        if (typeof (error as { reason?: unknown }).reason !== 'string') throw error;
        const reason = `Chart${(error as { reason: string }).reason.replace(/^Chart/, '')}`;
        return { ready: false, reason, message: `cannot render the External Secrets Operator's chart for cluster ${clusterName}: ${(error as Error).message}` };
      }
      if (clusterUid !== undefined) installer.forget(clusterUid);
      return { ready: false, reason: error.reason === 'Other' ? 'ApplyFailed' : 'ClusterUnavailable', message: `ClusterSecretStore ${store} on cluster ${clusterName}: ${error.message}` };
    }
  }

  /** Removes the definition's store and credentials from the cluster; the words when it cannot (it is tried again). */
  async function remove(ctx: Ctx, clusterName: string, definition: string): Promise<string | undefined> {
    try {
      const connected = await connect(ctx, clusterName);
      if (typeof connected === 'string') {
        // Gone: nothing left to clean. Not Ready: tried again on the next pass.
        return connected.endsWith('does not exist') ? undefined : `cannot remove ClusterSecretStore ${clusterSecretStoreName(definition)} yet: ${connected}`;
      }
      const { cluster, connection } = connected;
      written.delete(`${cluster.metadata.uid}/${definition}`);
      if ((await connection.isNamespaced(EXTERNAL_SECRETS_API, 'ClusterSecretStore', { signal: ctx.signal })) !== undefined) {
        ctx.assertLeaseHeld();
        await connection.delete({ apiVersion: EXTERNAL_SECRETS_API, kind: 'ClusterSecretStore', name: clusterSecretStoreName(definition) }, { signal: ctx.signal });
      }
      ctx.assertLeaseHeld();
      await connection.delete({ apiVersion: 'v1', kind: 'Secret', namespace: EXTERNAL_SECRETS_NAMESPACE, name: storeCredentialsName(definition) }, { signal: ctx.signal });
      return undefined;
    } catch (error) {
      if (!isKubeClusterError(error) || ctx.signal.aborted) throw error;
      return `cannot remove ClusterSecretStore ${clusterSecretStoreName(definition)} from cluster ${clusterName}: ${error.message}`;
    }
  }

  return { receivingClusters, neededOn, ensure, remove };
}

/** The store's state in the operator's words, with what an operator can do about it. */
export function storeState(live: KubernetesObject | undefined, store: string, clusterName: string): StoreState {
  const ready = externalSecretsReady(live);
  if (ready?.status === 'True') return { ready: true, reason: 'StoreReady', message: `ClusterSecretStore ${store} on cluster ${clusterName} is ready` };
  if (ready === undefined) return { ready: false, reason: 'StoreNotValidated', message: `ClusterSecretStore ${store} on cluster ${clusterName} is not validated by the External Secrets Operator yet` };
  const hint = ready.reason === 'InvalidProviderConfig' ? ': check the SecretDefinition\'s region and its AwsAccount\'s credentials (they must be allowed to call Secrets Manager)' : '';
  return { ready: false, reason: ready.reason ?? 'StoreNotReady', message: `ClusterSecretStore ${store} on cluster ${clusterName} is not ready: ${ready.message ?? ready.reason ?? 'the operator did not say why'}${hint}` };
}

export type SecretStores = ReturnType<typeof createSecretStores>;
