import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { envoyGatewayDeployment, gatewayApiCrds } from '../test-support/add-on-fixtures.js';
import { ENVOY_GATEWAY_CONTROLLER, envoyServiceName } from './gateway-simulation.js';
import { eventually, startKubeTestServer, type KubeTestServer } from './kube-test-server.js';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface Status {
  conditions?: Condition[];
  addresses?: Array<{ type: string; value: string }>;
  listeners?: Array<{ name: string; attachedRoutes: number; supportedKinds: unknown[]; conditions: Condition[] }>;
  parents?: Array<{ controllerName: string; parentRef: Record<string, unknown>; conditions: Condition[] }>;
}

const GROUP = 'gateway.networking.k8s.io';
let server: KubeTestServer;

beforeAll(async () => {
  // Sandbox time 1000x: a load balancer's 15 s take 15 ms.
  server = await startKubeTestServer({ scale: 1000 });
});

afterAll(async () => {
  await server.close();
});

async function clusterWithGatewayApi(name: string) {
  server.simulator.addCluster(name);
  const kc = new KubeConfig();
  kc.loadFromString(server.simulator.kubeconfig(server.baseUrl, [name]));
  for (const crd of gatewayApiCrds()) {
    const response = await fetch(`${server.baseUrl}/k8s/${name}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(crd),
    });
    expect(response.status).toBe(201);
  }
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  for (const namespace of ['envoy-gateway-system', 'apps', 'other']) await core.createNamespace({ body: { metadata: { name: namespace } } });
  const get = async (plural: string, namespace: string | undefined, objectName: string) =>
    (namespace === undefined
      ? await custom.getClusterCustomObject({ group: GROUP, version: 'v1', plural, name: objectName })
      : await custom.getNamespacedCustomObject({ group: GROUP, version: 'v1', namespace, plural, name: objectName })) as { status?: Status };
  const create = (plural: string, namespace: string, body: Record<string, unknown>) => custom.createNamespacedCustomObject({ group: GROUP, version: 'v1', namespace, plural, body });
  const conditionOf = (status: Status | undefined, type: string) => status?.conditions?.find((condition) => condition.type === type);
  const startEnvoyGateway = () => apps.createNamespacedDeployment({ namespace: 'envoy-gateway-system', body: envoyGatewayDeployment() });
  const createClass = (className: string, controllerName = ENVOY_GATEWAY_CONTROLLER) =>
    custom.createClusterCustomObject({ group: GROUP, version: 'v1', plural: 'gatewayclasses', body: { apiVersion: `${GROUP}/v1`, kind: 'GatewayClass', metadata: { name: className }, spec: { controllerName } } });
  return { core, apps, custom, get, create, conditionOf, startEnvoyGateway, createClass };
}

const gateway = (name: string, className: string, listeners: unknown[]) => ({ apiVersion: `${GROUP}/v1`, kind: 'Gateway', metadata: { name }, spec: { gatewayClassName: className, listeners } });
const httpsListener = { name: 'https', protocol: 'HTTPS', port: 443, hostname: '*.example.com', tls: { mode: 'Terminate', certificateRefs: [{ name: 'web-tls' }] }, allowedRoutes: { namespaces: { from: 'Same' } } };

describe('Envoy Gateway simulation', () => {
  it('waits for envoy-gateway, then accepts the class, gives the Gateway a load balancer and reports its listeners', async () => {
    const t = await clusterWithGatewayApi('gw-basics');
    await t.createClass('eg');
    await t.createClass('someone-else', 'example.com/other-controller');
    await t.create('gateways', 'apps', gateway('web', 'eg', [{ name: 'http', protocol: 'HTTP', port: 80 }, httpsListener]));
    await t.create('gateways', 'apps', gateway('foreign', 'someone-else', [{ name: 'http', protocol: 'HTTP', port: 80 }]));

    // Before the controller runs: the Gateway shows what its CRD defaults to, the class nothing.
    const waiting = await eventually(async () => {
      const status = (await t.get('gateways', 'apps', 'web')).status;
      return t.conditionOf(status, 'Accepted') ? status : undefined;
    }, 5000, 'the waiting Gateway status');
    expect(t.conditionOf(waiting, 'Accepted')).toMatchObject({ status: 'Unknown', reason: 'Pending', message: 'Waiting for controller' });
    expect((await t.get('gatewayclasses', undefined, 'eg')).status).toBeUndefined();

    await t.startEnvoyGateway();
    const accepted = await eventually(async () => t.conditionOf((await t.get('gatewayclasses', undefined, 'eg')).status, 'Accepted'), 5000, 'class accepted');
    expect(accepted).toMatchObject({ status: 'True', reason: 'Accepted' });

    const serviceName = envoyServiceName('apps', 'web');
    expect(serviceName).toMatch(/^envoy-apps-web-[0-9a-f]{8}$/);
    const programmed = await eventually(async () => {
      const status = (await t.get('gateways', 'apps', 'web')).status;
      return t.conditionOf(status, 'Programmed')?.status === 'True' ? status : undefined;
    }, 5000, 'Gateway programmed');
    const service = await t.core.readNamespacedService({ namespace: 'envoy-gateway-system', name: serviceName });
    expect(service.spec?.type).toBe('LoadBalancer');
    expect(service.metadata?.labels).toMatchObject({ 'gateway.envoyproxy.io/owning-gateway-name': 'web', 'gateway.envoyproxy.io/owning-gateway-namespace': 'apps' });
    expect(service.spec?.ports?.map((port) => [port.port, port.targetPort])).toEqual([
      [80, 10080],
      [443, 10443],
    ]);
    const hostname = service.status?.loadBalancer?.ingress?.[0]?.hostname as string;
    expect(programmed.addresses).toEqual([{ type: 'Hostname', value: hostname }]);
    expect(t.conditionOf(programmed, 'Accepted')).toMatchObject({ status: 'True', reason: 'Accepted' });
    const listener = (name: string) => programmed.listeners?.find((candidate) => candidate.name === name);
    expect(listener('http')?.conditions.find((condition) => condition.type === 'ResolvedRefs')).toMatchObject({ status: 'True' });
    expect(listener('https')?.conditions.find((condition) => condition.type === 'ResolvedRefs')).toMatchObject({
      status: 'False',
      reason: 'InvalidCertificateRef',
      message: 'Secret apps/web-tls does not exist.',
    });
    expect(listener('http')?.supportedKinds).toEqual(expect.arrayContaining([{ group: GROUP, kind: 'HTTPRoute' }]));

    // The certificate arrives: the listener resolves.
    await t.core.createNamespacedSecret({ namespace: 'apps', body: { metadata: { name: 'web-tls' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'Y2VydA==', 'tls.key': 'a2V5' } } });
    await eventually(async () => {
      const status = (await t.get('gateways', 'apps', 'web')).status;
      return status?.listeners?.find((candidate) => candidate.name === 'https')?.conditions.find((condition) => condition.type === 'ResolvedRefs')?.status === 'True' ? true : undefined;
    }, 5000, 'https listener resolved');

    // A Service deleted by hand comes back with a new load balancer, and the Gateway follows it.
    await t.core.deleteNamespacedService({ namespace: 'envoy-gateway-system', name: serviceName });
    const moved = await eventually(async () => {
      const address = (await t.get('gateways', 'apps', 'web')).status?.addresses?.[0]?.value;
      return address !== undefined && address !== hostname ? address : undefined;
    }, 5000, 'a new Gateway address');
    const recreated = await t.core.readNamespacedService({ namespace: 'envoy-gateway-system', name: serviceName });
    expect(recreated.status?.loadBalancer?.ingress?.[0]?.hostname).toBe(moved);

    // Another implementation's objects are left alone.
    expect((await t.get('gatewayclasses', undefined, 'someone-else')).status).toBeUndefined();
    expect((await t.get('gateways', 'apps', 'foreign')).status).toBeUndefined();

    // Deleting the Gateway deletes its Service.
    await t.custom.deleteNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: 'apps', plural: 'gateways', name: 'web' });
    await eventually(async () => ((await t.core.listNamespacedService({ namespace: 'envoy-gateway-system' })).items.length === 0 ? true : undefined), 5000, 'the Service gone');
  });

  it('reports HTTPRoute parents: listeners, hostnames and backends, re-evaluated as Services change', async () => {
    const t = await clusterWithGatewayApi('gw-routes');
    await t.startEnvoyGateway();
    await t.createClass('eg');
    await t.create('gateways', 'apps', gateway('web', 'eg', [{ name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'All' } } }, httpsListener]));
    const route = (name: string, spec: Record<string, unknown>) => ({ apiVersion: `${GROUP}/v1`, kind: 'HTTPRoute', metadata: { name }, spec });
    const backend = { backendRefs: [{ name: 'app', port: 8080 }] };
    await t.create('httproutes', 'apps', route('app', { parentRefs: [{ name: 'web', sectionName: 'https' }], hostnames: ['app.example.com'], rules: [backend] }));
    await t.create('httproutes', 'apps', route('redirect', { parentRefs: [{ name: 'web', sectionName: 'http' }], rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }] }));
    await t.create('httproutes', 'apps', route('elsewhere', { parentRefs: [{ name: 'web', sectionName: 'https' }], hostnames: ['app.example.org'], rules: [] }));
    await t.create('httproutes', 'apps', route('no-section', { parentRefs: [{ name: 'web', sectionName: 'grpc' }], rules: [] }));
    await t.create('httproutes', 'other', route('cross', { parentRefs: [{ name: 'web', namespace: 'apps', sectionName: 'https' }], rules: [] }));

    const parentOf = async (namespace: string, name: string) => {
      const parents = (await t.get('httproutes', namespace, name)).status?.parents ?? [];
      const parent = parents.find((candidate) => candidate.controllerName === ENVOY_GATEWAY_CONTROLLER);
      return parent ? Object.fromEntries(parent.conditions.map((condition) => [condition.type, condition])) : undefined;
    };
    const app = await eventually(() => parentOf('apps', 'app'), 5000, 'route status');
    expect(app.Accepted).toMatchObject({ status: 'True', reason: 'Accepted' });
    expect(app.ResolvedRefs).toMatchObject({ status: 'False', reason: 'BackendNotFound', message: 'Failed to process route rule 0 backendRef 0: service apps/app not found.' });
    expect(await eventually(() => parentOf('apps', 'redirect'))).toMatchObject({ Accepted: { status: 'True' }, ResolvedRefs: { status: 'True' } });
    expect(await eventually(() => parentOf('apps', 'elsewhere'))).toMatchObject({ Accepted: { status: 'False', reason: 'NoMatchingListenerHostname' } });
    expect(await eventually(() => parentOf('apps', 'no-section'))).toMatchObject({ Accepted: { status: 'False', reason: 'NotAllowedByListeners' } });
    expect(await eventually(() => parentOf('other', 'cross'))).toMatchObject({ Accepted: { status: 'False', reason: 'NotAllowedByListeners' } });

    // The backend appears with another port, then with the right one.
    await t.core.createNamespacedService({ namespace: 'apps', body: { metadata: { name: 'app' }, spec: { selector: { app: 'app' }, ports: [{ port: 9090 }] } } });
    const wrongPort = await eventually(async () => ((await parentOf('apps', 'app'))?.ResolvedRefs?.message.includes('port 8080') ? await parentOf('apps', 'app') : undefined), 5000, 'port not found');
    expect(wrongPort.ResolvedRefs).toMatchObject({ status: 'False', reason: 'BackendNotFound' });
    await t.core.patchNamespacedService({ namespace: 'apps', name: 'app', body: [{ op: 'replace', path: '/spec/ports/0/port', value: 8080 }] });
    await eventually(async () => ((await parentOf('apps', 'app'))?.ResolvedRefs?.status === 'True' ? true : undefined), 5000, 'backend resolved');

    const listeners = await eventually(async () => {
      const status = (await t.get('gateways', 'apps', 'web')).status;
      return status?.listeners?.find((listener) => listener.name === 'https')?.attachedRoutes === 1 ? status.listeners : undefined;
    }, 5000, 'attached routes');
    expect(listeners.find((listener) => listener.name === 'http')?.attachedRoutes).toBe(1);
  });
});
