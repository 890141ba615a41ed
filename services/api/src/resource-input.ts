/**
 * Checks what a client sends before anything touches the database. Every problem becomes an
 * `InputError` whose details name the field and the rule; nothing is written.
 */
import {
  API_VERSION,
  CLIENT_METADATA_FIELDS,
  InputError,
  PLATFORM_PROJECT,
  RESOURCE_FIELDS,
  SERVER_SET_METADATA_FIELDS,
  isDnsLabel,
  type ErrorDetail,
  type KindDefinition,
  type ResourceStatus,
} from '@tugboat/resource-model';
import { isJsonObject, type JsonObject } from './json-value.js';

export interface ResourceWriteInput {
  name: string;
  project: string;
  labels: Record<string, string>;
  ownerReferences: Array<{ kind: string; name: string }>;
  spec: JsonObject;
  resourceVersion?: string;
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

/** Each error's message per detail path, read once: a body can carry thousands of problems. */
const messagesByPath = new WeakMap<object, Map<string, string>>();

export class DetailCollector {
  readonly details: ErrorDetail[] = [];
  add(path: string, rule: string, message: string): void {
    this.details.push({ path, rule, message });
  }
  throwIfAny(status: 400 | 422 = 422): void {
    if (this.details.length === 0) return;
    const message = this.details.map((d) => `${d.path}: ${d.message ?? d.rule}`).join('; ');
    // The answer's details carry path and rule; the messages stay with the error for `detailMessage`.
    const error = new InputError(message, { status, details: this.details.map(({ path, rule }) => ({ path, rule })) });
    const messages = new Map<string, string>();
    for (const detail of this.details) if (!messages.has(detail.path)) messages.set(detail.path, detail.message ?? detail.rule);
    messagesByPath.set(error, messages);
    throw error;
  }
}

/**
 * The message for one detail of an error built by `DetailCollector` (or one whose message joins
 * `path: message` pairs with `; `); the whole message when the path has no part of its own. Linear
 * over all of an error's details together: the pairs are indexed once per error.
 */
export function detailMessage(error: { message: string }, path: string): string {
  let messages = messagesByPath.get(error);
  if (messages === undefined) {
    messages = new Map();
    for (const part of error.message.split('; ')) {
      const colon = part.indexOf(': ');
      if (colon > 0 && !messages.has(part.slice(0, colon))) messages.set(part.slice(0, colon), part.slice(colon + 2));
    }
    messagesByPath.set(error, messages);
  }
  return messages.get(path) ?? error.message;
}

export function inputError(path: string, rule: string, message: string, status: 400 | 422 = 422): InputError {
  return new InputError(`${path}: ${message}`, { status, details: [{ path, rule }] });
}

/** The `?project=` of a single-object route. */
export function projectFromQuery(kind: KindDefinition, value: unknown): string {
  if (value !== undefined && typeof value !== 'string') throw inputError('project', 'type', 'must be given once');
  if (kind.scope === 'Platform') {
    if (value) throw inputError('project', 'platform-scope', `${kind.kind} is platform-wide: leave project empty`);
    return PLATFORM_PROJECT;
  }
  if (!value) throw inputError('project', 'required', `is required for ${kind.kind}`);
  if (!isDnsLabel(value)) throw inputError('project', 'dns-label', 'must be a DNS label (lower-case alphanumerics and "-", at most 63)');
  return value;
}

/** `?project=` of a list: optional for project-scoped kinds (all projects when absent). */
export function projectFilterFromQuery(kind: KindDefinition, value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  return projectFromQuery(kind, value);
}

export function parseResourceBody(
  body: unknown,
  kind: KindDefinition,
  target?: { name: string; project: string },
): ResourceWriteInput {
  const problems = new DetailCollector();
  if (!isJsonObject(body)) throw inputError('body', 'type', 'must be a JSON object');
  for (const key of Object.keys(body)) {
    if (!RESOURCE_FIELDS.has(key)) problems.add(key, 'additionalProperties', 'unknown field');
  }
  if (body['apiVersion'] !== undefined && body['apiVersion'] !== API_VERSION) problems.add('apiVersion', 'const', `must be ${API_VERSION}`);
  if (body['kind'] !== undefined && body['kind'] !== kind.kind) problems.add('kind', 'const', `must be ${kind.kind} on this route`);

  const metadata = body['metadata'];
  let name = '';
  let project = PLATFORM_PROJECT;
  let labels: Record<string, string> = {};
  let resourceVersion: string | undefined;
  const ownerReferences: ResourceWriteInput['ownerReferences'] = [];
  if (!isJsonObject(metadata)) {
    problems.add('metadata', metadata === undefined ? 'required' : 'type', 'must be an object with at least a name');
  } else {
    for (const key of Object.keys(metadata)) {
      if (!CLIENT_METADATA_FIELDS.has(key) && !SERVER_SET_METADATA_FIELDS.has(key)) {
        problems.add(`metadata.${key}`, 'additionalProperties', 'unknown field');
      }
    }
    if (metadata['name'] === undefined && target) name = target.name;
    else if (!isDnsLabel(metadata['name'])) {
      problems.add('metadata.name', metadata['name'] === undefined ? 'required' : 'dns-label', 'must be a DNS label (lower-case alphanumerics and "-", start and end alphanumeric, at most 63)');
    } else if (target && metadata['name'] !== target.name) problems.add('metadata.name', 'const', `must match the name in the URL (${target.name})`);
    else name = metadata['name'];

    const givenProject = metadata['project'];
    if (kind.scope === 'Platform') {
      if (givenProject !== undefined && givenProject !== '') problems.add('metadata.project', 'platform-scope', `${kind.kind} is platform-wide: leave project empty`);
    } else if (givenProject === undefined && target) project = target.project;
    else if (!isDnsLabel(givenProject)) {
      problems.add('metadata.project', givenProject === undefined ? 'required' : 'dns-label', `is required for ${kind.kind} and must be a DNS label`);
    } else if (target && givenProject !== target.project) problems.add('metadata.project', 'const', `must match ?project= (${target.project})`);
    else project = givenProject;

    labels = parseLabels(metadata['labels'], 'metadata.labels', problems);

    const rv = metadata['resourceVersion'];
    if (rv !== undefined && rv !== null && rv !== '') {
      if ((typeof rv === 'string' && /^\d{1,19}$/.test(rv)) || (typeof rv === 'number' && Number.isSafeInteger(rv) && rv >= 0)) resourceVersion = String(rv);
      else problems.add('metadata.resourceVersion', 'pattern', 'must be a resourceVersion as returned by the API');
    }

    const owners = metadata['ownerReferences'];
    if (owners !== undefined && !target) {
      if (!Array.isArray(owners)) problems.add('metadata.ownerReferences', 'type', 'must be an array of { kind, name }');
      else
        owners.forEach((owner, i) => {
          if (!isJsonObject(owner) || typeof owner['kind'] !== 'string' || !isDnsLabel(owner['name'])) {
            problems.add(`metadata.ownerReferences[${i}]`, 'type', 'must be { kind, name } with a DNS-label name');
          } else ownerReferences.push({ kind: owner['kind'], name: owner['name'] });
        });
    }
  }

  const spec = body['spec'];
  if (!isJsonObject(spec)) problems.add('spec', spec === undefined ? 'required' : 'type', 'must be an object');
  problems.throwIfAny();
  return { name, project, labels, ownerReferences, spec: spec as JsonObject, ...(resourceVersion ? { resourceVersion } : {}) };
}

export function parseLabels(value: unknown, path: string, problems: DetailCollector): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isJsonObject(value)) {
    problems.add(path, 'type', 'must be an object of strings');
    return {};
  }
  const labels: Record<string, string> = {};
  for (const [key, labelValue] of Object.entries(value)) {
    if (!LABEL_KEY.test(key)) problems.add(`${path}.${key}`, 'label-key', 'is not a valid label key');
    else if (typeof labelValue !== 'string' || !LABEL_VALUE.test(labelValue)) problems.add(`${path}.${key}`, 'label-value', 'must be a label value (at most 63 alphanumerics, "-", "_", ".")');
    else labels[key] = labelValue;
  }
  return labels;
}

/** Body of `PUT …/status`. */
export function parseStatusBody(body: unknown): { status: ResourceStatus; resourceVersion?: string } {
  if (!isJsonObject(body)) throw inputError('body', 'type', 'must be a JSON object');
  const problems = new DetailCollector();
  for (const key of Object.keys(body)) {
    if (!RESOURCE_FIELDS.has(key)) problems.add(key, 'additionalProperties', 'unknown field');
  }
  const status = body['status'];
  if (!isJsonObject(status)) problems.add('status', status === undefined ? 'required' : 'type', 'must be an object');
  else {
    const phases = ['Pending', 'Progressing', 'Ready', 'Degraded', 'Failed', 'Deleting'];
    if (status['phase'] !== undefined && !phases.includes(status['phase'] as string)) problems.add('status.phase', 'enum', `must be one of ${phases.join(', ')}`);
    for (const field of ['observedGeneration', 'definitionGeneration']) {
      const v = status[field];
      if (v !== undefined && !(Number.isSafeInteger(v) && (v as number) >= 0)) problems.add(`status.${field}`, 'type', 'must be a non-negative integer');
    }
    if (status['outputs'] !== undefined && !isJsonObject(status['outputs'])) problems.add('status.outputs', 'type', 'must be an object');
    const conditions = status['conditions'];
    if (conditions !== undefined) {
      if (!Array.isArray(conditions)) problems.add('status.conditions', 'type', 'must be an array');
      else
        conditions.forEach((c, i) => {
          if (!isJsonObject(c) || typeof c['type'] !== 'string' || !['True', 'False', 'Unknown'].includes(c['status'] as string)) {
            problems.add(`status.conditions[${i}]`, 'type', 'must be { type, status: True|False|Unknown, … }');
          }
        });
    }
  }
  let resourceVersion: string | undefined;
  const metadata = body['metadata'];
  if (metadata !== undefined && !isJsonObject(metadata)) problems.add('metadata', 'type', 'must be an object');
  else if (isJsonObject(metadata)) {
    const rv = metadata['resourceVersion'];
    if (rv !== undefined && rv !== null && rv !== '') {
      if ((typeof rv === 'string' && /^\d{1,19}$/.test(rv)) || (typeof rv === 'number' && Number.isSafeInteger(rv))) resourceVersion = String(rv);
      else problems.add('metadata.resourceVersion', 'pattern', 'must be a resourceVersion as returned by the API');
    }
  }
  problems.throwIfAny();
  return { status: status as ResourceStatus, ...(resourceVersion ? { resourceVersion } : {}) };
}

/** Body of `PATCH` (merge patch): only labels, resourceVersion and spec may change. */
export function parsePatchBody(body: unknown): { patch: { labels?: unknown; spec?: unknown }; resourceVersion?: string } {
  if (!isJsonObject(body)) throw inputError('body', 'type', 'must be a JSON merge patch object');
  const problems = new DetailCollector();
  for (const key of Object.keys(body)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(key)) problems.add(key, key === 'status' ? 'read-only' : 'additionalProperties', 'cannot be patched');
  }
  const metadata = body['metadata'];
  let resourceVersion: string | undefined;
  const patch: { labels?: unknown; spec?: unknown } = {};
  if (metadata !== undefined && metadata !== null) {
    if (!isJsonObject(metadata)) problems.add('metadata', 'type', 'must be an object');
    else
      for (const [key, value] of Object.entries(metadata)) {
        if (key === 'labels') patch.labels = value;
        else if (key === 'resourceVersion') {
          if (typeof value === 'string' && /^\d{1,19}$/.test(value)) resourceVersion = value;
          else if (value !== null) problems.add('metadata.resourceVersion', 'pattern', 'must be a resourceVersion as returned by the API');
        } else problems.add(`metadata.${key}`, 'read-only', 'cannot be patched');
      }
  }
  if (body['spec'] !== undefined) {
    if (!isJsonObject(body['spec'])) problems.add('spec', 'type', 'must be an object');
    else patch.spec = body['spec'];
  }
  problems.throwIfAny();
  return { patch, ...(resourceVersion ? { resourceVersion } : {}) };
}
