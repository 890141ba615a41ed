import { X509Certificate } from 'node:crypto';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { certManagerCrds, certManagerDeployments } from '../test-support/add-on-fixtures.js';
import { Dns01Error, type Dns01Challenge, type Dns01Solver } from './dns01-solver.js';
import { eventually, startKubeTestServer, type KubeTestServer } from './kube-test-server.js';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface Status {
  conditions?: Condition[];
  acme?: { uri?: string; lastRegisteredEmail?: string };
  revision?: number;
  notBefore?: string;
  notAfter?: string;
  renewalTime?: string;
  failedIssuanceAttempts?: number;
}

const GROUP = 'cert-manager.io';
const LETS_ENCRYPT = 'https://acme-v02.api.letsencrypt.org/directory';

/** Records what it is asked to do; takes 4 s of sandbox time to "propagate"; fails domains it is told to. */
function fakeSolver() {
  const log: string[] = [];
  const challenges: Dns01Challenge[] = [];
  const failing = new Map<string, string>();
  const solver: Dns01Solver = {
    async present(challenge, context) {
      const failure = failing.get(challenge.domain);
      if (failure !== undefined) throw new Dns01Error(failure);
      log.push(`present ${challenge.fqdn}`);
      challenges.push(challenge);
      await context.sleep(4_000);
    },
    async cleanUp(challenge) {
      log.push(`cleanUp ${challenge.fqdn}`);
    },
  };
  return { solver, log, challenges, failing };
}

let server: KubeTestServer;
let fake: ReturnType<typeof fakeSolver>;

beforeAll(async () => {
  fake = fakeSolver();
  // Sandbox time 1000x: the first retry after a failure (10 s) takes 10 ms.
  server = await startKubeTestServer({ scale: 1000, dns01Solver: fake.solver });
});

afterAll(async () => {
  await server.close();
});

async function clusterWithCertManager(name: string) {
  server.simulator.addCluster(name);
  const kc = new KubeConfig();
  kc.loadFromString(server.simulator.kubeconfig(server.baseUrl, [name]));
  for (const crd of certManagerCrds()) {
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
  for (const namespace of ['cert-manager', 'apps']) await core.createNamespace({ body: { metadata: { name: namespace } } });
  const startCertManager = async () => {
    for (const deployment of certManagerDeployments()) await apps.createNamespacedDeployment({ namespace: 'cert-manager', body: deployment });
  };
  const get = async (plural: string, namespace: string | undefined, objectName: string) =>
    (namespace === undefined
      ? await custom.getClusterCustomObject({ group: GROUP, version: 'v1', plural, name: objectName })
      : await custom.getNamespacedCustomObject({ group: GROUP, version: 'v1', namespace, plural, name: objectName })) as { status?: Status };
  const condition = async (plural: string, namespace: string | undefined, objectName: string, type: string) => (await get(plural, namespace, objectName)).status?.conditions?.find((candidate) => candidate.type === type);
  const clusterIssuer = (issuerName: string, acme: Record<string, unknown>) =>
    custom.createClusterCustomObject({ group: GROUP, version: 'v1', plural: 'clusterissuers', body: { apiVersion: `${GROUP}/v1`, kind: 'ClusterIssuer', metadata: { name: issuerName }, spec: { acme } } });
  const certificate = (certificateName: string, spec: Record<string, unknown>) =>
    custom.createNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: 'apps', plural: 'certificates', body: { apiVersion: `${GROUP}/v1`, kind: 'Certificate', metadata: { name: certificateName }, spec } });
  const credentials = (secretName: string) => core.createNamespacedSecret({ namespace: 'cert-manager', body: { metadata: { name: secretName }, stringData: { 'secret-access-key': 'shh' } } });
  return { core, custom, get, condition, startCertManager, clusterIssuer, certificate, credentials };
}

const route53Acme = (privateKey: string, route53: Record<string, unknown>, server = LETS_ENCRYPT) => ({
  server,
  email: 'ops@example.com',
  privateKeySecretRef: { name: privateKey },
  solvers: [{ selector: { dnsZones: ['example.com'] }, dns01: { route53: { region: 'eu-west-1', ...route53 } } }],
});

describe('cert-manager simulation', () => {
  it('registers ACME issuers once cert-manager runs, and refuses a server that is not https', async () => {
    const t = await clusterWithCertManager('cm-issuers');
    await t.clusterIssuer('letsencrypt', route53Acme('letsencrypt-account', {}));
    await t.clusterIssuer('plain-http', route53Acme('plain-account', {}, 'http://acme.example/directory'));
    await t.custom.createNamespacedCustomObject({
      group: GROUP,
      version: 'v1',
      namespace: 'apps',
      plural: 'issuers',
      body: { apiVersion: `${GROUP}/v1`, kind: 'Issuer', metadata: { name: 'staging' }, spec: { acme: route53Acme('staging-account', {}, 'https://acme-staging-v02.api.letsencrypt.org/directory') } },
    });
    // No controller yet: nothing happens.
    await new Promise((resolve) => setImmediate(resolve));
    expect((await t.get('clusterissuers', undefined, 'letsencrypt')).status).toBeUndefined();

    await t.startCertManager();
    const ready = await eventually(() => t.condition('clusterissuers', undefined, 'letsencrypt', 'Ready'), 5000, 'issuer status');
    expect(ready).toMatchObject({ status: 'True', reason: 'ACMEAccountRegistered', message: 'The ACME account was registered with the ACME server' });
    const status = (await t.get('clusterissuers', undefined, 'letsencrypt')).status;
    expect(status?.acme?.uri).toMatch(/^https:\/\/acme-v02\.api\.letsencrypt\.org\/acme\/acct\/\d+$/);
    expect(status?.acme?.lastRegisteredEmail).toBe('ops@example.com');
    const accountKey = await t.core.readNamespacedSecret({ namespace: 'cert-manager', name: 'letsencrypt-account' });
    expect(Buffer.from(accountKey.data?.['tls.key'] ?? '', 'base64').toString()).toContain('PRIVATE KEY');
    // A namespaced Issuer keeps its account key in its own namespace.
    expect(await eventually(() => t.condition('issuers', 'apps', 'staging', 'Ready'))).toMatchObject({ status: 'True' });
    await t.core.readNamespacedSecret({ namespace: 'apps', name: 'staging-account' });

    expect(await eventually(() => t.condition('clusterissuers', undefined, 'plain-http', 'Ready'))).toMatchObject({
      status: 'False',
      reason: 'ErrRegisterACMEAccount',
      message: expect.stringContaining('Failed to register ACME account: Get "http://acme.example/directory"'),
    });
  });

  it('issues a Certificate through DNS-01: challenges presented then cleaned up, a TLS Secret signed by the sandbox CA, re-issued when the names change', async () => {
    const t = await clusterWithCertManager('cm-issue');
    await t.startCertManager();
    await t.certificate('web', { secretName: 'web-tls', dnsNames: ['app.example.com', '*.example.com'], issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } });

    // The issuer does not exist yet.
    const waiting = await eventually(() => t.condition('certificates', 'apps', 'web', 'Issuing'), 5000, 'certificate waiting');
    expect(waiting).toMatchObject({ status: 'True', reason: 'IssuerNotReady', message: 'Referenced "ClusterIssuer" not found: clusterissuer.cert-manager.io "letsencrypt" not found' });
    expect(await t.condition('certificates', 'apps', 'web', 'Ready')).toMatchObject({ status: 'False', reason: 'DoesNotExist', message: 'Issuing certificate as Secret does not exist' });

    await t.credentials('route53-credentials');
    await t.clusterIssuer('letsencrypt', route53Acme('letsencrypt-account', { accessKeyID: 'AKIAEXAMPLE', secretAccessKeySecretRef: { name: 'route53-credentials', key: 'secret-access-key' } }));
    await eventually(async () => ((await t.condition('certificates', 'apps', 'web', 'Ready'))?.status === 'True' ? true : undefined), 10_000, 'certificate ready');
    const { status } = await t.get('certificates', 'apps', 'web');
    expect(status?.conditions?.find((condition) => condition.type === 'Ready')).toMatchObject({ reason: 'Ready', message: 'Certificate is up to date and has not expired' });
    expect(status?.revision).toBe(1);
    expect(Date.parse(status?.notAfter ?? '') - Date.parse(status?.notBefore ?? '')).toBe(90 * 24 * 3600 * 1000);
    expect(Date.parse(status?.notAfter ?? '') - Date.parse(status?.renewalTime ?? '')).toBe(30 * 24 * 3600 * 1000);

    const challenges = fake.challenges.filter((challenge) => challenge.credentials.accessKeyId === 'AKIAEXAMPLE');
    expect(challenges.map((challenge) => challenge.fqdn).sort()).toEqual(['_acme-challenge.app.example.com.', '_acme-challenge.example.com.']);
    expect(challenges[0]).toMatchObject({ route53: { region: 'eu-west-1' }, credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'shh' } });
    for (const challenge of challenges) expect(fake.log.indexOf(`cleanUp ${challenge.fqdn}`)).toBeGreaterThan(fake.log.indexOf(`present ${challenge.fqdn}`));

    const secret = await t.core.readNamespacedSecret({ namespace: 'apps', name: 'web-tls' });
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(secret.metadata?.annotations).toMatchObject({
      'cert-manager.io/certificate-name': 'web',
      'cert-manager.io/issuer-name': 'letsencrypt',
      'cert-manager.io/issuer-kind': 'ClusterIssuer',
      'cert-manager.io/alt-names': 'app.example.com,*.example.com',
    });
    const decoded = (key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString();
    const leaf = new X509Certificate(decoded('tls.crt'));
    expect(leaf.subjectAltName).toBe('DNS:app.example.com, DNS:*.example.com');
    expect(leaf.verify(new X509Certificate(decoded('ca.crt')).publicKey)).toBe(true);
    expect(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(decoded('tls.key')))).toBe(true);

    const events = await t.core.listNamespacedEvent({ namespace: 'apps', fieldSelector: 'involvedObject.name=web' });
    expect(events.items.map((event) => event.reason)).toEqual(expect.arrayContaining(['Issuing', 'Presented']));

    // New names: issued again, revision 2.
    await t.custom.patchNamespacedCustomObject({
      group: GROUP,
      version: 'v1',
      namespace: 'apps',
      plural: 'certificates',
      name: 'web',
      body: [{ op: 'add', path: '/spec/dnsNames/-', value: 'api.example.com' }],
    });
    await eventually(async () => ((await t.get('certificates', 'apps', 'web')).status?.revision === 2 ? true : undefined), 10_000, 'revision 2');
    const reissued = await t.core.readNamespacedSecret({ namespace: 'apps', name: 'web-tls' });
    expect(reissued.metadata?.annotations?.['cert-manager.io/alt-names']).toBe('app.example.com,*.example.com,api.example.com');
  });

  it('fails as cert-manager does, with the reason, and retries with backoff until the problem is fixed', async () => {
    const t = await clusterWithCertManager('cm-failures');
    await t.startCertManager();
    await t.clusterIssuer('letsencrypt', route53Acme('letsencrypt-account', { accessKeyID: 'AKIAFAIL', secretAccessKeySecretRef: { name: 'missing-credentials', key: 'secret-access-key' } }));
    await t.certificate('api', { secretName: 'api-tls', dnsNames: ['api.example.com'], issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } });

    const failed = await eventually(async () => {
      const issuing = await t.condition('certificates', 'apps', 'api', 'Issuing');
      return issuing?.reason === 'Failed' ? issuing : undefined;
    }, 5000, 'a failed issuance');
    expect(failed).toMatchObject({
      status: 'False',
      message: 'The certificate request has failed to complete and will be retried: error getting route53 secret access key: secret "missing-credentials" not found',
    });
    expect(await t.condition('certificates', 'apps', 'api', 'Ready')).toMatchObject({ status: 'False', reason: 'DoesNotExist' });
    const warnings = await t.core.listNamespacedEvent({ namespace: 'apps', fieldSelector: 'involvedObject.name=api' });
    expect(warnings.items.some((event) => event.type === 'Warning' && event.reason === 'Failed')).toBe(true);

    // The solver's own failures (a zone Route 53 does not have) are retried too, counted.
    fake.failing.set('api.example.com', 'Failed to determine Route 53 hosted zone ID: Zone example.com. not found in Route 53 for domain _acme-challenge.api.example.com.');
    await t.credentials('missing-credentials');
    const counted = await eventually(async () => {
      // Counted from the credentials failures too: wait for the solver's own failure to be the latest.
      const { status } = await t.get('certificates', 'apps', 'api');
      const latest = status?.conditions?.find((condition) => condition.type === 'Issuing')?.message ?? '';
      return (status?.failedIssuanceAttempts ?? 0) >= 3 && latest.includes('Zone example.com. not found') ? status : undefined;
    }, 10_000, 'repeated failures');
    expect(counted.conditions?.find((condition) => condition.type === 'Issuing')?.message).toContain('Zone example.com. not found in Route 53');

    fake.failing.delete('api.example.com');
    await eventually(async () => ((await t.condition('certificates', 'apps', 'api', 'Ready'))?.status === 'True' ? true : undefined), 10_000, 'issued after the fix');
    expect((await t.get('certificates', 'apps', 'api')).status?.failedIssuanceAttempts).toBeUndefined();
  });
});
