/**
 * The platform team's rules for workloads, as pure functions the API runs at write time: what a
 * definition may say (one source, well-formed manifests, its own defaults within its guardrails)
 * and what an instance may be (only overridable fields; the rendered objects within the
 * guardrails). Guardrails are judged on the rendered objects, so they hold for both sources.
 */
import { valuesOverrideViolations } from './chart-values.js';
import { imageRegistry, normalizeRegistry } from './image-reference.js';
import { containersOf, groupOf, isReplicated, podSpecOf } from './pod-templates.js';
import { renderWorkload } from './render-workload.js';
import type { KubeManifest, Overridable, Violation, WorkloadDefinitionSpec, WorkloadInstanceSpec } from './workload-types.js';

/** The most documents a definition's manifests may hold. */
export const MAX_MANIFEST_DOCUMENTS = 200;

const API_VERSION = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Za-z][A-Za-z0-9]{0,62}$/;
const list = (values: readonly string[]) => (values.length === 0 ? 'none' : values.join(', '));
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `Deployment web`: how an object is named in a message. */
export const describeObject = (object: KubeManifest) => `${object.kind} ${object.metadata.name}`;

/**
 * The shape rules of a manifests source: each document a Kubernetes object with apiVersion, kind
 * and a name, no namespace (the instance decides it), no Namespace object, no object twice.
 */
export function manifestViolations(documents: readonly unknown[]): Violation[] {
  const violations: Violation[] = [];
  const at = (index: number, message: string, rule: string) => violations.push({ path: 'spec.manifests', rule, message: `document ${index + 1}: ${message}` });
  if (documents.length > MAX_MANIFEST_DOCUMENTS) {
    return [{ path: 'spec.manifests', rule: 'maxDocuments', message: `holds ${documents.length} documents; at most ${MAX_MANIFEST_DOCUMENTS}` }];
  }
  const seen = new Map<string, number>();
  let objects = 0;
  documents.forEach((document, index) => {
    if (document === null || document === undefined) return;
    if (!isRecord(document)) return at(index, 'is not a Kubernetes object (a mapping with apiVersion, kind and metadata)', 'object');
    objects += 1;
    const { apiVersion, kind, metadata } = document;
    if (typeof apiVersion !== 'string' || !API_VERSION.test(apiVersion)) return at(index, 'apiVersion must be a group/version such as apps/v1 (or v1)', 'apiVersion');
    if (typeof kind !== 'string' || !KIND.test(kind)) return at(index, 'kind must be a Kubernetes kind such as Deployment', 'kind');
    if (!isRecord(metadata)) return at(index, `${kind}: metadata with a name is required`, 'required');
    const name = metadata['name'];
    if (typeof name !== 'string' || name.length === 0 || name.length > 253 || name === '.' || name === '..' || /[/%]/.test(name)) {
      return at(index, `${kind}: metadata.name is required: 1 to 253 characters, no "/" or "%"`, 'name');
    }
    if (metadata['namespace'] !== undefined) {
      return at(index, `${kind} ${name}: metadata.namespace is set; leave it out, the instance's spec.namespace decides it`, 'namespace');
    }
    if (groupOf(apiVersion) === '' && kind === 'Namespace') {
      return at(index, `Namespace ${name}: a definition may not make namespaces; each instance gets its spec.namespace`, 'namespace');
    }
    const identity = `${groupOf(apiVersion)}/${kind}/${name}`;
    const first = seen.get(identity);
    if (first !== undefined) return at(index, `${kind} ${name} is already document ${first + 1}`, 'unique');
    seen.set(identity, index);
  });
  if (violations.length === 0 && objects === 0) violations.push({ path: 'spec.manifests', rule: 'required', message: 'holds no Kubernetes object' });
  return violations;
}

/** A guardrail broken by one rendered object: an image (of the first container or another) or a replica count. */
interface Finding {
  on: 'firstImage' | 'otherImage' | 'replicas';
  rule: string;
  message: string;
}

function guardrailFindings(objects: readonly KubeManifest[], definition: WorkloadDefinitionSpec, whose: string): Finding[] {
  const findings: Finding[] = [];
  const allowed = definition.allowedImageRegistries;
  for (const object of objects) {
    const replicas = isReplicated(object) && isRecord(object['spec']) ? object['spec']['replicas'] : undefined;
    if (definition.maxReplicas !== undefined && typeof replicas === 'number' && replicas > definition.maxReplicas) {
      findings.push({ on: 'replicas', rule: 'maxReplicas', message: `${describeObject(object)}: ${replicas} replicas is more than ${whose} allows (${definition.maxReplicas})` });
    }
    const podSpec = podSpecOf(object);
    if (podSpec === undefined) continue;
    const containers = [...containersOf(podSpec), ...containersOf(podSpec, 'initContainers')];
    containers.forEach((container, index) => {
      const image = container['image'];
      const on = index === 0 ? 'firstImage' : 'otherImage';
      if (typeof image !== 'string' || image.length === 0) {
        findings.push({ on, rule: 'image-reference', message: `${describeObject(object)}: container ${String(container['name'] ?? index + 1)} has no image` });
        return;
      }
      const parsed = imageRegistry(image);
      if ('error' in parsed) {
        findings.push({ on, rule: 'image-reference', message: `${describeObject(object)}: "${image}" is not an image reference: ${parsed.error}` });
      } else if (allowed !== undefined && !allowed.map(normalizeRegistry).includes(parsed.registry)) {
        findings.push({
          on,
          rule: 'allowedImageRegistries',
          message: `${describeObject(object)}: registry ${parsed.registry} (of "${image}") is not one ${whose} allows (${list(allowed)})`,
        });
      }
    });
  }
  return findings;
}

/** Stand-in identity for rendering a definition on its own (names and labels do not affect its rules). */
const PROBE_INSTANCE = { project: 'project', name: 'instance', uid: '00000000-0000-0000-0000-000000000000' };

/**
 * A definition's own rules: one source; its manifests well formed (`documents` are the parsed
 * `spec.manifests`); an image or a way for instances to bring one; and what it renders to without
 * overrides within its own guardrails.
 */
export function definitionViolations(spec: WorkloadDefinitionSpec, documents?: readonly unknown[]): Violation[] {
  if ([spec.container, spec.manifests, spec.helm].filter((source) => source !== undefined).length !== 1) {
    return [{ path: 'spec', rule: 'source', message: 'needs exactly one source: spec.container (an image Tugboat runs), spec.manifests (Kubernetes YAML) or spec.helm (a Helm chart)' }];
  }
  if (spec.manifests !== undefined) {
    const shape = manifestViolations(documents ?? []);
    if (shape.length > 0) return shape;
  }
  const overridable = spec.overridable ?? [];
  const violations: Violation[] = [];
  if (spec.container !== undefined && spec.container.image === undefined && !overridable.includes('image')) {
    violations.push({ path: 'spec.overridable', rule: 'image', message: 'spec.container.image is not set, so instances must bring one: add image to overridable (or set the image)' });
  }
  const objects = renderWorkload({ ...PROBE_INSTANCE, spec: { definitionRef: { name: '' }, clusterRef: { name: '' } }, definition: spec, ...(documents ? { documents } : {}) });
  for (const finding of guardrailFindings(objects, spec, 'this definition')) {
    // An image the instances bring is judged on each instance.
    if (spec.container !== undefined && spec.container.image === undefined && finding.on === 'firstImage') continue;
    const path = spec.manifests !== undefined ? 'spec.manifests' : finding.on === 'replicas' ? 'spec.container.replicas' : 'spec.container.image';
    violations.push({ path, rule: finding.rule, message: finding.message });
  }
  return violations;
}

/**
 * An instance against its definition: only the fields the definition lets it override, an image
 * when the definition has none, and the objects it renders to within the definition's guardrails.
 * A broken guardrail is reported on the override that set the value, else on `spec.definitionRef`.
 */
export function instanceViolations(
  instance: WorkloadInstanceSpec,
  definition: WorkloadDefinitionSpec,
  definitionName: string,
  documents?: readonly unknown[],
  /** The instance's name, so messages name its objects (`Deployment web: …`). */
  instanceName = 'instance',
): Violation[] {
  const overrides = instance.overrides ?? {};
  const overridable = definition.overridable ?? [];
  const violations: Violation[] = [];
  if (overrides.values !== undefined) {
    if (definition.helm === undefined) {
      violations.push({ path: 'spec.overrides.values', rule: 'source', message: `WorkloadDefinition ${definitionName} is not a Helm chart: it has no values to set` });
    } else {
      violations.push(...valuesOverrideViolations(overrides.values, definition.helm.overridableValues, definitionName));
    }
  }
  for (const key of Object.keys(overrides) as Array<Overridable | 'values'>) {
    if (key === 'values') continue;
    if (!overridable.includes(key)) {
      violations.push({
        path: `spec.overrides.${key}`,
        rule: 'overridable',
        message: `WorkloadDefinition ${definitionName} does not let instances override ${key} (overridable: ${list(overridable)})`,
      });
    }
  }
  if (definition.container !== undefined && definition.container.image === undefined && overrides.image === undefined) {
    violations.push({ path: 'spec.overrides.image', rule: 'required', message: `WorkloadDefinition ${definitionName} has no image of its own: set spec.overrides.image` });
  }
  if (violations.length > 0) return violations;
  // A chart's objects exist only once the workload-controller renders it: it holds them to the
  // guardrails then (`renderedViolations`); what the instance itself sets is judged here.
  if (definition.helm !== undefined) return overrideGuardrails(overrides, definition, definitionName);
  const objects = renderWorkload({ ...PROBE_INSTANCE, name: instanceName, spec: instance, definition, ...(documents ? { documents } : {}) });
  const imageOverride = overrides.image !== undefined ? 'spec.overrides.image' : overrides.imageTag !== undefined ? 'spec.overrides.imageTag' : undefined;
  return guardrailFindings(objects, definition, `WorkloadDefinition ${definitionName}`).map((finding) => {
    const path =
      finding.on === 'replicas' && overrides.replicas !== undefined
        ? 'spec.overrides.replicas'
        : finding.on === 'firstImage' && imageOverride !== undefined
          ? imageOverride
          : 'spec.definitionRef';
    return { path, rule: finding.rule, message: finding.message };
  });
}



/** A Helm-chart instance's own replica and image overrides against the guardrails (its chart is judged when rendered). */
function overrideGuardrails(overrides: WorkloadInstanceSpec['overrides'] & object, definition: WorkloadDefinitionSpec, definitionName: string): Violation[] {
  const probe: KubeManifest = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'overrides' },
    spec: {
      ...(overrides.replicas === undefined ? {} : { replicas: overrides.replicas }),
      template: { spec: { containers: overrides.image === undefined ? [] : [{ name: 'app', image: overrides.image }] } },
    },
  };
  return guardrailFindings([probe], definition, `WorkloadDefinition ${definitionName}`).map((finding) => ({
    path: finding.on === 'replicas' ? 'spec.overrides.replicas' : 'spec.overrides.image',
    rule: finding.rule,
    message: finding.message.replace('Deployment overrides: ', ''),
  }));
}

/**
 * Rendered objects (a chart's, as `helm template` made them for an instance) against the
 * definition's guardrails: the workload-controller's check before it applies a chart.
 */
export function renderedViolations(objects: readonly KubeManifest[], definition: WorkloadDefinitionSpec, definitionName: string): Violation[] {
  return guardrailFindings(objects, definition, `WorkloadDefinition ${definitionName}`).map((finding) => ({ path: 'spec.helm', rule: finding.rule, message: finding.message }));
}
