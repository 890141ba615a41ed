/**
 * The HTTP surface (see README.md, "HTTP contract"): routes, authentication, request ids, access
 * logs, and the one place errors become HTTP answers.
 */
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { PolicyRecord } from '@tugboat/applications';
import {
  APPLICATION,
  ConflictError,
  RELEASE,
  ROLLOUT,
  ForbiddenError,
  InputError,
  InternalError,
  NotFoundError,
  PayloadTooLargeError,
  UnavailableError,
  isTugboatError,
  parseIfMatch,
  parseLabelSelector,
  type KindDefinition,
  type TugboatError,
  type ResourceList,
  type SecretKeyStatus,
} from '@tugboat/resource-model';
import { applyBundle, bundleDocuments, YAML_MEDIA_TYPES } from './apply-bundle.js';
import { administeredProjects, can, createKindIndex, describeGrants, PROJECT_KIND, projectsWhere, type KindIndex, type Principal } from './access.js';
import { accessProject, authorize, type Action, type AuthorizationTarget } from './authorize.js';
import type { AuditLog } from './audit-log.js';
import { createAuditRoute } from './audit-route.js';
import { actingThrough, attemptedAction, type Actor, type AuditTrail } from './audit-trail.js';
import { docsAssets, docsPage } from './docs-page.js';
import { DEFAULT_HTTP_SERVER_LIMITS, limitPipelinedRequests } from './http-server-limits.js';
import { createOpenApiDocumentCache } from './openapi-document-cache.js';
import { assertJsonTextDepth, createQueryParser, DEFAULT_REQUEST_LIMITS, type RequestLimits } from './request-limits.js';
import { parseRevisionNumber, type RevisionHistory } from './revision-history.js';
import type { ApiMetrics } from './api-metrics.js';
import { tokenTypeOf, type Identity, type IdentityStore } from './identity.js';
import { isJsonObject } from './json-value.js';
import type { KindRegistry, RegisteredKind } from './kind-registry.js';
import { DetailCollector, inputError, parsePatchBody, parseResourceBody, parseStatusBody, projectFilterFromQuery, projectFromQuery } from './resource-input.js';
import { notFound } from './resource-row.js';
import type { ObjectKey, ResourceStore } from './resource-store.js';
import { assertSafeStrings } from './string-safety.js';
import type { WatchHub } from './watch-hub.js';
import { createWatchRoute } from './watch-route.js';

export interface AppOptions {
  store: ResourceStore;
  /** Revisions and their diffs (`…/revisions`). */
  history: RevisionHistory;
  kinds: KindRegistry;
  identities: IdentityStore;
  logger: Logger;
  /** True once the database is migrated and NATS is connected. */
  isReady(): boolean;
  /** Whether NATS is connected now; reported by `/readyz`, never a reason to refuse a write. */
  isBusConnected?(): boolean;
  /** Largest accepted request body. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Nesting, alias, document and query-parameter bounds (`request-limits.ts`). */
  limits?: Partial<RequestLimits>;
  /** Unanswered requests one connection may hold (pipelining); more get 503. Default 16. */
  maxPipelined?: number;
  metrics?: ApiMetrics;
  /** Tells the other API replicas a token was revoked, so they forget it now (core NATS). */
  onTokenRevoked?(name: string): void;
  /** `GET /v1/watch` and the lists' `metadata.cursor`; absent = no watch route. */
  watch?: WatchHub;
  /** `GET /v1/admin/keys`: stored secret values per key id; absent = no route. */
  secretKeys?: { status(): Promise<SecretKeyStatus> };
  /**
   * The audit trail the stores write to (each store call gets the caller as an `Actor` carrying the
   * request's id and source), refused and failed attempts are recorded, and `GET /v1/audit` reads
   * it. Absent = none of these.
   */
  audit?: { trail: AuditTrail; log: AuditLog };
}

interface Locals {
  identity?: Identity;
  /** `identity` acting through this request: what the routes hand the stores. */
  actor?: Actor;
  principal?: Principal;
  /** The matched route pattern, kept for the metrics: an error leaves the router before `finish`. */
  route?: string;
  requestId?: string;
  /** What the request asked `authorize` for: the audit record of its refusal or failure names it. */
  attempt?: { action: Action; kind?: string | undefined; project?: string | undefined; name?: string | undefined; denied?: boolean };
}

type Handler = (req: Request, res: Response<unknown, Locals>) => Promise<void>;

/**
 * `res.json` without express's general `send`: the API sets no ETag or Last-Modified and answers no
 * conditional GET, so what is left is the JSON, its type and length, and no body for HEAD, 204 or
 * 304. express's own passes the body through its content-type and charset parsers, a mime lookup,
 * an ETag setting and a freshness check on every answer (~2 % of the API's busy time on creates).
 */
function leanJson(this: Response, body: unknown): Response {
  // No body at all for these (as express's own `send`): no type, and 205 says its length is 0.
  if (this.statusCode === 204 || this.statusCode === 304 || this.statusCode === 205) {
    if (this.statusCode === 205) this.setHeader('content-length', '0');
    this.end();
    return this;
  }
  const text = JSON.stringify(body) as string | undefined;
  if (!this.hasHeader('content-type')) this.setHeader('content-type', 'application/json; charset=utf-8');
  if (text === undefined) {
    this.end();
    return this;
  }
  this.setHeader('content-length', Buffer.byteLength(text));
  if (this.req.method === 'HEAD') this.end();
  else this.end(text);
  return this;
}

export function createApp(options: AppOptions): express.Express {
  const { store, kinds, identities, logger } = options;
  const limits: RequestLimits = { ...DEFAULT_REQUEST_LIMITS, ...options.limits };
  const openApi = createOpenApiDocumentCache(kinds);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', createQueryParser(limits));
  // Every route answers through `res.json`: a lean one (see `leanJson`).
  app.response.json = leanJson;

  app.use((req: Request, res: Response<unknown, Locals>, next: NextFunction) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && /^[\w.:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    res.setHeader('x-request-id', requestId);
    res.locals.requestId = requestId;
    const started = process.hrtime.bigint();
    const path = req.originalUrl.split('?')[0];
    res.on('finish', () => {
      if (path === '/healthz' || path === '/readyz' || path === '/metrics') return;
      // The route template (`/v1/:plural/:name`), not the path, so object names do not become labels.
      const route = res.locals.route ?? (req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched');
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      options.metrics?.httpRequests.inc({ route, method: req.method, status: String(res.statusCode) });
      options.metrics?.httpRequestDuration.observe({ route, method: req.method }, seconds);
      // The request id as a field, not a child logger per request (a child costs a copy of its bindings).
      logger.info(
        { reqId: requestId, method: req.method, path, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6, actor: res.locals.identity?.name },
        'request',
      );
    });
    next();
  });
  app.use(limitPipelinedRequests({ maxPipelined: options.maxPipelined ?? DEFAULT_HTTP_SERVER_LIMITS.maxPipelined }));

  // First: most requests are under /v1, and the router tries its layers in order.
  const v1 = express.Router();
  app.use('/v1', v1);

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/readyz', (_req, res) => {
    const ready = options.isReady();
    const bus = options.isBusConnected === undefined ? undefined : options.isBusConnected() ? 'connected' : 'disconnected';
    res.status(ready ? 200 : 503).json({ ready, ...(bus ? { bus } : {}) });
  });
  app.get('/metrics', (_req, res, next) => {
    if (!options.metrics) {
      next();
      return;
    }
    const { registry } = options.metrics;
    registry.metrics().then((text) => {
      res.setHeader('content-type', registry.contentType);
      res.send(text);
    }, next);
  });

  // Discovery for pipelines and people: no token needed (the schemas hold no secrets).
  app.get('/openapi.json', (_req, res, next) => {
    openApi.json().then((text) => {
      res.type('json').send(text);
    }, next);
  });
  // Not strict routing: this also serves `/docs/`, whose page finds its files one level up.
  app.get('/docs', docsPage());
  app.use('/docs/assets', docsAssets());

  // The kinds as the access rules see them, rebuilt only when the registry's list changes (it hands
  // out the same list until then).
  let indexed: { list: readonly KindDefinition[]; index: KindIndex } | undefined;
  async function kindIndex(): Promise<KindIndex> {
    const list = await kinds.list();
    if (indexed?.list === list) return indexed.index;
    indexed = { list, index: createKindIndex(list) };
    return indexed.index;
  }

  // From the headers alone: a body is read only for a caller who may send one.
  v1.use((req: Request, res: Response<unknown, Locals>, next: NextFunction) => {
    if (!options.isReady()) {
      next(new UnavailableError('the API is starting'));
      return;
    }
    identities.authenticate(req.get('authorization')).then(async ({ identity, grants }) => {
      res.locals.identity = identity;
      res.locals.actor = actingThrough(identity, { requestId: res.locals.requestId, source: req.ip ?? req.socket.remoteAddress });
      res.locals.principal = { identity, grants, kinds: await kindIndex() };
      next();
    }, next);
  });

  v1.use(
    express.json({
      limit: options.bodyLimitBytes ?? 1024 * 1024,
      strict: true,
      type: ['application/json', 'application/merge-patch+json', 'application/*+json'],
      // Before JSON.parse allocates: a deep body is refused for the cost of one pass over its bytes.
      verify: (_req, _res, buffer) => assertJsonTextDepth(buffer, limits.maxDepth),
    }),
  );

  // Every string a request brings (body, query, path segments) is checked once, here, before any route.
  v1.use((req: Request, _res: Response, next: NextFunction) => {
    try {
      if (typeof req.body === 'object' && req.body !== null) assertSafeStrings(req.body);
      assertSafeStrings(req.query, '', 'query');
      next();
    } catch (error) {
      next(error);
    }
  });
  const route = (handler: Handler) => (req: Request, res: Response<unknown, Locals>, next: NextFunction) => {
    res.locals.route = `${req.baseUrl}${String(req.route?.path ?? '')}`;
    // The path segments (`plural`, `name`, `kind`, `finalizer`, `revision`), a bad one named as its
    // parameter: here rather than in `v1.param` handlers, which the router would run as layers of every request.
    try {
      assertSafeStrings(req.params);
    } catch (error) {
      next(error);
      return;
    }
    handler(req, res).catch(next);
  };
  const identityOf = (res: Response<unknown, Locals>): Identity => res.locals.identity!;
  const actorOf = (res: Response<unknown, Locals>): Actor => res.locals.actor!;
  const principalOf = (res: Response<unknown, Locals>): Principal => res.locals.principal!;

  async function kindOf(req: Request): Promise<RegisteredKind> {
    return kinds.getOrThrow(String(req.params['plural']));
  }

  function keyOf(kind: RegisteredKind, req: Request): ObjectKey {
    const name = String(req.params['name']);
    return { project: projectFromQuery(kind.definition, req.query['project']), name };
  }

  function allow(res: Response<unknown, Locals>, action: Action, kind: KindDefinition | undefined, project: string | undefined, target: AuthorizationTarget = {}): void {
    attempting(res, action, kind, project);
    authorize(principalOf(res), action, kind, project, target);
  }

  /**
   * `authorize` for a route that names one object. A caller who may not even read the object gets
   * the 404 a missing object gets, so that a 403 never confirms an object exists in a project the
   * caller cannot see; one who may read it gets the 403 naming the rule.
   */
  function allowObject(res: Response<unknown, Locals>, action: Action, kind: RegisteredKind, key: ObjectKey, target: AuthorizationTarget = {}): void {
    const project = accessProject(kind.definition, key);
    attempting(res, action, kind.definition, project);
    try {
      authorize(principalOf(res), action, kind.definition, project, target);
    } catch (error) {
      if (action !== 'get' && can(principalOf(res), 'get', kind.definition, project)) throw error;
      // Recorded as the refusal it is, whatever the caller is told.
      if (res.locals.attempt) res.locals.attempt.denied = true;
      throw notFound(kind, key);
    }
  }

  /**
   * Writing an Application writes the objects it owns (its expansion): a person must be allowed to
   * write those kinds in the project too. The owning controller re-applying it (to re-expand it onto
   * a tier's clusters) writes what a person was already allowed to.
   */
  async function allowApplicationObjects(res: Response<unknown, Locals>, kind: RegisteredKind, project: string, verbs: ReadonlyArray<'create' | 'update' | 'delete'>): Promise<void> {
    // A Release rolls out through its Application's expansion: the same rights as writing the Application.
    if ((kind.definition.kind !== APPLICATION.kind && kind.definition.kind !== RELEASE.kind) || identityOf(res).type === 'controller') return;
    const needed = kind.definition.kind === RELEASE.kind ? (['create', 'update', 'delete'] as const) : verbs;
    for (const owned of ['WorkloadInstance', 'DatabaseInstance', 'SecretInstance']) {
      const definition = (await kinds.getOrThrow(owned)).definition;
      for (const verb of needed) authorize(principalOf(res), verb, definition, project);
    }
  }

  /** What the request asks `authorize` for: its audit record names it should it be refused or fail. */
  function attempting(res: Response<unknown, Locals>, action: Action, kind: KindDefinition | undefined, project: string | undefined): void {
    const named = res.req.params['name'] ?? res.req.params['kind'] ?? (res.req.body as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
    res.locals.attempt = { action, kind: kind?.kind, project, name: typeof named === 'string' ? named : undefined };
  }

  v1.get(
    '/whoami',
    route(async (_req, res) => {
      res.json({ ...identityOf(res), roles: describeGrants(principalOf(res).grants) });
    }),
  );

  v1.post(
    '/tokens',
    route(async (req, res) => {
      const body = bodyOf(req);
      const asked = isJsonObject(body) ? body : {};
      allow(res, 'createToken', undefined, typeof asked['project'] === 'string' ? asked['project'] : undefined, { tokenType: String(tokenTypeOf(asked)) });
      res.status(201).json(await identities.createToken(body, actorOf(res)));
    }),
  );
  v1.get(
    '/tokens',
    route(async (_req, res) => {
      allow(res, 'listTokens', undefined, undefined);
      res.json({ items: await identities.listTokens(administeredProjects(principalOf(res))) });
    }),
  );
  // Before `/:plural/:name`, which would otherwise take it (`tokens` is a reserved plural).
  v1.delete(
    '/tokens/:name',
    route(async (req, res) => {
      allow(res, 'revokeToken', undefined, undefined);
      const revoked = await identities.revokeToken(String(req.params['name']), administeredProjects(principalOf(res)), actorOf(res));
      options.onTokenRevoked?.(revoked.name);
      res.json(revoked);
    }),
  );

  if (options.secretKeys) {
    const secretKeys = options.secretKeys;
    v1.get(
      '/admin/keys',
      route(async (_req, res) => {
        allow(res, 'readKeys', undefined, undefined);
        res.json(await secretKeys.status());
      }),
    );
  }

  if (options.audit) {
    const audited = createAuditRoute({ log: options.audit.log, kinds });
    v1.get(
      '/audit',
      route(async (req, res) => audited(req, res, principalOf(res))),
    );
  }

  v1.get(
    '/kinds',
    route(async (_req, res) => {
      res.json({ items: await kinds.list() });
    }),
  );
  v1.get(
    '/kinds/:kind',
    route(async (req, res) => {
      res.json((await kinds.getOrThrow(String(req.params['kind']))).definition);
    }),
  );
  v1.post(
    '/kinds',
    route(async (req, res) => {
      allow(res, 'registerKind', undefined, undefined);
      res.status(201).json(await kinds.register(bodyOf(req), actorOf(res)));
    }),
  );
  v1.put(
    '/kinds/:kind',
    route(async (req, res) => {
      allow(res, 'updateKind', undefined, undefined);
      const { action, definition } = await kinds.apply(String(req.params['kind']), bodyOf(req), actorOf(res));
      res.setHeader('tugboat-kind-action', action);
      res.status(action === 'created' ? 201 : 200).json(definition);
    }),
  );
  v1.delete(
    '/kinds/:kind',
    route(async (req, res) => {
      allow(res, 'deleteKind', undefined, undefined);
      res.json(await kinds.delete(String(req.params['kind']), actorOf(res)));
    }),
  );

  if (options.watch) {
    const watch = createWatchRoute({ hub: options.watch, kinds, onForget: (listener) => identities.onForget(listener) });
    v1.get(
      '/watch',
      route(async (req, res) => watch(req, res, principalOf(res))),
    );
  }

  v1.post(
    '/apply',
    express.text({ type: YAML_MEDIA_TYPES, limit: options.bodyLimitBytes ?? 1024 * 1024 }),
    route(async (req, res) => {
      const dryRun = req.query['dryRun'];
      if (dryRun !== undefined && dryRun !== 'true' && dryRun !== 'false') throw inputError('dryRun', 'enum', 'must be true or false', 400);
      const principal = principalOf(res);
      res.locals.attempt = { action: 'create' };
      const answer = await applyBundle(bundleDocuments(bodyOf(req), limits), {
        store,
        kinds,
        actor: actorOf(res),
        dryRun: dryRun === 'true',
        authorize: (kind, key, action) => authorizeApply(principal, kind.definition, accessProject(kind.definition, key), action),
      });
      res.json(answer);
    }),
  );

  v1.post(
    '/:plural',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const input = parseResourceBody(bodyOf(req), kind.definition);
      allow(res, 'create', kind.definition, accessProject(kind.definition, input));
      await allowApplicationObjects(res, kind, input.project, ['create']);
      res.status(201).json(await store.create(kind, input, actorOf(res)));
    }),
  );

  v1.get(
    '/:plural',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const project = projectFilterFromQuery(kind.definition, req.query['project']);
      if (project !== undefined) allow(res, 'list', kind.definition, project);
      // Without a project, the query itself is narrowed to what the caller may list.
      const where = project === undefined ? projectsWhere(principalOf(res), 'list', kind.definition) : 'all';
      if (where !== 'all' && where.length === 0) {
        const { identity } = principalOf(res);
        throw new ForbiddenError(`${identity.type} "${identity.name}" may not list ${kind.definition.kind}: none of its roles reads it in any project`);
      }
      const selector = req.query['labelSelector'];
      const limit = req.query['limit'];
      const cont = req.query['continue'];
      if (selector !== undefined && typeof selector !== 'string') throw inputError('labelSelector', 'type', 'must be given once', 400);
      if (limit !== undefined && (typeof limit !== 'string' || !/^\d+$/.test(limit))) throw inputError('limit', 'type', 'must be a positive integer', 400);
      if (cont !== undefined && typeof cont !== 'string') throw inputError('continue', 'type', 'must be given once', 400);
      // Read before the query: a change the list misses comes after it (a repeat is fine, the client dedupes).
      // None while the bus is away (a watch could not start from it anyway): the list does not wait on NATS.
      const cursor = options.watch && options.isBusConnected?.() !== false ? await options.watch.cursor().catch(() => undefined) : undefined;
      const page = await store.list(kind, {
        ...(project !== undefined ? { project } : {}),
        ...(where !== 'all' ? (kind.definition.kind === PROJECT_KIND ? { names: where } : { projects: where }) : {}),
        ...(selector ? { selector: parseLabelSelector(selector) } : {}),
        ...(limit ? { limit: Number(limit) } : {}),
        ...(cont ? { continue: cont } : {}),
      });
      const list: ResourceList = { items: page.items, metadata: { ...(page.continue ? { continue: page.continue } : {}), ...(cursor !== undefined ? { cursor: String(cursor) } : {}) } };
      res.json(list);
    }),
  );

  v1.get(
    '/:plural/:name',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const key = keyOf(kind, req);
      allowObject(res, 'get', kind, key);
      res.json(await store.getOrThrow(kind, key));
    }),
  );

  v1.put(
    '/:plural/:name',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const key = keyOf(kind, req);
      const input = parseResourceBody(bodyOf(req), kind.definition, key);
      allowObject(res, 'update', kind, key);
      await allowApplicationObjects(res, kind, key.project, ['create', 'update', 'delete']);
      res.json(await store.replace(kind, key, input, ifMatch(req), actorOf(res)));
    }),
  );

  v1.patch(
    '/:plural/:name',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const key = keyOf(kind, req);
      const { patch, resourceVersion } = parsePatchBody(bodyOf(req));
      allowObject(res, 'update', kind, key);
      await allowApplicationObjects(res, kind, key.project, ['create', 'update', 'delete']);
      const header = ifMatch(req);
      if (header && resourceVersion && header !== resourceVersion) throw inputError('metadata.resourceVersion', 'const', 'disagrees with If-Match');
      res.json(await store.patch(kind, key, patch, header ?? resourceVersion, actorOf(res)));
    }),
  );

  v1.delete(
    '/:plural/:name',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const key = keyOf(kind, req);
      const cascade = req.query['cascade'];
      if (cascade !== undefined && cascade !== 'true' && cascade !== 'false') throw inputError('cascade', 'enum', 'must be true or false', 400);
      allowObject(res, 'delete', kind, key);
      await allowApplicationObjects(res, kind, key.project, ['delete']);
      const result = await store.delete(kind, key, { cascade: cascade === 'true' }, actorOf(res));
      if (result.deleted) res.status(200).json({ deleted: true });
      else res.status(202).json(result.object);
    }),
  );

  // An Application expanded again onto its clusters as they are now: by the workload-controller when a
  // tier's clusters change, or by a person (`?dryRun=true` answers the plan and writes nothing).
  v1.post(
    '/:plural/:name/expand',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const key = keyOf(kind, req);
      const dryRun = req.query['dryRun'];
      if (dryRun !== undefined && dryRun !== 'true' && dryRun !== 'false') throw inputError('dryRun', 'enum', 'must be true or false', 400);
      const identity = identityOf(res);
      if (identity.type !== 'controller' || identity.controller !== kind.definition.controller) {
        allowObject(res, 'update', kind, key);
        await allowApplicationObjects(res, kind, key.project, ['create', 'update', 'delete']);
      }
      const results = await store.expandApplication(kind, key, { dryRun: dryRun === 'true' }, actorOf(res));
      res.json({ dryRun: dryRun === 'true', results: results.map(({ status: _status, ...result }) => result) });
    }),
  );

  /** The role `principal` approves in under `policy` (a platform admin approves anywhere); the 403 names who may. */
  function approverRole(principal: Principal, project: string, policy: PolicyRecord): string | undefined {
    if (principal.grants.platform === 'platform-admin') return 'platform-admin';
    const held = principal.grants.projects.get(project)?.roles ?? [];
    return held.find((role) => policy.approvers.includes(role));
  }
  function approverOrRefuse(principal: Principal, project: string, policy: PolicyRecord, applicationKind: KindDefinition): string {
    if (policy.mode === 'automatic') {
      // A tier that needs no approval (a release waiting for its required tier): whoever may change the Application decides.
      if (can(principal, 'update', applicationKind, project)) return principal.grants.projects.get(project)?.roles[0] ?? principal.grants.platform ?? 'editor';
      throw new ForbiddenError(`${principal.identity.type} "${principal.identity.name}" may not decide a rollout in tier ${policy.tier}: it may not update Applications in project ${project}`);
    }
    const role = approverRole(principal, project, policy);
    if (role !== undefined) return role;
    const held = principal.grants.projects.get(project)?.roles ?? [];
    const { identity } = principal;
    throw new ForbiddenError(
      `${identity.type} "${identity.name}" may not approve in tier ${policy.tier}: DeliveryPolicy ${policy.name} lets ${policy.approvers.join(' or ')} of the project approve, ` +
        `and ${held.length > 0 ? `its roles in project ${project} are ${held.join(', ')}` : `it holds no role in project ${project}`}`,
      { details: [{ path: 'approvers.roles', rule: 'approver', message: policy.approvers.join(', ') }] },
    );
  }

  /** An optional `{ message }` body of a decision. */
  function decisionMessage(req: Request): string | undefined {
    if (req.body === undefined || (isJsonObject(req.body) && Object.keys(req.body).length === 0)) return undefined;
    if (!isJsonObject(req.body)) throw inputError('body', 'type', 'must be an object { message? }', 400);
    const problems = new DetailCollector();
    for (const key of Object.keys(req.body)) if (key !== 'message') problems.add(key.slice(0, 64), 'additionalProperties', 'unknown field (the body is { message? })');
    const message = req.body['message'];
    if (message !== undefined && typeof message !== 'string') problems.add('message', 'type', 'must be a string');
    problems.throwIfAny();
    return message as string | undefined;
  }

  // A person's decision on a Rollout that waits for one (the tier's DeliveryPolicy says who may).
  for (const action of ['approve', 'reject'] as const) {
    v1.post(
      `/:plural/:name/${action}`,
      route(async (req, res) => {
        const kind = await kindOf(req);
        const key = keyOf(kind, req);
        if (kind.definition.kind !== ROLLOUT.kind) throw new ConflictError(`only a Rollout is ${action}d (${kind.definition.kind} is not)`, { details: [{ path: 'kind', rule: action }] });
        allowObject(res, 'get', kind, key);
        const message = decisionMessage(req);
        const principal = principalOf(res);
        const applicationKind = (await kinds.getOrThrow(APPLICATION.kind)).definition;
        const approver = (policy: PolicyRecord) => approverOrRefuse(principal, key.project, policy, applicationKind);
        const answer = await store.decideRollout(key, { action, ...(message !== undefined ? { message } : {}), approver }, actorOf(res));
        res.json({ rollout: answer.rollout, results: answer.results.map(({ status: _status, ...result }) => result) });
      }),
    );
  }

  // Back to the release a tier ran before (or a named one), through the same path as any change.
  v1.post(
    '/:plural/:name/undo',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const key = keyOf(kind, req);
      if (kind.definition.kind !== APPLICATION.kind) throw new ConflictError(`only an Application is undone (${kind.definition.kind} is not)`, { details: [{ path: 'kind', rule: 'undo' }] });
      allowObject(res, 'update', kind, key);
      const body = req.body === undefined ? {} : req.body;
      if (!isJsonObject(body)) throw inputError('body', 'type', 'must be an object { tier?, release?, component? }', 400);
      const problems = new DetailCollector();
      const fields: Record<string, string> = {};
      for (const [field, value] of Object.entries(body)) {
        if (!['tier', 'release', 'component'].includes(field)) problems.add(field.slice(0, 64), 'additionalProperties', 'unknown field (the body is { tier?, release?, component? })');
        else if (typeof value !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) problems.add(field, 'pattern', 'must be a name (a DNS label)');
        else fields[field] = value;
      }
      problems.throwIfAny();
      const principal = principalOf(res);
      const answer = await store.undoApplication(key, { ...fields, approverRole: (policy) => approverRole(principal, key.project, policy) }, actorOf(res));
      res.json({ rollouts: answer.rollouts, results: answer.results.map(({ status: _status, ...result }) => result) });
    }),
  );

  v1.put(
    '/:plural/:name/status',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const key = keyOf(kind, req);
      allowObject(res, 'writeStatus', kind, key);
      const { status, resourceVersion } = parseStatusBody(bodyOf(req));
      const header = ifMatch(req);
      res.json(await store.writeStatus(kind, key, status, header ?? resourceVersion, actorOf(res)));
    }),
  );

  v1.delete(
    '/:plural/:name/finalizers/:finalizer',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const key = keyOf(kind, req);
      const finalizer = String(req.params['finalizer']);
      const force = req.query['force'];
      if (force !== undefined && force !== 'true' && force !== 'false') throw inputError('force', 'enum', 'must be true or false', 400);
      if (force === 'true') {
        allowObject(res, 'forceRemoveFinalizer', kind, key, { finalizer });
        res.json(await store.forceRemoveFinalizer(kind, key, finalizer, actorOf(res)));
        return;
      }
      allowObject(res, 'removeFinalizer', kind, key, { finalizer });
      res.json(await store.removeFinalizer(kind, key, finalizer, actorOf(res)));
    }),
  );

  v1.get(
    '/:plural/:name/secrets',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const key = keyOf(kind, req);
      allowObject(res, 'readSecrets', kind, key);
      res.setHeader('cache-control', 'no-store');
      res.json(await store.readSecrets(kind, key, actorOf(res)));
    }),
  );

  v1.post(
    '/:plural/:name/events',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const key = keyOf(kind, req);
      allowObject(res, 'writeEvent', kind, key);
      const body = bodyOf(req);
      const problems = new DetailCollector();
      if (!isJsonObject(body)) throw inputError('body', 'type', 'must be { type, reason, message }');
      for (const field of Object.keys(body)) if (!['type', 'reason', 'message'].includes(field)) problems.add(field, 'additionalProperties', 'unknown field');
      if (body['type'] !== 'Normal' && body['type'] !== 'Warning') problems.add('type', 'enum', 'must be Normal or Warning');
      if (typeof body['reason'] !== 'string' || !/^[A-Za-z][A-Za-z0-9]{0,127}$/.test(body['reason'])) problems.add('reason', 'pattern', 'must be a CamelCase word (at most 128)');
      if (typeof body['message'] !== 'string' || body['message'].length > 4096) problems.add('message', 'type', 'must be a string of at most 4096 characters');
      problems.throwIfAny();
      const event = { type: body['type'] as 'Normal' | 'Warning', reason: body['reason'] as string, message: body['message'] as string };
      res.status(201).json(await store.recordEvent(kind, key, event, actorOf(res)));
    }),
  );

  v1.get(
    '/:plural/:name/events',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const key = keyOf(kind, req);
      allowObject(res, 'get', kind, key);
      res.json({ items: await store.listEvents(kind, key) });
    }),
  );

  v1.get(
    '/:plural/:name/referrers',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const key = keyOf(kind, req);
      allowObject(res, 'get', kind, key);
      // Only the referrers the caller may read: a shared object's referrers span projects.
      const principal = principalOf(res);
      const index = principal.kinds;
      const referrers = await store.referrers(kind, key);
      res.json({ items: referrers.filter((r) => {
        const definition = index.byName.get(r.kind);
        return definition !== undefined && can(principal, 'get', definition, accessProject(definition, r));
      }) });
    }),
  );

  v1.get(
    '/:plural/:name/revisions',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const key = keyOf(kind, req);
      allowObject(res, 'get', kind, key);
      res.json({ items: await options.history.list(kind, key) });
    }),
  );

  // Before `…/revisions/:revision`, which would otherwise take "diff" as a revision number.
  v1.get(
    '/:plural/:name/revisions/diff',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const key = keyOf(kind, req);
      allowObject(res, 'get', kind, key);
      const from = parseRevisionNumber(req.query['from'], 'from');
      const to = req.query['to'] === undefined || req.query['to'] === '' ? undefined : parseRevisionNumber(req.query['to'], 'to');
      res.json(await options.history.diff(kind, key, from, to));
    }),
  );

  v1.get(
    '/:plural/:name/revisions/:revision',
    route(async (req, res) => {
      const kind = await kindOf(req);
      const key = keyOf(kind, req);
      allowObject(res, 'get', kind, key);
      const number = parseRevisionNumber(req.params['revision'], 'revision');
      const revision = await options.history.get(kind, key, number);
      if (!revision) throw new NotFoundError(`revision ${number} of ${kind.definition.kind} "${key.name}" not found (it may have been pruned)`, { details: [{ path: 'revision', rule: 'not-found' }] });
      res.json(revision);
    }),
  );

  // Operator controls: each is recorded as a revision (with a note) and an event, with the identity.
  for (const control of ['suspend', 'resume', 'reconcile'] as const) {
    v1.post(
      `/:plural/:name/${control}`,
      route(async (req, res) => {
        const kind = await kindOf(req);
        const key = keyOf(kind, req);
        allowObject(res, 'operate', kind, key);
        if (control === 'reconcile') res.json(await store.requestReconcile(kind, key, actorOf(res)));
        else res.json(await store.setSuspended(kind, key, control === 'suspend', actorOf(res)));
      }),
    );
  }

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(new NotFoundError(`no route ${req.method} ${req.path}`, { details: [{ path: 'path', rule: 'route' }] }));
  });

  // The one place errors become HTTP answers.
  app.use((error: unknown, req: Request, res: Response<unknown, Locals>, _next: NextFunction) => {
    const mapped = toTugboatError(error);
    const log = res.locals.requestId ? logger.child({ reqId: res.locals.requestId }) : logger;
    recordAttempt(req, res, mapped);
    // A 503 is the API protecting itself (starting, full): worth seeing, not an error of the API.
    if (mapped.status === 503) log.warn({ err: mapped.message }, 'request refused');
    else if (mapped.status >= 500) log.error({ err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error) }, 'request failed');
    if (mapped instanceof UnavailableError && mapped.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(mapped.retryAfterSeconds));
    // A body still on its way (refused before it was read: 401, 413 …) is neither waited for nor
    // read: Node would otherwise read and discard the rest of it before closing. The connection
    // ends once the answer is handed to the system.
    const expectsBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (expectsBody && !req.complete) {
      res.setHeader('connection', 'close');
      res.once('finish', () => req.socket.destroy());
    }
    res.status(mapped.status).json(mapped.toBody());
  });

  /** A refused or failed request that got as far as asking `authorize`, in the audit trail (not awaited). */
  function recordAttempt(req: Request, res: Response<unknown, Locals>, error: TugboatError): void {
    const { attempt, actor } = res.locals;
    if (!options.audit || !attempt || !actor) return;
    const path = req.originalUrl.split('?')[0] ?? '';
    const action = path === '/v1/apply' ? 'apply' : attemptedAction(attempt.action, req.method, path);
    if (action === undefined) return;
    const context = options.audit.trail.contextOf(actor);
    // The error's paths and rules, never its message: a message may quote what the request sent.
    const detail = { code: error.code, ...(error.details.length > 0 ? { details: error.details.slice(0, 20).map(({ path, rule }) => ({ path: path.slice(0, 256), rule })) } : {}) };
    const outcome = attempt.denied || error.status === 401 || error.status === 403 ? 'denied' : 'failed';
    void options.audit.trail.recordAttempt({ action, kind: attempt.kind, project: attempt.project, name: attempt.name, outcome, status: error.status, detail }, context);
  }

  return app;
}

function bodyOf(req: Request): unknown {
  if (req.body === undefined) throw inputError('body', 'content-type', 'must be JSON (Content-Type: application/json)', 400);
  return req.body;
}

/** The request's `If-Match` precondition (see `parseIfMatch`). */
function ifMatch(req: Request): string | undefined {
  return parseIfMatch(req.get('if-match'));
}

/** A 413 that says the limit (the body parsers give it in bytes) and what to do instead. */
function tooLarge(limit: unknown): TugboatError {
  const size = typeof limit === 'number' && limit > 0 ? ` (${limit >= 1024 * 1024 && limit % (1024 * 1024) === 0 ? `${limit / (1024 * 1024)} MiB` : `${limit} bytes`})` : '';
  return new PayloadTooLargeError(`body: larger than the API accepts${size}; send fewer or smaller objects per request`, { details: [{ path: 'body', rule: 'max-size' }] });
}

/**
 * An apply's check of one object. Whether the object exists is never told to a caller who may not
 * read it: such a caller gets one refusal for create and update alike (the two messages told an
 * outsider which names exist in another project). `write` is asked before the object is looked up.
 */
function authorizeApply(principal: Principal, kind: KindDefinition, project: string, action: 'create' | 'update' | 'write'): void {
  // A reader may learn whether the object exists: the check after the lookup names the right verb.
  if (action === 'write' && can(principal, 'get', kind, project)) return;
  let refusal: unknown;
  for (const verb of action === 'write' ? (['create', 'update'] as const) : [action]) {
    try {
      authorize(principal, verb, kind, project);
      return;
    } catch (error) {
      refusal ??= error;
    }
  }
  if (can(principal, 'get', kind, project)) throw refusal;
  const { identity } = principal;
  const where = project === '' ? '' : kind.kind === PROJECT_KIND ? ` ${project}` : ` in project ${project}`;
  throw new ForbiddenError(`${identity.type} "${identity.name}" may not create or update ${kind.kind}${where}`);
}

function toTugboatError(error: unknown): TugboatError {
  if (isTugboatError(error)) return error;
  const type = (error as { type?: unknown } | null)?.type;
  if (type === 'entity.too.large') return tooLarge((error as { limit?: unknown }).limit);
  if (type === 'entity.parse.failed') return new InputError('body: malformed JSON', { details: [{ path: 'body', rule: 'json' }] });
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new InputError('body: unsupported encoding', { details: [{ path: 'body', rule: 'encoding' }] });
  if (type === 'request.aborted') return new InputError('body: the client stopped sending it', { details: [{ path: 'body', rule: 'aborted' }] });
  // Other client errors raised by express and its parsers (a path segment that is not valid
  // percent-encoding, a body whose length disagrees with Content-Length …) carry a 4xx status.
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 413) return tooLarge((error as { limit?: unknown }).limit);
    return new InputError(`request: ${(error as Error).message}`, { details: [{ path: 'request', rule: 'malformed' }] });
  }
  return new InternalError('internal error', { cause: error });
}
