/**
 * Secrets (issue 14, its secrets part), end to end: the real API, NATS, the sandbox and the infra-,
 * cluster-, workload- and support-services-controllers as processes.
 *
 * A SecretInstance sealed in Tugboat delivered into an app's namespace (kubectl reads the Secret
 * and the pod template), a new value → the pods rolled; one kept in AWS Secrets Manager written
 * there one version per generation (`aws secretsmanager`), also when the controller is SIGKILLed
 * right after the write and before its status write. A canary value never appears in an API
 * answer, a revision, an event, a watch frame or a log line.
 */
import { readFile } from 'node:fs/promises';
import type { Resource } from '@tugboat/resource-model';
import { waitUntil, type Child } from './harness/cli-processes.js';
import { ACCOUNT_ID, EKS_KEYS, startEksStack, type EksStack } from './harness/eks-stack.js';

const CANARY = `canary-${Date.now().toString(36)}-value-never-shown`;
const SUPPORT_ENV = { AWS_RETRY_MS: '200', AWS_REQUEST_TIMEOUT_MS: '5000', EXPOSURE_WAIT_MS: '1000' };
const phaseOf = (obj: Resource | undefined) => (obj?.status as { phase?: string } | undefined)?.phase;

describe('secrets for apps (API, sandbox and controllers as processes)', () => {
  let stack: EksStack;
  let support: Child;
  const frames: string[] = [];
  const stopWatching = new AbortController();
  let watching: Promise<void>;

  const secret = (name: string) => stack.admin.get({ kind: 'SecretInstance', project: 'shop', name });
  const setValue = async (name: string, value: string) => {
    const current = (await secret(name))!;
    await stack.admin.replace({ kind: 'SecretInstance', metadata: { name, project: 'shop', resourceVersion: current.metadata.resourceVersion }, spec: { ...current.spec, value } });
  };
  const untilPhase = (kind: string, name: string, phase: string, timeoutMs = 60_000) =>
    waitUntil(async () => {
      const obj = await stack.admin.get({ kind, project: 'shop', name });
      return phaseOf(obj) === phase ? obj : undefined;
    }, `${kind} ${name} ${phase}`, timeoutMs);

  beforeAll(async () => {
    stack = await startEksStack({ name: 'secrets-e2e', projects: ['shop'] });
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
      { kind: 'SecretDefinition', metadata: { name: 'sealed' }, spec: { backend: 'tugboat' } },
      { kind: 'SecretDefinition', metadata: { name: 'aws' }, spec: { backend: 'aws-secrets-manager', accountRef: { name: 'main' } } },
      { kind: 'WorkloadDefinition', metadata: { name: 'web' }, spec: { container: { image: 'ghcr.io/example/web:1.0', ports: [{ port: 8080 }] } } },
      { kind: 'SecretInstance', metadata: { name: 'db-password', project: 'shop' }, spec: { definitionRef: { name: 'sealed' }, key: 'DB_PASSWORD', value: CANARY } },
    ]);
  }, 120_000);

  afterAll(async () => {
    stopWatching.abort();
    await watching;
    await stack?.close();
  });

  it('delivers a sealed secret into the app\'s namespace and rolls the pods when the value changes', async () => {
    await untilPhase('SecretInstance', 'db-password', 'Ready');
    await stack.admin.apply([{ kind: 'WorkloadInstance', metadata: { name: 'web', project: 'shop' }, spec: { definitionRef: { name: 'web' }, secrets: [{ ref: { name: 'db-password' } }] } }]);
    await untilPhase('WorkloadInstance', 'web', 'Ready', 90_000);
    const value = async () => Buffer.from(JSON.parse(await stack.kubectl('get', 'secret', 'tugboat-secret-db-password', '-n', 'shop-web', '-o', 'json')).data.DB_PASSWORD, 'base64').toString();
    expect(await value()).toBe(CANARY);
    const template = async () => JSON.parse(await stack.kubectl('get', 'deployment', 'web', '-n', 'shop-web', '-o', 'json')).spec.template as { metadata: { annotations: Record<string, string> }; spec: { containers: Array<{ env: unknown[] }> } };
    const first = await template();
    expect(first.spec.containers[0]!.env).toEqual([{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'tugboat-secret-db-password', key: 'DB_PASSWORD' } } }]);
    const podsBefore = JSON.parse(await stack.kubectl('get', 'pods', '-n', 'shop-web', '-o', 'json')).items.map((pod: { metadata: { name: string } }) => pod.metadata.name) as string[];

    await setValue('db-password', `${CANARY}-rotated`);
    await waitUntil(async () => ((await value()) === `${CANARY}-rotated` ? true : undefined), 'the new value in the Secret', 60_000);
    await waitUntil(async () => ((await template()).metadata.annotations['tugboat.dev/secrets-checksum'] !== first.metadata.annotations['tugboat.dev/secrets-checksum'] ? true : undefined), 'the pod template rolled', 60_000);
    await untilPhase('WorkloadInstance', 'web', 'Ready', 90_000);
    const podsAfter = JSON.parse(await stack.kubectl('get', 'pods', '-n', 'shop-web', '-o', 'json')).items.map((pod: { metadata: { name: string } }) => pod.metadata.name) as string[];
    expect(podsAfter.some((name) => !podsBefore.includes(name))).toBe(true);
    // Held while the app receives it.
    await expect(stack.admin.delete({ kind: 'SecretInstance', project: 'shop', name: 'db-password' })).rejects.toThrow(/shop\/web/);
  }, 150_000);

  it('writes a Secrets Manager secret one version per generation, also when killed right after the write', async () => {
    support.process.kill('SIGKILL');
    await support.exited;
    const dying = await stack.startController('support-services-controller', { ...SUPPORT_ENV, TUGBOAT_TEST_HOOKS: '1', TUGBOAT_KILL_POINT: 'secret.after-write' }, { expectDeath: true });
    await stack.admin.apply([{ kind: 'SecretInstance', metadata: { name: 'api-key', project: 'shop' }, spec: { definitionRef: { name: 'aws' }, key: 'API_KEY', value: `${CANARY}-aws` } }]);
    const exit = await Promise.race([dying.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 60_000).unref())]);
    expect(exit?.signal).toBe('SIGKILL');
    // Written to AWS, and no status said so.
    expect((await stack.aws('secretsmanager', 'get-secret-value', '--secret-id', 'tugboat/shop/api-key'))['SecretString']).toBe(`${CANARY}-aws`);
    expect(phaseOf(await secret('api-key'))).not.toBe('Ready');
    support = await stack.startController('support-services-controller', SUPPORT_ENV);
    const ready = await untilPhase('SecretInstance', 'api-key', 'Ready', 90_000);
    const outputs = (ready!.status as { outputs: Record<string, string> }).outputs;
    expect(outputs).toMatchObject({ backend: 'aws-secrets-manager', secretName: 'tugboat/shop/api-key' });
    const described = await stack.aws('secretsmanager', 'describe-secret', '--secret-id', 'tugboat/shop/api-key');
    expect(Object.keys(described['VersionIdsToStages'] as object)).toHaveLength(1);
    expect((await stack.aws('secretsmanager', 'get-secret-value', '--secret-id', 'tugboat/shop/api-key'))['SecretString']).toBe(`${CANARY}-aws`);
    const listed = (await stack.aws('secretsmanager', 'list-secrets'))['SecretList'] as Array<{ Name: string }>;
    expect(listed.filter((entry) => entry.Name === 'tugboat/shop/api-key')).toHaveLength(1);
  }, 150_000);

  it('never shows a value: not in an answer, a revision, an event, a watch frame or a log line', async () => {
    const said = JSON.stringify([
      await secret('db-password'),
      await secret('api-key'),
      await stack.admin.list('SecretInstance', { project: 'shop' }),
      await stack.admin.revisions({ kind: 'SecretInstance', name: 'db-password', project: 'shop' }),
      await stack.admin.listEvents({ kind: 'SecretInstance', name: 'db-password', project: 'shop' }),
      await stack.admin.listEvents({ kind: 'WorkloadInstance', name: 'web', project: 'shop' }),
      await stack.admin.get({ kind: 'WorkloadInstance', name: 'web', project: 'shop' }),
    ]);
    expect(said).toContain('<redacted>');
    const logged = [stack.api.child.output(), stack.logs()].join('\n');
    expect(frames.length).toBeGreaterThan(3);
    for (const text of [said, logged, frames.join('\n')]) expect(text).not.toContain(CANARY);
  });
});
