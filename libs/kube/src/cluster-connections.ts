import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import {
  ApiException,
  CoreV1Api,
  createConfiguration,
  HttpMethod,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  ResponseContext,
  ServerConfiguration,
  VersionApi,
  wrapHttpLibrary,
  type HttpLibrary,
  type KubernetesObject,
  type Middleware,
  type RequestContext,
  type SecurityAuthentication,
} from '@kubernetes/client-node';
import { classifyKubeError, KubeClusterError } from './kube-cluster-error.js';

export interface ClusterConnectionInput {
  /** Identity of the cluster object (its uid): one client set per cluster. */
  uid: string;
  kubeconfig: string;
  /** A context of the kubeconfig; its current-context when absent. */
  context?: string;
  /**
   * A bearer token asked for before every request (the provider caches and renews it), in place of
   * the kubeconfig user's credentials: an EKS token signed with an AWS account's credentials.
   */
  bearerToken?: () => Promise<string>;
  /** What the bearer token stands for (e.g. an account's uid and generation): a change makes a new client set. */
  credentialsKey?: string;
}

export interface KubeRequestOptions {
  signal?: AbortSignal;
}

export interface ApplyOptions extends KubeRequestOptions {
  /** Server-side apply field manager: one per controller (`tugboat-cluster`, `tugboat-workload` …). */
  fieldManager: string;
}

export interface ServerVersion {
  gitVersion: string;
  major: string;
  minor: string;
  platform?: string;
}

export interface NodeSummary {
  name: string;
  ready: boolean;
}

/** What names one object on a cluster: enough to read or delete it. */
export interface ObjectIdentity {
  apiVersion: string;
  kind: string;
  /** Absent for cluster-scoped kinds. */
  namespace?: string;
  name: string;
}

export interface ListOptions extends KubeRequestOptions {
  /** Only this namespace; every namespace when absent (and for cluster-scoped kinds). */
  namespace?: string;
  /** A Kubernetes label selector, e.g. `app=web,tier!=cache`. */
  labelSelector?: string;
}

export interface EnsuredNamespace {
  namespace: KubernetesObject;
  /** True when this call created it; false when it existed (whoever made it). */
  created: boolean;
}

/** A client set for one cluster. Every call throws `KubeClusterError` (classified) on failure. */
export interface ClusterConnection {
  readonly uid: string;
  /** The API server URL of the chosen context. */
  readonly endpoint: string;
  readonly context: string;
  serverVersion(options?: KubeRequestOptions): Promise<ServerVersion>;
  listNodes(options?: KubeRequestOptions): Promise<NodeSummary[]>;
  /** Server-side apply (`force`: this manager takes over conflicting fields, as controllers do). */
  apply<T extends KubernetesObject>(object: T, options: ApplyOptions): Promise<T>;
  /** The object, or `undefined` when it does not exist. */
  read<T extends KubernetesObject>(object: T, options?: KubeRequestOptions): Promise<T | undefined>;
  /** Deletes (Background propagation); false when it was already gone. */
  delete(object: KubernetesObject | ObjectIdentity, options?: KubeRequestOptions): Promise<boolean>;
  /**
   * Whether the cluster serves the kind per namespace (true) or cluster-wide (false); `undefined`
   * when it does not serve that kind at all (a custom resource whose definition is not installed).
   * Discovery answers are cached per connection; a kind not found is asked again (a CRD may have
   * arrived since).
   */
  isNamespaced(apiVersion: string, kind: string, options?: KubeRequestOptions): Promise<boolean | undefined>;
  /** Every object of a kind (following `continue` pages), optionally in one namespace and by label selector. */
  list<T extends KubernetesObject = KubernetesObject>(apiVersion: string, kind: string, options?: ListOptions): Promise<T[]>;
  /**
   * Creates the namespace with these labels when it does not exist, otherwise reads it as it is
   * (its labels untouched: a namespace someone else made is not taken over). A create that loses a
   * race to another creator reads theirs. `likelyNew`: the caller expects none (it never made one
   * there): create first and read only when one exists, one request instead of two.
   */
  ensureNamespace(name: string, options: ApplyOptions & { labels?: Record<string, string>; likelyNew?: boolean }): Promise<EnsuredNamespace>;
}

export interface ClusterConnections {
  /**
   * The cluster's client set: the cached one while the kubeconfig (and context) are unchanged,
   * otherwise a new one (the old one is dropped). Throws `KubeClusterError` with reason
   * `InvalidKubeconfig` when the kubeconfig cannot be used.
   */
  connect(input: ClusterConnectionInput): ClusterConnection;
  /** Forgets a cluster's client set (after the cluster is deleted). */
  drop(uid: string): void;
  /** How many client sets are held. */
  readonly size: number;
}

export interface ClusterConnectionsOptions {
  /** Per-request timeout so a silent API server does not hold a reconcile forever. Default 15 s. */
  requestTimeoutMs?: number;
}

/** One client set per cluster, keyed by its uid and a hash of the kubeconfig and context. */
export function createClusterConnections(options: ClusterConnectionsOptions = {}): ClusterConnections {
  const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
  const byUid = new Map<string, { fingerprint: string; connection: ClusterConnection }>();
  return {
    connect(input) {
      const fingerprint = createHash('sha256')
        .update(input.kubeconfig)
        .update('\0')
        .update(input.context ?? '')
        .update('\0')
        .update(input.bearerToken === undefined ? '' : `bearer:${input.credentialsKey ?? ''}`)
        .digest('hex');
      const held = byUid.get(input.uid);
      if (held !== undefined && held.fingerprint === fingerprint) return held.connection;
      byUid.delete(input.uid);
      const connection = openConnection(input, requestTimeoutMs);
      byUid.set(input.uid, { fingerprint, connection });
      return connection;
    },
    drop(uid) {
      byUid.delete(uid);
    },
    get size() {
      return byUid.size;
    },
  };
}

/** The generated object API, with its (protected, cached) discovery lookup made reachable. */
class DiscoveringObjectApi extends KubernetesObjectApi {
  kindResource(apiVersion: string, kind: string) {
    return this.resource(apiVersion, kind);
  }
}

const LIST_PAGE_SIZE = 500;

/**
 * client-node sends every request with undici's `fetch` (a WHATWG Request, Headers, a web stream
 * for the body, abort signals chained per request), which its serializer then reads whole as text
 * anyway: a large share of a controller's CPU for small JSON answers. With the connection pool the
 * kubeconfig's authentication made (the TLS settings live there), the same request goes through
 * the pool's own `request()`: the same connections, headers, body and signal, without the fetch
 * machinery. Without a pool (a kubeconfig with no TLS settings), client-node's fetch as before.
 */
function requestsThroughDispatcher(fallback: HttpLibrary): HttpLibrary {
  return wrapHttpLibrary({
    async send(request: RequestContext): Promise<ResponseContext> {
      const dispatcher = request.getDispatcher();
      if (dispatcher === undefined) return fallback.send(request).toPromise();
      const url = new URL(request.getUrl());
      const answer = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: request.getHttpMethod() as 'GET',
        headers: request.getHeaders(),
        body: request.getBody() as string | Buffer | undefined,
        signal: request.getSignal() ?? null,
      });
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      const body = await answer.body.arrayBuffer().then((buffer) => Buffer.from(buffer));
      return new ResponseContext(answer.statusCode, headers, {
        text: () => Promise.resolve(body.toString('utf8')),
        binary: () => Promise.resolve(body),
        stream: () => null,
      });
    },
  });
}

function invalidKubeconfig(message: string, cause?: unknown, endpoint?: string): KubeClusterError {
  return new KubeClusterError(`invalid kubeconfig: ${message}`, { reason: 'InvalidKubeconfig', cause, ...(endpoint === undefined ? {} : { endpoint }) });
}

function openConnection(input: ClusterConnectionInput, requestTimeoutMs: number): ClusterConnection {
  const kc = new KubeConfig();
  try {
    kc.loadFromString(input.kubeconfig);
  } catch (error) {
    throw invalidKubeconfig(error instanceof Error ? error.message : String(error), error);
  }
  const contextName = input.context ?? kc.getCurrentContext();
  if (!contextName) throw invalidKubeconfig('it has no current-context and none was given');
  if (kc.getContextObject(contextName) === null) {
    const known = kc.getContexts().map((context) => context.name);
    throw invalidKubeconfig(`context "${contextName}" is not in it (it has ${known.length === 0 ? 'none' : known.map((name) => `"${name}"`).join(', ')})`);
  }
  kc.setCurrentContext(contextName);
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw invalidKubeconfig(`context "${contextName}" names a cluster that is not in it`);
  const endpoint = cluster.server;
  try {
    new URL(endpoint);
  } catch (error) {
    throw invalidKubeconfig(`cluster server "${endpoint}" is not a URL`, error);
  }

  // The generated APIs take middleware per client, not per call; the call's signal reaches the
  // request through this client set's own async-local store.
  const callSignal = new AsyncLocalStorage<AbortSignal>();
  const signalMiddleware: Middleware = {
    pre: (context: RequestContext) => {
      const signal = callSignal.getStore();
      if (signal !== undefined) context.setSignal(signal);
      return Promise.resolve(context);
    },
    post: (response: ResponseContext) => Promise.resolve(response),
  };
  // The kubeconfig's authentication makes a new connection pool (an undici Agent) for every
  // request, so each request paid a new TCP and TLS handshake. Its headers (a token, an exec
  // plugin's) are applied per request as before; the pool is the first one made, kept for the
  // connection's life.
  let dispatcher: ReturnType<RequestContext['getDispatcher']>;
  const authentication: SecurityAuthentication = {
    getName: () => 'kubeconfig authentication, one connection pool',
    async applySecurityAuthentication(context: RequestContext) {
      await kc.applySecurityAuthentication(context);
      if (input.bearerToken !== undefined) {
        let token: string;
        try {
          token = await input.bearerToken();
        } catch (error) {
          const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          throw new KubeClusterError(`could not make a bearer token for ${endpoint}: ${why}`, { reason: 'Unauthorized', endpoint, cause: error });
        }
        context.setHeaderParam('Authorization', `Bearer ${token}`);
      }
      dispatcher ??= context.getDispatcher();
      if (dispatcher !== undefined) context.setDispatcher(dispatcher);
    },
  };
  const httpApi = requestsThroughDispatcher(createConfiguration().httpApi);
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(endpoint, {}),
    authMethods: { default: authentication },
    promiseMiddleware: [signalMiddleware],
    httpApi,
  });
  const objects = new DiscoveringObjectApi(configuration);
  /** Whether each kind found by discovery is namespaced, by `apiVersion/kind`. */
  const scopes = new Map<string, boolean>();
  const core = new CoreV1Api(configuration);
  const version = new VersionApi(configuration);

  /** A call through client-node's generated APIs: `callDirect`, its signal handed over through the async-local store. */
  function call<T>(action: string, options: KubeRequestOptions | undefined, run: () => Promise<T>): Promise<T> {
    return callDirect(action, options, (signal) => callSignal.run(signal, run));
  }

  const describe = (given: KubernetesObject | ObjectIdentity) => {
    const object = asObject(given);
    return `${object.kind ?? 'object'} ${object.metadata?.namespace === undefined ? '' : `${object.metadata.namespace}/`}${object.metadata?.name ?? ''}`;
  };

  /**
   * One object's request as client-node's object API makes it (the path from its cached discovery,
   * the same headers, authentication and connection pool), answered as the wire JSON it is: the
   * reads and applies a reconcile makes skip the conversion of every object into client-node's
   * models and back, and the per-call async-local signal. Errors are client-node's `ApiException`,
   * classified by `call` as before.
   */
  async function objectRequest<T>(method: 'GET' | 'PATCH', object: KubernetesObject, query: Record<string, string>, body: string | undefined, signal: AbortSignal): Promise<T> {
    const { apiVersion, kind } = object;
    if (apiVersion === undefined || kind === undefined) throw new Error('an object needs apiVersion and kind');
    const resource = await objects.kindResource(apiVersion, kind);
    if (resource === undefined) throw new Error(`Unrecognized API version and kind: ${apiVersion} ${kind}`);
    const name = object.metadata?.name;
    if (!name) throw new Error('Required spec property name is not set');
    const namespace = resource.namespaced ? object.metadata?.namespace || 'default' : undefined;
    const path = [apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`, ...(namespace === undefined ? [] : ['namespaces', encodeURIComponent(namespace)]), resource.name, encodeURIComponent(name)]
      .join('/')
      .toLowerCase();
    const request = configuration.baseServer.makeRequestContext(path, method === 'GET' ? HttpMethod.GET : HttpMethod.PATCH);
    request.setHeaderParam('Accept', 'application/json, */*;q=0.8');
    for (const [key, value] of Object.entries(query)) request.setQueryParam(key, value);
    if (body !== undefined) {
      request.setHeaderParam('Content-Type', PatchStrategy.ServerSideApply);
      request.setBody(body);
    }
    await authentication.applySecurityAuthentication(request);
    request.setSignal(signal);
    const response = await httpApi.send(request).toPromise();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return JSON.parse(await response.body.text()) as T;
    throw new ApiException(response.httpStatusCode, 'Unsuccessful HTTP Request', await response.getBodyAsAny(), response.headers);
  }

  /**
   * Runs one request with its deadline (`requestTimeoutMs`) and the caller's signal as one signal,
   * and classifies its failure; the caller's own cancellation is passed on as it came, not as a
   * cluster failure.
   */
  async function callDirect<T>(action: string, options: KubeRequestOptions | undefined, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException(`no answer in ${requestTimeoutMs} ms`, 'TimeoutError')), requestTimeoutMs);
    const caller = options?.signal;
    const passOn = () => deadline.abort(caller?.reason);
    if (caller?.aborted) passOn();
    else caller?.addEventListener('abort', passOn, { once: true });
    try {
      return await run(deadline.signal);
    } catch (error) {
      if (caller?.aborted) throw caller.reason;
      throw classifyKubeError(error, { endpoint, action });
    } finally {
      clearTimeout(timer);
      caller?.removeEventListener('abort', passOn);
    }
  }

  async function read<T extends KubernetesObject>(object: T, options?: KubeRequestOptions): Promise<T | undefined> {
    try {
      return await callDirect(`read ${describe(object)}`, options, (signal) => objectRequest<T>('GET', object, {}, undefined, signal));
    } catch (error) {
      if (error instanceof KubeClusterError && error.status === 404) return undefined;
      throw error;
    }
  }

  return {
    uid: input.uid,
    endpoint,
    context: contextName,
    serverVersion: (options) =>
      call('GET /version', options, async () => {
        const info = await version.getCode();
        return { gitVersion: info.gitVersion, major: info.major, minor: info.minor, ...(info.platform ? { platform: info.platform } : {}) };
      }),
    listNodes: (options) =>
      call('list nodes', options, async () => {
        const list = await core.listNode({});
        return list.items.map((node) => ({
          name: node.metadata?.name ?? '',
          ready: (node.status?.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True'),
        }));
      }),
    apply: (object, options) =>
      callDirect(`apply ${describe(object)}`, options, (signal) =>
        objectRequest('PATCH', object, { fieldManager: options.fieldManager, force: 'true' }, JSON.stringify(object), signal),
      ),
    read,
    delete: async (object, options) => {
      try {
        await call(`delete ${describe(object)}`, options, () => objects.delete(asObject(object), undefined, undefined, undefined, undefined, 'Background'));
        return true;
      } catch (error) {
        if (error instanceof KubeClusterError && error.status === 404) return false;
        throw error;
      }
    },
    isNamespaced: async (apiVersion, kind, options) => {
      // Asked for every object of every reconcile: a kind's scope, once known, is answered from here
      // (it cannot change while the kind exists), without a deadline timer and signal per call.
      const known = scopes.get(`${apiVersion}/${kind}`);
      if (known !== undefined) return known;
      try {
        const resource = await call(`discover ${apiVersion} ${kind}`, options, () => objects.kindResource(apiVersion, kind));
        if (resource !== undefined) scopes.set(`${apiVersion}/${kind}`, resource.namespaced);
        return resource === undefined ? undefined : resource.namespaced;
      } catch (error) {
        // A group-version the cluster does not serve at all answers 404.
        if (error instanceof KubeClusterError && error.status === 404) return undefined;
        throw error;
      }
    },
    list: (apiVersion, kind, options) =>
      call(`list ${kind}${options?.namespace === undefined ? '' : ` in ${options.namespace}`}${options?.labelSelector ? ` (${options.labelSelector})` : ''}`, options, async () => {
        const items: KubernetesObject[] = [];
        let continueToken: string | undefined;
        do {
          const page = await objects.list(apiVersion, kind, options?.namespace, undefined, undefined, undefined, undefined, options?.labelSelector, LIST_PAGE_SIZE, continueToken);
          // List items carry neither apiVersion nor kind on the wire; callers expect whole objects.
          for (const item of page.items) items.push({ ...item, apiVersion, kind });
          continueToken = page.metadata?._continue || undefined;
        } while (continueToken !== undefined);
        return items as never;
      }),
    ensureNamespace: async (name, options) => {
      const identity = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
      if (options.likelyNew !== true) {
        const existing = await read(identity, options);
        if (existing !== undefined) return { namespace: existing, created: false };
      }
      try {
        const created = await call(`create Namespace ${name}`, options, () =>
          objects.create({ ...identity, metadata: { name, ...(options.labels ? { labels: options.labels } : {}) } }, undefined, undefined, options.fieldManager),
        );
        return { namespace: created, created: true };
      } catch (error) {
        if (!(error instanceof KubeClusterError && error.status === 409)) throw error;
        const theirs = await read(identity, options);
        if (theirs === undefined) throw error;
        return { namespace: theirs, created: false };
      }
    },
  };
}

/** An identity in the shape the generated object API takes. */
function asObject(object: KubernetesObject | ObjectIdentity): KubernetesObject {
  if ('metadata' in object) return object;
  const { apiVersion, kind, namespace, name } = object as ObjectIdentity;
  return { apiVersion, kind, metadata: { name, ...(namespace === undefined ? {} : { namespace }) } };
}
