import {
  errorFromBody,
  InputError,
  isTugboatError,
  NotFoundError,
  UnavailableError,
  type KindDefinition,
  type Resource,
  type ResourceInput,
  type ResourceStatus,
} from '@tugboat/resource-model';
import { createKindCache, type KindCache } from './kind-cache.js';

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

export interface RemoveFinalizerResult<Spec, Status> {
  /** True when this removal was the last finalizer of an object being deleted: the row is gone. */
  deleted: boolean;
  object?: Resource<Spec, Status>;
}

export type EventType = 'Normal' | 'Warning';

export interface EventInput {
  type: EventType;
  reason: string;
  message: string;
}

export interface ResourceEvent extends EventInput {
  count: number;
  firstSeen: string;
  lastSeen: string;
  source?: string;
}

export interface Referrer {
  kind: string;
  project: string;
  name: string;
  uid: string;
  path: string;
}

export interface Identity {
  name: string;
  type: 'user' | 'controller';
  controller?: string;
}

export interface TokenInput {
  name: string;
  type: 'user' | 'controller';
  controller?: string;
}

export interface CreatedToken {
  token: string;
  identity: Identity;
}

export type KindRegistration = Omit<KindDefinition, 'builtIn'>;

export interface ApiClient {
  readonly baseUrl: string;
  whoami(options?: RequestOptions): Promise<Identity>;
  createToken(input: TokenInput, options?: RequestOptions): Promise<CreatedToken>;

  kinds(options?: RequestOptions): Promise<KindDefinition[]>;
  /** By kind, plural, singular or short name; `undefined` when unknown. */
  getKind(kind: string, options?: RequestOptions): Promise<KindDefinition | undefined>;
  registerKind(definition: KindRegistration, options?: RequestOptions): Promise<KindDefinition>;

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
    options?: RequestOptions,
  ): Promise<RemoveFinalizerResult<Spec, Status>>;
  readSecrets(ref: ObjectRef, options?: RequestOptions): Promise<Record<string, unknown>>;
  recordEvent(ref: ObjectRef, event: EventInput, options?: RequestOptions): Promise<ResourceEvent>;
  listEvents(ref: ObjectRef, options?: RequestOptions): Promise<ResourceEvent[]>;
  referrers(ref: ObjectRef, options?: RequestOptions): Promise<Referrer[]>;
}

interface HttpCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
}

interface HttpAnswer {
  status: number;
  body: unknown;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch;
  const userAgent = options.userAgent ?? 'tugboat-api-client';

  async function send(call: HttpCall): Promise<HttpAnswer> {
    const url = new URL(baseUrl + call.path);
    for (const [name, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(name, value);
    }
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': userAgent, ...call.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['content-type'] = call.contentType ?? 'application/json';
    }
    let response: Response;
    let text: string;
    try {
      response = await doFetch(url, { method: call.method, headers, body, signal: call.signal });
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
    return { status: response.status, body: parsed };
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

  async function plural(kind: string, signal: AbortSignal | undefined): Promise<string> {
    const definition = await kindCache.resolve(kind, signal);
    if (definition === undefined) {
      throw new NotFoundError(`unknown kind "${kind}"`, { details: [{ path: 'kind', rule: 'known-kind' }] });
    }
    return definition.plural;
  }

  async function objectPath(ref: ObjectRef, signal: AbortSignal | undefined, suffix = ''): Promise<string> {
    if (ref.name === '') throw new InputError('metadata.name: must not be empty', { details: [{ path: 'metadata.name', rule: 'required' }] });
    return `/v1/${encodeURIComponent(await plural(ref.kind, signal))}/${encodeURIComponent(ref.name)}${suffix}`;
  }

  function projectQuery(ref: { project?: string | undefined }): Record<string, string | undefined> {
    return { project: ref.project };
  }

  const client: ApiClient = {
    baseUrl,

    async whoami(opts = {}) {
      return (await send({ method: 'GET', path: '/v1/whoami', signal: opts.signal })).body as Identity;
    },

    async createToken(input, opts = {}) {
      return (await send({ method: 'POST', path: '/v1/tokens', body: input, signal: opts.signal })).body as CreatedToken;
    },

    async kinds(opts = {}) {
      return kindCache.refresh(opts.signal);
    },

    async getKind(kind, opts = {}) {
      return kindCache.resolve(kind, opts.signal);
    },

    async registerKind(definition, opts = {}) {
      const answer = await send({ method: 'POST', path: '/v1/kinds', body: definition, signal: opts.signal });
      kindCache.invalidate();
      return answer.body as KindDefinition;
    },

    async create<Spec, Status>(input: ResourceInput<Spec>, opts: RequestOptions = {}) {
      const path = `/v1/${encodeURIComponent(await plural(input.kind, opts.signal))}`;
      const answer = await send({ method: 'POST', path, body: input, signal: opts.signal });
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
      const body = answer.body as { items: Array<Resource<Spec, Status>>; metadata?: { continue?: string | null } };
      const next = body.metadata?.continue;
      return next ? { items: body.items, continue: next } : { items: body.items };
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
        body: input,
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

    async removeFinalizer<Spec, Status>(ref: ObjectRef, finalizer: string, opts: RequestOptions = {}) {
      const answer = await send({
        method: 'DELETE',
        path: await objectPath(ref, opts.signal, `/finalizers/${encodeURIComponent(finalizer)}`),
        query: projectQuery(ref),
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
  };
  return client;
}

function formatSelector(selector: ListOptions['labelSelector']): string | undefined {
  if (selector === undefined || typeof selector === 'string') return selector;
  return Object.entries(selector)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
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
