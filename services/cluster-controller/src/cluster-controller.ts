import { defineController, dependentsOf } from '@tugboat/controller-sdk';
import type { ClusterSpec, ClusterStatus } from './cluster-types.js';
import { createClusterReconciler, type ClusterReconcilerOptions } from './reconcile-cluster.js';

export const CLUSTER_CONTROLLER = 'cluster-controller';

/** The cluster-controller's declaration: owns ClusterInstance, re-checks when its definition changes. */
export function createClusterController(options: ClusterReconcilerOptions & { concurrency?: number }) {
  const reconciler = createClusterReconciler(options);
  return defineController<ClusterSpec, ClusterStatus>({
    name: CLUSTER_CONTROLLER,
    owns: 'ClusterInstance',
    watches: [{ kind: 'ClusterDefinition', map: dependentsOf('definitionRef') }],
    concurrency: options.concurrency ?? 4,
    reconcile: reconciler.reconcile,
    finalize: reconciler.finalize,
  });
}
