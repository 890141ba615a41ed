import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  makeInformer,
  setHeaderOptions,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Deployment,
} from '@kubernetes/client-node';
import { eventually, startKubeTestServer, type KubeTestServer } from './kube-test-server.js';

let server: KubeTestServer;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
let objects: KubernetesObjectApi;
let token: string;

beforeAll(async () => {
  server = await startKubeTestServer({
    scale: 50,
    watchHistorySize: 40,
    anonymousAccess: false,
    verifyToken: (cluster, candidate) => cluster === 'local' && candidate === 'k8s-aws-v1.accepted',
  });
  token = server.simulator.addCluster('local', { nodes: [{ name: 'node-a' }, { name: 'node-b', labels: { pool: 'b' } }] }).token;
  kc = new KubeConfig();
  kc.loadFromString(server.simulator.kubeconfig(server.baseUrl, ['local']));
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  objects = KubernetesObjectApi.makeApiClient(kc);
});

afterAll(async () => {
  await server.close();
});

/** Raw HTTP, for asserting exact Status bodies. */
async function raw(method: string, path: string, body?: unknown, contentType = 'application/json', auth = `Bearer ${token}`) {
  const response = await fetch(`${server.baseUrl}/k8s/local${path}`, {
    method,
    headers: { authorization: auth, 'content-type': contentType, accept: 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function expectApiError(promise: Promise<unknown>, code: number): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<unknown>).code).toBe(code);
    const body = (error as ApiException<unknown>).body;
    return (typeof body === 'string' ? JSON.parse(body) : body) as Record<string, unknown>;
  }
  throw new Error(`expected HTTP ${code}`);
}

function deployment(name: string, namespace: string, image: string, extra: Partial<V1Deployment['spec']> = {}): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } },
      ...extra,
    },
  };
}

describe('simulated Kubernetes API with @kubernetes/client-node', () => {
  it('serves CRUD with resourceVersion, generation and real error Status bodies', async () => {
    await core.createNamespace({ body: { metadata: { name: 'crud' } } });
    const created = await core.createNamespacedConfigMap({ namespace: 'crud', body: { metadata: { name: 'settings', labels: { tier: 'web' } }, data: { a: '1' } } });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.generation).toBe(1);
    const read = await core.readNamespacedConfigMap({ name: 'settings', namespace: 'crud' });
    expect(read.data).toEqual({ a: '1' });

    const replaced = await core.replaceNamespacedConfigMap({ name: 'settings', namespace: 'crud', body: { ...read, data: { a: '2' } } });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(Number(read.metadata?.resourceVersion));
    expect(replaced.metadata?.generation).toBe(2);

    const stale = await expectApiError(core.replaceNamespacedConfigMap({ name: 'settings', namespace: 'crud', body: { ...read, data: { a: '3' } } }), 409);
    expect(stale).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Conflict', code: 409 });
    expect(stale.message).toBe('Operation cannot be fulfilled on configmaps "settings": the object has been modified; please apply your changes to the latest version and try again');

    const duplicate = await expectApiError(core.createNamespacedConfigMap({ namespace: 'crud', body: { metadata: { name: 'settings' } } }), 409);
    expect(duplicate).toMatchObject({ reason: 'AlreadyExists', message: 'configmaps "settings" already exists', details: { name: 'settings', kind: 'configmaps' } });

    const missing = await raw('GET', '/apis/apps/v1/namespaces/crud/deployments/nope');
    expect(missing).toEqual({
      status: 404,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'deployments.apps "nope" not found', reason: 'NotFound', details: { name: 'nope', group: 'apps', kind: 'deployments' }, code: 404 },
    });

    const invalid = await raw('POST', '/apis/apps/v1/namespaces/crud/deployments', { metadata: { name: 'Bad_Name' }, spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'y' } }, spec: { containers: [] } } } });
    expect(invalid.status).toBe(422);
    expect(invalid.body).toMatchObject({ kind: 'Status', reason: 'Invalid', code: 422, details: { name: 'Bad_Name', group: 'apps', kind: 'Deployment' } });
    const causes = (invalid.body.details as { causes: Array<{ field: string; reason: string }> }).causes;
    expect(causes.map((cause) => [cause.field, cause.reason])).toEqual([
      ['metadata.name', 'FieldValueInvalid'],
      ['spec.template.metadata.labels', 'FieldValueInvalid'],
      ['spec.template.spec.containers', 'FieldValueRequired'],
    ]);
    expect(String(invalid.body.message)).toMatch(/^Deployment\.apps "Bad_Name" is invalid: \[metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);

    const inMissingNamespace = await raw('POST', '/api/v1/namespaces/ghost/configmaps', { metadata: { name: 'x' } });
    expect(inMissingNamespace.body).toMatchObject({ code: 404, reason: 'NotFound', message: 'namespaces "ghost" not found' });

    await core.deleteNamespacedConfigMap({ name: 'settings', namespace: 'crud' });
    await expectApiError(core.readNamespacedConfigMap({ name: 'settings', namespace: 'crud' }), 404);
  });

  it('rejects a wrong or missing token with a 401 Status', async () => {
    expect(await raw('GET', '/api/v1/namespaces', undefined, 'application/json', 'Bearer wrong')).toEqual({
      status: 401,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 },
    });
    const anonymous = await fetch(`${server.baseUrl}/k8s/local/api/v1/namespaces`);
    expect(anonymous.status).toBe(401);
    expect((await raw('GET', '/api/v1/namespaces', undefined, 'application/json', 'Bearer k8s-aws-v1.accepted')).status).toBe(200);
    expect((await raw('GET', '/api/v1/namespaces', undefined, 'application/json', 'Bearer k8s-aws-v1.other')).status).toBe(401);
  });

  it('filters lists by label and field selectors, and pages with limit/continue', async () => {
    await core.createNamespace({ body: { metadata: { name: 'select' } } });
    for (const [name, tier] of [['a', 'web'], ['b', 'db'], ['c', 'web']] as const) {
      await core.createNamespacedConfigMap({ namespace: 'select', body: { metadata: { name, labels: { tier, ...(name === 'c' ? { canary: 'true' } : {}) } } } });
    }
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (await core.listNamespacedConfigMap({ namespace: 'select', ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) })).items.map((item) => item.metadata?.name);
    expect(await names('tier=web')).toEqual(['a', 'c']);
    expect(await names('tier in (web,db),!canary')).toEqual(['a', 'b']);
    expect(await names('tier!=web')).toEqual(['b']);
    expect(await names(undefined, 'metadata.name=b')).toEqual(['b']);
    expect(await names('tier=web', 'metadata.name!=a')).toEqual(['c']);
    const unsupported = await raw('GET', '/api/v1/namespaces/select/configmaps?fieldSelector=data.x%3D1');
    expect(unsupported.body).toMatchObject({ code: 400, reason: 'BadRequest', message: 'field label not supported: data.x' });

    const first = await core.listNamespacedConfigMap({ namespace: 'select', limit: 2 });
    expect(first.items.map((item) => item.metadata?.name)).toEqual(['a', 'b']);
    expect(first.metadata?.remainingItemCount).toBe(1);
    const second = await core.listNamespacedConfigMap({ namespace: 'select', limit: 2, _continue: first.metadata?._continue as string });
    expect(second.items.map((item) => item.metadata?.name)).toEqual(['c']);
    expect(second.metadata?._continue).toBeUndefined();
  });

  it('watches with selectors, resumes from a resourceVersion and answers 410 once it is compacted', async () => {
    await core.createNamespace({ body: { metadata: { name: 'watching' } } });
    const listed = await core.listNamespacedConfigMap({ namespace: 'watching' });
    const events: Array<[string, string | undefined, string | undefined]> = [];
    const watch = new Watch(kc);
    const controller = await watch.watch(
      '/api/v1/namespaces/watching/configmaps',
      { resourceVersion: listed.metadata?.resourceVersion, labelSelector: 'watched=yes', allowWatchBookmarks: true },
      (type, object: KubernetesObject) => events.push([type, object.metadata?.name, object.metadata?.resourceVersion]),
      () => undefined,
    );
    await core.createNamespacedConfigMap({ namespace: 'watching', body: { metadata: { name: 'one', labels: { watched: 'yes' } } } });
    await core.createNamespacedConfigMap({ namespace: 'watching', body: { metadata: { name: 'ignored' } } });
    const patch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await core.patchNamespacedConfigMap({ name: 'one', namespace: 'watching', body: { data: { k: 'v' } } }, patch);
    await core.patchNamespacedConfigMap({ name: 'one', namespace: 'watching', body: { metadata: { labels: { watched: 'no' } } } }, patch);
    await eventually(() => (events.length >= 3 ? true : undefined), 5000, 'three watch events');
    controller.abort();
    expect(events.map(([type, name]) => [type, name])).toEqual([
      ['ADDED', 'one'],
      ['MODIFIED', 'one'],
      ['DELETED', 'one'],
    ]);

    // Resume from the version of the first event: only what came after it is replayed.
    const resumed: string[] = [];
    const again = await watch.watch(
      '/api/v1/namespaces/watching/configmaps',
      { resourceVersion: events[0]?.[2] },
      (type, object: KubernetesObject) => resumed.push(`${type} ${object.metadata?.name}`),
      () => undefined,
    );
    await eventually(() => (resumed.length >= 3 ? true : undefined), 5000, 'replayed events');
    again.abort();
    expect(resumed).toEqual(['ADDED ignored', 'MODIFIED one', 'MODIFIED one']);

    // Push the first event out of the 40-event history: resuming from it is now 410 Expired.
    for (let index = 0; index < 45; index += 1) {
      await core.patchNamespacedConfigMap({ name: 'ignored', namespace: 'watching', body: { data: { n: String(index) } } }, patch);
    }
    const response = await fetch(`${server.baseUrl}/k8s/local/api/v1/namespaces/watching/configmaps?watch=true&resourceVersion=${events[0]?.[2]}`, { headers: { authorization: `Bearer ${token}` } });
    const line = JSON.parse((await response.text()).trim()) as { type: string; object: Record<string, unknown> };
    expect(line.type).toBe('ERROR');
    expect(line.object).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 });
  });

  it('feeds a client-node informer from list and watch', async () => {
    await core.createNamespace({ body: { metadata: { name: 'informed' } } });
    const seen: string[] = [];
    const informer = makeInformer(kc, '/api/v1/namespaces/informed/configmaps', () => core.listNamespacedConfigMap({ namespace: 'informed' }));
    informer.on('add', (object) => seen.push(`add ${object.metadata?.name}`));
    informer.on('update', (object) => seen.push(`update ${object.metadata?.name} ${JSON.stringify(object.data)}`));
    informer.on('delete', (object) => seen.push(`delete ${object.metadata?.name}`));
    await core.createNamespacedConfigMap({ namespace: 'informed', body: { metadata: { name: 'before' } } });
    await informer.start();
    try {
      await core.createNamespacedConfigMap({ namespace: 'informed', body: { metadata: { name: 'after' }, data: { v: '1' } } });
      await core.patchNamespacedConfigMap({ name: 'after', namespace: 'informed', body: { data: { v: '2' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await core.deleteNamespacedConfigMap({ name: 'before', namespace: 'informed' });
      await eventually(() => (seen.length >= 4 ? true : undefined), 5000, 'informer events');
      expect(seen).toEqual(['add before', 'add after', 'update after {"v":"2"}', 'delete before']);
    } finally {
      await informer.stop();
    }
  });

  it('server-side apply removes dropped fields, reports conflicts and takes them over with force', async () => {
    await core.createNamespace({ body: { metadata: { name: 'ssa' } } });
    const manifest = (data: Record<string, string>, labels?: Record<string, string>): V1ConfigMap => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'ssa', ...(labels ? { labels } : {}) }, data });
    const first = await objects.patch(manifest({ a: '1', b: '2' }, { keep: 'x', drop: 'y' }), undefined, undefined, 'team-a', false, PatchStrategy.ServerSideApply);
    expect((first as { data?: unknown }).data).toEqual({ a: '1', b: '2' });
    expect(first.metadata?.managedFields?.[0]).toMatchObject({ manager: 'team-a', operation: 'Apply', fieldsType: 'FieldsV1' });
    expect(first.metadata?.managedFields?.[0]?.fieldsV1).toEqual({ 'f:data': { 'f:a': {}, 'f:b': {} }, 'f:metadata': { 'f:labels': { 'f:keep': {}, 'f:drop': {} } } });

    const smaller = await objects.patch(manifest({ a: '1' }, { keep: 'x' }), undefined, undefined, 'team-a', false, PatchStrategy.ServerSideApply);
    expect((smaller as { data?: unknown }).data).toEqual({ a: '1' });
    expect(smaller.metadata?.labels).toEqual({ keep: 'x' });

    // A second manager that sets a different value conflicts; the same value is shared ownership.
    const conflict = await expectApiError(objects.patch(manifest({ a: '9' }), undefined, undefined, 'team-b', false, PatchStrategy.ServerSideApply), 409);
    expect(conflict).toMatchObject({ reason: 'Conflict', message: 'Apply failed with 1 conflict: conflict with "team-a" using v1: .data.a' });
    expect((conflict.details as { causes: unknown[] }).causes).toEqual([{ reason: 'FieldManagerConflict', message: 'conflict with "team-a" using v1', field: '.data.a' }]);
    await objects.patch(manifest({ a: '1', c: '3' }), undefined, undefined, 'team-b', false, PatchStrategy.ServerSideApply);

    const forced = await objects.patch(manifest({ a: '9', c: '3' }), undefined, undefined, 'team-b', true, PatchStrategy.ServerSideApply);
    expect((forced as { data?: unknown }).data).toEqual({ a: '9', c: '3' });
    const owners = Object.fromEntries((forced.metadata?.managedFields ?? []).map((entry) => [entry.manager, entry.fieldsV1]));
    expect(owners['team-a']).toEqual({ 'f:metadata': { 'f:labels': { 'f:keep': {} } } });
    expect(owners['team-b']).toEqual({ 'f:data': { 'f:a': {}, 'f:c': {} } });

    // team-a no longer owns data.a: dropping it from team-a's config leaves it alone.
    const after = await objects.patch(manifest({}, { keep: 'x' }), undefined, undefined, 'team-a', false, PatchStrategy.ServerSideApply);
    expect((after as { data?: unknown }).data).toEqual({ a: '9', c: '3' });

    // Keyed lists: dropping a container removes only that container.
    const web = (containers: Array<{ name: string; image: string }>) => ({
      ...deployment('web', 'ssa', 'unused'),
      spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers } } },
    });
    await objects.patch(web([{ name: 'app', image: 'app:1' }, { name: 'sidecar', image: 'proxy:1' }]), undefined, undefined, 'ci', false, PatchStrategy.ServerSideApply);
    const trimmed = (await objects.patch(web([{ name: 'app', image: 'app:2' }]), undefined, undefined, 'ci', false, PatchStrategy.ServerSideApply)) as V1Deployment;
    expect(trimmed.spec?.template.spec?.containers.map((container) => `${container.name}=${container.image}`)).toEqual(['app=app:2']);
    expect(trimmed.metadata?.generation).toBe(2);
    expect(trimmed.spec?.replicas).toBe(1);

    const noManager = await raw('PATCH', '/api/v1/namespaces/ssa/configmaps/cfg', 'data: {z: "1"}', 'application/apply-patch+yaml');
    expect(noManager.body).toMatchObject({ code: 400, reason: 'BadRequest' });
  });

  it("stores a Secret's stringData as data, also when it is applied again server-side", async () => {
    await core.createNamespace({ body: { metadata: { name: 'secrets' } } });
    const secret = (value: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'key', namespace: 'secrets' }, type: 'Opaque', stringData: { 'secret-access-key': value } });
    await objects.patch(secret('first'), undefined, undefined, 'controller', false, PatchStrategy.ServerSideApply);
    const second = (await objects.patch(secret('second'), undefined, undefined, 'controller', false, PatchStrategy.ServerSideApply)) as { data?: Record<string, string>; stringData?: unknown };
    expect(second.stringData).toBeUndefined();
    const stored = await core.readNamespacedSecret({ namespace: 'secrets', name: 'key' });
    expect(Buffer.from(stored.data?.['secret-access-key'] ?? '', 'base64').toString()).toBe('second');
    expect(stored.stringData).toBeUndefined();
  });

  it('applies JSON merge, strategic merge and JSON patches', async () => {
    await core.createNamespace({ body: { metadata: { name: 'patching' } } });
    await apps.createNamespacedDeployment({
      namespace: 'patching',
      body: {
        ...deployment('api', 'patching', 'api:1'),
        spec: {
          selector: { matchLabels: { app: 'api' } },
          template: {
            metadata: { labels: { app: 'api' } },
            spec: { containers: [{ name: 'api', image: 'api:1', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80 }] }, { name: 'log', image: 'log:1' }] },
          },
        },
      },
    });
    const strategic = await apps.patchNamespacedDeployment(
      { name: 'api', namespace: 'patching', body: { spec: { template: { spec: { containers: [{ name: 'api', image: 'api:2', env: [{ name: 'B', value: '2' }] }] } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const containers = strategic.spec?.template.spec?.containers ?? [];
    expect(containers.map((container) => container.name)).toEqual(['api', 'log']);
    expect(containers[0]?.image).toBe('api:2');
    expect(containers[0]?.env).toEqual([{ name: 'A', value: '1' }, { name: 'B', value: '2' }]);
    expect(containers[0]?.ports).toEqual([{ containerPort: 80, protocol: 'TCP' }]);

    const deleted = await apps.patchNamespacedDeployment(
      { name: 'api', namespace: 'patching', body: { spec: { template: { spec: { containers: [{ name: 'log', $patch: 'delete' }] } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(deleted.spec?.template.spec?.containers.map((container) => container.name)).toEqual(['api']);

    const merged = await apps.patchNamespacedDeployment(
      { name: 'api', namespace: 'patching', body: { metadata: { labels: { team: 'core' } }, spec: { template: { spec: { containers: [{ name: 'only', image: 'x:1' }] } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(merged.metadata?.labels).toEqual({ team: 'core' });
    expect(merged.spec?.template.spec?.containers).toEqual([{ name: 'only', image: 'x:1' }]);

    const jsonPatched = await apps.patchNamespacedDeployment(
      { name: 'api', namespace: 'patching', body: [{ op: 'replace', path: '/spec/replicas', value: 3 }, { op: 'add', path: '/metadata/labels/extra', value: 'y' }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    expect(jsonPatched.spec?.replicas).toBe(3);
    expect(jsonPatched.metadata?.labels).toEqual({ team: 'core', extra: 'y' });
    const failedTest = await raw('PATCH', '/apis/apps/v1/namespaces/patching/deployments/api', [{ op: 'test', path: '/spec/replicas', value: 1 }], 'application/json-patch+json');
    expect(failedTest.body).toMatchObject({ code: 422, reason: 'Invalid' });
  });

  it('defaults a NetworkPolicy as the API server does: TCP for a port without a protocol, policy types from its rules', async () => {
    await core.createNamespace({ body: { metadata: { name: 'netpol' } } });
    const path = '/apis/networking.k8s.io/v1/namespaces/netpol/networkpolicies';
    const policy = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name }, spec: { podSelector: {}, ...spec } });
    const both = await raw('POST', path, policy('both', { ingress: [{ ports: [{ port: 80 }] }], egress: [{ ports: [{ port: 53, protocol: 'UDP' }, { port: 443 }] }] }));
    expect(both.status).toBe(201);
    expect(both.body.spec).toEqual({
      podSelector: {},
      ingress: [{ ports: [{ port: 80, protocol: 'TCP' }] }],
      egress: [{ ports: [{ port: 53, protocol: 'UDP' }, { port: 443, protocol: 'TCP' }] }],
      policyTypes: ['Ingress', 'Egress'],
    });
    expect((await raw('POST', path, policy('deny-all', {}))).body.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    expect((await raw('POST', path, policy('egress-only', { policyTypes: ['Egress'] }))).body.spec).toEqual({ podSelector: {}, policyTypes: ['Egress'] });
  });

  it('keeps status behind its subresource and bumps generation only on spec changes', async () => {
    await core.createNamespace({ body: { metadata: { name: 'status' } } });
    const created = await core.createNamespacedService({ namespace: 'status', body: { metadata: { name: 'svc' }, spec: { ports: [{ port: 80 }] }, status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } } });
    expect(created.status?.loadBalancer?.ingress).toBeUndefined();
    expect(created.spec?.clusterIP).toMatch(/^10\.96\./);
    expect(created.spec?.ports?.[0]).toMatchObject({ port: 80, protocol: 'TCP', targetPort: 80 });

    const viaMain = await core.replaceNamespacedService({ name: 'svc', namespace: 'status', body: { ...created, status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } } });
    expect(viaMain.status?.loadBalancer?.ingress).toBeUndefined();
    const viaStatus = await core.replaceNamespacedServiceStatus({ name: 'svc', namespace: 'status', body: { ...viaMain, spec: { ...viaMain.spec, ports: [{ port: 81 }] }, status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } } });
    expect(viaStatus.status?.loadBalancer?.ingress).toEqual([{ ip: '1.2.3.4' }]);
    expect(viaStatus.spec?.ports?.[0]?.port).toBe(80);
    expect(viaStatus.metadata?.generation).toBe(1);
    const labelled = await core.patchNamespacedService({ name: 'svc', namespace: 'status', body: { metadata: { labels: { a: 'b' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    expect(labelled.metadata?.generation).toBe(1);
    const respec = await core.patchNamespacedService({ name: 'svc', namespace: 'status', body: { spec: { ports: [{ port: 8080 }] } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    expect(respec.metadata?.generation).toBe(2);
  });

  it('keeps objects with finalizers until they are removed, and deletes namespaces with their contents', async () => {
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'held', finalizers: ['example.com/hold'] } } });
    await core.createNamespacedSecret({ namespace: 'doomed', body: { metadata: { name: 'plain' }, stringData: { a: 'b' } } });
    await apps.createNamespacedDeployment({ namespace: 'doomed', body: deployment('app', 'doomed', 'nginx') });
    await eventually(async () => ((await core.listNamespacedPod({ namespace: 'doomed' })).items.length === 2 ? true : undefined), 5000, 'pods of app');

    const deleted = await raw('DELETE', '/api/v1/namespaces/doomed/configmaps/held');
    expect(deleted.status).toBe(202);
    const held = await core.readNamespacedConfigMap({ name: 'held', namespace: 'doomed' });
    expect(held.metadata?.deletionTimestamp).toBeDefined();

    const namespace = await core.deleteNamespace({ name: 'doomed' });
    expect(namespace).toBeDefined();
    expect((await core.readNamespace({ name: 'doomed' })).status?.phase).toBe('Terminating');
    await eventually(async () => ((await core.listNamespacedPod({ namespace: 'doomed' })).items.length === 0 && (await core.listNamespacedSecret({ namespace: 'doomed' })).items.length === 0 ? true : undefined), 5000, 'namespace contents gone');
    const blocked = await raw('POST', '/api/v1/namespaces/doomed/configmaps', { metadata: { name: 'late' } });
    expect(blocked.body).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(String(blocked.body.message)).toContain('because it is being terminated');
    expect((await core.readNamespace({ name: 'doomed' })).metadata?.name).toBe('doomed');

    await core.patchNamespacedConfigMap({ name: 'held', namespace: 'doomed', body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await eventually(async () => {
      try {
        await core.readNamespace({ name: 'doomed' });
        return undefined;
      } catch (error) {
        return (error as ApiException<unknown>).code === 404 ? true : undefined;
      }
    }, 5000, 'namespace removed');
    expect(server.counters.snapshot().deleted['kube:local:v1/Namespace']).toBe(1);
    const defaultDelete = await raw('DELETE', '/api/v1/namespaces/default');
    expect(defaultDelete.body).toMatchObject({ code: 403, reason: 'Forbidden' });
  });

  it('deletes in the foreground (owner waits for its dependents) and orphans on request', async () => {
    await core.createNamespace({ body: { metadata: { name: 'cascade' } } });
    const owner = await core.createNamespacedConfigMap({ namespace: 'cascade', body: { metadata: { name: 'owner' } } });
    const ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid ?? '', blockOwnerDeletion: true }];
    await core.createNamespacedConfigMap({ namespace: 'cascade', body: { metadata: { name: 'held-child', ownerReferences, finalizers: ['example.com/hold'] } } });
    await core.createNamespacedConfigMap({ namespace: 'cascade', body: { metadata: { name: 'child', ownerReferences } } });

    const foreground = await raw('DELETE', '/api/v1/namespaces/cascade/configmaps/owner', { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' });
    expect(foreground.status).toBe(202);
    const waiting = await core.readNamespacedConfigMap({ name: 'owner', namespace: 'cascade' });
    expect(waiting.metadata?.finalizers).toEqual(['foregroundDeletion']);
    expect(waiting.metadata?.deletionTimestamp).toBeDefined();
    expect((await core.listNamespacedConfigMap({ namespace: 'cascade' })).items.map((item) => item.metadata?.name).sort()).toEqual(['held-child', 'owner']);
    await core.patchNamespacedConfigMap({ name: 'held-child', namespace: 'cascade', body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    expect((await core.listNamespacedConfigMap({ namespace: 'cascade' })).items).toEqual([]);

    const parent = await core.createNamespacedConfigMap({ namespace: 'cascade', body: { metadata: { name: 'parent' } } });
    await core.createNamespacedConfigMap({ namespace: 'cascade', body: { metadata: { name: 'kept', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'parent', uid: parent.metadata?.uid ?? '' }] } } });
    await core.deleteNamespacedConfigMap({ name: 'parent', namespace: 'cascade', propagationPolicy: 'Orphan' });
    const kept = await core.readNamespacedConfigMap({ name: 'kept', namespace: 'cascade' });
    expect(kept.metadata?.ownerReferences).toBeUndefined();
  });

  it('serves custom resources once their CRD exists, and withdraws them with it', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', shortNames: ['gd'] },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    required: ['size'],
                    properties: { size: { type: 'integer', minimum: 1 }, mode: { type: 'string', enum: ['fast', 'safe'], default: 'safe' }, extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
                  },
                  status: { type: 'object', properties: { ready: { type: 'boolean' } } },
                },
              },
            },
          },
        ],
      },
    };
    const badName = await raw('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { ...crd, metadata: { name: 'wrong' } });
    expect(badName.body).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(String(badName.body.message)).toContain('must be spec.names.plural+"."+spec.group');
    expect((await raw('GET', '/apis/example.com/v1')).status).toBe(404);

    // Raw JSON: client-node's typed model would drop `enum`, `default` and `x-kubernetes-…` from the schema.
    const created = (await raw('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).body as { status?: { conditions?: Array<{ type: string; status: string }> } };
    expect(created.status?.conditions?.find((condition) => condition.type === 'Established')?.status).toBe('True');
    const discovery = await raw('GET', '/apis/example.com/v1');
    expect(discovery.body.resources).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'gadgets', kind: 'Gadget', namespaced: true, shortNames: ['gd'] })]));

    await core.createNamespace({ body: { metadata: { name: 'custom' } } });
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({ group: 'example.com', version: 'v1', namespace: 'custom', plural: 'gadgets', body: { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g1' }, spec: { size: 1 } } });
    const stored = (await custom.getNamespacedCustomObject({ group: 'example.com', version: 'v1', namespace: 'custom', plural: 'gadgets', name: 'g1' })) as { spec: Record<string, unknown> };
    expect(stored.spec).toEqual({ size: 1, mode: 'safe' });

    const gadgets = '/apis/example.com/v1/namespaces/custom/gadgets';
    const bad = await raw('POST', gadgets, { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'bad' }, spec: { size: 0, mode: 'turbo' } });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ reason: 'Invalid', details: { name: 'bad', group: 'example.com', kind: 'Gadget' } });
    expect((bad.body.details as { causes: Array<{ field: string; reason: string }> }).causes.map((cause) => [cause.field, cause.reason])).toEqual([
      ['spec.size', 'FieldValueInvalid'],
      ['spec.mode', 'FieldValueNotSupported'],
    ]);
    const missing = await raw('POST', gadgets, { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'bad' }, spec: { size: '3' } });
    expect(String(missing.body.message)).toBe('Gadget.example.com "bad" is invalid: spec.size: Invalid value: "3": spec.size in body must be of type integer: "string"');
    const pruned = await raw('POST', gadgets, { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'pruned' }, spec: { size: 2, colour: 'red', extra: { anything: 1 } } });
    expect(pruned.body.spec).toEqual({ size: 2, mode: 'safe', extra: { anything: 1 } });
    const strict = await raw('POST', `${gadgets}?fieldValidation=Strict`, { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'strict' }, spec: { size: 2, colour: 'red' } });
    expect(strict.body).toMatchObject({ code: 400, reason: 'BadRequest', message: 'Gadget in version "v1" cannot be handled as a Gadget: strict decoding error: unknown field "spec.colour"' });

    const patched = (await custom.patchNamespacedCustomObject(
      { group: 'example.com', version: 'v1', namespace: 'custom', plural: 'gadgets', name: 'g1', body: { spec: { size: 2 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as { spec: { size: number }; metadata: { generation: number } };
    expect(patched.spec.size).toBe(2);
    expect(patched.metadata.generation).toBe(2);
    const strategic = await raw('PATCH', '/apis/example.com/v1/namespaces/custom/gadgets/g1', { spec: { size: 3 } }, 'application/strategic-merge-patch+json');
    expect(strategic.body).toMatchObject({ code: 415, reason: 'UnsupportedMediaType' });
    const list = (await custom.listNamespacedCustomObject({ group: 'example.com', version: 'v1', namespace: 'custom', plural: 'gadgets' })) as { items: Array<{ metadata: { name: string } }> };
    expect(list.items.map((item) => item.metadata.name)).toEqual(['g1', 'pruned']);

    await objects.delete(crd);
    expect((await raw('GET', '/apis/example.com/v1')).status).toBe(404);
    expect((await raw('GET', '/apis/example.com/v1/namespaces/custom/gadgets/g1')).status).toBe(404);
    expect(server.counters.snapshot().deleted['kube:local:example.com/v1/Gadget']).toBe(2);
  });

  it('rolls a Deployment out to Available, and leaves a failing image stuck with ImagePullBackOff', async () => {
    await core.createNamespace({ body: { metadata: { name: 'rollout' } } });
    await apps.createNamespacedDeployment({ namespace: 'rollout', body: deployment('good', 'rollout', 'nginx:1.27') });
    await apps.createNamespacedDeployment({ namespace: 'rollout', body: deployment('bad', 'rollout', 'registry.example/app:doesnotexist', { progressDeadlineSeconds: 30 }) });

    const good = await eventually(async () => {
      const current = await apps.readNamespacedDeployment({ name: 'good', namespace: 'rollout' });
      return current.status?.conditions?.some((condition) => condition.type === 'Available' && condition.status === 'True') ? current : undefined;
    }, 10_000, 'good Available');
    expect(good.status).toMatchObject({ observedGeneration: 1, replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 });
    const pods = await core.listNamespacedPod({ namespace: 'rollout', labelSelector: 'app=good' });
    expect(pods.items).toHaveLength(2);
    expect(pods.items.every((pod) => pod.status?.phase === 'Running' && /^good-[a-z0-9]{10}-[a-z0-9]{5}$/.test(pod.metadata?.name ?? ''))).toBe(true);
    expect(new Set(pods.items.map((pod) => pod.spec?.nodeName))).toEqual(new Set(['node-a', 'node-b']));

    const bad = await eventually(async () => {
      const current = await apps.readNamespacedDeployment({ name: 'bad', namespace: 'rollout' });
      return current.status?.conditions?.some((condition) => condition.reason === 'ProgressDeadlineExceeded') ? current : undefined;
    }, 10_000, 'bad deadline');
    expect(bad.status?.conditions?.find((condition) => condition.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(bad.status?.conditions?.find((condition) => condition.type === 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
    const badPods = await core.listNamespacedPod({ namespace: 'rollout', labelSelector: 'app=bad' });
    expect(badPods.items.map((pod) => pod.status?.containerStatuses?.[0]?.state?.waiting?.reason)).toEqual(['ImagePullBackOff', 'ImagePullBackOff']);
    const warnings = await core.listNamespacedEvent({ namespace: 'rollout', fieldSelector: 'type=Warning' });
    expect(warnings.items.some((event) => event.reason === 'Failed' && String(event.message).includes('doesnotexist'))).toBe(true);

    // A new template rolls out through a second ReplicaSet; the old one is scaled to zero.
    await apps.patchNamespacedDeployment({ name: 'good', namespace: 'rollout', body: { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:1.28' }] } } } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    await eventually(async () => {
      const current = await apps.readNamespacedDeployment({ name: 'good', namespace: 'rollout' });
      const replicaSets = await apps.listNamespacedReplicaSet({ namespace: 'rollout', labelSelector: 'app=good' });
      const done = current.status?.observedGeneration === 2 && current.status.updatedReplicas === 2 && current.status.availableReplicas === 2 && current.status.replicas === 2;
      return done && replicaSets.items.filter((replicaSet) => replicaSet.spec?.replicas === 0).length === 1 ? true : undefined;
    }, 10_000, 'second rollout');
  });

  it('completes Jobs, runs StatefulSets and DaemonSets, and gives LoadBalancers a hostname', async () => {
    await core.createNamespace({ body: { metadata: { name: 'workloads' } } });
    const batch = kc.makeApiClient(BatchV1Api);
    await batch.createNamespacedJob({
      namespace: 'workloads',
      body: { metadata: { name: 'migrate' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image: 'busybox' }] } } } },
    });
    await apps.createNamespacedStatefulSet({
      namespace: 'workloads',
      body: {
        metadata: { name: 'db' },
        spec: {
          replicas: 2,
          serviceName: 'db',
          selector: { matchLabels: { app: 'db' } },
          template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'postgres', volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql' }] }] } },
          volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } } }],
        },
      },
    });
    await apps.createNamespacedDaemonSet({
      namespace: 'workloads',
      body: { metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'agent', image: 'agent' }] } } } },
    });
    await core.createNamespacedService({ namespace: 'workloads', body: { metadata: { name: 'edge' }, spec: { type: 'LoadBalancer', selector: { app: 'db' }, ports: [{ port: 443 }] } } });

    const job = await eventually(async () => {
      const current = await batch.readNamespacedJob({ name: 'migrate', namespace: 'workloads' });
      return current.status?.conditions?.some((condition) => condition.type === 'Complete' && condition.status === 'True') ? current : undefined;
    }, 10_000, 'job complete');
    expect(job.status?.succeeded).toBe(1);
    expect(job.status?.completionTime).toBeDefined();

    const statefulSet = await eventually(async () => {
      const current = await apps.readNamespacedStatefulSet({ name: 'db', namespace: 'workloads' });
      return current.status?.readyReplicas === 2 ? current : undefined;
    }, 10_000, 'statefulset ready');
    expect(statefulSet.status?.currentRevision).toBe(statefulSet.status?.updateRevision);
    const dbPods = await core.listNamespacedPod({ namespace: 'workloads', labelSelector: 'app=db' });
    expect(dbPods.items.map((pod) => pod.metadata?.name).sort()).toEqual(['db-0', 'db-1']);
    expect(dbPods.items.find((pod) => pod.metadata?.name === 'db-1')?.spec?.volumes).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-1' } }]);
    const claims = await core.listNamespacedPersistentVolumeClaim({ namespace: 'workloads' });
    expect(claims.items.map((claim) => [claim.metadata?.name, claim.status?.phase, claim.spec?.storageClassName, claim.status?.capacity?.storage])).toEqual([
      ['data-db-0', 'Bound', 'standard', '5Gi'],
      ['data-db-1', 'Bound', 'standard', '5Gi'],
    ]);
    const volume = await core.readPersistentVolume({ name: claims.items[0]?.spec?.volumeName ?? '' });
    expect(volume.spec?.claimRef).toMatchObject({ namespace: 'workloads', name: 'data-db-0' });
    expect(volume.status?.phase).toBe('Bound');

    const daemonSet = await eventually(async () => {
      const current = await apps.readNamespacedDaemonSet({ name: 'agent', namespace: 'workloads' });
      return current.status?.numberReady === 2 ? current : undefined;
    }, 10_000, 'daemonset ready');
    expect(daemonSet.status?.desiredNumberScheduled).toBe(2);
    const agents = await core.listNamespacedPod({ namespace: 'workloads', labelSelector: 'app=agent' });
    expect(agents.items.map((pod) => pod.spec?.nodeName).sort()).toEqual(['node-a', 'node-b']);

    const service = await eventually(async () => {
      const current = await core.readNamespacedService({ name: 'edge', namespace: 'workloads' });
      return current.status?.loadBalancer?.ingress?.[0]?.hostname ? current : undefined;
    }, 10_000, 'load balancer hostname');
    expect(service.status?.loadBalancer?.ingress?.[0]?.hostname).toMatch(/^edge-[0-9a-f]{12}\.workloads\.local\.elb\.sandbox\.local$/);
    expect(service.spec?.ports?.[0]?.nodePort).toBeGreaterThanOrEqual(30000);

    const endpoints = await eventually(async () => {
      const current = await core.readNamespacedEndpoints({ name: 'edge', namespace: 'workloads' });
      return current.subsets?.[0]?.addresses?.length === 2 ? current : undefined;
    }, 10_000, 'endpoints of edge');
    expect(endpoints.subsets?.[0]?.addresses?.map((address) => address.targetRef?.name).sort()).toEqual(['db-0', 'db-1']);
    expect(endpoints.subsets?.[0]?.ports).toEqual([{ port: 443, protocol: 'TCP' }]);
    const slices = await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: 'workloads', labelSelector: 'kubernetes.io/service-name=edge' });
    expect(slices.items).toHaveLength(1);
    expect(slices.items[0]?.endpoints?.map((endpoint) => endpoint.conditions?.ready)).toEqual([true, true]);
  });

  it('re-plans pending simulated durations when the time scale changes', async () => {
    await core.createNamespace({ body: { metadata: { name: 'rescale' } } });
    server.clock.setScale(0.001);
    try {
      await apps.createNamespacedDeployment({ namespace: 'rescale', body: deployment('slow', 'rescale', 'nginx') });
      await eventually(async () => ((await core.listNamespacedPod({ namespace: 'rescale' })).items.length === 2 ? true : undefined), 5000, 'pods created');
    } finally {
      server.clock.setScale(50);
    }
    // At scale 0.001 the pods would start in well over an hour; re-planned at 50 they start at once.
    server.simulator.rescheduleTimers();
    await eventually(async () => {
      const current = await apps.readNamespacedDeployment({ name: 'slow', namespace: 'rescale' });
      return current.status?.availableReplicas === 2 ? true : undefined;
    }, 10_000, 'available after rescheduling');
  });

  it('answers injected faults as Kubernetes Status objects', async () => {
    server.faults.add({ service: 'kube', operation: 'list', failNext: 1, throttle: true });
    const throttled = await raw('GET', '/api/v1/namespaces');
    expect(throttled).toEqual({
      status: 429,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Rate exceeded', reason: 'TooManyRequests', details: { retryAfterSeconds: 1 }, code: 429 },
    });
    expect((await raw('GET', '/api/v1/namespaces')).status).toBe(200);
  });

  it('refuses cluster names that are not DNS labels, and kubeconfigs for unknown clusters', () => {
    expect(() => server.simulator.addCluster('Not_A_Label')).toThrow(expect.objectContaining({ code: 'InvalidInput', status: 422, details: [{ path: 'name', rule: 'dns-label' }] }));
    expect(() => server.simulator.kubeconfig(server.baseUrl, ['local', 'ghost'])).toThrow(expect.objectContaining({ code: 'NotFound', details: [{ path: 'names[1]', rule: 'exists' }] }));
  });

  it('snapshots and restores clusters as plain JSON', async () => {
    const other = server.simulator.addCluster('other', { token: 'other-token', nodes: [] });
    expect(other.nodes).toEqual([]);
    const otherConfig = new KubeConfig();
    otherConfig.loadFromString(server.simulator.kubeconfig(server.baseUrl, ['other']));
    const otherCore = otherConfig.makeApiClient(CoreV1Api);
    await otherCore.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'kept' }, data: { v: '1' } } });
    const before = (await otherCore.readNamespacedConfigMap({ name: 'kept', namespace: 'default' })).metadata?.resourceVersion;

    const snapshot = JSON.parse(JSON.stringify(server.simulator.snapshot())) as ReturnType<typeof server.simulator.snapshot>;
    server.simulator.reset();
    expect(server.simulator.listClusters()).toEqual([]);
    server.simulator.restore(snapshot);
    expect(server.simulator.listClusters().map((cluster) => cluster.name).sort()).toEqual(['local', 'other']);
    const restored = await otherCore.readNamespacedConfigMap({ name: 'kept', namespace: 'default' });
    expect(restored.data).toEqual({ v: '1' });
    expect(restored.metadata?.resourceVersion).toBe(before);
    const next = await otherCore.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'new' } } });
    expect(Number(next.metadata?.resourceVersion)).toBeGreaterThan(Number(before));
    expect(server.simulator.removeCluster('other')).toBe(true);
    expect((await fetch(`${server.baseUrl}/k8s/other/api`)).status).toBe(404);
  });
});
