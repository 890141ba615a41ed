/**
 * The expansion: a pure function from an Application and the platform's clusters to the objects
 * it owns. The API runs it inside the Application write's transaction (and again when a tier's
 * clusters change); the workload-controller runs it to know what the tree should hold. Same input,
 * same output: names are derived, never generated.
 *
 * Each target cluster gets its own copy of every component, as an ApplicationSet generates one
 * Application per cluster: `<application>-<component>-<cluster>`, on that cluster, its database in
 * that cluster's network, its exposure at its own host (`<workload>-<application>-<cluster>` by
 * default, or the component's `host` with its parameters substituted).
 */
import { APPLICATION_LABELS, InputError, TIER_LABEL } from '@tugboat/resource-model';
import type {
  ApplicationSpec,
  ChildKind,
  ClusterCandidate,
  ComponentType,
  DesiredChild,
  Expansion,
  ParameterValue,
  ResolvedTarget,
} from './application-types.js';
import { resolveParameters, substituteParameters } from './substitute-parameters.js';

/** The longest object name (a DNS label). */
const MAX_NAME = 63;

export interface ApplicationInput {
  name: string;
  project: string;
  spec: ApplicationSpec;
}

function refuse(path: string, rule: string, message: string): never {
  throw new InputError(`${path}: ${message}`, { status: 422, details: [{ path, rule, message }] });
}

/** The clusters the targets choose, in target order, each once (the first target that names a cluster wins). */
export function selectTargets(spec: ApplicationSpec, clusters: readonly ClusterCandidate[]): Array<Omit<ResolvedTarget, 'parameters'>> {
  const byName = new Map(clusters.map((cluster) => [cluster.name, cluster]));
  const chosen: Array<Omit<ResolvedTarget, 'parameters'>> = [];
  const seen = new Set<string>();
  spec.targets.forEach((target, index) => {
    const names =
      target.tier !== undefined
        ? clusters
            .filter((cluster) => cluster.labels[TIER_LABEL] === target.tier && !cluster.deleting)
            .map((cluster) => cluster.name)
            .sort()
        : (target.clusters ?? []).map((cluster) => cluster.name);
    for (const cluster of names) {
      if (seen.has(cluster)) continue;
      seen.add(cluster);
      const tier = target.tier ?? byName.get(cluster)?.labels[TIER_LABEL];
      chosen.push({ cluster, target: index, ...(tier === undefined ? {} : { tier }) });
    }
  });
  return chosen;
}

/** `<application>-<component>-<cluster>`; a 422 naming the component when that is no DNS label. */
export function childName(application: string, component: string, cluster: string, path: string): string {
  const name = `${application}-${component}-${cluster}`;
  if (name.length > MAX_NAME) {
    refuse(`${path}.name`, 'maxLength', `${name} (application-component-cluster) is longer than ${MAX_NAME} characters: shorten the application's or the component's name`);
  }
  return name;
}

/** Checks what does not depend on the clusters: unique component names, and references to components that exist. */
export function checkComponents(spec: ApplicationSpec): void {
  const names = new Map<string, string>();
  const components: Array<[string, string, ComponentType]> = [
    ...(spec.workloads ?? []).map((c, i): [string, string, ComponentType] => [c.name, `spec.workloads[${i}]`, 'workload']),
    ...(spec.databases ?? []).map((c, i): [string, string, ComponentType] => [c.name, `spec.databases[${i}]`, 'database']),
    ...(spec.secrets ?? []).map((c, i): [string, string, ComponentType] => [c.name, `spec.secrets[${i}]`, 'secret']),
  ];
  if (components.length === 0) refuse('spec', 'required', 'names no component: give at least one of workloads, databases, secrets');
  for (const [name, path] of components) {
    const other = names.get(name);
    if (other !== undefined) refuse(`${path}.name`, 'unique', `"${name}" is also the name of ${other}: component names are unique across the Application`);
    names.set(name, path);
  }
  const databases = new Set((spec.databases ?? []).map((d) => d.name));
  const secrets = new Set((spec.secrets ?? []).map((s) => s.name));
  (spec.workloads ?? []).forEach((workload, i) => {
    (workload.databases ?? []).forEach((use, j) => {
      if (!databases.has(use.component)) refuse(`spec.workloads[${i}].databases[${j}].component`, 'component', `"${use.component}" is not a database of the Application`);
    });
    (workload.secrets ?? []).forEach((use, j) => {
      if (!secrets.has(use.component)) refuse(`spec.workloads[${i}].secrets[${j}].component`, 'component', `"${use.component}" is not a secret of the Application`);
    });
  });
}

/** The Application's objects on its clusters, in the order they can be written (what is used first). */
export interface ExpansionOptions {
  /** The image a tier runs of a workload component (its Release, pinned by digest); `undefined` keeps the component's own. */
  imageOf?: (tier: string | undefined, component: string) => string | undefined;
}

export function expandApplication(app: ApplicationInput, clusters: readonly ClusterCandidate[], options: ExpansionOptions = {}): Expansion {
  const { spec } = app;
  checkComponents(spec);
  const targets: ResolvedTarget[] = selectTargets(spec, clusters).map((chosen) => ({
    ...chosen,
    parameters: resolveParameters(
      spec.parameters ?? [],
      spec.targets[chosen.target]?.parameters ?? {},
      { application: app.name, project: app.project, cluster: chosen.cluster, tier: chosen.tier ?? '' },
      `spec.targets[${chosen.target}]`,
    ),
  }));
  const children: DesiredChild[] = [];
  const hosts = new Map<string, string>();
  for (const target of targets) {
    const make = (kind: ChildKind, componentType: ComponentType, component: string, path: string, body: Record<string, unknown>): DesiredChild => ({
      kind,
      name: childName(app.name, component, target.cluster, path),
      component,
      componentType,
      path,
      cluster: target.cluster,
      ...(target.tier === undefined ? {} : { tier: target.tier }),
      labels: childLabels(app.name, component, target),
      spec: substituteParameters(body, target.parameters, path),
    });
    const nameOf = (component: string, path: string) => childName(app.name, component, target.cluster, path);

    (spec.secrets ?? []).forEach((secret, i) => {
      const path = `spec.secrets[${i}]`;
      children.push(make('SecretInstance', 'secret', secret.name, path, { definitionRef: secret.definitionRef, key: secret.key }));
    });
    (spec.databases ?? []).forEach((database, i) => {
      const path = `spec.databases[${i}]`;
      const { name: _component, network, ...fields } = database;
      // Each cluster's copy goes in that cluster's network, unless the component names one.
      children.push(make('DatabaseInstance', 'database', database.name, path, { ...fields, ...(network ? { network } : { clusterRef: { name: target.cluster } }) }));
    });
    (spec.workloads ?? []).forEach((workload, i) => {
      const path = `spec.workloads[${i}]`;
      const body: Record<string, unknown> = { definitionRef: workload.definitionRef, clusterRef: { name: target.cluster } };
      if (workload.databases?.length) {
        body['databases'] = workload.databases.map((use, j) => ({ ref: { name: nameOf(use.component, `${path}.databases[${j}]`) }, envPrefix: use.envPrefix }));
      }
      if (workload.secrets?.length) {
        body['secrets'] = workload.secrets.map(({ component, ...rest }, j) => ({ ref: { name: nameOf(component, `${path}.secrets[${j}]`) }, ...rest }));
      }
      if (workload.expose) body['expose'] = { ...workload.expose, host: workload.expose.host ?? `${workload.name}-${app.name}-${target.cluster}` };
      if (workload.observability) body['observability'] = workload.observability;
      if (workload.overrides) body['overrides'] = workload.overrides;
      const released = options.imageOf?.(target.tier, workload.name);
      if (released !== undefined) {
        // A release replaces the image whole: a tag override would make it a different image.
        const { imageTag: _tag, ...overrides } = workload.overrides ?? {};
        body['overrides'] = { ...overrides, image: released };
      }
      const child = make('WorkloadInstance', 'workload', workload.name, path, body);
      const expose = child.spec['expose'] as { host?: ParameterValue; domainRef: { name: string } } | undefined;
      if (expose) {
        // Two copies at one host would be refused one by one by admission; named here as the Application's own mistake.
        const host = `${String(expose.host)}@${expose.domainRef.name}`;
        const other = hosts.get(host);
        if (other !== undefined) {
          refuse(`${path}.expose.host`, 'unique', `is ${String(expose.host)} on cluster ${target.cluster} and on ${other}: each target needs its own host (use \${cluster} or \${tier})`);
        }
        hosts.set(host, `cluster ${target.cluster}`);
      }
      children.push(child);
    });
  }
  return { targets, children };
}

function childLabels(application: string, component: string, target: Omit<ResolvedTarget, 'parameters'>): Record<string, string> {
  return {
    [APPLICATION_LABELS.application]: application,
    [APPLICATION_LABELS.component]: component,
    [APPLICATION_LABELS.cluster]: target.cluster,
    ...(target.tier === undefined || target.tier === '' ? {} : { [TIER_LABEL]: target.tier }),
  };
}

/** The order children are removed in: workloads (and their exposures) before the databases and secrets they use. */
export function removalRank(kind: string): number {
  return kind === 'WorkloadInstance' ? 0 : 1;
}
