/**
 * Metrics and logs (issue 14), end to end: the real API, NATS, the sandbox (a simulated cluster
 * whose Prometheus Operator acts on what is installed, a chart repository of stand-in
 * kube-prometheus-stack, Loki and Alloy charts) and the cluster-, workload- and
 * support-services-controllers as processes; helm renders the charts.
 *
 * An app whose definition declares a metrics port, on a cluster without a stack → the stack made on
 * first use from the default ObservabilityDefinition, Ready with every component; the app's
 * ServiceMonitor selected by Prometheus; the app's namespace in the collector's configuration (one
 * that opts out is not); Tugboat's own PodMonitor accepted; a broken values override → Degraded
 * naming the pod and why, fixed → Ready; SIGKILL right after the apply and before the status write
 * → nothing made twice; delete → everything it installed gone (namespace, CRDs, cluster roles).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Condition, Resource } from '@tugboat/resource-model';
import { waitUntil, type Child } from './harness/cli-processes.js';
import { startEksStack, type EksStack } from './harness/eks-stack.js';

const SUPPORT_ENV = { EXPOSURE_PROGRESS_MS: '250', EXPOSURE_WAIT_MS: '1000', EXPOSURE_RECHECK_MS: '2000' };
const STACK_NAMESPACE = 'tugboat-observability';
const MONITORING_MANIFEST = fileURLToPath(new URL('../../deploy/kubernetes/monitoring.yaml', import.meta.url));

interface StatusView {
  phase?: string;
  reason?: string;
  message?: string;
  conditions?: Condition[];
  outputs?: Record<string, unknown>;
  components?: Record<string, { ready: boolean; message: string }>;
}
const statusOf = (obj: Resource | undefined) => (obj?.status ?? {}) as StatusView;
const conditionOf = (obj: Resource | undefined, type: string) => statusOf(obj).conditions?.find((c) => c.type === type);

describe('metrics and logs for every app (API, sandbox and controllers as processes)', () => {
  let stack: EksStack;
  let support: Child;

  const observability = () => stack.admin.get({ kind: 'ObservabilityInstance', name: 'local' });
  const workload = (name: string) => stack.admin.get({ kind: 'WorkloadInstance', project: 'shop', name });
  /** Waits for the stack to pass `check`; a timeout says where it stood. */
  const untilStack = async (check: (obj: Resource | undefined) => boolean, what: string, timeoutMs = 120_000) => {
    let last: Resource | undefined;
    try {
      return await waitUntil(async () => {
        last = await observability();
        return check(last) ? (last ?? true) : undefined;
      }, what, timeoutMs);
    } catch (error) {
      throw new Error(`${(error as Error).message}; the stack's status: ${JSON.stringify(last?.status)}`, { cause: error });
    }
  };
  const untilWorkload = (name: string, check: (obj: Resource | undefined) => boolean, what: string, timeoutMs = 90_000) =>
    waitUntil(async () => {
      const obj = await workload(name);
      return check(obj) ? (obj ?? true) : undefined;
    }, what, timeoutMs);
  const kubeJson = async <T>(...args: string[]): Promise<T> => JSON.parse(await stack.kubectl(...args, '-o', 'json')) as T;
  const collectorConfig = async () => (await kubeJson<{ data: Record<string, string> }>('get', 'configmap', 'alloy', '-n', STACK_NAMESPACE)).data['config.alloy'] ?? '';
  const startSupport = (env: Record<string, string> = {}, options: { expectDeath?: boolean } = {}) => stack.startController('support-services-controller', { ...SUPPORT_ENV, ...env }, options);
  const stackSpec = (overrides?: Record<string, unknown>) => ({ kind: 'ObservabilityInstance', metadata: { name: 'local' }, spec: { definitionRef: { name: 'standard' }, clusterRef: { name: 'local' }, ...(overrides ? { overrides } : {}) } });

  beforeAll(async () => {
    stack = await startEksStack({ name: 'obs-e2e', projects: ['shop'] });
    support = await startSupport();
    const kubeconfig = await readFile(stack.kubeconfigFile, 'utf8');
    await stack.admin.apply([
      { kind: 'ClusterDefinition', metadata: { name: 'local' }, spec: { provider: 'kubeconfig' } },
      { kind: 'ClusterInstance', metadata: { name: 'local' }, spec: { definitionRef: { name: 'local' }, kubeconfig, defaultFor: ['*'] } },
      {
        kind: 'ObservabilityDefinition',
        metadata: { name: 'standard' },
        spec: { default: true, metrics: { retention: '7d' }, logs: { retention: '72h' }, overridableValues: ['metrics.grafana.image.tag'] },
      },
      {
        kind: 'WorkloadDefinition',
        metadata: { name: 'metered' },
        spec: { container: { image: 'ghcr.io/example/shop:1.0', ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9100 }] }, metrics: { port: 'metrics', interval: '15s' } },
      },
    ]);
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('makes the stack on first use, Ready with every component; the app gets a ServiceMonitor Prometheus selects and its logs collected', async () => {
    await stack.admin.apply([
      { kind: 'WorkloadInstance', metadata: { name: 'web', project: 'shop' }, spec: { definitionRef: { name: 'metered' } } },
      { kind: 'WorkloadInstance', metadata: { name: 'quiet', project: 'shop' }, spec: { definitionRef: { name: 'metered' }, observability: { logs: false, metrics: false } } },
    ]);
    const ready = (await untilStack((obj) => statusOf(obj).phase === 'Ready' && (statusOf(obj).outputs?.['logNamespaces'] as string[] | undefined)?.includes('shop-web') === true, 'the stack Ready')) as Resource;
    expect(ready.metadata.labels).toMatchObject({ 'tugboat.dev/made-on-first-use': 'true' });
    const status = statusOf(ready);
    expect(Object.keys(status.components ?? {}).sort()).toEqual(['alertmanager', 'grafana', 'log-collector', 'loki', 'prometheus']);
    expect(status.conditions?.filter((c) => c.type.endsWith('Ready') && c.type !== 'ClusterReady').map((c) => `${c.type}=${c.status}`).sort()).toEqual([
      'AlertmanagerReady=True',
      'GrafanaReady=True',
      'LogCollectorReady=True',
      'LokiReady=True',
      'PrometheusReady=True',
      'Ready=True',
    ]);
    expect(status.outputs).toMatchObject({
      namespace: STACK_NAMESPACE,
      grafanaUrl: `http://kube-prometheus-stack-grafana.${STACK_NAMESPACE}.svc.cluster.local`,
      prometheusUrl: `http://kube-prometheus-stack-prometheus.${STACK_NAMESPACE}.svc.cluster.local:9090`,
      lokiUrl: `http://loki-gateway.${STACK_NAMESPACE}.svc.cluster.local`,
      logNamespaces: ['shop-web'],
    });

    // What the cluster holds: the operator made Prometheus' StatefulSet from the CR, with the retention asked for.
    const prometheus = await kubeJson<{ spec: { retention: string }; status: { conditions: Condition[] } }>('get', 'prometheus', 'kube-prometheus-stack-prometheus', '-n', STACK_NAMESPACE);
    expect(prometheus.spec.retention).toBe('7d');
    expect(prometheus.status.conditions.find((c) => c.type === 'Available')?.status).toBe('True');
    const statefulSets = await kubeJson<{ items: Array<{ metadata: { name: string } }> }>('get', 'statefulsets', '-n', STACK_NAMESPACE);
    expect(statefulSets.items.map((s) => s.metadata.name).sort()).toEqual(['alertmanager-kube-prometheus-stack-alertmanager', 'loki', 'prometheus-kube-prometheus-stack-prometheus']);
    const collector = await kubeJson<{ status: { numberAvailable?: number; desiredNumberScheduled: number } }>('get', 'daemonset', 'alloy', '-n', STACK_NAMESPACE);
    expect(collector.status.numberAvailable).toBe(collector.status.desiredNumberScheduled);

    // The collector reads the app's namespace, not the one that opted out.
    const config = await collectorConfig();
    expect(config).toContain('names = ["shop-web"]');
    expect(config).not.toContain('shop-quiet');

    // The app: Ready, with its ServiceMonitor, and conditions that say where its metrics and logs stand.
    const web = (await untilWorkload('web', (obj) => conditionOf(obj, 'MetricsReady')?.status === 'True' && conditionOf(obj, 'LogsCollected')?.status === 'True', 'web scraped and collected')) as Resource;
    expect(statusOf(web).phase).toBe('Ready');
    const monitor = await kubeJson<{ spec: { endpoints: Array<{ port: string; path: string; interval: string }>; selector: { matchLabels: Record<string, string> } } }>('get', 'servicemonitor', 'web', '-n', 'shop-web');
    expect(monitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '15s' }]);
    expect(monitor.spec.selector.matchLabels).toEqual({ 'tugboat.dev/instance-uid': web.metadata.uid });
    const targets = (await (await fetch(`${stack.sandboxUrl}/_sandbox/clusters/local/prometheus/${STACK_NAMESPACE}/kube-prometheus-stack-prometheus/targets`)).json()) as {
      activeTargets: Array<{ serviceMonitor: string; namespace: string; service: string; port: string }>;
    };
    expect(targets.activeTargets.filter((t) => t.namespace === 'shop-web').map((t) => `${t.serviceMonitor} ${t.service} ${t.port}`)).toEqual(['shop-web/web web metrics']);
    const quiet = (await untilWorkload('quiet', (obj) => statusOf(obj).phase === 'Ready', 'quiet Ready')) as Resource;
    expect(conditionOf(quiet, 'MetricsReady')).toBeUndefined();
    expect(JSON.parse(await stack.kubectl('get', 'servicemonitors', '-n', 'shop-quiet', '-o', 'json')).items).toEqual([]);

    // Tugboat's own services, when it runs in this cluster: its PodMonitor is one the stack accepts.
    await stack.kubectl('create', 'namespace', 'tugboat');
    expect(await stack.kubectl('apply', '--server-side', '-f', MONITORING_MANIFEST)).toContain('podmonitor.monitoring.coreos.com/tugboat serverside-applied');
  }, 240_000);

  it('says which pod a broken values override holds back, and returns to Ready when it is fixed', async () => {
    await stack.admin.apply([stackSpec({ values: { metrics: { grafana: { image: { tag: '12.0.0-doesnotexist' } } } } })]);
    const degraded = (await untilStack((obj) => statusOf(obj).phase === 'Degraded', 'the stack Degraded')) as Resource;
    expect(conditionOf(degraded, 'Ready')?.reason).toMatch(/^(ErrImagePull|ImagePullBackOff)$/);
    expect(conditionOf(degraded, 'Ready')?.message).toMatch(/^grafana: Deployment tugboat-observability\/kube-prometheus-stack-grafana: pod kube-prometheus-stack-grafana-[a-z0-9-]+ container grafana \(image [^)]*12\.0\.0-doesnotexist\) is in (ErrImagePull|ImagePullBackOff)/);
    expect(conditionOf(degraded, 'GrafanaReady')?.status).toBe('False');
    expect(conditionOf(degraded, 'PrometheusReady')?.status).toBe('True');
    await stack.admin.apply([stackSpec()]);
    await untilStack((obj) => statusOf(obj).phase === 'Ready', 'the stack Ready again');
  }, 180_000);

  it('follows the apps: a new one is collected, a deleted one is not', async () => {
    await stack.admin.apply([{ kind: 'WorkloadInstance', metadata: { name: 'api', project: 'shop' }, spec: { definitionRef: { name: 'metered' } } }]);
    await waitUntil(async () => (await collectorConfig()).includes('names = ["shop-api", "shop-web"]'), 'shop-api collected', 60_000);
    await stack.admin.delete({ kind: 'WorkloadInstance', project: 'shop', name: 'api' });
    await waitUntil(async () => (await collectorConfig()).includes('names = ["shop-web"]'), 'shop-api no longer collected', 60_000);
  }, 120_000);

  it('killed right after the apply and before its status write: nothing is made twice', async () => {
    const objectsNow = async () => {
      const listed = await kubeJson<{ items: Array<{ kind: string; metadata: { name: string; uid: string } }> }>('get', 'deployments,statefulsets,daemonsets,prometheuses,alertmanagers', '-n', STACK_NAMESPACE);
      return listed.items.map((item) => `${item.kind}/${item.metadata.name}/${item.metadata.uid}`).sort();
    };
    const before = await objectsNow();
    support.process.kill('SIGKILL');
    await support.exited;
    const dying = await startSupport({ TUGBOAT_TEST_HOOKS: '1', TUGBOAT_KILL_POINT: 'observability.after-apply' }, { expectDeath: true });
    // A definition change makes it apply again (a new retention) right away.
    await stack.admin.apply([{ kind: 'ObservabilityDefinition', metadata: { name: 'standard' }, spec: { default: true, metrics: { retention: '10d' }, logs: { retention: '72h' }, overridableValues: ['metrics.grafana.image.tag'] } }]);
    const exit = await Promise.race([dying.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 90_000).unref())]);
    expect(exit?.signal).toBe('SIGKILL');
    support = await startSupport();
    await untilStack((obj) => statusOf(obj).phase === 'Ready', 'the stack Ready after the kill');
    expect((await kubeJson<{ spec: { retention: string } }>('get', 'prometheus', 'kube-prometheus-stack-prometheus', '-n', STACK_NAMESPACE)).spec.retention).toBe('10d');
    // The same objects (same uids): re-applied, none made again.
    expect(await objectsNow()).toEqual(before);
  }, 180_000);

  it('removes everything it installed when deleted (the apps first: they would make it again on first use)', async () => {
    await stack.admin.delete({ kind: 'WorkloadInstance', project: 'shop', name: 'web' });
    await stack.admin.delete({ kind: 'WorkloadInstance', project: 'shop', name: 'quiet' });
    await waitUntil(async () => (await workload('web')) === undefined && (await workload('quiet')) === undefined, 'the apps gone', 60_000);
    await stack.admin.delete({ kind: 'ObservabilityInstance', name: 'local' });
    await waitUntil(async () => (await observability()) === undefined, 'the stack gone', 90_000);
    const namespaces = await kubeJson<{ items: Array<{ metadata: { name: string } }> }>('get', 'namespaces');
    expect(namespaces.items.map((n) => n.metadata.name)).not.toContain(STACK_NAMESPACE);
    for (const kind of ['customresourcedefinitions', 'clusterroles', 'clusterrolebindings']) {
      expect({ kind, items: (await kubeJson<{ items: unknown[] }>('get', kind, '-l', 'tugboat.dev/observability=local')).items }).toEqual({ kind, items: [] });
    }
    expect(await stack.kubectl('api-resources', '--api-group=monitoring.coreos.com', '-o', 'name')).toBe('');
  }, 150_000);
});
