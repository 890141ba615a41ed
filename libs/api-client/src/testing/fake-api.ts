/**
 * The one in-memory stand-in for the Tugboat API, for unit tests of the SDK, `tug` and controllers.
 * It serves the v1 HTTP contract through an injected `fetch`, so the client under test is the real
 * `createApiClient` and errors arrive as the shared error classes. What it keeps of the API's rules is
 * what `api-contract.ts` checks against both this fake and the real API: uid, generation bumped by
 * spec changes only, a new resourceVersion per write and 409 for a stale one, a write that changes
 * nothing writes nothing, status written only by the owning controller, finalizers and deletion,
 * references, events with counts, revisions, operator controls, a watch, and tokens (expiry,
 * last use, list, revocation answering 401). Not kept: owner
 * references, YAML bodies, retention, authorization beyond the controller rules.
 */
import { randomUUID } from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import {
  API_VERSION,
  BUILTIN_KINDS,
  ConflictError,
  ForbiddenError,
  GoneError,
  InputError,
  isDnsLabel,
  isTugboatError,
  keyString,
  matchesLabelSelector,
  NotFoundError,
  parseLabelSelector,
  parseIfMatch,
  REDACTED,
  schemaErrorDetails,
  UnauthenticatedError,
  type ApplyItemResult,
  type ChangeCause,
  type ChangeEvent,
  type ErrorDetail,
  type FieldChange,
  type Identity,
  type KindDefinition,
  type KindRegistration,
  type Referrer,
  type Resource,
  type ResourceEvent,
  type ResourceKey,
  type ResourceList,
  type ResourceStatus,
  type Revision,
  type SecretKeyStatus,
  type TokenSummary,
  type TugboatError,
  type WatchChange,
  referencedNames,
  CLIENT_METADATA_FIELDS,
  RESOURCE_FIELDS,
  SERVER_SET_METADATA_FIELDS,
} from '@tugboat/resource-model';
import { createApiClient, type ApiClient, type ObjectRef } from '../api-client.js';

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

/** The bearer token the fake's own client sends, and the one `tug` tests configure. */
export const FAKE_TOKEN = 'test-token';

export interface FakeApiOptions {
  /** Kinds known from the start; default the built-in kinds. */
  kinds?: readonly KindDefinition[];
  /** Who `FAKE_TOKEN` (and so the fake's own client) is; default the admin user. */
  identity?: Identity;
  /** Called after every committed change, as the API's outbox relay would publish it. */
  onChange?: (event: ChangeEvent) => void;
  now?: () => Date;
  /**
   * What `GET /v1/admin/keys` answers, given the number of stored secret values; default: every
   * value on one key, `fake-1`. A test of a rotation gives its own.
   */
  secretKeyStatus?: (storedValues: number) => SecretKeyStatus;
}

/** The fake's own client, and what a test may look at or do behind the API's back. */
export interface FakeApi extends ApiClient {
  /** Serves the HTTP contract: hand it to `createApiClient` (or `tug`) with `FAKE_TOKEN`. */
  readonly fetch: typeof fetch;
  /** Every stored object (copies, secrets redacted as the API answers them). */
  objects(): Resource[];
  /** One stored object (a copy), `undefined` when there is none. */
  object(ref: ObjectRef): Resource | undefined;
  /** Events recorded for one object, newest first. */
  eventsOf(ref: ObjectRef): ResourceEvent[];
  /** Every change committed so far, in order. */
  readonly changes: readonly ChangeEvent[];
  /** Every request served, in order. */
  readonly requests: ReadonlyArray<{ method: string; path: string; query: string }>;
  /** Writes a status as its controller would (no authorization, same no-op rule). */
  setStatus(ref: ObjectRef, status: ResourceStatus): void;
  /** Removes the object as its controller's last finalizer removal would. */
  removeObject(ref: ObjectRef): void;
  /** Records an event as a controller would; `lastSeen` pins its time. */
  addEvent(ref: ObjectRef, event: { type: 'Normal' | 'Warning'; reason: string; message: string; source?: string; lastSeen?: string }): void;
  /** Makes every cursor older than the newest change answer 410, as a stream past its max age does. */
  forgetChanges(): void;
  /** The sequence number of the newest change. */
  readonly lastSeq: number;
  /** Open watch streams. */
  readonly watchers: number;
  /** Ends every open watch stream, as an API restart would. */
  endWatches(): void;
  /** Paths to answer 404 as an older API would (e.g. `/v1/watch`). */
  readonly missingRoutes: Set<string>;
}

interface RegisteredKind {
  definition: KindDefinition;
  validate: ValidateFunction;
}

interface StoredObject {
  resource: Resource;
  /** Secret values in clear, by path inside `spec`; the stored spec holds `<redacted>` there. */
  secrets: Record<string, unknown>;
  events: ResourceEvent[];
}

interface Change {
  seq: number;
  data: WatchChange;
}

interface Watcher {
  push(change: Change): void;
  end(): void;
}

interface HttpRequest {
  method: string;
  url: URL;
  parts: string[];
  headers: Headers;
  body: unknown;
  signal: AbortSignal | undefined;
  identity: Identity;
}

interface HttpAnswer {
  status: number;
  body: unknown;
}

const MAX_LIST_LIMIT = 1000;
const DEFAULT_LIST_LIMIT = 100;

export function createFakeApi(options: FakeApiOptions = {}): FakeApi {
  const now = options.now ?? (() => new Date());
  const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
  const kinds = new Map<string, RegisteredKind>();
  const tokens = new Map<string, Identity>([[FAKE_TOKEN, options.identity ?? { name: 'admin', type: 'user' }]]);
  /** What the API keeps of each created token (the bootstrap `FAKE_TOKEN` is not stored, as the admin's is not). */
  const tokenRecords = new Map<string, TokenSummary>();
  const objects = new Map<string, StoredObject>();
  /** Outlives the object, as the API's history does; a new object of the same name starts afresh. */
  const revisions = new Map<string, Revision[]>();
  const changes: ChangeEvent[] = [];
  const watchChanges: Change[] = [];
  const watchers = new Set<Watcher>();
  const requests: Array<{ method: string; path: string; query: string }> = [];
  const missingRoutes = new Set<string>();
  let forgottenBefore = 0;
  let version = 0;
  let seq = 0;

  const copy = <T>(value: T): T => structuredClone(value);
  const keyOf = (resource: Resource): string => keyString({ kind: resource.kind, project: resource.metadata.project, name: resource.metadata.name });

  /** Whether `controller` reads `kind`: it owns it, or owns a kind that references it. */
  /** The API's rule: what it owns or composes and what those reference, and the kinds whose secrets it reads. */
  function controllerReads(controller: string, kind: string): boolean {
    return [...kinds.values()].some(({ definition }) => {
      if (definition.kind === kind && (definition.secretReaders?.includes(controller) || definition.composedBy?.includes(controller) || definition.readers?.includes(controller))) return true;
      const acts = definition.controller === controller || definition.composedBy?.includes(controller) === true;
      return acts && (definition.kind === kind || definition.references.some((r) => r.kind === kind));
    });
  }

  function register(definition: KindDefinition): RegisteredKind {
    const registered = { definition: copy(definition), validate: ajv.compile(definition.schema) };
    kinds.set(definition.kind, registered);
    return registered;
  }
  for (const definition of options.kinds ?? BUILTIN_KINDS) register(definition);

  function findKind(name: string): RegisteredKind | undefined {
    const lower = name.toLowerCase();
    return [...kinds.values()].find(({ definition: d }) => [d.kind, d.plural, d.singular, ...d.shortNames].some((n) => n.toLowerCase() === lower));
  }

  function kindOrThrow(name: string): RegisteredKind {
    const found = findKind(name);
    if (found === undefined) throw new NotFoundError(`unknown kind "${name}"`, { details: [{ path: 'kind', rule: 'known-kind' }] });
    return found;
  }

  /**
   * A kind as a client sends it, with the API's defaults. Trusted otherwise: the fake does not check
   * a definition as the API's registry does (that is the registry's own tests' business).
   */
  function kindDefinition(given: KindRegistration): KindDefinition {
    const schema = given.schema['additionalProperties'] === undefined ? { ...given.schema, additionalProperties: false } : given.schema;
    return {
      kind: given.kind,
      plural: given.plural,
      singular: given.singular ?? given.kind.toLowerCase(),
      shortNames: given.shortNames ?? [],
      scope: given.scope,
      controller: given.controller,
      schema,
      references: given.references ?? [],
      secretFields: given.secretFields ?? [],
    };
  }

  /** Registers a new kind whose names are all free. */
  function registerChecked(definition: KindDefinition): KindDefinition {
    for (const name of [definition.plural, definition.singular, ...definition.shortNames]) {
      const taken = findKind(name);
      if (taken !== undefined) throw new ConflictError(`"${name}" is already used by kind ${taken.definition.kind}`, { details: [{ path: 'plural', rule: 'unique' }] });
    }
    return register(definition).definition;
  }

  function builtInRefusal(kind: string, what: string): ForbiddenError {
    return new ForbiddenError(`kind ${kind} is built in and cannot be ${what}; register a kind of your own instead`, { details: [{ path: 'kind', rule: 'built-in' }] });
  }

  function answerKind(status: number, action: 'created' | 'updated' | 'unchanged', definition: KindDefinition): Response {
    return new Response(JSON.stringify(definition), { status, headers: { 'content-type': 'application/json', 'tugboat-kind-action': action } });
  }

  /** `?project=` of an object route, by the API's rules for the kind's scope. */
  function projectFromQuery(definition: KindDefinition, value: string | null): string {
    if (definition.scope === 'Platform') {
      if (value) throw inputError('project', 'platform-scope', `${definition.kind} is platform-wide: leave project empty`);
      return '';
    }
    if (!value) throw inputError('project', 'required', `is required for ${definition.kind}`);
    if (!isDnsLabel(value)) throw inputError('project', 'dns-label', 'must be a DNS label');
    return value;
  }

  function storedOrThrow(kind: RegisteredKind, key: ResourceKey): StoredObject {
    const found = objects.get(keyString(key));
    if (found === undefined) {
      throw new NotFoundError(`${kind.definition.kind} "${key.name}" not found${key.project ? ` in project ${key.project}` : ''}`, {
        details: [{ path: 'metadata.name', rule: 'not-found' }],
      });
    }
    return found;
  }

  function checkVersion(resource: Resource, expected: string | undefined): void {
    if (expected !== undefined && expected !== resource.metadata.resourceVersion) {
      throw new ConflictError(`${resource.kind} "${resource.metadata.name}" was changed: resourceVersion ${expected} is stale (now ${resource.metadata.resourceVersion}); re-read and retry`, {
        details: [{ path: 'metadata.resourceVersion', rule: 'stale' }],
      });
    }
  }

  /** Bumps the resourceVersion and records the change: revision, change event, watch frame. */
  function commit(stored: StoredObject, cause: ChangeCause, actor: Identity, note?: string): void {
    const resource = stored.resource;
    resource.metadata.resourceVersion = String(++version);
    resource.metadata.updatedAt = now().toISOString();
    record(resource, cause, actor, note);
  }

  function record(resource: Resource, cause: ChangeCause, actor: Identity, note?: string): void {
    const at = now().toISOString();
    const objectKey = keyOf(resource);
    const history = revisions.get(objectKey) ?? [];
    // Like the API: revisions are the desired-state audit trail; a status write makes none.
    if (cause !== 'status') history.unshift({
      revision: Number(resource.metadata.resourceVersion),
      generation: resource.metadata.generation,
      cause,
      actor: actor.name,
      at,
      labels: copy(resource.metadata.labels),
      spec: copy(resource.spec),
      ...(note === undefined ? {} : { note }),
    });
    revisions.set(objectKey, history);
    const event: ChangeEvent = {
      kind: resource.kind,
      project: resource.metadata.project,
      name: resource.metadata.name,
      uid: resource.metadata.uid,
      generation: resource.metadata.generation,
      resourceVersion: resource.metadata.resourceVersion,
      cause,
      seq: String(++seq),
      actor: actor.name,
      at,
    };
    changes.push(event);
    const data: WatchChange = {
      type: cause === 'delete' ? 'DELETED' : cause === 'spec' && resource.metadata.generation === 1 && history.length === 1 ? 'ADDED' : 'MODIFIED',
      cause,
      key: { kind: event.kind, project: event.project, name: event.name, uid: event.uid },
      resourceVersion: event.resourceVersion,
      ...(cause === 'delete' ? {} : { object: copy(resource) }),
    };
    const change = { seq, data };
    watchChanges.push(change);
    for (const watcher of watchers) watcher.push(change);
    options.onChange?.(event);
  }

  /**
   * Validates a spec against the kind's schema and splits out its secrets; `<redacted>` sent back
   * for a secret keeps the stored value.
   */
  function prepareSpec(kind: RegisteredKind, spec: Record<string, unknown>, existing?: StoredObject): { stored: Record<string, unknown>; secrets: Record<string, unknown> } {
    const plain = copy(spec);
    const problems: ErrorDetail[] = [];
    // `<redacted>` where none is stored is "not set yet", unless the schema requires the field (as the API does).
    const unset: string[] = [];
    for (const path of kind.definition.secretFields) {
      if (valueAt(plain, path) !== REDACTED) continue;
      if (existing !== undefined && Object.hasOwn(existing.secrets, path)) setAt(plain, path, existing.secrets[path]);
      else {
        const parts = path.split('.');
        const parent = parts.length === 1 ? plain : valueAt(plain, parts.slice(0, -1).join('.'));
        if (typeof parent === 'object' && parent !== null) delete (parent as Record<string, unknown>)[parts.at(-1)!];
        unset.push(path);
      }
    }
    const valid = kind.validate(plain);
    const schemaProblems = valid ? [] : schemaErrorDetails('spec', kind.validate.errors ?? [], kind.definition.schema);
    for (const path of unset) {
      if (schemaProblems.some((problem) => problem.path === `spec.${path}`)) problems.push({ path: `spec.${path}`, rule: 'redacted', message: `"${REDACTED}" keeps a stored secret, but none is stored` });
    }
    if (problems.length === 0) problems.push(...schemaProblems);
    throwIfAny(problems);
    const stored = copy(plain);
    const secrets: Record<string, unknown> = {};
    for (const path of kind.definition.secretFields) {
      const value = valueAt(plain, path);
      if (value === undefined) continue;
      secrets[path] = value;
      setAt(stored, path, REDACTED);
    }
    return { stored, secrets };
  }

  /** Each reference in `spec` must name an object that exists and is not being deleted. */
  function referenceProblems(kind: RegisteredKind, project: string, spec: Record<string, unknown>, planned: ReadonlySet<string> = new Set()): ErrorDetail[] {
    const problems: ErrorDetail[] = [];
    for (const reference of kind.definition.references) for (const { path, name } of referencedNames(spec, reference.path)) {
      if (name === undefined) {
        problems.push({ path: `spec.${path}.name`, rule: 'required', message: 'must name the referenced object' });
        continue;
      }
      const target = kindOrThrow(reference.kind);
      const targetProject = target.definition.scope === 'Platform' ? '' : project;
      const targetKey = keyString({ kind: target.definition.kind, project: targetProject, name });
      const found = objects.get(targetKey);
      if (found === undefined && !planned.has(targetKey)) {
        problems.push({ path: `spec.${path}.name`, rule: 'reference', message: `${reference.kind} "${name}" does not exist${targetProject ? ` in project ${targetProject}` : ''}` });
      } else if (found?.resource.metadata.deletionRequestedAt) {
        problems.push({ path: `spec.${path}.name`, rule: 'reference', message: `${reference.kind} "${name}" is being deleted` });
      }
    }
    return problems;
  }

  function referrersOf(target: Resource): Array<Referrer & { deletionRequested: boolean }> {
    const found: Array<Referrer & { deletionRequested: boolean }> = [];
    for (const { resource } of objects.values()) {
      for (const reference of kinds.get(resource.kind)?.definition.references ?? []) {
        if (reference.kind !== target.kind) continue;
        const targetProject = kinds.get(target.kind)?.definition.scope === 'Platform' ? '' : resource.metadata.project;
        for (const { path, name } of referencedNames(resource.spec, reference.path)) {
          if (name !== target.metadata.name || targetProject !== target.metadata.project) continue;
          const { kind, metadata } = resource;
          found.push({ kind, project: metadata.project, name: metadata.name, uid: metadata.uid, path: `spec.${path}`, deletionRequested: metadata.deletionRequestedAt !== null });
        }
      }
    }
    return found.sort((a, b) => `${a.kind}/${a.project}/${a.name}`.localeCompare(`${b.kind}/${b.project}/${b.name}`));
  }

  function insert(kind: RegisteredKind, input: ParsedInput, actor: Identity): Resource {
    const prepared = prepareSpec(kind, input.spec);
    throwIfAny(referenceProblems(kind, input.project, input.spec));
    const objectKey = keyString({ kind: kind.definition.kind, project: input.project, name: input.name });
    if (objects.has(objectKey)) {
      throw new ConflictError(`${kind.definition.kind} "${input.name}" already exists${input.project ? ` in project ${input.project}` : ''}`, {
        details: [{ path: 'metadata.name', rule: 'unique' }],
      });
    }
    // Owners live in the object's project (or are platform-wide), as the API resolves them.
    const ownerReferences = (input.ownerReferences ?? []).map((owner, i) => {
      const ownerKind = findKind(owner.kind);
      const found = ownerKind && objects.get(keyString({ kind: ownerKind.definition.kind, project: ownerKind.definition.scope === 'Platform' ? '' : input.project, name: owner.name }));
      if (!ownerKind || !found) throw inputError(`metadata.ownerReferences[${i}]`, 'exists', `${owner.kind} "${owner.name}" does not exist`);
      return { kind: ownerKind.definition.kind, name: owner.name, uid: found.resource.metadata.uid };
    });
    const at = now().toISOString();
    const stored: StoredObject = {
      resource: {
        apiVersion: API_VERSION,
        kind: kind.definition.kind,
        metadata: {
          name: input.name,
          project: input.project,
          uid: randomUUID(),
          labels: input.labels,
          generation: 1,
          resourceVersion: '',
          finalizers: kind.definition.finalizer === false ? [] : [kind.definition.controller],
          deletionRequestedAt: null,
          createdAt: at,
          updatedAt: at,
          ...(ownerReferences.length > 0 ? { ownerReferences } : {}),
        },
        spec: prepared.stored,
        status: {},
      },
      secrets: prepared.secrets,
      events: [],
    };
    objects.set(objectKey, stored);
    revisions.delete(objectKey);
    commit(stored, 'spec', actor);
    return stored.resource;
  }

  /** What replacing labels and spec would do; `undefined` when nothing changes. */
  function planChange(kind: RegisteredKind, stored: StoredObject, labels: Record<string, string>, spec: Record<string, unknown>) {
    const prepared = prepareSpec(kind, spec, stored);
    const secretsChanged = !jsonEqual(prepared.secrets, stored.secrets);
    const specChanged = secretsChanged || !jsonEqual(prepared.stored, stored.resource.spec);
    if (!specChanged && jsonEqual(labels, stored.resource.metadata.labels)) return undefined;
    if (specChanged) throwIfAny(referenceProblems(kind, stored.resource.metadata.project, spec));
    const diff = diffJson({ metadata: { labels: stored.resource.metadata.labels }, spec: stored.resource.spec }, { metadata: { labels }, spec: prepared.stored });
    for (const path of kind.definition.secretFields) {
      if (Object.hasOwn(stored.secrets, path) && !jsonEqual(stored.secrets[path], prepared.secrets[path]) && !diff.some((c) => c.path === `spec.${path}`)) {
        diff.push({ path: `spec.${path}`, op: 'replace', from: REDACTED, to: REDACTED });
      }
    }
    return { prepared, specChanged, diff };
  }

  function change(kind: RegisteredKind, stored: StoredObject, labels: Record<string, string>, spec: Record<string, unknown>, actor: Identity): void {
    const planned = planChange(kind, stored, labels, spec);
    if (planned === undefined) return;
    stored.resource.metadata.labels = labels;
    stored.resource.spec = planned.prepared.stored;
    stored.secrets = planned.prepared.secrets;
    if (planned.specChanged) stored.resource.metadata.generation += 1;
    commit(stored, 'spec', actor);
  }

  /** Removes an object whose deletion was requested once no finalizer and no referrer holds it, then re-checks what it referenced. */
  function removeIfReleased(stored: StoredObject, actor: Identity): boolean {
    const resource = stored.resource;
    if (resource.metadata.finalizers.length > 0 || referrersOf(resource).length > 0) return false;
    const kind = kinds.get(resource.kind)!;
    const targets = kind.definition.references.flatMap((reference) => {
      const target = findKind(reference.kind);
      if (target === undefined) return [];
      return referencedNames(resource.spec, reference.path).flatMap(({ name }) =>
        name === undefined ? [] : [keyString({ kind: target.definition.kind, project: target.definition.scope === 'Platform' ? '' : resource.metadata.project, name })],
      );
    });
    objects.delete(keyOf(resource));
    resource.metadata.resourceVersion = String(++version);
    record(resource, 'delete', actor);
    for (const targetKey of targets) {
      const target = objects.get(targetKey);
      if (target?.resource.metadata.deletionRequestedAt) removeIfReleased(target, actor);
    }
    return true;
  }

  function deleteObject(stored: StoredObject, cascade: boolean, actor: Identity, visiting: Set<string>): boolean {
    const resource = stored.resource;
    if (resource.metadata.deletionRequestedAt !== null || visiting.has(resource.metadata.uid)) return false;
    visiting.add(resource.metadata.uid);
    const live = referrersOf(resource).filter((r) => !r.deletionRequested && !visiting.has(r.uid));
    if (live.length > 0 && !cascade) {
      const details = live.map((r) => ({ path: keyString(r), rule: 'in-use' }));
      throw new ConflictError(`${resource.kind} "${resource.metadata.name}" is used by ${details.map((d) => d.path).join(', ')}; delete them first or pass cascade=true`, { details });
    }
    for (const referrer of live) {
      const found = objects.get(keyString(referrer));
      if (found !== undefined) deleteObject(found, true, actor, visiting);
    }
    // Owned objects go with their owner.
    for (const owned of [...objects.values()]) {
      if (owned.resource.metadata.ownerReferences?.some((owner) => owner.uid === resource.metadata.uid)) deleteObject(owned, cascade, actor, visiting);
    }
    if (resource.metadata.finalizers.length === 0 && removeIfReleased(stored, actor)) return true;
    resource.metadata.deletionRequestedAt = now().toISOString();
    commit(stored, 'metadata', actor);
    return false;
  }

  function pushEvent(stored: StoredObject, event: { type: 'Normal' | 'Warning'; reason: string; message: string }, source: string, lastSeen?: string): ResourceEvent {
    const at = lastSeen ?? now().toISOString();
    const same = stored.events.find((e) => e.type === event.type && e.reason === event.reason && e.message === event.message);
    if (same !== undefined) {
      same.count += 1;
      same.lastSeen = at;
      same.source = source;
      return copy(same);
    }
    const created: ResourceEvent = { type: event.type, reason: event.reason, message: event.message, count: 1, firstSeen: at, lastSeen: at, source };
    stored.events.push(created);
    return copy(created);
  }

  function eventsNewestFirst(stored: StoredObject): ResourceEvent[] {
    return copy(stored.events.map((event, index) => ({ event, index })).sort((a, b) => b.event.lastSeen.localeCompare(a.event.lastSeen) || b.index - a.index).map(({ event }) => event));
  }

  function writeStatus(stored: StoredObject, status: ResourceStatus, actor: Identity): void {
    // A write that changes nothing writes nothing and wakes no one.
    if (jsonEqual(status, stored.resource.status)) return;
    stored.resource.status = copy(status);
    commit(stored, 'status', actor);
  }

  function apply(items: unknown[], dryRun: boolean, actor: Identity): HttpAnswer {
    if (items.length === 0) throw new InputError('body: the bundle holds no objects', { details: [{ path: 'items', rule: 'minItems' }] });
    interface Candidate {
      key: ResourceKey;
      kind?: RegisteredKind;
      input?: ParsedInput;
      reasons: ErrorDetail[];
    }
    // First each document alone (its shape), then duplicates, then the order references need.
    const candidates: Candidate[] = items.map((item, index) => {
      const document = isRecord(item) ? item : {};
      const metadata = isRecord(document['metadata']) ? document['metadata'] : {};
      const key: ResourceKey = {
        kind: typeof document['kind'] === 'string' ? document['kind'] : '',
        project: typeof metadata['project'] === 'string' ? metadata['project'] : '',
        name: typeof metadata['name'] === 'string' ? metadata['name'] : `items[${index}]`,
      };
      const kind = findKind(key.kind);
      if (kind === undefined) return { key, reasons: [{ path: 'kind', rule: key.kind === '' ? 'required' : 'unknown-kind', message: `unknown kind "${key.kind}"` }] };
      key.kind = kind.definition.kind;
      try {
        const input = parseResourceBody({ ...document, kind: kind.definition.kind }, kind.definition);
        return { key: { kind: key.kind, project: input.project, name: input.name }, kind, input, reasons: [] };
      } catch (error) {
        return { key, reasons: reasonsOf(error) };
      }
    });
    const seen = new Set<string>();
    for (const candidate of candidates.filter((c) => c.reasons.length === 0)) {
      if (seen.has(keyString(candidate.key))) candidate.reasons.push({ path: 'metadata.name', rule: 'unique', message: 'appears more than once in the bundle' });
      seen.add(keyString(candidate.key));
    }
    const valid = candidates.filter((c) => c.reasons.length === 0);
    const byKey = new Map(valid.map((c) => [keyString(c.key), c]));
    const needs = new Map(
      valid.map((c) => [
        c,
        c.kind!.definition.references.flatMap((reference) => {
          const target = findKind(reference.kind);
          if (target === undefined) return [];
          return referencedNames(c.input!.spec, reference.path).flatMap(({ name }) => {
            if (name === undefined) return [];
            const found = byKey.get(keyString({ kind: target.definition.kind, project: target.definition.scope === 'Platform' ? '' : c.key.project, name }));
            return found === undefined || found === c ? [] : [found];
          });
        }),
      ]),
    );
    // Referenced objects in the bundle come before the objects that need them; otherwise the bundle's order.
    const ordered: Candidate[] = [];
    for (;;) {
      const next = valid.find((c) => !ordered.includes(c) && needs.get(c)!.every((t) => ordered.includes(t)));
      if (next === undefined) break;
      ordered.push(next);
    }
    for (const candidate of valid) {
      if (ordered.includes(candidate)) continue;
      candidate.reasons.push({ path: 'spec', rule: 'cycle', message: 'its references in this bundle form a cycle, or lead to one' });
      ordered.push(candidate);
    }
    ordered.push(...candidates.filter((c) => !valid.includes(c)));

    const planned = new Set<string>();
    const plans = ordered.map((candidate) => {
      const { key } = candidate;
      const blocked = (reasons: ErrorDetail[]) => ({ result: { ...key, action: 'blocked' as const, reasons } as ApplyItemResult });
      if (candidate.reasons.length > 0) return blocked(candidate.reasons);
      const kind = candidate.kind!;
      const input = candidate.input!;
      const objectKey = keyString(key);
      const stored = objects.get(objectKey);
      try {
        // As in the API: the schema first, then the references.
        prepareSpec(kind, input.spec, stored);
        throwIfAny(referenceProblems(kind, input.project, input.spec, planned));
        planned.add(objectKey);
        if (stored === undefined) return { kind, input, result: { ...key, action: 'created' as const, generation: 1 } as ApplyItemResult };
        checkVersion(stored.resource, input.resourceVersion);
        if (stored.resource.metadata.deletionRequestedAt) {
          throw new ConflictError(`${key.kind} "${key.name}" is being deleted`, { details: [{ path: 'metadata.deletionRequestedAt', rule: 'deleting' }] });
        }
        const change = planChange(kind, stored, input.labels, input.spec);
        if (change === undefined) return { kind, input, stored, result: { ...key, action: 'unchanged' as const, generation: stored.resource.metadata.generation } as ApplyItemResult };
        const generation = stored.resource.metadata.generation + (change.specChanged ? 1 : 0);
        return { kind, input, stored, result: { ...key, action: 'updated' as const, generation, diff: change.diff } as ApplyItemResult };
      } catch (error) {
        return blocked(reasonsOf(error));
      }
    });
    const blocked = plans.filter((plan) => plan.result.action === 'blocked');
    if (dryRun) return { status: 200, body: { dryRun: true, results: plans.map((plan) => plan.result) } };
    if (blocked.length > 0) {
      const reasons = blocked.flatMap(({ result }) => (result.reasons ?? []).map((reason) => ({ ...reason, path: `${keyString(result)}: ${reason.path}` })));
      throw new InputError(`the bundle was not applied (nothing was written): ${reasons.map((r) => `${r.path}: ${r.message ?? r.rule}`).join('; ')}`, {
        status: 422,
        details: reasons.map(({ path, rule }) => ({ path, rule })),
      });
    }
    for (const plan of plans) {
      if (!('kind' in plan)) continue;
      if (plan.result.action === 'created') insert(plan.kind, plan.input, actor);
      else if (plan.result.action === 'updated') change(plan.kind, plan.stored!, plan.input.labels, plan.input.spec, actor);
    }
    return { status: 200, body: { dryRun: false, results: plans.map((plan) => plan.result) } };
  }

  function watchResponse(request: HttpRequest): Response {
    const cursor = request.url.searchParams.get('cursor');
    if (cursor !== null && Number(cursor) + 1 < forgottenBefore) throw new GoneError(`cursor ${cursor} is older than what the stream keeps`, { details: [{ path: 'cursor', rule: 'gone' }] });
    const wanted = (request.url.searchParams.get('kinds') ?? '').split(',').filter(Boolean).map((name) => kindOrThrow(name).definition.kind);
    const project = request.url.searchParams.get('project');
    const encoder = new TextEncoder();
    let watcher: Watcher | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = (change: Change) => {
          if (wanted.length > 0 && !wanted.includes(change.data.key.kind)) return;
          if (project !== null && project !== '' && change.data.key.project !== project) return;
          controller.enqueue(encoder.encode(`id: ${change.seq}\nevent: change\ndata: ${JSON.stringify(change.data)}\n\n`));
        };
        const current: Watcher = {
          push: send,
          end: () => {
            watchers.delete(current);
            controller.close();
          },
        };
        watcher = current;
        controller.enqueue(encoder.encode(': watching\n\n'));
        if (cursor !== null) for (const change of watchChanges.filter((c) => c.seq > Number(cursor))) send(change);
        watchers.add(current);
        request.signal?.addEventListener('abort', () => {
          watchers.delete(current);
          controller.error(request.signal?.reason);
        });
      },
      cancel() {
        if (watcher !== undefined) watchers.delete(watcher);
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  }

  /** `expiresIn` (90m, 12h, 30d) or `expiresAt` (RFC 3339), a minute to a year ahead, as the API checks them. */
  function tokenExpiry(input: Record<string, unknown>): string | null {
    const { expiresIn, expiresAt } = input;
    if (expiresIn !== undefined && expiresAt !== undefined) throw inputError('expiresAt', 'exclusive', 'give expiresIn or expiresAt, not both');
    let at: number;
    let path: string;
    if (expiresIn !== undefined) {
      const match = typeof expiresIn === 'string' ? /^(\d{1,6})([mhd])$/.exec(expiresIn) : null;
      if (match === null) throw inputError('expiresIn', 'duration', 'must be a whole number of minutes, hours or days, e.g. 90m, 12h, 30d');
      at = now().getTime() + Number(match[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'm' | 'h' | 'd'];
      path = 'expiresIn';
    } else if (expiresAt !== undefined) {
      at = typeof expiresAt === 'string' && /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/i.test(expiresAt) ? Date.parse(expiresAt) : Number.NaN;
      if (Number.isNaN(at)) throw inputError('expiresAt', 'date-time', 'must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z');
      path = 'expiresAt';
    } else {
      return null;
    }
    const ahead = at - now().getTime();
    if (ahead < 60_000) throw inputError(path, 'minimum', 'must be at least a minute ahead');
    if (ahead > 365 * 86_400_000) throw inputError(path, 'maximum', 'must be at most a year (365d) ahead');
    return new Date(at).toISOString();
  }

  /** A revoked or expired token answers 401 saying which; a use is recorded at most once a minute. */
  function admitToken(identity: Identity): void {
    const record = tokenRecords.get(identity.name);
    if (record === undefined) return;
    if (record.revokedAt !== null) throw new UnauthenticatedError(`token "${record.name}" was revoked at ${record.revokedAt}`, { details: [{ path: 'authorization', rule: 'revoked' }] });
    const at = now().getTime();
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= at) {
      throw new UnauthenticatedError(`token "${record.name}" expired at ${record.expiresAt}`, { details: [{ path: 'authorization', rule: 'expired' }] });
    }
    if (record.lastUsedAt === null || at - Date.parse(record.lastUsedAt) >= 60_000) record.lastUsedAt = new Date(at).toISOString();
  }

  /** The routes of the v1 contract; throws the shared errors, which `fetchImpl` turns into answers. */
  function route(request: HttpRequest): HttpAnswer | Response {
    const { method, url, parts, identity } = request;
    const isAdmin = identity.type === 'user' && identity.name === 'admin';
    const query = (name: string) => url.searchParams.get(name);
    const flag = (name: string): boolean => {
      const value = query(name);
      if (value !== null && value !== 'true' && value !== 'false') throw inputError(name, 'enum', 'must be true or false', 400);
      return value === 'true';
    };
    const deny = (action: string, why: string): never => {
      throw new ForbiddenError(`${identity.type} "${identity.name}" may not ${action}: ${why}`);
    };
    if (parts[1] === 'whoami' && parts.length === 2 && method === 'GET') return { status: 200, body: identity };
    if (parts[1] === 'tokens' && parts.length === 2 && method === 'POST') {
      if (!isAdmin) deny('createToken', 'admin only');
      const input = isRecord(request.body) ? request.body : {};
      if (!isDnsLabel(input['name'])) throw inputError('name', 'dns-label', 'must be a DNS label');
      if (input['name'] === 'admin') throw inputError('name', 'reserved', 'is the bootstrap identity');
      // `controller` alone makes a controller identity (`tug token create NAME --controller C`).
      const type =
        input['type'] ??
        (input['controller'] !== undefined ? 'controller' : input['user'] !== undefined ? 'user' : input['project'] !== undefined || input['role'] !== undefined ? 'serviceaccount' : undefined);
      if (type !== 'user' && type !== 'serviceaccount' && type !== 'controller') throw inputError('type', 'enum', 'must be user, serviceaccount or controller');
      const name = input['name'];
      const project = typeof input['project'] === 'string' ? input['project'] : null;
      const role = typeof input['role'] === 'string' ? input['role'] : null;
      const user = type === 'user' ? (typeof input['user'] === 'string' ? input['user'] : name) : null;
      const expiresAt = tokenExpiry(input);
      if ([...tokens.values()].some((identity) => identity.name === name)) throw new ConflictError(`a token named "${name}" already exists`, { details: [{ path: 'name', rule: 'unique' }] });
      const created: Identity =
        type === 'controller'
          ? { name, type: 'controller', controller: typeof input['controller'] === 'string' ? input['controller'] : name, token: name }
          : type === 'user'
            ? { name: user!, type: 'user', token: name }
            : { name, type: 'serviceaccount', token: name };
      // Numbered, so a test can expect the token `tug` prints (the first one made is `tug_fake_1`).
      const token = `tug_fake_${tokens.size}`;
      tokens.set(token, created);
      tokenRecords.set(name, { name, type: created.type, controller: created.controller ?? null, user, project, role, createdAt: now().toISOString(), expiresAt, lastUsedAt: null, revokedAt: null });
      return { status: 201, body: { token, identity: created, expiresAt } };
    }
    if (parts[1] === 'tokens' && parts.length === 2 && method === 'GET') {
      if (!isAdmin) deny('listTokens', 'admin only');
      return { status: 200, body: { items: [...tokenRecords.values()].sort((a, b) => (a.name < b.name ? -1 : 1)) } };
    }
    if (parts[1] === 'tokens' && parts.length === 3 && method === 'DELETE') {
      if (!isAdmin) deny('revokeToken', 'admin only');
      if (parts[2] === 'admin') throw inputError('name', 'reserved', 'the admin token is not stored and cannot be revoked');
      const record = tokenRecords.get(parts[2]!);
      if (record === undefined) throw new NotFoundError(`no token named "${parts[2]!}" (tug token list shows them)`);
      record.revokedAt ??= now().toISOString();
      return { status: 200, body: { ...record } };
    }
    if (parts[1] === 'admin' && parts[2] === 'keys' && parts.length === 3 && method === 'GET') {
      if (!isAdmin) deny('readKeys', 'admin only');
      const stored = [...objects.values()].reduce((n, object) => n + Object.keys(object.secrets).length, 0);
      return { status: 200, body: options.secretKeyStatus?.(stored) ?? { current: 'fake-1', keys: [{ id: 'fake-1', current: true, values: stored }], unknown: [] } };
    }
    if (parts[1] === 'kinds') {
      if (parts.length === 2 && method === 'GET') return { status: 200, body: { items: [...kinds.values()].map((k) => k.definition) } };
      if (parts.length === 3 && method === 'GET') return { status: 200, body: kindOrThrow(parts[2]!).definition };
      if (parts.length === 3 && method === 'PUT') {
        if (!isAdmin) deny('updateKind', 'admin only');
        const given = isRecord(request.body) ? request.body : {};
        if (given['kind'] !== undefined && given['kind'] !== parts[2]) throw inputError('kind', 'match-path', `the body names ${JSON.stringify(given['kind'])}, the path ${parts[2]!}`);
        const definition = kindDefinition({ ...given, kind: parts[2] } as KindRegistration);
        const existing = kinds.get(definition.kind);
        if (existing === undefined) return answerKind(201, 'created', registerChecked(definition));
        if (existing.definition.builtIn) throw builtInRefusal(definition.kind, 'changed');
        if (jsonEqual(definition, existing.definition)) return answerKind(200, 'unchanged', existing.definition);
        for (const field of ['plural', 'scope'] as const) {
          if (definition[field] !== existing.definition[field]) throw inputError(field, 'immutable', `cannot change (${existing.definition[field]} → ${definition[field]}); delete the kind and register it again`);
        }
        // A schema the stored objects would no longer pass is refused, naming them.
        const validate = ajv.compile(definition.schema);
        const failing = [...objects.values()].filter(({ resource }) => resource.kind === definition.kind && !validate(resource.spec));
        if (failing.length > 0) {
          throw new ConflictError(`kind ${definition.kind}: the new schema would refuse ${failing.length} stored object(s)`, {
            details: failing.map(({ resource }) => ({ path: keyString({ kind: resource.kind, project: resource.metadata.project, name: resource.metadata.name }), rule: 'incompatible' })),
          });
        }
        return answerKind(200, 'updated', register(definition).definition);
      }
      if (parts.length === 3 && method === 'DELETE') {
        if (!isAdmin) deny('deleteKind', 'admin only');
        const { definition } = kindOrThrow(parts[2]!);
        if (definition.builtIn) throw builtInRefusal(definition.kind, 'deleted');
        const referrers = [...kinds.values()].filter((k) => k.definition.kind !== definition.kind && k.definition.references.some((r) => r.kind === definition.kind)).map((k) => k.definition.kind);
        if (referrers.length > 0) throw new ConflictError(`kind ${definition.kind} is referenced by ${referrers.join(', ')}; delete or change those first`, { details: referrers.map((k) => ({ path: k, rule: 'references' })) });
        const left = [...objects.values()].filter(({ resource }) => resource.kind === definition.kind).map(({ resource }) => keyOf(resource));
        if (left.length > 0) {
          throw new ConflictError(`kind ${definition.kind}: cannot be deleted while ${left.length} object(s) of it exist: ${left.join(', ')}`, {
            details: [{ path: 'kind', rule: 'has-objects' }, ...left.map((name) => ({ path: name, rule: 'exists' }))],
          });
        }
        kinds.delete(definition.kind);
        return { status: 200, body: definition };
      }
      if (parts.length === 2 && method === 'POST') {
        if (!isAdmin) deny('registerKind', 'admin only');
        const definition = kindDefinition(request.body as KindRegistration);
        if (kinds.has(definition.kind)) throw new ConflictError(`kind ${definition.kind} is already registered`, { details: [{ path: 'kind', rule: 'unique' }] });
        return { status: 201, body: registerChecked(definition) };
      }
    }
    if (parts[1] === 'apply' && parts.length === 2 && method === 'POST') {
      const body = request.body;
      const items = Array.isArray(body) ? body : isRecord(body) && Array.isArray(body['items']) ? body['items'] : undefined;
      if (items === undefined) throw new InputError('body: must be a JSON array of objects or { "items": [...] } (the fake reads no YAML)', { details: [{ path: 'body', rule: 'type' }] });
      return apply(items, flag('dryRun'), identity);
    }
    if (parts[1] === 'watch' && parts.length === 2 && method === 'GET') return watchResponse(request);
    if (parts.length < 2) throw routeNotFound(request);
    const kind = kindOrThrow(parts[1]!);
    const definition = kind.definition;

    if (parts.length === 2 && method === 'POST') {
      const input = parseResourceBody(request.body, definition);
      return { status: 201, body: copy(insert(kind, input, identity)) };
    }
    if (parts.length === 2 && method === 'GET') {
      const project = query('project') ? projectFromQuery(definition, query('project')) : undefined;
      const selector = parseLabelSelector(query('labelSelector') ?? '');
      const limitText = query('limit');
      if (limitText !== null && !/^\d+$/.test(limitText)) throw inputError('limit', 'type', 'must be a positive integer', 400);
      const limit = limitText === null ? DEFAULT_LIST_LIMIT : Number(limitText);
      if (limit < 1 || limit > MAX_LIST_LIMIT) throw inputError('limit', 'range', `must be an integer from 1 to ${MAX_LIST_LIMIT}`, 400);
      const after = query('continue');
      const all = [...objects.values()]
        .map((stored) => stored.resource)
        .filter((resource) => resource.kind === definition.kind && (project === undefined || resource.metadata.project === project))
        .filter((resource) => matchesLabelSelector(selector, resource.metadata.labels))
        .sort((a, b) => compareKeys(a, b))
        .filter((resource) => after === null || `${resource.metadata.project}\u0000${resource.metadata.name}` > after);
      const page = all.slice(0, limit);
      const last = page.at(-1);
      const list: ResourceList = {
        items: copy(page),
        metadata: { ...(all.length > limit && last ? { continue: `${last.metadata.project}\u0000${last.metadata.name}` } : {}), cursor: String(seq) },
      };
      return { status: 200, body: list };
    }

    const key: ResourceKey = { kind: definition.kind, project: projectFromQuery(definition, query('project')), name: parts[2] ?? '' };
    const sub = parts.slice(3).join('/');
    // As the real API: a controller reads only the kinds it owns and those they reference; any
    // other object is answered as missing, so an answer never confirms it exists.
    if (identity.type === 'controller' && !controllerReads(identity.controller ?? identity.name, definition.kind)) {
      throw new NotFoundError(`${definition.kind} "${key.name}" not found${key.project ? ` in project ${key.project}` : ''}`, { details: [{ path: 'metadata.name', rule: 'not-found' }] });
    }
    if (sub === 'revisions' && method === 'GET') return { status: 200, body: { items: copy(revisions.get(keyString(key)) ?? []) } };
    if (sub === 'revisions/diff' && method === 'GET') {
      const history = revisions.get(keyString(key)) ?? [];
      const from = revisionNumber(query('from'), 'from');
      const toText = query('to');
      const to = toText === null || toText === '' ? history[0]?.revision : revisionNumber(toText, 'to');
      const older = history.find((r) => r.revision === from);
      const newer = history.find((r) => r.revision === to);
      if (older === undefined || newer === undefined) throw new NotFoundError(`revision ${older === undefined ? from : String(to)} not found`, { details: [{ path: older === undefined ? 'from' : 'to', rule: 'not-found' }] });
      const view = (r: Revision) => ({ metadata: { labels: r.labels }, spec: r.spec });
      return { status: 200, body: { from: older.revision, to: newer.revision, diff: diffJson(view(older), view(newer)) } };
    }
    if (parts[3] === 'revisions' && parts.length === 5 && method === 'GET') {
      const number = revisionNumber(parts[4]!, 'revision');
      const found = (revisions.get(keyString(key)) ?? []).find((r) => r.revision === number);
      if (found === undefined) throw new NotFoundError(`revision ${number} of ${definition.kind} "${key.name}" not found`, { details: [{ path: 'revision', rule: 'not-found' }] });
      return { status: 200, body: copy(found) };
    }

    const stored = storedOrThrow(kind, key);
    const resource = stored.resource;
    const answer = (status = 200): HttpAnswer => ({ status, body: copy(resource) });
    if (sub === '' && method === 'GET') return answer();
    if (sub === '' && method === 'PUT') {
      const input = parseResourceBody(request.body, definition, key);
      const header = ifMatch(request.headers);
      if (header !== undefined && input.resourceVersion !== undefined && header !== input.resourceVersion) {
        throw new ConflictError('If-Match and metadata.resourceVersion disagree', { details: [{ path: 'metadata.resourceVersion', rule: 'stale' }] });
      }
      checkVersion(resource, header ?? input.resourceVersion);
      change(kind, stored, input.labels, input.spec, identity);
      return answer();
    }
    if (sub === '' && method === 'PATCH') {
      const patch = isRecord(request.body) ? request.body : undefined;
      if (patch === undefined) throw inputError('body', 'type', 'must be a JSON merge patch object');
      const metadata = isRecord(patch['metadata']) ? patch['metadata'] : {};
      const expected = ifMatch(request.headers) ?? (typeof metadata['resourceVersion'] === 'string' ? metadata['resourceVersion'] : undefined);
      checkVersion(resource, expected);
      const labels = metadata['labels'] === undefined ? resource.metadata.labels : (mergePatch(resource.metadata.labels, metadata['labels']) as Record<string, string>);
      const plainSpec = copy(resource.spec);
      for (const [path, value] of Object.entries(stored.secrets)) setAt(plainSpec, path, value);
      const spec = patch['spec'] === undefined ? plainSpec : mergePatch(plainSpec, patch['spec']);
      if (!isRecord(spec)) throw inputError('spec', 'type', 'must stay an object');
      change(kind, stored, labels, spec, identity);
      return answer();
    }
    if (sub === '' && method === 'DELETE') {
      const removed = deleteObject(stored, flag('cascade'), identity, new Set());
      return removed ? { status: 200, body: { deleted: true } } : answer(202);
    }
    if (sub === 'status' && method === 'PUT') {
      if (identity.type !== 'controller' || identity.controller !== definition.controller) deny(`writeStatus ${definition.kind}`, `only controller ${definition.controller} writes this status`);
      const body = isRecord(request.body) ? request.body : undefined;
      if (body === undefined || !isRecord(body['status'])) throw inputError('status', 'type', 'must be an object');
      const metadata = isRecord(body['metadata']) ? body['metadata'] : {};
      checkVersion(resource, ifMatch(request.headers) ?? (typeof metadata['resourceVersion'] === 'string' ? metadata['resourceVersion'] : undefined));
      writeStatus(stored, body['status'] as ResourceStatus, identity);
      return answer();
    }
    if (parts[3] === 'finalizers' && parts.length === 5 && method === 'DELETE') {
      const finalizer = parts[4]!;
      const force = flag('force');
      if (force && !isAdmin) deny(`forceRemoveFinalizer ${definition.kind}`, 'only the admin force-removes a finalizer');
      if (!force && (identity.type !== 'controller' || identity.controller !== finalizer)) deny(`removeFinalizer ${definition.kind}`, `only controller ${finalizer} removes its finalizer`);
      if (!resource.metadata.finalizers.includes(finalizer)) return { status: 200, body: { deleted: false, object: copy(resource) } };
      const note = force ? `finalizer ${finalizer} force-removed` : undefined;
      if (force) pushEvent(stored, { type: 'Warning', reason: 'FinalizerForceRemoved', message: `${note!} by ${identity.name}` }, identity.name);
      resource.metadata.finalizers = resource.metadata.finalizers.filter((f) => f !== finalizer);
      if (!force && resource.metadata.finalizers.length === 0 && resource.metadata.deletionRequestedAt && removeIfReleased(stored, identity)) return { status: 200, body: { deleted: true } };
      commit(stored, 'metadata', identity, note);
      if (force && resource.metadata.finalizers.length === 0 && resource.metadata.deletionRequestedAt && removeIfReleased(stored, identity)) return { status: 200, body: { deleted: true } };
      return { status: 200, body: { deleted: false, object: copy(resource) } };
    }
    if (sub === 'secrets' && method === 'GET') {
      if (identity.type !== 'controller') deny(`readSecrets ${definition.kind}`, 'secrets are readable by controllers only');
      return { status: 200, body: copy(stored.secrets) };
    }
    if (sub === 'events' && method === 'POST') {
      const body = isRecord(request.body) ? request.body : {};
      const problems: ErrorDetail[] = [];
      for (const field of Object.keys(body)) if (!['type', 'reason', 'message'].includes(field)) problems.push({ path: field, rule: 'additionalProperties', message: 'unknown field' });
      if (body['type'] !== 'Normal' && body['type'] !== 'Warning') problems.push({ path: 'type', rule: 'enum', message: 'must be Normal or Warning' });
      if (typeof body['reason'] !== 'string' || !/^[A-Za-z][A-Za-z0-9]{0,127}$/.test(body['reason'])) problems.push({ path: 'reason', rule: 'pattern', message: 'must be a CamelCase word (at most 128)' });
      if (typeof body['message'] !== 'string' || body['message'].length > 4096) problems.push({ path: 'message', rule: 'type', message: 'must be a string of at most 4096 characters' });
      throwIfAny(problems);
      // Controllers write free text: never let a secret of this object through it.
      let message = body['message'] as string;
      for (const value of Object.values(stored.secrets)) if (typeof value === 'string' && value.length >= 4) message = message.split(value).join(REDACTED);
      return { status: 201, body: pushEvent(stored, { type: body['type'] as 'Normal' | 'Warning', reason: body['reason'] as string, message }, identity.name) };
    }
    if (sub === 'events' && method === 'GET') return { status: 200, body: { items: eventsNewestFirst(stored) } };
    if (sub === 'referrers' && method === 'GET') return { status: 200, body: { items: referrersOf(resource).map(({ deletionRequested: _, ...referrer }) => referrer) } };
    if ((sub === 'suspend' || sub === 'resume') && method === 'POST') {
      const suspended = sub === 'suspend';
      if ((resource.metadata.suspended === true) === suspended) return answer();
      if (suspended) resource.metadata.suspended = true;
      else delete resource.metadata.suspended;
      const what = suspended ? 'suspended' : 'resumed';
      commit(stored, 'metadata', identity, what);
      pushEvent(stored, { type: 'Normal', reason: suspended ? 'Suspended' : 'Resumed', message: `${what} by ${identity.name}` }, identity.name);
      return answer();
    }
    if (sub === 'reconcile' && method === 'POST') {
      if (resource.metadata.suspended) throw new ConflictError(`${definition.kind} "${key.name}" is suspended: resume it first`, { details: [{ path: 'metadata.suspended', rule: 'suspended' }] });
      commit(stored, 'reconcile', identity, 'reconcile requested');
      pushEvent(stored, { type: 'Normal', reason: 'ReconcileRequested', message: `reconcile requested by ${identity.name}` }, identity.name);
      return answer();
    }
    throw routeNotFound(request);
  }

  const fetchImpl = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const method = init.method ?? 'GET';
    requests.push({ method, path: url.pathname, query: url.search });
    const headers = new Headers(init.headers);
    const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    try {
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const token = /^Bearer (.+)$/.exec(headers.get('authorization') ?? '')?.[1];
      const identity = token === undefined ? undefined : tokens.get(token);
      if (identity === undefined) throw new UnauthenticatedError('missing or unknown bearer token');
      admitToken(identity);
      const request: HttpRequest = { method, url, parts, headers, body: parseBody(init.body), signal: init.signal ?? undefined, identity };
      if (missingRoutes.has(url.pathname) || parts[0] !== 'v1') throw routeNotFound(request);
      const answer = route(request);
      return answer instanceof Response ? answer : json(answer.status, answer.body);
    } catch (error) {
      if (!isTugboatError(error)) throw error;
      return json(error.status, (error as TugboatError).toBody());
    }
  };

  const client = createApiClient({ baseUrl: 'http://fake-api.invalid', token: FAKE_TOKEN, fetch: fetchImpl as typeof fetch });
  const system: Identity = { name: 'fake-api', type: 'user' };
  const storedAt = (ref: ObjectRef): StoredObject | undefined => {
    const kind = findKind(ref.kind);
    if (kind === undefined) return undefined;
    return objects.get(keyString({ kind: kind.definition.kind, project: kind.definition.scope === 'Platform' ? '' : (ref.project ?? ''), name: ref.name }));
  };
  const storedOrFail = (ref: ObjectRef): StoredObject => {
    const found = storedAt(ref);
    if (found === undefined) throw new Error(`the fake API holds no ${keyString({ kind: ref.kind, project: ref.project ?? '', name: ref.name })}`);
    return found;
  };

  return {
    ...client,
    fetch: fetchImpl as typeof fetch,
    changes,
    requests,
    missingRoutes,
    objects: () => copy([...objects.values()].map((stored) => stored.resource).sort(compareKeys)),
    object: (ref) => copy(storedAt(ref)?.resource),
    eventsOf: (ref) => {
      const found = storedAt(ref);
      return found === undefined ? [] : eventsNewestFirst(found);
    },
    setStatus(ref, status) {
      const stored = storedOrFail(ref);
      writeStatus(stored, status, { name: kinds.get(stored.resource.kind)!.definition.controller, type: 'controller' });
    },
    removeObject(ref) {
      const stored = storedOrFail(ref);
      stored.resource.metadata.finalizers = [];
      objects.delete(keyOf(stored.resource));
      stored.resource.metadata.resourceVersion = String(++version);
      record(stored.resource, 'delete', system);
    },
    addEvent(ref, event) {
      pushEvent(storedOrFail(ref), event, event.source ?? system.name, event.lastSeen);
    },
    forgetChanges() {
      forgottenBefore = seq + 1;
    },
    get lastSeq() {
      return seq;
    },
    get watchers() {
      return watchers.size;
    },
    endWatches() {
      for (const watcher of [...watchers]) watcher.end();
    },
  };
}

interface ParsedInput {
  name: string;
  project: string;
  labels: Record<string, string>;
  spec: Record<string, unknown>;
  resourceVersion?: string;
  ownerReferences?: Array<{ kind: string; name: string }>;
}

/** The API's body rules for a create or replace, with the same paths and rules in its errors. */
function parseResourceBody(body: unknown, kind: KindDefinition, target?: ResourceKey): ParsedInput {
  if (!isRecord(body)) throw inputError('body', 'type', 'must be a JSON object');
  const problems: ErrorDetail[] = [];
  const add = (path: string, rule: string, message: string) => problems.push({ path, rule, message });
  for (const field of Object.keys(body)) if (!RESOURCE_FIELDS.has(field)) add(field, 'additionalProperties', 'unknown field');
  if (body['apiVersion'] !== undefined && body['apiVersion'] !== API_VERSION) add('apiVersion', 'const', `must be ${API_VERSION}`);
  if (body['kind'] !== undefined && body['kind'] !== kind.kind) add('kind', 'const', `must be ${kind.kind} on this route`);
  const metadata = body['metadata'];
  const parsed: ParsedInput = { name: '', project: '', labels: {}, spec: {} };
  if (!isRecord(metadata)) {
    add('metadata', metadata === undefined ? 'required' : 'type', 'must be an object with at least a name');
  } else {
    for (const field of Object.keys(metadata)) {
      if (!CLIENT_METADATA_FIELDS.has(field) && !SERVER_SET_METADATA_FIELDS.has(field)) add(`metadata.${field}`, 'additionalProperties', 'unknown field');
    }
    const name = metadata['name'];
    if (name === undefined && target) parsed.name = target.name;
    else if (!isDnsLabel(name)) add('metadata.name', name === undefined ? 'required' : 'dns-label', 'must be a DNS label (lower-case alphanumerics and "-", start and end alphanumeric, at most 63)');
    else if (target && name !== target.name) add('metadata.name', 'const', `must match the name in the URL (${target.name})`);
    else parsed.name = name;
    const project = metadata['project'];
    if (kind.scope === 'Platform') {
      if (project !== undefined && project !== '') add('metadata.project', 'platform-scope', `${kind.kind} is platform-wide: leave project empty`);
    } else if (project === undefined && target) parsed.project = target.project;
    else if (!isDnsLabel(project)) add('metadata.project', project === undefined ? 'required' : 'dns-label', `is required for ${kind.kind} and must be a DNS label`);
    else if (target && project !== target.project) add('metadata.project', 'const', `must match ?project= (${target.project})`);
    else parsed.project = project;
    const labels = metadata['labels'];
    if (labels !== undefined && labels !== null) {
      if (!isRecord(labels)) add('metadata.labels', 'type', 'must be a map of strings');
      else for (const [label, value] of Object.entries(labels)) if (typeof value !== 'string') add(`metadata.labels.${label}`, 'type', 'must be a string');
      if (isRecord(labels)) parsed.labels = { ...(labels as Record<string, string>) };
    }
    const owners = metadata['ownerReferences'];
    if (owners !== undefined && !target) {
      if (!Array.isArray(owners)) add('metadata.ownerReferences', 'type', 'must be an array of { kind, name }');
      else
        owners.forEach((owner: unknown, i) => {
          if (!isRecord(owner) || typeof owner['kind'] !== 'string' || !isDnsLabel(owner['name'])) add(`metadata.ownerReferences[${i}]`, 'type', 'must be { kind, name } with a DNS-label name');
          else (parsed.ownerReferences ??= []).push({ kind: owner['kind'], name: owner['name'] as string });
        });
    }
    const rv = metadata['resourceVersion'];
    if (rv !== undefined && rv !== null && rv !== '') {
      if ((typeof rv === 'string' && /^\d{1,19}$/.test(rv)) || (typeof rv === 'number' && Number.isSafeInteger(rv) && rv >= 0)) parsed.resourceVersion = String(rv);
      else add('metadata.resourceVersion', 'pattern', 'must be a resourceVersion as returned by the API');
    }
  }
  const spec = body['spec'];
  if (!isRecord(spec)) add('spec', spec === undefined ? 'required' : 'type', 'must be an object');
  else parsed.spec = spec;
  throwIfAny(problems);
  return parsed;
}

function throwIfAny(problems: ErrorDetail[]): void {
  if (problems.length === 0) return;
  throw new InputError(problems.map((d) => `${d.path}: ${d.message ?? d.rule}`).join('; '), { status: 422, details: problems.map(({ path, rule }) => ({ path, rule })) });
}

function inputError(path: string, rule: string, message: string, status: 400 | 422 = 422): InputError {
  return new InputError(`${path}: ${message}`, { status, details: [{ path, rule }] });
}

function reasonsOf(error: unknown): ErrorDetail[] {
  if (!isTugboatError(error) || error.status >= 500) throw error;
  const details = error.details.length > 0 ? error.details : [{ path: 'metadata.name', rule: error.code }];
  // The message of one detail, out of an error message that joins `path: message` pairs with `; `.
  const messageOf = (path: string) => {
    const part = error.message.split('; ').find((p) => p.startsWith(`${path}: `));
    return part ? part.slice(path.length + 2) : error.message;
  };
  return details.map((d) => ({ path: d.path, rule: d.rule, message: d.message ?? messageOf(d.path) }));
}

function routeNotFound(request: { method: string; url: URL }): NotFoundError {
  return new NotFoundError(`no route ${request.method} ${request.url.pathname}`, { details: [{ path: 'path', rule: 'route' }] });
}

function ifMatch(headers: Headers): string | undefined {
  return parseIfMatch(headers.get('if-match'));
}

function revisionNumber(value: string | null, path: string): number {
  if (value === null || !/^\d{1,15}$/.test(value)) throw inputError(path, 'type', 'must be a revision number', 400);
  return Number(value);
}

function parseBody(body: RequestInit['body']): unknown {
  if (body === undefined || body === null) return undefined;
  const text = String(body);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InputError('body: malformed JSON', { details: [{ path: 'body', rule: 'json' }] });
  }
}


function compareKeys(a: Resource, b: Resource): number {
  return a.metadata.project === b.metadata.project ? a.metadata.name.localeCompare(b.metadata.name) : a.metadata.project.localeCompare(b.metadata.project);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

function valueAt(root: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((at, part) => (isRecord(at) && Object.hasOwn(at, part) ? at[part] : undefined), root);
}

function setAt(root: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  const last = parts.pop()!;
  const parent = parts.length === 0 ? root : valueAt(root, parts.join('.'));
  if (isRecord(parent)) parent[last] = value;
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** Field-level differences, as the API's history and apply plan report them: objects key by key, arrays index by index. */
function diffJson(before: unknown, after: unknown, path = ''): FieldChange[] {
  const at = (key: string | number) => (typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`);
  if (isRecord(before) && isRecord(after)) {
    return [...new Set([...Object.keys(before), ...Object.keys(after)])].sort().flatMap((key) => {
      if (!Object.hasOwn(after, key)) return [{ path: at(key), op: 'remove' as const, from: before[key] }];
      if (!Object.hasOwn(before, key)) return [{ path: at(key), op: 'add' as const, to: after[key] }];
      return diffJson(before[key], after[key], at(key));
    });
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    return Array.from({ length: Math.max(before.length, after.length) }, (_, i) => i).flatMap((i) => {
      if (i >= after.length) return [{ path: at(i), op: 'remove' as const, from: before[i] }];
      if (i >= before.length) return [{ path: at(i), op: 'add' as const, to: after[i] }];
      return diffJson(before[i], after[i], at(i));
    });
  }
  return jsonEqual(before, after) ? [] : [{ path, op: 'replace', from: before, to: after }];
}
