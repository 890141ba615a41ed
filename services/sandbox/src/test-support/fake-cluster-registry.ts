/**
 * An in-memory `ClusterRegistry` for tests of the AWS half: records what the EKS stand-in asks of
 * it, and answers `GET /k8s/{cluster}/api` when the request carries the cluster's bearer token.
 */
import { randomUUID } from 'node:crypto';
import type { ClusterRegistry, KubeNode } from '../cluster-registry.js';

export interface FakeClusterRegistry extends ClusterRegistry {
  clusters: Map<string, { nodes: KubeNode[]; token: string }>;
  calls: string[];
  /** The sandbox's hook for tokens other than a cluster's own (EKS tokens). */
  verifyToken?: (clusterName: string, token: string) => boolean;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function createFakeClusterRegistry(): FakeClusterRegistry {
  const clusters = new Map<string, { nodes: KubeNode[]; token: string }>();
  const calls: string[] = [];
  const registry: FakeClusterRegistry = {
    clusters,
    calls,
    addCluster(name, options) {
      if (!DNS_LABEL.test(name) || name.length > 63) throw new RangeError(`cluster name ${name} must be a DNS label`);
      calls.push(`add ${name} nodes=${options?.nodes?.length ?? 0}`);
      const existing = clusters.get(name);
      clusters.set(name, { nodes: options?.nodes ?? existing?.nodes ?? [], token: options?.token ?? existing?.token ?? randomUUID() });
    },
    rescheduleTimers() {
      calls.push('reschedule');
    },
    removeCluster(name) {
      calls.push(`remove ${name}`);
      clusters.delete(name);
    },
    listClusters: () => [...clusters.entries()].map(([name, value]) => ({ name, token: value.token, nodes: value.nodes.length })),
    kubeconfig: (baseUrl, names) =>
      [...clusters.keys()]
        .filter((name) => names === undefined || names.includes(name))
        .map((name) => `- context: ${name}\n  server: ${baseUrl}/k8s/${name}\n`)
        .join(''),
    handler(req, res) {
      const [, name, ...rest] = (req.url ?? '').split('?')[0]!.split('/');
      const cluster = clusters.get(name ?? '');
      const answer = (code: number, body: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (!cluster) return answer(404, { kind: 'Status', code: 404 });
      const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (bearer !== cluster.token && !(registry.verifyToken?.(name ?? '', bearer) ?? false)) {
        return answer(401, { kind: 'Status', code: 401, reason: 'Unauthorized' });
      }
      if (rest.join('/') === 'api') return answer(200, { kind: 'APIVersions', versions: ['v1'] });
      return answer(404, { kind: 'Status', code: 404 });
    },
    snapshot: () => Object.fromEntries(clusters),
    restore(data) {
      clusters.clear();
      for (const [name, value] of Object.entries(data as Record<string, { nodes: KubeNode[]; token: string }>)) clusters.set(name, value);
    },
    reset() {
      clusters.clear();
      calls.push('reset');
    },
  };
  return registry;
}
