/**
 * Discovery and OpenAPI documents as kubectl and client-go read them: `/version`, `/api`, `/apis`,
 * group-version resource lists, and an OpenAPI v3 index whose per-group-version documents carry
 * the built-in kinds' real schemas (see `builtin-schemas.ts`) and custom resources' CRD schemas,
 * each kind tagged with `x-kubernetes-group-version-kind`, and declare the `fieldValidation`
 * parameter on every PATCH operation (so kubectl leaves field validation to the server, as it does
 * with real servers).
 */
import { createHash } from 'node:crypto';
import { BUILTIN_SCHEMA_SOURCE, SCHEMA_REF_PREFIX, referencesOf, type BuiltinSchemas } from './builtin-schemas.js';
import { RESOURCE_VERBS, groupVersionOf, type ResourceType } from './resource-table.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What `/version` answers for a cluster serving Kubernetes `major.minor` (the sandbox's default without one). */
export function serverVersionOf(version: string | undefined): typeof SERVER_VERSION {
  const match = version === undefined ? null : /^(\d+)\.(\d+)$/.exec(version);
  if (match === null) return SERVER_VERSION;
  return { ...SERVER_VERSION, major: match[1]!, minor: match[2]!, gitVersion: `v${match[1]!}.${match[2]!}.0-tugboat-sandbox` };
}

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-tugboat-sandbox',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.4',
  compiler: 'gc',
  platform: 'linux/amd64',
};

interface GroupVersions {
  name: string;
  versions: string[];
}

function groupsOf(types: ResourceType[]): GroupVersions[] {
  const groups = new Map<string, string[]>();
  for (const type of types) {
    if (type.group === '') continue;
    const versions = groups.get(type.group) ?? [];
    if (!versions.includes(type.version)) versions.push(type.version);
    groups.set(type.group, versions);
  }
  return [...groups.entries()].map(([name, versions]) => ({ name, versions }));
}

function apiGroup(group: GroupVersions) {
  const versions = group.versions.map((version) => ({ groupVersion: `${group.name}/${version}`, version }));
  return { name: group.name, versions, preferredVersion: versions[0] };
}

export function apiVersions(serverAddress: string) {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

export function apiGroupList(types: ResourceType[]) {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groupsOf(types).map(apiGroup) };
}

export function apiGroupOf(types: ResourceType[], groupName: string) {
  const group = groupsOf(types).find((candidate) => candidate.name === groupName);
  return group ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) } : undefined;
}

export function apiResourceList(types: ResourceType[], groupName: string, version: string) {
  const served = types.filter((type) => type.group === groupName && type.version === version);
  if (served.length === 0) return undefined;
  const resources = served.flatMap((type) => {
    const resource: Record<string, unknown> = {
      name: type.plural,
      singularName: type.singular,
      namespaced: type.namespaced,
      kind: type.kind,
      verbs: type.review ? ['create'] : RESOURCE_VERBS,
      storageVersionHash: createHash('sha256').update(`${type.group}/${type.version}/${type.kind}`).digest('base64').slice(0, 11),
    };
    if (type.shortNames.length > 0) resource.shortNames = type.shortNames;
    if (type.categories.length > 0) resource.categories = type.categories;
    const subresources = type.subresources.map((subresource) => {
      if (subresource === 'scale') {
        return { name: `${type.plural}/scale`, singularName: '', namespaced: type.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] };
      }
      if (subresource === 'eviction') {
        return { name: `${type.plural}/eviction`, singularName: '', namespaced: type.namespaced, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] };
      }
      if (subresource === 'log') return { name: `${type.plural}/log`, singularName: '', namespaced: type.namespaced, kind: type.kind, verbs: ['get'] };
      return { name: `${type.plural}/status`, singularName: '', namespaced: type.namespaced, kind: type.kind, verbs: ['get', 'patch', 'update'] };
    });
    return [resource, ...subresources];
  });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersionOf({ group: groupName, version }), resources };
}

/** `api/v1`, `apis/apps/v1` … — the keys of the OpenAPI v3 index. */
export function openApiPathOf(groupName: string, version: string): string {
  return groupName === '' ? `api/${version}` : `apis/${groupName}/${version}`;
}

function schemaName(type: ResourceType, builtins: BuiltinSchemas): string {
  return type.crd === undefined ? builtins.idOfKind(type) : `${type.group.split('.').reverse().join('.')}.${type.version}.${type.kind}`;
}

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/** Copies `ids` and every definition they refer to, transitively, into `schemas`. */
function addWithReferences(builtins: BuiltinSchemas, ids: Iterable<string>, schemas: Record<string, unknown>): void {
  const pending = [...ids];
  while (pending.length > 0) {
    const id = pending.pop() as string;
    if (schemas[id] !== undefined) continue;
    const definition = builtins.definition(id);
    if (!definition) continue;
    schemas[id] = definition;
    for (const reference of referencesOf(definition)) if (schemas[reference] === undefined) pending.push(reference);
  }
}

const QUERY_PARAMETERS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((name) => ({
  name,
  in: 'query',
  schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
}));

function operation(type: ResourceType, action: string, schemaRef: string) {
  const json = { schema: { $ref: schemaRef } };
  return {
    operationId: `${action}${type.kind}`,
    tags: [groupVersionOf(type)],
    parameters: QUERY_PARAMETERS,
    responses: { '200': { description: 'OK', content: { 'application/json': json, 'application/yaml': json } } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: type.group, version: type.version, kind: type.kind },
  };
}

/**
 * Built-in kinds get their real schema (with every definition it refers to); `schemaOf` gives a
 * custom resource's `openAPIV3Schema` (from its CRD). A kind with neither (none the schema package
 * lacks is written by Tugboat) is served with a permissive schema.
 */
export function openApiDocument(types: ResourceType[], groupName: string, version: string, builtins: BuiltinSchemas, schemaOf: (type: ResourceType) => unknown = () => undefined) {
  const served = types.filter((type) => type.group === groupName && type.version === version);
  if (served.length === 0) return undefined;
  const root = groupName === '' ? `/api/${version}` : `/apis/${groupName}/${version}`;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const type of served) {
    const name = schemaName(type, builtins);
    const ref = `${SCHEMA_REF_PREFIX}${name}`;
    const gvk = { 'x-kubernetes-group-version-kind': [{ group: type.group, version: type.version, kind: type.kind }] };
    const builtin = type.crd === undefined ? builtins.definition(name) : undefined;
    if (builtin) {
      addWithReferences(builtins, [name], schemas);
      schemas[name] = { ...builtin, ...gvk };
    } else {
      const declared = schemaOf(type);
      const hasMeta = builtins.definition(OBJECT_META) !== undefined;
      if (hasMeta) addWithReferences(builtins, [OBJECT_META], schemas);
      schemas[name] = {
        ...(isObject(declared) ? declared : {}),
        type: 'object',
        description: isObject(declared) && typeof declared.description === 'string' ? declared.description : `${type.kind} (${groupVersionOf(type)}), served by the Tugboat sandbox with a permissive schema.`,
        properties: {
          ...(isObject(declared) && isObject(declared.properties) ? declared.properties : {}),
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          metadata: hasMeta ? { allOf: [{ $ref: `${SCHEMA_REF_PREFIX}${OBJECT_META}` }] } : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        },
        ...(isObject(declared) ? {} : { 'x-kubernetes-preserve-unknown-fields': true }),
        ...gvk,
      };
    }
    const collection = type.namespaced ? `${root}/namespaces/{namespace}/${type.plural}` : `${root}/${type.plural}`;
    paths[collection] = { get: operation(type, 'list', ref), post: operation(type, 'post', ref) };
    paths[`${collection}/{name}`] = {
      get: operation(type, 'get', ref),
      put: operation(type, 'put', ref),
      patch: { ...operation(type, 'patch', ref), requestBody: { content: { 'application/apply-patch+yaml': { schema: { type: 'object' } }, 'application/merge-patch+json': { schema: { type: 'object' } } } } },
      delete: operation(type, 'delete', ref),
    };
    if (type.subresources.includes('status')) {
      paths[`${collection}/{name}/status`] = { get: operation(type, 'get', ref), put: operation(type, 'put', ref), patch: operation(type, 'patch', ref) };
    }
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: SERVER_VERSION.gitVersion }, paths, components: { schemas } };
}

export function openApiIndex(types: ResourceType[], urlPrefix: string, schemaOf: (type: ResourceType) => unknown = () => undefined) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  const served = new Map<string, ResourceType[]>();
  for (const type of types) {
    const key = openApiPathOf(type.group, type.version);
    served.set(key, [...(served.get(key) ?? []), type]);
  }
  for (const [key, group] of served) {
    const hash = createHash('sha512')
      .update(JSON.stringify([BUILTIN_SCHEMA_SOURCE, group.map((type) => [type.kind, type.plural, type.namespaced, type.subresources, schemaOf(type) ?? null])]))
      .digest('hex')
      .slice(0, 64)
      .toUpperCase();
    paths[key] = { serverRelativeURL: `${urlPrefix}/openapi/v3/${key}?hash=${hash}` };
  }
  return { paths };
}

function protobufField(field: number, payload: Buffer): Buffer {
  const length: number[] = [];
  let remaining = payload.length;
  do {
    length.push((remaining & 0x7f) | (remaining > 0x7f ? 0x80 : 0));
    remaining >>>= 7;
  } while (remaining > 0);
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...length]), payload]);
}

/**
 * OpenAPI v2 without definitions: kubectl asks for it (as gnostic protobuf) only to validate a kind
 * its v3 index did not list yet — a custom resource applied together with its CRD — and skips
 * validation for kinds without a schema, as it does for schemaless CRDs on real servers.
 */
export function openApiV2Document(accept: string): { contentType: string; body: Buffer } {
  if (accept.includes('protobuf')) {
    const info = Buffer.concat([protobufField(1, Buffer.from('Kubernetes')), protobufField(2, Buffer.from(SERVER_VERSION.gitVersion))]);
    return {
      contentType: 'application/octet-stream',
      body: Buffer.concat([protobufField(1, Buffer.from('2.0')), protobufField(2, info)]),
    };
  }
  const json = { swagger: '2.0', info: { title: 'Kubernetes', version: SERVER_VERSION.gitVersion }, paths: {}, definitions: {} };
  return { contentType: 'application/json', body: Buffer.from(JSON.stringify(json)) };
}
