/**
 * An Application's status as a tree: per cluster, per component, the phase of the object it owns
 * there and, where it is not Ready, why (its Ready condition's reason and message). The
 * workload-controller builds it from the children's statuses; `tug describe application/x` and
 * `tug get application/x --tree` print it with `formatApplicationTree`. The Application's own Ready
 * condition carries the first thing that is not Ready, in the expansion's order; while a workload
 * is migrating to another cluster (see `migration-replacement.ts`), the step it is at.
 */
import { APPLICATION_LABELS, type Condition, type Phase, type Resource, type ResourceStatus } from '@tugboat/resource-model';
import type { DesiredChild, Expansion } from './application-types.js';
import type { RolloutChange } from './delivery.js';
import { migrationOfOwned, migrationStep, wantedWorkloadCopies, type Migration } from './migration-replacement.js';

export interface ComponentStatus {
  component: string;
  kind: string;
  /** The owned object's name. */
  object: string;
  /** `Missing` when the object is not there (yet, or any more). */
  phase: Phase | 'Missing';
  reason?: string;
  message?: string;
  /** Set while the object is being deleted. */
  deleting?: boolean;
  /** A workload kept on a cluster it is leaving until its replacement (this object's name) is Ready. */
  migratingTo?: string;
}

export interface ClusterStatus {
  cluster: string;
  tier?: string;
  phase: Phase;
  components: ComponentStatus[];
}

export interface ApplicationStatusTree {
  phase: Phase;
  /** The first component that is not Ready, as `cluster/component: reason: message`. */
  reason: string;
  message: string;
  clusters: ClusterStatus[];
  /** Objects it still owns that the expansion no longer wants (a cluster left the tier): being removed. */
  removing: ComponentStatus[];
}

type Child = Resource<Record<string, unknown>, ResourceStatus>;

const readyOf = (obj: Child) => obj.status.conditions?.find((c: Condition) => c.type === 'Ready');

function componentStatus(desired: Pick<DesiredChild, 'component' | 'name'> & { kind: string }, obj: Child | undefined): ComponentStatus {
  const base = { component: desired.component, kind: desired.kind, object: desired.name };
  if (!obj) return { ...base, phase: 'Missing', reason: 'NotCreated', message: `${desired.kind} ${desired.name} does not exist (yet)` };
  const ready = readyOf(obj);
  const phase: Phase = obj.metadata.deletionRequestedAt ? 'Deleting' : (obj.status.phase ?? 'Pending');
  const current = obj.status.observedGeneration === undefined || obj.status.observedGeneration >= obj.metadata.generation;
  // A status from an older generation says nothing about the change just made.
  const shown: Phase = phase === 'Ready' && !current ? 'Progressing' : phase;
  return {
    ...base,
    phase: shown,
    ...(shown === 'Ready'
      ? {}
      : current
        ? { reason: ready?.reason ?? 'Pending', message: ready?.message || 'no status yet' }
        : { reason: 'NotObserved', message: `its controller has not reported generation ${obj.metadata.generation} yet` }),
    ...(obj.metadata.deletionRequestedAt ? { deleting: true } : {}),
  };
}

/** The worst phase of a list, in the order a person needs to act on it. */
export function worstPhase(phases: ReadonlyArray<Phase | 'Missing'>): Phase {
  const order: Array<Phase | 'Missing'> = ['Failed', 'Degraded', 'Deleting', 'Missing', 'Pending', 'Progressing', 'Ready'];
  let worst = 'Ready' as Phase | 'Missing';
  for (const phase of phases) if (order.indexOf(phase) < order.indexOf(worst)) worst = phase;
  return worst === 'Missing' ? 'Progressing' : worst;
}

/** An owned object on its way out: being deleted, about to be, or kept until its replacement is Ready. */
function removingStatus(obj: Child, migration: Migration | undefined): ComponentStatus {
  const status = componentStatus({ component: obj.metadata.labels?.[APPLICATION_LABELS.component] ?? obj.metadata.name, kind: obj.kind, name: obj.metadata.name }, obj);
  if (migration && !migration.ready && !obj.metadata.deletionRequestedAt) {
    // Still serving: its own phase stands, the step says why it is not gone.
    const { deleting: _deleting, ...kept } = status;
    return { ...kept, reason: 'Migrating', message: migrationStep(migration), migratingTo: migration.to };
  }
  return { ...status, ...(migration?.ready ? { reason: 'Migrated', message: migrationStep(migration) } : {}), deleting: true };
}

/** The tree for an expansion and the objects the Application owns now (any order). */
export function applicationStatusTree(expansion: Expansion, owned: readonly Child[]): ApplicationStatusTree {
  const byKey = new Map(owned.map((obj) => [`${obj.kind}/${obj.metadata.name}`, obj]));
  const wanted = new Set(expansion.children.map((c) => `${c.kind}/${c.name}`));
  const clusters: ClusterStatus[] = expansion.targets.map((target) => {
    const components = expansion.children.filter((c) => c.cluster === target.cluster).map((c) => componentStatus(c, byKey.get(`${c.kind}/${c.name}`)));
    return { cluster: target.cluster, ...(target.tier ? { tier: target.tier } : {}), phase: worstPhase(components.map((c) => c.phase)), components };
  });
  const workloads = wantedWorkloadCopies(expansion.children, owned);
  const leaving = owned.filter((obj) => !wanted.has(`${obj.kind}/${obj.metadata.name}`)).map((obj) => ({ obj, migration: migrationOfOwned(obj, workloads) }));
  const removing = leaving.map(({ obj, migration }) => removingStatus(obj, migration));
  const migrating = leaving.flatMap(({ obj, migration }) => (migration && !migration.ready && !obj.metadata.deletionRequestedAt ? [migration] : []));
  const notReady = clusters.flatMap((cluster) => cluster.components.map((c) => ({ cluster: cluster.cluster, c }))).filter(({ c }) => c.phase !== 'Ready');
  const firstNotReady = notReady[0];
  const phase = clusters.length === 0 ? 'Progressing' : worstPhase(clusters.map((c) => c.phase));
  if (clusters.length === 0) return { phase, reason: 'NoTargetClusters', message: 'no cluster matches the targets (a tier names clusters by their tugboat.dev/tier label)', clusters, removing };
  if (migrating.length > 0) {
    // The migration is what a person is waiting on: say its step, then what the replacement is doing.
    const steps = migrating.map((m) => {
      const replacement = notReady.find(({ c }) => c.kind === 'WorkloadInstance' && c.object === m.to)?.c;
      return `${migrationStep(m)}${replacement ? ` (${m.to} is ${replacement.phase}${replacement.reason ? `: ${replacement.reason}` : ''}${replacement.message ? `: ${replacement.message}` : ''})` : ''}`;
    });
    const replacements = new Set(migrating.map((m) => m.to));
    const other = notReady.find(({ c }) => !(c.kind === 'WorkloadInstance' && replacements.has(c.object)));
    return { phase: phase === 'Ready' ? 'Progressing' : phase, reason: 'Migrating', message: [...steps, ...(other ? [notReadyMessage(other)] : [])].join('; '), clusters, removing };
  }
  if (!firstNotReady) {
    const reason = removing.length > 0 ? 'Removing' : 'Ready';
    const message = removing.length > 0 ? `removing ${removing.map((r) => `${r.kind} ${r.object}`).join(', ')}` : `ready on ${clusters.map((c) => c.cluster).join(', ')}`;
    return { phase: 'Ready', reason, message, clusters, removing };
  }
  return { phase, reason: firstNotReady.c.reason ?? firstNotReady.c.phase, message: notReadyMessage(firstNotReady), clusters, removing };
}

/** `dev/web (WorkloadInstance shop-web-dev) Progressing: …`. */
function notReadyMessage({ cluster, c }: { cluster: string; c: ComponentStatus }): string {
  return `${cluster}/${c.component} (${c.kind} ${c.object}) ${c.phase}: ${c.message ?? ''}`.trim();
}

/** What is stored in `status.fields` and read back by the CLI. */
/** Per tier: what it runs (its latest applied Rollout) and the change that waits for a decision, if any. */
export interface TierDelivery {
  tier: string;
  revision?: number;
  /** `web=shop-web-3f2a… (sha256:3f2a…)`. */
  releases?: string;
  /** The Rollout that waits (PendingApproval or Waiting) or was rejected, newer than what runs. */
  open?: { rollout: string; state: string; message: string; changes: RolloutChange[]; releases: string; waitingFor?: string };
}

export interface ApplicationStatusFields {
  clusters?: ClusterStatus[];
  removing?: ComponentStatus[];
  /** While the Application is being deleted: which step its removal is at. */
  deletionStep?: string;
  delivery?: TierDelivery[];
}

/** `"nginx@sha256:1111…"`: a diff value on one line, cut short. */
function shortValue(value: unknown): string {
  const text = value === undefined ? '(none)' : JSON.stringify(value);
  return text.length > 72 ? `${text.slice(0, 71)}…` : text;
}

/** The delivery lines: per tier what it runs, and what waits there with its changes (and their diffs). */
function deliveryLines(delivery: readonly TierDelivery[]): string[][] {
  return delivery.map((d) => {
    const runs = d.revision === undefined ? 'nothing applied yet' : `revision ${d.revision}: ${d.releases ?? ''}`;
    const lines = [`tier ${d.tier}  ${runs}`];
    if (!d.open) return lines;
    lines.push(`${d.open.state}: rollout ${d.open.rollout} (${d.open.releases}) ${d.open.message}`);
    for (const change of d.open.changes) {
      const mark = change.action === 'created' ? '+' : change.action === 'deleted' ? '-' : '~';
      lines.push(`  ${mark} ${change.kind}/${change.name}${change.action === 'updated' ? '' : ` would be ${change.action}`}`);
      for (const field of (change.diff ?? []) as Array<{ path: string; from?: unknown; to?: unknown }>) lines.push(`      ${field.path}: ${shortValue(field.from)} → ${shortValue(field.to)}`);
    }
    return lines;
  });
}

/** The tree as text, one line per cluster and component (`tug describe application/x`, `tug get … --tree`). */
export function formatApplicationTree(name: string, status: ResourceStatus & ApplicationStatusFields): string[] {
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  const lines = [`Application ${name}  ${status.phase ?? 'Pending'}${ready?.status === 'False' && ready.message ? `  (${ready.message})` : ''}`];
  if (status.deletionStep) lines.push(`├─ deletion: ${status.deletionStep}`);
  const clusters = status.clusters ?? [];
  const removing = status.removing ?? [];
  const delivery = deliveryLines(status.delivery ?? []);
  clusters.forEach((cluster, i) => {
    const lastCluster = i === clusters.length - 1 && removing.length === 0 && delivery.length === 0;
    lines.push(`${lastCluster ? '└─' : '├─'} cluster ${cluster.cluster}${cluster.tier ? ` (tier ${cluster.tier})` : ''}  ${cluster.phase}`);
    cluster.components.forEach((c, j) => {
      const last = j === cluster.components.length - 1;
      lines.push(`${lastCluster ? '   ' : '│  '}${last ? '└─' : '├─'} ${c.component}  ${c.kind}/${c.object}  ${c.phase}${c.phase === 'Ready' ? '' : `  ${c.reason ?? ''}${c.message ? `: ${c.message}` : ''}`}`);
    });
  });
  if (removing.length > 0) {
    const last = delivery.length === 0;
    lines.push(`${last ? '└─' : '├─'} removing`);
    removing.forEach((c, j) => lines.push(`${last ? '   ' : '│  '}${j === removing.length - 1 ? '└─' : '├─'} ${c.component}  ${c.kind}/${c.object}  ${c.phase}${c.message ? `: ${c.message}` : ''}`));
  }
  if (delivery.length > 0) {
    lines.push('└─ delivery');
    delivery.forEach(([head, ...rest], j) => {
      const last = j === delivery.length - 1;
      lines.push(`   ${last ? '└─' : '├─'} ${head}`);
      for (const line of rest) lines.push(`   ${last ? '   ' : '│  '}${line}`);
    });
  }
  return lines;
}
