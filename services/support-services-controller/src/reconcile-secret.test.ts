/**
 * SecretInstance against the SDK's fake API and an in-process sandbox (Secrets Manager on its JSON
 * 1.1 protocol): the tugboat backend waits for a value then holds it; the Secrets Manager backend
 * writes one version per generation (a kill right after the write and a second pass add none),
 * follows a new value, deletes with the recovery window; the value is in no status. Its stores
 * (with a stand-in for the clusters): kept where its apps run, removed where none needs them.
 */
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createFakeApi, reconcileOnce, type FakeApi } from '@tugboat/controller-sdk/testing';
import { armedKillPoint, AWS_ACCOUNT, SECRET_DEFINITION, SECRET_INSTANCE, SUPPORT_SERVICES_CONTROLLER, type KillPoint, type Resource, type ResourceStatus } from '@tugboat/resource-model';
import { DEFAULT_ACCOUNT_ID } from '@tugboat/sandbox';
import { startTestSandbox, type TestSandbox } from '@tugboat/sandbox/testing';
import { createClusterConnections } from '@tugboat/kube';
import { defineController } from '@tugboat/controller-sdk';
import { createAccountCredentials } from '@tugboat/aws';
import { createSecretReconciler } from './reconcile-secret.js';
import type { SecretStores, StoreEntry } from './secret-stores.js';
import { createSupportServicesControllers } from './support-services-controller.js';
import { supportServicesSettings } from './support-services-settings.js';

const KEY = { accessKeyId: 'AKIASECRETSTESTKEY01', secretAccessKey: 'secrets-test-secret' };
const CANARY = 'canary-3f9e1c-never-shown';

let sandbox: TestSandbox;
let api: FakeApi;
let sm: SecretsManagerClient;

beforeAll(async () => {
  sandbox = await startTestSandbox({ credentials: [KEY], timeScale: 1000 });
  sm = new SecretsManagerClient({ endpoint: sandbox.url, region: 'eu-west-1', credentials: KEY, maxAttempts: 1 });
  api = createFakeApi({ kinds: [AWS_ACCOUNT, SECRET_DEFINITION, SECRET_INSTANCE], identity: { name: SUPPORT_SERVICES_CONTROLLER, type: 'controller', controller: SUPPORT_SERVICES_CONTROLLER } });
  await api.create({ kind: 'AwsAccount', metadata: { name: 'main' }, spec: { accountId: DEFAULT_ACCOUNT_ID, region: 'eu-west-1', endpoint: sandbox.url, ...KEY } });
  api.setStatus({ kind: 'AwsAccount', name: 'main' }, { phase: 'Ready', conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'ok' }] });
  await api.create({ kind: 'SecretDefinition', metadata: { name: 'sealed' }, spec: { backend: 'tugboat' } });
  await api.create({ kind: 'SecretDefinition', metadata: { name: 'aws' }, spec: { backend: 'aws-secrets-manager', accountRef: { name: 'main' }, recoveryWindowDays: 10 } });
});
afterAll(async () => {
  sm?.destroy();
  await sandbox?.sandbox.close();
});

const settings = { ...supportServicesSettings({}), retryMs: 1, waitMs: 1 };
const declarations = (killPoint?: KillPoint) => createSupportServicesControllers({ ...settings, connections: createClusterConnections(), charts: { render: async () => ({ objects: [], digest: '' }) }, ...(killPoint ? { killPoint } : {}) })[2];
type Obj = Resource<Record<string, unknown>, ResourceStatus>;
async function once(name: string, killPoint?: KillPoint) {
  const obj = api.object({ kind: 'SecretInstance', project: 'shop', name });
  if (obj === undefined) return { outcome: 'gone', object: undefined };
  const { report, object } = await reconcileOnce(declarations(killPoint), obj as never, { api });
  return { outcome: report.outcome, object: object as Obj | undefined };
}
const setValue = async (name: string, value: string) => {
  const current = api.object({ kind: 'SecretInstance', project: 'shop', name })!;
  await api.replace({ kind: 'SecretInstance', metadata: { name, project: 'shop', resourceVersion: current.metadata.resourceVersion }, spec: { ...current.spec, value } });
};

describe('support-services-controller: SecretInstance', () => {
  it('holds a Tugboat-sealed value: waits for one, then Ready, the value in no status', async () => {
    await api.create({ kind: 'SecretInstance', metadata: { name: 'token', project: 'shop' }, spec: { definitionRef: { name: 'sealed' }, key: 'API_TOKEN' } });
    const waiting = await once('token');
    expect(waiting.object?.status).toMatchObject({ phase: 'Progressing', conditions: expect.arrayContaining([expect.objectContaining({ reason: 'WaitingForValue', message: expect.stringContaining('tug secret set secretinstance/token -p shop') })]) });
    await setValue('token', CANARY);
    const ready = await once('token');
    expect(ready.object?.status.phase).toBe('Ready');
    expect(JSON.stringify(api.objects())).not.toContain(CANARY);
  });

  it('writes one Secrets Manager version per generation, also when killed right after the write, and follows a new value', async () => {
    await api.create({ kind: 'SecretInstance', metadata: { name: 'db-password', project: 'shop' }, spec: { definitionRef: { name: 'aws' }, key: 'DB_PASSWORD', value: CANARY } });
    const kills: string[] = [];
    const killed = await once('db-password', armedKillPoint({ point: 'secret.after-write', kill: () => kills.push('secret.after-write') }));
    expect(kills).toEqual(['secret.after-write']);
    expect(killed.outcome).toBe('error');
    const ready = await once('db-password');
    expect(ready.object?.status.phase).toBe('Ready');
    const outputs = ready.object?.status.outputs ?? {};
    expect(outputs).toMatchObject({ backend: 'aws-secrets-manager', secretName: 'tugboat/shop/db-password', region: 'eu-west-1', secretArn: expect.stringContaining('secret:tugboat/shop/db-password') });
    await once('db-password');
    const described = await sm.send(new DescribeSecretCommand({ SecretId: 'tugboat/shop/db-password' }));
    expect(Object.keys(described.VersionIdsToStages ?? {})).toHaveLength(1);
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'tugboat/shop/db-password' }))).SecretString).toBe(CANARY);

    await setValue('db-password', `${CANARY}-2`);
    const next = await once('db-password');
    expect(next.object?.status.outputs?.['versionId']).not.toBe(outputs['versionId']);
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'tugboat/shop/db-password' }))).SecretString).toBe(`${CANARY}-2`);
    const versions = await sm.send(new DescribeSecretCommand({ SecretId: 'tugboat/shop/db-password' }));
    expect(Object.values(versions.VersionIdsToStages ?? {}).filter((stages) => stages.includes('AWSCURRENT'))).toHaveLength(1);
    expect(JSON.stringify(api.objects())).not.toContain(CANARY);

    await api.delete({ kind: 'SecretInstance', project: 'shop', name: 'db-password' });
    const gone = await once('db-password');
    expect(gone.outcome).toBe('finalized');
    const deleted = await sm.send(new DescribeSecretCommand({ SecretId: 'tugboat/shop/db-password' }));
    expect(deleted.DeletedDate).toBeDefined();
  });

  it('keeps the store on the clusters of the apps that receive it, says why one is not ready, and removes it where no app needs it any more', async () => {
    await api.create({ kind: 'SecretInstance', metadata: { name: 'shared', project: 'shop' }, spec: { definitionRef: { name: 'aws' }, key: 'SHARED', value: CANARY } });
    let apps = new Map<string, string[]>([['prod', ['web']], ['dev', ['web-dev']]]);
    let neededElsewhere = false;
    const calls: string[] = [];
    const stores = {
      receivingClusters: async () => apps,
      neededOn: async (_ctx: unknown, definition: string, cluster: string) => {
        calls.push(`needed? ${definition} ${cluster}`);
        return neededElsewhere;
      },
      ensure: async (_ctx: unknown, cluster: string) => {
        calls.push(`ensure ${cluster}`);
        return cluster === 'dev' ? { ready: false, reason: 'InvalidProviderConfig', message: 'ClusterSecretStore tugboat-aws on cluster dev is not ready: unable to validate store' } : { ready: true, reason: 'StoreReady', message: 'ready' };
      },
      remove: async (_ctx: unknown, cluster: string, definition: string) => {
        calls.push(`remove ${definition} ${cluster}`);
        return undefined;
      },
    } as unknown as SecretStores;
    const reconciler = createSecretReconciler({ credentials: createAccountCredentials({ requestTimeoutMs: 5_000 }), stores, requestTimeoutMs: 5_000, retryMs: 1, waitMs: 1, progressMs: 7, recheckMs: 60_000 });
    const declaration = defineController({ name: SUPPORT_SERVICES_CONTROLLER, owns: 'SecretInstance', reconcile: reconciler.reconcile, finalize: reconciler.finalize });
    const pass = async () => {
      const { report, object } = await reconcileOnce(declaration, api.object({ kind: 'SecretInstance', project: 'shop', name: 'shared' }) as never, { api });
      return { report, object: object as Obj | undefined, stores: ((object as Obj | undefined)?.status['stores'] ?? []) as StoreEntry[] };
    };

    const first = await pass();
    expect(first.object?.status.phase).toBe('Progressing');
    expect(first.object?.status.conditions?.find((condition) => condition.type === 'StoresReady')).toMatchObject({ status: 'False', reason: 'InvalidProviderConfig', message: expect.stringContaining('on cluster dev is not ready') });
    expect(first.stores.map(({ cluster, ready, workloads }) => ({ cluster, ready, workloads }))).toEqual([
      { cluster: 'dev', ready: false, workloads: ['web-dev'] },
      { cluster: 'prod', ready: true, workloads: ['web'] },
    ]);
    expect(first.object?.status.outputs).toMatchObject({ versionId: expect.any(String), version: '1' });

    // The dev app stops receiving it, but another secret of the definition is read there: the store stays.
    apps = new Map([['prod', ['web']]]);
    neededElsewhere = true;
    calls.length = 0;
    const kept = await pass();
    expect(calls).toEqual(['ensure prod', 'needed? aws dev']);
    expect(kept.object?.status.phase).toBe('Ready');
    expect(kept.stores.map((entry) => entry.cluster)).toEqual(['prod']);

    // The last app goes: the store is removed from the clusters it was recorded on, and none is left in the status.
    apps = new Map();
    neededElsewhere = false;
    calls.length = 0;
    const gone = await pass();
    expect(calls).toEqual(['needed? aws prod', 'remove aws prod']);
    expect(gone.stores).toEqual([]);
    expect(gone.object?.status.conditions?.find((condition) => condition.type === 'StoresReady')).toMatchObject({ status: 'True', reason: 'NoApps' });
    expect(JSON.stringify(api.objects())).not.toContain(CANARY);
  });
});
