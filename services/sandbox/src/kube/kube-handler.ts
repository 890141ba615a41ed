/**
 * The HTTP face of the simulated API servers: `/k8s/{cluster}/…` routed to discovery, OpenAPI,
 * and the REST verbs of every served type, with bearer-token auth per cluster, injected faults,
 * and every failure answered as a Kubernetes `Status`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { FaultInjector } from '../fault-injector.js';
import type { BuiltinSchemas } from './builtin-schemas.js';
import { schemaOfCrdVersion } from './crd-schema.js';
import { apiGroupList, apiGroupOf, apiResourceList, apiVersions, openApiDocument, openApiIndex, openApiV2Document, serverVersionOf } from './discovery.js';
import { isPlainObject, type JsonObject } from './json-values.js';
import { duplicateFieldsOfJson, parseYamlNotingDuplicates } from './duplicate-fields.js';
import type { DeleteOptions, FieldValidation, KubeCluster, PatchType } from './kube-cluster.js';
import { KubeStatusError, badRequest, failureStatus, isKubeStatusError, notFound, successStatus, type StatusReason } from './kube-status.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patches.js';
import type { KubeObject } from './object-rules.js';
import { podLog } from './pod-log.js';
import { decodeProtobufBody, isProtobufBody } from './protobuf-body.js';
import { groupVersionOf, type ResourceType, type Subresource } from './resource-table.js';
import { replicasOfScale, scaleOf } from './scale-subresource.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { renderTable, type PrinterColumn } from './table.js';
import { serveWatch } from './watch-stream.js';

export interface HandlerCluster {
  cluster: KubeCluster;
  /** Ends this cluster's open watches when it is removed. */
  watches: Set<() => void>;
}

export interface KubeHandlerOptions {
  resolve: (clusterName: string) => HandlerCluster | undefined;
  faults: FaultInjector;
  logger: Logger;
  /** Where the handler is mounted. Default `/k8s`. */
  basePath: string;
  bookmarkIntervalMs: number;
  now: () => number;
  /**
   * Serve requests that carry no credentials at all. kubectl (client-go's clientcmd) never sends
   * a kubeconfig's token over plain HTTP, so without TLS this is what lets kubectl in; a request
   * with a wrong token is still refused with 401.
   */
  anonymousAccess: boolean;
  /** The built-in kinds' schemas served under `/openapi/v3`. */
  schemas: BuiltinSchemas;
  /** Accepts bearer tokens other than the cluster's own (e.g. an EKS `k8s-aws-v1.…` token the AWS half can check). */
  verifyToken?: ((clusterName: string, token: string) => boolean) | undefined;
}

export type KubeRequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

const MAX_BODY_BYTES = 3 * 1024 * 1024;

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

function writeJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function methodNotAllowed(): KubeStatusError {
  return new KubeStatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

function notFoundPath(): KubeStatusError {
  return new KubeStatusError(404, 'NotFound', 'the server could not find the requested resource', {});
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parsed = (req as IncomingMessage & { body?: unknown }).body;
  if (parsed !== undefined && req.readableEnded) {
    if (Buffer.isBuffer(parsed)) return parsed;
    return Buffer.from(typeof parsed === 'string' ? parsed : JSON.stringify(parsed));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new KubeStatusError(413, 'BadRequest', 'Request entity too large: limit is 3145728');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function parseBody(raw: Buffer, contentType: string): unknown {
  return parseBodyNotingDuplicates(raw, contentType).value;
}

/** The body, and the fields it gives twice (which only the raw text shows). */
function parseBodyNotingDuplicates(raw: Buffer, contentType: string): { value: unknown; duplicates: string[] } {
  const text = raw.toString('utf8');
  if (text.trim() === '') return { value: undefined, duplicates: [] };
  try {
    if (contentType.includes('yaml')) {
      // JSON is YAML, and what clients send as an apply patch (client-node, controllers): read it
      // as JSON, several times faster; what is not JSON goes to the YAML parser.
      const json = text.trimStart().startsWith('{') ? parseJsonOrUndefined(text) : undefined;
      return json === undefined ? parseYamlNotingDuplicates(text) : { value: json, duplicates: duplicateFieldsOfJson(text) };
    }
    const value = JSON.parse(text) as unknown;
    return { value, duplicates: duplicateFieldsOfJson(text) };
  } catch (error) {
    throw badRequest(`the body of the request could not be decoded: ${(error as Error).message}`);
  }
}

const DIRECTIVES = ['Ignore', 'Strict', 'Warn'] as const;

/** `?fieldValidation=`; kube-apiserver's default when it is absent is Warn. */
function fieldValidationOf(query: URLSearchParams, duplicates: string[]): FieldValidation {
  const given = query.get('fieldValidation') ?? '';
  const directive = given === '' ? 'Warn' : DIRECTIVES.find((candidate) => candidate === given);
  if (directive === undefined) throw badRequest(`fieldValidation: Unsupported value: "${given}": supported values: ${DIRECTIVES.map((value) => `"${value}"`).join(', ')}`);
  return { directive, duplicates, warnings: [] };
}

/** RFC 7234 warning headers, one per warning, as kube-apiserver sends them (kubectl prints `Warning: …`). */
function warningHeaders(validation: FieldValidation): Record<string, string[]> {
  if (validation.warnings.length === 0) return {};
  return { Warning: validation.warnings.map((warning) => `299 - ${JSON.stringify(warning)}`) };
}

function faultStatus(code: number, message: string, throttle: boolean) {
  const reasons: Record<number, StatusReason> = { 429: 'TooManyRequests', 409: 'Conflict', 404: 'NotFound', 503: 'ServiceUnavailable', 403: 'Forbidden', 400: 'BadRequest' };
  const reason: StatusReason = throttle ? 'TooManyRequests' : (reasons[code] ?? 'InternalError');
  return failureStatus(code, reason, message, throttle || code === 429 ? { retryAfterSeconds: 1 } : undefined);
}

interface ResourceRoute {
  type: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: Subresource | undefined;
}

function resolveResource(cluster: KubeCluster, groupName: string, version: string, rest: string[]): ResourceRoute {
  const namespacedPlural = rest[0] === 'namespaces' && rest.length >= 3 ? rest[2] : undefined;
  const namespacedType = namespacedPlural === undefined ? undefined : cluster.registry.lookup(groupName, version, namespacedPlural);
  let route: { namespace?: string; plural?: string; name?: string; sub?: string; extra: number };
  if (namespacedType?.namespaced) {
    route = { namespace: rest[1], plural: rest[2], name: rest[3], sub: rest[4], extra: rest.length - 5 };
  } else {
    route = { plural: rest[0], name: rest[1], sub: rest[2], extra: rest.length - 3 };
  }
  const type = route.plural === undefined ? undefined : cluster.registry.lookup(groupName, version, route.plural);
  if (!type || route.extra > 0) throw notFoundPath();
  if (type.namespaced === false && route.namespace !== undefined) throw notFoundPath();
  if (type.namespaced && route.namespace === undefined && route.name !== undefined) throw notFoundPath();
  const subresource = type.subresources.find((candidate) => candidate === route.sub);
  if (route.sub !== undefined && subresource === undefined) throw notFoundPath();
  return { type, namespace: route.namespace, name: route.name, subresource };
}

/** Real servers derive a default field manager from the User-Agent (`kubectl/v1.32 …` → `kubectl`). */
function defaultManager(req: IncomingMessage): string {
  const agent = String(req.headers['user-agent'] ?? 'unknown');
  return agent.split('/')[0]?.slice(0, 128) || 'unknown';
}

function wantsTable(req: IncomingMessage): boolean {
  return String(req.headers.accept ?? '').includes('as=Table');
}

function dryRunOf(query: URLSearchParams, body?: unknown): boolean {
  if (query.getAll('dryRun').includes('All')) return true;
  return isPlainObject(body) && Array.isArray(body.dryRun) && body.dryRun.includes('All');
}

export function createKubeHandler(options: KubeHandlerOptions): KubeRequestHandler {
  const logger = options.logger;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const full = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const url = new URL(full, 'http://sandbox.invalid');
    let pathname = url.pathname;
    if (pathname === options.basePath || pathname.startsWith(`${options.basePath}/`)) pathname = pathname.slice(options.basePath.length);
    const segments = pathname.split('/').filter((segment) => segment !== '').map(decodeURIComponent);
    const clusterName = segments[0];
    const entry = clusterName === undefined ? undefined : options.resolve(clusterName);
    if (!entry || clusterName === undefined) {
      writeJson(res, 404, failureStatus(404, 'NotFound', `no simulated cluster named "${clusterName ?? ''}"`));
      return;
    }
    const { cluster } = entry;
    const authorization = req.headers.authorization;
    const anonymous = authorization === undefined && options.anonymousAccess;
    const token = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length).trim() : undefined;
    const authenticated = token !== undefined && (token === cluster.token || (options.verifyToken?.(clusterName, token) ?? false));
    if (!anonymous && !authenticated) {
      writeJson(res, 401, failureStatus(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const rest = segments.slice(1);
    const method = (req.method ?? 'GET').toUpperCase();
    const prefix = `${options.basePath}/${encodeURIComponent(clusterName)}`;
    const types = cluster.registry.all();

    if (method === 'GET') {
      const [first, second, third, fourth, fifth] = rest;
      if (rest.length === 0) {
        writeJson(res, 200, { paths: ['/api', '/api/v1', '/apis', '/openapi/v3', '/version', '/healthz', '/livez', '/readyz'] });
        return;
      }
      if (rest.length === 1 && (first === 'healthz' || first === 'livez' || first === 'readyz')) {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
        return;
      }
      if (rest.length === 1 && first === 'version') return writeJson(res, 200, serverVersionOf(entry.cluster.serverVersion));
      if (rest.length === 1 && first === 'api') return writeJson(res, 200, apiVersions(String(req.headers.host ?? '127.0.0.1')));
      if (rest.length === 1 && first === 'apis') return writeJson(res, 200, apiGroupList(types));
      if (rest.length === 2 && first === 'apis') {
        const group = apiGroupOf(types, second ?? '');
        if (!group) throw notFoundPath();
        return writeJson(res, 200, group);
      }
      if ((rest.length === 2 && first === 'api') || (rest.length === 3 && first === 'apis')) {
        const list = first === 'api' ? apiResourceList(types, '', second ?? '') : apiResourceList(types, second ?? '', third ?? '');
        if (!list) throw notFoundPath();
        return writeJson(res, 200, list);
      }
      if (first === 'openapi') {
        const crdSchema = (type: ResourceType) => {
          if (type.crd === undefined) return undefined;
          const crdType = cluster.registry.lookup('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
          return crdType ? schemaOfCrdVersion(cluster.get(crdType, undefined, type.crd), type.version) : undefined;
        };
        if (second === 'v3' && rest.length === 2) return writeJson(res, 200, openApiIndex(types, prefix, crdSchema));
        if (second === 'v2' && rest.length === 2) {
          const document = openApiV2Document(String(req.headers.accept ?? ''));
          res.writeHead(200, { 'Content-Type': document.contentType, 'Content-Length': document.body.length });
          res.end(document.body);
          return;
        }
        const document =
          second === 'v3' && third === 'api' && rest.length === 4
            ? openApiDocument(types, '', fourth ?? '', options.schemas)
            : second === 'v3' && third === 'apis' && rest.length === 5
              ? openApiDocument(types, fourth ?? '', fifth ?? '', options.schemas, crdSchema)
              : undefined;
        if (!document) throw notFoundPath();
        return writeJson(res, 200, document);
      }
    }

    let route: ResourceRoute;
    if (rest[0] === 'api' && rest[1] !== undefined) route = resolveResource(cluster, '', rest[1], rest.slice(2));
    else if (rest[0] === 'apis' && rest[1] !== undefined && rest[2] !== undefined) route = resolveResource(cluster, rest[1], rest[2], rest.slice(3));
    else throw notFoundPath();
    if (route.type.review) return serveReview(req, res, route.type, method, token === undefined ? 'system:anonymous' : `sandbox:${clusterName}`);
    await serveResource(req, res, entry, route, url.searchParams, method);
  }

  /** Every request is allowed in the sandbox; reviews say so (the body may be protobuf, and is not needed). */
  async function serveReview(req: IncomingMessage, res: ServerResponse, type: ResourceType, method: string, username: string) {
    if (method !== 'POST') throw methodNotAllowed();
    const raw = await readBody(req);
    const contentType = String(req.headers['content-type'] ?? 'application/json');
    const body = contentType.includes('json') || contentType.includes('yaml') ? parseBody(raw, contentType) : undefined;
    const spec = isPlainObject(body) && isPlainObject(body.spec) ? body.spec : {};
    const statuses: Record<string, JsonObject> = {
      SelfSubjectAccessReview: { allowed: true, reason: 'the Tugboat sandbox allows every request' },
      SelfSubjectRulesReview: {
        resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
        nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
        incomplete: false,
      },
      SelfSubjectReview: { userInfo: { username, groups: username === 'system:anonymous' ? ['system:unauthenticated'] : ['system:masters', 'system:authenticated'] } },
    };
    return writeJson(res, 201, { kind: type.kind, apiVersion: groupVersionOf(type), metadata: { creationTimestamp: null }, spec, status: statuses[type.kind] ?? {} });
  }

  /** A custom resource's printer columns come from its CRD version. */
  function printerColumnsOf(cluster: KubeCluster, type: ResourceType): PrinterColumn[] | undefined {
    if (type.crd === undefined) return undefined;
    const crdType = cluster.registry.lookup('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
    const crd = crdType ? cluster.get(crdType, undefined, type.crd) : undefined;
    const versions = isPlainObject(crd?.spec) && Array.isArray(crd.spec.versions) ? crd.spec.versions.filter(isPlainObject) : [];
    const columns = versions.find((version) => version.name === type.version)?.additionalPrinterColumns;
    return Array.isArray(columns) ? columns.filter((column): column is PrinterColumn => isPlainObject(column) && typeof column.name === 'string' && typeof column.jsonPath === 'string') : undefined;
  }

  async function serveResource(req: IncomingMessage, res: ServerResponse, entry: HandlerCluster, route: ResourceRoute, query: URLSearchParams, method: string) {
    const { cluster } = entry;
    const { type, namespace, name, subresource } = route;
    const apiVersion = groupVersionOf(type);
    const present = (object: KubeObject): KubeObject => ({ ...object, apiVersion });
    const isWatch = method === 'GET' && name === undefined && (query.get('watch') === 'true' || query.get('watch') === '1');
    const operation =
      method === 'GET' ? (name !== undefined ? 'get' : isWatch ? 'watch' : 'list') : ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[method];
    if (operation === undefined || (method === 'POST' && name !== undefined && subresource !== 'eviction') || (['PUT', 'PATCH'].includes(method) && name === undefined)) {
      writeJson(res, 405, failureStatus(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
      return;
    }
    const fault = await options.faults.check('kube', operation);
    if (fault) {
      writeJson(res, fault.status, faultStatus(fault.status, fault.message, fault.throttle), fault.throttle || fault.status === 429 ? { 'Retry-After': '1' } : {});
      return;
    }
    const manager = query.get('fieldManager') || defaultManager(req);
    if (manager.length > 128) throw badRequest('fieldManager: Too long: must have at most 128 bytes');
    const contentType = String(req.headers['content-type'] ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';

    if (subresource === 'scale' || subresource === 'log' || subresource === 'eviction') {
      return serveSubresourceView(req, res, cluster, route as ResourceRoute & { name: string }, query, method, manager, contentType);
    }

    if (method === 'GET' && name !== undefined) {
      const object = cluster.get(type, namespace, name);
      if (!object) throw new KubeStatusError(404, 'NotFound', `${type.group === '' ? type.plural : `${type.plural}.${type.group}`} "${name}" not found`, { name, group: type.group, kind: type.plural });
      if (wantsTable(req)) {
        return writeJson(res, 200, renderTable(type, [present(object)], { resourceVersion: object.metadata.resourceVersion, includeObject: query.get('includeObject') === 'Object', now: options.now(), printerColumns: printerColumnsOf(cluster, type) }));
      }
      return writeJson(res, 200, present(object));
    }

    if (method === 'GET') {
      const labels = parseLabelSelector(query.get('labelSelector') ?? undefined);
      const fields = parseFieldSelector(query.get('fieldSelector') ?? undefined, type.kind);
      if (isWatch) {
        const table = wantsTable(req);
        const timeout = query.get('timeoutSeconds');
        let end: () => void = () => undefined;
        end = serveWatch(res, {
          cluster,
          type,
          namespace,
          labels,
          fields,
          resourceVersion: query.get('resourceVersion') ?? undefined,
          allowBookmarks: query.get('allowWatchBookmarks') === 'true',
          sendInitialEvents: query.get('sendInitialEvents') === 'true',
          timeoutSeconds: timeout === null ? undefined : Number(timeout),
          bookmarkIntervalMs: options.bookmarkIntervalMs,
          present: (object) =>
            table ? renderTable(type, [present(object)], { resourceVersion: object.metadata.resourceVersion, includeObject: query.get('includeObject') === 'Object', now: options.now(), printerColumns: printerColumnsOf(cluster, type) }) : present(object),
        });
        entry.watches.add(end);
        res.on('close', () => entry.watches.delete(end));
        return;
      }
      const matching = cluster.list(type, namespace).filter((object) => labels(object.metadata.labels) && fields(object));
      const limit = Number(query.get('limit') ?? 0);
      let offset = 0;
      const token = query.get('continue');
      if (token) {
        try {
          offset = Number((JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { offset?: unknown }).offset);
        } catch {
          offset = Number.NaN;
        }
        if (!Number.isInteger(offset) || offset < 0) throw badRequest(`continue key is not valid: ${token}`);
      }
      const page = limit > 0 ? matching.slice(offset, offset + limit) : matching.slice(offset);
      const more = limit > 0 && offset + limit < matching.length;
      const continueToken = more ? Buffer.from(JSON.stringify({ offset: offset + limit })).toString('base64url') : undefined;
      const resourceVersion = String(cluster.currentResourceVersion());
      if (wantsTable(req)) {
        return writeJson(res, 200, renderTable(type, page.map(present), { resourceVersion, includeObject: query.get('includeObject') === 'Object', continueToken, now: options.now(), printerColumns: printerColumnsOf(cluster, type) }));
      }
      const metadata: JsonObject = { resourceVersion };
      if (continueToken) {
        metadata.continue = continueToken;
        metadata.remainingItemCount = matching.length - offset - limit;
      }
      return writeJson(res, 200, { kind: type.listKind, apiVersion, metadata, items: page.map(present) });
    }

    if (!isProtobufBody(contentType) && (contentType.includes('protobuf') || contentType.includes('cbor'))) {
      throw new KubeStatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
    }
    const raw = await readBody(req);
    const parsed = isProtobufBody(contentType) ? { value: decodeProtobufBody(raw), duplicates: [] } : parseBodyNotingDuplicates(raw, contentType);
    const body = parsed.value;
    const dryRun = dryRunOf(query, body);
    const fieldValidation = method === 'DELETE' ? undefined : fieldValidationOf(query, parsed.duplicates);

    if (method === 'POST' && fieldValidation) {
      const created = cluster.create(type, namespace, body, { manager, fieldValidation, dryRun });
      return writeJson(res, 201, present(created), warningHeaders(fieldValidation));
    }
    if (method === 'PUT' && name !== undefined && fieldValidation) {
      const updated = cluster.update(type, namespace, name, body, { manager, fieldValidation, dryRun, ...(subresource ? { subresource } : {}) });
      return writeJson(res, 200, present(updated), warningHeaders(fieldValidation));
    }
    if (method === 'PATCH' && name !== undefined && fieldValidation) {
      const patchType = PATCH_TYPES[contentType];
      if (!patchType) {
        throw new KubeStatusError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_TYPES).join(', ')}`,
        );
      }
      if (patchType === 'apply' && !query.get('fieldManager')) {
        throw badRequest('PATCH request with apply-patch+yaml requires a fieldManager (the fieldManager query parameter)');
      }
      const force = query.get('force') === 'true';
      if (force && patchType !== 'apply') throw badRequest('force may not be set for non-apply patch requests');
      const result = cluster.patch(type, namespace, name, patchType, body, { manager, fieldValidation, dryRun, force, ...(subresource ? { subresource } : {}) });
      return writeJson(res, result.created ? 201 : 200, present(result.object), warningHeaders(fieldValidation));
    }
    if (method === 'DELETE') {
      const deleteBody = isPlainObject(body) ? body : {};
      const policy = query.get('propagationPolicy') ?? deleteBody.propagationPolicy;
      if (policy !== undefined && policy !== 'Background' && policy !== 'Foreground' && policy !== 'Orphan') {
        throw badRequest(`propagationPolicy: Unsupported value: "${String(policy)}": supported values: "Foreground", "Background", "Orphan"`);
      }
      const deleteOptions: DeleteOptions = { dryRun };
      if (policy) deleteOptions.propagationPolicy = policy;
      if (deleteBody.orphanDependents === true) deleteOptions.propagationPolicy = 'Orphan';
      if (isPlainObject(deleteBody.preconditions)) deleteOptions.preconditions = deleteBody.preconditions as DeleteOptions['preconditions'];
      if (name !== undefined) {
        const result = cluster.delete(type, namespace, name, deleteOptions);
        const resultBody = 'metadata' in result.body && result.body.kind !== 'Status' ? present(result.body as KubeObject) : result.body;
        return writeJson(res, result.code, resultBody);
      }
      const labels = parseLabelSelector(query.get('labelSelector') ?? undefined);
      const fields = parseFieldSelector(query.get('fieldSelector') ?? undefined, type.kind);
      const deleted: unknown[] = [];
      for (const object of cluster.list(type, namespace)) {
        if (!labels(object.metadata.labels) || !fields(object)) continue;
        cluster.delete(type, object.metadata.namespace, object.metadata.name, deleteOptions);
        deleted.push(present(object));
      }
      return writeJson(res, 200, { kind: type.listKind, apiVersion, metadata: { resourceVersion: String(cluster.currentResourceVersion()) }, items: deleted });
    }
    throw notFoundPath();
  }

  /** `scale` and `log`: views computed from the object rather than parts of it. */
  async function serveSubresourceView(
    req: IncomingMessage,
    res: ServerResponse,
    cluster: KubeCluster,
    route: ResourceRoute & { name: string },
    query: URLSearchParams,
    method: string,
    manager: string,
    contentType: string,
  ) {
    const { type, namespace, name } = route;
    const object = cluster.get(type, namespace, name);
    if (!object) throw notFound(type, name);
    if (route.subresource === 'eviction') {
      // An eviction (kubectl drain) deletes the pod; disruption budgets are not enforced.
      if (method !== 'POST') throw methodNotAllowed();
      await readBody(req);
      cluster.delete(type, namespace, name, { dryRun: dryRunOf(query) });
      return writeJson(res, 201, successStatus());
    }
    if (route.subresource === 'log') {
      if (method !== 'GET') throw methodNotAllowed();
      const text = podLog(object, query.get('container') ?? undefined);
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    if (method === 'GET') return writeJson(res, 200, scaleOf(object));
    if (method !== 'PUT' && method !== 'PATCH') throw methodNotAllowed();
    const body = parseBody(await readBody(req), contentType);
    let written: unknown = body;
    if (method === 'PATCH') {
      const current = scaleOf(object);
      if (contentType === 'application/merge-patch+json') written = mergePatch(current, body);
      else if (contentType === 'application/strategic-merge-patch+json') written = strategicMergePatch(current, body);
      else if (contentType === 'application/json-patch+json') written = jsonPatch(current, body);
      else throw new KubeStatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`);
    }
    const replicas = replicasOfScale(name, written);
    const expected = isPlainObject(written) && isPlainObject(written.metadata) ? written.metadata.resourceVersion : undefined;
    const patch: JsonObject = { spec: { replicas } };
    if (typeof expected === 'string' && expected !== '') patch.metadata = { resourceVersion: expected };
    // The Scale body was read field by field above; the patch built from it is the sandbox's own.
    const result = cluster.patch(type, namespace, name, 'merge', patch, { manager, dryRun: dryRunOf(query, body) });
    return writeJson(res, 200, scaleOf(result.object));
  }

  return (req, res) => {
    const started = Date.now();
    res.on('finish', () => {
      logger.debug({ method: req.method, url: req.url, status: res.statusCode, ms: Date.now() - started }, 'kube request');
    });
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.end();
        return;
      }
      if (isKubeStatusError(error)) {
        writeJson(res, error.code, error.toStatus());
        return;
      }
      if (error instanceof URIError) {
        writeJson(res, 400, failureStatus(400, 'BadRequest', `malformed request path: ${error.message}`));
        return;
      }
      logger.error({ err: error, method: req.method, url: req.url }, 'kube request failed');
      writeJson(res, 500, failureStatus(500, 'InternalError', `Internal error occurred: ${(error as Error).message}`));
    });
  };
}
