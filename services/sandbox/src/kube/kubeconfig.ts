import YAML from 'yaml';

export interface KubeconfigCluster {
  name: string;
  token: string;
}

/**
 * A kubeconfig with one context per cluster, each reaching `${baseUrl}/k8s/${name}` with its bearer
 * token. An `https:` base URL gets `certificate-authority-data` (when a CA is given); a plain-HTTP
 * one gets `insecure-skip-tls-verify: true`, without which @kubernetes/client-node 2.x refuses an
 * `http:` server (kubectl ignores it there).
 */
export function renderKubeconfig(baseUrl: string, clusters: KubeconfigCluster[], basePath = '/k8s', caPem?: string): string {
  const root = baseUrl.replace(/\/+$/, '');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: clusters.map((cluster) => ({
      name: cluster.name,
      cluster: {
        server: `${root}${basePath}/${encodeURIComponent(cluster.name)}`,
        ...(root.startsWith('http:') ? { 'insecure-skip-tls-verify': true } : {}),
        ...(root.startsWith('https:') && caPem !== undefined ? { 'certificate-authority-data': Buffer.from(caPem).toString('base64') } : {}),
      },
    })),
    users: clusters.map((cluster) => ({ name: cluster.name, user: { token: cluster.token } })),
    contexts: clusters.map((cluster) => ({ name: cluster.name, context: { cluster: cluster.name, user: cluster.name, namespace: 'default' } })),
    'current-context': clusters[0]?.name ?? '',
    preferences: {},
  };
  return YAML.stringify(config);
}
