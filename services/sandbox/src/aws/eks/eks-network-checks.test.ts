/**
 * EKS checks what it is given against the sandbox's IAM and EC2 as AWS does — roles that exist and
 * trust the right service, subnets that exist in one VPC across two zones — and EC2 refuses to
 * delete a subnet or VPC while EKS still has interfaces there. Through the real SDK v3 clients.
 */
import { CreateSubnetCommand, CreateVpcCommand, DeleteSubnetCommand, DeleteVpcCommand, DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  CreateNodegroupCommand,
  DeleteClusterCommand,
  DeleteNodegroupCommand,
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  EKSClient,
} from '@aws-sdk/client-eks';
import { CreateRoleCommand, DeleteRoleCommand, DetachRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { createEksPrerequisites, trustPolicyFor, type EksPrerequisites } from '../../test-support/eks-prerequisites.js';
import { startTestSandbox, TEST_AWS_CREDENTIALS, waitFor, type TestSandbox } from '../../test-support/start-test-sandbox.js';

// 10 simulated minutes take 100 ms.
const SCALE = 6000;
const HELD_SCALE = 0.01;
const ACCOUNT = '123456789012';

let t: TestSandbox;
let eks: EKSClient;
let ec2: EC2Client;
let iam: IAMClient;
let net: EksPrerequisites;

beforeAll(async () => {
  t = await startTestSandbox({ timeScale: SCALE });
  const client = { endpoint: t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 };
  eks = new EKSClient(client);
  ec2 = new EC2Client(client);
  iam = new IAMClient(client);
  net = await createEksPrerequisites(t.url, TEST_AWS_CREDENTIALS, { namePrefix: 'checks' });
});

afterAll(async () => {
  eks.destroy();
  ec2.destroy();
  iam.destroy();
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

async function setTimeScale(scale: number): Promise<void> {
  const response = await fetch(`${t.url}/_sandbox/time`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scale }) });
  expect(response.status).toBe(200);
}

async function counters(): Promise<{ created: Record<string, number>; deleted: Record<string, number> }> {
  return (await (await fetch(`${t.url}/_sandbox/counters`)).json()) as { created: Record<string, number>; deleted: Record<string, number> };
}

async function subnetIn(vpcId: string, cidrBlock: string, zone: string): Promise<string> {
  const { Subnet } = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidrBlock, AvailabilityZone: zone }));
  return Subnet!.SubnetId!;
}

function gone(promise: Promise<unknown>): Promise<true | undefined> {
  return promise.then(
    () => undefined,
    (e: Error) => (e.name === 'ResourceNotFoundException' ? true : undefined),
  );
}

const cannotAssume = (arn: string) => `Role with arn: ${arn}, could not be assumed because it does not exist or the trusted entity is not correct`;

describe('EKS CreateCluster checks its role against IAM', () => {
  it('refuses a role that does not exist, one of another account, and one that does not trust eks.amazonaws.com', async () => {
    const before = await counters();
    const missing = `arn:aws:iam::${ACCOUNT}:role/never-created`;
    for (const roleArn of [missing, `arn:aws:iam::210987654321:role/checks-cluster`, `arn:aws:iam::${ACCOUNT}:role/other-path/checks-cluster`, net.nodeRoleArn]) {
      expect(await errorOf(eks.send(new CreateClusterCommand({ name: 'refused', roleArn, resourcesVpcConfig: { subnetIds: net.subnetIds } })))).toEqual({
        name: 'InvalidParameterException',
        status: 400,
        message: cannotAssume(roleArn),
      });
    }
    const { Role } = await iam.send(new CreateRoleCommand({ RoleName: 'lambda-only', AssumeRolePolicyDocument: trustPolicyFor('lambda.amazonaws.com') }));
    expect((await errorOf(eks.send(new CreateClusterCommand({ name: 'refused', roleArn: Role!.Arn!, resourcesVpcConfig: { subnetIds: net.subnetIds } })))).message).toBe(
      cannotAssume(Role!.Arn!),
    );
    // A Deny for the service wins over an Allow.
    const denied = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { Service: ['ec2.amazonaws.com', 'eks.amazonaws.com'] }, Action: 'sts:AssumeRole' },
        { Effect: 'Deny', Principal: { Service: 'eks.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ],
    });
    const { Role: deniedRole } = await iam.send(new CreateRoleCommand({ RoleName: 'eks-denied', AssumeRolePolicyDocument: denied }));
    expect((await errorOf(eks.send(new CreateClusterCommand({ name: 'refused', roleArn: deniedRole!.Arn!, resourcesVpcConfig: { subnetIds: net.subnetIds } })))).message).toBe(
      cannotAssume(deniedRole!.Arn!),
    );
    const after = await counters();
    expect(after.created['eks:cluster'] ?? 0).toBe(before.created['eks:cluster'] ?? 0);
  });
});

describe('EKS CreateCluster checks its subnets against EC2', () => {
  it('refuses unknown subnets, fewer than two zones, and subnets of two VPCs; records the subnets\u2019 VPC', async () => {
    const create = (subnetIds: string[]) => errorOf(eks.send(new CreateClusterCommand({ name: 'net', roleArn: net.roleArn, resourcesVpcConfig: { subnetIds } })));

    const unknown = await create([net.subnetIds[0]!, 'subnet-0123456789abcdef0']);
    expect(unknown).toMatchObject({ name: 'InvalidParameterException', status: 400 });
    expect(unknown.message).toMatch(
      /^The subnet ID 'subnet-0123456789abcdef0' does not exist \(Service: AmazonEC2; Status Code: 400; Error Code: InvalidSubnetID\.NotFound; Request ID: [0-9a-f-]{36}; Proxy: null\)$/,
    );
    expect((await create(['subnet-a', 'subnet-b'])).message).toContain("The subnet ID 'subnet-a' does not exist");

    const twoZones = 'Subnets specified must be in at least two different AZs';
    expect(await create([])).toEqual({ name: 'InvalidParameterException', status: 400, message: twoZones });
    expect((await create([net.subnetIds[0]!])).message).toBe(twoZones);
    const sameZone = await subnetIn(net.vpcId, '10.0.32.0/20', 'us-east-1a');
    expect((await create([net.subnetIds[0]!, sameZone])).message).toBe(twoZones);

    const { Vpc: otherVpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }));
    const elsewhere = await subnetIn(otherVpc!.VpcId!, '10.1.0.0/20', 'us-east-1b');
    expect((await create([net.subnetIds[0]!, elsewhere])).message).toBe('Subnets specified must belong to the same VPC.');

    // Three subnets, two zones, one VPC: accepted, and the cluster is in that VPC.
    const created = await eks.send(new CreateClusterCommand({ name: 'net', roleArn: net.roleArn, resourcesVpcConfig: { subnetIds: [...net.subnetIds, sameZone] } }));
    expect(created.cluster?.resourcesVpcConfig).toMatchObject({ vpcId: net.vpcId, subnetIds: [...net.subnetIds, sameZone] });
    const described = await eks.send(new DescribeClusterCommand({ name: 'net' }));
    expect(described.cluster?.resourcesVpcConfig?.vpcId).toBe(net.vpcId);
  });
});

describe('EKS CreateNodegroup checks its role and subnets', () => {
  it('refuses a node role that is missing or does not trust ec2.amazonaws.com, and subnets outside the cluster VPC', async () => {
    await waitFor(async () => ((await eks.send(new DescribeClusterCommand({ name: 'net' }))).cluster?.status === 'ACTIVE' ? true : undefined));
    const create = (nodeRole: string, subnets: string[]) => errorOf(eks.send(new CreateNodegroupCommand({ clusterName: 'net', nodegroupName: 'ng', nodeRole, subnets })));
    const principals = (arn: string) => `Following required service principals [ec2.amazonaws.com] were not found in the trust relationships of nodeRole ${arn}`;

    expect(await create(net.roleArn, net.subnetIds)).toEqual({ name: 'InvalidParameterException', status: 400, message: principals(net.roleArn) });
    const missing = `arn:aws:iam::${ACCOUNT}:role/no-such-node-role`;
    expect((await create(missing, net.subnetIds)).message).toBe(principals(missing));
    const unknown = await create(net.nodeRoleArn, ['subnet-0123456789abcdef0']);
    expect(unknown).toMatchObject({ name: 'InvalidParameterException', message: expect.stringContaining("The subnet ID 'subnet-0123456789abcdef0' does not exist") });
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.2.0.0/16' }));
    const elsewhere = await subnetIn(Vpc!.VpcId!, '10.2.0.0/20', 'us-east-1a');
    expect((await create(net.nodeRoleArn, [net.subnetIds[0]!, elsewhere])).message).toBe(`Specified subnets must belong to cluster's vpc ${net.vpcId}`);
    await ec2.send(new DeleteSubnetCommand({ SubnetId: elsewhere }));
    await ec2.send(new DeleteVpcCommand({ VpcId: Vpc!.VpcId! }));

    const created = await eks.send(new CreateNodegroupCommand({ clusterName: 'net', nodegroupName: 'ng', nodeRole: net.nodeRoleArn, subnets: [net.subnetIds[1]!] }));
    expect(created.nodegroup).toMatchObject({ status: 'CREATING', nodeRole: net.nodeRoleArn, subnets: [net.subnetIds[1]] });
  });
});

describe('EC2 and IAM deletes while EKS uses the network and roles', () => {
  it('refuses DeleteSubnet and DeleteVpc until the node group and cluster are gone; DeleteRole of a role in use is allowed', async () => {
    const { Subnet: spare } = await ec2.send(new CreateSubnetCommand({ VpcId: net.vpcId, CidrBlock: '10.0.48.0/20', AvailabilityZone: 'us-east-1c' }));
    const nodesOnly = spare!.SubnetId!;
    await waitFor(async () => ((await eks.send(new DescribeNodegroupCommand({ clusterName: 'net', nodegroupName: 'ng' }))).nodegroup?.status === 'ACTIVE' ? true : undefined));
    await eks.send(new CreateNodegroupCommand({ clusterName: 'net', nodegroupName: 'spare', nodeRole: net.nodeRoleArn, subnets: [nodesOnly] }));

    const dependency = (kind: string, id: string) => ({ name: 'DependencyViolation', status: 400, message: `The ${kind} '${id}' has dependencies and cannot be deleted.` });
    for (const subnetId of [...net.subnetIds, nodesOnly]) {
      expect(await errorOf(ec2.send(new DeleteSubnetCommand({ SubnetId: subnetId })))).toEqual(dependency('subnet', subnetId));
    }
    expect(await errorOf(ec2.send(new DeleteVpcCommand({ VpcId: net.vpcId })))).toEqual(dependency('vpc', net.vpcId));

    // IAM does not know who uses a role: deleting the cluster's role goes through, as on AWS.
    const clusterRoleName = net.roleArn.split('/').pop()!;
    await iam.send(new DetachRolePolicyCommand({ RoleName: clusterRoleName, PolicyArn: 'arn:aws:iam::aws:policy/AmazonEKSClusterPolicy' }));
    await iam.send(new DeleteRoleCommand({ RoleName: clusterRoleName }));
    expect((await eks.send(new DescribeClusterCommand({ name: 'net' }))).cluster?.status).toBe('ACTIVE');

    // A node group still DELETING holds its subnet; once gone, the subnet can go.
    await waitFor(async () => ((await eks.send(new DescribeNodegroupCommand({ clusterName: 'net', nodegroupName: 'spare' }))).nodegroup?.status === 'ACTIVE' ? true : undefined));
    await setTimeScale(HELD_SCALE);
    try {
      await eks.send(new DeleteNodegroupCommand({ clusterName: 'net', nodegroupName: 'spare' }));
      expect(await errorOf(ec2.send(new DeleteSubnetCommand({ SubnetId: nodesOnly })))).toEqual(dependency('subnet', nodesOnly));
    } finally {
      await setTimeScale(SCALE);
    }
    await waitFor(() => gone(eks.send(new DescribeNodegroupCommand({ clusterName: 'net', nodegroupName: 'spare' }))));
    await ec2.send(new DeleteSubnetCommand({ SubnetId: nodesOnly }));

    await eks.send(new DeleteNodegroupCommand({ clusterName: 'net', nodegroupName: 'ng' }));
    await waitFor(() => gone(eks.send(new DescribeNodegroupCommand({ clusterName: 'net', nodegroupName: 'ng' }))));
    // The cluster, even DELETING, still has its interfaces in its subnets.
    await setTimeScale(HELD_SCALE);
    try {
      expect((await eks.send(new DeleteClusterCommand({ name: 'net' }))).cluster?.status).toBe('DELETING');
      expect(await errorOf(ec2.send(new DeleteSubnetCommand({ SubnetId: net.subnetIds[1]! })))).toEqual(dependency('subnet', net.subnetIds[1]!));
    } finally {
      await setTimeScale(SCALE);
    }
    await waitFor(() => gone(eks.send(new DescribeClusterCommand({ name: 'net' }))));
    const subnets = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [net.vpcId] }] }));
    for (const { SubnetId } of subnets.Subnets ?? []) await ec2.send(new DeleteSubnetCommand({ SubnetId: SubnetId! }));
    await ec2.send(new DeleteVpcCommand({ VpcId: net.vpcId }));

    const { created, deleted } = await counters();
    // Every cluster and node group made here was made once and is gone; the refused creates made nothing.
    expect(created['eks:cluster']).toBe(1);
    expect(deleted['eks:cluster']).toBe(1);
    expect(created['eks:nodegroup']).toBe(2);
    expect(deleted['eks:nodegroup']).toBe(2);
    expect(created['iam:role']).toBe(4);
    expect(deleted['iam:role']).toBe(1);
    // Six subnets made; the one in the other VPC is left.
    expect(created['ec2:subnet']).toBe(6);
    expect(deleted['ec2:subnet']).toBe(5);
  });
});
