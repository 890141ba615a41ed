/**
 * The platform team's guardrails as pure functions: what an instance may be, given its
 * definition's spec, and what a definition may say about itself. No I/O: `admission.ts` reads the
 * definitions inside the write's transaction and calls these.
 *
 * Each returns violations (field, rule, message); the rule is the name of the definition field that
 * sets the limit (`maxReplicas`, `allowedImageRegistries`, `allowedVersions` …) or `provider`.
 * Specs reaching here have passed their kind's JSON Schema, so shapes are as declared.
 */
import { parseFamiliarName } from '@swimlane/docker-reference';
import type { ErrorDetail } from '@tugboat/resource-model';
import { isJsonObject, type JsonObject } from './json-value.js';

export type Violation = Required<ErrorDetail>;

/** Fields only an EKS cluster has: a `kubeconfig` cluster refuses them. */
const EKS_ONLY_FIELDS = ['accountRef', 'region', 'version', 'nodeGroups'] as const;
/** Fields only a `kubeconfig` cluster has: an EKS cluster refuses them. */
const KUBECONFIG_ONLY_FIELDS = ['kubeconfig', 'context'] as const;

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
const list = (values: string[]) => values.join(', ');

/**
 * The registry an image is pulled from, resolved as Docker resolves it: no registry part means
 * `docker.io` (`nginx`, `nginxdemos/hello`), a first part with a dot, a colon or `localhost` is a
 * registry (`ghcr.io/x/y:1`, `localhost:5000/x`); `index.docker.io` is `docker.io`. Lower case, as
 * host names compare. `undefined` when the reference does not parse (with the reason).
 */
export function imageRegistry(image: string): { registry: string } | { error: string } {
  try {
    const domain = parseFamiliarName(image).domain;
    if (domain === undefined) return { error: 'has no registry' };
    return { registry: domain.toLowerCase() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** A registry as written in `allowedImageRegistries`, compared the way `imageRegistry` resolves one. */
export function normalizeRegistry(registry: string): string {
  const lower = registry.toLowerCase();
  return lower === 'index.docker.io' || lower === 'registry-1.docker.io' ? 'docker.io' : lower;
}

/** A WorkloadInstance against its WorkloadDefinition (`definitionName` for the messages). */
export function workloadInstanceViolations(spec: JsonObject, definition: JsonObject, definitionName: string): Violation[] {
  const violations: Violation[] = [];
  const maxReplicas = definition['maxReplicas'];
  const replicas = spec['replicas'];
  if (typeof maxReplicas === 'number' && typeof replicas === 'number' && replicas > maxReplicas) {
    violations.push({ path: 'spec.replicas', rule: 'maxReplicas', message: `${replicas} is more than the definition ${definitionName} allows (${maxReplicas})` });
  }
  const image = spec['image'];
  if (typeof image === 'string') {
    const parsed = imageRegistry(image);
    if ('error' in parsed) {
      violations.push({ path: 'spec.image', rule: 'image-reference', message: `"${image}" is not an image reference: ${parsed.error}` });
    } else if (Array.isArray(definition['allowedImageRegistries'])) {
      const allowed = strings(definition['allowedImageRegistries']);
      if (!allowed.map(normalizeRegistry).includes(parsed.registry)) {
        violations.push({
          path: 'spec.image',
          rule: 'allowedImageRegistries',
          message: `registry ${parsed.registry} (of "${image}") is not one the definition ${definitionName} allows (${allowed.length > 0 ? list(allowed) : 'none'})`,
        });
      }
    }
  }
  return violations;
}

/** A WorkloadDefinition's own consistency: its defaults within its limits. */
export function workloadDefinitionViolations(definition: JsonObject): Violation[] {
  const defaults = isJsonObject(definition['defaults']) ? definition['defaults'] : {};
  const maxReplicas = definition['maxReplicas'];
  const replicas = defaults['replicas'];
  if (typeof maxReplicas === 'number' && typeof replicas === 'number' && replicas > maxReplicas) {
    return [{ path: 'spec.defaults.replicas', rule: 'maxReplicas', message: `${replicas} is more than this definition's maxReplicas (${maxReplicas})` }];
  }
  return [];
}

/** A ClusterInstance against its ClusterDefinition: which fields its provider allows, and the EKS limits. */
export function clusterInstanceViolations(spec: JsonObject, definition: JsonObject, definitionName: string): Violation[] {
  const provider = definition['provider'];
  const violations: Violation[] = [];
  if (provider === 'kubeconfig') {
    if (spec['kubeconfig'] === undefined) {
      violations.push({ path: 'spec.kubeconfig', rule: 'provider', message: `is required: the definition ${definitionName} has provider kubeconfig (an existing cluster)` });
    }
    for (const field of EKS_ONLY_FIELDS) {
      if (spec[field] !== undefined) violations.push({ path: `spec.${field}`, rule: 'provider', message: `is for EKS clusters; the definition ${definitionName} has provider kubeconfig` });
    }
    return violations;
  }
  for (const field of KUBECONFIG_ONLY_FIELDS) {
    if (spec[field] !== undefined) violations.push({ path: `spec.${field}`, rule: 'provider', message: `is for kubeconfig clusters; the definition ${definitionName} has provider eks` });
  }
  violations.push(...eksShapeViolations(spec, definition, definitionName, 'spec'));
  return violations;
}

/**
 * Version, region, node sizes and node counts of an EKS cluster (or of a definition's defaults,
 * `at` naming where they sit) against the definition's allowed lists and `maxNodesPerGroup`.
 */
function eksShapeViolations(spec: JsonObject, definition: JsonObject, definitionName: string, at: string): Violation[] {
  const violations: Violation[] = [];
  const source = at === 'spec' ? `the definition ${definitionName}` : 'this definition';
  const allowedIn = (field: 'version' | 'region', rule: 'allowedVersions' | 'allowedRegions') => {
    const value = spec[field];
    if (typeof value !== 'string' || !Array.isArray(definition[rule])) return;
    const allowed = strings(definition[rule]);
    if (!allowed.includes(value)) violations.push({ path: `${at}.${field}`, rule, message: `${value} is not one ${source} allows (${list(allowed)})` });
  };
  allowedIn('version', 'allowedVersions');
  allowedIn('region', 'allowedRegions');
  const groups = Array.isArray(spec['nodeGroups']) ? spec['nodeGroups'] : [];
  const sizes = Array.isArray(definition['allowedNodeSizes']) ? strings(definition['allowedNodeSizes']) : undefined;
  const maxNodes = definition['maxNodesPerGroup'];
  groups.forEach((group, index) => {
    if (!isJsonObject(group)) return;
    const path = `${at}.nodeGroups[${index}]`;
    const size = group['instanceType'];
    if (sizes && typeof size === 'string' && !sizes.includes(size)) {
      violations.push({ path: `${path}.instanceType`, rule: 'allowedNodeSizes', message: `${size} is not one ${source} allows (${list(sizes)})` });
    }
    if (typeof maxNodes !== 'number') return;
    for (const field of ['minSize', 'maxSize', 'desiredSize']) {
      const count = group[field];
      if (typeof count === 'number' && count > maxNodes) {
        violations.push({ path: `${path}.${field}`, rule: 'maxNodesPerGroup', message: `${count} is more than ${source} allows per node group (${maxNodes})` });
      }
    }
  });
  return violations;
}

/** A ClusterDefinition's own consistency: its defaults within its allowed lists. */
export function clusterDefinitionViolations(definition: JsonObject): Violation[] {
  const defaults = definition['defaults'];
  if (!isJsonObject(defaults)) return [];
  return eksShapeViolations(defaults, definition, '', 'spec.defaults');
}
