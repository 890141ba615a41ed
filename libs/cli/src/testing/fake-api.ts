import { randomUUID } from 'node:crypto';
import {
  API_VERSION,
  BUILTIN_KINDS,
  REDACTED,
  type ErrorBody,
  type KindDefinition,
  type Resource,
  type ResourceStatus,
} from '@tugboat/resource-model';
import { valueAt } from '../order-manifests.js';

/**
 * An in-memory stand-in for the parts of the v1 API that `tug` uses, served through an injected
 * `fetch`, so command tests run without processes. The e2e tests cover the real API.
 */
export interface FakeApi {
  fetch: typeof fetch;
  objects: Map<string, Resource>;
  requests: Array<{ method: string; path: string }>;
  setStatus(kind: string, project: string, name: string, status: ResourceStatus): void;
  /** Stored secret values, by object key and path, as the API would hold them encrypted. */
  secrets: Map<string, string>;
}

export const FAKE_TOKEN = 'test-token';

interface WriteBody {
  metadata: { name: string; project?: string; labels?: Record<string, string>; resourceVersion?: string };
  spec?: Record<string, unknown>;
}

export function createFakeApi(kinds: readonly KindDefinition[] = BUILTIN_KINDS): FakeApi {
  const objects = new Map<string, Resource>();
  const secrets = new Map<string, string>();
  const requests: FakeApi['requests'] = [];
  let version = 0;
  const key = (kind: string, project: string, name: string) => `${kind}/${project}/${name}`;
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const fail = (status: number, code: ErrorBody['error']['code'], message: string, details: ErrorBody['error']['details'] = []) =>
    json(status, { error: { code, message, details } });

  function redact(definition: KindDefinition, object: Resource): Resource {
    const copy = structuredClone(object);
    for (const path of definition.secretFields) {
      if (valueAt(copy.spec, path) !== undefined) setAt(copy.spec, path, REDACTED);
    }
    return copy;
  }

  function storeSecrets(definition: KindDefinition, objectKey: string, spec: Record<string, unknown>): boolean {
    let changed = false;
    for (const path of definition.secretFields) {
      const value = valueAt(spec, path);
      if (value === undefined || value === REDACTED) continue;
      if (secrets.get(`${objectKey}#${path}`) !== value) changed = true;
      secrets.set(`${objectKey}#${path}`, String(value));
      setAt(spec, path, REDACTED);
    }
    return changed;
  }

  const fetchImpl = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const method = init.method ?? 'GET';
    requests.push({ method, path: url.pathname });
    const headers = new Headers(init.headers);
    if (headers.get('authorization') !== `Bearer ${FAKE_TOKEN}`) return fail(401, 'Unauthenticated', 'missing or unknown bearer token');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'v1') return fail(404, 'NotFound', 'no such route');
    if (parts[1] === 'kinds') return json(200, { items: kinds });
    const definition = kinds.find((kind) => kind.plural === parts[1]);
    if (definition === undefined) return fail(404, 'NotFound', `no such route`);
    const project = url.searchParams.get('project') ?? '';
    const body = init.body === undefined ? undefined : (JSON.parse(String(init.body)) as WriteBody);

    if (parts.length === 2 && method === 'GET') {
      const items = [...objects.values()]
        .filter((object) => object.kind === definition.kind && (project === '' || object.metadata.project === project))
        .sort((a, b) => `${a.metadata.project}/${a.metadata.name}`.localeCompare(`${b.metadata.project}/${b.metadata.name}`))
        .map((object) => redact(definition, object));
      return json(200, { items, metadata: {} });
    }
    if (parts.length === 2 && method === 'POST') {
      const objectProject = body?.metadata?.project ?? '';
      const objectKey = key(definition.kind, objectProject, body?.metadata?.name ?? '');
      if (objects.has(objectKey)) return fail(409, 'Conflict', `${objectKey} already exists`);
      if (typeof body?.spec?.replicas === 'number' && body.spec.replicas < 0) {
        return fail(422, 'InvalidInput', 'spec.replicas: must be >= 0', [{ path: 'spec.replicas', rule: 'minimum' }]);
      }
      for (const reference of definition.references) {
        const target = (body?.spec?.[reference.path] as { name?: string } | undefined)?.name;
        const targetKind = kinds.find((kind) => kind.kind === reference.kind)!;
        if (target !== undefined && !objects.has(key(reference.kind, targetKind.scope === 'Platform' ? '' : objectProject, target))) {
          return fail(422, 'InvalidInput', `spec.${reference.path}: ${reference.kind} "${target}" does not exist`, [
            { path: `spec.${reference.path}`, rule: 'reference' },
          ]);
        }
      }
      const spec = structuredClone(body!.spec ?? {});
      storeSecrets(definition, objectKey, spec);
      const now = new Date().toISOString();
      const object: Resource = {
        apiVersion: API_VERSION,
        kind: definition.kind,
        metadata: {
          name: body!.metadata.name,
          project: objectProject,
          uid: randomUUID(),
          labels: body!.metadata.labels ?? {},
          generation: 1,
          resourceVersion: String(++version),
          finalizers: [definition.controller],
          deletionRequestedAt: null,
          createdAt: now,
          updatedAt: now,
        },
        spec,
        status: {},
      };
      objects.set(objectKey, object);
      return json(201, redact(definition, object));
    }
    const objectKey = key(definition.kind, project, decodeURIComponent(parts[2] ?? ''));
    const stored = objects.get(objectKey);
    if (stored === undefined) return fail(404, 'NotFound', `${definition.kind} ${parts[2]} not found`);
    if (parts.length === 3 && method === 'GET') return json(200, redact(definition, stored));
    if (parts.length === 3 && method === 'PUT') {
      const expected = (headers.get('if-match') ?? '').replaceAll('"', '') || body?.metadata?.resourceVersion;
      if (expected !== stored.metadata.resourceVersion) return fail(409, 'Conflict', 'stale resourceVersion');
      const spec = structuredClone(body!.spec ?? {});
      const secretChanged = storeSecrets(definition, objectKey, spec);
      const specChanged = secretChanged || JSON.stringify(spec) !== JSON.stringify(stored.spec);
      stored.spec = spec;
      stored.metadata.labels = body!.metadata.labels ?? {};
      if (specChanged) stored.metadata.generation++;
      stored.metadata.resourceVersion = String(++version);
      return json(200, redact(definition, stored));
    }
    if (parts.length === 3 && method === 'DELETE') {
      if (stored.metadata.finalizers.length > 0) {
        stored.metadata.deletionRequestedAt ??= new Date().toISOString();
        return json(202, redact(definition, stored));
      }
      objects.delete(objectKey);
      return json(200, { deleted: true });
    }
    return fail(404, 'NotFound', 'no such route');
  };

  return {
    fetch: fetchImpl as typeof fetch,
    objects,
    requests,
    secrets,
    setStatus(kind, project, name, status) {
      const object = objects.get(key(kind, project, name));
      if (object === undefined) throw new Error(`no ${kind}/${project}/${name}`);
      object.status = status;
      object.metadata.resourceVersion = String(++version);
    },
  };
}

function setAt(root: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  const last = parts.pop()!;
  const parent = parts.length === 0 ? root : valueAt(root, parts.join('.'));
  if (typeof parent === 'object' && parent !== null) (parent as Record<string, unknown>)[last] = value;
}
