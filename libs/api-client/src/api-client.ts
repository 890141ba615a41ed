import {
  errorFromBody,
  formatLabelSelector,
  GoneError,
  InputError,
  isErrorCode,
  isTugboatError,
  NotFoundError,
  parseLabelSelector,
  UnavailableError,
  type ApplyItemResult,
  type ApplyResult,
  type CreatedToken,
  type EventInput,
  type Identity,
  type KindDefinition,
  type KindApplyResult,
  type KindRegistration,
  type Referrer,
  type Resource,
  type ResourceEvent,
  type ResourceInput,
  type ResourceList,
  type ResourceStatus,
  type Revision,
  type RolloutDecision,
  type RolloutSpec,
  type RolloutState,
  type RevisionDiff,
  type TokenInput,
  type TokenSummary,
  type SecretKeyStatus,
  type AuditQuery,
  type AuditRecordList,
  type WatchChange,
} from '@tugboat/resource-model';
import { createKindCache, type KindCache } from './kind-cache.js';
import { parseServerSentEvents } from './server-sent-events.js';

export interface ApiClientOptions {
  /** e.g. `http://127.0.0.1:7070`; a trailing slash is ignored. */
  baseUrl: string;
  /** Bearer token; omit only for `/healthz` and `/readyz`. */
  token?: string;
  /** Injected for tests or instrumentation; defaults to the global `fetch`. */
  fetch?: typeof fetch;
  userAgent?: string;
  /** How long the `/v1/kinds` answer is trusted before a miss refreshes it. Default 30 s. */
  kindsCacheTtlMs?: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

/**
 * Names one object. `kind` may be the kind (`WorkloadInstance`), its plural (`workloadinstances`),
 * singular or a short name; `project` is omitted or `''` for platform-wide kinds.
 */
export interface ObjectRef {
  kind: string;
  project?: string;
  name: string;
}

export interface ListOptions extends RequestOptions {
  project?: string;
  /** `a=b,c!=d,e` or an equality map. */
  labelSelector?: string | Record<string, string>;
  limit?: number;
  continue?: string;
}

export interface ListPage<Spec, Status> {
  items: Array<Resource<Spec, Status>>;
  /** Opaque cursor for the next page; absent on the last page. */
  continue?: string;
  /** Where a watch resumes to see every change after this list (absent from APIs without watch). */
  cursor?: string;
}

export interface ReplaceOptions extends RequestOptions {
  /** Sent as `If-Match`; defaults to `input.metadata.resourceVersion`. */
  resourceVersion?: string;
}

export interface PatchInput<Spec> {
  metadata?: { labels?: Record<string, string | null> };
  spec?: Partial<Spec> | Record<string, unknown>;
}

export interface DeleteOptions extends RequestOptions {
  /** Delete the objects that still reference this one first. */
  cascade?: boolean;
}

/** `deleted: false` means finalizers remain: the object now carries `deletionRequestedAt`. */
export type DeleteResult<Spec, Status> = { deleted: true } | { deleted: false; object: Resource<Spec, Status> };

export interface WriteStatusOptions extends RequestOptions {
  /** The resourceVersion the status was computed from; a newer stored one answers 409. */
  resourceVersion?: string;
}

export interface RemoveFinalizerOptions extends RequestOptions {
  /** An admin removing another controller's finalizer as a last resort (recorded as an event). */
  force?: boolean;
}

export interface RemoveFinalizerResult<Spec, Status> {
  /** True when this removal was the last finalizer of an object being deleted: the row is gone. */
  deleted: boolean;
  object?: Resource<Spec, Status>;
}

export interface ApplyOptions extends RequestOptions {
  /** Answer what would happen and write nothing. */
  dryRun?: boolean;
}

export interface RolloutStatus extends ResourceStatus {
  state?: RolloutState;
  decision?: RolloutDecision;
  /** Why it does not roll out yet: a release not Ready in the tier its policy requires. */
  waitingFor?: string;
  /** While it waits for approval: the project roles that may approve (the tier's policy). */
  approvers?: string[];
  /** What the state means for this Rollout, e.g. who approved it and what it changed. */
  message?: string;
}

/** A Rollout as the API answers it: written by the API only, decided by people. */
export type Rollout = Resource<RolloutSpec, RolloutStatus>;

export interface RolloutDecisionOptions extends RequestOptions {
  /** Kept in `status.decision.message` and the audit record. */
  message?: string;
}

/** `POST …/approve`: the Rollout as decided, and what applying it did to the Application's objects. */
export interface ApproveRolloutResult {
  rollout: Rollout;
  results: ApplyItemResult[];
}

export interface RejectRolloutResult {
  rollout: Rollout;
}

export interface UndoApplicationOptions extends RequestOptions {
  /** One tier; every tier the Application runs in when absent. */
  tier?: string;
  /** Back to this Release (a name) instead of the previous one. */
  release?: string;
  /** Only this component. */
  component?: string;
}

/** `POST …/undo`: one Rollout per tier, applied at once or PendingApproval, and what applying did. */
export interface UndoApplicationResult {
  rollouts: Rollout[];
  results?: ApplyItemResult[];
}

export interface WatchOptions extends RequestOptions {
  /** Kinds to follow (any of their names); every kind when empty. */
  kinds: readonly string[];
  project?: string;
  /** Resume after this event (`WatchEvent.cursor`, or a list's `cursor`); from now when absent. */
  cursor?: string;
  /**
   * Reconnect from the last cursor when the stream breaks, the server ends it, cuts it off as too
   * slow or is unavailable, with capped exponential back-off; the iteration then ends only through
   * `signal` or an error that a reconnect cannot cure (`GoneError`: re-list; 401, 403, 400 …).
   * `true` = 250 ms doubling up to 5 s. Default off: the iteration ends with the stream.
   */
  reconnect?: boolean | { initialDelayMs?: number; maxDelayMs?: number };
}

/** One change as `watch` yields it: the API's `WatchChange` and where it sits in the stream. */
export interface WatchEvent<Spec = Record<string, unknown>, Status = ResourceStatus> extends WatchChange<Spec, Status> {
  /** The stream position of this change: pass it back as `cursor` to resume after it. */
  cursor: string | undefined;
}

export interface ApiClient {
  readonly baseUrl: string;
  whoami(options?: RequestOptions): Promise<Identity>;
  createToken(input: TokenInput, options?: RequestOptions): Promise<CreatedToken>;
  /** Every token, revoked ones included (admin only); never a token or its hash. */
  listTokens(options?: RequestOptions): Promise<TokenSummary[]>;
  /** Revokes the token named `name` (admin only; `NotFoundError` for an unknown name); idempotent. */
  revokeToken(name: string, options?: RequestOptions): Promise<TokenSummary>;
  /** Stored secret values per key id, as the answering replica sees them (admin only; `GET /v1/admin/keys`). */
  secretKeyStatus(options?: RequestOptions): Promise<SecretKeyStatus>;
  /** One page of the audit trail, newest first (`GET /v1/audit`; admin only); `metadata.continue` asks for the next. */
  listAudit(query?: AuditQuery, options?: RequestOptions): Promise<AuditRecordList>;

  kinds(options?: RequestOptions): Promise<KindDefinition[]>;
  /** By kind, plural, singular or short name; `undefined` when unknown. */
  getKind(kind: string, options?: RequestOptions): Promise<KindDefinition | undefined>;
  registerKind(definition: KindRegistration, options?: RequestOptions): Promise<KindDefinition>;
  /**
   * Registers the kind, or updates it (`PUT /v1/kinds/KIND`): a schema change must accept every
   * stored object of the kind (`ConflictError` naming those it would refuse otherwise).
   */
  applyKind(definition: KindRegistration, options?: RequestOptions): Promise<KindApplyResult>;
  /** Deletes a kind no object and no other kind uses (`ConflictError` naming what remains); returns it. */
  deleteKind(kind: string, options?: RequestOptions): Promise<KindDefinition>;

  create<Spec = Record<string, unknown>, Status = ResourceStatus>(
    input: ResourceInput<Spec>,
    options?: RequestOptions,
  ): Promise<Resource<Spec, Status>>;
  /** `undefined` when the object does not exist. */
  get<Spec = Record<string, unknown>, Status = ResourceStatus>(
    ref: ObjectRef,
    options?: RequestOptions,
  ): Promise<Resource<Spec, Status> | undefined>;
  getOrThrow<Spec = Record<string, unknown>, Status = ResourceStatus>(
    ref: ObjectRef,
    options?: RequestOptions,
  ): Promise<Resource<Spec, Status>>;
  list<Spec = Record<string, unknown>, Status = ResourceStatus>(
    kind: string,
    options?: ListOptions,
  ): Promise<ListPage<Spec, Status>>;
  /** Every object across all pages, fetched page by page as the caller iterates. */
  listAll<Spec = Record<string, unknown>, Status = ResourceStatus>(
    kind: string,
    options?: Omit<ListOptions, 'continue'>,
  ): AsyncIterable<Resource<Spec, Status>>;
  replace<Spec = Record<string, unknown>, Status = ResourceStatus>(
    input: ResourceInput<Spec>,
    options?: ReplaceOptions,
  ): Promise<Resource<Spec, Status>>;
  patch<Spec = Record<string, unknown>, Status = ResourceStatus>(
    ref: ObjectRef,
    patch: PatchInput<Spec>,
    options?: ReplaceOptions,
  ): Promise<Resource<Spec, Status>>;
  delete<Spec = Record<string, unknown>, Status = ResourceStatus>(
    ref: ObjectRef,
    options?: DeleteOptions,
  ): Promise<DeleteResult<Spec, Status>>;
  writeStatus<Spec = Record<string, unknown>, Status = ResourceStatus>(
    ref: ObjectRef,
    status: Status,
    options?: WriteStatusOptions,
  ): Promise<Resource<Spec, Status>>;
  removeFinalizer<Spec = Record<string, unknown>, Status = ResourceStatus>(
    ref: ObjectRef,
    finalizer: string,
    options?: RemoveFinalizerOptions,
  ): Promise<RemoveFinalizerResult<Spec, Status>>;
  readSecrets(ref: ObjectRef, options?: RequestOptions): Promise<Record<string, unknown>>;
  recordEvent(ref: ObjectRef, event: EventInput, options?: RequestOptions): Promise<ResourceEvent>;
  listEvents(ref: ObjectRef, options?: RequestOptions): Promise<ResourceEvent[]>;
  referrers(ref: ObjectRef, options?: RequestOptions): Promise<Referrer[]>;

  /**
   * `POST /v1/apply`: creates or updates every object in one transaction. A string is sent as a
   * YAML bundle, an array as JSON. An invalid bundle rejects with an `InputError` naming each
   * object and field (or, with `dryRun`, reports `blocked` objects).
   */
  apply(bundle: readonly ResourceInput[] | string, options?: ApplyOptions): Promise<ApplyResult>;
  /** Newest first. */
  revisions(ref: ObjectRef, options?: RequestOptions): Promise<Revision[]>;
  /** `undefined` when there is no such revision. */
  revision(ref: ObjectRef, revision: number, options?: RequestOptions): Promise<Revision | undefined>;
  /** `to` defaults to the newest revision. */
  revisionDiff(ref: ObjectRef, range: { from: number; to?: number }, options?: RequestOptions): Promise<RevisionDiff>;
  /** No reconciles until resumed. */
  suspend<Spec = Record<string, unknown>, Status = ResourceStatus>(ref: ObjectRef, options?: RequestOptions): Promise<Resource<Spec, Status>>;
  resume<Spec = Record<string, unknown>, Status = ResourceStatus>(ref: ObjectRef, options?: RequestOptions): Promise<Resource<Spec, Status>>;
  /** Wakes the owning controller now, without a spec change. */
  /** `POST …/applications/{name}/expand`: the Application expanded again onto its clusters as they are now (`dryRun`: the plan only). */
  expandApplication(ref: ObjectRef, options?: RequestOptions & { dryRun?: boolean }): Promise<ApplyResult>;
  requestReconcile<Spec = Record<string, unknown>, Status = ResourceStatus>(
    ref: ObjectRef,
    options?: RequestOptions,
  ): Promise<Resource<Spec, Status>>;
  /**
   * `POST …/rollouts/{name}/approve`: applies a PendingApproval Rollout. 403 when the caller holds
   * none of the tier policy's approver roles; 409 when it is decided or superseded already, or a
   * tier it requires is not Ready yet.
   */
  approveRollout(ref: ObjectRef, options?: RolloutDecisionOptions): Promise<ApproveRolloutResult>;
  /** `POST …/rollouts/{name}/reject`: the PendingApproval Rollout is Rejected and nothing changes. */
  rejectRollout(ref: ObjectRef, options?: RolloutDecisionOptions): Promise<RejectRolloutResult>;
  /** `POST …/applications/{name}/undo`: back to the previous release (or `release`) in `tier` (or every tier). */
  undoApplication(ref: ObjectRef, options?: UndoApplicationOptions): Promise<UndoApplicationResult>;
  /**
   * `GET /v1/watch`: resolves once the server has accepted the watch (so a read made after it
   * misses no change), then yields every change. A cursor the server no longer keeps rejects with
   * `GoneError` (re-list and watch from the list's `cursor`); a watch the server cut off for being
   * too slow throws `UnavailableError` with detail rule `TooSlow` (resume from the last cursor).
   * The iteration ends when the server ends the stream, unless `reconnect` is set.
   */
  watch<Spec = Record<string, unknown>, Status = ResourceStatus>(options: WatchOptions): Promise<AsyncIterable<WatchEvent<Spec, Status>>>;
}

interface HttpCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** Sent as is (with `contentType`) instead of `body` as JSON. */
  rawBody?: string;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
}

interface HttpAnswer {
  status: number;
  body: unknown;
  headers?: Headers;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch;
  const userAgent = options.userAgent ?? 'tugboat-api-client';

  async function send(call: HttpCall): Promise<HttpAnswer> {
    const { url, init } = request(call);
    let response: Response;
    let text: string;
    try {
      response = await doFetch(url, init);
      text = await response.text();
    } catch (error) {
      // An abort is the caller's decision, not an outage: surface it as is.
      if (call.signal?.aborted) throw call.signal.reason ?? error;
      throw new UnavailableError(`${call.method} ${url.pathname}: ${describe(error)}`, { cause: error });
    }
    const parsed = parseJson(text);
    if (response.status >= 400) {
      throw errorFromBody(response.status, parsed);
    }
    return { status: response.status, body: parsed, headers: response.headers };
  }

  function request(call: HttpCall): { url: URL; init: RequestInit } {
    const url = new URL(baseUrl + call.path);
    for (const [name, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(name, value);
    }
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': userAgent, ...call.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (call.rawBody !== undefined) {
      body = call.rawBody;
      headers['content-type'] = call.contentType ?? 'text/plain';
    } else if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['content-type'] = call.contentType ?? 'application/json';
    }
    return { url, init: { method: call.method, headers, body, signal: call.signal } };
  }

  /** Opens a streaming response: errors before the body are thrown as `send` throws them. */
  async function open(call: HttpCall): Promise<AsyncIterable<Uint8Array>> {
    const { url, init } = request(call);
    let response: Response;
    try {
      response = await doFetch(url, init);
    } catch (error) {
      if (call.signal?.aborted) throw call.signal.reason ?? error;
      throw new UnavailableError(`${call.method} ${url.pathname}: ${describe(error)}`, { cause: error });
    }
    if (response.status >= 400 || response.body === null) {
      const text = await response.text().catch(() => '');
      throw errorFromBody(response.status >= 400 ? response.status : 500, parseJson(text));
    }
    const body = response.body as unknown as AsyncIterable<Uint8Array>;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          yield* body;
        } catch (error) {
          if (call.signal?.aborted) throw call.signal.reason ?? error;
          throw new UnavailableError(`${call.method} ${url.pathname}: the stream broke: ${describe(error)}`, { cause: error });
        }
      },
    };
  }

  async function sendOrUndefined(call: HttpCall): Promise<HttpAnswer | undefined> {
    try {
      return await send(call);
    } catch (error) {
      if (isTugboatError(error) && error.status === 404) return undefined;
      throw error;
    }
  }

  const kindCache: KindCache = createKindCache({
    ttlMs: options.kindsCacheTtlMs ?? 30_000,
    load: async (signal) => {
      const answer = await send({ method: 'GET', path: '/v1/kinds', signal });
      return (answer.body as { items: KindDefinition[] }).items;
    },
  });

  // A kind's plural and name never change once registered, so a name resolved once builds URLs for
  // good: a controller's reconcile path (get, status write, event) makes no /v1/kinds round trip
  // after the first, not even when the cache's TTL has run out. Only unknown names go to the cache.
  const resolved = new Map<string, KindDefinition>();
  async function kindOrThrow(kind: string, signal: AbortSignal | undefined): Promise<KindDefinition> {
    const known = resolved.get(kind);
    if (known !== undefined) return known;
    const definition = await kindCache.resolve(kind, signal);
    if (definition === undefined) {
      throw new NotFoundError(`unknown kind "${kind}"`, { details: [{ path: 'kind', rule: 'known-kind' }] });
    }
    resolved.set(kind, definition);
    return definition;
  }

  async function plural(kind: string, signal: AbortSignal | undefined): Promise<string> {
    return (await kindOrThrow(kind, signal)).plural;
  }

  /** The API wants the kind itself in a body; a caller may have named it by any of its names. */
  async function withCanonicalKind<Spec>(input: ResourceInput<Spec>, signal: AbortSignal | undefined): Promise<ResourceInput<Spec>> {
    const definition = await kindOrThrow(input.kind, signal);
    return definition.kind === input.kind ? input : { ...input, kind: definition.kind };
  }

  /** After this client changed kinds: forget the cache and the kinds resolved so far. */
  function invalidateKinds(): void {
    kindCache.invalidate();
    resolved.clear();
  }

  async function objectPath(ref: ObjectRef, signal: AbortSignal | undefined, suffix = ''): Promise<string> {
    if (ref.name === '') throw new InputError('metadata.name: must not be empty', { details: [{ path: 'metadata.name', rule: 'required' }] });
    return `/v1/${encodeURIComponent(await plural(ref.kind, signal))}/${encodeURIComponent(ref.name)}${suffix}`;
  }

  function projectQuery(ref: { project?: string | undefined }): Record<string, string | undefined> {
    return { project: ref.project };
  }

  /** `POST …/approve` or `…/reject` of a Rollout, with its optional message. */
  async function decideRollout(ref: ObjectRef, action: 'approve' | 'reject', opts: RolloutDecisionOptions): Promise<unknown> {
    const body = opts.message === undefined ? {} : { message: opts.message };
    const answer = await send({ method: 'POST', path: await objectPath(ref, opts.signal, `/${action}`), query: projectQuery(ref), body, signal: opts.signal });
    return answer.body;
  }

  const client: ApiClient = {
    baseUrl,

    async whoami(opts = {}) {
      return (await send({ method: 'GET', path: '/v1/whoami', signal: opts.signal })).body as Identity;
    },

    async createToken(input, opts = {}) {
      return (await send({ method: 'POST', path: '/v1/tokens', body: input, signal: opts.signal })).body as CreatedToken;
    },

    async listTokens(opts = {}) {
      return ((await send({ method: 'GET', path: '/v1/tokens', signal: opts.signal })).body as { items: TokenSummary[] }).items;
    },

    async revokeToken(name, opts = {}) {
      return (await send({ method: 'DELETE', path: `/v1/tokens/${encodeURIComponent(name)}`, signal: opts.signal })).body as TokenSummary;
    },

    async secretKeyStatus(opts = {}) {
      return (await send({ method: 'GET', path: '/v1/admin/keys', signal: opts.signal })).body as SecretKeyStatus;
    },

    async listAudit(query = {}, opts = {}) {
      const { limit, ...filters } = query;
      return (await send({ method: 'GET', path: '/v1/audit', query: { ...filters, limit: limit === undefined ? undefined : String(limit) }, signal: opts.signal })).body as AuditRecordList;
    },

    async kinds(opts = {}) {
      return kindCache.refresh(opts.signal);
    },

    async getKind(kind, opts = {}) {
      return kindCache.resolve(kind, opts.signal);
    },

    async registerKind(definition, opts = {}) {
      const answer = await send({ method: 'POST', path: '/v1/kinds', body: definition, signal: opts.signal });
      invalidateKinds();
      return answer.body as KindDefinition;
    },

    async applyKind(definition, opts = {}) {
      const answer = await send({ method: 'PUT', path: `/v1/kinds/${encodeURIComponent(definition.kind)}`, body: definition, signal: opts.signal });
      invalidateKinds();
      const said = answer.headers?.get('tugboat-kind-action');
      const action = said === 'created' || said === 'updated' || said === 'unchanged' ? said : answer.status === 201 ? 'created' : 'updated';
      return { action, definition: answer.body as KindDefinition };
    },

    async deleteKind(kind, opts = {}) {
      const answer = await send({ method: 'DELETE', path: `/v1/kinds/${encodeURIComponent(kind)}`, signal: opts.signal });
      invalidateKinds();
      return answer.body as KindDefinition;
    },

    async create<Spec, Status>(input: ResourceInput<Spec>, opts: RequestOptions = {}) {
      const body = await withCanonicalKind(input, opts.signal);
      const path = `/v1/${encodeURIComponent(await plural(input.kind, opts.signal))}`;
      const answer = await send({ method: 'POST', path, body, signal: opts.signal });
      return answer.body as Resource<Spec, Status>;
    },

    async get<Spec, Status>(ref: ObjectRef, opts: RequestOptions = {}) {
      const answer = await sendOrUndefined({
        method: 'GET',
        path: await objectPath(ref, opts.signal),
        query: projectQuery(ref),
        signal: opts.signal,
      });
      return answer?.body as Resource<Spec, Status> | undefined;
    },

    async getOrThrow<Spec, Status>(ref: ObjectRef, opts: RequestOptions = {}) {
      const answer = await send({
        method: 'GET',
        path: await objectPath(ref, opts.signal),
        query: projectQuery(ref),
        signal: opts.signal,
      });
      return answer.body as Resource<Spec, Status>;
    },

    async list<Spec, Status>(kind: string, opts: ListOptions = {}) {
      const answer = await send({
        method: 'GET',
        path: `/v1/${encodeURIComponent(await plural(kind, opts.signal))}`,
        query: {
          project: opts.project,
          labelSelector: formatSelector(opts.labelSelector),
          limit: opts.limit === undefined ? undefined : String(opts.limit),
          continue: opts.continue,
        },
        signal: opts.signal,
      });
      const body = answer.body as ResourceList<Spec, Status>;
      const { continue: next, cursor } = body.metadata;
      return { items: body.items, ...(next ? { continue: next } : {}), ...(cursor === undefined ? {} : { cursor }) };
    },

    listAll<Spec, Status>(kind: string, opts: Omit<ListOptions, 'continue'> = {}): AsyncIterable<Resource<Spec, Status>> {
      return {
        async *[Symbol.asyncIterator]() {
          let cursor: string | undefined;
          do {
            const page: ListPage<Spec, Status> = await client.list<Spec, Status>(kind, { ...opts, continue: cursor });
            yield* page.items;
            cursor = page.continue;
          } while (cursor !== undefined);
        },
      };
    },

    async replace<Spec, Status>(input: ResourceInput<Spec>, opts: ReplaceOptions = {}) {
      const ref = { kind: input.kind, project: input.metadata.project, name: input.metadata.name };
      const resourceVersion = opts.resourceVersion ?? input.metadata.resourceVersion;
      const answer = await send({
        method: 'PUT',
        path: await objectPath(ref, opts.signal),
        query: projectQuery(ref),
        body: await withCanonicalKind(input, opts.signal),
        headers: resourceVersion === undefined ? {} : { 'if-match': `"${resourceVersion}"` },
        signal: opts.signal,
      });
      return answer.body as Resource<Spec, Status>;
    },

    async patch<Spec, Status>(ref: ObjectRef, patch: PatchInput<Spec>, opts: ReplaceOptions = {}) {
      const answer = await send({
        method: 'PATCH',
        path: await objectPath(ref, opts.signal),
        query: projectQuery(ref),
        body: patch,
        contentType: 'application/merge-patch+json',
        headers: opts.resourceVersion === undefined ? {} : { 'if-match': `"${opts.resourceVersion}"` },
        signal: opts.signal,
      });
      return answer.body as Resource<Spec, Status>;
    },

    async delete<Spec, Status>(ref: ObjectRef, opts: DeleteOptions = {}) {
      const answer = await send({
        method: 'DELETE',
        path: await objectPath(ref, opts.signal),
        query: { ...projectQuery(ref), cascade: opts.cascade ? 'true' : undefined },
        signal: opts.signal,
      });
      if (answer.status === 202) return { deleted: false as const, object: answer.body as Resource<Spec, Status> };
      return { deleted: true as const };
    },

    async writeStatus<Spec, Status>(ref: ObjectRef, status: Status, opts: WriteStatusOptions = {}) {
      const metadata = opts.resourceVersion === undefined ? {} : { resourceVersion: opts.resourceVersion };
      const answer = await send({
        method: 'PUT',
        path: await objectPath(ref, opts.signal, '/status'),
        query: projectQuery(ref),
        body: { metadata, status },
        signal: opts.signal,
      });
      return answer.body as Resource<Spec, Status>;
    },

    async removeFinalizer<Spec, Status>(ref: ObjectRef, finalizer: string, opts: RemoveFinalizerOptions = {}) {
      const answer = await send({
        method: 'DELETE',
        path: await objectPath(ref, opts.signal, `/finalizers/${encodeURIComponent(finalizer)}`),
        query: { ...projectQuery(ref), force: opts.force ? 'true' : undefined },
        signal: opts.signal,
      });
      return answer.body as RemoveFinalizerResult<Spec, Status>;
    },

    async readSecrets(ref, opts = {}) {
      const answer = await send({
        method: 'GET',
        path: await objectPath(ref, opts.signal, '/secrets'),
        query: projectQuery(ref),
        signal: opts.signal,
      });
      return answer.body as Record<string, unknown>;
    },

    async recordEvent(ref, event, opts = {}) {
      const answer = await send({
        method: 'POST',
        path: await objectPath(ref, opts.signal, '/events'),
        query: projectQuery(ref),
        body: event,
        signal: opts.signal,
      });
      return answer.body as ResourceEvent;
    },

    async listEvents(ref, opts = {}) {
      const answer = await send({
        method: 'GET',
        path: await objectPath(ref, opts.signal, '/events'),
        query: projectQuery(ref),
        signal: opts.signal,
      });
      return (answer.body as { items: ResourceEvent[] }).items;
    },

    async referrers(ref, opts = {}) {
      const answer = await send({
        method: 'GET',
        path: await objectPath(ref, opts.signal, '/referrers'),
        query: projectQuery(ref),
        signal: opts.signal,
      });
      return (answer.body as { items: Referrer[] }).items;
    },

    async apply(bundle, opts = {}) {
      const answer = await send({
        method: 'POST',
        path: '/v1/apply',
        query: { dryRun: opts.dryRun ? 'true' : undefined },
        ...(typeof bundle === 'string' ? { rawBody: bundle, contentType: 'application/yaml' } : { body: { items: bundle } }),
        signal: opts.signal,
      });
      return answer.body as ApplyResult;
    },

    async revisions(ref, opts = {}) {
      const answer = await send({ method: 'GET', path: await objectPath(ref, opts.signal, '/revisions'), query: projectQuery(ref), signal: opts.signal });
      return (answer.body as { items: Revision[] }).items;
    },

    async revision(ref, revision, opts = {}) {
      const answer = await sendOrUndefined({
        method: 'GET',
        path: await objectPath(ref, opts.signal, `/revisions/${encodeURIComponent(String(revision))}`),
        query: projectQuery(ref),
        signal: opts.signal,
      });
      return answer?.body as Revision | undefined;
    },

    async revisionDiff(ref, range, opts = {}) {
      const answer = await send({
        method: 'GET',
        path: await objectPath(ref, opts.signal, '/revisions/diff'),
        query: { ...projectQuery(ref), from: String(range.from), to: range.to === undefined ? undefined : String(range.to) },
        signal: opts.signal,
      });
      return answer.body as RevisionDiff;
    },

    async suspend<Spec, Status>(ref: ObjectRef, opts: RequestOptions = {}) {
      const answer = await send({ method: 'POST', path: await objectPath(ref, opts.signal, '/suspend'), query: projectQuery(ref), signal: opts.signal });
      return answer.body as Resource<Spec, Status>;
    },

    async resume<Spec, Status>(ref: ObjectRef, opts: RequestOptions = {}) {
      const answer = await send({ method: 'POST', path: await objectPath(ref, opts.signal, '/resume'), query: projectQuery(ref), signal: opts.signal });
      return answer.body as Resource<Spec, Status>;
    },

    async expandApplication(ref, opts = {}) {
      const answer = await send({
        method: 'POST',
        path: await objectPath(ref, opts.signal, '/expand'),
        query: { ...projectQuery(ref), dryRun: opts.dryRun ? 'true' : undefined },
        signal: opts.signal,
      });
      return answer.body as ApplyResult;
    },

    async requestReconcile<Spec, Status>(ref: ObjectRef, opts: RequestOptions = {}) {
      const answer = await send({ method: 'POST', path: await objectPath(ref, opts.signal, '/reconcile'), query: projectQuery(ref), signal: opts.signal });
      return answer.body as Resource<Spec, Status>;
    },

    async approveRollout(ref, opts = {}) {
      return (await decideRollout(ref, 'approve', opts)) as ApproveRolloutResult;
    },

    async rejectRollout(ref, opts = {}) {
      return (await decideRollout(ref, 'reject', opts)) as RejectRolloutResult;
    },

    async undoApplication(ref, opts = {}) {
      const { tier, release, component } = opts;
      const answer = await send({
        method: 'POST',
        path: await objectPath(ref, opts.signal, '/undo'),
        query: projectQuery(ref),
        body: { ...(tier === undefined ? {} : { tier }), ...(release === undefined ? {} : { release }), ...(component === undefined ? {} : { component }) },
        signal: opts.signal,
      });
      return answer.body as UndoApplicationResult;
    },

    async watch<Spec, Status>(opts: WatchOptions) {
      const kinds: string[] = [];
      for (const name of opts.kinds) {
        const definition = await kindCache.resolve(name, opts.signal);
        if (definition === undefined) throw new NotFoundError(`unknown kind "${name}"`, { details: [{ path: 'kind', rule: 'known-kind' }] });
        kinds.push(definition.kind);
      }
      const backoff = opts.reconnect === undefined || opts.reconnect === false ? undefined : opts.reconnect === true ? {} : opts.reconnect;
      const initialDelayMs = backoff?.initialDelayMs ?? 250;
      const maxDelayMs = backoff?.maxDelayMs ?? 5_000;
      let cursor = opts.cursor;
      const connect = () =>
        open({
          method: 'GET',
          path: '/v1/watch',
          query: { kinds: kinds.join(','), project: opts.project, cursor },
          headers: { accept: 'text/event-stream' },
          signal: opts.signal,
        });
      // The first connection's errors reject this call: the caller learns at once that the watch is not there.
      let body = await connect();
      return {
        async *[Symbol.asyncIterator]() {
          for (let attempt = 0; ; ) {
            try {
              // An `id:` without data (a heartbeat) moves the cursor too.
              for await (const message of parseServerSentEvents(body, { onId: (id) => (cursor = id) })) {
                if (message.event === 'error') throw watchEndedError(message.data);
                if (message.event !== 'change') continue;
                const change = parseJson(message.data) as Omit<WatchEvent<Spec, Status>, 'cursor'> | undefined;
                if (change === undefined) continue;
                yield { ...change, cursor: message.id };
              }
              if (backoff === undefined) return;
            } catch (error) {
              if (backoff === undefined || opts.signal?.aborted || !isErrorCode(error, 'Unavailable')) throw error;
            }
            // Reconnect from the last cursor until a connection is accepted or an error says stop.
            for (;;) {
              await abortableDelay(Math.min(maxDelayMs, initialDelayMs * 2 ** attempt++), opts.signal);
              try {
                body = await connect();
                attempt = 0;
                break;
              } catch (error) {
                if (!isErrorCode(error, 'Unavailable')) throw error;
              }
            }
          }
        },
      };
    },
  };
  return client;
}

/** The `event: error` that ends a watch: `Gone` means re-list; anything else (`TooSlow` …) means resume. */
function watchEndedError(data: string): Error {
  const problem = parseJson(data) as { code?: string; message?: string } | undefined;
  const code = problem?.code ?? 'Error';
  const message = `the API ended the watch: ${problem?.message ?? code}`;
  if (code === 'Gone') return new GoneError(message, { details: [{ path: 'cursor', rule: 'gone' }] });
  return new UnavailableError(message, { details: [{ path: 'watch', rule: code }] });
}

function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A decision's body: the message when there is one, else `{}` (the routes read a JSON object). */
function formatSelector(selector: ListOptions['labelSelector']): string | undefined {
  if (selector === undefined) return undefined;
  // Checked here with the API's own parser, so a mistake is an InputError before any request.
  const text = typeof selector === 'string' ? selector : formatLabelSelector(selector);
  parseLabelSelector(text);
  return text;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
