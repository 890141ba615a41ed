import { X509Certificate } from 'node:crypto';
import {
  CreateClusterCommand,
  CreateNodegroupCommand,
  DeleteClusterCommand,
  DeleteNodegroupCommand,
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  EKSClient,
  ListClustersCommand,
  ListNodegroupsCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-eks';
import { kubeClusterNameOf } from './eks-simulator.js';
import { createEksPrerequisites, type EksPrerequisites } from '../../test-support/eks-prerequisites.js';
import { startTestSandbox, TEST_AWS_CREDENTIALS, waitFor, type TestSandbox } from '../../test-support/start-test-sandbox.js';

// 10 simulated minutes take 100 ms.
const SCALE = 6000;
// While a test needs a cluster to still be CREATING: its 10 simulated minutes then take ~17 real hours.
const HELD_SCALE = 0.01;

let t: TestSandbox;
let eks: EKSClient;
/** The roles, VPC and subnets (us-east-1) that EKS checks a cluster against. */
let net: EksPrerequisites;
let ROLE: string;
let NODE_ROLE: string;
let VPC: { subnetIds: string[]; securityGroupIds: string[] };

beforeAll(async () => {
  t = await startTestSandbox({ timeScale: SCALE });
  eks = new EKSClient({ endpoint: t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
  net = await createEksPrerequisites(t.url, TEST_AWS_CREDENTIALS);
  ROLE = net.roleArn;
  NODE_ROLE = net.nodeRoleArn;
  VPC = { subnetIds: net.subnetIds, securityGroupIds: ['sg-1'] };
});

afterAll(async () => {
  eks.destroy();
  await t.sandbox.close();
});

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}

/** Sets the time scale through the control API, which also re-times the transitions under way. */
async function setTimeScale(scale: number): Promise<void> {
  const response = await fetch(`${t.url}/_sandbox/time`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ scale }),
  });
  expect(await response.json()).toEqual({ scale });
}

async function activeCluster(name: string) {
  return waitFor(async () => {
    const { cluster } = await eks.send(new DescribeClusterCommand({ name }));
    return cluster?.status === 'ACTIVE' ? cluster : undefined;
  }, 10_000, `${name} ACTIVE`);
}

describe('EKS clusters', () => {
  it('creates a cluster that becomes ACTIVE with an endpoint, a CA and its own Kubernetes cluster', async () => {
    const created = await eks.send(
      new CreateClusterCommand({ name: 'alpha', roleArn: ROLE, resourcesVpcConfig: VPC, version: '1.31', tags: { team: 'a' } }),
    );
    expect(created.cluster).toMatchObject({
      name: 'alpha',
      status: 'CREATING',
      arn: 'arn:aws:eks:us-east-1:123456789012:cluster/alpha',
      version: '1.31',
      tags: { team: 'a' },
    });
    expect(created.cluster?.endpoint).toBeUndefined();
    expect(created.cluster?.createdAt).toBeInstanceOf(Date);

    const cluster = await activeCluster('alpha');
    expect(cluster.endpoint).toBe(`${t.url}/k8s/alpha-us-east-1`);
    const ca = new X509Certificate(Buffer.from(cluster.certificateAuthority?.data ?? '', 'base64'));
    expect(ca).toMatchObject({ ca: true, subject: 'CN=alpha-us-east-1' });
    expect(cluster.platformVersion).toBe('eks.1');
    expect(cluster.resourcesVpcConfig?.subnetIds).toEqual(net.subnetIds);
    expect(cluster.resourcesVpcConfig?.vpcId).toBe(net.vpcId);
    expect(t.kube.clusters.get('alpha-us-east-1')?.nodes).toEqual([]);
    expect(t.sandbox.counters.snapshot().created['eks:cluster']).toBeGreaterThanOrEqual(1);
  });

  it('returns the same cluster for a repeated clientRequestToken and refuses another token', async () => {
    const input = { name: 'idem', roleArn: ROLE, resourcesVpcConfig: VPC, clientRequestToken: 'token-1' };
    const first = await eks.send(new CreateClusterCommand(input));
    const again = await eks.send(new CreateClusterCommand(input));
    expect(again.cluster?.arn).toBe(first.cluster?.arn);
    expect(again.cluster?.createdAt).toEqual(first.cluster?.createdAt);
    const clash = await errorOf(eks.send(new CreateClusterCommand({ ...input, clientRequestToken: 'token-2' })));
    expect(clash).toMatchObject({ name: 'ResourceInUseException', status: 409 });
    expect(clash.message).toContain('idem');
  });

  it('keeps cluster names per region', async () => {
    const west = new EKSClient({ endpoint: t.url, region: 'eu-west-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
    try {
      // Subnets are regional: us-east-1's are unknown in eu-west-1.
      expect(await errorOf(west.send(new CreateClusterCommand({ name: 'alpha', roleArn: ROLE, resourcesVpcConfig: VPC })))).toMatchObject({
        name: 'InvalidParameterException',
        status: 400,
        message: expect.stringContaining(`The subnet ID '${net.subnetIds[0]}' does not exist`),
      });
      const westNet = await createEksPrerequisites(t.url, TEST_AWS_CREDENTIALS, { region: 'eu-west-1' });
      const other = await west.send(new CreateClusterCommand({ name: 'alpha', roleArn: ROLE, resourcesVpcConfig: { subnetIds: westNet.subnetIds } }));
      expect(other.cluster?.arn).toBe('arn:aws:eks:eu-west-1:123456789012:cluster/alpha');
      const listed = await west.send(new ListClustersCommand({}));
      expect(listed.clusters).toEqual(['alpha']);
    } finally {
      west.destroy();
    }
  });

  it('lists clusters with pagination', async () => {
    for (const name of ['page-1', 'page-2', 'page-3']) {
      await eks.send(new CreateClusterCommand({ name, roleArn: ROLE, resourcesVpcConfig: VPC }));
    }
    const names: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await eks.send(new ListClustersCommand({ maxResults: 2, nextToken }));
      names.push(...(page.clusters ?? []));
      nextToken = page.nextToken;
      pages += 1;
    } while (nextToken);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['alpha', 'idem', 'page-1', 'page-2', 'page-3']));
    expect(pages).toBeGreaterThan(1);
    expect(await errorOf(eks.send(new ListClustersCommand({ nextToken: 'garbage' })))).toMatchObject({
      name: 'InvalidParameterException',
      status: 400,
    });
  });

  it('answers AWS error shapes for bad input and unknown clusters', async () => {
    expect(await errorOf(eks.send(new DescribeClusterCommand({ name: 'nope' })))).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 404,
    });
    const badName = await errorOf(eks.send(new CreateClusterCommand({ name: '-bad', roleArn: ROLE, resourcesVpcConfig: VPC })));
    expect(badName).toMatchObject({ name: 'InvalidParameterException', status: 400 });
    expect(badName.message).toContain('name');
    const noRole = await errorOf(eks.send(new CreateClusterCommand({ name: 'x', roleArn: 'role', resourcesVpcConfig: VPC })));
    expect(noRole).toMatchObject({ name: 'InvalidParameterException', status: 400 });
    expect(noRole.message).toContain('roleArn');
    const noVpc = await errorOf(eks.send(new CreateClusterCommand({ name: 'x', roleArn: ROLE, resourcesVpcConfig: undefined })));
    expect(noVpc.message).toContain('resourcesVpcConfig');
    const version = await errorOf(eks.send(new CreateClusterCommand({ name: 'x', roleArn: ROLE, resourcesVpcConfig: VPC, version: '1.2' })));
    expect(version).toMatchObject({ name: 'InvalidParameterException' });
  });
});

describe('EKS node groups and deletion', () => {
  it('runs a cluster through its whole life with a node group feeding the Kubernetes cluster nodes', async () => {
    // At SCALE the cluster is ACTIVE 100 real ms after its creation, and a loaded machine can spend
    // that between two requests: hold simulated time until the early node group has been refused.
    await setTimeScale(HELD_SCALE);
    try {
      await eks.send(new CreateClusterCommand({ name: 'life', roleArn: ROLE, resourcesVpcConfig: VPC }));
      const early = await errorOf(
        eks.send(new CreateNodegroupCommand({ clusterName: 'life', nodegroupName: 'ng', subnets: net.subnetIds, nodeRole: NODE_ROLE })),
      );
      expect(early).toMatchObject({ name: 'InvalidRequestException', status: 400 });
    } finally {
      await setTimeScale(SCALE);
    }
    await activeCluster('life');

    const ngInput = {
      clusterName: 'life',
      nodegroupName: 'workers',
      subnets: net.subnetIds,
      nodeRole: NODE_ROLE,
      scalingConfig: { minSize: 1, maxSize: 5, desiredSize: 3 },
      labels: { pool: 'general' },
      tags: { cost: 'center' },
      clientRequestToken: 'ng-token',
    };
    const created = await eks.send(new CreateNodegroupCommand(ngInput));
    expect(created.nodegroup).toMatchObject({ nodegroupName: 'workers', clusterName: 'life', status: 'CREATING' });
    const repeat = await eks.send(new CreateNodegroupCommand(ngInput));
    expect(repeat.nodegroup?.nodegroupArn).toBe(created.nodegroup?.nodegroupArn);
    expect(await errorOf(eks.send(new CreateNodegroupCommand({ ...ngInput, clientRequestToken: 'other' })))).toMatchObject({
      name: 'ResourceInUseException',
      status: 409,
    });
    expect(
      await errorOf(eks.send(new CreateNodegroupCommand({ ...ngInput, nodegroupName: 'bad', scalingConfig: { minSize: 2, maxSize: 3, desiredSize: 1 } }))),
    ).toMatchObject({ name: 'InvalidParameterException' });

    const active = await waitFor(async () => {
      const { nodegroup } = await eks.send(new DescribeNodegroupCommand({ clusterName: 'life', nodegroupName: 'workers' }));
      return nodegroup?.status === 'ACTIVE' ? nodegroup : undefined;
    });
    expect(active.scalingConfig).toEqual({ minSize: 1, maxSize: 5, desiredSize: 3 });
    const nodes = t.kube.clusters.get('life-us-east-1')?.nodes ?? [];
    expect(nodes).toHaveLength(3);
    expect(nodes[0]?.labels).toMatchObject({ 'eks.amazonaws.com/nodegroup': 'workers', pool: 'general' });
    expect((await eks.send(new ListNodegroupsCommand({ clusterName: 'life' }))).nodegroups).toEqual(['workers']);

    const blocked = await errorOf(eks.send(new DeleteClusterCommand({ name: 'life' })));
    expect(blocked).toMatchObject({ name: 'ResourceInUseException', status: 409 });
    expect(blocked.message).toContain('workers');

    const deleting = await eks.send(new DeleteNodegroupCommand({ clusterName: 'life', nodegroupName: 'workers' }));
    expect(deleting.nodegroup?.status).toBe('DELETING');
    await waitFor(async () => {
      const error = await eks.send(new DescribeNodegroupCommand({ clusterName: 'life', nodegroupName: 'workers' })).then(
        () => undefined,
        (e: Error) => e.name,
      );
      return error === 'ResourceNotFoundException' ? true : undefined;
    });
    expect(t.kube.clusters.get('life-us-east-1')?.nodes).toEqual([]);

    const gone = await eks.send(new DeleteClusterCommand({ name: 'life' }));
    expect(gone.cluster?.status).toBe('DELETING');
    await waitFor(() => (t.kube.clusters.has('life-us-east-1') ? undefined : true));
    expect(await errorOf(eks.send(new DescribeClusterCommand({ name: 'life' })))).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(t.kube.calls).toContain('remove life-us-east-1');
    const counts = t.sandbox.counters.snapshot();
    expect(counts.deleted['eks:cluster']).toBeGreaterThanOrEqual(1);
    expect(counts.deleted['eks:nodegroup']).toBeGreaterThanOrEqual(1);
  });

  it('tags clusters and node groups by ARN', async () => {
    const cluster = await activeCluster('alpha');
    const arn = cluster.arn!;
    await eks.send(new TagResourceCommand({ resourceArn: arn, tags: { env: 'test', owner: 'me' } }));
    expect((await eks.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags).toEqual({ team: 'a', env: 'test', owner: 'me' });
    await eks.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['team', 'owner'] }));
    expect((await eks.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags).toEqual({ env: 'test' });
    expect((await eks.send(new DescribeClusterCommand({ name: 'alpha' }))).cluster?.tags).toEqual({ env: 'test' });

    const ng = await eks.send(new CreateNodegroupCommand({ clusterName: 'alpha', nodegroupName: 'tagged', subnets: [net.subnetIds[0]!], nodeRole: NODE_ROLE }));
    await eks.send(new TagResourceCommand({ resourceArn: ng.nodegroup!.nodegroupArn!, tags: { a: 'b' } }));
    expect((await eks.send(new ListTagsForResourceCommand({ resourceArn: ng.nodegroup!.nodegroupArn! }))).tags).toEqual({ a: 'b' });

    expect(
      await errorOf(eks.send(new ListTagsForResourceCommand({ resourceArn: 'arn:aws:eks:us-east-1:123456789012:cluster/missing' }))),
    ).toMatchObject({ name: 'NotFoundException', status: 404 });
    expect(await errorOf(eks.send(new TagResourceCommand({ resourceArn: 'not-an-arn', tags: { a: 'b' } })))).toMatchObject({
      name: 'BadRequestException',
      status: 400,
    });
  });
});

describe('kubeClusterNameOf', () => {
  it('gives every EKS cluster a distinct DNS-label Kubernetes cluster name', () => {
    expect(kubeClusterNameOf('us-east-1', 'alpha')).toBe('alpha-us-east-1');
    const folded = kubeClusterNameOf('us-east-1', 'My_Cluster');
    expect(folded).toMatch(/^my-cluster-[0-9a-f]{8}-us-east-1$/);
    expect(folded).not.toBe(kubeClusterNameOf('us-east-1', 'my-cluster'));
    const long = kubeClusterNameOf('ap-southeast-2', 'a'.repeat(100));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(kubeClusterNameOf('us-east-1', '__')).toMatch(/^eks-[0-9a-f]{8}-us-east-1$/);
  });
});
