/**
 * When an Application's workload leaves a cluster, is it moving (a migration) or just going? One
 * rule, read by the API (whether its expansion deletes the old copy now) and the workload-controller
 * (whether to ask for that expansion, and what the status tree says), so both always agree.
 *
 * A copy leaving a cluster is migrating when the Application gained a copy of the same component on
 * another cluster after the leaving one was made (a cluster joined the tier, or the explicit list
 * swapped one cluster for another): that newer copy is its replacement, the same tier preferred.
 * The old copy is kept until the replacement is Ready, so the component never drops to no running
 * copy on the way. A copy that was already there beside it is no replacement: an Application that
 * simply leaves a cluster removes its copy there at once, as before.
 *
 * "After" means at least `ONE_EXPANSION_MS` after: one expansion makes the copies on all its
 * clusters one after the other in a single transaction, milliseconds apart, and those are siblings,
 * not replacements (else a cluster leaving would wait on whichever sibling happened to be written
 * later). A copy younger than that serves nothing yet, so not keeping it for a replacement costs
 * nothing. An expansion slower than that errs on the safe side: the old copy waits.
 */
import { APPLICATION_LABELS, TIER_LABEL, type Condition, type Resource, type ResourceStatus } from '@tugboat/resource-model';
import type { DesiredChild } from './application-types.js';

type Owned = Resource<Record<string, unknown>, ResourceStatus>;

/** Copies made closer together than this were made by one expansion. */
export const ONE_EXPANSION_MS = 2_000;

/** What the rule needs to know of one WorkloadInstance copy of a component. */
export interface WorkloadCopy {
  name: string;
  component: string;
  cluster: string;
  tier?: string;
  /** When the object was made (ms since the epoch); absent when it does not exist yet. */
  createdAt?: number;
  ready: boolean;
}

export interface Migration {
  component: string;
  /** The copy leaving (its object's name) and its cluster. */
  from: string;
  fromCluster: string;
  /** The replacement (its object's name) and its cluster. */
  to: string;
  toCluster: string;
  /** Whether the replacement is Ready: then the old copy goes. */
  ready: boolean;
}

/**
 * Ready as the migration needs it: phase Ready, its controller has seen the current generation,
 * and its Ready condition is True. A status no controller has written yet is not Ready.
 */
export function isReadyNow(status: ResourceStatus | undefined, generation: number): boolean {
  if (!status || status.phase !== 'Ready') return false;
  if (status.observedGeneration === undefined || status.observedGeneration < generation) return false;
  return status.conditions?.some((c: Condition) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * The replacement of a leaving copy among the copies the Application still wants (any kind of
 * order), or `undefined` when it is not migrating. A wanted copy that does not exist yet (being
 * made in this very expansion, or held back) counts as newer and not Ready.
 */
export function migrationOf(leaving: WorkloadCopy, wanted: readonly WorkloadCopy[]): Migration | undefined {
  const candidates = wanted
    .filter((copy) => copy.component === leaving.component && copy.cluster !== leaving.cluster)
    .filter((copy) => copy.createdAt === undefined || leaving.createdAt === undefined || copy.createdAt - leaving.createdAt >= ONE_EXPANSION_MS)
    .sort((a, b) => Number(b.tier === leaving.tier) - Number(a.tier === leaving.tier) || a.name.localeCompare(b.name));
  const to = candidates[0];
  if (!to) return undefined;
  return { component: leaving.component, from: leaving.name, fromCluster: leaving.cluster, to: to.name, toCluster: to.cluster, ready: to.ready };
}

/** The copies of each workload component the expansion wants (its children), from the objects the Application owns now. */
export function wantedWorkloadCopies(wanted: readonly DesiredChild[], owned: readonly Owned[]): WorkloadCopy[] {
  const byName = new Map(owned.filter((o) => o.kind === 'WorkloadInstance').map((o) => [o.metadata.name, o]));
  return wanted
    .filter((c) => c.kind === 'WorkloadInstance')
    .map((c) => {
      const obj = byName.get(c.name);
      return {
        name: c.name,
        component: c.component,
        cluster: c.cluster,
        ...(c.tier === undefined ? {} : { tier: c.tier }),
        ...(obj ? { createdAt: Date.parse(obj.metadata.createdAt) } : {}),
        ready: obj !== undefined && isReadyNow(obj.status, obj.metadata.generation),
      };
    });
}

/** The migration an owned object the expansion no longer wants is part of (only a workload can be). */
export function migrationOfOwned(obj: Owned, wanted: readonly WorkloadCopy[]): Migration | undefined {
  if (obj.kind !== 'WorkloadInstance') return undefined;
  const labels = obj.metadata.labels ?? {};
  const tier = labels[TIER_LABEL];
  const leaving: WorkloadCopy = {
    name: obj.metadata.name,
    component: labels[APPLICATION_LABELS.component] ?? obj.metadata.name,
    cluster: labels[APPLICATION_LABELS.cluster] ?? '',
    ...(tier === undefined ? {} : { tier }),
    createdAt: Date.parse(obj.metadata.createdAt),
    ready: isReadyNow(obj.status, obj.metadata.generation),
  };
  return migrationOf(leaving, wanted);
}

/** The step in an operator's words: `migrating web from cluster dev1 to dev3: waits for …` or, once Ready, the removal. */
export function migrationStep(migration: Migration): string {
  const move = `${migration.component} from cluster ${migration.fromCluster} to ${migration.toCluster}`;
  return migration.ready
    ? `migrated ${move}: ${migration.to} is Ready, removing ${migration.from}`
    : `migrating ${move}: waits for ${migration.to} to be Ready before removing ${migration.from}`;
}
