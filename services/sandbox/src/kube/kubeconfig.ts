import YAML from 'yaml';

export interface KubeconfigCluster {
  name: string;
  token: string;
}

/**
 * A kubeconfig with one context per cluster, each reaching `${baseUrl}/k8s/${name}` with its bearer
 * token. For a plain-HTTP base URL each cluster carries `insecure-skip-tls-verify: true`:
 * @kubernetes/client-node 2.x refuses an `http:` server without it, and kubectl ignores it there.
 */
export function renderKubeconfig(baseUrl: string, clusters: KubeconfigCluster[], basePath = '/k8s'): string {
  const root = baseUrl.replace(/\/+$/, '');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: clusters.map((cluster) => ({
      name: cluster.name,
      cluster: { server: `${root}${basePath}/${encodeURIComponent(cluster.name)}`, ...(root.startsWith('http:') ? { 'insecure-skip-tls-verify': true } : {}) },
    })),
    users: clusters.map((cluster) => ({ name: cluster.name, user: { token: cluster.token } })),
    contexts: clusters.map((cluster) => ({ name: cluster.name, context: { cluster: cluster.name, user: cluster.name, namespace: 'default' } })),
    'current-context': clusters[0]?.name ?? '',
    preferences: {},
  };
  return YAML.stringify(config);
}
