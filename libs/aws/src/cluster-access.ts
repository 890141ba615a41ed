/**
 * How a controller reaches a ClusterInstance's Kubernetes API: with the kubeconfig in its spec (a
 * secret field, read through the API's audited route once per spec generation), or, for an eks
 * cluster, with its endpoint and CA from the ClusterInstance's outputs and an EKS token signed
 * with its AwsAccount's credentials. Shared by every controller that delivers into clusters.
 */
import type { ApiClient } from '@tugboat/api-client';
import { KubeClusterError, type ClusterConnection, type ClusterConnections } from '@tugboat/kube';
import type { Resource, ResourceStatus } from '@tugboat/resource-model';
import type { AwsAccountSpec } from './account.js';
import { eksEndpointOf, type EksAccess } from './eks-access.js';

/** What a ClusterInstance's spec says about reaching it (the schema's other fields do not matter here). */
export interface ClusterAccessSpec {
  /** The kubeconfig context to use; its current-context when absent. */
  context?: string;
  /** Set for an eks cluster: the account whose credentials sign the EKS token. */
  accountRef?: { name: string };
}

export type ClusterResource = Resource<ClusterAccessSpec, ResourceStatus>;

export interface ClusterAccess {
  /** The connection (cached by the connection set per cluster uid); a KubeClusterError says why there is none. */
  connect(api: Pick<ApiClient, 'get' | 'readSecrets'>, cluster: ClusterResource, signal: AbortSignal): Promise<ClusterConnection>;
}

export function createClusterAccess(options: { connections: ClusterConnections; eksAccess: EksAccess }): ClusterAccess {
  /** Per cluster uid: its kubeconfig at a spec generation (the kubeconfig is in the spec), so a reconcile need not read it again. */
  const kubeconfigs = new Map<string, { generation: number; kubeconfig: string }>();

  async function eksConnection(api: Pick<ApiClient, 'get' | 'readSecrets'>, cluster: ClusterResource, accountName: string, signal: AbortSignal): Promise<ClusterConnection> {
    const endpoint = eksEndpointOf(cluster.status.outputs);
    if (endpoint === undefined) {
      throw new KubeClusterError(`ClusterInstance ${cluster.metadata.name} has no EKS endpoint yet (its EksCluster is not provisioned)`, { reason: 'InvalidKubeconfig' });
    }
    const accountKey = { kind: 'AwsAccount', name: accountName };
    const account = await api.get<AwsAccountSpec>(accountKey, { signal });
    if (account === undefined) throw new KubeClusterError(`AwsAccount ${accountName} does not exist: no credentials to sign an EKS token with`, { reason: 'Unauthorized', endpoint: endpoint.endpoint });
    const input = options.eksAccess.connection(
      endpoint,
      { uid: account.metadata.uid, generation: account.metadata.generation, name: account.metadata.name, spec: account.spec },
      (tokenSignal) => api.readSecrets(accountKey, { signal: tokenSignal ?? AbortSignal.timeout(15_000) }),
    );
    return options.connections.connect({ uid: cluster.metadata.uid, ...input });
  }

  return {
    async connect(api, cluster, signal) {
      if (cluster.spec.accountRef !== undefined) return eksConnection(api, cluster, cluster.spec.accountRef.name, signal);
      const cached = kubeconfigs.get(cluster.metadata.uid);
      let kubeconfig: unknown = cached?.generation === cluster.metadata.generation ? cached.kubeconfig : undefined;
      if (kubeconfig === undefined) {
        kubeconfig = (await api.readSecrets({ kind: 'ClusterInstance', name: cluster.metadata.name }, { signal }))['kubeconfig'];
        if (typeof kubeconfig === 'string') kubeconfigs.set(cluster.metadata.uid, { generation: cluster.metadata.generation, kubeconfig });
      }
      if (typeof kubeconfig !== 'string' || kubeconfig.length === 0) {
        throw new KubeClusterError(`ClusterInstance ${cluster.metadata.name} has no kubeconfig`, { reason: 'InvalidKubeconfig' });
      }
      return options.connections.connect({ uid: cluster.metadata.uid, kubeconfig, ...(cluster.spec.context ? { context: cluster.spec.context } : {}) });
    },
  };
}
