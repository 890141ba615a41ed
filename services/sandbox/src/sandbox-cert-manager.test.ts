// Both halves together: the Kubernetes half's cert-manager solves DNS-01 against the sandbox's own Route 53, over HTTP, with the issuer's key.
import { CreateHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { ROUTE53_COUNTER_TYPES } from './aws/route53/route53-simulator.js';
import { createSandboxServer, type SandboxServer } from './sandbox-server.js';
import { certManagerCrds, certManagerDeployments, envoyGatewayDeployment, gatewayApiCrds } from './test-support/add-on-fixtures.js';
import { TEST_AWS_CREDENTIALS, waitFor } from './test-support/start-test-sandbox.js';

const GROUP = 'cert-manager.io';
let sandbox: SandboxServer;
let url: string;
let route53: Route53Client;
let core: CoreV1Api;
let custom: CustomObjectsApi;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

beforeAll(async () => {
  // 1000x: Route 53's 5 s propagation takes 5 ms, a retry after a failure 10 ms.
  sandbox = createSandboxServer({ port: 0, timeScale: 1000, credentials: [TEST_AWS_CREDENTIALS], logger: pino({ level: 'silent' }) });
  ({ url } = await sandbox.start());
  route53 = new Route53Client({ endpoint: url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
  const kc = new KubeConfig();
  kc.loadFromString(sandbox.clusters.kubeconfig(url, ['local']));
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  for (const crd of [...certManagerCrds(), ...gatewayApiCrds()]) {
    const response = await fetch(`${url}/k8s/local/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(crd) });
    expect(response.status).toBe(201);
  }
  for (const namespace of ['cert-manager', 'apps', 'envoy-gateway-system']) await core.createNamespace({ body: { metadata: { name: namespace } } });
  const apps = kc.makeApiClient(AppsV1Api);
  for (const deployment of certManagerDeployments()) await apps.createNamespacedDeployment({ namespace: 'cert-manager', body: deployment });
  await apps.createNamespacedDeployment({ namespace: 'envoy-gateway-system', body: envoyGatewayDeployment() });
  await core.createNamespacedSecret({ namespace: 'cert-manager', body: { metadata: { name: 'route53-credentials' }, stringData: { 'secret-access-key': TEST_AWS_CREDENTIALS.secretAccessKey } } });
});

afterAll(async () => {
  route53.destroy();
  await sandbox.close();
});

async function issuer(name: string, accessKeyID: string, hostedZoneID?: string): Promise<void> {
  await custom.createClusterCustomObject({
    group: GROUP,
    version: 'v1',
    plural: 'clusterissuers',
    body: {
      apiVersion: `${GROUP}/v1`,
      kind: 'ClusterIssuer',
      metadata: { name },
      spec: {
        acme: {
          server: 'https://acme-staging-v02.api.letsencrypt.org/directory',
          email: 'ops@example.com',
          privateKeySecretRef: { name: `${name}-account` },
          solvers: [{ dns01: { route53: { region: 'us-east-1', accessKeyID, secretAccessKeySecretRef: { name: 'route53-credentials', key: 'secret-access-key' }, ...(hostedZoneID ? { hostedZoneID } : {}) } } }],
        },
      },
    },
  });
}

async function certificate(name: string, issuerName: string, dnsNames: string[]): Promise<void> {
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: 'v1',
    namespace: 'apps',
    plural: 'certificates',
    body: { apiVersion: `${GROUP}/v1`, kind: 'Certificate', metadata: { name }, spec: { secretName: `${name}-tls`, dnsNames, issuerRef: { name: issuerName, kind: 'ClusterIssuer' } } },
  });
}

async function conditionOf(name: string, type: string): Promise<Condition | undefined> {
  const object = (await custom.getNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: 'apps', plural: 'certificates', name })) as { status?: { conditions?: Condition[] } };
  return object.status?.conditions?.find((condition) => condition.type === type);
}

it('issues a Certificate by writing the _acme-challenge TXT record into the Route 53 zone, then removing it', async () => {
  const zone = await route53.send(new CreateHostedZoneCommand({ Name: 'example.com', CallerReference: 'cert-manager-test' }));
  const zoneId = zone.HostedZone?.Id as string;
  const before = sandbox.counters.snapshot();
  await issuer('letsencrypt', TEST_AWS_CREDENTIALS.accessKeyId);
  await certificate('shop', 'letsencrypt', ['shop.example.com']);

  await waitFor(async () => ((await conditionOf('shop', 'Ready'))?.status === 'True' ? true : undefined), 10_000, 'certificate Ready');
  const after = sandbox.counters.snapshot();
  const count = (snapshot: typeof before, kind: 'created' | 'deleted') => snapshot[kind][ROUTE53_COUNTER_TYPES.recordSet] ?? 0;
  // The TXT record was written, then removed again.
  expect(count(after, 'created') - count(before, 'created')).toBe(1);
  expect(count(after, 'deleted') - count(before, 'deleted')).toBe(1);
  const records = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  expect(records.ResourceRecordSets?.map((set) => set.Type)).toEqual(['NS', 'SOA']);
  const secret = await core.readNamespacedSecret({ namespace: 'apps', name: 'shop-tls' });
  expect(secret.metadata?.annotations?.['cert-manager.io/alt-names']).toBe('shop.example.com');

  // With the zone named in the solver (as Tugboat's issuers do), no lookup: the same records come and go.
  await issuer('by-zone-id', TEST_AWS_CREDENTIALS.accessKeyId, zoneId.replace('/hostedzone/', ''));
  await certificate('www', 'by-zone-id', ['www.example.com']);
  await waitFor(async () => ((await conditionOf('www', 'Ready'))?.status === 'True' ? true : undefined), 10_000, 'second certificate Ready');
  const last = sandbox.counters.snapshot();
  expect(count(last, 'created') - count(before, 'created')).toBe(2);
  expect(count(last, 'deleted') - count(before, 'deleted')).toBe(2);
});

it('fails with the AWS error for an unknown key, and names the zone it cannot find', async () => {
  await issuer('wrong-key', 'AKIAUNKNOWN000000000');
  await certificate('stranger', 'wrong-key', ['stranger.example.com']);
  const failed = await waitFor(async () => {
    const issuing = await conditionOf('stranger', 'Issuing');
    return issuing?.reason === 'Failed' ? issuing : undefined;
  }, 10_000, 'the failure');
  expect(failed.message).toBe(
    'The certificate request has failed to complete and will be retried: error instantiating route53 challenge solver: failed to list hosted zones: InvalidClientTokenId: The security token included in the request is invalid.',
  );

  await certificate('elsewhere', 'letsencrypt', ['app.example.net']);
  const missing = await waitFor(async () => {
    const issuing = await conditionOf('elsewhere', 'Issuing');
    return issuing?.reason === 'Failed' ? issuing : undefined;
  }, 10_000, 'the zone failure');
  expect(missing.message).toContain('Failed to determine Route 53 hosted zone ID: Zone example.net. not found in Route 53 for domain _acme-challenge.app.example.net.');
});

// Uses the `letsencrypt` issuer of the first test.
it('serves a Gateway listener once cert-manager has issued the Secret it refers to', async () => {
  const gatewayApi = { group: 'gateway.networking.k8s.io', version: 'v1' };
  await custom.createClusterCustomObject({ ...gatewayApi, plural: 'gatewayclasses', body: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'eg' }, spec: { controllerName: 'gateway.envoyproxy.io/gatewayclass-controller' } } });
  const listener = { name: 'https-api', protocol: 'HTTPS', port: 443, hostname: 'api.example.com', tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', group: '', name: 'api-tls' }] } };
  await custom.createNamespacedCustomObject({ ...gatewayApi, namespace: 'apps', plural: 'gateways', body: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'web' }, spec: { gatewayClassName: 'eg', listeners: [listener] } } });
  const resolvedRefs = async () => {
    const gateway = (await custom.getNamespacedCustomObject({ ...gatewayApi, namespace: 'apps', plural: 'gateways', name: 'web' })) as { status?: { listeners?: Array<{ conditions: Condition[] }> } };
    return gateway.status?.listeners?.[0]?.conditions.find((condition) => condition.type === 'ResolvedRefs');
  };
  expect(await waitFor(async () => ((await resolvedRefs())?.status === 'False' ? resolvedRefs() : undefined), 10_000, 'listener waiting')).toMatchObject({ reason: 'InvalidCertificateRef', message: 'Secret apps/api-tls does not exist.' });
  await certificate('api', 'letsencrypt', ['api.example.com']);
  await waitFor(async () => ((await resolvedRefs())?.status === 'True' ? true : undefined), 10_000, 'listener resolved');
});
