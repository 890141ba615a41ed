/**
 * How a client reaches an EKS cluster Tugboat knows: its endpoint and certificate authority (the
 * EksCluster's outputs, copied to its ClusterInstance) and an EKS token signed with the cluster's
 * AwsAccount credentials, renewed before it expires. The cluster-controller and the
 * workload-controller both connect this way; `@tugboat/kube` takes the result as it is.
 */
import { createAccountCredentials, type AccountCredentials, type AccountRef, type SecretReader } from './account.js';
import { createEksTokenSource } from './eks-token.js';

/** What a client needs to know about the cluster (all in an EksCluster's `status.outputs`). */
export interface EksEndpoint {
  clusterName: string;
  region: string;
  endpoint: string;
  /** Base64 of the CA bundle (PEM), as DescribeCluster's `certificateAuthority.data`. */
  certificateAuthority: string;
}

/** What `@tugboat/kube`'s `connect` takes besides the cluster's uid. */
export interface EksConnectionInput {
  kubeconfig: string;
  bearerToken: () => Promise<string>;
  credentialsKey: string;
}

/** A kubeconfig with the cluster and no user credentials (the bearer token is added per request). */
export function eksKubeconfig(cluster: EksEndpoint): string {
  // EKS endpoints are https and verified against the cluster's CA. Only a stand-in (the sandbox)
  // serves plain http, where there is no certificate to verify: the client library wants that said.
  const plainHttp = cluster.endpoint.startsWith('http://');
  const server = plainHttp ? { server: cluster.endpoint, 'insecure-skip-tls-verify': true } : { server: cluster.endpoint, 'certificate-authority-data': cluster.certificateAuthority };
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster.clusterName, cluster: server }],
    users: [{ name: 'eks', user: {} }],
    contexts: [{ name: cluster.clusterName, context: { cluster: cluster.clusterName, user: 'eks' } }],
    'current-context': cluster.clusterName,
  });
}

export interface EksAccessOptions {
  credentials?: AccountCredentials;
  requestTimeoutMs?: number;
  /** A token is replaced once this old (EKS takes one for 15 minutes). Default 10 minutes. */
  refreshTokenAfterMs?: number;
}

export function createEksAccess(options: EksAccessOptions = {}) {
  const credentials = options.credentials ?? createAccountCredentials(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs });
  const sources = new Map<string, () => Promise<string>>();
  return {
    credentials,
    /** The connection input for `cluster` with `account`'s credentials; token sources are kept per cluster and account generation. */
    connection(cluster: EksEndpoint, account: AccountRef, readSecrets: SecretReader): EksConnectionInput {
      const credentialsKey = `${account.uid}:${account.generation}:${cluster.region}:${cluster.clusterName}`;
      let bearerToken = sources.get(credentialsKey);
      if (bearerToken === undefined) {
        bearerToken = createEksTokenSource({
          clusterName: cluster.clusterName,
          region: cluster.region,
          credentials: () => credentials.get(account, readSecrets),
          ...(account.spec.endpoint ? { stsEndpoint: account.spec.endpoint } : {}),
          ...(options.refreshTokenAfterMs === undefined ? {} : { refreshAfterMs: options.refreshTokenAfterMs }),
        });
        for (const key of sources.keys()) if (key.endsWith(`:${cluster.region}:${cluster.clusterName}`)) sources.delete(key);
        sources.set(credentialsKey, bearerToken);
      }
      return { kubeconfig: eksKubeconfig(cluster), bearerToken, credentialsKey };
    },
  };
}

export type EksAccess = ReturnType<typeof createEksAccess>;

/** The EKS endpoint in a cluster's outputs, when they hold a whole one. */
export function eksEndpointOf(outputs: Record<string, unknown> | undefined): EksEndpoint | undefined {
  if (outputs === undefined) return undefined;
  const { clusterName, region, endpoint, certificateAuthority } = outputs;
  if (typeof clusterName !== 'string' || typeof region !== 'string' || typeof endpoint !== 'string' || typeof certificateAuthority !== 'string') return undefined;
  return { clusterName, region, endpoint, certificateAuthority };
}
