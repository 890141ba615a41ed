import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import {
  CoreV1Api,
  createConfiguration,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  VersionApi,
  type KubernetesObject,
  type Middleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { classifyKubeError, KubeClusterError } from './kube-cluster-error.js';

export interface ClusterConnectionInput {
  /** Identity of the cluster object (its uid): one client set per cluster. */
  uid: string;
  kubeconfig: string;
  /** A context of the kubeconfig; its current-context when absent. */
  context?: string;
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
  delete(object: KubernetesObject, options?: KubeRequestOptions): Promise<boolean>;
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
      const fingerprint = createHash('sha256').update(input.kubeconfig).update('\0').update(input.context ?? '').digest('hex');
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
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(endpoint, {}),
    authMethods: { default: kc },
    promiseMiddleware: [signalMiddleware],
  });
  const objects = new KubernetesObjectApi(configuration);
  const core = new CoreV1Api(configuration);
  const version = new VersionApi(configuration);

  async function call<T>(action: string, options: KubeRequestOptions | undefined, run: () => Promise<T>): Promise<T> {
    const timeout = AbortSignal.timeout(requestTimeoutMs);
    const signal = options?.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    try {
      return await callSignal.run(signal, run);
    } catch (error) {
      // Our caller's own cancellation is not a cluster failure: pass it on as it came.
      if (options?.signal?.aborted) throw options.signal.reason;
      throw classifyKubeError(error, { endpoint, action });
    }
  }

  const describe = (object: KubernetesObject) =>
    `${object.kind ?? 'object'} ${object.metadata?.namespace === undefined ? '' : `${object.metadata.namespace}/`}${object.metadata?.name ?? ''}`;

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
      call(`apply ${describe(object)}`, options, () =>
        objects.patch(object, undefined, undefined, options.fieldManager, true, PatchStrategy.ServerSideApply),
      ),
    read: async (object, options) => {
      try {
        return await call(`read ${describe(object)}`, options, () => objects.read(object as KubernetesObject & { metadata: { name: string } }) as Promise<typeof object>);
      } catch (error) {
        if (error instanceof KubeClusterError && error.status === 404) return undefined;
        throw error;
      }
    },
    delete: async (object, options) => {
      try {
        await call(`delete ${describe(object)}`, options, () => objects.delete(object, undefined, undefined, undefined, undefined, 'Background'));
        return true;
      } catch (error) {
        if (error instanceof KubeClusterError && error.status === 404) return false;
        throw error;
      }
    },
  };
}
