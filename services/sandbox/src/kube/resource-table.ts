/**
 * What the simulated API servers serve: one entry per (group, version, resource), with the names
 * discovery advertises. Built-in types come from `BUILT_IN_RESOURCES`; each cluster adds the types
 * its CustomResourceDefinitions declare.
 */

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  /**
   * `status` when status is written only through its subresource; `scale` for the autoscaling/v1
   * Scale view of `spec.replicas`; `log` and `eviction` for pods.
   */
  subresources: Subresource[];
  categories: string[];
  /** Set for types that come from a CustomResourceDefinition. */
  crd?: string;
  /** Create-only reviews answered on the spot and never stored (`kubectl auth can-i`, `auth whoami`). */
  review?: true;
}

export type Subresource = 'status' | 'scale' | 'log' | 'eviction';

export const RESOURCE_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface Entry {
  kind: string;
  plural: string;
  shortNames?: string[];
  namespaced?: boolean;
  status?: boolean;
  scale?: boolean;
  log?: boolean;
  all?: boolean;
  review?: boolean;
}

function group(groupName: string, version: string, entries: Entry[]): ResourceType[] {
  return entries.map((entry) => ({
    group: groupName,
    version,
    kind: entry.kind,
    listKind: `${entry.kind}List`,
    plural: entry.plural,
    singular: entry.kind.toLowerCase(),
    shortNames: entry.shortNames ?? [],
    namespaced: entry.namespaced ?? true,
    subresources: [
      ...(entry.status ? (['status'] as const) : []),
      ...(entry.scale ? (['scale'] as const) : []),
      ...(entry.log ? (['log', 'eviction'] as const) : []),
    ],
    categories: entry.all ? ['all'] : [],
    ...(entry.review ? { review: true as const } : {}),
  }));
}

export const BUILT_IN_RESOURCES: readonly ResourceType[] = [
  ...group('', 'v1', [
    { kind: 'Namespace', plural: 'namespaces', shortNames: ['ns'], namespaced: false, status: true },
    { kind: 'Pod', plural: 'pods', shortNames: ['po'], status: true, log: true, all: true },
    { kind: 'Service', plural: 'services', shortNames: ['svc'], status: true, all: true },
    { kind: 'ConfigMap', plural: 'configmaps', shortNames: ['cm'] },
    { kind: 'Secret', plural: 'secrets' },
    { kind: 'ServiceAccount', plural: 'serviceaccounts', shortNames: ['sa'] },
    { kind: 'Node', plural: 'nodes', shortNames: ['no'], namespaced: false, status: true },
    { kind: 'Event', plural: 'events', shortNames: ['ev'] },
    { kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', shortNames: ['pvc'], status: true },
    { kind: 'Endpoints', plural: 'endpoints', shortNames: ['ep'] },
    { kind: 'PersistentVolume', plural: 'persistentvolumes', shortNames: ['pv'], namespaced: false, status: true },
    { kind: 'ResourceQuota', plural: 'resourcequotas', shortNames: ['quota'], status: true },
    { kind: 'LimitRange', plural: 'limitranges', shortNames: ['limits'] },
  ]),
  ...group('apps', 'v1', [
    { kind: 'Deployment', plural: 'deployments', scale: true, shortNames: ['deploy'], status: true, all: true },
    { kind: 'StatefulSet', plural: 'statefulsets', scale: true, shortNames: ['sts'], status: true, all: true },
    { kind: 'DaemonSet', plural: 'daemonsets', shortNames: ['ds'], status: true, all: true },
    { kind: 'ReplicaSet', plural: 'replicasets', scale: true, shortNames: ['rs'], status: true, all: true },
    { kind: 'ControllerRevision', plural: 'controllerrevisions' },
  ]),
  ...group('autoscaling', 'v2', [{ kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers', shortNames: ['hpa'], status: true, all: true }]),
  ...group('policy', 'v1', [{ kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', shortNames: ['pdb'], status: true }]),
  ...group('coordination.k8s.io', 'v1', [{ kind: 'Lease', plural: 'leases' }]),
  ...group('discovery.k8s.io', 'v1', [{ kind: 'EndpointSlice', plural: 'endpointslices' }]),
  ...group('storage.k8s.io', 'v1', [{ kind: 'StorageClass', plural: 'storageclasses', shortNames: ['sc'], namespaced: false }]),
  ...group('scheduling.k8s.io', 'v1', [{ kind: 'PriorityClass', plural: 'priorityclasses', shortNames: ['pc'], namespaced: false }]),
  ...group('admissionregistration.k8s.io', 'v1', [
    { kind: 'ValidatingWebhookConfiguration', plural: 'validatingwebhookconfigurations', namespaced: false },
    { kind: 'MutatingWebhookConfiguration', plural: 'mutatingwebhookconfigurations', namespaced: false },
  ]),
  ...group('authorization.k8s.io', 'v1', [
    { kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', namespaced: false, review: true },
    { kind: 'SelfSubjectRulesReview', plural: 'selfsubjectrulesreviews', namespaced: false, review: true },
  ]),
  ...group('authentication.k8s.io', 'v1', [{ kind: 'SelfSubjectReview', plural: 'selfsubjectreviews', namespaced: false, review: true }]),
  ...group('apiregistration.k8s.io', 'v1', [{ kind: 'APIService', plural: 'apiservices', namespaced: false, status: true }]),
  ...group('batch', 'v1', [
    { kind: 'Job', plural: 'jobs', status: true, all: true },
    { kind: 'CronJob', plural: 'cronjobs', shortNames: ['cj'], status: true, all: true },
  ]),
  ...group('networking.k8s.io', 'v1', [
    { kind: 'Ingress', plural: 'ingresses', shortNames: ['ing'], status: true },
    { kind: 'IngressClass', plural: 'ingressclasses', namespaced: false },
    { kind: 'NetworkPolicy', plural: 'networkpolicies', shortNames: ['netpol'] },
  ]),
  ...group('rbac.authorization.k8s.io', 'v1', [
    { kind: 'Role', plural: 'roles' },
    { kind: 'RoleBinding', plural: 'rolebindings' },
    { kind: 'ClusterRole', plural: 'clusterroles', namespaced: false },
    { kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false },
  ]),
  ...group('apiextensions.k8s.io', 'v1', [
    { kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', shortNames: ['crd', 'crds'], namespaced: false, status: true },
  ]),
];

/** `apps/v1`, or `v1` for the core group. */
export function groupVersionOf(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** Storage key: all versions of one group's resource share their objects. */
export function storageKeyOf(type: Pick<ResourceType, 'group' | 'plural'>): string {
  return `${type.group}/${type.plural}`;
}

export interface ResourceRegistry {
  /** The type served at `group/version/plural`, if any. */
  lookup(groupName: string, version: string, plural: string): ResourceType | undefined;
  /** Any served version of the type with this `apiVersion` and `kind`. */
  lookupKind(apiVersion: string, kind: string): ResourceType | undefined;
  all(): ResourceType[];
  /** Replaces the types one CRD declares (an empty list removes them). */
  /** The first served type stored under `group/plural` (see `storageKeyOf`). */
  forStorageKey(storageKey: string): ResourceType | undefined;
  setCustom(crdName: string, types: ResourceType[]): void;
  customOf(crdName: string): ResourceType[];
}

export function createResourceRegistry(): ResourceRegistry {
  const custom = new Map<string, ResourceType[]>();
  let served: ResourceType[] | undefined;
  let byStorageKey: Map<string, ResourceType> | undefined;
  const all = () => (served ??= [...BUILT_IN_RESOURCES, ...[...custom.values()].flat()]);
  return {
    lookup: (groupName, version, plural) =>
      all().find((type) => type.group === groupName && type.version === version && type.plural === plural),
    lookupKind: (apiVersion, kind) => all().find((type) => groupVersionOf(type) === apiVersion && type.kind === kind),
    all: () => [...all()],
    forStorageKey(storageKey) {
      if (!byStorageKey) {
        byStorageKey = new Map();
        for (const type of all()) if (!byStorageKey.has(storageKeyOf(type))) byStorageKey.set(storageKeyOf(type), type);
      }
      return byStorageKey.get(storageKey);
    },
    setCustom(crdName, types) {
      if (types.length === 0) custom.delete(crdName);
      else custom.set(crdName, types);
      served = undefined;
      byStorageKey = undefined;
    },
    customOf: (crdName) => custom.get(crdName) ?? [],
  };
}

/** The types a CustomResourceDefinition declares (one per served version), or [] when it is not usable. */
export function typesOfCrd(crd: Record<string, unknown>): ResourceType[] {
  const spec = (crd.spec ?? {}) as {
    group?: string;
    scope?: string;
    names?: { plural?: string; singular?: string; kind?: string; listKind?: string; shortNames?: string[]; categories?: string[] };
    versions?: Array<{ name?: string; served?: boolean; subresources?: { status?: unknown } }>;
  };
  const name = String((crd.metadata as { name?: string } | undefined)?.name ?? '');
  const names = spec.names ?? {};
  if (!spec.group || !names.plural || !names.kind) return [];
  return (spec.versions ?? [])
    .filter((version) => version.name && version.served !== false)
    .map((version) => ({
      group: spec.group as string,
      version: version.name as string,
      kind: names.kind as string,
      listKind: names.listKind ?? `${names.kind}List`,
      plural: names.plural as string,
      singular: names.singular ?? (names.kind as string).toLowerCase(),
      shortNames: names.shortNames ?? [],
      namespaced: spec.scope !== 'Cluster',
      subresources: version.subresources?.status !== undefined ? ['status' as const] : [],
      categories: names.categories ?? [],
      crd: name,
    }));
}
