/**
 * When an Application's workload leaves a cluster, is it moving (a migration) or just going? One
 * rule, read by the API (whether its expansion deletes the old copy now) and the workload-controller
 * (whether to ask for that expansion, and what the status tree says), so both always agree.
 *
 * A tier is what an app's instance is: a copy leaving a cluster is replaced by the copies of the
 * same component the Application still wants in the same tier (a cluster joined the tier as the
 * old one left it, or an explicit list swapped one cluster for another of the same tier). The old
 * copy is kept until every one of them is Ready, so the tier never runs fewer Ready copies on the
 * way (the surge a Kubernetes rolling update makes with maxUnavailable 0). When the tier keeps no
 * copy of the component, or all of them are Ready already, the old copy goes at once: an
 * Application that simply leaves a cluster removes its copy there as before. Moving between tiers
 * is no migration: one tier's copy goes, the other's comes, each under its tier's policy.
 */
import { APPLICATION_LABELS, TIER_LABEL, type Condition, type Resource, type ResourceStatus } from '@tugboat/resource-model';
import type { DesiredChild } from './application-types.js';

type Owned = Resource<Record<string, unknown>, ResourceStatus>;

/** What the rule needs to know of one WorkloadInstance copy of a component. */
export interface WorkloadCopy {
  name: string;
  component: string;
  cluster: string;
  tier?: string;
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
 * The migration a leaving copy is part of: the wanted copies of its component in its tier, the
 * first one not Ready named as the replacement it waits for (`ready` once all are). `undefined`
 * when the tier keeps no copy of the component. A wanted copy that does not exist yet (made in this
 * very expansion, or held back for an approval) is not Ready.
 */
export function migrationOf(leaving: WorkloadCopy, wanted: readonly WorkloadCopy[]): Migration | undefined {
  const tier = (copy: WorkloadCopy) => copy.tier ?? '';
  const replacements = wanted
    .filter((copy) => copy.component === leaving.component && copy.cluster !== leaving.cluster && tier(copy) === tier(leaving))
    .sort((a, b) => a.name.localeCompare(b.name));
  const to = replacements.find((copy) => !copy.ready) ?? replacements[0];
  if (!to) return undefined;
  return { component: leaving.component, from: leaving.name, fromCluster: leaving.cluster, to: to.name, toCluster: to.cluster, ready: replacements.every((copy) => copy.ready) };
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
