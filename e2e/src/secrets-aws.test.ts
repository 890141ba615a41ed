/**
 * Secrets kept in AWS Secrets Manager, delivered into an app through the External Secrets Operator
 * (issue 14's correction: the operator writes the Kubernetes Secret, Tugboat never does), end to
 * end: the real API, NATS, the sandbox (its Secrets Manager, its simulated operator and its chart)
 * and the infra-, cluster-, workload- and support-services-controllers as processes.
 *
 * An app receiving such a secret gets the operator installed on its cluster and the definition's
 * ClusterSecretStore, also when the support-services-controller is SIGKILLed right after the
 * store's apply and before its status write (one store, Ready after the restart); the app's
 * ExternalSecret pinned to the Secrets Manager version, its Secret written by the operator's field
 * manager only (kubectl reads it); a new value → a new version → the pods rolled; the reference
 * dropped → the ExternalSecret and its Secret gone, and the store with its credentials; the same
 * when the app is deleted (the operator stays). A canary value never appears in an API answer, event, watch frame or log line.
 */
import { readFile } from 'node:fs/promises';
import type { Resource } from '@tugboat/resource-model';
import { waitUntil, type Child } from './harness/cli-processes.js';
import { ACCOUNT_ID, EKS_KEYS, startEksStack, type EksStack } from './harness/eks-stack.js';

const CANARY = `canary-${Date.now().toString(36)}-eso-never-shown`;
const SUPPORT_ENV = { AWS_RETRY_MS: '200', AWS_REQUEST_TIMEOUT_MS: '5000', EXPOSURE_WAIT_MS: '1000', EXPOSURE_PROGRESS_MS: '500' };
const NAMESPACE = 'shop-web';
const phaseOf = (obj: Resource | undefined) => (obj?.status as { phase?: string } | undefined)?.phase;

interface Kube {
  metadata: { name: string; generation?: number; annotations?: Record<string, string>; managedFields?: Array<{ manager: string }>; ownerReferences?: Array<{ kind: string }> };
  spec?: Record<string, unknown>;
  status?: { conditions?: Array<{ type: string; status: string; message?: string }> };
  data?: Record<string, string>;
}
interface StoreEntry {
  cluster: string;
  store: string;
  ready: boolean;
  workloads: string[];
}

describe('Secrets Manager secrets through the External Secrets Operator (API, sandbox and controllers as processes)', () => {
  let stack: EksStack;
  let support: Child;
  const frames: string[] = [];
  const stopWatching = new AbortController();
  let watching: Promise<void>;

  const secret = () => stack.admin.get({ kind: 'SecretInstance', project: 'shop', name: 'api-key' });
  const storesOf = async () => ((await secret())?.status as { stores?: StoreEntry[] } | undefined)?.stores;
  const untilPhase = (kind: string, name: string, phase: string, timeoutMs = 60_000) =>
    waitUntil(async () => {
      const obj = await stack.admin.get({ kind, project: 'shop', name });
      return phaseOf(obj) === phase && obj?.status.observedGeneration === obj?.metadata.generation ? obj : undefined;
    }, `${kind} ${name} ${phase}`, timeoutMs);
  /** An object as kubectl reads it; undefined when the cluster has none. */
  const kube = async (...what: string[]): Promise<Kube | undefined> => {
    try {
      return JSON.parse(await stack.kubectl('get', ...what, '-o', 'json', '--show-managed-fields')) as Kube;
    } catch (error) {
      if (/NotFound|not found/.test(String(error))) return undefined;
      throw error;
    }
  };
  const ready = (object: Kube | undefined) => object?.status?.conditions?.find((condition) => condition.type === 'Ready')?.status === 'True';
  const delivered = async () => {
    const target = await kube('secret', 'tugboat-secret-api-key', '-n', NAMESPACE);
    return target?.data?.['API_KEY'] === undefined ? undefined : Buffer.from(target.data['API_KEY'], 'base64').toString();
  };
  const template = async () => ((await kube('deployment', 'web', '-n', NAMESPACE))!.spec as { template: { metadata: { annotations: Record<string, string> } } }).template;
  const podNames = async () => (JSON.parse(await stack.kubectl('get', 'pods', '-n', NAMESPACE, '-o', 'json')).items as Kube[]).map((pod) => pod.metadata.name);
  const versionOf = async () => ((await secret())!.status as { outputs: { versionId: string } }).outputs.versionId;
  const app = (secrets: Array<{ ref: { name: string } }>) => ({ kind: 'WorkloadInstance', metadata: { name: 'web', project: 'shop' }, spec: { definitionRef: { name: 'web' }, secrets } });

  beforeAll(async () => {
    stack = await startEksStack({ name: 'secrets-aws-e2e', projects: ['shop'] });
    await stack.startInfraController();
    support = await stack.startController('support-services-controller', SUPPORT_ENV);
    watching = (async () => {
      const stream = await stack.admin.watch({ kinds: ['SecretInstance', 'WorkloadInstance'], project: 'shop', signal: stopWatching.signal });
      for await (const event of stream) frames.push(JSON.stringify(event));
    })().catch(() => undefined);
    const kubeconfig = await readFile(stack.kubeconfigFile, 'utf8');
    await stack.admin.apply([
      { kind: 'AwsAccount', metadata: { name: 'main' }, spec: { accountId: ACCOUNT_ID, region: 'us-east-1', endpoint: stack.sandboxUrl, ...EKS_KEYS } },
      { kind: 'ClusterDefinition', metadata: { name: 'local' }, spec: { provider: 'kubeconfig' } },
      { kind: 'ClusterInstance', metadata: { name: 'local' }, spec: { definitionRef: { name: 'local' }, kubeconfig, defaultFor: ['*'] } },
      { kind: 'SecretDefinition', metadata: { name: 'aws' }, spec: { backend: 'aws-secrets-manager', accountRef: { name: 'main' } } },
      { kind: 'WorkloadDefinition', metadata: { name: 'web' }, spec: { container: { image: 'ghcr.io/example/web:1.0', ports: [{ port: 8080 }] } } },
      { kind: 'SecretInstance', metadata: { name: 'api-key', project: 'shop' }, spec: { definitionRef: { name: 'aws' }, key: 'API_KEY', value: CANARY } },
    ]);
    await untilPhase('SecretInstance', 'api-key', 'Ready');
  }, 120_000);

  afterAll(async () => {
    stopWatching.abort();
    await watching;
    await stack?.close();
  });

  it('installs the operator and the store on the app\'s cluster; killed right after the store\'s apply, the restart leaves one store, Ready', async () => {
    support.process.kill('SIGKILL');
    await support.exited;
    const dying = await stack.startController('support-services-controller', { ...SUPPORT_ENV, TUGBOAT_TEST_HOOKS: '1', TUGBOAT_KILL_POINT: 'secret.after-store' }, { expectDeath: true });
    await stack.admin.apply([app([{ ref: { name: 'api-key' } }])]);
    const exit = await Promise.race([dying.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 60_000).unref())]);
    expect(exit?.signal).toBe('SIGKILL');
    // Applied on the cluster, and no status said it is ready (the last one said the operator was being installed); the app waits, naming the secret and the cluster.
    expect(await kube('clustersecretstore', 'tugboat-aws')).toBeDefined();
    expect(await storesOf()).toEqual([expect.objectContaining({ cluster: 'local', ready: false })]);
    const waiting = (await stack.admin.get({ kind: 'WorkloadInstance', project: 'shop', name: 'web' }))?.status.conditions?.find((condition) => condition.type === 'SecretsReady');
    expect(waiting).toMatchObject({ status: 'False', reason: 'SecretStoreNotReady', message: expect.stringMatching(/^SecretInstance api-key: .*cluster local/) });

    support = await stack.startController('support-services-controller', SUPPORT_ENV);
    await untilPhase('WorkloadInstance', 'web', 'Ready', 60_000);
    const stores = JSON.parse(await stack.kubectl('get', 'clustersecretstores', '-o', 'json')).items as Kube[];
    expect(stores.map((store) => store.metadata.name)).toEqual(['tugboat-aws']);
    expect(ready(stores[0])).toBe(true);
    expect(await kube('secret', 'tugboat-aws-aws', '-n', 'external-secrets')).toBeDefined();
    expect(await storesOf()).toEqual([expect.objectContaining({ cluster: 'local', store: 'tugboat-aws', ready: true, workloads: ['web'] })]);
    expect(phaseOf(await secret())).toBe('Ready');
  }, 120_000);

  it('has the operator write the app\'s Secret at the pinned version, and rolls the pods when the value changes', async () => {
    const versionId = await versionOf();
    const external = (await kube('externalsecret', 'tugboat-secret-api-key', '-n', NAMESPACE))!;
    expect(ready(external)).toBe(true);
    expect(external.spec).toMatchObject({ secretStoreRef: { kind: 'ClusterSecretStore', name: 'tugboat-aws' }, target: { name: 'tugboat-secret-api-key', creationPolicy: 'Owner' }, data: [{ secretKey: 'API_KEY', remoteRef: { key: 'tugboat/shop/api-key', version: `uuid/${versionId}` } }] });
    expect(await delivered()).toBe(CANARY);
    // Written by the operator, never by Tugboat: its field managers, and its owner.
    const target = (await kube('secret', 'tugboat-secret-api-key', '-n', NAMESPACE))!;
    expect([...new Set(target.metadata.managedFields?.map((entry) => entry.manager))]).toEqual(['external-secrets']);
    expect(target.metadata.ownerReferences?.map((owner) => owner.kind)).toEqual(['ExternalSecret']);
    const first = await template();
    const podsBefore = await podNames();

    const current = (await secret())!;
    await stack.admin.replace({ kind: 'SecretInstance', metadata: { name: 'api-key', project: 'shop', resourceVersion: current.metadata.resourceVersion }, spec: { ...current.spec, value: `${CANARY}-rotated` } });
    const rotated = await waitUntil(async () => {
      const next = await versionOf();
      return next !== versionId ? next : undefined;
    }, 'a new Secrets Manager version', 30_000);
    const described = await stack.aws('secretsmanager', 'describe-secret', '--secret-id', 'tugboat/shop/api-key');
    expect(Object.keys(described['VersionIdsToStages'] as object).sort()).toEqual([versionId, rotated].sort());
    await waitUntil(async () => ((await template()).metadata.annotations['tugboat.dev/secrets-checksum'] !== first.metadata.annotations['tugboat.dev/secrets-checksum'] ? true : undefined), 'the pod template rolled', 60_000);
    // The pods roll only once the operator wrote the new version.
    expect(await delivered()).toBe(`${CANARY}-rotated`);
    expect(((await kube('externalsecret', 'tugboat-secret-api-key', '-n', NAMESPACE))!.spec as { data: Array<{ remoteRef: { version: string } }> }).data[0]!.remoteRef.version).toBe(`uuid/${rotated}`);
    await untilPhase('WorkloadInstance', 'web', 'Ready', 60_000);
    expect((await podNames()).some((name) => !podsBefore.includes(name))).toBe(true);
  }, 120_000);

  it('prunes the ExternalSecret and its Secret when the app stops receiving it, and removes the store when the last app goes (the operator stays)', async () => {
    const gone = (...what: string[]) => waitUntil(async () => ((await kube(...what)) === undefined ? true : undefined), `${what.join(' ')} gone`, 60_000);
    await stack.admin.apply([app([])]);
    await gone('externalsecret', 'tugboat-secret-api-key', '-n', NAMESPACE);
    await gone('secret', 'tugboat-secret-api-key', '-n', NAMESPACE);
    await gone('clustersecretstore', 'tugboat-aws');
    expect(await kube('secret', 'tugboat-aws-aws', '-n', 'external-secrets')).toBeUndefined();
    await waitUntil(async () => ((await storesOf())?.length === 0 ? true : undefined), 'no store in the status', 30_000);

    // Received again, then the app deleted: its ExternalSecret, the store and its credentials go; the operator stays.
    await stack.admin.apply([app([{ ref: { name: 'api-key' } }])]);
    await untilPhase('WorkloadInstance', 'web', 'Ready', 60_000);
    expect(await delivered()).toBe(`${CANARY}-rotated`);
    await stack.admin.delete({ kind: 'WorkloadInstance', project: 'shop', name: 'web' });
    await gone('externalsecret', 'tugboat-secret-api-key', '-n', NAMESPACE);
    await gone('clustersecretstore', 'tugboat-aws');
    await gone('secret', 'tugboat-aws-aws', '-n', 'external-secrets');
    expect(await kube('deployment', 'external-secrets', '-n', 'external-secrets')).toBeDefined();
    await waitUntil(async () => ((await stack.admin.get({ kind: 'WorkloadInstance', project: 'shop', name: 'web' })) === undefined ? true : undefined), 'app deleted', 60_000);
  }, 150_000);

  it('never shows the value: not in an answer, an event, a watch frame or a log line of a Tugboat process', async () => {
    const said = JSON.stringify([
      await secret(),
      await stack.admin.list('SecretInstance', { project: 'shop' }),
      await stack.admin.revisions({ kind: 'SecretInstance', name: 'api-key', project: 'shop' }),
      await stack.admin.listEvents({ kind: 'SecretInstance', name: 'api-key', project: 'shop' }),
      await stack.admin.listEvents({ kind: 'WorkloadInstance', name: 'web', project: 'shop' }).catch(() => []),
      await stack.admin.revisions({ kind: 'WorkloadInstance', name: 'web', project: 'shop' }).catch(() => []),
    ]);
    expect(said).toContain('<redacted>');
    const logged = [stack.api.child.output(), stack.logs()].join('\n');
    expect(frames.length).toBeGreaterThan(3);
    for (const text of [said, logged, frames.join('\n')]) expect(text).not.toContain(CANARY);
  });
});
