// Both halves together: the Kubernetes half's External Secrets Operator reads the sandbox's own Secrets Manager, over HTTP, with a store's keys.
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { createSandboxServer, type SandboxServer } from './sandbox-server.js';
import { externalSecretsCrds, externalSecretsDeployments } from './test-support/add-on-fixtures.js';
import { TEST_AWS_CREDENTIALS, waitFor } from './test-support/start-test-sandbox.js';

const GROUP = 'external-secrets.io';
const VERSION = 'v1beta1';
let sandbox: SandboxServer;
let url: string;
let secretsManager: SecretsManagerClient;
let core: CoreV1Api;
let custom: CustomObjectsApi;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface Status {
  conditions?: Condition[];
  refreshTime?: string;
  syncedResourceVersion?: string;
  binding?: { name?: string };
}

beforeAll(async () => {
  // 1000x: a 10 min refresh interval takes 0.6 s, a retry after a failure 5 ms.
  sandbox = createSandboxServer({ port: 0, timeScale: 1000, credentials: [TEST_AWS_CREDENTIALS], logger: pino({ level: 'silent' }) });
  ({ url } = await sandbox.start());
  secretsManager = new SecretsManagerClient({ endpoint: url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
  const kc = new KubeConfig();
  kc.loadFromString(sandbox.clusters.kubeconfig(url, ['local']));
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  for (const crd of externalSecretsCrds()) {
    const response = await fetch(`${url}/k8s/local/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(crd) });
    expect(response.status).toBe(201);
  }
  for (const namespace of ['external-secrets', 'apps']) await core.createNamespace({ body: { metadata: { name: namespace } } });
  const apps = kc.makeApiClient(AppsV1Api);
  for (const deployment of externalSecretsDeployments()) await apps.createNamespacedDeployment({ namespace: 'external-secrets', body: deployment });
  const keys = { 'access-key-id': TEST_AWS_CREDENTIALS.accessKeyId, 'secret-access-key': TEST_AWS_CREDENTIALS.secretAccessKey };
  await core.createNamespacedSecret({ namespace: 'external-secrets', body: { metadata: { name: 'aws-keys' }, stringData: keys } });
  await core.createNamespacedSecret({ namespace: 'apps', body: { metadata: { name: 'aws-keys' }, stringData: keys } });
  await core.createNamespacedSecret({ namespace: 'external-secrets', body: { metadata: { name: 'wrong-keys' }, stringData: { 'access-key-id': 'AKIAUNKNOWN000000000', 'secret-access-key': 'nope' } } });
  await clusterStore('aws', 'aws-keys');
  await secretsManager.send(new CreateSecretCommand({ Name: 'shop/db-password', SecretString: 'first' }));
  await secretsManager.send(new CreateSecretCommand({ Name: 'shop/db', SecretString: JSON.stringify({ username: 'shop', password: 'pw', port: 5432 }) }));
});

afterAll(async () => {
  secretsManager.destroy();
  await sandbox.close();
});

function awsProvider(keysSecret: string, namespace?: string) {
  const ref = (key: string) => ({ name: keysSecret, key, ...(namespace ? { namespace } : {}) });
  return { aws: { service: 'SecretsManager', region: 'us-east-1', auth: { secretRef: { accessKeyIDSecretRef: ref('access-key-id'), secretAccessKeySecretRef: ref('secret-access-key') } } } };
}

async function clusterStore(name: string, keysSecret: string): Promise<void> {
  await custom.createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: 'clustersecretstores',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ClusterSecretStore', metadata: { name }, spec: { provider: awsProvider(keysSecret, 'external-secrets') } },
  });
}

async function externalSecret(name: string, spec: Record<string, unknown>): Promise<void> {
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: 'apps',
    plural: 'externalsecrets',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ExternalSecret', metadata: { name }, spec: { secretStoreRef: { name: 'aws', kind: 'ClusterSecretStore' }, ...spec } },
  });
}

async function statusOf(plural: string, namespace: string | undefined, name: string): Promise<Status | undefined> {
  const object = (namespace === undefined
    ? await custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural, name })
    : await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, name })) as { status?: Status };
  return object.status;
}

/** The Ready condition once it has the given status. */
function ready(plural: string, namespace: string | undefined, name: string, status: 'True' | 'False', reason?: string): Promise<Condition> {
  return waitFor(async () => {
    const condition = (await statusOf(plural, namespace, name))?.conditions?.find((candidate) => candidate.type === 'Ready');
    return condition?.status === status && (reason === undefined || condition.reason === reason) ? condition : undefined;
  }, 10_000, `${name} Ready=${status}`);
}

async function secretData(name: string): Promise<Record<string, string> | undefined> {
  try {
    const secret = await core.readNamespacedSecret({ namespace: 'apps', name });
    return Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()]));
  } catch {
    return undefined;
  }
}

describe('External Secrets simulation against the sandbox Secrets Manager', () => {
  it('validates a store with good keys, and refuses one with keys AWS does not know or a Secret that is missing', async () => {
    expect(await ready('clustersecretstores', undefined, 'aws', 'True')).toMatchObject({ reason: 'Valid', message: 'store validated' });

    await clusterStore('wrong', 'wrong-keys');
    const refused = await ready('clustersecretstores', undefined, 'wrong', 'False');
    expect(refused.reason).toBe('InvalidProviderConfig');
    expect(refused.message).toMatch(/^unable to validate store: operation error Secrets Manager: ListSecrets, .*UnrecognizedClientException: The security token included in the request is invalid/);

    await clusterStore('no-keys', 'not-there');
    const missing = await ready('clustersecretstores', undefined, 'no-keys', 'False');
    expect(missing).toMatchObject({ reason: 'InvalidProviderConfig', message: expect.stringContaining('Secret "not-there" not found') });
    // The Secret arrives: the store becomes valid.
    await core.createNamespacedSecret({ namespace: 'external-secrets', body: { metadata: { name: 'not-there' }, stringData: { 'access-key-id': TEST_AWS_CREDENTIALS.accessKeyId, 'secret-access-key': TEST_AWS_CREDENTIALS.secretAccessKey } } });
    await ready('clustersecretstores', undefined, 'no-keys', 'True');

    // A namespaced SecretStore reads its keys from its own namespace.
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'apps',
      plural: 'secretstores',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'SecretStore', metadata: { name: 'local' }, spec: { provider: awsProvider('aws-keys') } },
    });
    await ready('secretstores', 'apps', 'local', 'True');
    const events = await core.listNamespacedEvent({ namespace: 'apps', fieldSelector: 'involvedObject.name=local' });
    expect(events.items.map((event) => event.reason)).toContain('Valid');
  });

  it('syncs an ExternalSecret into its Secret, follows a new value after the refresh interval, and reads a property of a JSON secret', async () => {
    await externalSecret('db', {
      refreshInterval: '10m',
      target: { name: 'db-credentials' },
      data: [
        { secretKey: 'password', remoteRef: { key: 'shop/db-password' } },
        { secretKey: 'username', remoteRef: { key: 'shop/db', property: 'username' } },
        { secretKey: 'port', remoteRef: { key: 'shop/db', property: 'port' } },
      ],
    });
    expect(await ready('externalsecrets', 'apps', 'db', 'True')).toMatchObject({ reason: 'SecretSynced', message: 'secret synced' });
    expect(await secretData('db-credentials')).toEqual({ password: 'first', username: 'shop', port: '5432' });
    const secret = await core.readNamespacedSecret({ namespace: 'apps', name: 'db-credentials' });
    expect(secret.type).toBe('Opaque');
    expect(secret.metadata?.labels?.['reconcile.external-secrets.io/created-by']).toBeDefined();
    expect(secret.metadata?.ownerReferences).toEqual([expect.objectContaining({ apiVersion: `${GROUP}/${VERSION}`, kind: 'ExternalSecret', name: 'db', controller: true })]);
    const status = await statusOf('externalsecrets', 'apps', 'db');
    expect(status?.binding).toEqual({ name: 'db-credentials' });
    expect(status?.syncedResourceVersion).toMatch(/^1-[0-9a-f]{32}$/);
    const firstRefresh = status?.refreshTime as string;
    expect(typeof firstRefresh).toBe('string');
    const resourceVersion = secret.metadata?.resourceVersion;

    // A new value in Secrets Manager reaches the Secret at the next refresh (10 min of sandbox time).
    await secretsManager.send(new PutSecretValueCommand({ SecretId: 'shop/db-password', SecretString: 'second' }));
    await waitFor(async () => ((await secretData('db-credentials'))?.password === 'second' ? true : undefined), 10_000, 'the new password');
    expect((await secretData('db-credentials'))?.username).toBe('shop');
    const updated = await core.readNamespacedSecret({ namespace: 'apps', name: 'db-credentials' });
    expect(updated.metadata?.resourceVersion).not.toBe(resourceVersion);

    // Refreshes with nothing new leave the Secret as it is.
    const before = (await statusOf('externalsecrets', 'apps', 'db'))?.refreshTime;
    await waitFor(async () => ((await statusOf('externalsecrets', 'apps', 'db'))?.refreshTime !== before ? true : undefined), 10_000, 'a later refresh');
    expect((await core.readNamespacedSecret({ namespace: 'apps', name: 'db-credentials' })).metadata?.resourceVersion).toBe(updated.metadata?.resourceVersion);

    // The target name defaults to the ExternalSecret's; a namespaced SecretStore serves it too.
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'apps',
      plural: 'externalsecrets',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ExternalSecret', metadata: { name: 'plain' }, spec: { refreshInterval: '0', secretStoreRef: { name: 'local', kind: 'SecretStore' }, data: [{ secretKey: 'pw', remoteRef: { key: 'shop/db', property: 'password' } }] } },
    });
    await ready('externalsecrets', 'apps', 'plain', 'True');
    expect(await secretData('plain')).toEqual({ pw: 'pw' });
  });

  it('fails with SecretSyncedError for a missing remote key or a store that is not ready, and syncs once the secret exists', async () => {
    await externalSecret('missing', { refreshInterval: '1h', data: [{ secretKey: 'token', remoteRef: { key: 'shop/api-token' } }] });
    const failed = await ready('externalsecrets', 'apps', 'missing', 'False', 'SecretSyncedError');
    expect(failed.message).toMatch(/^could not get secret data from provider: error retrieving secret at \.data\[0\], key: shop\/api-token, err: operation error Secrets Manager: GetSecretValue, .*ResourceNotFoundException: Secrets Manager can't find the specified secret\.$/);
    const warnings = await core.listNamespacedEvent({ namespace: 'apps', fieldSelector: 'involvedObject.name=missing' });
    expect(warnings.items.some((event) => event.type === 'Warning' && event.reason === 'UpdateFailed')).toBe(true);
    expect(await secretData('missing')).toBeUndefined();

    // Retried with backoff: the secret is found once it exists.
    await secretsManager.send(new CreateSecretCommand({ Name: 'shop/api-token', SecretString: 't0ken' }));
    await ready('externalsecrets', 'apps', 'missing', 'True');
    expect(await secretData('missing')).toEqual({ token: 't0ken' });

    await externalSecret('unready', { secretStoreRef: { name: 'wrong', kind: 'ClusterSecretStore' }, data: [{ secretKey: 'x', remoteRef: { key: 'shop/db' } }] });
    expect((await ready('externalsecrets', 'apps', 'unready', 'False', 'SecretSyncedError')).message).toBe('ClusterSecretStore "wrong" is not ready');

    await externalSecret('bad-property', { data: [{ secretKey: 'x', remoteRef: { key: 'shop/db', property: 'nothing' } }] });
    expect((await ready('externalsecrets', 'apps', 'bad-property', 'False', 'SecretSyncedError')).message).toContain('key nothing does not exist in secret shop/db');
  });

  it('deletes the Secret it owns when the ExternalSecret is deleted', async () => {
    await externalSecret('short-lived', { data: [{ secretKey: 'pw', remoteRef: { key: 'shop/db-password' } }] });
    await ready('externalsecrets', 'apps', 'short-lived', 'True');
    expect(await secretData('short-lived')).toEqual({ pw: 'second' });
    await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'apps', plural: 'externalsecrets', name: 'short-lived' });
    await waitFor(async () => ((await secretData('short-lived')) === undefined ? true : undefined), 10_000, 'the owned Secret gone');
  });
});
