import { defineController, dependentsOf } from '@tugboat/controller-sdk';
import type { ClusterSpec, ClusterStatus } from './cluster-types.js';
import { createClusterReconciler, type ClusterReconcilerOptions } from './reconcile-cluster.js';

export const CLUSTER_CONTROLLER = 'cluster-controller';

/** The cluster-controller's declaration: owns ClusterInstance, re-checks when its definition or its EksCluster's status changes. */
export function createClusterController(options: ClusterReconcilerOptions & { concurrency?: number }) {
  const reconciler = createClusterReconciler(options);
  return defineController<ClusterSpec, ClusterStatus>({
    name: CLUSTER_CONTROLLER,
    owns: 'ClusterInstance',
    watches: [
      { kind: 'ClusterDefinition', map: dependentsOf('definitionRef') },
      // An eks cluster's EksCluster (same name, owned by it) reports the infra-controller's progress.
      { kind: 'EksCluster', map: (event) => [{ kind: 'ClusterInstance', project: '', name: event.name }] },
    ],
    concurrency: options.concurrency ?? 4,
    reconcile: reconciler.reconcile,
    finalize: reconciler.finalize,
  });
}
