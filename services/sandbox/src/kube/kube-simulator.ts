/**
 * The Kubernetes half of the sandbox: any number of simulated API servers behind one handler
 * (`/k8s/{cluster}/…`), each with its own bearer token, storage, watches and simulated
 * controllers, plus kubeconfig generation and plain-JSON snapshots for persistence.
 */
import { randomBytes } from 'node:crypto';
import { InputError, NotFoundError } from '@tugboat/resource-model';
import pino, { type Logger } from 'pino';
import type { SandboxCounters } from '../counters.js';
import type { FaultInjector } from '../fault-injector.js';
import type { SimClock } from '../sim-clock.js';
import { createBuiltinSchemas } from './builtin-schemas.js';
import { createCertManagerSimulation } from './cert-manager-simulation.js';
import { createExternalSecretsSimulation } from './external-secrets-simulation.js';
import { createSecretsManagerReader, type SecretsManagerReader } from './secrets-manager-reader.js';
import { createRoute53Dns01Solver, type AwsCredentials, type Dns01Solver } from './dns01-solver.js';
import { createGatewaySimulation } from './gateway-simulation.js';
import { createKubeCluster, type ClusterSnapshot, type KubeCluster } from './kube-cluster.js';
import { createPrometheusOperatorSimulation, prometheusTargets, type PrometheusTargets } from './prometheus-operator-simulation.js';
import { createKubeHandler, type HandlerCluster, type KubeRequestHandler } from './kube-handler.js';
import { renderKubeconfig } from './kubeconfig.js';
import { createTlsCredentials, tlsCredentialsUsable, type TlsCredentials } from './tls-credentials.js';
import { BUILT_IN_RESOURCES, type ResourceType } from './resource-table.js';
import type { SimulationRuntime } from './simulation-runtime.js';
import { createWorkloadSimulation, type WorkloadSimulation, type WorkloadTimings } from './workload-simulation.js';

export interface SimulatedNode {
  name: string;
  labels?: Record<string, string>;
}

export interface AddClusterOptions {
  /** Nodes to register; when given again for an existing cluster, the node set is synced to it. Default: one node `<cluster>-node-1`. */
  nodes?: SimulatedNode[];
  /** Bearer token clients must present; generated when absent. */
  token?: string;
  /** The Kubernetes `major.minor` its `/version` reports (an EKS cluster's control plane version). */
  version?: string;
}

export interface ClusterInfo {
  name: string;
  token: string;
  nodes: string[];
  resourceVersion: number;
}

export interface KubeSimulatorSnapshot {
  clusters: ClusterSnapshot[];
  /** Kept so that kubeconfigs written before a restart still trust the server. */
  tls?: TlsCredentials;
}

export interface KubeSimulator {
  addCluster(name: string, options?: AddClusterOptions): ClusterInfo;
  removeCluster(name: string): boolean;
  listClusters(): ClusterInfo[];
  /** Kubeconfig YAML; `baseUrl` is the sandbox's root URL (the handler is mounted under `/k8s`). */
  kubeconfig(baseUrl: string, names?: string[]): string;
  /**
   * With the `tls` option: the CA, certificate and key to serve the handler over HTTPS with
   * (`https.createServer({ key, cert }, …)`); kubeconfigs for an `https:` base URL trust the CA.
   * Read it after `restore`, which brings back the saved credentials.
   */
  tlsCredentials(): TlsCredentials | undefined;
  /** Node request handler for the `/k8s` mount (works bare, or under express with `app.use('/k8s', handler)`). */
  handler: KubeRequestHandler;
  snapshot(): KubeSimulatorSnapshot;
  restore(data: KubeSimulatorSnapshot): void;
  /** Removes every cluster (the server adds `local` again). */
  reset(): void;
  /**
   * Re-plans every pending simulated duration under the clock's current scale: call it after
   * `SimClock.setScale`, or timers set at the old scale (a pod due in 5 s at scale 1) keep it.
   */
  rescheduleTimers(): void;
  /**
   * The ServiceMonitors the Prometheus `namespace/name` of a cluster selects and the targets they
   * give it (see `prometheus-operator-simulation.ts`); undefined when the cluster or the Prometheus
   * does not exist.
   */
  prometheusTargets(cluster: string, namespace: string, name: string): PrometheusTargets | undefined;
}

export interface KubeSimulatorOptions {
  clock: SimClock;
  faults: FaultInjector;
  counters: SandboxCounters;
  logger?: Logger;
  /** Mount path of `handler`. Default `/k8s`. */
  basePath?: string;
  /** Change events each cluster keeps for watch resumption. Default 2000. */
  watchHistorySize?: number;
  /** Real milliseconds between watch bookmarks (client-node gives up after 30 s of silence). Default 10 s. */
  bookmarkIntervalMs?: number;
  /**
   * Let requests without an Authorization header in (default true): kubectl sends no bearer token
   * over plain HTTP. A wrong token is refused with 401 either way.
   */
  anonymousAccess?: boolean;
  /**
   * Accepts bearer tokens other than a cluster's own: the sandbox can pass a check of EKS-style
   * `k8s-aws-v1.…` tokens here, so clients that authenticate as they would against EKS get in.
   */
  verifyToken?: (clusterName: string, token: string) => boolean;
  /**
   * Make a CA and a server certificate (for `hosts`, default localhost, 127.0.0.1 and ::1) so the
   * server can serve the handler over HTTPS; kubectl only sends tokens to an `https` server.
   */
  tls?: boolean | { hosts?: string[] };
  /** Simulated durations of the controllers (Deployment availability, Job run time …). */
  timings?: Partial<WorkloadTimings>;
  /**
   * The sandbox's own AWS endpoint (its URL, known once it listens): the cert-manager simulation
   * solves DNS-01 challenges against its Route 53. Without it, those challenges fail saying so.
   */
  awsEndpoint?: () => string | undefined;
  /** What a ClusterIssuer's route53 solver uses when it names no access key (cert-manager's ambient credentials). */
  awsAmbientCredentials?: AwsCredentials;
  /** Replaces the Route 53 DNS-01 solver (tests of the certificate state machine). */
  dns01Solver?: Dns01Solver;
  /** Replaces the External Secrets simulation's Secrets Manager client (by default the sandbox's own, at `awsEndpoint`). */
  secretsManagerReader?: SecretsManagerReader;
}

interface ClusterEntry extends HandlerCluster {
  simulation: WorkloadSimulation;
}

function nodeStatus(since: string, index: number) {
  const condition = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: since, lastTransitionTime: since });
  const resources = { cpu: '4', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' };
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
    ],
    addresses: [{ type: 'InternalIP', address: `10.0.${Math.floor(index / 250)}.${(index % 250) + 10}` }],
    nodeInfo: {
      kubeletVersion: 'v1.32.0',
      containerRuntimeVersion: 'containerd://1.7.0',
      kernelVersion: '6.1.0',
      osImage: 'Tugboat sandbox',
      operatingSystem: 'linux',
      architecture: 'amd64',
      machineID: '',
      systemUUID: '',
      bootID: '',
      kubeProxyVersion: '',
    },
  };
}

const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function createKubeSimulator(options: KubeSimulatorOptions): KubeSimulator {
  const logger = (options.logger ?? pino({ level: 'silent' })).child({ component: 'kube-simulator' });
  const basePath = options.basePath ?? '/k8s';
  const clusters = new Map<string, ClusterEntry>();
  let tls: TlsCredentials | undefined =
    options.tls === undefined || options.tls === false ? undefined : createTlsCredentials(options.tls === true ? undefined : options.tls.hosts);

  const nodeType = BUILT_IN_RESOURCES.find((type) => type.group === '' && type.kind === 'Node') as ResourceType;
  const namespaceType = BUILT_IN_RESOURCES.find((type) => type.group === '' && type.kind === 'Namespace') as ResourceType;
  const serviceType = BUILT_IN_RESOURCES.find((type) => type.group === '' && type.kind === 'Service') as ResourceType;
  const storageClassType = BUILT_IN_RESOURCES.find((type) => type.group === 'storage.k8s.io' && type.kind === 'StorageClass') as ResourceType;

  // Envoy Gateway, cert-manager, External Secrets and the Prometheus Operator act in every cluster once installed there (their CRDs and Deployments exist).
  const dns01Solver = options.dns01Solver ?? createRoute53Dns01Solver({ endpoint: () => options.awsEndpoint?.() });
  const secretsManagerReader = options.secretsManagerReader ?? createSecretsManagerReader({ endpoint: () => options.awsEndpoint?.() });
  const addOns = [
    (runtime: SimulationRuntime) => createGatewaySimulation(runtime),
    (runtime: SimulationRuntime) => createCertManagerSimulation(runtime, { solver: dns01Solver, ambientCredentials: options.awsAmbientCredentials }),
    (runtime: SimulationRuntime) => createExternalSecretsSimulation(runtime, { reader: secretsManagerReader, ambientCredentials: options.awsAmbientCredentials }),
    (runtime: SimulationRuntime) => createPrometheusOperatorSimulation(runtime),
  ];

  function start(cluster: KubeCluster): ClusterEntry {
    const simulation = createWorkloadSimulation({ cluster, clock: options.clock, logger, timings: options.timings, addOns });
    const entry: ClusterEntry = { cluster, watches: new Set(), simulation };
    clusters.set(cluster.name, entry);
    return entry;
  }

  function syncNodes(cluster: KubeCluster, nodes: SimulatedNode[]): void {
    const wanted = new Set(nodes.map((node) => node.name));
    let index = cluster.list(nodeType).length;
    for (const node of nodes) {
      const existing = cluster.get(nodeType, undefined, node.name);
      const labels = { 'kubernetes.io/hostname': node.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...node.labels };
      if (existing) continue;
      const created = cluster.create(nodeType, undefined, { metadata: { name: node.name, labels }, spec: {} }, { manager: 'kubelet' });
      cluster.update(nodeType, undefined, node.name, { ...created, status: nodeStatus(created.metadata.creationTimestamp, index) }, { manager: 'kubelet', subresource: 'status' });
      index += 1;
    }
    for (const node of cluster.list(nodeType)) {
      if (!wanted.has(node.metadata.name)) cluster.delete(nodeType, undefined, node.metadata.name);
    }
  }

  function info(entry: ClusterEntry): ClusterInfo {
    return {
      name: entry.cluster.name,
      token: entry.cluster.token,
      nodes: entry.cluster.list(nodeType).map((node) => node.metadata.name),
      resourceVersion: entry.cluster.currentResourceVersion(),
    };
  }

  function stop(entry: ClusterEntry): void {
    for (const end of [...entry.watches]) end();
    entry.simulation.stop();
    entry.cluster.close();
    clusters.delete(entry.cluster.name);
  }

  // One set of schemas for every cluster: definitions are read on first use and shared.
  const schemas = createBuiltinSchemas();

  let lastKubeconfig: { key: string; text: string } | undefined;

  const simulator: KubeSimulator = {
    addCluster(name, addOptions = {}) {
      if (!CLUSTER_NAME.test(name) || name.length > 63) {
        throw new InputError(`name: ${JSON.stringify(name)} must be a DNS label (at most 63 lower-case letters, digits and '-')`, {
          status: 422,
          details: [{ path: 'name', rule: 'dns-label' }],
        });
      }
      const existing = clusters.get(name);
      if (existing) {
        if (addOptions.token !== undefined) existing.cluster.token = addOptions.token;
        if (addOptions.version !== undefined) existing.cluster.serverVersion = addOptions.version;
        if (addOptions.nodes !== undefined) syncNodes(existing.cluster, addOptions.nodes);
        return info(existing);
      }
      const cluster = createKubeCluster({
        name,
        token: addOptions.token ?? randomBytes(24).toString('base64url'),
        counters: options.counters,
        logger,
        historySize: options.watchHistorySize,
        now: options.clock.now,
        schemas,
      });
      if (addOptions.version !== undefined) cluster.serverVersion = addOptions.version;
      const entry = start(cluster);
      for (const namespace of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
        cluster.create(namespaceType, undefined, { metadata: { name: namespace } }, { manager: 'kube-apiserver' });
      }
      cluster.create(
        serviceType,
        'default',
        { metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } }, spec: { ports: [{ name: 'https', port: 443, targetPort: 6443 }] } },
        { manager: 'kube-apiserver' },
      );
      cluster.create(
        storageClassType,
        undefined,
        { metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'sandbox.tugboat.dev/local', reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate' },
        { manager: 'kube-apiserver' },
      );
      syncNodes(cluster, addOptions.nodes ?? [{ name: `${name}-node-1` }]);
      logger.info({ cluster: name }, 'kube cluster added');
      return info(entry);
    },
    removeCluster(name) {
      const entry = clusters.get(name);
      if (!entry) return false;
      stop(entry);
      logger.info({ cluster: name }, 'kube cluster removed');
      return true;
    },
    listClusters: () => [...clusters.values()].map(info),
    kubeconfig(baseUrl, names) {
      const selected = names ?? [...clusters.keys()];
      const missing = selected.filter((name) => !clusters.has(name));
      if (missing.length > 0) {
        throw new NotFoundError(`no simulated cluster named ${missing.map((name) => JSON.stringify(name)).join(', ')}`, {
          details: missing.map((name) => ({ path: `names[${selected.indexOf(name)}]`, rule: 'exists' })),
        });
      }
      const entries = selected.map((name) => ({ name, token: (clusters.get(name) as ClusterEntry).cluster.token }));
      // The sandbox asks for its kubeconfig after every change to its state, and it seldom changes:
      // the last text is kept and rendered again only when what it is made of differs.
      const key = JSON.stringify([baseUrl, tls?.ca ?? null, entries.map((entry) => [entry.name, entry.token])]);
      if (key !== lastKubeconfig?.key) lastKubeconfig = { key, text: renderKubeconfig(baseUrl, entries, basePath, tls?.ca) };
      return lastKubeconfig.text;
    },
    tlsCredentials: () => tls,
    handler: createKubeHandler({
      resolve: (name) => clusters.get(name),
      faults: options.faults,
      logger,
      basePath,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 10_000,
      now: options.clock.now,
      anonymousAccess: options.anonymousAccess ?? true,
      verifyToken: options.verifyToken,
      schemas,
    }),
    snapshot: () => ({ clusters: [...clusters.values()].map((entry) => entry.cluster.snapshot()), ...(tls ? { tls } : {}) }),
    restore(data) {
      simulator.reset();
      if (tls !== undefined && data.tls !== undefined && tlsCredentialsUsable(data.tls)) tls = data.tls;
      for (const saved of data.clusters) {
        const cluster = createKubeCluster({
          name: saved.name,
          token: saved.token,
          counters: options.counters,
          logger,
          historySize: options.watchHistorySize,
          now: options.clock.now,
          restoreFrom: saved,
          schemas,
        });
        start(cluster).simulation.resyncAll();
      }
    },
    reset() {
      for (const entry of [...clusters.values()]) stop(entry);
    },
    rescheduleTimers() {
      for (const entry of clusters.values()) entry.simulation.resyncAll();
    },
    prometheusTargets(name, namespace, prometheus) {
      const entry = clusters.get(name);
      return entry === undefined ? undefined : prometheusTargets(entry.cluster, namespace, prometheus);
    },
  };
  return simulator;
}
