/**
 * A WorkloadInstance and its definition → the Kubernetes objects that deliver it. Pure: the API
 * renders to check guardrails at write time and the workload-controller renders to apply, and both
 * must see the same objects.
 */
import { createHash } from 'node:crypto';
import { withTag } from './image-reference.js';
import { containersOf, isReplicated, podSpecOf, specOf } from './pod-templates.js';
import {
  LABELS,
  MANAGED_BY,
  type ContainerSource,
  type KubeManifest,
  type Probe,
  type WorkloadDefinitionSpec,
  type WorkloadInstanceSpec,
  type WorkloadMetrics,
  type WorkloadOverrides,
} from './workload-types.js';

export interface RenderInput {
  /** The instance's identity: names its objects and labels them. */
  project: string;
  name: string;
  uid: string;
  spec: WorkloadInstanceSpec;
  definition: WorkloadDefinitionSpec;
  /** The definition's `manifests`, parsed by the caller (YAML documents; empty ones as `null`). */
  documents?: readonly unknown[];
}

const NAMESPACE_MAX = 63;

/**
 * The namespace an instance gets when it names none: `<project>-<name>`, or, past 63 characters,
 * its first 54 and a hash of both names (so two long names still get two namespaces).
 */
export function derivedNamespace(project: string, name: string): string {
  const plain = `${project}-${name}`;
  if (plain.length <= NAMESPACE_MAX) return plain;
  const hash = createHash('sha256').update(`${project}/${name}`).digest('hex').slice(0, 8);
  return `${plain.slice(0, NAMESPACE_MAX - 9).replace(/-+$/, '')}-${hash}`;
}

/** The labels every object of an instance carries: how Tugboat finds, prunes and explains them. */
export function instanceLabels(input: Pick<RenderInput, 'project' | 'name' | 'uid'>): Record<string, string> {
  return { [LABELS.managedBy]: MANAGED_BY, [LABELS.instanceUid]: input.uid, [LABELS.instance]: input.name, [LABELS.project]: input.project };
}

/** The documents of a manifests source that hold an object (YAML's empty documents are skipped, as kubectl does). */
export function manifestObjects(documents: readonly unknown[]): KubeManifest[] {
  return documents.filter((document): document is KubeManifest => typeof document === 'object' && document !== null && !Array.isArray(document));
}

/** The objects for an instance, in apply order. `metadata.namespace` is never set: the caller knows which kinds are namespaced. */
export function renderWorkload(input: RenderInput): KubeManifest[] {
  const overrides = input.spec.overrides ?? {};
  const labels = instanceLabels(input);
  const objects = input.definition.container
    ? renderContainer(input, input.definition.container, overrides, labels)
    : renderManifests(input.documents ?? [], overrides);
  for (const object of objects) object.metadata.labels = { ...object.metadata.labels, ...labels };
  return objects;
}

function envList(env: Record<string, string>): Array<{ name: string; value: string }> {
  return Object.keys(env)
    .sort()
    .map((name) => ({ name, value: env[name]! }));
}

function probe(source: Probe | undefined): Record<string, unknown> | undefined {
  if (source === undefined) return undefined;
  return {
    ...(source.httpGet ? { httpGet: { path: source.httpGet.path, port: source.httpGet.port } } : {}),
    ...(source.tcpSocket ? { tcpSocket: { port: source.tcpSocket.port } } : {}),
    ...(source.initialDelaySeconds === undefined ? {} : { initialDelaySeconds: source.initialDelaySeconds }),
    ...(source.periodSeconds === undefined ? {} : { periodSeconds: source.periodSeconds }),
  };
}

/** The image an instance runs: its own, else the definition's, with its tag override applied. */
export function effectiveImage(definitionImage: string | undefined, overrides: WorkloadOverrides): string | undefined {
  const image = overrides.image ?? definitionImage;
  if (image === undefined) return undefined;
  return overrides.imageTag === undefined ? image : withTag(image, overrides.imageTag);
}

function renderContainer(input: RenderInput, source: ContainerSource, overrides: WorkloadOverrides, labels: Record<string, string>): KubeManifest[] {
  const { name, uid } = input;
  const selector = { [LABELS.instanceUid]: uid };
  const env = { ...source.env, ...overrides.env };
  const command = overrides.command ?? source.command;
  const args = overrides.args ?? source.args;
  const resources = overrides.resources ?? source.resources;
  const ports = source.ports ?? [];
  const readinessProbe = probe(source.readinessProbe);
  const livenessProbe = probe(source.livenessProbe);
  const container: Record<string, unknown> = {
    name: 'app',
    image: effectiveImage(source.image, overrides) ?? '',
    ...(command === undefined ? {} : { command }),
    ...(args === undefined ? {} : { args }),
    ...(ports.length === 0 ? {} : { ports: ports.map((port) => ({ ...(port.name ? { name: port.name } : {}), containerPort: port.port, protocol: port.protocol ?? 'TCP' })) }),
    ...(Object.keys(env).length === 0 ? {} : { env: envList(env) }),
    ...(resources === undefined ? {} : { resources }),
    ...(readinessProbe === undefined ? {} : { readinessProbe }),
    ...(livenessProbe === undefined ? {} : { livenessProbe }),
  };
  const objects: KubeManifest[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: {
        replicas: overrides.replicas ?? source.replicas ?? 1,
        selector: { matchLabels: selector },
        template: { metadata: { labels: { ...labels } }, spec: { serviceAccountName: name, containers: [container] } },
      },
    },
  ];
  if (ports.length > 0) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: {
        type: 'ClusterIP',
        selector,
        ports: ports.map((port) => {
          const protocol = port.protocol ?? 'TCP';
          return { name: port.name ?? `${protocol.toLowerCase()}-${port.port}`, port: port.port, targetPort: port.port, protocol };
        }),
      },
    });
  }
  return objects;
}

/**
 * The manifests with the instance's overrides, kustomize-like: image, tag, resources, command and
 * args go to the first container of every pod template, env to every container, replicas to every
 * Deployment, StatefulSet and ReplicaSet.
 */
function renderManifests(documents: readonly unknown[], overrides: WorkloadOverrides): KubeManifest[] {
  const objects = manifestObjects(documents).map((object) => structuredClone(object));
  for (const object of objects) {
    object.metadata = { ...object.metadata };
    if (overrides.replicas !== undefined && isReplicated(object)) specOf(object)['replicas'] = overrides.replicas;
    const podSpec = podSpecOf(object);
    if (podSpec === undefined) continue;
    const [first] = containersOf(podSpec);
    if (first !== undefined) {
      const image = effectiveImage(typeof first['image'] === 'string' ? first['image'] : undefined, overrides);
      if (image !== undefined) first['image'] = image;
      if (overrides.resources !== undefined) first['resources'] = overrides.resources;
      if (overrides.command !== undefined) first['command'] = overrides.command;
      if (overrides.args !== undefined) first['args'] = overrides.args;
    }
    if (overrides.env === undefined) continue;
    for (const container of containersOf(podSpec)) {
      const current = Array.isArray(container['env']) ? (container['env'] as Array<Record<string, unknown>>) : [];
      const replaced = new Set(Object.keys(overrides.env));
      container['env'] = [...current.filter((entry) => !replaced.has(String(entry['name']))), ...envList(overrides.env)];
    }
  }
  return objects;
}

/**
 * The ServiceMonitor that has the cluster's Prometheus scrape an instance's metrics: every Service
 * of the instance (by its uid label) at the port its definition names. Labelled like the
 * instance's other objects, so it is pruned with them.
 */
export function serviceMonitor(input: Pick<RenderInput, 'project' | 'name' | 'uid'>, metrics: WorkloadMetrics): KubeManifest {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: input.name, labels: instanceLabels(input) },
    spec: {
      selector: { matchLabels: { [LABELS.instanceUid]: input.uid } },
      endpoints: [{ port: metrics.port, path: metrics.path ?? '/metrics', interval: metrics.interval ?? '30s' }],
    },
  };
}
