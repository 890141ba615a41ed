import { defineController, dependentsOf } from '@tugboat/controller-sdk';
import { INFRA_CONTROLLER } from '@tugboat/resource-model';
import type { EksClusterSpec, EksClusterStatus } from './eks-types.js';
import { createEksReconciler, type EksReconcilerOptions } from './reconcile-eks.js';

/**
 * The infra-controller's EksCluster declaration: provisions the network, IAM roles, cluster and
 * node groups, applies day-two changes and tears it all down on delete. An AwsAccount's status
 * change wakes the EksClusters that name it (a cluster waiting for its account starts at once).
 */
export function createEksClusterController(options: EksReconcilerOptions & { concurrency?: number } = {}) {
  const reconciler = createEksReconciler(options);
  return defineController<EksClusterSpec, EksClusterStatus>({
    name: INFRA_CONTROLLER,
    owns: 'EksCluster',
    watches: [{ kind: 'AwsAccount', map: dependentsOf('accountRef') }],
    concurrency: options.concurrency ?? 4,
    reconcile: reconciler.reconcile,
    finalize: reconciler.finalize,
  });
}
