/**
 * Defaulting and validation of objects, the part of the API server's per-type strategies that
 * clients notice: defaulted fields (replicas, protocol, clusterIP), 422 Invalid answers naming the
 * field and the rule, and immutable fields on update.
 */
import { parseCronSchedule } from './cron-schedule.js';
import { isPlainObject, type JsonObject } from './json-values.js';
import type { FieldError } from './kube-status.js';
import type { ResourceType } from './resource-table.js';

export interface KubeObject extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta extends JsonObject {
  name: string;
  namespace?: string;
  generateName?: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
}

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

const SUBDOMAIN_RULE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_RULE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

const LABEL_NAMED = new Set(['Namespace', 'Service']);
const PATH_SEGMENT_NAMED = new Set(['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);

function required(field: string): FieldError {
  return { field, type: 'FieldValueRequired', message: 'Required value' };
}

function invalidValue(field: string, value: unknown, rule: string): FieldError {
  return { field, type: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${rule}` };
}

function validateName(type: ResourceType, name: unknown): FieldError[] {
  if (typeof name !== 'string' || name === '') return [{ field: 'metadata.name', type: 'FieldValueRequired', message: 'Required value: name or generateName is required' }];
  if (PATH_SEGMENT_NAMED.has(type.kind)) {
    return name === '.' || name === '..' || /[/%]/.test(name) ? [invalidValue('metadata.name', name, 'may not contain "/" or "%"')] : [];
  }
  if (LABEL_NAMED.has(type.kind)) {
    if (name.length > 63) return [invalidValue('metadata.name', name, 'must be no more than 63 characters')];
    return LABEL.test(name) ? [] : [invalidValue('metadata.name', name, LABEL_RULE)];
  }
  if (name.length > 253) return [invalidValue('metadata.name', name, 'must be no more than 253 characters')];
  return SUBDOMAIN.test(name) ? [] : [invalidValue('metadata.name', name, SUBDOMAIN_RULE)];
}

function validateLabels(labels: unknown, field: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (!isPlainObject(labels)) return [invalidValue(field, labels, 'must be a map of strings')];
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(labels)) {
    if (!QUALIFIED_NAME.test(key) || key.length > 316) errors.push(invalidValue(field, key, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
    if (typeof value !== 'string' || !LABEL_VALUE.test(value) || value.length > 63) {
      errors.push(invalidValue(`${field}`, value, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
    }
  }
  return errors;
}

function at(object: unknown, path: string): unknown {
  let current = object;
  for (const part of path.split('.')) current = isPlainObject(current) ? current[part] : undefined;
  return current;
}

function validatePodSpec(spec: unknown, field: string): FieldError[] {
  if (!isPlainObject(spec)) return [required(field)];
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0) return [required(`${field}.containers`)];
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  containers.forEach((container, index) => {
    const path = `${field}.containers[${index}]`;
    if (!isPlainObject(container)) {
      errors.push(invalidValue(path, container, 'must be an object'));
      return;
    }
    if (typeof container.name !== 'string' || container.name === '') errors.push(required(`${path}.name`));
    else if (!LABEL.test(container.name)) errors.push(invalidValue(`${path}.name`, container.name, LABEL_RULE));
    else if (seen.has(container.name)) errors.push({ field: `${path}.name`, type: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(container.name)}` });
    else seen.add(container.name);
    if (typeof container.image !== 'string' || container.image.trim() === '') errors.push(required(`${path}.image`));
    if (Array.isArray(container.ports)) {
      container.ports.forEach((port, portIndex) => {
        const number = isPlainObject(port) ? port.containerPort : undefined;
        if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) {
          errors.push(invalidValue(`${path}.ports[${portIndex}].containerPort`, number ?? null, 'must be between 1 and 65535, inclusive'));
        }
      });
    }
  });
  return errors;
}

function selectorMatchesLabels(selector: unknown, labels: unknown): boolean {
  if (!isPlainObject(selector)) return false;
  const matchLabels = isPlainObject(selector.matchLabels) ? selector.matchLabels : {};
  const actual = isPlainObject(labels) ? labels : {};
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  if (Object.keys(matchLabels).length === 0 && expressions.length === 0) return false;
  return (
    Object.entries(matchLabels).every(([key, value]) => actual[key] === value) &&
    expressions.every((expression) => {
      if (!isPlainObject(expression)) return false;
      const value = actual[String(expression.key)];
      const values = Array.isArray(expression.values) ? expression.values : [];
      switch (expression.operator) {
        case 'In':
          return values.includes(value);
        case 'NotIn':
          return !values.includes(value);
        case 'Exists':
          return value !== undefined;
        case 'DoesNotExist':
          return value === undefined;
        default:
          return false;
      }
    })
  );
}

function validateWorkload(object: KubeObject, withSelector: boolean): FieldError[] {
  const errors: FieldError[] = [];
  const spec = object.spec;
  if (!isPlainObject(spec)) return [required('spec')];
  if (spec.replicas !== undefined && (typeof spec.replicas !== 'number' || !Number.isInteger(spec.replicas) || spec.replicas < 0)) {
    errors.push(invalidValue('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  }
  if (withSelector) {
    if (!isPlainObject(spec.selector)) errors.push(required('spec.selector'));
    else if (!selectorMatchesLabels(spec.selector, at(spec, 'template.metadata.labels'))) {
      errors.push(invalidValue('spec.template.metadata.labels', at(spec, 'template.metadata.labels') ?? {}, '`selector` does not match template `labels`'));
    }
  }
  errors.push(...validatePodSpec(at(spec, 'template.spec'), 'spec.template.spec'));
  return errors;
}

function validateService(object: KubeObject): FieldError[] {
  const spec = isPlainObject(object.spec) ? object.spec : {};
  const errors: FieldError[] = [];
  const types = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
  if (spec.type !== undefined && !types.includes(String(spec.type))) {
    errors.push({ field: 'spec.type', type: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(spec.type)}: supported values: ${types.map((type) => `"${type}"`).join(', ')}` });
  }
  const ports = spec.ports;
  if (spec.type !== 'ExternalName' && spec.clusterIP !== 'None' && (!Array.isArray(ports) || ports.length === 0)) errors.push(required('spec.ports'));
  if (Array.isArray(ports)) {
    ports.forEach((port, index) => {
      const number = isPlainObject(port) ? port.port : undefined;
      if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) {
        errors.push(invalidValue(`spec.ports[${index}].port`, number ?? null, 'must be between 1 and 65535, inclusive'));
      }
      if (ports.length > 1 && isPlainObject(port) && (typeof port.name !== 'string' || port.name === '')) errors.push(required(`spec.ports[${index}].name`));
    });
  }
  return errors;
}

function validateCrd(object: KubeObject): FieldError[] {
  const spec = isPlainObject(object.spec) ? object.spec : {};
  const names = isPlainObject(spec.names) ? spec.names : {};
  const errors: FieldError[] = [];
  if (typeof spec.group !== 'string' || spec.group === '') errors.push(required('spec.group'));
  else if (!spec.group.includes('.')) errors.push(invalidValue('spec.group', spec.group, 'should be a domain with at least one dot'));
  if (typeof names.plural !== 'string' || names.plural === '') errors.push(required('spec.names.plural'));
  if (typeof names.kind !== 'string' || names.kind === '') errors.push(required('spec.names.kind'));
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    errors.push({ field: 'spec.scope', type: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(spec.scope ?? '')}: supported values: "Cluster", "Namespaced"` });
  }
  const versions = Array.isArray(spec.versions) ? spec.versions.filter(isPlainObject) : [];
  if (versions.length === 0) errors.push(required('spec.versions'));
  else if (versions.filter((version) => version.storage === true).length !== 1) {
    errors.push(invalidValue('spec.versions', versions.map((version) => version.name), 'must have exactly one version marked as storage version'));
  }
  if (typeof spec.group === 'string' && typeof names.plural === 'string' && object.metadata.name !== `${names.plural}.${spec.group}`) {
    errors.push(invalidValue('metadata.name', object.metadata.name, 'must be spec.names.plural+"."+spec.group'));
  }
  return errors;
}

export function validateObject(type: ResourceType, object: KubeObject): FieldError[] {
  const errors = [...validateName(type, object.metadata.name), ...validateLabels(object.metadata.labels, 'metadata.labels')];
  switch (`${type.group}/${type.kind}`) {
    case '/Pod':
      errors.push(...validatePodSpec(object.spec, 'spec'));
      break;
    case 'apps/Deployment':
    case 'apps/ReplicaSet':
    case 'apps/StatefulSet':
    case 'apps/DaemonSet':
      errors.push(...validateWorkload(object, true));
      break;
    case 'batch/Job': {
      errors.push(...validateWorkload(object, false));
      const restartPolicy = at(object, 'spec.template.spec.restartPolicy');
      if (restartPolicy !== 'Never' && restartPolicy !== 'OnFailure') {
        errors.push({ field: 'spec.template.spec.restartPolicy', type: 'FieldValueRequired', message: 'Required value: valid values: "OnFailure", "Never"' });
      }
      break;
    }
    case 'batch/CronJob': {
      const schedule = at(object, 'spec.schedule');
      if (typeof schedule !== 'string' || schedule.trim() === '') errors.push(required('spec.schedule'));
      else {
        try {
          parseCronSchedule(schedule);
        } catch (error) {
          errors.push(invalidValue('spec.schedule', schedule, (error as Error).message));
        }
      }
      errors.push(...validatePodSpec(at(object, 'spec.jobTemplate.spec.template.spec'), 'spec.jobTemplate.spec.template.spec'));
      break;
    }
    case '/Service':
      errors.push(...validateService(object));
      break;
    case '/ConfigMap': {
      const data = object.data;
      if (isPlainObject(data)) {
        for (const [key, value] of Object.entries(data)) {
          if (typeof value !== 'string') errors.push(invalidValue(`data[${key}]`, value, 'must be a string'));
        }
      }
      break;
    }
    case 'apiextensions.k8s.io/CustomResourceDefinition':
      errors.push(...validateCrd(object));
      break;
  }
  return errors;
}

const IMMUTABLE_ON_UPDATE: Record<string, string[]> = {
  'apps/Deployment': ['spec.selector'],
  'apps/ReplicaSet': ['spec.selector'],
  'apps/StatefulSet': ['spec.selector', 'spec.serviceName'],
  'apps/DaemonSet': ['spec.selector'],
  'batch/Job': ['spec.selector', 'spec.template'],
  'apiextensions.k8s.io/CustomResourceDefinition': ['spec.group', 'spec.names.plural'],
};

export function validateUpdate(type: ResourceType, previous: KubeObject, next: KubeObject): FieldError[] {
  const fields = IMMUTABLE_ON_UPDATE[`${type.group}/${type.kind}`] ?? [];
  return fields
    .filter((field) => JSON.stringify(at(previous, field)) !== JSON.stringify(at(next, field)))
    .map((field) => ({ field, type: 'FieldValueInvalid' as const, message: `Invalid value: ${JSON.stringify(at(next, field) ?? null)}: field is immutable` }));
}

function ensureObject(parent: JsonObject, key: string): JsonObject {
  if (!isPlainObject(parent[key])) parent[key] = {};
  return parent[key] as JsonObject;
}

/** A port without a protocol is TCP: in each item of each of `holder`'s `lists` (containers, a policy's rules). */
function defaultPortProtocols(holder: JsonObject, lists: readonly string[]): void {
  for (const list of lists) {
    const items = holder[list];
    if (!Array.isArray(items)) continue;
    for (const item of items) {
      if (!isPlainObject(item) || !Array.isArray(item.ports)) continue;
      for (const port of item.ports) if (isPlainObject(port)) port.protocol ??= 'TCP';
    }
  }
}

/** A pod spec's defaults (of a Pod, or of a workload's pod template). */
function defaultPodSpec(spec: unknown): void {
  if (!isPlainObject(spec)) return;
  defaultPortProtocols(spec, ['containers', 'initContainers']);
}

/** Server-side defaults; `previous` carries allocated values (a Service's clusterIP) across updates. */
export function applyDefaults(type: ResourceType, object: KubeObject, previous: KubeObject | undefined, allocateClusterIp: () => string): void {
  defaultPodSpec(type.group === '' && type.kind === 'Pod' ? object.spec : at(object, type.kind === 'CronJob' ? 'spec.jobTemplate.spec.template.spec' : 'spec.template.spec'));
  switch (`${type.group}/${type.kind}`) {
    case '/Namespace': {
      object.metadata.labels = { ...object.metadata.labels, 'kubernetes.io/metadata.name': object.metadata.name };
      const spec = ensureObject(object, 'spec');
      spec.finalizers ??= ['kubernetes'];
      const status = ensureObject(object, 'status');
      status.phase ??= 'Active';
      break;
    }
    case 'apps/Deployment': {
      const spec = ensureObject(object, 'spec');
      spec.replicas ??= 1;
      spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      break;
    }
    case 'apps/StatefulSet': {
      const spec = ensureObject(object, 'spec');
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= 'OrderedReady';
      spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
      spec.revisionHistoryLimit ??= 10;
      break;
    }
    case 'apps/DaemonSet': {
      const spec = ensureObject(object, 'spec');
      spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
      spec.revisionHistoryLimit ??= 10;
      break;
    }
    case 'apps/ReplicaSet': {
      ensureObject(object, 'spec').replicas ??= 1;
      break;
    }
    case 'batch/Job': {
      const spec = ensureObject(object, 'spec');
      spec.completions ??= 1;
      spec.parallelism ??= 1;
      spec.backoffLimit ??= 6;
      break;
    }
    case 'batch/CronJob': {
      const spec = ensureObject(object, 'spec');
      spec.concurrencyPolicy ??= 'Allow';
      spec.suspend ??= false;
      spec.successfulJobsHistoryLimit ??= 3;
      spec.failedJobsHistoryLimit ??= 1;
      break;
    }
    case '/Secret': {
      object.type ??= 'Opaque';
      // `stringData` is write-only: the API server merges it into `data` (base64), its keys winning.
      if (isPlainObject(object.stringData)) {
        const data = isPlainObject(object.data) ? object.data : {};
        for (const [key, value] of Object.entries(object.stringData)) data[key] = Buffer.from(String(value)).toString('base64');
        object.data = data;
        delete object.stringData;
      }
      break;
    }
    case 'networking.k8s.io/NetworkPolicy': {
      // As the API server defaults it: a rule's port without a protocol is TCP; without policy types,
      // every policy affects ingress, and one with egress rules egress too.
      const spec = ensureObject(object, 'spec');
      defaultPortProtocols(spec, ['ingress', 'egress']);
      if (!Array.isArray(spec.policyTypes) || spec.policyTypes.length === 0) {
        spec.policyTypes = Array.isArray(spec.egress) && spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
      }
      break;
    }
    case '/Service': {
      const spec = ensureObject(object, 'spec');
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      if (Array.isArray(spec.ports)) {
        for (const port of spec.ports) {
          if (!isPlainObject(port)) continue;
          port.protocol ??= 'TCP';
          port.targetPort ??= port.port;
        }
      }
      const previousSpec = isPlainObject(previous?.spec) ? previous.spec : {};
      if (spec.type !== 'ExternalName') {
        spec.clusterIP ??= previousSpec.clusterIP ?? allocateClusterIp();
        spec.clusterIPs ??= [spec.clusterIP];
      }
      if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && Array.isArray(spec.ports)) {
        const previousPorts = Array.isArray(previousSpec.ports) ? previousSpec.ports.filter(isPlainObject) : [];
        spec.ports.forEach((port, index) => {
          if (!isPlainObject(port)) return;
          const kept = previousPorts.find((old) => old.port === port.port)?.nodePort;
          port.nodePort ??= kept ?? 30000 + ((Number(port.port) * 7 + index * 131 + object.metadata.name.length * 17) % 2768);
        });
      }
      break;
    }
  }
}
