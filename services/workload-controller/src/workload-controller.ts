import { defineController, dependentsOf, type MapContext } from '@tugboat/controller-sdk';
import { isErrorCode, type ChangeEvent, type ResourceKey } from '@tugboat/resource-model';
import type { WorkloadInstanceSpec } from '@tugboat/workloads';
import { createWorkloadReconciler, type WorkloadReconcilerOptions } from './reconcile-workload.js';
import type { WorkloadStatus } from './workload-types.js';

export const WORKLOAD_CONTROLLER = 'workload-controller';

/**
 * The workload-controller's declaration: owns WorkloadInstance; a change of its ClusterInstance
 * (Ready or not) or of its WorkloadDefinition (a new generation rolls out) reconciles it at once.
 */
export function createWorkloadController(options: WorkloadReconcilerOptions & { concurrency?: number; resyncEveryMs?: number }) {
  const reconciler = createWorkloadReconciler(options);
  return defineController<WorkloadInstanceSpec, WorkloadStatus>({
    name: WORKLOAD_CONTROLLER,
    owns: 'WorkloadInstance',
    watches: [
      { kind: 'ClusterInstance', map: dependentsOf('clusterRef') },
      // Nothing reconciles a definition and writes its status: its spec changes are what roll out.
      { kind: 'WorkloadDefinition', on: 'spec', map: dependentsOf('definitionRef') },
      // A database it uses turning Ready (or getting a new password) wakes the app.
      { kind: 'DatabaseInstance', map: dependentsOf('databases[].ref') },
      // A secret it receives getting a (new) value rolls the app.
      { kind: 'SecretInstance', on: 'spec', map: dependentsOf('secrets[].ref') },
      // Its cluster's metrics and logs stack coming up (the ServiceMonitor kind, the collector's namespaces).
      { kind: 'ObservabilityInstance', map: workloadsOnStackCluster },
    ],
    // Read on every reconcile and rarely changed: answered from memory, kept current by their events.
    // Its own kind by desired state only: the Application declaration maps its status changes to an
    // owner by label, and the SDK's read of the instance before each reconcile keeps it there.
    // Exposures by desired state only too: composing one reads its spec, labels and owner, never its status.
    cache: ['WorkloadDefinition', 'ClusterInstance', { kind: 'Exposure', on: 'spec' }, 'ObservabilityInstance', 'ObservabilityDefinition', { kind: 'WorkloadInstance', on: 'spec' }],
    concurrency: options.concurrency ?? 8,
    ...(options.resyncEveryMs === undefined ? {} : { resyncEveryMs: options.resyncEveryMs }),
    reconcile: reconciler.reconcile,
    finalize: reconciler.finalize,
  });
}

/** The workloads on the cluster of a changed ObservabilityInstance (its cluster's referrers). */
async function workloadsOnStackCluster(event: ChangeEvent, ctx: MapContext): Promise<ResourceKey[]> {
  const stack = await ctx.api.get<{ clusterRef: { name: string } }>({ kind: event.kind, project: '', name: event.name }, { signal: ctx.signal });
  if (stack === undefined) return [];
  const referrers = await ctx.api.referrers({ kind: 'ClusterInstance', project: '', name: stack.spec.clusterRef.name }, { signal: ctx.signal }).catch((error: unknown) => {
    if (isErrorCode(error, 'NotFound')) return [];
    throw error;
  });
  return referrers.filter((referrer) => referrer.kind === 'WorkloadInstance').map((referrer) => ({ kind: referrer.kind, project: referrer.project, name: referrer.name }));
}
