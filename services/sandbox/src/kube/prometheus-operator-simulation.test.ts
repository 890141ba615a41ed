import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { prometheusOperatorCrds, prometheusOperatorDeployment } from '../test-support/add-on-fixtures.js';
import { eventually, startKubeTestServer, type KubeTestServer } from './kube-test-server.js';
import { labelSelectorMatches } from './prometheus-operator-simulation.js';

const GROUP = 'monitoring.coreos.com';
const VERSION = 'v1';

interface Status {
  availableReplicas?: number;
  replicas?: number;
  updatedReplicas?: number;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string; observedGeneration?: number }>;
}

let server: KubeTestServer;
let core: CoreV1Api;
let apps: AppsV1Api;
let custom: CustomObjectsApi;

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${server.baseUrl}/k8s/prom${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

beforeAll(async () => {
  server = await startKubeTestServer({ scale: 200 });
  server.simulator.addCluster('prom');
  const kc = new KubeConfig();
  kc.loadFromString(server.simulator.kubeconfig(server.baseUrl, ['prom']));
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  for (const crd of prometheusOperatorCrds()) expect((await post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status).toBe(201);
  for (const namespace of ['monitoring', 'shop', 'other']) await core.createNamespace({ body: { metadata: { name: namespace, labels: namespace === 'shop' ? { team: 'shop' } : {} } } });
});

afterAll(async () => {
  await server.close();
});

const getPrometheus = async (name: string) =>
  (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'monitoring', plural: 'prometheuses', name })) as { spec: Record<string, unknown>; status?: Status };
const condition = (status: Status | undefined, type: string) => status?.conditions?.find((candidate) => candidate.type === type);

function createPrometheus(name: string, spec: Record<string, unknown>) {
  return custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'monitoring', plural: 'prometheuses', body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Prometheus', metadata: { name }, spec } });
}

function createServiceMonitor(namespace: string, name: string, labels: Record<string, string>, spec: Record<string, unknown>) {
  return custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'servicemonitors', body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ServiceMonitor', metadata: { name, labels }, spec } });
}

async function targets(name: string) {
  const result = server.simulator.prometheusTargets('prom', 'monitoring', name);
  if (result === undefined) throw new Error(`no Prometheus ${name}`);
  return result;
}

describe('label selectors as the operator reads them', () => {
  it('takes a nil selector as nothing, {} as everything, and matchLabels with matchExpressions', () => {
    expect(labelSelectorMatches(undefined, { a: '1' })).toBe(false);
    expect(labelSelectorMatches({}, undefined)).toBe(true);
    expect(labelSelectorMatches({ matchLabels: { a: '1' } }, { a: '1', b: '2' })).toBe(true);
    expect(labelSelectorMatches({ matchLabels: { a: '1' } }, { a: '2' })).toBe(false);
    const expressions = { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }, { key: 'legacy', operator: 'DoesNotExist' }] };
    expect(labelSelectorMatches(expressions, { tier: 'api' })).toBe(true);
    expect(labelSelectorMatches(expressions, { tier: 'api', legacy: 'yes' })).toBe(false);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] }, {})).toBe(true);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, {})).toBe(false);
  });
});

describe('Prometheus Operator simulation', () => {
  it('refuses a bad retention or scrape interval with 422, as the CRD schema does', async () => {
    const prometheus = await post(`/apis/${GROUP}/${VERSION}/namespaces/monitoring/prometheuses`, { apiVersion: `${GROUP}/${VERSION}`, kind: 'Prometheus', metadata: { name: 'bad' }, spec: { retention: '10 days' } });
    expect(prometheus.status).toBe(422);
    expect(((await prometheus.json()) as { message: string }).message).toContain('spec.retention');
    const monitor = await post(`/apis/${GROUP}/${VERSION}/namespaces/shop/servicemonitors`, {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'ServiceMonitor',
      metadata: { name: 'bad' },
      spec: { selector: {}, endpoints: [{ port: 'http', interval: '30 seconds' }] },
    });
    expect(monitor.status).toBe(422);
    expect(((await monitor.json()) as { message: string }).message).toContain('spec.endpoints[0].interval');
    const noSelector = await post(`/apis/${GROUP}/${VERSION}/namespaces/shop/servicemonitors`, { apiVersion: `${GROUP}/${VERSION}`, kind: 'ServiceMonitor', metadata: { name: 'bad' }, spec: { endpoints: [] } });
    expect(noSelector.status).toBe(422);
    expect(((await noSelector.json()) as { message: string }).message).toContain('spec.selector: Required value');
  });

  it('does nothing before the operator runs, then runs the StatefulSet, reports Available, follows changes and deletion', async () => {
    await createPrometheus('main', { replicas: 1, retention: '7d', version: 'v3.4.1', serviceAccountName: 'prometheus', resources: { requests: { memory: '400Mi' } } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await getPrometheus('main')).status).toBeUndefined();
    expect((await apps.listNamespacedStatefulSet({ namespace: 'monitoring' })).items).toEqual([]);

    await apps.createNamespacedDeployment({ namespace: 'monitoring', body: prometheusOperatorDeployment('monitoring') });
    const status = await eventually(async () => {
      const current = (await getPrometheus('main')).status;
      return condition(current, 'Available')?.status === 'True' ? current : undefined;
    }, 10_000, 'Prometheus main Available');
    expect(status).toMatchObject({ availableReplicas: 1, replicas: 1, updatedReplicas: 1, shards: 1 });
    expect(condition(status, 'Reconciled')).toMatchObject({ status: 'True', observedGeneration: 1 });
    const statefulSet = await apps.readNamespacedStatefulSet({ namespace: 'monitoring', name: 'prometheus-main' });
    expect(statefulSet.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Prometheus', name: 'main', controller: true });
    const container = statefulSet.spec?.template.spec?.containers.find((candidate) => candidate.name === 'prometheus');
    expect(container?.image).toBe('quay.io/prometheus/prometheus:v3.4.1');
    expect(container?.args).toContain('--storage.tsdb.retention.time=7d');
    expect(container?.resources?.requests).toEqual({ memory: '400Mi' });
    expect(statefulSet.status?.readyReplicas).toBe(1);
    expect((await core.readNamespacedService({ namespace: 'monitoring', name: 'prometheus-operated' })).spec?.clusterIP).toBe('None');

    // A change of the spec reaches the StatefulSet: an image that never pulls leaves the Prometheus unavailable.
    await custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: 'monitoring', plural: 'prometheuses', name: 'main', body: [{ op: 'replace', path: '/spec/version', value: 'v3.4.1-doesnotexist' }] },
    );
    const broken = await eventually(async () => {
      const current = (await getPrometheus('main')).status;
      return condition(current, 'Available')?.status === 'False' ? current : undefined;
    }, 10_000, 'Prometheus main Available=False');
    expect(condition(broken, 'Available')).toMatchObject({ reason: 'NoPodReady', observedGeneration: 2 });
    const pod = await eventually(async () => {
      const current = await core.readNamespacedPod({ namespace: 'monitoring', name: 'prometheus-main-0' });
      return current.status?.containerStatuses?.find((entry) => entry.name === 'prometheus')?.state?.waiting?.reason === 'ImagePullBackOff' ? current : undefined;
    }, 10_000, 'prometheus-main-0 ImagePullBackOff');
    expect(pod.spec?.containers[0]?.image).toBe('quay.io/prometheus/prometheus:v3.4.1-doesnotexist');
    expect(condition((await getPrometheus('main')).status, 'Available')?.message).toContain('shard 0: pod prometheus-main-0');

    await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'monitoring', plural: 'prometheuses', name: 'main' });
    await eventually(async () => ((await apps.listNamespacedStatefulSet({ namespace: 'monitoring' })).items.length === 0 ? true : undefined), 10_000, 'StatefulSet gone');
  });

  it('runs an Alertmanager with its retention and reports it Available', async () => {
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'monitoring',
      plural: 'alertmanagers',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Alertmanager', metadata: { name: 'main' }, spec: { replicas: 2 } },
    });
    const status = await eventually(async () => {
      const current = ((await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'monitoring', plural: 'alertmanagers', name: 'main' })) as { status?: Status }).status;
      return condition(current, 'Available')?.status === 'True' ? current : undefined;
    }, 10_000, 'Alertmanager main Available');
    expect(status).toMatchObject({ availableReplicas: 2, replicas: 2 });
    const statefulSet = await apps.readNamespacedStatefulSet({ namespace: 'monitoring', name: 'alertmanager-main' });
    expect(statefulSet.spec?.template.spec?.containers[0]?.args).toContain('--data.retention=120h');
    expect((await core.readNamespacedService({ namespace: 'monitoring', name: 'alertmanager-operated' })).spec?.ports?.map((port) => port.name)).toEqual(['tcp-mesh', 'udp-mesh', 'web']);
  });

  it('selects ServiceMonitors by its selectors and lists the endpoints of the matching Services as targets', async () => {
    const labels = { app: 'web' };
    await core.createNamespacedService({ namespace: 'shop', body: { metadata: { name: 'web', labels }, spec: { selector: labels, ports: [{ name: 'metrics', port: 9100 }, { name: 'http', port: 80, targetPort: 8080 }] } } });
    await apps.createNamespacedDeployment({
      namespace: 'shop',
      body: { metadata: { name: 'web' }, spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'shop/web:1', ports: [{ name: 'metrics', containerPort: 9100 }, { containerPort: 8080 }] }] } } } },
    });
    await createServiceMonitor('shop', 'web', { release: 'kps' }, { selector: { matchLabels: labels }, endpoints: [{ port: 'metrics', path: '/metrics', interval: '15s' }] });
    await createServiceMonitor('shop', 'unlabelled', {}, { selector: { matchLabels: labels }, endpoints: [{ port: 'http' }] });
    await createServiceMonitor('other', 'elsewhere', { release: 'kps' }, { selector: { matchLabels: labels }, namespaceSelector: { matchNames: ['shop'] }, endpoints: [{ port: 'metrics' }] });

    await createPrometheus('nil', { serviceAccountName: 'prometheus' });
    await createPrometheus('release', { serviceMonitorSelector: { matchLabels: { release: 'kps' } }, serviceMonitorNamespaceSelector: { matchLabels: { team: 'shop' } } });
    await createPrometheus('everything', { serviceMonitorSelector: {}, serviceMonitorNamespaceSelector: {} });
    await createPrometheus('own-namespace', { serviceMonitorSelector: {} });

    expect(await targets('nil')).toEqual({ prometheus: 'monitoring/nil', serviceMonitors: [], activeTargets: [] });
    expect((await targets('own-namespace')).serviceMonitors).toEqual([]);
    expect((await targets('everything')).serviceMonitors).toEqual(['other/elsewhere', 'shop/unlabelled', 'shop/web']);

    const selected = await eventually(async () => {
      const result = await targets('release');
      return result.activeTargets.filter((target) => target.health === 'up').length === 2 ? result : undefined;
    }, 10_000, 'two ready targets');
    expect(selected.serviceMonitors).toEqual(['shop/web']);
    for (const target of selected.activeTargets) {
      expect(target).toMatchObject({ serviceMonitor: 'shop/web', scrapePool: 'serviceMonitor/shop/web/0', namespace: 'shop', service: 'web', port: 'metrics', path: '/metrics', scheme: 'http', health: 'up' });
      expect(target.instance).toMatch(/^10\.244\.\d+\.\d+:9100$/);
      expect(target.pod).toMatch(/^web-/);
    }
    // The ServiceMonitor in `other` looks into `shop`, and is selected once its namespace is.
    const everything = await targets('everything');
    expect(everything.activeTargets.filter((target) => target.serviceMonitor === 'other/elsewhere').map((target) => target.namespace)).toEqual(['shop', 'shop']);
    expect(everything.activeTargets.filter((target) => target.serviceMonitor === 'shop/unlabelled').every((target) => target.port === 'http' && target.instance.endsWith(':8080'))).toBe(true);
    expect(server.simulator.prometheusTargets('prom', 'monitoring', 'absent')).toBeUndefined();
    expect(server.simulator.prometheusTargets('nope', 'monitoring', 'release')).toBeUndefined();
  });
});

describe('the kubelet and missing volumes', () => {
  it('keeps a pod ContainerCreating with FailedMount until its ConfigMap exists', async () => {
    const labels = { app: 'mounts' };
    await apps.createNamespacedDeployment({
      namespace: 'shop',
      body: {
        metadata: { name: 'mounts' },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              containers: [{ name: 'app', image: 'shop/app:1' }],
              volumes: [
                { name: 'config', configMap: { name: 'app-config' } },
                { name: 'extra', secret: { secretName: 'not-needed', optional: true } },
              ],
            },
          },
        },
      },
    });
    const events = await eventually(async () => {
      const list = await core.listNamespacedEvent({ namespace: 'shop' });
      const failed = list.items.filter((event) => event.reason === 'FailedMount' && event.involvedObject.name?.startsWith('mounts-'));
      return failed.length > 0 ? failed : undefined;
    }, 10_000, 'FailedMount');
    expect(events[0]?.message).toBe('MountVolume.SetUp failed for volume "config" : configmap "app-config" not found');
    expect(events.every((event) => !String(event.message).includes('not-needed'))).toBe(true);
    const pods = (await core.listNamespacedPod({ namespace: 'shop', labelSelector: 'app=mounts' })).items;
    expect(pods.map((pod) => [pod.status?.phase, pod.status?.containerStatuses?.[0]?.state?.waiting?.reason])).toEqual([['Pending', 'ContainerCreating']]);

    await core.createNamespacedConfigMap({ namespace: 'shop', body: { metadata: { name: 'app-config' }, data: { a: '1' } } });
    await eventually(async () => {
      const deployment = await apps.readNamespacedDeployment({ namespace: 'shop', name: 'mounts' });
      return deployment.status?.availableReplicas === 1 ? true : undefined;
    }, 10_000, 'mounts Available');
  });
});
