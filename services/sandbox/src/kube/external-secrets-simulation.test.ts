import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { externalSecretsCrds, externalSecretsDeployments } from '../test-support/add-on-fixtures.js';
import { backoffMs, parseGoDuration } from './external-secrets-simulation.js';
import { eventually, startKubeTestServer, type KubeTestServer } from './kube-test-server.js';
import { SecretsManagerReadError, type SecretsManagerReader } from './secrets-manager-reader.js';

const GROUP = 'external-secrets.io';
const VERSION = 'v1beta1';

/** Secrets Manager as a map; counts the calls. */
function fakeReader() {
  const secrets = new Map<string, string>([['app/key', 'value']]);
  const calls: string[] = [];
  const reader: SecretsManagerReader = {
    async validate(_region, credentials) {
      calls.push(`validate ${credentials.accessKeyId}`);
    },
    async getSecretString(_region, _credentials, key) {
      calls.push(`get ${key}`);
      const value = secrets.get(key);
      if (value === undefined) throw new SecretsManagerReadError("operation error Secrets Manager: GetSecretValue, ResourceNotFoundException: Secrets Manager can't find the specified secret.", 'ResourceNotFoundException');
      return value;
    },
  };
  return { reader, secrets, calls };
}

let server: KubeTestServer;
let fake: ReturnType<typeof fakeReader>;

beforeAll(async () => {
  fake = fakeReader();
  server = await startKubeTestServer({ scale: 1000, secretsManagerReader: fake.reader });
});

afterAll(async () => {
  await server.close();
});

describe('Go durations and backoff', () => {
  it('reads refreshInterval as ESO does', () => {
    expect(parseGoDuration('1h')).toBe(3_600_000);
    expect(parseGoDuration('15s')).toBe(15_000);
    expect(parseGoDuration('1h30m')).toBe(5_400_000);
    expect(parseGoDuration('500ms')).toBe(500);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('1.5m')).toBe(90_000);
    expect(parseGoDuration('soon')).toBeUndefined();
    expect(parseGoDuration('10')).toBeUndefined();
    expect([1, 2, 3, 10].map(backoffMs)).toEqual([5_000, 10_000, 20_000, 300_000]);
  });
});

describe('External Secrets simulation', () => {
  it('does nothing until the controller Deployment is Available, then validates the store and syncs', async () => {
    server.simulator.addCluster('eso');
    const kc = new KubeConfig();
    kc.loadFromString(server.simulator.kubeconfig(server.baseUrl, ['eso']));
    for (const crd of externalSecretsCrds()) {
      const response = await fetch(`${server.baseUrl}/k8s/eso/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(crd) });
      expect(response.status).toBe(201);
    }
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    for (const namespace of ['external-secrets', 'apps']) await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedSecret({ namespace: 'apps', body: { metadata: { name: 'keys' }, stringData: { id: 'AKIAFAKE', secret: 's' } } });
    const ref = (key: string) => ({ name: 'keys', key });
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'apps',
      plural: 'secretstores',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'SecretStore', metadata: { name: 'aws' }, spec: { provider: { aws: { service: 'SecretsManager', region: 'eu-west-1', auth: { secretRef: { accessKeyIDSecretRef: ref('id'), secretAccessKeySecretRef: ref('secret') } } } } } },
    });
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'apps',
      plural: 'externalsecrets',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ExternalSecret', metadata: { name: 'app' }, spec: { refreshInterval: '0', secretStoreRef: { name: 'aws' }, data: [{ secretKey: 'k', remoteRef: { key: 'app/key' } }] } },
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(fake.calls).toEqual([]);
    const status = async (plural: string, name: string) => ((await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'apps', plural, name })) as { status?: { conditions?: Array<{ type: string; status: string; reason: string }> } }).status;
    expect(await status('externalsecrets', 'app')).toBeUndefined();

    const apps = kc.makeApiClient(AppsV1Api);
    for (const deployment of externalSecretsDeployments()) await apps.createNamespacedDeployment({ namespace: 'external-secrets', body: deployment });
    await eventually(async () => ((await status('externalsecrets', 'app'))?.conditions?.[0]?.reason === 'SecretSynced' ? true : undefined), 5000, 'synced');
    expect((await status('secretstores', 'aws'))?.conditions?.[0]).toMatchObject({ status: 'True', reason: 'Valid' });
    const secret = await core.readNamespacedSecret({ namespace: 'apps', name: 'app' });
    expect(Buffer.from(secret.data?.k ?? '', 'base64').toString()).toBe('value');
    // Validated once; with refreshInterval "0" read once.
    expect(fake.calls.filter((call) => call.startsWith('validate'))).toEqual(['validate AKIAFAKE']);
    expect(fake.calls.filter((call) => call === 'get app/key')).toHaveLength(1);
  });
});
