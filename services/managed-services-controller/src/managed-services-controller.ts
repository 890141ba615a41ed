import { defineController, dependentsOf } from '@tugboat/controller-sdk';
import { MANAGED_SERVICES_CONTROLLER } from '@tugboat/resource-model';
import type { DatabaseInstanceSpec, DatabaseInstanceStatus } from './database-types.js';
import { createDatabaseReconciler, type DatabaseReconcilerOptions } from './reconcile-database.js';

const byClusterRef = dependentsOf('clusterRef');

/**
 * The managed-services-controller's DatabaseInstance declaration. Woken by what it waits on: the
 * EksCluster of the ClusterInstance it names (same name: the cluster-controller writes one per eks
 * ClusterInstance), an AwsAccount it names directly (`spec.network.accountRef`), and a change of its
 * DatabaseDefinition (rolled out to its instances). A requeue is the fallback for the rest (an
 * account reached through a cluster).
 */
export function createDatabaseController(options: DatabaseReconcilerOptions & { concurrency?: number } = {}) {
  const reconciler = createDatabaseReconciler(options);
  return defineController<DatabaseInstanceSpec, DatabaseInstanceStatus>({
    name: MANAGED_SERVICES_CONTROLLER,
    owns: 'DatabaseInstance',
    watches: [
      { kind: 'EksCluster', map: (event, ctx) => byClusterRef({ ...event, kind: 'ClusterInstance', project: '' }, ctx) },
      { kind: 'AwsAccount', map: dependentsOf('network.accountRef') },
      { kind: 'DatabaseDefinition', on: 'spec', map: dependentsOf('definitionRef') },
    ],
    concurrency: options.concurrency ?? 4,
    reconcile: reconciler.reconcile,
    finalize: reconciler.finalize,
  });
}
