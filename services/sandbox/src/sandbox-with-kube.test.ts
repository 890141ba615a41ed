// Both halves together: EKS clusters become simulated Kubernetes clusters that @kubernetes/client-node reaches through the written kubeconfig.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateClusterCommand, CreateNodegroupCommand, DeleteClusterCommand, DeleteNodegroupCommand, DescribeClusterCommand, DescribeNodegroupCommand, EKSClient, UpdateClusterVersionCommand } from '@aws-sdk/client-eks';
import { CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import pino from 'pino';
import { createSandboxServer, type SandboxServer } from './sandbox-server.js';
import { createEksPrerequisites } from './test-support/eks-prerequisites.js';
import { TEST_AWS_CREDENTIALS, waitFor } from './test-support/start-test-sandbox.js';

let dir: string;
let sandbox: SandboxServer | undefined;
let eks: EKSClient | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tugboat-sandbox-kube-'));
});

afterEach(async () => {
  eks?.destroy();
  await sandbox?.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(): Promise<{ url: string; eks: EKSClient }> {
  sandbox = createSandboxServer({
    port: 0,
    stateDir: dir,
    timeScale: 60_000,
    saveDebounceMs: 20,
    logger: pino({ level: 'silent' }),
  });
  const { url } = await sandbox.start();
  eks?.destroy();
  eks = new EKSClient({ endpoint: url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
  return { url, eks };
}

async function coreApi(context: string): Promise<CoreV1Api> {
  const config = new KubeConfig();
  config.loadFromString(await readFile(join(dir, 'kubeconfig'), 'utf8'));
  config.setCurrentContext(context);
  return config.makeApiClient(CoreV1Api);
}

async function counters(url: string): Promise<{ current: { kubeClusters: Array<Record<string, unknown>> } }> {
  return (await (await fetch(`${url}/_sandbox/counters`)).json()) as { current: { kubeClusters: Array<Record<string, unknown>> } };
}

it('gives an ACTIVE EKS cluster a Kubernetes API with its node groups as nodes, kept across a restart and removed with it', async () => {
  const first = await start();
  const net = await createEksPrerequisites(first.url, TEST_AWS_CREDENTIALS);
  await first.eks.send(new CreateClusterCommand({ name: 'shop', version: '1.30', roleArn: net.roleArn, resourcesVpcConfig: { subnetIds: net.subnetIds } }));
  await waitFor(async () => ((await first.eks.send(new DescribeClusterCommand({ name: 'shop' }))).cluster?.status === 'ACTIVE' ? true : undefined));
  await first.eks.send(
    new CreateNodegroupCommand({ clusterName: 'shop', nodegroupName: 'general', subnets: net.subnetIds, nodeRole: net.nodeRoleArn, scalingConfig: { minSize: 1, maxSize: 3, desiredSize: 2 } }),
  );
  await waitFor(async () =>
    (await first.eks.send(new DescribeNodegroupCommand({ clusterName: 'shop', nodegroupName: 'general' }))).nodegroup?.status === 'ACTIVE' ? true : undefined,
  );
  await waitFor(async () => ((await readFile(join(dir, 'kubeconfig'), 'utf8')).includes('shop-us-east-1') ? true : undefined));

  const shop = await coreApi('shop-us-east-1');
  // Its API server reports the cluster's version, and the new one after an upgrade.
  const serverVersion = async () => {
    const config = new KubeConfig();
    config.loadFromString(await readFile(join(dir, 'kubeconfig'), 'utf8'));
    config.setCurrentContext('shop-us-east-1');
    return config.makeApiClient(VersionApi).getCode();
  };
  expect((await serverVersion()).gitVersion).toMatch(/^v1\.30\./);
  await first.eks.send(new UpdateClusterVersionCommand({ name: 'shop', version: '1.31' }));
  await waitFor(async () => ((await serverVersion()).gitVersion.startsWith('v1.31.') ? true : undefined));
  const nodes = await shop.listNode();
  expect(nodes.items).toHaveLength(2);
  expect(nodes.items[0]?.metadata?.labels).toMatchObject({ 'eks.amazonaws.com/nodegroup': 'general' });
  await shop.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'settings' }, data: { colour: 'blue' } } });

  const inventory = (await counters(first.url)).current.kubeClusters;
  const shopInventory = inventory.find((c) => c.name === 'shop-us-east-1');
  expect(shopInventory).toMatchObject({ objects: expect.objectContaining({ 'v1/ConfigMap': 1, 'v1/Node': 2 }) });
  expect(shopInventory).not.toHaveProperty('token');

  await sandbox!.close();
  sandbox = undefined;
  const second = await start();
  const again = await coreApi('shop-us-east-1');
  expect((await again.readNamespacedConfigMap({ name: 'settings', namespace: 'default' })).data).toEqual({ colour: 'blue' });
  expect((await second.eks.send(new DescribeClusterCommand({ name: 'shop' }))).cluster?.endpoint).toBe(`${second.url}/k8s/shop-us-east-1`);

  await second.eks.send(new DeleteNodegroupCommand({ clusterName: 'shop', nodegroupName: 'general' }));
  await waitFor(async () => ((await again.listNode()).items.length === 0 ? true : undefined));
  await second.eks.send(new DeleteClusterCommand({ name: 'shop' }));
  await waitFor(async () => ((await readFile(join(dir, 'kubeconfig'), 'utf8')).includes('shop-us-east-1') ? undefined : true));
  expect((await counters(second.url)).current.kubeClusters.map((c) => c.name)).toEqual(['local']);
});
