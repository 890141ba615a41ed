import { randomUUID } from 'node:crypto';
import type { ApiClient, FieldChange, Identity, ObjectRef, ResourceEvent, Revision, WatchEvent } from '@tugboat/api-client';
import {
  API_VERSION,
  ConflictError,
  ForbiddenError,
  formatLabelSelector,
  InputError,
  isDnsLabel,
  matchesLabelSelector,
  parseLabelSelector,
  keyString,
  NotFoundError,
  type ChangeCause,
  type ChangeEvent,
  type KindDefinition,
  type Resource,
  type ResourceInput,
} from '@tugboat/resource-model';
import { sameStatus } from '../object-status.js';

export interface FakeApiOptions {
  kinds: KindDefinition[];
  /** Who the fake answers `whoami` with; a controller identity may only write its kinds' status. */
  identity?: Identity;
  /** Called after every committed change, like the API's outbox relay. */
  onChange?: (event: ChangeEvent) => void;
  now?: () => Date;
}

export interface FakeApi extends ApiClient {
  /** Every stored object (copies). */
  objects(): Resource[];
  /** Events recorded for one object. */
  eventsOf(ref: ObjectRef): ResourceEvent[];
  /** Every change committed so far, in order. */
  readonly changes: ChangeEvent[];
}

/**
 * An in-memory stand-in for the Tugboat API with the contract's semantics: uid, generation bumped
 * on spec changes only, resourceVersion on every write with 409 for a stale one, finalizers and
 * deletion, status writes that change nothing writing nothing, events with counts, referrers,
 * revisions, suspend/resume/reconcile and an in-memory watch. For unit tests of controllers; it
 * does not validate specs against the kind's schema, and `apply` takes arrays, not YAML.
 */
export function createFakeApi(options: FakeApiOptions): FakeApi {
  const kinds = [...options.kinds];
  const identity: Identity = options.identity ?? { name: 'admin', type: 'user' };
  const now = options.now ?? (() => new Date());
  const store = new Map<string, Resource>();
  const events = new Map<string, ResourceEvent[]>();
  const changes: ChangeEvent[] = [];
  const revisions = new Map<string, Revision[]>();
  const watchers = new Set<(event: ChangeEvent, obj: Resource | undefined, added: boolean) => void>();
  let version = 0;
  let seq = 0;

  const copy = <T>(value: T): T => structuredClone(value);

  function kindOf(name: string): KindDefinition {
    const lower = name.toLowerCase();
    const found = kinds.find(
      (k) => k.kind.toLowerCase() === lower || k.plural === lower || k.singular === lower || k.shortNames.includes(lower),
    );
    if (found === undefined) throw new NotFoundError(`unknown kind "${name}"`, { details: [{ path: 'kind', rule: 'known-kind' }] });
    return found;
  }

  function projectOf(kind: KindDefinition, project: string | undefined): string {
    return kind.scope === 'Platform' ? '' : (project ?? '');
  }

  function idOf(ref: ObjectRef): { id: string; kind: KindDefinition } {
    const kind = kindOf(ref.kind);
    return { id: keyString({ kind: kind.kind, project: projectOf(kind, ref.project), name: ref.name }), kind };
  }

  function find(ref: ObjectRef): Resource {
    const { id } = idOf(ref);
    const found = store.get(id);
    if (found === undefined) throw new NotFoundError(`${ref.kind} ${ref.name} not found`);
    return found;
  }

  function checkVersion(obj: Resource, resourceVersion: string | undefined): void {
    if (resourceVersion !== undefined && resourceVersion !== obj.metadata.resourceVersion) {
      throw new ConflictError(`resourceVersion ${resourceVersion} is stale (now ${obj.metadata.resourceVersion})`, {
        details: [{ path: 'metadata.resourceVersion', rule: 'current' }],
      });
    }
  }

  function commit(obj: Resource, cause: ChangeCause): void {
    version += 1;
    obj.metadata.resourceVersion = String(version);
    obj.metadata.updatedAt = now().toISOString();
    store.set(keyString({ kind: obj.kind, project: obj.metadata.project, name: obj.metadata.name }), obj);
    publish(obj, cause);
  }

  function publish(obj: Resource, cause: ChangeCause): void {
    const id = keyString({ kind: obj.kind, project: obj.metadata.project, name: obj.metadata.name });
    const history = revisions.get(id) ?? [];
    history.unshift({ revision: (history[0]?.revision ?? 0) + 1, generation: obj.metadata.generation, cause, labels: copy(obj.metadata.labels), actor: identity.name, at: now().toISOString(), spec: copy(obj.spec) });
    if (cause === 'delete') revisions.delete(id);
    else revisions.set(id, history);
    seq += 1;
    const event: ChangeEvent = {
      kind: obj.kind,
      project: obj.metadata.project,
      name: obj.metadata.name,
      uid: obj.metadata.uid,
      generation: obj.metadata.generation,
      resourceVersion: obj.metadata.resourceVersion,
      cause,
      seq: String(seq),
      actor: identity.name,
      at: now().toISOString(),
    };
    changes.push(event);
    const added = cause === 'spec' && history.length === 1;
    for (const watcher of watchers) watcher(event, cause === 'delete' ? undefined : copy(obj), added);
    options.onChange?.(event);
  }

  function referrersOf(target: Resource): Array<{ obj: Resource; path: string }> {
    const found: Array<{ obj: Resource; path: string }> = [];
    for (const obj of store.values()) {
      const kind = kinds.find((k) => k.kind === obj.kind);
      for (const reference of kind?.references ?? []) {
        if (reference.kind !== target.kind) continue;
        const value = reference.path.split('.').reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], obj.spec);
        const name = (value as { name?: unknown } | undefined)?.name;
        const sameProject = target.metadata.project === '' || target.metadata.project === obj.metadata.project;
        if (name === target.metadata.name && sameProject) found.push({ obj, path: `spec.${reference.path}` });
      }
    }
    return found;
  }

  function remove(obj: Resource): void {
    store.delete(keyString({ kind: obj.kind, project: obj.metadata.project, name: obj.metadata.name }));
    version += 1;
    obj.metadata.resourceVersion = String(version);
    publish(obj, 'delete');
  }

  const api: FakeApi = {
    baseUrl: 'memory://fake-api',
    changes,
    objects: () => copy([...store.values()]),
    eventsOf: (ref) => copy(events.get(idOf(ref).id) ?? []),

    async whoami() {
      return copy(identity);
    },
    async createToken(input) {
      return { token: randomUUID(), identity: copy(input) };
    },
    async kinds() {
      return copy(kinds);
    },
    async getKind(name) {
      try {
        return copy(kindOf(name));
      } catch {
        return undefined;
      }
    },
    async registerKind(definition) {
      if (kinds.some((k) => k.kind === definition.kind)) throw new ConflictError(`kind ${definition.kind} exists`);
      kinds.push(copy(definition));
      return copy(definition);
    },
    async applyKind(definition) {
      const at = kinds.findIndex((k) => k.kind === definition.kind);
      if (at === -1) {
        kinds.push(copy(definition));
        return { action: 'created', definition: copy(definition) };
      }
      if (kinds[at]!.builtIn) throw new ForbiddenError(`kind ${definition.kind} is built in and cannot be changed`);
      kinds[at] = copy(definition);
      return { action: 'updated', definition: copy(definition) };
    },
    async deleteKind(name) {
      const kind = kindOf(name);
      if (kind.builtIn) throw new ForbiddenError(`kind ${kind.kind} is built in and cannot be deleted`);
      if ([...store.values()].some((obj) => obj.kind === kind.kind)) throw new ConflictError(`kind ${kind.kind} still has objects`, { details: [{ path: 'kind', rule: 'has-objects' }] });
      kinds.splice(kinds.indexOf(kind), 1);
      return copy(kind);
    },

    async create<Spec, Status>(input: ResourceInput<Spec>) {
      const kind = kindOf(input.kind);
      if (!isDnsLabel(input.metadata.name)) {
        throw new InputError('metadata.name: must be a DNS label', { status: 422, details: [{ path: 'metadata.name', rule: 'dns-label' }] });
      }
      const project = projectOf(kind, input.metadata.project);
      const id = keyString({ kind: kind.kind, project, name: input.metadata.name });
      if (store.has(id)) throw new ConflictError(`${kind.kind} ${input.metadata.name} exists`, { details: [{ path: 'metadata.name', rule: 'unique' }] });
      const at = now().toISOString();
      const obj: Resource = {
        apiVersion: API_VERSION,
        kind: kind.kind,
        metadata: {
          name: input.metadata.name,
          project,
          uid: randomUUID(),
          labels: { ...input.metadata.labels },
          generation: 1,
          resourceVersion: '0',
          finalizers: [kind.controller],
          deletionRequestedAt: null,
          createdAt: at,
          updatedAt: at,
        },
        spec: copy(input.spec) as Record<string, unknown>,
        status: {},
      };
      commit(obj, 'spec');
      return copy(obj) as unknown as Resource<Spec, Status>;
    },

    async get<Spec, Status>(ref: ObjectRef) {
      const { id } = idOf(ref);
      const found = store.get(id);
      return found === undefined ? undefined : (copy(found) as unknown as Resource<Spec, Status>);
    },

    async getOrThrow<Spec, Status>(ref: ObjectRef) {
      return copy(find(ref)) as unknown as Resource<Spec, Status>;
    },

    async list<Spec, Status>(kindName: string, opts: Parameters<ApiClient['list']>[1] = {}) {
      const kind = kindOf(kindName);
      const selector = parseLabelSelector(typeof opts.labelSelector === 'string' ? opts.labelSelector : formatLabelSelector(opts.labelSelector ?? {}));
      const all = [...store.values()]
        .filter((obj) => obj.kind === kind.kind)
        .filter((obj) => !opts.project || obj.metadata.project === opts.project)
        .filter((obj) => matchesLabelSelector(selector, obj.metadata.labels))
        .sort((a, b) => (a.metadata.project + '/' + a.metadata.name).localeCompare(b.metadata.project + '/' + b.metadata.name));
      const start = opts.continue === undefined ? 0 : Number(opts.continue);
      const limit = opts.limit ?? 500;
      const items = all.slice(start, start + limit).map((obj) => copy(obj) as unknown as Resource<Spec, Status>);
      return start + limit < all.length ? { items, continue: String(start + limit) } : { items };
    },

    listAll<Spec, Status>(kindName: string, opts: Parameters<ApiClient['listAll']>[1] = {}) {
      return {
        async *[Symbol.asyncIterator]() {
          let cursor: string | undefined;
          do {
            const page = await api.list<Spec, Status>(kindName, { ...opts, continue: cursor });
            yield* page.items;
            cursor = page.continue;
          } while (cursor !== undefined);
        },
      };
    },

    async replace<Spec, Status>(input: ResourceInput<Spec>, opts: Parameters<ApiClient['replace']>[1] = {}) {
      const obj = find({ kind: input.kind, project: input.metadata.project, name: input.metadata.name });
      checkVersion(obj, opts.resourceVersion ?? input.metadata.resourceVersion);
      const specChanged = JSON.stringify(obj.spec) !== JSON.stringify(input.spec);
      if (specChanged) obj.metadata.generation += 1;
      obj.spec = copy(input.spec) as Record<string, unknown>;
      obj.metadata.labels = { ...input.metadata.labels };
      commit(obj, 'spec');
      return copy(obj) as unknown as Resource<Spec, Status>;
    },

    async patch<Spec, Status>(ref: ObjectRef, patch: Parameters<ApiClient['patch']>[1], opts: Parameters<ApiClient['patch']>[2] = {}) {
      const obj = find(ref);
      checkVersion(obj, opts.resourceVersion);
      const spec = mergePatch(obj.spec, patch.spec ?? {}) as Record<string, unknown>;
      if (JSON.stringify(spec) !== JSON.stringify(obj.spec)) obj.metadata.generation += 1;
      obj.spec = spec;
      obj.metadata.labels = mergePatch(obj.metadata.labels, patch.metadata?.labels ?? {}) as Record<string, string>;
      commit(obj, 'spec');
      return copy(obj) as unknown as Resource<Spec, Status>;
    },

    async delete<Spec, Status>(ref: ObjectRef, opts: Parameters<ApiClient['delete']>[1] = {}) {
      const obj = find(ref);
      const referrers = referrersOf(obj);
      if (referrers.length > 0 && opts.cascade !== true) {
        throw new ConflictError(`${obj.kind} ${obj.metadata.name} is still referenced`, {
          details: referrers.map(({ obj: r }) => ({ path: `${r.kind}/${r.metadata.project}/${r.metadata.name}`, rule: 'in-use' })),
        });
      }
      for (const { obj: referrer } of referrers) await api.delete({ kind: referrer.kind, project: referrer.metadata.project, name: referrer.metadata.name }, opts);
      if (obj.metadata.finalizers.length > 0) {
        if (obj.metadata.deletionRequestedAt === null) {
          obj.metadata.deletionRequestedAt = now().toISOString();
          commit(obj, 'metadata');
        }
        return { deleted: false as const, object: copy(obj) as unknown as Resource<Spec, Status> };
      }
      remove(obj);
      return { deleted: true as const };
    },

    async writeStatus<Spec, Status>(ref: ObjectRef, status: Status, opts: Parameters<ApiClient['writeStatus']>[2] = {}) {
      const { kind } = idOf(ref);
      const obj = find(ref);
      if (identity.type === 'controller' && identity.controller !== kind.controller) {
        throw new ForbiddenError(`only ${kind.controller} writes the status of ${kind.kind}`);
      }
      checkVersion(obj, opts.resourceVersion);
      if (!sameStatus(obj.status, status as Resource['status'])) {
        obj.status = copy(status) as Resource['status'];
        commit(obj, 'status');
      }
      return copy(obj) as unknown as Resource<Spec, Status>;
    },

    async removeFinalizer<Spec, Status>(ref: ObjectRef, finalizer: string) {
      const obj = find(ref);
      if (!obj.metadata.finalizers.includes(finalizer)) return { deleted: false, object: copy(obj) as unknown as Resource<Spec, Status> };
      obj.metadata.finalizers = obj.metadata.finalizers.filter((f) => f !== finalizer);
      if (obj.metadata.deletionRequestedAt !== null && obj.metadata.finalizers.length === 0) {
        remove(obj);
        return { deleted: true };
      }
      commit(obj, 'metadata');
      return { deleted: false, object: copy(obj) as unknown as Resource<Spec, Status> };
    },

    async readSecrets(ref) {
      const { kind } = idOf(ref);
      const obj = find(ref);
      return Object.fromEntries(
        kind.secretFields.map((path) => [path, path.split('.').reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], obj.spec)]),
      );
    },

    async recordEvent(ref, event) {
      const { id } = idOf(ref);
      find(ref);
      const list = events.get(id) ?? [];
      const at = now().toISOString();
      const same = list.find((e) => e.type === event.type && e.reason === event.reason && e.message === event.message);
      if (same !== undefined) {
        same.count += 1;
        same.lastSeen = at;
        return copy(same);
      }
      const created: ResourceEvent = { ...event, count: 1, firstSeen: at, lastSeen: at, source: identity.name };
      list.push(created);
      events.set(id, list);
      return copy(created);
    },

    async listEvents(ref) {
      find(ref);
      return copy(events.get(idOf(ref).id) ?? []);
    },

    async apply(bundle, opts = {}) {
      if (typeof bundle === 'string') {
        throw new InputError('body: the fake API applies arrays of objects, not YAML', { details: [{ path: 'body', rule: 'content-type' }] });
      }
      const results = [];
      for (const input of bundle) {
        const existing = await api.get({ kind: input.kind, project: input.metadata.project, name: input.metadata.name });
        const base = { kind: kindOf(input.kind).kind, project: projectOf(kindOf(input.kind), input.metadata.project), name: input.metadata.name };
        if (existing === undefined) {
          const created = opts.dryRun === true ? undefined : await api.create(input);
          results.push({ ...base, action: 'created' as const, generation: created?.metadata.generation ?? 1 });
        } else if (JSON.stringify(existing.spec) === JSON.stringify(input.spec) && JSON.stringify(existing.metadata.labels) === JSON.stringify(input.metadata.labels ?? {})) {
          results.push({ ...base, action: 'unchanged' as const, generation: existing.metadata.generation });
        } else {
          const diff = fieldChanges('spec', existing.spec, input.spec);
          const updated = opts.dryRun === true ? undefined : await api.replace(input);
          results.push({ ...base, action: 'updated' as const, generation: updated?.metadata.generation ?? existing.metadata.generation + 1, diff });
        }
      }
      return { dryRun: opts.dryRun === true, results };
    },

    async revisions(ref) {
      find(ref);
      return copy(revisions.get(idOf(ref).id) ?? []);
    },

    async revision(ref, revision) {
      find(ref);
      return copy((revisions.get(idOf(ref).id) ?? []).find((r) => r.revision === revision));
    },

    async revisionDiff(ref, range) {
      find(ref);
      const history = revisions.get(idOf(ref).id) ?? [];
      const to = range.to ?? history[0]?.revision ?? 0;
      const older = history.find((r) => r.revision === range.from);
      const newer = history.find((r) => r.revision === to);
      if (older === undefined || newer === undefined) throw new NotFoundError(`no revision ${older === undefined ? range.from : to}`, { details: [{ path: 'revision', rule: 'exists' }] });
      return { from: range.from, to, diff: fieldChanges('spec', older.spec, newer.spec) };
    },

    async suspend<Spec, Status>(ref: ObjectRef) {
      const obj = find(ref);
      if (obj.metadata.suspended !== true) {
        obj.metadata.suspended = true;
        commit(obj, 'metadata');
      }
      return copy(obj) as unknown as Resource<Spec, Status>;
    },

    async resume<Spec, Status>(ref: ObjectRef) {
      const obj = find(ref);
      if (obj.metadata.suspended === true) {
        obj.metadata.suspended = false;
        commit(obj, 'metadata');
      }
      return copy(obj) as unknown as Resource<Spec, Status>;
    },

    async requestReconcile<Spec, Status>(ref: ObjectRef) {
      const obj = find(ref);
      commit(obj, 'reconcile');
      return copy(obj) as unknown as Resource<Spec, Status>;
    },

    async watch<Spec, Status>(opts: Parameters<ApiClient['watch']>[0]) {
      const wanted = new Set(opts.kinds.map((name) => kindOf(name).kind));
      const queue: Array<WatchEvent<Spec, Status>> = [];
      let wake: (() => void) | undefined;
      const toWatchEvent = (event: ChangeEvent, obj: Resource | undefined, added: boolean): WatchEvent<Spec, Status> => ({
        cursor: event.seq,
        type: event.cause === 'delete' ? 'DELETED' : added ? 'ADDED' : 'MODIFIED',
        cause: event.cause,
        key: { kind: event.kind, project: event.project, name: event.name, uid: event.uid },
        resourceVersion: event.resourceVersion,
        ...(obj === undefined ? {} : { object: obj as unknown as Resource<Spec, Status> }),
      });
      const matches = (event: ChangeEvent) => (wanted.size === 0 || wanted.has(event.kind)) && (!opts.project || event.project === opts.project);
      if (opts.cursor !== undefined) {
        // Past changes are replayed without their object: the fake keeps only the current state.
        for (const event of changes.filter((c) => Number(c.seq) > Number(opts.cursor) && matches(c))) queue.push(toWatchEvent(event, undefined, false));
      }
      const watcher = (event: ChangeEvent, obj: Resource | undefined, added: boolean) => {
        if (!matches(event)) return;
        queue.push(toWatchEvent(event, obj, added));
        wake?.();
      };
      watchers.add(watcher);
      const signal = opts.signal;
      return {
        async *[Symbol.asyncIterator]() {
          try {
            while (signal?.aborted !== true) {
              const next = queue.shift();
              if (next !== undefined) {
                yield next;
                continue;
              }
              await new Promise<void>((resolve) => {
                wake = resolve;
                signal?.addEventListener('abort', () => resolve(), { once: true });
              });
            }
          } finally {
            watchers.delete(watcher);
          }
        },
      };
    },

    async referrers(ref) {
      return referrersOf(find(ref)).map(({ obj, path }) => ({
        kind: obj.kind,
        project: obj.metadata.project,
        name: obj.metadata.name,
        uid: obj.metadata.uid,
        path,
      }));
    },
  };
  return api;
}

/** Field-level differences between two JSON values, under `prefix`. */
function fieldChanges(prefix: string, from: unknown, to: unknown): FieldChange[] {
  const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
  if (isObject(from) && isObject(to)) {
    return [...new Set([...Object.keys(from), ...Object.keys(to)])].sort().flatMap((key) => {
      const path = `${prefix}.${key}`;
      if (!(key in to)) return [{ path, op: 'remove' as const, from: from[key] }];
      if (!(key in from)) return [{ path, op: 'add' as const, to: to[key] }];
      return fieldChanges(path, from[key], to[key]);
    });
  }
  return JSON.stringify(from) === JSON.stringify(to) ? [] : [{ path: prefix, op: 'replace', from, to }];
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const result: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}
