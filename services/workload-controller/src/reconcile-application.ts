/**
 * The Application's owner: it reports the tree of what the Application owns (per cluster, per
 * component, the first thing that is not Ready and why), asks the API to expand it again when the
 * expansion no longer matches the platform (a cluster joined or left a tier, a database waited for
 * its workload to go), and while the Application is being deleted shows which removal step it is
 * at, letting its finalizer go once nothing it owns is left. The API does every write of the
 * owned objects (in one transaction, through `POST …/expand`); this only reads and asks.
 */
import type { ReconcileContext, ReconcileResult } from '@tugboat/controller-sdk';
import {
  applicationStatusTree,
  expandApplication,
  type ApplicationSpec,
  type ApplicationStatusFields,
  type ClusterCandidate,
  type Expansion,
} from '@tugboat/applications';
import { APPLICATION_LABELS, isTugboatError, type Condition, type Resource, type ResourceKey, type ResourceStatus } from '@tugboat/resource-model';

export type ApplicationStatus = ResourceStatus & ApplicationStatusFields & { expandError?: string };
type Ctx = ReconcileContext<ApplicationStatus>;
type Application = Resource<ApplicationSpec, ApplicationStatus>;
type Owned = Resource<Record<string, unknown>, ResourceStatus>;

/** What the Application owns, in the order they are removed: workloads (and their exposures) first. */
export const OWNED_KINDS = ['WorkloadInstance', 'DatabaseInstance', 'SecretInstance'] as const;

export interface ApplicationReconcilerOptions {
  /** How soon an Application whose objects are not all Ready (or are being removed) is looked at again. */
  progressingRequeueMs: number;
  /** How soon an expansion the API refused is tried again. */
  degradedRetryMs: number;
}

const keyOf = (obj: Application): ResourceKey => ({ kind: obj.kind, project: obj.metadata.project, name: obj.metadata.name });

/**
 * Whether the API should expand it again: a wanted object is missing, or one it no longer wants is
 * not being deleted yet and nothing it owns on that cluster still uses it.
 */
export function needsExpansion(expansion: Expansion, owned: readonly Owned[]): boolean {
  const present = new Set(owned.map((o) => `${o.kind}/${o.metadata.name}`));
  if (expansion.children.some((c) => !present.has(`${c.kind}/${c.name}`))) return true;
  const wanted = new Set(expansion.children.map((c) => `${c.kind}/${c.name}`));
  const unwanted = owned.filter((o) => !wanted.has(`${o.kind}/${o.metadata.name}`) && !o.metadata.deletionRequestedAt);
  const workloadClusters = new Set(owned.filter((o) => o.kind === 'WorkloadInstance' && !wanted.has(`${o.kind}/${o.metadata.name}`)).map((o) => o.metadata.labels?.[APPLICATION_LABELS.cluster]));
  return unwanted.some((o) => o.kind === 'WorkloadInstance' || !workloadClusters.has(o.metadata.labels?.[APPLICATION_LABELS.cluster]));
}

export function createApplicationReconciler(options: ApplicationReconcilerOptions) {
  async function clusterCandidates(ctx: Ctx): Promise<ClusterCandidate[]> {
    const clusters: ClusterCandidate[] = [];
    for await (const cluster of ctx.api.listAll('ClusterInstance', { signal: ctx.signal })) {
      clusters.push({ name: cluster.metadata.name, labels: cluster.metadata.labels ?? {}, deleting: cluster.metadata.deletionRequestedAt !== undefined && cluster.metadata.deletionRequestedAt !== null });
    }
    return clusters;
  }

  /** The objects it owns (by label, checked against the owner reference's uid). */
  async function ownedObjects(ctx: Ctx, app: Application): Promise<Owned[]> {
    const owned: Owned[] = [];
    for (const kind of OWNED_KINDS) {
      const page = ctx.api.listAll(kind, { project: app.metadata.project, labelSelector: { [APPLICATION_LABELS.application]: app.metadata.name }, signal: ctx.signal });
      for await (const obj of page) if (obj.metadata.ownerReferences?.some((o) => o.uid === app.metadata.uid)) owned.push(obj);
    }
    return owned;
  }

  async function reconcile(ctx: Ctx, app: Application): Promise<ReconcileResult> {
    let expansion: Expansion;
    try {
      expansion = expandApplication({ name: app.metadata.name, project: app.metadata.project, spec: app.spec }, await clusterCandidates(ctx));
    } catch (error) {
      if (!isTugboatError(error) || error.status !== 422) throw error;
      ctx.setStatus({ phase: 'Failed', reason: 'InvalidApplication', message: error.message });
      return undefined;
    }
    let owned = await ownedObjects(ctx, app);
    let expandError: string | undefined;
    if (needsExpansion(expansion, owned)) {
      try {
        const answer = await ctx.api.expandApplication(keyOf(app));
        const changed = answer.results.filter((r) => r.action !== 'unchanged');
        if (changed.length > 0) await ctx.events.record('Normal', 'Expanded', `expanded onto its clusters as they are now: ${changed.map((r) => `${r.action} ${r.kind}/${r.name}`).join(', ')}`);
        owned = await ownedObjects(ctx, app);
      } catch (error) {
        // A refusal (a definition tightened since, a host taken) is the Application's state to show, then retried.
        if (!isTugboatError(error) || error.status >= 500) throw error;
        expandError = error.message;
      }
    }
    const tree = applicationStatusTree(expansion, owned);
    const fields: ApplicationStatus = { clusters: tree.clusters, removing: tree.removing };
    if (expandError !== undefined) {
      ctx.setStatus({ phase: 'Degraded', reason: 'ExpansionRefused', message: expandError, fields: { ...fields, expandError } });
      return { requeueAfterMs: options.degradedRetryMs };
    }
    ctx.setStatus({ phase: tree.phase, reason: tree.reason, message: tree.message, fields });
    // Nothing to look at until something changes: all Ready, or no cluster in its tiers yet (a ClusterInstance change wakes it).
    if ((tree.phase === 'Ready' || tree.clusters.length === 0) && tree.removing.length === 0) return undefined;
    return { requeueAfterMs: options.progressingRequeueMs };
  }

  /** Waits for the API's dependency-ordered deletion of what it owns, showing the step; then lets its finalizer go. */
  async function finalize(ctx: Ctx, app: Application): Promise<ReconcileResult> {
    const owned = await ownedObjects(ctx, app);
    if (owned.length === 0) return undefined;
    const workloads = owned.filter((o) => o.kind === 'WorkloadInstance');
    const step =
      workloads.length > 0
        ? `removing workloads and their exposures first: ${workloads.map((o) => o.metadata.name).join(', ')}`
        : `removing the databases and secrets they used: ${owned.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`;
    const current = await ctx.api.get<ApplicationSpec, ApplicationStatus>(keyOf(app), { signal: ctx.signal });
    if (current === undefined) return undefined;
    const tree = applicationStatusTree({ targets: [], children: [] }, owned);
    const previous = current.status.conditions?.find((c) => c.type === 'Ready');
    const message = `deleting: ${step}`;
    if (current.status.deletionStep !== step) {
      const ready: Condition = {
        type: 'Ready',
        status: 'False',
        reason: 'Deleting',
        message,
        lastTransitionTime: previous?.status === 'False' && previous.lastTransitionTime ? previous.lastTransitionTime : new Date().toISOString(),
        observedGeneration: current.metadata.generation,
      };
      const status: ApplicationStatus = {
        ...current.status,
        phase: 'Deleting',
        deletionStep: step,
        clusters: [],
        removing: tree.removing,
        conditions: [ready, ...(current.status.conditions ?? []).filter((c) => c.type !== 'Ready')],
      };
      ctx.assertLeaseHeld();
      await ctx.api.writeStatus(keyOf(app), status, { resourceVersion: current.metadata.resourceVersion, signal: ctx.signal });
      await ctx.events.record('Normal', 'Deleting', step);
    }
    return { requeueAfterMs: options.progressingRequeueMs };
  }

  return { reconcile, finalize };
}
