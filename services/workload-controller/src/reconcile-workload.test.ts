/**
 * The reconcile and finalize logic against the SDK's fake API and the sandbox's simulated cluster
 * (in this process, fast simulated time): crash points leave nothing behind and re-create nothing,
 * the namespace rules, waiting for the cluster, and deletion. The kinds are shaped as the issue-9
 * contract says, with loose schemas, so the test does not depend on the stored ones.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFakeApi, reconcileOnce, type FakeApi } from '@tugboat/controller-sdk/testing';
import { createClusterConnections, type ClusterConnection, type KubernetesObject } from '@tugboat/kube';
import { armedKillPoint, AWS_ACCOUNT, CLUSTER_DEFINITION, CLUSTER_INSTANCE, DATABASE_INSTANCE, DOMAIN_DEFINITION, EXPOSURE, GATEWAY_DEFINITION, OBSERVABILITY_DEFINITION, OBSERVABILITY_INSTANCE, SECRET_DEFINITION, SECRET_INSTANCE, WORKLOAD_DEFINITION, WORKLOAD_INSTANCE, type KindDefinition, type Phase, type Resource } from '@tugboat/resource-model';
import { createSandboxServer, type SandboxServer } from '@tugboat/sandbox';
import { externalSecretsCrds, externalSecretsDeployments } from '@tugboat/sandbox/testing';
import pino from 'pino';
import type { KubeManifest } from '@tugboat/workloads';
import { INVENTORY_ANNOTATION, inventoryName } from './inventory.js';
import type { ChartRenderer } from './reconcile-workload.js';
import { createWorkloadController } from './workload-controller.js';
import type { WorkloadStatus } from './workload-types.js';

const loose = { type: 'object', additionalProperties: true } as const;
const KINDS: KindDefinition[] = [
  { ...CLUSTER_DEFINITION, schema: loose },
  { ...CLUSTER_INSTANCE, controller: 'cluster-controller', secretFields: ['kubeconfig'], schema: { ...loose, properties: { kubeconfig: { type: 'string' } } } },
  { ...WORKLOAD_DEFINITION, schema: loose },
  { ...WORKLOAD_INSTANCE, schema: loose },
  { ...DATABASE_INSTANCE, references: [], schema: loose },
  { ...AWS_ACCOUNT, schema: { ...loose, properties: { secretAccessKey: { type: 'string' } } } },
  { ...DOMAIN_DEFINITION, references: [], schema: loose },
  { ...GATEWAY_DEFINITION, schema: loose },
  { ...EXPOSURE, references: [], schema: loose },
  SECRET_DEFINITION,
  SECRET_INSTANCE,
  { ...OBSERVABILITY_DEFINITION, schema: loose },
  { ...OBSERVABILITY_INSTANCE, references: [], schema: loose },
];

const MANIFESTS = (names: string[]) =>
  names
    .map(
      (name) => `apiVersion: v1
kind: ConfigMap
metadata: { name: ${name} }
data: { value: "${name}" }`,
    )
    .join('\n---\n');

describe('workload-controller reconcile against the sandbox', () => {
  let sandbox: SandboxServer;
  let sandboxUrl: string;
  let kubeconfig: string;
  let cluster: ClusterConnection;
  const kubeRequests: Array<{ method: string; url: string }> = [];

  beforeAll(async () => {
    // Its debug log names every Kubernetes request: what a reconcile asked the cluster is counted from it.
    const requestLog = {
      write: (line: string) => {
        const entry = JSON.parse(line) as { msg?: string; method: string; url: string };
        if (entry.msg === 'kube request') kubeRequests.push(entry);
      },
    };
    sandbox = createSandboxServer({ port: 0, timeScale: 100, logger: pino({ level: 'debug' }, requestLog) });
    const { url } = await sandbox.start();
    sandboxUrl = url;
    kubeconfig = await (await fetch(`${url}/_sandbox/kubeconfig`)).text();
    cluster = createClusterConnections().connect({ uid: 'observer', kubeconfig });
  });
  afterAll(() => sandbox.close());

  let counter = 0;
  async function setup(options: { definition: Record<string, unknown>; clusterPhase?: Phase; namespace?: string; instance?: Record<string, unknown> }) {
    counter += 1;
    const api = createFakeApi({ kinds: KINDS, identity: { name: 'workload-controller', type: 'controller', controller: 'workload-controller' } });
    await api.create({ kind: 'ClusterDefinition', metadata: { name: 'local' }, spec: { provider: 'kubeconfig' } });
    const clusterObj = await api.create({ kind: 'ClusterInstance', metadata: { name: 'local' }, spec: { definitionRef: { name: 'local' }, kubeconfig } });
    api.setStatus({ kind: 'ClusterInstance', name: 'local' }, { phase: options.clusterPhase ?? 'Ready', conditions: [{ type: 'Ready', status: options.clusterPhase === undefined ? 'True' : 'False', reason: 'Unreachable', message: 'connect ECONNREFUSED' }] });
    await api.create({ kind: 'WorkloadDefinition', metadata: { name: 'def' }, spec: options.definition });
    await api.create({ kind: 'DomainDefinition', metadata: { name: 'example' }, spec: {} });
    await api.create({ kind: 'GatewayDefinition', metadata: { name: 'public' }, spec: {} });
    const namespace = options.namespace ?? `unit-${counter}`;
    const obj = await api.create({
      kind: 'WorkloadInstance',
      metadata: { name: 'app', project: 'team' },
      spec: { definitionRef: { name: 'def' }, clusterRef: { name: 'local' }, namespace, ...options.instance },
    });
    return { api, obj, namespace, clusterObj };
  }

  /** A stand-in for `helm template`: what it was asked, and the objects it answers (or the error it throws). */
  const chartCalls: Array<{ releaseName: string; namespace: string; values?: Record<string, unknown> }> = [];
  let chartAnswer: (values: Record<string, unknown>) => KubeManifest[] = () => [];
  const charts: ChartRenderer = {
    render: async (input) => {
      chartCalls.push({ releaseName: input.releaseName, namespace: input.namespace, ...(input.values ? { values: input.values } : {}) });
      return { objects: chartAnswer(input.values ?? {}), digest: 'sha256:test' };
    },
  };
  const controller = (killPoint?: Parameters<typeof createWorkloadController>[0]['killPoint']) =>
    createWorkloadController({ connections: createClusterConnections(), charts, progressingRequeueMs: 100, degradedRetryMs: 100, clusterWaitMs: 1_000, ...(killPoint ? { killPoint } : {}) });
  const reconcileWith = (api: FakeApi, obj: Resource, killPoint?: Parameters<typeof controller>[0]) => reconcileOnce(controller(killPoint), obj, { api });
  const configMaps = async (namespace: string) =>
    (await cluster.list('v1', 'ConfigMap', { namespace, labelSelector: 'tugboat.dev/instance=app' }))
      .map((map) => map.metadata?.name)
      .filter((name) => !name!.startsWith('tugboat-inventory'))
      .sort();
  const uids = async (namespace: string) => Object.fromEntries((await cluster.list('v1', 'ConfigMap', { namespace })).map((map) => [map.metadata?.name, map.metadata?.uid]));
  async function untilReady(api: FakeApi, obj: Resource) {
    for (let i = 0; i < 50; i += 1) {
      const { object } = await reconcileWith(api, obj);
      if (object?.status.phase === 'Ready') return object as unknown as Resource<Record<string, unknown>, WorkloadStatus>;
    }
    throw new Error('not Ready after 50 reconciles');
  }

  it('renders a Helm chart with the definition values under the instance values, and applies it like manifests', async () => {
    chartAnswer = (values) => [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'chart-config', namespace: 'ignored' }, data: { message: String((values['ui'] as Record<string, unknown>)['message']) } },
    ];
    const definition = { helm: { repository: 'https://charts.example.com', chart: 'demo', version: '1.0.0', values: { ui: { message: 'hello', color: 'blue' } }, overridableValues: ['ui.message'] } };
    const { api, obj, namespace } = await setup({ definition, instance: { overrides: { values: { ui: { message: 'from the instance' } } } } });
    const ready = await untilReady(api, obj);
    expect(chartCalls.at(-1)).toEqual({ releaseName: 'app', namespace, values: { ui: { message: 'from the instance', color: 'blue' } } });
    expect(ready.status.objects?.map((row) => `${row.kind}/${row.name}`)).toEqual(['ConfigMap/chart-config']);
    const applied = await cluster.read<KubernetesObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'chart-config', namespace } });
    expect(applied?.data).toEqual({ message: 'from the instance' });
  });

  it('applies nothing from a chart whose objects break the guardrails, and says which', async () => {
    chartAnswer = () => [
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'big' }, spec: { replicas: 9, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'evil.example.com/x:1' }] } } } },
    ];
    const definition = { helm: { repository: 'oci://registry.example.com/charts', chart: 'demo', version: '1.0.0' }, maxReplicas: 3, allowedImageRegistries: ['ghcr.io'] };
    const { api, obj, namespace } = await setup({ definition });
    const { object } = await reconcileWith(api, obj);
    expect(object?.status.phase).toBe('Degraded');
    const ready = object?.status.conditions?.find((condition) => condition.type === 'Ready');
    expect(ready?.reason).toBe('GuardrailViolation');
    expect(ready?.message).toContain('Deployment big: 9 replicas is more than WorkloadDefinition def allows (3) (maxReplicas)');
    expect(ready?.message).toContain('registry evil.example.com');
    expect(await cluster.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'big', namespace } })).toBeUndefined();
  });

  it('says what helm said when a chart cannot be fetched', async () => {
    chartAnswer = () => {
      throw Object.assign(new Error('chart "demo" version "9.9.9" not found in https://charts.example.com repository'), { reason: 'VersionNotFound' });
    };
    const { api, obj } = await setup({ definition: { helm: { repository: 'https://charts.example.com', chart: 'demo', version: '9.9.9' } } });
    const { object } = await reconcileWith(api, obj);
    const ready = object?.status.conditions?.find((condition) => condition.type === 'Ready');
    expect(ready).toMatchObject({ reason: 'ChartVersionNotFound', message: expect.stringContaining('chart "demo" version "9.9.9" not found') });
  });

  it('writes the Exposure of an exposed instance, changes it with the instance, deletes it when the exposure goes, and waits for it at deletion', async () => {
    const expose = { domainRef: { name: 'example' }, gatewayRef: { name: 'public' }, port: 80 };
    const { api, obj, namespace } = await setup({ definition: { manifests: MANIFESTS(['a']) }, instance: { expose } });
    await reconcileWith(api, obj);
    const key = { kind: 'Exposure', project: 'team', name: 'app' };
    expect(api.object(key)).toMatchObject({
      metadata: { ownerReferences: [expect.objectContaining({ kind: 'WorkloadInstance', name: 'app' })] },
      spec: { workload: 'app', clusterRef: { name: 'local' }, namespace, domainRef: { name: 'example' }, gatewayRef: { name: 'public' }, host: 'app', service: 'app', port: 80 },
    });
    const applyInstance = async (spec: Record<string, unknown>) => {
      await api.apply([{ kind: 'WorkloadInstance', metadata: { name: 'app', project: 'team' }, spec }]);
      return (await api.get({ kind: 'WorkloadInstance', project: 'team', name: 'app' }))!;
    };
    const changed = await applyInstance({ ...obj.spec, expose: { ...expose, host: 'www', path: '/shop' } });
    await reconcileWith(api, changed);
    expect(api.object(key)?.spec).toMatchObject({ host: 'www', path: '/shop' });
    const { expose: _gone, ...unexposed } = obj.spec as Record<string, unknown>;
    const plain = await applyInstance(unexposed);
    await reconcileWith(api, plain);
    expect(api.object(key)?.metadata.deletionRequestedAt ?? null).not.toBeNull();
    api.removeObject(key);
    const again = await applyInstance({ ...unexposed, expose });
    await reconcileWith(api, again);
    expect(api.object(key)).toBeDefined();
    await api.delete({ kind: 'WorkloadInstance', project: 'team', name: 'app' });
    const waiting = await reconcileWith(api, again);
    expect(waiting.report.outcome).toBe('requeue');
    expect(waiting.object?.status.conditions?.find((condition) => condition.type === 'Ready')).toMatchObject({ reason: 'WaitingForExposure' });
    api.removeObject(key);
    let outcome = waiting.report.outcome;
    for (let i = 0; i < 50 && outcome !== 'finalized'; i += 1) outcome = (await reconcileWith(api, again)).report.outcome;
    expect(outcome).toBe('finalized');
  });

  it('waits for a cluster that is not Ready, naming it and its reason', async () => {
    const { api, obj } = await setup({ definition: { manifests: MANIFESTS(['a']) }, clusterPhase: 'Degraded' });
    const { report, object } = await reconcileWith(api, obj);
    expect(report.outcome).toBe('requeue');
    expect(object?.status.phase).toBe('Progressing');
    const ready = object?.status.conditions?.find((condition) => condition.type === 'Ready');
    expect(ready).toMatchObject({ reason: 'WaitingForCluster', message: expect.stringContaining('ClusterInstance local is Degraded (Unreachable: connect ECONNREFUSED)') });
  });

  it('killed after apply, re-applies without re-creating anything and becomes Ready', async () => {
    const { api, obj, namespace } = await setup({ definition: { manifests: MANIFESTS(['a', 'b']) } });
    const kills: string[] = [];
    const killed = await reconcileWith(api, obj, armedKillPoint({ point: 'workload-after-apply', kill: () => kills.push('workload-after-apply') }));
    expect(kills).toEqual(['workload-after-apply']);
    expect(killed.report.outcome).toBe('error');
    expect(await configMaps(namespace)).toEqual(['a', 'b']);
    const before = await uids(namespace);
    const ready = await untilReady(api, obj);
    expect(ready.status.objects?.map((row) => `${row.kind}/${row.name}:${row.ready}`)).toEqual(['ConfigMap/a:true', 'ConfigMap/b:true']);
    expect(ready.status.outputs).toEqual({ namespace, cluster: 'local', addresses: [] });
    expect(await uids(namespace)).toEqual(before);
    const ns = await cluster.read<KubernetesObject>({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    expect(ns?.metadata?.labels).toMatchObject({ 'tugboat.dev/namespace-owner': obj.metadata.uid, 'app.kubernetes.io/managed-by': 'tugboat' });
  });

  it('killed mid-prune, prunes the rest on the next reconcile from the widened inventory', async () => {
    const { api, obj, namespace } = await setup({ definition: { manifests: MANIFESTS(['a', 'b', 'c', 'd']) } });
    await untilReady(api, obj);
    const kept = (await uids(namespace))['a'];
    await api.apply([{ kind: 'WorkloadDefinition', metadata: { name: 'def' }, spec: { manifests: MANIFESTS(['a']) } }]);
    const kills: string[] = [];
    await reconcileWith(api, obj, armedKillPoint({ point: 'workload-mid-prune', after: 1, kill: () => kills.push('workload-mid-prune') }));
    expect(kills).toEqual(['workload-mid-prune']);
    expect((await configMaps(namespace)).length).toBe(3); // one of three pruned
    const inventory = await cluster.read<KubernetesObject>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: inventoryName('app'), namespace } });
    expect(JSON.parse(inventory!.metadata!.annotations![INVENTORY_ANNOTATION]!)).toHaveLength(4); // still the superset
    const ready = await untilReady(api, obj);
    expect(await configMaps(namespace)).toEqual(['a']);
    expect((await uids(namespace))['a']).toBe(kept);
    expect(ready.status.definitionGeneration).toBe(2);
    expect(api.eventsOf({ kind: 'WorkloadInstance', project: 'team', name: 'app' }).filter((event) => event.reason === 'Pruned').length).toBeGreaterThan(0);
  });

  it('refuses a namespace another instance owns, and uses one nobody owns without deleting it', async () => {
    await cluster.ensureNamespace('taken', { fieldManager: 'test', labels: { 'tugboat.dev/namespace-owner': 'someone-else' } });
    const taken = await setup({ definition: { manifests: MANIFESTS(['a']) }, namespace: 'taken' });
    const { object } = await reconcileWith(taken.api, taken.obj);
    expect(object?.status.phase).toBe('Degraded');
    expect(object?.status.conditions?.find((condition) => condition.type === 'Ready')).toMatchObject({
      reason: 'NamespaceTaken',
      message: expect.stringContaining('set spec.namespace'),
    });

    await cluster.ensureNamespace('shared', { fieldManager: 'test' });
    const shared = await setup({ definition: { manifests: MANIFESTS(['a']) }, namespace: 'shared' });
    await untilReady(shared.api, shared.obj);
    await shared.api.delete({ kind: 'WorkloadInstance', project: 'team', name: 'app' });
    const done = await reconcileWith(shared.api, shared.obj);
    expect(done.report.outcome).toBe('finalized');
    expect(await configMaps('shared')).toEqual([]);
    expect(await cluster.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shared' } })).toBeDefined();
  });

  // Two instances rendering the same cluster-wide object, or the same names in a namespace neither
  // owns, took the objects from each other on every apply, and one's delete removed the other's.
  it('does not take over or delete what another instance holds, and says whose it is', async () => {
    await cluster.ensureNamespace('meet', { fieldManager: 'test' });
    const withRole = `${MANIFESTS(['m'])}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: meet-reader }\nrules: [{ apiGroups: [''], resources: [pods], verbs: [get] }]`;
    const first = await setup({ definition: { manifests: withRole }, namespace: 'meet' });
    await untilReady(first.api, first.obj);
    const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'meet-reader' } } as KubernetesObject;
    expect((await cluster.read(role))?.metadata?.labels?.['tugboat.dev/instance-uid']).toBe(first.obj.metadata.uid);

    // The same names from a second instance (another project's namesake): refused, naming the holder.
    const second = await setup({ definition: { manifests: withRole }, namespace: 'meet' });
    const { object } = await reconcileWith(second.api, second.obj);
    expect(object?.status.phase).toBe('Degraded');
    const ready = object?.status.conditions?.find((condition) => condition.type === 'Ready');
    expect(ready).toMatchObject({ reason: 'ObjectTaken', message: expect.stringContaining('ClusterRole meet-reader belongs to WorkloadInstance team/app') });
    expect(ready?.message).toContain('ConfigMap meet/tugboat-inventory.app belongs to WorkloadInstance team/app');
    expect((await cluster.read(role))?.metadata?.labels?.['tugboat.dev/instance-uid']).toBe(first.obj.metadata.uid);

    // Its deletion removes none of the first's objects.
    await second.api.delete({ kind: 'WorkloadInstance', project: 'team', name: 'app' });
    let outcome: string | undefined;
    for (let i = 0; i < 20 && outcome !== 'finalized'; i += 1) outcome = (await reconcileWith(second.api, second.obj)).report.outcome;
    expect(outcome).toBe('finalized');
    expect(await cluster.read(role)).toBeDefined();
    expect(await configMaps('meet')).toEqual(['m']);
    expect((await reconcileWith(first.api, first.obj)).object?.status.phase).toBe('Ready');
    await first.api.delete({ kind: 'WorkloadInstance', project: 'team', name: 'app' });
    for (let i = 0; i < 20 && (await reconcileWith(first.api, first.obj)).report.outcome !== 'finalized'; i += 1);
    expect(await cluster.read(role)).toBeUndefined();
  });

  // It stayed Progressing for good: "waiting for Service …: no ready pod behind the selector yet".
  it('is Ready scaled to zero replicas: no endpoints are waited for', async () => {
    const { api, obj } = await setup({ definition: { container: { image: 'nginx:1.27', ports: [{ port: 80 }], replicas: 0 } } });
    const ready = await untilReady(api, obj);
    const rows = (ready.status as { objects?: Array<{ kind: string; reason: string }> }).objects ?? [];
    expect(rows.find((row) => row.kind === 'Service')).toMatchObject({ reason: 'ScaledToZero' });
  });

  it('killed mid-delete, finishes on the next try: objects, inventory and its own namespace gone', async () => {
    const { api, obj, namespace } = await setup({ definition: { manifests: MANIFESTS(['a', 'b']) } });
    await untilReady(api, obj);
    await api.delete({ kind: 'WorkloadInstance', project: 'team', name: 'app' });
    const kills: string[] = [];
    const killed = await reconcileWith(api, obj, armedKillPoint({ point: 'workload-mid-delete', after: 1, kill: () => kills.push('workload-mid-delete') }));
    expect(kills).toEqual(['workload-mid-delete']);
    expect(killed.object?.metadata.finalizers).toContain('workload-controller');
    let outcome: string | undefined;
    for (let i = 0; i < 50 && outcome !== 'finalized'; i += 1) outcome = (await reconcileWith(api, obj)).report.outcome;
    expect(outcome).toBe('finalized');
    expect(await cluster.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } } as KubernetesObject)).toBeUndefined();
    expect(await cluster.list('v1', 'ConfigMap', { labelSelector: `tugboat.dev/instance-uid=${obj.metadata.uid}` })).toEqual([]);
  });

  it('keeps the finalizer and says why while the cluster cannot be reached', async () => {
    const { api, obj } = await setup({ definition: { manifests: MANIFESTS(['a']) } });
    await untilReady(api, obj);
    // A port nothing listens on: bind one, note it, close it.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = kubeconfig.replace(/server: \S+/g, `server: http://127.0.0.1:${port}/k8s/local`);
    await api.apply([{ kind: 'ClusterInstance', metadata: { name: 'local' }, spec: { definitionRef: { name: 'local' }, kubeconfig: unreachable } }]);
    await api.delete({ kind: 'WorkloadInstance', project: 'team', name: 'app' });
    const stuck = await reconcileWith(api, obj);
    expect(stuck.report.outcome).toBe('error');
    expect(stuck.object?.metadata.finalizers).toContain('workload-controller');
    expect(stuck.object?.status.phase).toBe('Deleting');
    expect(stuck.object?.status.conditions?.find((condition) => condition.type === 'Ready')).toMatchObject({
      reason: 'ClusterUnavailable',
      message: expect.stringContaining('tug delete workloadinstance app -p team --force'),
    });
  });

  it('asks the cluster no more than a rollout needs: no inventory read in a namespace it just made, a Service\'s endpoints once the rest is ready', async () => {
    const { api, obj, namespace } = await setup({ definition: { container: { image: 'nginx:1.27', ports: [{ port: 80 }] } } });
    const inNamespace = (from: number) => kubeRequests.slice(from).filter((request) => request.url.includes(`/namespaces/${namespace}/`)).map((request) => `${request.method} ${request.url.split('?')[0]!.replace(`/namespaces/${namespace}/`, ' ')}`);
    const start = kubeRequests.length;
    const { object: first } = await reconcileWith(api, obj);
    // Applied (the inventory first), and nothing read: the namespace was new, and the Deployment has no ready pod yet.
    // (Logged as each answer leaves the sandbox: the three objects are applied side by side, in any order.)
    expect(inNamespace(start).sort()).toEqual(['PATCH /local/api/v1 configmaps/tugboat-inventory.app', 'PATCH /local/api/v1 serviceaccounts/app', 'PATCH /local/api/v1 services/app', 'PATCH /local/apis/apps/v1 deployments/app']);
    expect(first?.status.phase).toBe('Progressing');
    const status = first?.status as unknown as WorkloadStatus;
    expect(status.objects?.find((row) => row.kind === 'Service')).toMatchObject({ ready: false, reason: 'NotChecked', message: 'its endpoints are checked once the other objects are ready' });
    const why = first?.status.conditions?.find((condition) => condition.type === 'Ready')?.message;
    expect(why?.startsWith(`waiting for Deployment ${namespace}/app: `)).toBe(true);
    expect(why).not.toContain('Service');
    const later = kubeRequests.length;
    const ready = await untilReady(api, obj);
    expect(ready.status.objects?.find((row) => row.kind === 'Service')).toMatchObject({ ready: true });
    expect(inNamespace(later)).toContain('GET /local/api/v1 endpoints/app');
  });

  it('delivers its secrets as environment variables and files, waits for a value, and rolls the pods when one changes', async () => {
    const { api, namespace } = await setup({ definition: { container: { image: 'nginx:1.27', ports: [{ port: 80 }] } } });
    await api.create({ kind: 'SecretDefinition', metadata: { name: 'sealed' }, spec: { backend: 'tugboat' } });
    await api.create({ kind: 'SecretInstance', metadata: { name: 'token', project: 'team' }, spec: { definitionRef: { name: 'sealed' }, key: 'API_TOKEN', value: 'first-token' } });
    await api.create({ kind: 'SecretInstance', metadata: { name: 'tls', project: 'team' }, spec: { definitionRef: { name: 'sealed' }, key: 'key_pem' } });
    const obj = await api.replace({
      kind: 'WorkloadInstance',
      metadata: { name: 'app', project: 'team' },
      spec: { definitionRef: { name: 'def' }, clusterRef: { name: 'local' }, namespace, secrets: [{ ref: { name: 'token' } }, { ref: { name: 'tls' }, as: 'file', mountPath: '/etc/tls' }] },
    });
    const waiting = await reconcileWith(api, obj);
    expect(waiting.object?.status.conditions?.find((condition) => condition.type === 'Ready')).toMatchObject({ reason: 'WaitingForSecret', message: expect.stringContaining('SecretInstance tls has no value yet: set it with `tug secret set secretinstance/tls -p team') });
    const tls = api.object({ kind: 'SecretInstance', project: 'team', name: 'tls' })!;
    await api.replace({ kind: 'SecretInstance', metadata: { name: 'tls', project: 'team', resourceVersion: tls.metadata.resourceVersion }, spec: { ...tls.spec, value: '-----BEGIN KEY-----' } });
    await untilReady(api, obj);
    const secret = await cluster.read<KubernetesObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tugboat-secret-token', namespace } });
    expect(Buffer.from(secret?.data?.['API_TOKEN'] ?? '', 'base64').toString()).toBe('first-token');
    type Pod = { metadata: { annotations: Record<string, string> }; spec: { containers: Array<{ env?: unknown[]; volumeMounts?: Array<{ mountPath: string }> }>; volumes?: Array<{ secret?: { secretName: string } }> } };
    const template = async () => (await cluster.read<KubernetesObject & { spec?: { template: Pod } }>({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'app', namespace } }))!.spec!.template;
    const before = await template();
    expect(before.spec.containers[0]!.env).toEqual([{ name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'tugboat-secret-token', key: 'API_TOKEN' } } }]);
    expect(before.spec.containers[0]!.volumeMounts?.map((mount) => mount.mountPath)).toEqual(['/etc/tls']);
    expect(before.spec.volumes?.map((volume) => volume.secret?.secretName)).toEqual(['tugboat-secret-tls']);
    const checksum = before.metadata.annotations['tugboat.dev/secrets-checksum'];
    expect(checksum).toMatch(/^[0-9a-f]{32}$/);

    const token = api.object({ kind: 'SecretInstance', project: 'team', name: 'token' })!;
    await api.replace({ kind: 'SecretInstance', metadata: { name: 'token', project: 'team', resourceVersion: token.metadata.resourceVersion }, spec: { ...token.spec, value: 'second-token' } });
    await untilReady(api, obj);
    expect((await template()).metadata.annotations['tugboat.dev/secrets-checksum']).not.toBe(checksum);
    const rotated = await cluster.read<KubernetesObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tugboat-secret-token', namespace } });
    expect(Buffer.from(rotated?.data?.['API_TOKEN'] ?? '', 'base64').toString()).toBe('second-token');
    // The values are in no status.
    expect(JSON.stringify(api.objects())).not.toMatch(/first-token|second-token|BEGIN KEY/);
  });

  it('starts the app once its database is Ready, with a Secret and envFrom, and rolls its pods on a new password version', async () => {
    const { api, namespace } = await setup({ definition: { container: { image: 'nginx:1.27', ports: [{ port: 80 }] } } });
    await api.create({ kind: 'AwsAccount', metadata: { name: 'main' }, spec: { accountId: '123456789012', region: 'us-east-1', accessKeyId: 'AKIAEXAMPLEEXAMPLE01', secretAccessKey: 'x' } });
    await api.create({ kind: 'DatabaseInstance', metadata: { name: 'orders', project: 'team' }, spec: { databaseName: 'orders' } });
    const obj = await api.replace({
      kind: 'WorkloadInstance',
      metadata: { name: 'app', project: 'team' },
      spec: { definitionRef: { name: 'def' }, clusterRef: { name: 'local' }, namespace, databases: [{ ref: { name: 'orders' }, envPrefix: 'ORDERS_DB' }] },
    });
    const asked: string[] = [];
    const withSecrets = createWorkloadController({
      connections: createClusterConnections(),
      progressingRequeueMs: 100,
      degradedRetryMs: 100,
      clusterWaitMs: 1_000,
      managedSecrets: {
        password: async ({ secretArn, version }) => {
          asked.push(`${secretArn}@${version ?? ''}`);
          return `password-${version ?? 'current'}`;
        },
      },
    });

    // The database is still being made: nothing is applied, and the status says which database and why.
    api.setStatus({ kind: 'DatabaseInstance', project: 'team', name: 'orders' }, { phase: 'Progressing', observedGeneration: 1, conditions: [{ type: 'Ready', status: 'False', reason: 'WaitingForInstance', message: 'RDS instance tugboat-team-orders is creating' }] });
    const waiting = await reconcileOnce(withSecrets, obj, { api });
    expect(waiting.object?.status.phase).toBe('Progressing');
    expect(waiting.object?.status.conditions?.find((c) => c.type === 'DatabasesReady')).toMatchObject({
      status: 'False',
      reason: 'DatabaseNotReady',
      message: 'DatabaseInstance orders is Progressing (WaitingForInstance: RDS instance tugboat-team-orders is creating)',
    });
    expect(await cluster.list('apps/v1', 'Deployment', { namespace })).toEqual([]);

    const outputs = { engine: 'postgres', host: 'orders.rds.local', port: 5432, databaseName: 'orders', username: 'tugboat', secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1-abcdef', passwordVersion: 'v1', accountName: 'main', region: 'us-east-1' };
    api.setStatus({ kind: 'DatabaseInstance', project: 'team', name: 'orders' }, { phase: 'Ready', observedGeneration: 1, outputs });
    let ready: Resource | undefined;
    for (let i = 0; i < 50 && ready === undefined; i += 1) {
      const { object } = await reconcileOnce(withSecrets, obj, { api });
      if (object?.status.phase === 'Ready') ready = object as unknown as Resource;
    }
    expect(ready).toBeDefined();
    const secret = await cluster.read({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tugboat-db-orders', namespace } });
    const data = Object.fromEntries(Object.entries((secret as unknown as { data: Record<string, string> }).data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    expect(data).toMatchObject({ HOST: 'orders.rds.local', PORT: '5432', PASSWORD: 'password-v1', URL: 'postgresql://tugboat:password-v1@orders.rds.local:5432/orders' });
    const deployment = async () => (await cluster.list('apps/v1', 'Deployment', { namespace }))[0] as unknown as { spec: { template: { metadata: { annotations: Record<string, string> }; spec: { containers: Array<{ envFrom: unknown[] }> } } } };
    expect((await deployment()).spec.template.spec.containers[0]!.envFrom).toEqual([{ prefix: 'ORDERS_DB_', secretRef: { name: 'tugboat-db-orders' } }]);
    const before = (await deployment()).spec.template.metadata.annotations['tugboat.dev/databases-checksum'];
    // The password never reaches the status.
    expect(JSON.stringify(api.objects())).not.toContain('password-v1');

    // A rotation: a new version of the secret; the Secret follows and the pods roll.
    api.setStatus({ kind: 'DatabaseInstance', project: 'team', name: 'orders' }, { phase: 'Ready', observedGeneration: 1, outputs: { ...outputs, passwordVersion: 'v2' } });
    await reconcileOnce(withSecrets, obj, { api });
    const rotated = await cluster.read({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tugboat-db-orders', namespace } });
    expect(Buffer.from((rotated as unknown as { data: Record<string, string> }).data['PASSWORD']!, 'base64').toString()).toBe('password-v2');
    expect((await deployment()).spec.template.metadata.annotations['tugboat.dev/databases-checksum']).not.toBe(before);
    expect(asked).toContain(`${outputs.secretArn}@v2`);
  });

  /** A Secrets Manager call on the sandbox (it takes any key when none is configured; the signature is not checked then). */
  async function secretsManager(operation: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const response = await fetch(sandboxUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `secretsmanager.${operation}`,
        authorization: `AWS4-HMAC-SHA256 Credential=AKIAWORKLOADUNITTEST/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`,
      },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, unknown>;
  }

  it('delivers a Secrets Manager secret through an ExternalSecret pinned to its version, and rolls the pods only once the operator wrote it', async () => {
    // The simulated External Secrets Operator on the cluster, with the store the support-services-controller would have made.
    for (const crd of externalSecretsCrds()) await cluster.apply(crd as KubernetesObject, { fieldManager: 'unit-test' });
    await cluster.ensureNamespace('external-secrets', { fieldManager: 'unit-test' });
    for (const deployment of externalSecretsDeployments()) await cluster.apply(deployment as KubernetesObject, { fieldManager: 'unit-test' });
    await cluster.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tugboat-vault-aws', namespace: 'external-secrets' }, stringData: { 'access-key-id': 'AKIAWORKLOADUNITTEST', 'secret-access-key': 'any' } } as KubernetesObject, { fieldManager: 'unit-test' });
    const ref = (key: string) => ({ name: 'tugboat-vault-aws', key, namespace: 'external-secrets' });
    await cluster.apply(
      { apiVersion: 'external-secrets.io/v1beta1', kind: 'ClusterSecretStore', metadata: { name: 'tugboat-vault' }, spec: { provider: { aws: { service: 'SecretsManager', region: 'us-east-1', auth: { secretRef: { accessKeyIDSecretRef: ref('access-key-id'), secretAccessKeySecretRef: ref('secret-access-key') } } } } } } as KubernetesObject,
      { fieldManager: 'unit-test' },
    );
    const first = String((await secretsManager('CreateSecret', { Name: 'tugboat/team/key', SecretString: 'first-remote-value' }))['VersionId']);

    const { api, namespace } = await setup({ definition: { container: { image: 'nginx:1.27', ports: [{ port: 80 }] } } });
    await api.create({ kind: 'AwsAccount', metadata: { name: 'main' }, spec: { accountId: '123456789012', region: 'us-east-1', accessKeyId: 'AKIAWORKLOADUNITTEST', secretAccessKey: 'any' } });
    await api.create({ kind: 'SecretDefinition', metadata: { name: 'vault' }, spec: { backend: 'aws-secrets-manager', accountRef: { name: 'main' } } });
    await api.create({ kind: 'SecretInstance', metadata: { name: 'key', project: 'team' }, spec: { definitionRef: { name: 'vault' }, key: 'API_KEY' } });
    const written = (versionId: string) => {
      const secret = api.object({ kind: 'SecretInstance', project: 'team', name: 'key' })!;
      const generation = secret.metadata.generation;
      api.setStatus(
        { kind: 'SecretInstance', project: 'team', name: 'key' },
        {
          phase: 'Ready',
          observedGeneration: generation,
          outputs: { backend: 'aws-secrets-manager', key: 'API_KEY', secretName: 'tugboat/team/key', region: 'us-east-1', versionId, version: String(generation) },
          stores: [{ cluster: 'local', store: 'tugboat-vault', ready: true, reason: 'StoreReady', message: 'ready', workloads: ['app'] }],
        },
      );
    };
    const obj = await api.replace({
      kind: 'WorkloadInstance',
      metadata: { name: 'app', project: 'team' },
      spec: { definitionRef: { name: 'def' }, clusterRef: { name: 'local' }, namespace, secrets: [{ ref: { name: 'key' } }] },
    });
    // Not written to Secrets Manager yet: the app waits, naming the secret.
    const unwritten = await reconcileWith(api, obj);
    expect(unwritten.object?.status.conditions?.find((condition) => condition.type === 'SecretsReady')).toMatchObject({ reason: 'SecretNotStored', message: expect.stringContaining('SecretInstance key is not written to AWS Secrets Manager at generation 1 yet') });
    written(first);

    type Template = { metadata: { annotations: Record<string, string> }; spec: { containers: Array<{ env?: unknown[] }> } };
    const deployment = () => cluster.read<KubernetesObject & { spec?: { template: Template } }>({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'app', namespace } });
    const target = async () => {
      const secret = await cluster.read<KubernetesObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tugboat-secret-key', namespace } });
      return secret === undefined ? undefined : { value: Buffer.from(secret.data?.['API_KEY'] ?? '', 'base64').toString(), managers: [...new Set(secret.metadata?.managedFields?.map((entry) => entry.manager))] };
    };
    // The ExternalSecret first; the app's pods not before the operator wrote their Secret.
    const syncing = await reconcileWith(api, obj);
    expect(syncing.object?.status.conditions?.find((condition) => condition.type === 'Ready')).toMatchObject({ reason: 'WaitingForSecret', message: expect.stringContaining('SecretInstance key on cluster local: the External Secrets Operator says:') });
    expect(await deployment()).toBeUndefined();
    const external = await cluster.read<KubernetesObject & { spec?: Record<string, unknown> }>({ apiVersion: 'external-secrets.io/v1beta1', kind: 'ExternalSecret', metadata: { name: 'tugboat-secret-key', namespace } });
    expect(external?.spec).toMatchObject({ secretStoreRef: { kind: 'ClusterSecretStore', name: 'tugboat-vault' }, target: { name: 'tugboat-secret-key', creationPolicy: 'Owner' }, data: [{ secretKey: 'API_KEY', remoteRef: { key: 'tugboat/team/key', version: `uuid/${first}` } }] });

    const untilReadyAgain = async () => {
      for (let attempt = 0; attempt < 200; attempt += 1) {
        const { object } = await reconcileWith(api, obj);
        if (object?.status.phase === 'Ready') return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error('not Ready after 200 reconciles');
    };
    await untilReadyAgain();
    expect(await target()).toEqual({ value: 'first-remote-value', managers: ['external-secrets'] });
    const before = (await deployment())!.spec!.template;
    expect(before.spec.containers[0]!.env).toEqual([{ name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'tugboat-secret-key', key: 'API_KEY' } } }]);
    const checksum = before.metadata.annotations['tugboat.dev/secrets-checksum'];

    // A new version: the ExternalSecret moves to it at once, the pods once the operator wrote it.
    const second = String((await secretsManager('PutSecretValue', { SecretId: 'tugboat/team/key', SecretString: 'second-remote-value' }))['VersionId']);
    const secret = api.object({ kind: 'SecretInstance', project: 'team', name: 'key' })!;
    await api.replace({ kind: 'SecretInstance', metadata: { name: 'key', project: 'team', resourceVersion: secret.metadata.resourceVersion }, spec: { ...secret.spec, value: 'second-remote-value' } });
    written(second);
    const moving = await reconcileWith(api, obj);
    expect(moving.object?.status.phase).toBe('Progressing');
    expect((await deployment())!.spec!.template.metadata.annotations['tugboat.dev/secrets-checksum']).toBe(checksum);
    await untilReadyAgain();
    expect((await deployment())!.spec!.template.metadata.annotations['tugboat.dev/secrets-checksum']).not.toBe(checksum);
    expect(await target()).toEqual({ value: 'second-remote-value', managers: ['external-secrets'] });
    expect(JSON.stringify(api.objects())).not.toMatch(/first-remote-value/);
  });
});
