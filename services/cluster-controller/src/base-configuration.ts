import type { KubernetesObject } from '@tugboat/kube';

export const FIELD_MANAGER = 'tugboat-cluster';
export const SYSTEM_NAMESPACE = 'tugboat-system';
export const SERVICE_ACCOUNT = 'tugboat';
/** Cluster-scoped names carry the namespace so they cannot collide with a team's own `tugboat` role. */
export const CLUSTER_ROLE = 'tugboat-system:tugboat';

/** What Tugboat installs on every cluster it manages, in the order it is applied. */
export function baseConfiguration(clusterName: string): KubernetesObject[] {
  const labels = { 'app.kubernetes.io/managed-by': 'tugboat', 'tugboat.dev/cluster': clusterName };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SYSTEM_NAMESPACE, labels } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SERVICE_ACCOUNT, namespace: SYSTEM_NAMESPACE, labels } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: CLUSTER_ROLE, labels },
      // The workload-controller applies whatever a WorkloadDefinition's manifests hold (custom
      // resources included), so Tugboat's identity on the cluster needs every verb on every type.
      rules: [
        { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
        { nonResourceURLs: ['*'], verbs: ['*'] },
      ],
    } as KubernetesObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: CLUSTER_ROLE, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CLUSTER_ROLE },
      subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: SYSTEM_NAMESPACE }],
    } as KubernetesObject,
  ];
}

/**
 * What finalize deletes, in order: the binding before the role it grants, then the namespace
 * (which takes the ServiceAccount with it).
 */
export function baseConfigurationForRemoval(clusterName: string): KubernetesObject[] {
  const [namespace, , role, binding] = baseConfiguration(clusterName);
  return [binding!, role!, namespace!];
}
