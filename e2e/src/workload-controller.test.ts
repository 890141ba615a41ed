/**
 * The workload-controller end to end: the real API, the sandbox (fast simulated time), the
 * cluster-controller and the workload-controller as processes on real Postgres and NATS; kubectl
 * checks the cluster. An app becomes Ready; an image change rolls out; a replicas change is applied;
 * a field removed from a manifest leaves the cluster and an object removed from the definition is
 * pruned; a failing image turns the instance Degraded with the reason; an unreachable cluster turns
 * it Degraded and it comes back by itself; a Deployment deleted by hand is restored by the resync;
 * deleting the instances removes their objects and namespaces.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ApiClient } from '@tugboat/api-client';
import { isErrorCode, type Condition, type Resource } from '@tugboat/resource-model';
import { waitUntil, type Child } from './harness/cli-processes.js';
import { startWorkloadStack, type WorkloadStack } from './harness/workload-stack.js';

const run = promisify(execFile);

interface ObjectRow {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  ready: boolean;
  reason?: string;
  message?: string;
}

interface WorkloadStatusView {
  phase?: string;
  observedGeneration?: number;
  definitionGeneration?: number;
  conditions?: Condition[];
  objects?: ObjectRow[];
  outputs?: { namespace?: string; cluster?: string; addresses?: string[] };
}

interface DeploymentView {
  metadata: { uid: string; generation: number };
  spec: { replicas: number; template: { spec: { containers: Array<{ name: string; image: string; env?: Array<{ name: string; value: string }> }> } } };
  status?: { availableReplicas?: number };
}

const PLATFORM = [
  {
    kind: 'WorkloadDefinition',
    metadata: { name: 'web-service' },
    spec: {
      description: 'a stateless web service',
      container: { image: 'nginxdemos/hello:0.4', ports: [{ name: 'http', port: 80 }], replicas: 2 },
      overridable: ['imageTag', 'replicas', 'env'],
      maxReplicas: 5,
    },
  },
];

/** A manifests-source definition: a Deployment with two env vars, its Service and a ConfigMap. */
function stackManifests(options: { withBar: boolean; withExtra: boolean }): string {
  const env = options.withBar
    ? `
            - { name: FOO, value: "1" }
            - { name: BAR, value: "2" }`
    : `
            - { name: FOO, value: "1" }`;
  const extra = options.withExtra
    ? `
---
apiVersion: v1
kind: ConfigMap
metadata: { name: extra }
data: { greeting: hi }`
    : '';
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: api }
spec:
  replicas: 1
  selector: { matchLabels: { app: api } }
  template:
    metadata: { labels: { app: api } }
    spec:
      containers:
        - name: api
          image: nginx:1.27
          env:${env}
---
apiVersion: v1
kind: Service
metadata: { name: api }
spec:
  selector: { app: api }
  ports: [{ port: 8080, targetPort: 80 }]${extra}
`;
}

describe('workload-controller (API, sandbox and both controllers as processes)', () => {
  let workloads: WorkloadStack;
  let admin: ApiClient;
  let sandboxUrl: string;
  let workloadController: Child;
  let kubeconfigFile: string;

  const hello = { kind: 'WorkloadInstance', project: 'demo', name: 'hello' };
  const stack = { kind: 'WorkloadInstance', project: 'demo', name: 'stack' };
  const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', kubeconfigFile, ...args]);
  const kubectlJson = async <T>(...args: string[]): Promise<T> => JSON.parse((await kubectl(...args, '-o', 'json')).stdout) as T;
  const absent = (...args: string[]) => kubectl('get', ...args).then(
    () => false,
    (error: { stderr?: string }) => /NotFound|not found/.test(error.stderr ?? ''),
  );
  const logs = () => `workload-controller output:\n${workloadController?.output().slice(-4000)}`;

  async function instanceWhen(key: typeof hello, what: string, test: (status: WorkloadStatusView, obj: Resource) => boolean, timeoutMs = 20_000): Promise<Resource> {
    let last: unknown;
    return waitUntil(
      async () => {
        const obj = await admin.get(key);
        last = obj?.status;
        return obj !== undefined && test(obj.status as WorkloadStatusView, obj) ? obj : undefined;
      },
      `${key.name}: ${what} (last status ${JSON.stringify(last)}; ${logs()})`,
      timeoutMs,
    );
  }
  const readyAt = (generation: number) => (status: WorkloadStatusView) => status.phase === 'Ready' && status.observedGeneration === generation;

  beforeAll(async () => {
    // Scale 50: a pod is ready 100 ms after it is created, an image back-off takes 200 ms.
    workloads = await startWorkloadStack({ name: 'workloadctl', timeScale: 50, projects: ['demo'] });
    ({ admin, sandboxUrl, kubeconfigFile } = workloads);
    workloadController = await workloads.startWorkloadController({
      // Short periods so each step shows within the test's bounds; the defaults are 2 s, 5 s, 30 s and 5 minutes.
      WORKLOAD_PROGRESS_REQUEUE_MS: '300',
      WORKLOAD_DEGRADED_RETRY_MS: '500',
      WORKLOAD_CLUSTER_WAIT_MS: '2000',
      WORKLOAD_RESYNC_MS: '2000',
      KUBE_REQUEST_TIMEOUT_MS: '5000',
    });
  }, 120_000);

  afterAll(async () => {
    await workloads?.close();
  }, 60_000);

  it('delivers an app, rolls out image and replica changes, degrades on a failing image, and survives the cluster going away', async () => {
    await admin.apply([...PLATFORM, { kind: 'WorkloadInstance', metadata: { name: 'hello', project: 'demo' }, spec: { definitionRef: { name: 'web-service' } } }]);
    const ready = await instanceWhen(hello, 'Ready', readyAt(1));
    const status = ready.status as WorkloadStatusView;
    expect(status.outputs).toEqual({ namespace: 'demo-hello', cluster: 'local', addresses: ['hello.demo-hello.svc.cluster.local:80'] });
    expect(status.definitionGeneration).toBe(1);
    expect(status.objects?.map((row) => `${row.kind}/${row.name}:${row.ready}`)).toEqual(['ServiceAccount/hello:true', 'Deployment/hello:true', 'Service/hello:true']);
    expect(status.conditions?.find((c) => c.type === 'ClusterReady')).toMatchObject({ status: 'True' });
    expect(status.conditions?.find((c) => c.type === 'Applied')).toMatchObject({ status: 'True' });
    const ns = await kubectlJson<{ metadata: { labels: Record<string, string> } }>('get', 'ns', 'demo-hello');
    expect(ns.metadata.labels['tugboat.dev/namespace-owner']).toBe(ready.metadata.uid);
    const first = await kubectlJson<DeploymentView>('get', 'deployment', 'hello', '-n', 'demo-hello');
    expect(first.spec.replicas).toBe(2);
    expect(first.spec.template.spec.containers[0]!.image).toBe('nginxdemos/hello:0.4');

    // Image change → rolled out (a new generation, available), same object.
    const changed = (await admin.apply([{ kind: 'WorkloadInstance', metadata: { name: 'hello', project: 'demo' }, spec: { definitionRef: { name: 'web-service' }, overrides: { imageTag: '0.5' } } }])).results[0]!;
    expect(changed.action).toBe('updated');
    await instanceWhen(hello, 'Ready with the new image', readyAt(2));
    const rolled = await kubectlJson<DeploymentView>('get', 'deployment', 'hello', '-n', 'demo-hello');
    expect(rolled.spec.template.spec.containers[0]!.image).toBe('nginxdemos/hello:0.5');
    expect(rolled.metadata.uid).toBe(first.metadata.uid);
    expect(rolled.status?.availableReplicas).toBe(2);

    // Replicas change → applied.
    await admin.apply([{ kind: 'WorkloadInstance', metadata: { name: 'hello', project: 'demo' }, spec: { definitionRef: { name: 'web-service' }, overrides: { imageTag: '0.5', replicas: 3 } } }]);
    await instanceWhen(hello, 'Ready at 3 replicas', readyAt(3));
    expect((await kubectlJson<DeploymentView>('get', 'deployment', 'hello', '-n', 'demo-hello')).spec.replicas).toBe(3);

    // A failing image → Degraded, naming the Deployment and the reason.
    await admin.apply([
      { kind: 'WorkloadInstance', metadata: { name: 'hello', project: 'demo' }, spec: { definitionRef: { name: 'web-service' }, overrides: { imageTag: 'doesnotexist', replicas: 3 } } },
    ]);
    const degraded = await instanceWhen(hello, 'Degraded on a failing image', (s) => s.phase === 'Degraded' && s.observedGeneration === 4);
    const said = (degraded.status as WorkloadStatusView).conditions!.find((c) => c.type === 'Ready')!;
    expect(said.reason).toMatch(/^(ImagePullBackOff|ErrImagePull)$/);
    expect(said.message).toContain('Deployment demo-hello/hello');
    expect(said.message).toContain('doesnotexist');
    expect((degraded.status as WorkloadStatusView).objects?.find((row) => row.kind === 'Deployment')).toMatchObject({ ready: false, reason: said.reason });

    // Fixed → Ready again.
    await admin.apply([{ kind: 'WorkloadInstance', metadata: { name: 'hello', project: 'demo' }, spec: { definitionRef: { name: 'web-service' }, overrides: { imageTag: '0.5', replicas: 3 } } }]);
    await instanceWhen(hello, 'Ready after the fix', readyAt(5));

    // The cluster unreachable (every Kubernetes call answers 503) → Degraded with the cluster's words; cleared → Ready by itself.
    const fault = await fetch(`${sandboxUrl}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'kube', errorRate: 1, error: { code: 'ServiceUnavailable', status: 503, message: 'apiserver is down (injected)' } }),
    });
    expect(fault.ok).toBe(true);
    const unavailable = await instanceWhen(hello, 'Degraded while the cluster is unreachable', (s) => s.phase === 'Degraded');
    const unavailableReady = (unavailable.status as WorkloadStatusView).conditions!.find((c) => c.type === 'Ready')!;
    expect(unavailableReady.reason).toBe('ClusterUnavailable');
    expect(unavailableReady.message).toContain('local');
    expect((unavailable.status as WorkloadStatusView).conditions!.find((c) => c.type === 'ClusterReady')).toMatchObject({ status: 'False' });
    expect((await fetch(`${sandboxUrl}/_sandbox/faults`, { method: 'DELETE' })).ok).toBe(true);
    const back = await instanceWhen(hello, 'Ready again after the cluster returned', readyAt(5));
    expect(back.metadata.generation).toBe(5); // nobody touched the object

    // A Deployment deleted by hand is put back by the next resync.
    const before = await kubectlJson<DeploymentView>('get', 'deployment', 'hello', '-n', 'demo-hello');
    await kubectl('delete', 'deployment', 'hello', '-n', 'demo-hello', '--wait=false');
    const restored = await waitUntil(
      async () => {
        const found = await kubectlJson<DeploymentView>('get', 'deployment', 'hello', '-n', 'demo-hello').catch(() => undefined);
        return found !== undefined && found.metadata.uid !== before.metadata.uid ? found : undefined;
      },
      `Deployment hello restored (${logs()})`,
      15_000,
    );
    expect(restored.spec.replicas).toBe(3);
  }, 120_000);

  it('removes a field dropped from a manifest, prunes an object dropped from the definition, and cleans up on delete', async () => {
    await admin.apply([
      { kind: 'WorkloadDefinition', metadata: { name: 'stack' }, spec: { manifests: stackManifests({ withBar: true, withExtra: true }) } },
      { kind: 'WorkloadInstance', metadata: { name: 'stack', project: 'demo' }, spec: { definitionRef: { name: 'stack' } } },
    ]);
    const ready = await instanceWhen(stack, 'Ready', (s) => s.phase === 'Ready' && s.definitionGeneration === 1);
    expect((ready.status as WorkloadStatusView).outputs?.addresses).toEqual(['api.demo-stack.svc.cluster.local:8080']);
    const env = async () => (await kubectlJson<DeploymentView>('get', 'deployment', 'api', '-n', 'demo-stack')).spec.template.spec.containers[0]!.env?.map((e) => e.name);
    expect(await env()).toEqual(['FOO', 'BAR']);
    await kubectl('get', 'configmap', 'extra', '-n', 'demo-stack');
    const inventory = await kubectlJson<{ metadata: { annotations: Record<string, string> } }>('get', 'configmap', 'tugboat-inventory.stack', '-n', 'demo-stack');
    expect(JSON.parse(inventory.metadata.annotations['tugboat.dev/inventory']!)).toHaveLength(3);

    // The definition changes: BAR leaves the Deployment, the ConfigMap leaves the definition.
    await admin.apply([{ kind: 'WorkloadDefinition', metadata: { name: 'stack' }, spec: { manifests: stackManifests({ withBar: false, withExtra: false }) } }]);
    await instanceWhen(stack, 'Ready at definition generation 2', (s) => s.phase === 'Ready' && s.definitionGeneration === 2);
    expect(await env()).toEqual(['FOO']);
    expect(await absent('configmap', 'extra', '-n', 'demo-stack')).toBe(true);
    const narrowed = await kubectlJson<{ metadata: { annotations: Record<string, string> } }>('get', 'configmap', 'tugboat-inventory.stack', '-n', 'demo-stack');
    expect(JSON.parse(narrowed.metadata.annotations['tugboat.dev/inventory']!)).toHaveLength(2);

    // The cluster's delete is refused while workloads use it.
    const refused = await admin.delete({ kind: 'ClusterInstance', name: 'local' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isErrorCode(refused, 'Conflict')).toBe(true);
    expect((refused as Error).message).toMatch(/hello|stack/);

    // Delete → objects and namespaces gone, then the rows.
    await admin.delete(hello);
    await admin.delete(stack);
    await waitUntil(async () => (await admin.get(hello)) === undefined && (await admin.get(stack)) === undefined, `instances gone (${logs()})`, 20_000);
    expect(await absent('ns', 'demo-hello')).toBe(true);
    expect(await absent('ns', 'demo-stack')).toBe(true);
    const left = await kubectl('get', 'deployments,services,serviceaccounts,configmaps', '-A', '-l', 'tugboat.dev/instance', '-o', 'name');
    expect(left.stdout.trim()).toBe('');
  }, 90_000);
});
