/**
 * The platform team's guardrails as pure functions: what an instance may be, given its
 * definition's spec, and what a definition may say about itself. No I/O: `admission.ts` reads the
 * definitions inside the write's transaction and calls these.
 *
 * Each returns violations (field, rule, message); the rule is the name of the definition field that
 * sets the limit (`maxReplicas`, `allowedImageRegistries`, `allowedVersions`, `overridable` …) or
 * `provider`. The workload rules are `@tugboat/workloads`' (judged on the rendered objects, as the
 * workload-controller renders them); this file adapts them to stored specs.
 * Specs reaching here have passed their kind's JSON Schema, so shapes are as declared.
 */
import type { ErrorDetail } from '@tugboat/resource-model';
import { definitionViolations, instanceViolations, valuesOverrideViolations, type WorkloadDefinitionSpec, type WorkloadInstanceSpec } from '@tugboat/workloads';
import { isJsonObject, type JsonObject } from './json-value.js';

export type Violation = Required<ErrorDetail>;

/** Fields only an EKS cluster has: a `kubeconfig` cluster refuses them. */
const EKS_ONLY_FIELDS = ['accountRef', 'region', 'version', 'nodeGroups', 'network'] as const;
/** Fields only a `kubeconfig` cluster has: an EKS cluster refuses them. */
const KUBECONFIG_ONLY_FIELDS = ['kubeconfig', 'context'] as const;

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
const list = (values: string[]) => values.join(', ');

/**
 * A WorkloadInstance against its WorkloadDefinition (`definitionName` for the messages;
 * `documents`, the definition's parsed `spec.manifests`): only overridable fields, and the objects
 * it renders to within the definition's guardrails (`@tugboat/workloads`, shared with the controller).
 */
export function workloadInstanceViolations(spec: JsonObject, definition: JsonObject, definitionName: string, documents?: readonly unknown[], instanceName?: string): Violation[] {
  return instanceViolations(spec as unknown as WorkloadInstanceSpec, definition as unknown as WorkloadDefinitionSpec, definitionName, documents, instanceName);
}

/**
 * A WorkloadDefinition's own consistency: one source, well-formed manifests, an image or a way for
 * instances to bring one, its defaults within its guardrails, and no port (number or name) twice.
 */
export function workloadDefinitionViolations(definition: JsonObject, documents?: readonly unknown[]): Violation[] {
  const violations = definitionViolations(definition as unknown as WorkloadDefinitionSpec, documents);
  const container = definition['container'];
  const ports = isJsonObject(container) && Array.isArray(container['ports']) ? container['ports'] : [];
  const numbers = new Map<number, number>();
  const names = new Map<string, number>();
  ports.forEach((port, index) => {
    if (!isJsonObject(port)) return;
    const at = `spec.container.ports[${index}]`;
    const number = port['port'];
    if (typeof number === 'number') {
      const first = numbers.get(number);
      if (first !== undefined) violations.push({ path: `${at}.port`, rule: 'unique', message: `${number} is already ports[${first}]` });
      else numbers.set(number, index);
    }
    const name = port['name'];
    if (typeof name === 'string') {
      const first = names.get(name);
      if (first !== undefined) violations.push({ path: `${at}.name`, rule: 'unique', message: `${name} is already the name of ports[${first}]` });
      else names.set(name, index);
    }
  });
  // A container's metrics are scraped from a port of the Service Tugboat renders: one it declares (by name, or `tcp-<port>` unnamed).
  const metrics = definition['metrics'];
  if (isJsonObject(container) && isJsonObject(metrics) && typeof metrics['port'] === 'string') {
    const served = ports.filter(isJsonObject).map((port) => (typeof port['name'] === 'string' ? port['name'] : `${String(port['protocol'] ?? 'TCP').toLowerCase()}-${String(port['port'])}`));
    if (!served.includes(metrics['port'])) {
      violations.push({
        path: 'spec.metrics.port',
        rule: 'exists',
        message: served.length === 0 ? `"${metrics['port']}" is not a port of the container: it declares none (spec.container.ports)` : `"${metrics['port']}" is not a port of the container (${served.join(', ')})`,
      });
    }
  }
  return violations;
}

/** An ObservabilityInstance's chart values overrides: each path one its definition's `overridableValues` allows (`metrics.…`, `logs.…`, `collector.…`). */
export function observabilityInstanceViolations(spec: JsonObject, definition: JsonObject, definitionName: string): Violation[] {
  const overrides = isJsonObject(spec['overrides']) ? spec['overrides'] : {};
  const values = isJsonObject(overrides['values']) ? overrides['values'] : {};
  const allowed = Array.isArray(definition['overridableValues']) ? definition['overridableValues'].filter((v): v is string => typeof v === 'string') : [];
  const violations: Violation[] = [];
  for (const part of ['metrics', 'logs', 'collector'] as const) {
    const partValues = values[part];
    if (!isJsonObject(partValues)) continue;
    const partAllowed = allowed.filter((path) => path.startsWith(`${part}.`)).map((path) => path.slice(part.length + 1));
    violations.push(...valuesOverrideViolations(partValues, partAllowed, definitionName, { definitionKind: 'ObservabilityDefinition', at: `spec.overrides.values.${part}` }));
  }
  return violations;
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
    // What EKS refuses (InvalidParameterException), said at write time: it was only found after the
    // network and the control plane had been made, many minutes in.
    const [min, max, desired] = [group['minSize'], group['maxSize'], group['desiredSize']];
    if (typeof min === 'number' && typeof max === 'number' && min > max) {
      violations.push({ path: `${path}.minSize`, rule: 'node-group-sizes', message: `${min} is more than maxSize (${max})` });
    } else if (typeof desired === 'number' && typeof min === 'number' && typeof max === 'number' && (desired < min || desired > max)) {
      violations.push({ path: `${path}.desiredSize`, rule: 'node-group-sizes', message: `${desired} is not between minSize (${min}) and maxSize (${max})` });
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

/** A version `a.b.c` as numbers, for ordering (`16.4` < `16.10`). */
function versionParts(version: string): number[] {
  return version.split('.').map((part) => Number(part));
}

/** Negative when `a` is older than `b`. */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [versionParts(a), versionParts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const difference = (x[i] ?? 0) - (y[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * A DatabaseInstance against its DatabaseDefinition: version and class in the allowed lists (the
 * instance's own or the definition's defaults), storage within the range, and where it goes: a
 * cluster, or an account with subnets, not both and not neither.
 */
export function databaseInstanceViolations(spec: JsonObject, definition: JsonObject, definitionName: string): Violation[] {
  const violations: Violation[] = [];
  const defaults = isJsonObject(definition['defaults']) ? definition['defaults'] : {};
  const pick = (field: string) => spec[field] ?? defaults[field];
  const inList = (field: 'version' | 'instanceClass', rule: 'allowedVersions' | 'allowedInstanceClasses') => {
    const value = pick(field);
    const allowed = strings(definition[rule]);
    if (value === undefined) {
      violations.push({ path: `spec.${field}`, rule: 'required', message: `is required: the definition ${definitionName} has no defaults.${field}` });
    } else if (typeof value === 'string' && !allowed.includes(value)) {
      violations.push({ path: `spec.${field}`, rule, message: `${value} is not one the definition ${definitionName} allows (${list(allowed)})` });
    }
  };
  inList('version', 'allowedVersions');
  inList('instanceClass', 'allowedInstanceClasses');
  const range = isJsonObject(definition['storageGb']) ? definition['storageGb'] : {};
  const storage = pick('storageGb');
  const [min, max] = [range['min'], range['max']];
  if (storage === undefined) {
    if (typeof min !== 'number') violations.push({ path: 'spec.storageGb', rule: 'required', message: `is required: the definition ${definitionName} has no defaults.storageGb` });
  } else if (typeof storage === 'number' && ((typeof min === 'number' && storage < min) || (typeof max === 'number' && storage > max))) {
    violations.push({ path: 'spec.storageGb', rule: 'storageGb', message: `${storage} is outside the definition ${definitionName}'s range (${String(min)}–${String(max)} GB)` });
  }
  const parameters = spec['parameters'];
  if (isJsonObject(parameters)) {
    const allowed = strings(definition['allowedParameters']);
    for (const name of Object.keys(parameters)) {
      if (!allowed.includes(name)) {
        violations.push({
          path: `spec.parameters.${name}`,
          rule: 'allowedParameters',
          message: allowed.length === 0 ? `is not allowed: the definition ${definitionName} allows no parameters` : `is not a parameter the definition ${definitionName} allows (${list(allowed)})`,
        });
      }
    }
  }
  const hasCluster = spec['clusterRef'] !== undefined;
  const hasNetwork = spec['network'] !== undefined;
  if (hasCluster === hasNetwork) {
    violations.push({
      path: hasCluster ? 'spec.network' : 'spec.clusterRef',
      rule: 'oneOf',
      message: hasCluster ? 'give clusterRef or network, not both' : 'is required: the cluster whose network the database joins (or, for a cluster Tugboat did not make, spec.network)',
    });
  }
  return violations;
}

/** A DatabaseDefinition's own consistency: a storage range that is one, and defaults within it and the lists. */
export function databaseDefinitionViolations(definition: JsonObject): Violation[] {
  const violations: Violation[] = [];
  const range = isJsonObject(definition['storageGb']) ? definition['storageGb'] : {};
  const [min, max] = [range['min'], range['max']];
  if (typeof min === 'number' && typeof max === 'number' && min > max) {
    violations.push({ path: 'spec.storageGb.min', rule: 'range', message: `${min} is above max (${max})` });
  }
  const defaults = definition['defaults'];
  if (isJsonObject(defaults)) {
    for (const [field, rule] of [['version', 'allowedVersions'], ['instanceClass', 'allowedInstanceClasses']] as const) {
      const value = defaults[field];
      const allowed = strings(definition[rule]);
      if (typeof value === 'string' && !allowed.includes(value)) violations.push({ path: `spec.defaults.${field}`, rule, message: `${value} is not one this definition allows (${list(allowed)})` });
    }
    const storage = defaults['storageGb'];
    if (typeof storage === 'number' && ((typeof min === 'number' && storage < min) || (typeof max === 'number' && storage > max))) {
      violations.push({ path: 'spec.defaults.storageGb', rule: 'storageGb', message: `${storage} is outside this definition's range (${String(min)}–${String(max)} GB)` });
    }
  }
  if (definition['applyChanges'] === 'maintenanceWindow' && definition['maintenanceWindow'] === undefined) {
    violations.push({ path: 'spec.maintenanceWindow', rule: 'required', message: 'is required when applyChanges is maintenanceWindow' });
  }
  return violations;
}

/**
 * What an update of a DatabaseInstance may not do, whatever the definition allows: shrink its
 * storage (RDS cannot), go back to an older engine version (RDS cannot downgrade), rename its
 * database, or move to another network.
 */
export function databaseUpdateViolations(spec: JsonObject, current: JsonObject): Violation[] {
  const violations: Violation[] = [];
  const [before, after] = [current['storageGb'], spec['storageGb']];
  if (typeof before === 'number' && typeof after === 'number' && after < before) {
    violations.push({ path: 'spec.storageGb', rule: 'no-shrink', message: `${after} is less than the ${before} GB it has: RDS storage only grows` });
  }
  const [was, now] = [current['version'], spec['version']];
  if (typeof was === 'string' && typeof now === 'string' && compareVersions(now, was) < 0) {
    violations.push({ path: 'spec.version', rule: 'no-downgrade', message: `${now} is older than ${was}: RDS cannot downgrade an engine` });
  }
  for (const field of ['databaseName', 'clusterRef', 'network']) {
    if (current[field] !== undefined && JSON.stringify(current[field]) !== JSON.stringify(spec[field])) {
      violations.push({ path: `spec.${field}`, rule: 'immutable', message: 'cannot change: delete the database and create another (after a snapshot, if its data matters)' });
    }
  }
  return violations;
}

/** A WorkloadInstance's `databases`: each database once, each prefix once (the env names would collide). */
export function workloadDatabaseViolations(spec: JsonObject): Violation[] {
  const violations: Violation[] = [];
  const entries = Array.isArray(spec['databases']) ? spec['databases'] : [];
  const names = new Map<string, number>();
  const prefixes = new Map<string, number>();
  entries.forEach((entry, index) => {
    if (!isJsonObject(entry)) return;
    const name = isJsonObject(entry['ref']) ? entry['ref']['name'] : undefined;
    const prefix = entry['envPrefix'];
    if (typeof name === 'string') {
      const first = names.get(name);
      if (first !== undefined) violations.push({ path: `spec.databases[${index}].ref`, rule: 'unique', message: `DatabaseInstance ${name} is already databases[${first}]` });
      else names.set(name, index);
    }
    if (typeof prefix === 'string') {
      const first = prefixes.get(prefix);
      if (first !== undefined) violations.push({ path: `spec.databases[${index}].envPrefix`, rule: 'unique', message: `${prefix} is already the prefix of databases[${first}]` });
      else prefixes.set(prefix, index);
    }
  });
  // Each secret once; a file needs no mount path of another's (the last mount would hide the first).
  const secrets = Array.isArray(spec['secrets']) ? spec['secrets'] : [];
  const secretNames = new Map<string, number>();
  const mountPaths = new Map<string, number>();
  secrets.forEach((entry, index) => {
    if (!isJsonObject(entry)) return;
    const name = isJsonObject(entry['ref']) ? entry['ref']['name'] : undefined;
    if (typeof name === 'string') {
      const first = secretNames.get(name);
      if (first !== undefined) violations.push({ path: `spec.secrets[${index}].ref`, rule: 'unique', message: `SecretInstance ${name} is already secrets[${first}]` });
      else secretNames.set(name, index);
    }
    if (entry['as'] !== 'file') {
      if (entry['mountPath'] !== undefined) violations.push({ path: `spec.secrets[${index}].mountPath`, rule: 'as', message: 'is only for a secret given as a file (as: file)' });
      return;
    }
    const mountPath = typeof entry['mountPath'] === 'string' ? entry['mountPath'] : `/var/run/secrets/tugboat/${String(name)}`;
    const first = mountPaths.get(mountPath);
    if (first !== undefined) violations.push({ path: `spec.secrets[${index}].mountPath`, rule: 'unique', message: `${mountPath} is already where secrets[${first}] is mounted` });
    else mountPaths.set(mountPath, index);
  });
  return violations;
}
