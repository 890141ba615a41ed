import { defineController, type MapContext } from '@tugboat/controller-sdk';
import type { ApplicationSpec } from '@tugboat/applications';
import { APPLICATION, APPLICATION_LABELS, isErrorCode, type ChangeEvent, type ResourceKey } from '@tugboat/resource-model';
import { createApplicationReconciler, type ApplicationReconcilerOptions, type ApplicationStatus } from './reconcile-application.js';
import { WORKLOAD_CONTROLLER } from './workload-controller.js';

/**
 * The Application's declaration, run by the workload-controller beside its WorkloadInstance one:
 * a cluster's labels changing (joining or leaving a tier) re-expands the Applications that may
 * target it; the status of a workload or database it owns changing refreshes its tree.
 */
export function createApplicationController(options: ApplicationReconcilerOptions & { resyncEveryMs?: number }) {
  const reconciler = createApplicationReconciler(options);
  return defineController<ApplicationSpec, ApplicationStatus>({
    name: WORKLOAD_CONTROLLER,
    owns: APPLICATION.kind,
    watches: [
      { kind: 'ClusterInstance', on: 'spec', map: applicationsTargeting },
      { kind: 'WorkloadInstance', map: ownerApplication },
      // Shares the WorkloadInstance declaration's consumer. A secret's value arriving shows in its
      // workload's status (which wakes the Application); the requeue while not Ready covers the rest.
      { kind: 'DatabaseInstance', map: ownerApplication },
      // A Rollout proposed, approved, rejected or superseded: the tiers' delivery and PendingApproval.
      { kind: 'Rollout', map: ownerApplication },
    ],
    ...(options.resyncEveryMs === undefined ? {} : { resyncEveryMs: options.resyncEveryMs }),
    reconcile: reconciler.reconcile,
    finalize: reconciler.finalize,
  });
}

/** Every Application with a tier target, or naming the cluster: its labels may have changed what they target. */
async function applicationsTargeting(event: ChangeEvent, ctx: MapContext): Promise<ResourceKey[]> {
  const keys: ResourceKey[] = [];
  for await (const app of ctx.api.listAll<ApplicationSpec>(APPLICATION.kind, { signal: ctx.signal })) {
    if (app.spec.targets.some((t) => t.tier !== undefined || t.clusters?.some((c) => c.name === event.name))) {
      keys.push({ kind: APPLICATION.kind, project: app.metadata.project, name: app.metadata.name });
    }
  }
  return keys;
}

/** The Application that owns the changed object (by its label), if any. */
async function ownerApplication(event: ChangeEvent, ctx: MapContext): Promise<ResourceKey[]> {
  // Only its labels are read: from the cache for a WorkloadInstance (the workload declaration keeps
  // it by desired state, which is where labels change), from the API for the other kinds.
  const obj = await ctx.cache.get({ kind: event.kind, project: event.project, name: event.name }, { signal: ctx.signal }).catch((error: unknown) => {
    if (isErrorCode(error, 'NotFound')) return undefined;
    throw error;
  });
  const owner = obj?.metadata.labels?.[APPLICATION_LABELS.application];
  return owner === undefined ? [] : [{ kind: APPLICATION.kind, project: event.project, name: owner }];
}
