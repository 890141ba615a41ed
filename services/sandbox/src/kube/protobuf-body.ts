/**
 * Decodes the Kubernetes protobuf request bodies kubectl's typed generators send
 * (`kubectl create namespace|deployment|configmap|secret|service|job|cronjob|rolebinding …`,
 * `kubectl run`, `kubectl expose`): the `k8s\0` magic, a `runtime.Unknown` envelope carrying
 * apiVersion and kind, and the object in the field numbering of the Kubernetes API types.
 * Only the messages and fields those generators produce are described here; anything else is
 * dropped, and a kind not described is refused with 415 so the client can send JSON instead.
 */
import { KubeStatusError } from './kube-status.js';
import type { JsonObject } from './json-values.js';

type Scalar = 'string' | 'int' | 'bool' | 'bytes' | 'quantity' | 'intOrString' | 'time';
type MapOf = { map: 'string' | 'bytes' | 'quantity' };
/** `[jsonName, kind, flags]`; `repeated`, `keepZero` (a pointer field: zero is a value), `inline` (fields merge into the parent). */
type Field = [string, Scalar | MapOf | string, ...Array<'repeated' | 'keepZero' | 'inline'>];

const MESSAGES: Record<string, Record<number, Field>> = {
  ObjectMeta: {
    1: ['name', 'string'],
    2: ['generateName', 'string'],
    3: ['namespace', 'string'],
    11: ['labels', { map: 'string' }],
    12: ['annotations', { map: 'string' }],
    13: ['ownerReferences', 'OwnerReference', 'repeated'],
    14: ['finalizers', 'string', 'repeated'],
  },
  OwnerReference: { 1: ['kind', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'], 5: ['apiVersion', 'string'], 6: ['controller', 'bool', 'keepZero'], 7: ['blockOwnerDeletion', 'bool', 'keepZero'] },
  LabelSelector: { 1: ['matchLabels', { map: 'string' }], 2: ['matchExpressions', 'LabelSelectorRequirement', 'repeated'] },
  LabelSelectorRequirement: { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', 'string', 'repeated'] },
  Namespace: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'NamespaceSpec'] },
  NamespaceSpec: { 1: ['finalizers', 'string', 'repeated'] },
  ConfigMap: { 1: ['metadata', 'ObjectMeta'], 2: ['data', { map: 'string' }], 3: ['binaryData', { map: 'bytes' }], 4: ['immutable', 'bool', 'keepZero'] },
  Secret: { 1: ['metadata', 'ObjectMeta'], 2: ['data', { map: 'bytes' }], 3: ['type', 'string'], 4: ['stringData', { map: 'string' }], 5: ['immutable', 'bool', 'keepZero'] },
  ServiceAccount: { 1: ['metadata', 'ObjectMeta'], 3: ['imagePullSecrets', 'LocalObjectReference', 'repeated'], 4: ['automountServiceAccountToken', 'bool', 'keepZero'] },
  LocalObjectReference: { 1: ['name', 'string'] },
  Service: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'ServiceSpec'] },
  ServiceSpec: {
    1: ['ports', 'ServicePort', 'repeated'],
    2: ['selector', { map: 'string' }],
    3: ['clusterIP', 'string'],
    4: ['type', 'string'],
    5: ['externalIPs', 'string', 'repeated'],
    7: ['sessionAffinity', 'string'],
    8: ['loadBalancerIP', 'string'],
    10: ['externalName', 'string'],
  },
  ServicePort: { 1: ['name', 'string'], 2: ['protocol', 'string'], 3: ['port', 'int'], 4: ['targetPort', 'intOrString'], 5: ['nodePort', 'int'], 6: ['appProtocol', 'string'] },
  Pod: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'PodSpec'] },
  PodTemplateSpec: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'PodSpec'] },
  PodSpec: {
    2: ['containers', 'Container', 'repeated'],
    3: ['restartPolicy', 'string'],
    4: ['terminationGracePeriodSeconds', 'int', 'keepZero'],
    5: ['activeDeadlineSeconds', 'int', 'keepZero'],
    6: ['dnsPolicy', 'string'],
    7: ['nodeSelector', { map: 'string' }],
    8: ['serviceAccountName', 'string'],
    10: ['nodeName', 'string'],
    11: ['hostNetwork', 'bool'],
    15: ['imagePullSecrets', 'LocalObjectReference', 'repeated'],
    16: ['hostname', 'string'],
    17: ['subdomain', 'string'],
    19: ['schedulerName', 'string'],
    20: ['initContainers', 'Container', 'repeated'],
    24: ['priorityClassName', 'string'],
  },
  Container: {
    1: ['name', 'string'],
    2: ['image', 'string'],
    3: ['command', 'string', 'repeated'],
    4: ['args', 'string', 'repeated'],
    5: ['workingDir', 'string'],
    6: ['ports', 'ContainerPort', 'repeated'],
    7: ['env', 'EnvVar', 'repeated'],
    8: ['resources', 'ResourceRequirements'],
    9: ['volumeMounts', 'VolumeMount', 'repeated'],
    14: ['imagePullPolicy', 'string'],
    16: ['stdin', 'bool'],
    17: ['stdinOnce', 'bool'],
    18: ['tty', 'bool'],
  },
  ContainerPort: { 1: ['name', 'string'], 2: ['hostPort', 'int'], 3: ['containerPort', 'int'], 4: ['protocol', 'string'], 5: ['hostIP', 'string'] },
  EnvVar: { 1: ['name', 'string'], 2: ['value', 'string'] },
  ResourceRequirements: { 1: ['limits', { map: 'quantity' }], 2: ['requests', { map: 'quantity' }] },
  VolumeMount: { 1: ['name', 'string'], 2: ['readOnly', 'bool'], 3: ['mountPath', 'string'], 4: ['subPath', 'string'] },
  Deployment: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'DeploymentSpec'] },
  DeploymentSpec: {
    1: ['replicas', 'int', 'keepZero'],
    2: ['selector', 'LabelSelector'],
    3: ['template', 'PodTemplateSpec'],
    4: ['strategy', 'DeploymentStrategy'],
    5: ['minReadySeconds', 'int'],
    6: ['revisionHistoryLimit', 'int', 'keepZero'],
    7: ['paused', 'bool'],
    9: ['progressDeadlineSeconds', 'int', 'keepZero'],
  },
  DeploymentStrategy: { 1: ['type', 'string'], 2: ['rollingUpdate', 'RollingUpdateDeployment'] },
  RollingUpdateDeployment: { 1: ['maxUnavailable', 'intOrString'], 2: ['maxSurge', 'intOrString'] },
  Job: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'JobSpec'] },
  JobSpec: {
    1: ['parallelism', 'int', 'keepZero'],
    2: ['completions', 'int', 'keepZero'],
    3: ['activeDeadlineSeconds', 'int', 'keepZero'],
    4: ['selector', 'LabelSelector'],
    6: ['template', 'PodTemplateSpec'],
    7: ['backoffLimit', 'int', 'keepZero'],
    8: ['ttlSecondsAfterFinished', 'int', 'keepZero'],
    10: ['suspend', 'bool', 'keepZero'],
  },
  CronJob: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'CronJobSpec'] },
  CronJobSpec: {
    1: ['schedule', 'string'],
    2: ['startingDeadlineSeconds', 'int', 'keepZero'],
    3: ['concurrencyPolicy', 'string'],
    4: ['suspend', 'bool', 'keepZero'],
    5: ['jobTemplate', 'JobTemplateSpec'],
    6: ['successfulJobsHistoryLimit', 'int', 'keepZero'],
    7: ['failedJobsHistoryLimit', 'int', 'keepZero'],
    8: ['timeZone', 'string'],
  },
  JobTemplateSpec: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'JobSpec'] },
  Role: { 1: ['metadata', 'ObjectMeta'], 2: ['rules', 'PolicyRule', 'repeated'] },
  ClusterRole: { 1: ['metadata', 'ObjectMeta'], 2: ['rules', 'PolicyRule', 'repeated'] },
  PolicyRule: { 1: ['verbs', 'string', 'repeated'], 2: ['apiGroups', 'string', 'repeated'], 3: ['resources', 'string', 'repeated'], 4: ['resourceNames', 'string', 'repeated'], 5: ['nonResourceURLs', 'string', 'repeated'] },
  RoleBinding: { 1: ['metadata', 'ObjectMeta'], 2: ['subjects', 'Subject', 'repeated'], 3: ['roleRef', 'RoleRef'] },
  ClusterRoleBinding: { 1: ['metadata', 'ObjectMeta'], 2: ['subjects', 'Subject', 'repeated'], 3: ['roleRef', 'RoleRef'] },
  Subject: { 1: ['kind', 'string'], 2: ['apiGroup', 'string'], 3: ['name', 'string'], 4: ['namespace', 'string'] },
  RoleRef: { 1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string'] },
  Ingress: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'IngressSpec'] },
  IngressSpec: { 1: ['defaultBackend', 'IngressBackend'], 2: ['tls', 'IngressTLS', 'repeated'], 3: ['rules', 'IngressRule', 'repeated'], 4: ['ingressClassName', 'string'] },
  IngressTLS: { 1: ['hosts', 'string', 'repeated'], 2: ['secretName', 'string'] },
  IngressRule: { 1: ['host', 'string'], 2: ['', 'IngressRuleValue', 'inline'] },
  IngressRuleValue: { 1: ['http', 'HTTPIngressRuleValue'] },
  HTTPIngressRuleValue: { 1: ['paths', 'HTTPIngressPath', 'repeated'] },
  HTTPIngressPath: { 1: ['path', 'string'], 2: ['backend', 'IngressBackend'], 3: ['pathType', 'string'] },
  IngressBackend: { 4: ['service', 'IngressServiceBackend'] },
  IngressServiceBackend: { 1: ['name', 'string'], 2: ['port', 'ServiceBackendPort'] },
  ServiceBackendPort: { 1: ['name', 'string'], 2: ['number', 'int'] },
  PodDisruptionBudget: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'PodDisruptionBudgetSpec'] },
  PodDisruptionBudgetSpec: { 1: ['minAvailable', 'intOrString'], 2: ['selector', 'LabelSelector'], 3: ['maxUnavailable', 'intOrString'], 4: ['unhealthyPodEvictionPolicy', 'string'] },
  ResourceQuota: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'ResourceQuotaSpec'] },
  ResourceQuotaSpec: { 1: ['hard', { map: 'quantity' }], 2: ['scopes', 'string', 'repeated'] },
  PriorityClass: { 1: ['metadata', 'ObjectMeta'], 2: ['value', 'int', 'keepZero'], 3: ['globalDefault', 'bool'], 4: ['description', 'string'], 5: ['preemptionPolicy', 'string'] },
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type WireValue = { wire: 0; value: bigint } | { wire: 2; value: Buffer } | { wire: 1 | 5; value: Buffer };

function readVarint(buffer: Buffer, start: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  let position = start;
  for (;;) {
    if (position >= buffer.length) throw new Error('truncated varint');
    const byte = buffer[position] as number;
    position += 1;
    result |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if ((byte & 0x80) === 0) return [result, position];
  }
}

function readFields(buffer: Buffer): Array<[number, WireValue]> {
  const fields: Array<[number, WireValue]> = [];
  let position = 0;
  while (position < buffer.length) {
    const [key, afterKey] = readVarint(buffer, position);
    position = afterKey;
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [value, next] = readVarint(buffer, position);
      fields.push([field, { wire: 0, value }]);
      position = next;
    } else if (wire === 2) {
      const [length, next] = readVarint(buffer, position);
      const end = next + Number(length);
      if (end > buffer.length) throw new Error('truncated field');
      fields.push([field, { wire: 2, value: buffer.subarray(next, end) }]);
      position = end;
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      fields.push([field, { wire, value: buffer.subarray(position, position + size) }]);
      position += size;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  return fields;
}

function bytesOf(value: WireValue): Buffer {
  if (value.wire !== 2) throw new Error('expected a length-delimited field');
  return value.value;
}

function intOf(value: WireValue): number {
  if (value.wire !== 0) throw new Error('expected a varint');
  return Number(BigInt.asIntN(64, value.value));
}

function decodeScalar(kind: Scalar, value: WireValue): unknown {
  switch (kind) {
    case 'string':
      return bytesOf(value).toString('utf8');
    case 'bytes':
      return bytesOf(value).toString('base64');
    case 'int':
      return intOf(value);
    case 'bool':
      return intOf(value) !== 0;
    case 'quantity': {
      const text = new Map(readFields(bytesOf(value))).get(1);
      return text === undefined ? '0' : bytesOf(text).toString('utf8');
    }
    case 'intOrString': {
      const parts = new Map(readFields(bytesOf(value)));
      const type = parts.get(1);
      if (type !== undefined && intOf(type) === 1) return bytesOf(parts.get(3) ?? { wire: 2, value: Buffer.alloc(0) }).toString('utf8');
      return parts.get(2) === undefined ? 0 : intOf(parts.get(2) as WireValue);
    }
    case 'time': {
      const parts = new Map(readFields(bytesOf(value)));
      const seconds = parts.get(1);
      return seconds === undefined ? undefined : new Date(intOf(seconds) * 1000).toISOString().replace('.000Z', 'Z');
    }
  }
}

function isZero(value: unknown): boolean {
  return value === '' || value === 0 || value === false || value === undefined || (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0);
}

function decodeMessage(name: string, buffer: Buffer): JsonObject {
  const schema = MESSAGES[name];
  if (!schema) throw new Error(`no schema for ${name}`);
  const out: JsonObject = {};
  for (const [number, value] of readFields(buffer)) {
    const field = schema[number];
    if (!field) continue;
    const [jsonName, kind, ...flags] = field;
    if (typeof kind === 'object') {
      const entry = new Map(readFields(bytesOf(value)));
      const key = entry.get(1) === undefined ? '' : bytesOf(entry.get(1) as WireValue).toString('utf8');
      const raw = entry.get(2);
      const mapped = raw === undefined ? (kind.map === 'quantity' ? '0' : '') : decodeScalar(kind.map, raw);
      const map = (out[jsonName] ??= {}) as JsonObject;
      map[key] = mapped;
      continue;
    }
    const decoded = MESSAGES[kind] ? decodeMessage(kind, bytesOf(value)) : decodeScalar(kind as Scalar, value);
    if (flags.includes('inline')) {
      Object.assign(out, decoded as JsonObject);
      continue;
    }
    if (flags.includes('repeated')) {
      ((out[jsonName] ??= []) as unknown[]).push(decoded);
      continue;
    }
    if (isZero(decoded) && !flags.includes('keepZero')) continue;
    out[jsonName] = decoded;
  }
  return out;
}

export function isProtobufBody(contentType: string): boolean {
  return contentType === 'application/vnd.kubernetes.protobuf';
}

/** The JSON form of a protobuf-encoded object, or 415 when its kind is not one the sandbox can read. */
export function decodeProtobufBody(body: Buffer): JsonObject {
  const unsupported = (why: string) =>
    new KubeStatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (protobuf: ${why})`);
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw unsupported('missing the k8s envelope');
  try {
    const envelope = new Map(readFields(body.subarray(4)));
    const typeMeta = new Map(readFields(bytesOf(envelope.get(1) ?? { wire: 2, value: Buffer.alloc(0) })));
    const apiVersion = typeMeta.get(1) === undefined ? '' : bytesOf(typeMeta.get(1) as WireValue).toString('utf8');
    const kind = typeMeta.get(2) === undefined ? '' : bytesOf(typeMeta.get(2) as WireValue).toString('utf8');
    if (!MESSAGES[kind] || !MESSAGES[kind][1] || MESSAGES[kind][1][1] !== 'ObjectMeta') throw unsupported(`kind ${JSON.stringify(kind)} is not decoded by the sandbox`);
    const raw = envelope.get(2);
    return { apiVersion, kind, ...decodeMessage(kind, raw === undefined ? Buffer.alloc(0) : bytesOf(raw)) };
  } catch (error) {
    if (error instanceof KubeStatusError) throw error;
    throw unsupported((error as Error).message);
  }
}
