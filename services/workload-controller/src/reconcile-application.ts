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
  describeReleases,
  expandApplication,
  latestRollout,
  migrationOfOwned,
  tierKey,
  wantedWorkloadCopies,
  type RolloutRecord,
  type TierDelivery,
  type ApplicationSpec,
  type ApplicationStatusFields,
  type ClusterCandidate,
  type Expansion,
} from '@tugboat/applications';
import { APPLICATION_LABELS, TIER_LABEL, isTugboatError, type Condition, type Resource, type ResourceKey, type ResourceStatus } from '@tugboat/resource-model';

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
 * not being deleted yet and nothing it owns on that cluster still uses it. A workload migrating to
 * another cluster asks only once its replacement is Ready (the replacement's status change wakes
 * the Application); until then an expansion would keep it anyway.
 */
export function needsExpansion(full: Expansion, allOwned: readonly Owned[], heldTiers: ReadonlySet<string> = new Set()): boolean {
  // A tier whose change waits for a decision differs from the expansion on purpose: asking again changes nothing.
  const expansion = { ...full, children: full.children.filter((c) => !heldTiers.has(tierKey(c.tier))) };
  const owned = allOwned.filter((o) => !heldTiers.has(tierKey(o.metadata.labels?.[TIER_LABEL])));
  const present = new Set(owned.map((o) => `${o.kind}/${o.metadata.name}`));
  if (expansion.children.some((c) => !present.has(`${c.kind}/${c.name}`))) return true;
  const wanted = new Set(expansion.children.map((c) => `${c.kind}/${c.name}`));
  const unwanted = owned.filter((o) => !wanted.has(`${o.kind}/${o.metadata.name}`) && !o.metadata.deletionRequestedAt);
  const workloadClusters = new Set(owned.filter((o) => o.kind === 'WorkloadInstance' && !wanted.has(`${o.kind}/${o.metadata.name}`)).map((o) => o.metadata.labels?.[APPLICATION_LABELS.cluster]));
  // A replacement in a held tier is not there yet: it counts, as not Ready.
  const copies = wantedWorkloadCopies(full.children, allOwned);
  // A leaving workload whose replacement is not Ready yet is kept by the expansion: nothing to ask for.
  const waitsForReplacement = (o: Owned) => migrationOfOwned(o, copies)?.ready === false;
  return unwanted.some((o) => (o.kind === 'WorkloadInstance' ? !waitsForReplacement(o) : !workloadClusters.has(o.metadata.labels?.[APPLICATION_LABELS.cluster])));
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

  /** A Rollout as this reads it: the record, and what its status says. */
  type SeenRollout = RolloutRecord & { message: string; waitingFor?: string };

  /** The Application's Rollouts per tier, oldest first. */
  async function rolloutsByTier(ctx: Ctx, app: Application): Promise<Map<string, SeenRollout[]>> {
    const byTier = new Map<string, SeenRollout[]>();
    type Status = ResourceStatus & { state?: RolloutRecord['state']; message?: string; waitingFor?: string };
    const page = ctx.api.listAll<RolloutRecord, Status>('Rollout', { project: app.metadata.project, labelSelector: { [APPLICATION_LABELS.application]: app.metadata.name }, signal: ctx.signal });
    for await (const rollout of page) {
      if (!rollout.metadata.ownerReferences?.some((o) => o.uid === app.metadata.uid)) continue;
      const { state = 'PendingApproval', message = '', waitingFor } = rollout.status;
      const record: SeenRollout = { ...rollout.spec, name: rollout.metadata.name, state, message, ...(waitingFor ? { waitingFor } : {}) };
      byTier.set(record.tier, [...(byTier.get(record.tier) ?? []), record].sort((a, b) => a.revision - b.revision));
    }
    return byTier;
  }

  /** What each tier runs and what waits there. */
  function deliveryOf(byTier: Map<string, SeenRollout[]>): TierDelivery[] {
    return [...byTier].map(([tier, history]) => {
      const applied = latestRollout(history, ['Applied']);
      const open = history.filter((r) => ['PendingApproval', 'Waiting', 'Rejected'].includes(r.state) && (!applied || r.revision > applied.revision)).pop();
      return {
        tier,
        ...(applied ? { revision: applied.revision, releases: describeReleases(applied.releases) } : {}),
        ...(open
          ? { open: { rollout: open.name, state: open.state, message: open.message, changes: open.changes, releases: describeReleases(open.releases), ...(open.waitingFor ? { waitingFor: open.waitingFor } : {}) } }
          : {}),
      };
    });
  }

  /** The tiers (of those with a proposal open) whose DeliveryPolicy is automatic, or that have none. */
  async function automaticTiers(ctx: Ctx, delivery: readonly TierDelivery[]): Promise<Set<string>> {
    const open = delivery.filter((d) => d.open?.state === 'PendingApproval').map((d) => d.tier);
    if (open.length === 0) return new Set();
    const approval = new Set<string>();
    for await (const policy of ctx.api.listAll<{ tier: string; mode: string }>('DeliveryPolicy', { signal: ctx.signal })) {
      if (policy.spec.mode === 'approval' && !policy.metadata.deletionRequestedAt) approval.add(policy.spec.tier);
    }
    return new Set(open.filter((tier) => !approval.has(tier)));
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
    const delivery = deliveryOf(await rolloutsByTier(ctx, app));
    const automatic = await automaticTiers(ctx, delivery);
    const held = new Set(delivery.filter((d) => d.open).map((d) => d.tier));
    // A release waiting for its required tier is looked at again until it may go; so is a proposal
    // waiting for an approval its tier no longer asks for (its DeliveryPolicy became automatic).
    // A proposal whose release waits for its required tier is looked at again too: its message then says it may be approved.
    const waiting = delivery.some((d) => d.open?.state === 'Waiting' || (d.open?.state === 'PendingApproval' && (automatic.has(d.tier) || d.open.waitingFor !== undefined)));
    let expandError: string | undefined;
    if (waiting || needsExpansion(expansion, owned, held)) {
      try {
        const answer = await ctx.api.expandApplication(keyOf(app));
        const changed = answer.results.filter((r) => r.action !== 'unchanged');
        const said = changed.map((r) => (r.migratingTo ? `kept ${r.kind}/${r.name} until ${r.migratingTo} is Ready (migrating)` : `${r.action} ${r.kind}/${r.name}`));
        if (changed.length > 0) await ctx.events.record('Normal', 'Expanded', `expanded onto its clusters as they are now: ${said.join(', ')}`);
        owned = await ownedObjects(ctx, app);
      } catch (error) {
        // A refusal (a definition tightened since, a host taken) is the Application's state to show, then retried.
        if (!isTugboatError(error) || error.status >= 500) throw error;
        expandError = error.message;
      }
    }
    const tree = applicationStatusTree(expansion, owned);
    const fields: ApplicationStatus = { clusters: tree.clusters, removing: tree.removing, delivery };
    const conditions = [pendingApprovalCondition(delivery, app.metadata.generation)];
    if (expandError !== undefined) {
      ctx.setStatus({ phase: 'Degraded', reason: 'ExpansionRefused', message: expandError, conditions, fields: { ...fields, expandError } });
      return { requeueAfterMs: options.degradedRetryMs };
    }
    const opened = delivery.filter((d) => d.open);
    if (opened.length > 0 && tree.phase !== 'Ready') {
      // What is missing or behind in a held tier is held on purpose: say what it waits for (or that it was rejected).
      const first = opened.find((d) => d.open!.state !== 'Rejected') ?? opened[0]!;
      const rejected = first.open!.state === 'Rejected';
      const message = rejected
        ? `tier ${first.tier}: rollout ${first.open!.rollout} was ${first.open!.message}; change the Application (or release again) to propose anew`
        : `tier ${first.tier}: rollout ${first.open!.rollout} ${first.open!.message}`;
      ctx.setStatus({ phase: tree.phase, reason: rejected ? 'RolloutRejected' : 'PendingApproval', message, conditions, fields });
      return { requeueAfterMs: options.progressingRequeueMs };
    }
    ctx.setStatus({ phase: tree.phase, reason: tree.reason, message: tree.message, conditions, fields });
    // A proposal waiting for its required tier needs no timer: a status change of a copy there wakes this.
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

/** `PendingApproval`: True while a tier's change waits for a decision (or for its required tier), naming the Rollout and who may decide. */
export function pendingApprovalCondition(delivery: readonly TierDelivery[], generation: number): Condition {
  const open = delivery.filter((d) => d.open && d.open.state !== 'Rejected');
  const now = new Date().toISOString();
  if (open.length === 0) return { type: 'PendingApproval', status: 'False', reason: 'NothingPending', message: 'no change waits for a decision', lastTransitionTime: now, observedGeneration: generation };
  const message = open.map((d) => `tier ${d.tier}: rollout ${d.open!.rollout} (${d.open!.releases}; ${d.open!.changes.length} change${d.open!.changes.length === 1 ? '' : 's'}) ${d.open!.message}`).join('; ');
  const reason = open.every((d) => d.open!.state === 'Waiting') ? 'WaitingForTier' : 'ApprovalRequired';
  return { type: 'PendingApproval', status: 'True', reason, message, lastTransitionTime: now, observedGeneration: generation };
}
