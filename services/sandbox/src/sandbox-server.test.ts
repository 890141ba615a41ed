import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateClusterCommand, CreateNodegroupCommand, DescribeClusterCommand, EKSClient, ListClustersCommand } from '@aws-sdk/client-eks';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createEksPrerequisites } from './test-support/eks-prerequisites.js';
import { startTestSandbox, TEST_AWS_CREDENTIALS, waitFor, type TestSandbox } from './test-support/start-test-sandbox.js';

let dir: string;
const running: TestSandbox[] = [];
const clients: Array<{ destroy(): void }> = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tugboat-sandbox-'));
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  for (const t of running.splice(0)) await t.sandbox.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(timeScale: number): Promise<{ t: TestSandbox; eks: EKSClient; sts: STSClient }> {
  const t = await startTestSandbox({ stateDir: dir, timeScale, saveDebounceMs: 20 });
  running.push(t);
  const eks = new EKSClient({ endpoint: t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
  const sts = new STSClient({ endpoint: t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
  clients.push(eks, sts);
  return { t, eks, sts };
}

async function stop(t: TestSandbox): Promise<void> {
  running.splice(running.indexOf(t), 1);
  await t.sandbox.close();
}

const status = async (eks: EKSClient, name: string) => (await eks.send(new DescribeClusterCommand({ name }))).cluster?.status;

describe('sandbox server with a state directory', () => {
  it('writes aws.env and a kubeconfig that gains each EKS cluster once ACTIVE', async () => {
    const { t, eks } = await start(60_000);
    const net = await createEksPrerequisites(t.url, TEST_AWS_CREDENTIALS);
    const env = await readFile(join(dir, 'aws.env'), 'utf8');
    expect(env).toContain(`AWS_ENDPOINT_URL=${t.url}\n`);
    expect(env).toContain('AWS_REGION=us-east-1\n');
    expect(env).toContain('AWS_DEFAULT_REGION=us-east-1\n');
    expect(env).toMatch(/AWS_ACCESS_KEY_ID=AKIA\w+\n/);
    expect(env).toMatch(/AWS_SECRET_ACCESS_KEY=\S+\n/);
    const before = await readFile(join(dir, 'kubeconfig'), 'utf8');
    expect(before).toContain(`${t.url}/k8s/local`);

    await eks.send(new CreateClusterCommand({ name: 'kc', roleArn: net.roleArn, resourcesVpcConfig: { subnetIds: net.subnetIds } }));
    const after = await waitFor(async () => {
      const text = await readFile(join(dir, 'kubeconfig'), 'utf8');
      return text.includes('kc-us-east-1') ? text : undefined;
    });
    expect(after).toContain(`${t.url}/k8s/local`);
    expect(t.sandbox.endpoints().kube).toEqual({ local: `${t.url}/k8s/local`, 'kc-us-east-1': `${t.url}/k8s/kc-us-east-1` });
  });

  it('keeps clusters, node groups, pending transitions and issued credentials across a restart', async () => {
    const first = await start(60_000);
    // The roles, VPC and subnets are sandbox state too: kept across the restart with the clusters that use them.
    const net = await createEksPrerequisites(first.t.url, TEST_AWS_CREDENTIALS);
    const vpc = { subnetIds: net.subnetIds };
    await first.eks.send(new CreateClusterCommand({ name: 'keep', roleArn: net.roleArn, resourcesVpcConfig: vpc, clientRequestToken: 'tok' }));
    await waitFor(async () => ((await status(first.eks, 'keep')) === 'ACTIVE' ? true : undefined));
    await first.eks.send(
      new CreateNodegroupCommand({ clusterName: 'keep', nodegroupName: 'ng', subnets: net.subnetIds, nodeRole: net.nodeRoleArn, scalingConfig: { minSize: 1, maxSize: 2, desiredSize: 2 } }),
    );
    await waitFor(() => (first.t.kube.clusters.get('keep-us-east-1')?.nodes.length === 2 ? true : undefined));
    // Slow time right down so this one is still CREATING when the sandbox stops.
    await fetch(`${first.t.url}/_sandbox/time`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"scale":1}' });
    await first.eks.send(new CreateClusterCommand({ name: 'pending', roleArn: net.roleArn, resourcesVpcConfig: vpc }));
    const assumed = await first.sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/r', RoleSessionName: 'persist' }));
    await stop(first.t);

    const saved = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { eks: { clusters: Array<{ name: string }> } };
    expect(saved.eks.clusters.map((c) => c.name).sort()).toEqual(['keep', 'pending']);

    const second = await start(1);
    expect(second.t.kube.clusters.get('keep-us-east-1')?.nodes).toHaveLength(2);
    const kept = (await second.eks.send(new DescribeClusterCommand({ name: 'keep' }))).cluster;
    expect(kept).toMatchObject({ status: 'ACTIVE', endpoint: `${second.t.url}/k8s/keep-us-east-1`, clientRequestToken: 'tok' });
    expect(kept?.resourcesVpcConfig?.vpcId).toBe(net.vpcId);
    const again = await second.eks.send(new CreateClusterCommand({ name: 'keep', roleArn: net.roleArn, resourcesVpcConfig: vpc, clientRequestToken: 'tok' }));
    expect(again.cluster?.arn).toBe(kept?.arn);
    expect((await second.eks.send(new ListClustersCommand({}))).clusters).toEqual(['keep', 'pending']);
    expect(await status(second.eks, 'pending')).toBe('CREATING');

    const temporary = new STSClient({
      endpoint: second.t.url,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: {
        accessKeyId: assumed.Credentials!.AccessKeyId!,
        secretAccessKey: assumed.Credentials!.SecretAccessKey!,
        sessionToken: assumed.Credentials!.SessionToken!,
      },
    });
    clients.push(temporary);
    expect((await temporary.send(new GetCallerIdentityCommand({}))).Arn).toBe('arn:aws:sts::123456789012:assumed-role/r/persist');

    await fetch(`${second.t.url}/_sandbox/time`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"scale":60000}' });
    await waitFor(async () => ((await status(second.eks, 'pending')) === 'ACTIVE' ? true : undefined));
  });

  it('refuses to start on a state file it cannot read, and leaves it alone', async () => {
    await writeFile(join(dir, 'state.json'), '{"version": 1, "eks": ');
    const failing = startTestSandbox({ stateDir: dir });
    await expect(failing).rejects.toThrow(/state\.json: not a saved sandbox state/);
    expect(await readFile(join(dir, 'state.json'), 'utf8')).toBe('{"version": 1, "eks": ');
  });
});
