/** An in-memory `ClusterRegistry` for tests of the AWS half: records what the EKS stand-in asks of it. */
import type { ClusterRegistry, KubeNode } from '../cluster-registry.js';

export interface FakeClusterRegistry extends ClusterRegistry {
  clusters: Map<string, { nodes: KubeNode[] }>;
  calls: string[];
}

export function createFakeClusterRegistry(): FakeClusterRegistry {
  const clusters = new Map<string, { nodes: KubeNode[] }>();
  const calls: string[] = [];
  return {
    clusters,
    calls,
    addCluster(name, options) {
      calls.push(`add ${name} nodes=${options?.nodes?.length ?? 0}`);
      clusters.set(name, { nodes: options?.nodes ?? [] });
    },
    removeCluster(name) {
      calls.push(`remove ${name}`);
      clusters.delete(name);
    },
    listClusters: () => [...clusters.entries()].map(([name, value]) => ({ name, nodes: value.nodes.length })),
    kubeconfig: (baseUrl, names) =>
      [...clusters.keys()]
        .filter((name) => names === undefined || names.includes(name))
        .map((name) => `- context: ${name}\n  server: ${baseUrl}/k8s/${name}\n`)
        .join(''),
    handler(_req, res) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"kind":"Status","code":404}');
    },
    snapshot: () => Object.fromEntries(clusters),
    restore(data) {
      clusters.clear();
      for (const [name, value] of Object.entries(data as Record<string, { nodes: KubeNode[] }>)) clusters.set(name, value);
    },
    reset() {
      clusters.clear();
      calls.push('reset');
    },
  };
}
