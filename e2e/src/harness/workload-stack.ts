/**
 * What a workload e2e test runs against: the sandbox (one Kubernetes cluster, in scaled time), the
 * real API, the cluster-controller with the sandbox's cluster registered and Ready, and workload-
 * controllers started and killed by the test. `managedObjects` reads the cluster with `kubectl`,
 * an independent client.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createApiClient, type ApiClient } from '@tugboat/api-client';
import { controllerProcessEnv, freePort, NODE_TS, startApiProcess, startChild, waitForReady, waitUntil, type ApiProcess, type Child } from './cli-processes.js';

const run = promisify(execFile);

export interface ClusterObject {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  /** `tugboat.dev/instance` label. */
  instance: string;
}

export interface WorkloadStack {
  api: ApiProcess;
  admin: ApiClient;
  sandboxUrl: string;
  kubeconfigFile: string;
  kubectl(...args: string[]): Promise<string>;
  /** Starts a workload-controller; `env` adds to (or overrides) its environment. */
  startWorkloadController(env?: Record<string, string>): Promise<Child>;
  /** Starts a workload-controller that is expected to die (a kill point): does not wait for it to be ready. */
  spawnWorkloadController(env?: Record<string, string>): Promise<Child>;
  /** The objects Tugboat's workloads made (not their pods or ReplicaSets), sorted, read with kubectl. */
  managedObjects(kinds?: string): Promise<ClusterObject[]>;
  /** Namespaces that carry Tugboat's owner label. */
  ownedNamespaces(): Promise<string[]>;
  close(): Promise<void>;
}

export const MANAGED_KINDS = 'deployments,services,serviceaccounts,configmaps';

export async function startWorkloadStack(options: { name: string; timeScale?: number; workloadEnv?: Record<string, string>; projects?: readonly string[] }): Promise<WorkloadStack> {
  const stateDir = await mkdtemp(join(tmpdir(), `${options.name}-`));
  const sandboxPort = await freePort();
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const children: Child[] = [];
  const sandbox = startChild(
    NODE_TS[0],
    [...NODE_TS.slice(1), 'services/sandbox/src/main.ts', '--port', String(sandboxPort), '--state-dir', stateDir, '--time-scale', String(options.timeScale ?? 20)],
    { ...process.env, LOG_LEVEL: 'warn' },
  );
  children.push(sandbox);
  const api = await startApiProcess({ name: options.name, ...(options.projects ? { projects: options.projects } : {}) });
  await waitForReady(`${sandboxUrl}/_sandbox/healthz`, sandbox);
  const kubeconfigFile = join(stateDir, 'kubeconfig');
  const admin = createApiClient({ baseUrl: api.url, token: api.adminToken });

  const controllerEnv = (controller: string) => controllerProcessEnv(api, admin, controller, children.length);


  const cluster = await controllerEnv('cluster-controller');
  const clusterController = startChild(NODE_TS[0], [...NODE_TS.slice(1), 'services/cluster-controller/src/main.ts'], {
    ...cluster.env,
    CLUSTER_HEALTH_CHECK_MS: '1000',
    CLUSTER_DEGRADED_RETRY_MS: '500',
    KUBE_REQUEST_TIMEOUT_MS: '5000',
  });
  children.push(clusterController);
  await waitForReady(`http://127.0.0.1:${cluster.port}/readyz`, clusterController);
  const kubeconfig = await readFile(kubeconfigFile, 'utf8');
  await admin.apply([
    { kind: 'ClusterDefinition', metadata: { name: 'local' }, spec: { provider: 'kubeconfig' } },
    { kind: 'ClusterInstance', metadata: { name: 'local' }, spec: { definitionRef: { name: 'local' }, kubeconfig, defaultFor: ['*'] } },
  ]);
  await waitUntil(async () => (await admin.get({ kind: 'ClusterInstance', name: 'local' }))?.status?.phase === 'Ready', 'the sandbox cluster Ready', 30_000);

  const healthPorts = new Map<Child, number>();
  const kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', kubeconfigFile, ...args], { maxBuffer: 64 * 1024 * 1024 })).stdout;

  async function spawnWorkloadController(env: Record<string, string> = {}): Promise<Child> {
    const started = await controllerEnv('workload-controller');
    const child = startChild(NODE_TS[0], [...NODE_TS.slice(1), 'services/workload-controller/src/main.ts'], { ...started.env, ...options.workloadEnv, ...env });
    children.push(child);
    healthPorts.set(child, started.port);
    return child;
  }

  return {
    api,
    admin,
    sandboxUrl,
    kubeconfigFile,
    kubectl,
    spawnWorkloadController,
    async startWorkloadController(env = {}) {
      const child = await spawnWorkloadController(env);
      await waitForReady(`http://127.0.0.1:${healthPorts.get(child)!}/readyz`, child);
      return child;
    },
    async managedObjects(kinds = MANAGED_KINDS) {
      const list = JSON.parse(await kubectl('get', kinds, '-A', '-l', 'app.kubernetes.io/managed-by=tugboat,tugboat.dev/instance', '-o', 'json')) as {
        items: Array<{ kind: string; metadata: { namespace?: string; name: string; uid: string; labels?: Record<string, string> } }>;
      };
      return list.items
        .map((item) => ({
          kind: item.kind,
          namespace: item.metadata.namespace ?? '',
          name: item.metadata.name,
          uid: item.metadata.uid,
          instance: item.metadata.labels?.['tugboat.dev/instance'] ?? '',
        }))
        .sort((a, b) => `${a.kind}/${a.namespace}/${a.name}`.localeCompare(`${b.kind}/${b.namespace}/${b.name}`));
    },
    async ownedNamespaces() {
      const out = await kubectl('get', 'namespaces', '-l', 'tugboat.dev/namespace-owner', '-o', 'jsonpath={.items[*].metadata.name}');
      return out.split(/\s+/).filter((name) => name.length > 0).sort();
    },
    async close() {
      for (const child of children.reverse()) {
        if (child.process.exitCode === null && child.process.signalCode === null) {
          child.process.kill('SIGTERM');
          await child.exited;
        }
      }
      await api.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
