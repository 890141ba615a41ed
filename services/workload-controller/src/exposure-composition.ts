/**
 * A WorkloadInstance with `spec.expose` is reached through an `Exposure` of the same project and
 * name, which the workload-controller writes (owned by the instance, so the API deletes it with
 * the instance) and the support-services-controller delivers and reports (route, certificate, DNS
 * records, url). Removing `spec.expose` deletes the Exposure, and with it what it made.
 */
import type { ReconcileContext } from '@tugboat/controller-sdk';
import { isErrorCode, sameJson, type Resource, type ResourceStatus } from '@tugboat/resource-model';
import { EXPOSURE_LABELS, type ExposureSpec, type WorkloadInstanceSpec } from '@tugboat/workloads';

export const EXPOSURE_KIND = 'Exposure';


export type ExposureResource = Resource<ExposureSpec, ResourceStatus>;

/** What composing needs of a reconcile: the API, its signal and the lease check. */
type ComposeContext = Pick<ReconcileContext, 'api' | 'cache' | 'signal' | 'assertLeaseHeld'>;

/** The Exposure an instance asks for, or `undefined` when it asks for none. */
export function desiredExposure(name: string, spec: WorkloadInstanceSpec, namespace: string): ExposureSpec | undefined {
  const expose = spec.expose;
  if (expose === undefined) return undefined;
  return {
    workload: name,
    clusterRef: { name: spec.clusterRef.name },
    namespace,
    domainRef: { name: expose.domainRef.name },
    gatewayRef: { name: expose.gatewayRef.name },
    host: expose.host ?? name,
    service: expose.service ?? name,
    port: expose.port,
    ...(expose.path === undefined ? {} : { path: expose.path }),
    ...(expose.tls === undefined ? {} : { tls: expose.tls }),
  };
}

/** Whether the Exposure is this instance's: owned by the WorkloadInstance of that name (and uid, once known). */
function ownedBy(exposure: ExposureResource, obj: Resource<WorkloadInstanceSpec>): boolean {
  return (exposure.metadata.ownerReferences ?? []).some(
    (owner) => owner.kind === 'WorkloadInstance' && owner.name === obj.metadata.name && (owner.uid === undefined || owner.uid === obj.metadata.uid),
  );
}

/** What became of the instance's exposure, for a log line; a conflict or race is settled by the next reconcile. */
export type ExposureOutcome = 'none' | 'unchanged' | 'created' | 'updated' | 'deleted' | 'taken' | 'retry';

/**
 * Makes the instance's Exposure match its `spec.expose`: created, replaced, or deleted (an
 * Exposure of the same name that the instance does not own is left alone: `taken`).
 */
export async function composeExposure(ctx: ComposeContext, obj: Resource<WorkloadInstanceSpec>, namespace: string): Promise<ExposureOutcome> {
  const key = { kind: EXPOSURE_KIND, project: obj.metadata.project, name: obj.metadata.name };
  const desired = desiredExposure(obj.metadata.name, obj.spec, namespace);
  // Nothing asked for and none there (the names of every Exposure, kept by the read cache): no read at all.
  if (desired === undefined && !(await ctx.cache.mayExist(key, { signal: ctx.signal }))) return 'none';
  // From the read cache: nearly always unchanged (or absent). A stale answer costs a 409 and a retry;
  // the writes below make the cache forget it.
  const current = await ctx.cache.get<ExposureSpec>(key, { signal: ctx.signal });
  // Labelled with its cluster and gateway: the support-services-controller lists a gateway's exposures on a cluster by them.
  const labels: Record<string, string> = desired === undefined ? {} : { [EXPOSURE_LABELS.cluster]: desired.clusterRef.name, [EXPOSURE_LABELS.gateway]: desired.gatewayRef.name };
  const metadata = { name: obj.metadata.name, project: obj.metadata.project, labels, ownerReferences: [{ kind: 'WorkloadInstance', name: obj.metadata.name }] };
  try {
    if (desired === undefined) {
      if (current === undefined || !ownedBy(current, obj)) return 'none';
      if (current.metadata.deletionRequestedAt !== null) return 'unchanged';
      ctx.assertLeaseHeld();
      await ctx.api.delete(key, { signal: ctx.signal });
      return 'deleted';
    }
    if (current === undefined) {
      ctx.assertLeaseHeld();
      await ctx.api.create<ExposureSpec>({ kind: EXPOSURE_KIND, metadata, spec: desired }, { signal: ctx.signal });
      return 'created';
    }
    if (!ownedBy(current, obj)) return 'taken';
    // Still going away (the exposure was removed and given again): made anew once it is gone.
    if (current.metadata.deletionRequestedAt !== null) return 'retry';
    if (sameJson(current.spec, desired) && sameJson(current.metadata.labels ?? {}, labels)) return 'unchanged';
    ctx.assertLeaseHeld();
    await ctx.api.replace<ExposureSpec>({ kind: EXPOSURE_KIND, metadata: { ...metadata, resourceVersion: current.metadata.resourceVersion }, spec: desired }, { signal: ctx.signal });
    return 'updated';
  } catch (error) {
    // Made, changed or deleted in the meantime (another replica, a lost answer): the next reconcile sees it.
    if (isErrorCode(error, 'Conflict') || isErrorCode(error, 'NotFound')) return 'retry';
    throw error;
  }
}

/** The instance's Exposure while it is going away (the instance is being deleted), or `undefined` once gone. */
export async function exposureLeaving(ctx: ComposeContext, obj: Resource<WorkloadInstanceSpec>): Promise<ExposureResource | undefined> {
  const exposure = await ctx.api.get<ExposureSpec>({ kind: EXPOSURE_KIND, project: obj.metadata.project, name: obj.metadata.name }, { signal: ctx.signal });
  if (exposure === undefined || !ownedBy(exposure, obj)) return undefined;
  if (exposure.metadata.deletionRequestedAt === null) {
    ctx.assertLeaseHeld();
    await ctx.api.delete({ kind: EXPOSURE_KIND, project: obj.metadata.project, name: obj.metadata.name }, { signal: ctx.signal }).catch((error: unknown) => {
      if (!isErrorCode(error, 'NotFound')) throw error;
    });
  }
  return exposure;
}
