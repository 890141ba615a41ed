import { randomUUID } from 'node:crypto';
import {
  API_VERSION,
  BUILTIN_KINDS,
  REDACTED,
  matchesLabelSelector,
  parseLabelSelector,
  type ChangeCause,
  type ErrorBody,
  type ErrorDetail,
  type KindDefinition,
  type Resource,
  type ResourceStatus,
} from '@tugboat/resource-model';
import type { FieldChange, ResourceEvent, Revision, WatchEventType } from '@tugboat/api-client';
import { valueAt } from '../order-manifests.js';

/**
 * An in-memory stand-in for the parts of the v1 API that `tug` uses (contract parts 1 and 2),
 * served through an injected `fetch`, so command tests run without processes. It keeps the
 * contract's shapes, not its every rule; the e2e tests cover the real API.
 */
export interface FakeApi {
  fetch: typeof fetch;
  objects: Map<string, Resource>;
  requests: Array<{ method: string; path: string; query: string }>;
  setStatus(kind: string, project: string, name: string, status: ResourceStatus): void;
  /** Removes the row as a controller's last finalizer removal would. */
  removeObject(kind: string, project: string, name: string): void;
  addEvent(kind: string, project: string, name: string, event: Omit<ResourceEvent, 'count' | 'firstSeen' | 'lastSeen'> & { lastSeen?: string }): void;
  /** Stored secret values, by object key and path, as the API would hold them encrypted. */
  secrets: Map<string, string>;
  /** Makes every cursor older than the newest change answer 410, as a stream past its max age does. */
  forgetChanges(): void;
  /** The sequence number of the newest change. */
  readonly lastSeq: number;
  /** Open watch streams. */
  readonly watchers: number;
  /** Ends every open watch stream, as an API restart would. */
  endWatches(): void;
  /** Routes to answer 404 as an older API would (e.g. `/v1/watch`). */
  missingRoutes: Set<string>;
}

export const FAKE_TOKEN = 'test-token';

interface WriteBody {
  kind?: string;
  metadata: { name: string; project?: string; labels?: Record<string, string>; resourceVersion?: string };
  spec?: Record<string, unknown>;
}

interface Change {
  seq: number;
  type: WatchEventType;
  cause: ChangeCause;
  object: Resource;
}

interface Watcher {
  kinds: string[];
  project: string;
  push(change: Change): void;
  end(): void;
}

export function createFakeApi(initialKinds: readonly KindDefinition[] = BUILTIN_KINDS): FakeApi {
  /** `PUT` and `DELETE /v1/kinds/KIND` change it. */
  const kinds: KindDefinition[] = initialKinds.map((kind) => structuredClone(kind));
  const objects = new Map<string, Resource>();
  const secrets = new Map<string, string>();
  const revisions = new Map<string, Revision[]>();
  const events = new Map<string, ResourceEvent[]>();
  const requests: FakeApi['requests'] = [];
  const changes: Change[] = [];
  const watchers = new Set<Watcher>();
  const missingRoutes = new Set<string>();
  const tokens = new Map<string, string>();
  let forgottenBefore = 0;
  let version = 0;
  let seq = 0;
  const key = (kind: string, project: string, name: string) => `${kind}/${project}/${name}`;
  const keyOfObject = (object: Resource) => key(object.kind, object.metadata.project, object.metadata.name);
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const fail = (status: number, code: ErrorBody['error']['code'], message: string, details: ErrorDetail[] = []) =>
    json(status, { error: { code, message, details } });
  const definitionOf = (kind: string) => kinds.find((candidate) => candidate.kind === kind)!;

  function redact(definition: KindDefinition, object: Resource): Resource {
    const copy = structuredClone(object);
    for (const path of definition.secretFields) {
      if (valueAt(copy.spec, path) !== undefined) setAt(copy.spec, path, REDACTED);
    }
    return copy;
  }

  /** Stores real secret values aside and leaves `<redacted>` in the spec; true when one changed. */
  function storeSecrets(definition: KindDefinition, objectKey: string, spec: Record<string, unknown>, write: boolean): boolean {
    let changed = false;
    for (const path of definition.secretFields) {
      const value = valueAt(spec, path);
      if (value === undefined || value === REDACTED) continue;
      if (secrets.get(`${objectKey}#${path}`) !== value) changed = true;
      if (write) secrets.set(`${objectKey}#${path}`, String(value));
      setAt(spec, path, REDACTED);
    }
    return changed;
  }

  function record(type: WatchEventType, cause: ChangeCause, object: Resource, note?: string): void {
    const definition = definitionOf(object.kind);
    const change: Change = { seq: ++seq, type, cause, object: redact(definition, object) };
    changes.push(change);
    const objectKey = keyOfObject(object);
    if (type !== 'DELETED') {
      const list = revisions.get(objectKey) ?? [];
      list.unshift({
        revision: list.length + 1,
        generation: object.metadata.generation,
        cause,
        actor: 'admin',
        at: new Date().toISOString(),
        labels: structuredClone(change.object.metadata.labels),
        spec: structuredClone(change.object.spec),
        ...(note === undefined ? {} : { note }),
      });
      revisions.set(objectKey, list);
    } else {
      revisions.delete(objectKey);
      events.delete(objectKey);
    }
    for (const watcher of watchers) watcher.push(change);
  }

  function referenceProblems(definition: KindDefinition, project: string, spec: Record<string, unknown> | undefined, pending: Set<string>): ErrorDetail[] {
    const problems: ErrorDetail[] = [];
    for (const reference of definition.references) {
      const target = (valueAt(spec, reference.path) as { name?: string } | undefined)?.name;
      if (target === undefined) continue;
      const targetKey = key(reference.kind, definitionOf(reference.kind).scope === 'Platform' ? '' : project, target);
      if (!objects.has(targetKey) && !pending.has(targetKey)) {
        problems.push({ path: `spec.${reference.path}.name`, rule: 'reference', message: `${reference.kind} "${target}" does not exist` });
      }
    }
    return problems;
  }

  function specProblems(spec: Record<string, unknown> | undefined): ErrorDetail[] {
    return typeof spec?.replicas === 'number' && spec.replicas < 0 ? [{ path: 'spec.replicas', rule: 'minimum', message: 'must be >= 0' }] : [];
  }

  function create(definition: KindDefinition, body: WriteBody): Resource {
    const objectProject = body.metadata.project ?? '';
    const objectKey = key(definition.kind, objectProject, body.metadata.name);
    const spec = structuredClone(body.spec ?? {});
    storeSecrets(definition, objectKey, spec, true);
    const now = new Date().toISOString();
    const object: Resource = {
      apiVersion: API_VERSION,
      kind: definition.kind,
      metadata: {
        name: body.metadata.name,
        project: objectProject,
        uid: randomUUID(),
        labels: body.metadata.labels ?? {},
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
    record('ADDED', 'spec', object);
    return object;
  }

  /** What a PUT of `body` would change: the field diff (secrets redacted) and whether the spec changes. */
  function plan(definition: KindDefinition, stored: Resource, body: WriteBody): { diff: FieldChange[]; specChanged: boolean } {
    const objectKey = keyOfObject(stored);
    const spec = structuredClone(body.spec ?? {});
    const secretChanged = storeSecrets(definition, objectKey, spec, false);
    const diff = [...diffValues(stored.metadata.labels, body.metadata.labels ?? {}, 'metadata.labels'), ...diffValues(stored.spec, spec, 'spec')];
    for (const path of definition.secretFields) {
      if (secretChanged && !diff.some((change) => change.path === `spec.${path}`)) diff.push({ path: `spec.${path}`, op: 'replace', from: REDACTED, to: REDACTED });
    }
    return { diff, specChanged: secretChanged || diff.some((change) => change.path.startsWith('spec.')) };
  }

  function update(definition: KindDefinition, stored: Resource, body: WriteBody): void {
    const { specChanged } = plan(definition, stored, body);
    const spec = structuredClone(body.spec ?? {});
    storeSecrets(definition, keyOfObject(stored), spec, true);
    stored.spec = spec;
    stored.metadata.labels = body.metadata.labels ?? {};
    if (specChanged) stored.metadata.generation++;
    stored.metadata.resourceVersion = String(++version);
    record('MODIFIED', 'spec', stored);
  }

  function watchResponse(url: URL, signal: AbortSignal | null | undefined): Response {
    const cursor = url.searchParams.get('cursor');
    if (cursor !== null && Number(cursor) + 1 < forgottenBefore) return fail(410, 'Gone', `cursor ${cursor} is older than what the stream keeps`);
    const wanted = (url.searchParams.get('kinds') ?? '').split(',').filter(Boolean);
    const project = url.searchParams.get('project') ?? '';
    const encoder = new TextEncoder();
    let watcher: Watcher;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = (change: Change) => {
          if (wanted.length > 0 && !wanted.includes(change.object.kind)) return;
          if (project !== '' && change.object.metadata.project !== project) return;
          const { kind, project: objectProject, name, uid } = { kind: change.object.kind, ...change.object.metadata };
          const data = {
            type: change.type,
            cause: change.cause,
            key: { kind, project: objectProject, name, uid },
            resourceVersion: change.object.metadata.resourceVersion,
            ...(change.type === 'DELETED' ? {} : { object: change.object }),
          };
          controller.enqueue(encoder.encode(`id: ${change.seq}\nevent: change\ndata: ${JSON.stringify(data)}\n\n`));
        };
        watcher = {
          kinds: wanted,
          project,
          push: send,
          end: () => {
            watchers.delete(watcher);
            controller.close();
          },
        };
        controller.enqueue(encoder.encode(': watching\n\n'));
        if (cursor !== null) for (const change of changes.filter((candidate) => candidate.seq > Number(cursor))) send(change);
        watchers.add(watcher);
        signal?.addEventListener('abort', () => {
          watchers.delete(watcher);
          controller.error(signal.reason);
        });
      },
      cancel() {
        watchers.delete(watcher);
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  }

  function apply(body: unknown, dryRun: boolean): Response {
    const items = (Array.isArray(body) ? body : (body as { items?: unknown[] }).items ?? []) as WriteBody[];
    const pending = new Set<string>();
    const planned = items.map((item) => {
      const definition = kinds.find((kind) => kind.kind === item.kind)!;
      const project = item.metadata.project ?? '';
      const objectKey = key(definition.kind, project, item.metadata.name);
      const reasons = [...specProblems(item.spec), ...referenceProblems(definition, project, item.spec, pending)];
      pending.add(objectKey);
      const stored = objects.get(objectKey);
      const result = { kind: definition.kind, project, name: item.metadata.name };
      if (reasons.length > 0) return { item, definition, stored, result: { ...result, action: 'blocked' as const, reasons } };
      if (stored === undefined) return { item, definition, stored, result: { ...result, action: 'created' as const } };
      const { diff } = plan(definition, stored, item);
      if (diff.length === 0) return { item, definition, stored, result: { ...result, action: 'unchanged' as const } };
      return { item, definition, stored, result: { ...result, action: 'updated' as const, diff } };
    });
    if (dryRun) return json(200, { dryRun: true, results: planned.map((entry) => entry.result) });
    const blocked = planned.filter((entry) => entry.result.action === 'blocked');
    if (blocked.length > 0) {
      const details = blocked.flatMap((entry) =>
        (entry.result as { reasons: ErrorDetail[] }).reasons.map((reason) => ({
          ...reason,
          path: `${entry.result.kind}/${entry.result.project || '_'}/${entry.result.name}: ${reason.path}`,
        })),
      );
      return fail(422, 'InvalidInput', `${details.length} problem(s) in the bundle; nothing was applied`, details);
    }
    const results = planned.map((entry) => {
      if (entry.result.action === 'created') return { ...entry.result, generation: create(entry.definition, entry.item).metadata.generation };
      if (entry.result.action === 'updated') update(entry.definition, entry.stored!, entry.item);
      return { ...entry.result, generation: entry.stored!.metadata.generation };
    });
    return json(200, { dryRun: false, results });
  }

  /** The kind routes' rules that `tug kinds apply|delete` shows: built-in kinds and kinds with objects stay. */
  function changeKind(method: 'PUT' | 'DELETE', name: string, text: string | undefined): Response {
    const existing = kinds.find((kind) => [kind.kind, kind.plural, kind.singular, ...kind.shortNames].includes(name));
    if (existing?.builtIn) return fail(403, 'Forbidden', `kind ${existing.kind} is built in and cannot be ${method === 'PUT' ? 'changed' : 'deleted'}`, [{ path: 'kind', rule: 'built-in' }]);
    if (method === 'DELETE') {
      if (existing === undefined) return fail(404, 'NotFound', `unknown kind "${name}"`, [{ path: 'kind', rule: 'unknown-kind' }]);
      const left = [...objects.values()].filter((object) => object.kind === existing.kind).map((object) => `${object.kind}/${object.metadata.project || '_'}/${object.metadata.name}`);
      if (left.length > 0) return fail(409, 'Conflict', `kind ${existing.kind}: cannot be deleted while ${left.length} object(s) of it exist: ${left.join(', ')}`, [{ path: 'kind', rule: 'has-objects' }]);
      kinds.splice(kinds.indexOf(existing), 1);
      return json(200, existing);
    }
    const definition = { singular: name.toLowerCase(), shortNames: [], references: [], secretFields: [], ...(JSON.parse(text ?? '{}') as Partial<KindDefinition>) } as KindDefinition;
    if (definition.kind !== name) return fail(422, 'InvalidInput', `kind: the body names ${definition.kind}, the path ${name}`, [{ path: 'kind', rule: 'match-path' }]);
    const action = existing === undefined ? 'created' : JSON.stringify(existing) === JSON.stringify(definition) ? 'unchanged' : 'updated';
    if (existing === undefined) kinds.push(definition);
    else kinds[kinds.indexOf(existing)] = definition;
    return new Response(JSON.stringify(definition), { status: action === 'created' ? 201 : 200, headers: { 'content-type': 'application/json', 'tugboat-kind-action': action } });
  }

  const fetchImpl = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const method = init.method ?? 'GET';
    requests.push({ method, path: url.pathname, query: url.search });
    const headers = new Headers(init.headers);
    if (headers.get('authorization') !== `Bearer ${FAKE_TOKEN}`) return fail(401, 'Unauthenticated', 'missing or unknown bearer token');
    if (missingRoutes.has(url.pathname)) return fail(404, 'NotFound', `no route ${method} ${url.pathname}`, [{ path: 'path', rule: 'route' }]);
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'v1') return fail(404, 'NotFound', 'no such route');
    if (parts[1] === 'tokens' && method === 'POST') {
      const input = JSON.parse(String(init.body ?? '{}')) as { name?: string; controller?: string };
      if (typeof input.name !== 'string' || input.name === '') return fail(422, 'InvalidInput', 'name: must be a DNS label', [{ path: 'name', rule: 'dns-label' }]);
      if (tokens.has(input.name)) return fail(409, 'Conflict', `a token named "${input.name}" already exists`, [{ path: 'name', rule: 'unique' }]);
      const token = `tug_fake_${tokens.size + 1}`;
      tokens.set(input.name, token);
      return json(201, { token, identity: { name: input.name, type: 'controller', controller: input.controller ?? input.name } });
    }
    const text = init.body === undefined || init.body === null ? undefined : String(init.body);
    if (parts[1] === 'kinds' && parts.length === 3 && (method === 'PUT' || method === 'DELETE')) return changeKind(method, parts[2]!, text);
    if (parts[1] === 'kinds') return json(200, { items: kinds });
    if (parts[1] === 'apply' && method === 'POST') return apply(JSON.parse(text ?? '{}'), url.searchParams.get('dryRun') === 'true');
    if (parts[1] === 'watch' && method === 'GET') return watchResponse(url, init.signal);
    const definition = kinds.find((kind) => kind.plural === parts[1]);
    if (definition === undefined) return fail(404, 'NotFound', `no such route`);
    const project = url.searchParams.get('project') ?? '';
    const body = text === undefined ? undefined : (JSON.parse(text) as WriteBody);

    if (parts.length === 2 && method === 'GET') {
      const selector = parseLabelSelector(url.searchParams.get('labelSelector') ?? '');
      const items = [...objects.values()]
        .filter((object) => object.kind === definition.kind && (project === '' || object.metadata.project === project))
        .filter((object) => matchesLabelSelector(selector, object.metadata.labels))
        .sort((a, b) => `${a.metadata.project}/${a.metadata.name}`.localeCompare(`${b.metadata.project}/${b.metadata.name}`))
        .map((object) => redact(definition, object));
      return json(200, { items, metadata: { cursor: String(seq) } });
    }
    if (parts.length === 2 && method === 'POST') {
      const objectKey = key(definition.kind, body?.metadata?.project ?? '', body?.metadata?.name ?? '');
      if (objects.has(objectKey)) return fail(409, 'Conflict', `${objectKey} already exists`);
      const problems = [...specProblems(body?.spec), ...referenceProblems(definition, body?.metadata?.project ?? '', body?.spec, new Set())];
      if (problems.length > 0) return fail(422, 'InvalidInput', `${problems[0]!.path}: ${problems[0]!.message}`, problems);
      return json(201, redact(definition, create(definition, body!)));
    }
    const objectKey = key(definition.kind, project, parts[2] ?? '');
    const stored = objects.get(objectKey);
    if (stored === undefined) return fail(404, 'NotFound', `${definition.kind} ${parts[2]} not found`);
    const sub = parts.slice(3).join('/');
    if (sub === '' && method === 'GET') return json(200, redact(definition, stored));
    if (sub === '' && method === 'PUT') {
      const expected = (headers.get('if-match') ?? '').replaceAll('"', '') || body?.metadata?.resourceVersion;
      if (expected !== stored.metadata.resourceVersion) return fail(409, 'Conflict', 'stale resourceVersion');
      update(definition, stored, body!);
      return json(200, redact(definition, stored));
    }
    if (sub === '' && method === 'DELETE') {
      // As the API: a referrer already marked for deletion no longer blocks (`delete -f` relies on it).
      const referrers = referrersOf(stored).filter((referrer) => objects.get(key(referrer.kind, referrer.project, referrer.name))?.metadata.deletionRequestedAt == null);
      if (referrers.length > 0 && url.searchParams.get('cascade') !== 'true') {
        return fail(
          409,
          'Conflict',
          `${definition.kind} ${stored.metadata.name} is still used`,
          referrers.map((referrer) => ({ path: `${referrer.kind}/${referrer.project || '_'}/${referrer.name}`, rule: 'in-use' })),
        );
      }
      if (stored.metadata.finalizers.length > 0) {
        if (stored.metadata.deletionRequestedAt === null) {
          stored.metadata.deletionRequestedAt = new Date().toISOString();
          stored.metadata.resourceVersion = String(++version);
          record('MODIFIED', 'metadata', stored);
        }
        return json(202, redact(definition, stored));
      }
      objects.delete(objectKey);
      record('DELETED', 'delete', stored);
      return json(200, { deleted: true });
    }
    if (parts[3] === 'finalizers' && parts.length === 5 && method === 'DELETE') {
      // Only the admin's force path: `tug` never removes a finalizer as a controller.
      if (url.searchParams.get('force') !== 'true') return fail(403, 'Forbidden', `only controller ${parts[4]} removes its finalizer`);
      if (!stored.metadata.finalizers.includes(parts[4]!)) return json(200, { deleted: false, object: redact(definition, stored) });
      stored.metadata.finalizers = stored.metadata.finalizers.filter((finalizer) => finalizer !== parts[4]);
      pushEvent(objectKey, { type: 'Warning', reason: 'FinalizerForceRemoved', message: `finalizer ${parts[4]} force-removed by admin`, source: 'admin' });
      if (stored.metadata.finalizers.length === 0 && stored.metadata.deletionRequestedAt !== null) {
        objects.delete(objectKey);
        record('DELETED', 'delete', stored);
        return json(200, { deleted: true });
      }
      stored.metadata.resourceVersion = String(++version);
      record('MODIFIED', 'metadata', stored, `finalizer ${parts[4]} force-removed`);
      return json(200, { deleted: false, object: redact(definition, stored) });
    }
    if (sub === 'events' && method === 'GET') return json(200, { items: events.get(objectKey) ?? [] });
    if (sub === 'referrers' && method === 'GET') return json(200, { items: referrersOf(stored) });
    if (sub === 'revisions' && method === 'GET') return json(200, { items: revisions.get(objectKey) ?? [] });
    if (sub === 'revisions/diff' && method === 'GET') {
      const list = revisions.get(objectKey) ?? [];
      const from = list.find((revision) => revision.revision === Number(url.searchParams.get('from')));
      const to = url.searchParams.has('to') ? list.find((revision) => revision.revision === Number(url.searchParams.get('to'))) : list[0];
      if (from === undefined || to === undefined) return fail(404, 'NotFound', 'no such revision', [{ path: 'from', rule: 'revision' }]);
      return json(200, { from: from.revision, to: to.revision, diff: diffValues(from.spec, to.spec, 'spec') });
    }
    if (parts[3] === 'revisions' && parts.length === 5 && method === 'GET') {
      const found = (revisions.get(objectKey) ?? []).find((revision) => revision.revision === Number(parts[4]));
      return found === undefined ? fail(404, 'NotFound', `no revision ${parts[4]}`) : json(200, found);
    }
    if ((sub === 'suspend' || sub === 'resume' || sub === 'reconcile') && method === 'POST') {
      if (sub !== 'reconcile') stored.metadata.suspended = sub === 'suspend';
      stored.metadata.resourceVersion = String(++version);
      record('MODIFIED', sub === 'reconcile' ? 'reconcile' : 'metadata', stored, sub === 'suspend' ? 'suspended' : sub === 'resume' ? 'resumed' : 'reconcile requested');
      pushEvent(objectKey, { type: 'Normal', reason: sub === 'suspend' ? 'Suspended' : sub === 'resume' ? 'Resumed' : 'ReconcileRequested', message: `by admin`, source: 'admin' });
      return json(200, redact(definition, stored));
    }
    return fail(404, 'NotFound', 'no such route');
  };

  function referrersOf(target: Resource) {
    const found: Array<{ kind: string; project: string; name: string; uid: string; path: string }> = [];
    for (const object of objects.values()) {
      const definition = definitionOf(object.kind);
      for (const reference of definition.references) {
        if (reference.kind !== target.kind) continue;
        const name = (valueAt(object.spec, reference.path) as { name?: string } | undefined)?.name;
        const targetProject = definitionOf(target.kind).scope === 'Platform' ? '' : object.metadata.project;
        if (name === target.metadata.name && targetProject === target.metadata.project) {
          found.push({ kind: object.kind, project: object.metadata.project, name: object.metadata.name, uid: object.metadata.uid, path: `spec.${reference.path}` });
        }
      }
    }
    return found;
  }

  function pushEvent(objectKey: string, event: Omit<ResourceEvent, 'count' | 'firstSeen' | 'lastSeen'> & { lastSeen?: string }): void {
    const list = events.get(objectKey) ?? [];
    const at = event.lastSeen ?? new Date().toISOString();
    const same = list.find((candidate) => candidate.type === event.type && candidate.reason === event.reason && candidate.message === event.message);
    if (same !== undefined) {
      same.count++;
      same.lastSeen = at;
    } else {
      list.push({ ...event, count: 1, firstSeen: at, lastSeen: at });
    }
    events.set(objectKey, list);
  }

  return {
    fetch: fetchImpl as typeof fetch,
    objects,
    requests,
    secrets,
    missingRoutes,
    get lastSeq() {
      return seq;
    },
    get watchers() {
      return watchers.size;
    },
    endWatches() {
      for (const watcher of [...watchers]) watcher.end();
    },
    setStatus(kind, project, name, status) {
      const object = objects.get(key(kind, project, name));
      if (object === undefined) throw new Error(`no ${kind}/${project}/${name}`);
      object.status = status;
      object.metadata.resourceVersion = String(++version);
      record('MODIFIED', 'status', object);
    },
    removeObject(kind, project, name) {
      const object = objects.get(key(kind, project, name));
      if (object === undefined) throw new Error(`no ${kind}/${project}/${name}`);
      objects.delete(key(kind, project, name));
      record('DELETED', 'delete', object);
    },
    addEvent(kind, project, name, event) {
      pushEvent(key(kind, project, name), event);
    },
    forgetChanges() {
      forgottenBefore = seq + 1;
    },
  };
}

/** Field-level differences between two JSON values, as the API's diff reports them. */
export function diffValues(before: unknown, after: unknown, path: string): FieldChange[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  if (isMap(before) && isMap(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((name) => {
      const child = `${path}.${name}`;
      if (!(name in before)) return [{ path: child, op: 'add' as const, to: after[name] }];
      if (!(name in after)) return [{ path: child, op: 'remove' as const, from: before[name] }];
      return diffValues(before[name], after[name], child);
    });
  }
  return [{ path, op: 'replace', from: before, to: after }];
}

function setAt(root: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  const last = parts.pop()!;
  const parent = parts.length === 0 ? root : valueAt(root, parts.join('.'));
  if (typeof parent === 'object' && parent !== null) (parent as Record<string, unknown>)[last] = value;
}
