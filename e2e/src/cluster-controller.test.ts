/**
 * The cluster-controller end to end: the real API, the sandbox and the controller as processes on
 * real Postgres and NATS. A ClusterInstance with the sandbox's kubeconfig becomes Ready with its
 * server version and ready nodes; the base configuration is on the cluster (checked with kubectl);
 * a sandbox fault makes the cluster unreachable → Degraded with the reason, cleared → Ready again
 * without touching the object; deletion is refused while a workload references it, then removes
 * the base configuration and the row.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createApiClient, type ApiClient } from '@tugboat/api-client';
import { isErrorCode, type Condition, type Resource } from '@tugboat/resource-model';
import { freePort, NODE_TS, startApiProcess, startChild, waitForReady, waitUntil, type ApiProcess, type Child } from './harness/cli-processes.js';

const run = promisify(execFile);

interface ClusterStatusView {
  phase?: string;
  conditions?: Condition[];
  outputs?: { endpoint?: string; serverVersion?: string; readyNodes?: number; nodes?: number };
}

describe('cluster-controller (API, sandbox and controller as processes)', () => {
  let api: ApiProcess;
  let admin: ApiClient;
  let sandbox: Child;
  let sandboxUrl: string;
  let controller: Child;
  let stateDir: string;
  let kubeconfigFile: string;

  const cluster = { kind: 'ClusterInstance', name: 'local' };
  const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', kubeconfigFile, ...args]);
  const conditionOf = (obj: Resource | undefined, type: string) => (obj?.status as ClusterStatusView | undefined)?.conditions?.find((c) => c.type === type);

  async function clusterWhen(what: string, test: (status: ClusterStatusView, obj: Resource) => boolean, timeoutMs = 20_000): Promise<Resource> {
    return waitUntil(
      async () => {
        const obj = await admin.get(cluster);
        return obj !== undefined && test(obj.status as ClusterStatusView, obj) ? obj : undefined;
      },
      `${what} (controller output:\n${controller?.output().slice(-3000)})`,
      timeoutMs,
    );
  }

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'cluster-controller-e2e-'));
    const sandboxPort = await freePort();
    sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    sandbox = startChild(NODE_TS[0], [...NODE_TS.slice(1), 'services/sandbox/src/main.ts', '--port', String(sandboxPort), '--state-dir', stateDir], {
      ...process.env,
      LOG_LEVEL: 'warn',
    });
    api = await startApiProcess({ name: 'clusterctl', projects: ['team-a'] });
    await waitForReady(`${sandboxUrl}/_sandbox/healthz`, sandbox);
    kubeconfigFile = join(stateDir, 'kubeconfig');
    admin = createApiClient({ baseUrl: api.url, token: api.adminToken });
    const token = await admin.createToken({ name: 'cluster-controller', type: 'controller', controller: 'cluster-controller' });
    const healthPort = await freePort();
    controller = startChild(NODE_TS[0], [...NODE_TS.slice(1), 'services/cluster-controller/src/main.ts'], {
      ...process.env,
      TUGBOAT_URL: api.url,
      TUGBOAT_TOKEN: token.token,
      TUGBOAT_NATS_PREFIX: api.prefix,
      NATS_URL: process.env['TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222',
      PORT: String(healthPort),
      LOG_LEVEL: 'warn',
      // Short periods so recovery shows within the test's bounds; the defaults are 30 s and 5 s.
      CLUSTER_HEALTH_CHECK_MS: '1000',
      CLUSTER_DEGRADED_RETRY_MS: '500',
      KUBE_REQUEST_TIMEOUT_MS: '5000',
    });
    await waitForReady(`http://127.0.0.1:${healthPort}/readyz`, controller);
  }, 90_000);

  afterAll(async () => {
    for (const child of [controller, sandbox]) {
      if (child !== undefined && child.process.exitCode === null && child.process.signalCode === null) {
        child.process.kill('SIGTERM');
        await child.exited;
      }
    }
    await api?.close();
    await rm(stateDir, { recursive: true, force: true });
  }, 60_000);

  it('brings the sandbox cluster Ready, survives it going unreachable, and cleans up on delete', async () => {
    const kubeconfig = await readFile(kubeconfigFile, 'utf8');
    const bundle = [
      { kind: 'ClusterDefinition', metadata: { name: 'local' }, spec: { provider: 'kubeconfig', description: 'the sandbox' } },
      { kind: 'ClusterInstance', metadata: { name: 'local' }, spec: { definitionRef: { name: 'local' }, kubeconfig, defaultFor: ['*'] } },
    ];
    await admin.apply(bundle);

    // Ready, with what the cluster said about itself.
    const ready = await clusterWhen('ClusterInstance Ready', (status) => status.phase === 'Ready');
    const outputs = (ready.status as ClusterStatusView).outputs!;
    expect(outputs.serverVersion).toMatch(/^v1\.\d+/);
    expect(outputs.readyNodes).toBeGreaterThanOrEqual(1);
    expect(outputs.nodes).toBe(outputs.readyNodes);
    expect(outputs.endpoint).toBe(`${sandboxUrl}/k8s/local`);
    expect(conditionOf(ready, 'Connected')).toMatchObject({ status: 'True', reason: 'Connected' });
    expect(conditionOf(ready, 'Ready')).toMatchObject({ status: 'True' });
    // What `tug up` does on every start: the same bundle again (secret field included) changes nothing.
    expect((await admin.apply(bundle)).results.map((result) => result.action)).toEqual(['unchanged', 'unchanged']);

    // The base configuration, seen by an independent client.
    const ns = JSON.parse((await kubectl('get', 'ns', 'tugboat-system', '-o', 'json')).stdout) as { metadata: { labels: Record<string, string> } };
    expect(ns.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'tugboat', 'tugboat.dev/cluster': 'local' });
    await kubectl('get', 'serviceaccount', 'tugboat', '-n', 'tugboat-system');
    await kubectl('get', 'clusterrole', 'tugboat-system:tugboat');
    const binding = JSON.parse((await kubectl('get', 'clusterrolebinding', 'tugboat-system:tugboat', '-o', 'json')).stdout) as { subjects: unknown[] };
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'tugboat', namespace: 'tugboat-system' }]);

    // Unreachable: every Kubernetes call of the sandbox answers 503 until the fault is cleared.
    const fault = await fetch(`${sandboxUrl}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'kube', errorRate: 1, error: { code: 'ServiceUnavailable', status: 503, message: 'apiserver is down (injected)' } }),
    });
    expect(fault.ok).toBe(true);
    const generation = ready.metadata.generation;
    const degraded = await clusterWhen('ClusterInstance Degraded', (status) => status.phase === 'Degraded');
    expect(conditionOf(degraded, 'Connected')).toMatchObject({ status: 'False', reason: 'Unreachable' });
    const said = conditionOf(degraded, 'Connected')!.message!;
    expect(said).toContain(`${sandboxUrl}/k8s/local`); // which endpoint
    expect(said).toContain('apiserver is down (injected)'); // what failed
    expect(conditionOf(degraded, 'Ready')).toMatchObject({ status: 'False', reason: 'Unreachable' });

    expect((await fetch(`${sandboxUrl}/_sandbox/faults`, { method: 'DELETE' })).ok).toBe(true);
    const back = await clusterWhen('ClusterInstance Ready again', (status) => status.phase === 'Ready');
    expect(back.metadata.generation).toBe(generation); // nobody touched the object
    expect(conditionOf(back, 'Connected')).toMatchObject({ status: 'True' });

    // A workload on the cluster blocks its deletion (409 naming it).
    await admin.apply([
      { kind: 'WorkloadDefinition', metadata: { name: 'web' }, spec: { container: { image: 'nginx:1.27' } } },
      { kind: 'WorkloadInstance', metadata: { name: 'web', project: 'team-a' }, spec: { definitionRef: { name: 'web' }, clusterRef: { name: 'local' } } },
    ]);
    const refused = await admin.delete(cluster).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isErrorCode(refused, 'Conflict')).toBe(true);
    expect((refused as Error).message).toContain('web');
    // No workload-controller runs here: the workload's own finalizer is removed by hand.
    await admin.delete({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' });
    await admin.removeFinalizer({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' }, 'workload-controller', { force: true });

    // Delete: the base configuration leaves the cluster, then the row goes.
    await admin.delete(cluster);
    await waitUntil(async () => (await admin.get(cluster)) === undefined, 'ClusterInstance row gone', 20_000);
    // The finalizer ran before the row went: the role and its binding are gone already.
    const left = await kubectl('get', 'clusterrole,clusterrolebinding', '-l', 'app.kubernetes.io/managed-by=tugboat', '-o', 'name');
    expect(left.stdout.trim()).toBe('');
    // A namespace may take a moment to finish terminating.
    await waitUntil(
      async () => (await kubectl('get', 'ns', 'tugboat-system').then(() => false, (error: { stderr?: string }) => /NotFound|not found/.test(error.stderr ?? ''))),
      'namespace tugboat-system gone',
      20_000,
    );
  }, 90_000);
});
