/**
 * The EksCluster reconciler against the fake API and an in-process sandbox: create → Ready with the
 * outputs a client needs, idempotent passes, throttling, permanent errors, the account gate, and
 * delete → nothing left (the sandbox's counters).
 */
import {
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
} from '@aws-sdk/client-ec2';
import { DescribeClusterCommand, DescribeNodegroupCommand } from '@aws-sdk/client-eks';
import { CreateRoleCommand, DeleteRoleCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { OWNER_TAG, nodegroupName } from './eks-naming.js';
import { countersDelta, KEY, ONE_CLUSTER, ready, startHarness, type EksObject, type Harness } from './test-support/eks-harness.js';

let h: Harness;
let account: string;

beforeAll(async () => {
  h = await startHarness();
  account = (await h.account('main')).metadata.name;
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.sandbox.sandbox.faults.clear();
});

const WORKERS = { name: 'workers', instanceTypes: ['t3.medium'], minSize: 2, maxSize: 4 };
const isReady = (o: EksObject | undefined) => o?.status.phase === 'Ready';
const isFailed = (o: EksObject | undefined) => o?.status.phase === 'Failed';

async function deleteAndWait(obj: EksObject): Promise<EksObject['status'][]> {
  await h.api.delete({ kind: 'EksCluster', name: obj.metadata.name });
  const seen: EksObject['status'][] = [];
  const gone = await h.converge(obj, (o) => o === undefined, { seen });
  expect(gone).toBeUndefined();
  return seen;
}

describe('infra-controller: EksCluster', () => {
  it('provisions network, roles, cluster and node group to Ready with the outputs, and a second pass creates nothing', async () => {
    const before = h.counters();
    const obj = await h.create('alpha', { accountRef: { name: account }, nodeGroups: [WORKERS] });
    const seen: EksObject['status'][] = [];
    const done = (await h.converge(obj, isReady, { seen })) as EksObject;
    const steps = seen.map((s) => s.step);
    for (const step of ['CreatingNetwork', 'WaitingForCluster', 'WaitingForNodegroups']) expect(steps).toContain(step);

    const { outputs } = done.status;
    expect(outputs).toMatchObject({
      clusterName: 'alpha',
      region: 'eu-west-1',
      endpoint: expect.stringMatching(/^https?:\/\//),
      certificateAuthority: expect.any(String),
      version: '1.31',
      arn: expect.stringContaining(':cluster/alpha'),
      accountId: '123456789012',
      vpcId: expect.stringMatching(/^vpc-/),
      nodegroups: [{ name: 'workers', nodegroupName: nodegroupName(WORKERS), instanceTypes: ['t3.medium'], minSize: 2, maxSize: 4, desiredSize: 2, version: '1.31' }],
    });
    expect(outputs?.subnetIds).toHaveLength(2);
    expect(outputs?.publicSubnetIds).toHaveLength(2);
    expect(Buffer.from(outputs?.certificateAuthority ?? '', 'base64').toString()).toContain('BEGIN CERTIFICATE');
    expect(ready(done.status)).toMatchObject({ status: 'True', reason: 'Ready' });
    expect(done.status.step).toBe('Ready');
    const types = (done.status.inventory ?? []).map((item) => item.type).sort();
    expect(types).toEqual(['eks-cluster', 'elastic-ip', 'iam-role', 'iam-role', 'internet-gateway', 'nat-gateway', 'nodegroup', 'route-table', 'route-table', 'subnet', 'subnet', 'subnet', 'subnet', 'vpc']);
    expect(countersDelta(before, h.counters()).created).toEqual(ONE_CLUSTER);

    // Again: nothing new, nothing changed.
    const afterFirst = h.counters();
    const again = await h.once(done);
    expect(again.report.outcome).toBe('done');
    expect(again.object?.status.outputs).toEqual(outputs);
    expect(countersDelta(afterFirst, h.counters())).toEqual({ created: {}, deleted: {} });

    // What AWS says, with the SDK's own Describe calls.
    const cluster = (await h.eks.send(new DescribeClusterCommand({ name: 'alpha' }))).cluster;
    expect(cluster).toMatchObject({ status: 'ACTIVE', version: '1.31', tags: expect.objectContaining({ [OWNER_TAG]: obj.metadata.uid }) });
    expect(cluster?.resourcesVpcConfig?.subnetIds?.sort()).toEqual([...(outputs?.subnetIds ?? []), ...(outputs?.publicSubnetIds ?? [])].sort());
    const ng = (await h.eks.send(new DescribeNodegroupCommand({ clusterName: 'alpha', nodegroupName: nodegroupName(WORKERS) }))).nodegroup;
    expect(ng).toMatchObject({ status: 'ACTIVE', scalingConfig: { minSize: 2, maxSize: 4, desiredSize: 2 }, subnets: outputs?.subnetIds });
    const ours = [{ Name: `tag:${OWNER_TAG}`, Values: [obj.metadata.uid] }];
    const vpcs = (await h.ec2.send(new DescribeVpcsCommand({ Filters: ours }))).Vpcs ?? [];
    expect(vpcs.map((v) => [v.VpcId, v.CidrBlock])).toEqual([[outputs?.vpcId, '10.0.0.0/16']]);
    const subnets = (await h.ec2.send(new DescribeSubnetsCommand({ Filters: ours }))).Subnets ?? [];
    expect(subnets.map((s) => s.CidrBlock).sort()).toEqual(['10.0.0.0/20', '10.0.128.0/20', '10.0.144.0/20', '10.0.16.0/20']);
    expect(new Set(subnets.map((s) => s.AvailabilityZone)).size).toBe(2);
    const publics = subnets.filter((s) => outputs?.publicSubnetIds.includes(s.SubnetId ?? ''));
    expect(publics.every((s) => s.MapPublicIpOnLaunch === true && s.Tags?.some((t) => t.Key === 'kubernetes.io/role/elb'))).toBe(true);
    const tables = (await h.ec2.send(new DescribeRouteTablesCommand({ Filters: ours }))).RouteTables ?? [];
    const nat = (await h.ec2.send(new DescribeNatGatewaysCommand({ Filter: ours }))).NatGateways ?? [];
    expect(nat).toHaveLength(1);
    const privateTable = tables.find((t) => t.Tags?.some((tag) => tag.Value === 'route-table-private'));
    expect(privateTable?.Routes).toEqual(expect.arrayContaining([expect.objectContaining({ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: nat[0]?.NatGatewayId })]));
    expect(privateTable?.Associations?.map((a) => a.SubnetId).sort()).toEqual([...(outputs?.subnetIds ?? [])].sort());

    // Delete: everything that was made is gone, in an order AWS accepts.
    const beforeDelete = h.counters();
    const deleting = await deleteAndWait(done);
    expect(deleting.every((s) => s.phase === 'Deleting')).toBe(true);
    const said = deleting.map((s) => `${s.step}: ${ready(s)?.message ?? ''}`).join('\n');
    expect(said).toContain(`DeletingNodegroups: deleting node group ${nodegroupName(WORKERS)}`);
    expect(said).toContain('DeletingCluster: deleting EKS cluster alpha; IAM roles and network follow');
    expect(said).toMatch(/DeletingNetwork: deleting NAT gateway nat-[0-9a-f]+ \(its Elastic IP, route tables, subnets, internet gateway and VPC follow\)/);
    expect(countersDelta(beforeDelete, h.counters()).deleted).toEqual(ONE_CLUSTER);
    expect((await h.ec2.send(new DescribeVpcsCommand({ Filters: ours }))).Vpcs).toEqual([]);
  });

  it('converges while EKS and EC2 throttle (and EC2 refuses a delete for a while), showing the step and AWS’s message meanwhile', async () => {
    const faults = h.sandbox.sandbox.faults;
    // The SDK retries a throttled call once itself (after its own delay); the controller sees every second one.
    faults.add({ service: 'ec2', operation: 'CreateVpc', throttle: true, failNext: 4 });
    faults.add({ service: 'eks', operation: 'CreateCluster', throttle: true, failNext: 2 });
    faults.add({ service: 'eks', operation: 'DescribeNodegroup', throttle: true, failNext: 2 });
    const before = h.counters();
    const obj = await h.create('throttled', { accountRef: { name: account }, nodeGroups: [WORKERS] });
    const seen: EksObject['status'][] = [];
    const done = await h.converge(obj, isReady, { seen });
    expect(done?.status.phase).toBe('Ready');
    const throttled = seen.filter((s) => s.phase === 'Progressing' && /ThrottlingException|RequestLimitExceeded/.test(ready(s)?.message ?? ''));
    expect(throttled.map((s) => s.step)).toEqual(expect.arrayContaining(['CreatingNetwork', 'CreatingCluster', 'CreatingNodegroups']));
    expect(Math.max(...seen.map((s) => s.retries ?? 0))).toBeGreaterThanOrEqual(2);
    expect(countersDelta(before, h.counters()).created).toEqual(ONE_CLUSTER);

    // Deleting: EC2 refuses the VPC twice while it still sees a dependency; the teardown retries.
    faults.add({ service: 'ec2', operation: 'DeleteVpc', failNext: 2, error: { code: 'DependencyViolation', status: 400, message: "The vpc 'vpc-x' has dependencies and cannot be deleted." } });
    const deleting = await deleteAndWait(done as EksObject);
    expect(deleting.map((s) => `${s.step}: ${ready(s)?.message}`)).toContain("DeletingNetwork: retrying after DependencyViolation: The vpc 'vpc-x' has dependencies and cannot be deleted.");
    expect(countersDelta(before, h.counters()).deleted).toEqual(ONE_CLUSTER);
  });

  it('is Failed with the step and AWS’s message on a permanent error, and tries again after a spec change', async () => {
    h.sandbox.sandbox.faults.add({ service: 'eks', operation: 'CreateNodegroup', failNext: 1, error: { code: 'InvalidParameterException', status: 400, message: 'instance type t3.nano is not supported' } });
    const obj = await h.create('permanent', { accountRef: { name: account }, nodeGroups: [WORKERS] });
    const failed = (await h.converge(obj, isFailed)) as EksObject;
    expect(ready(failed.status)).toMatchObject({ reason: 'ProvisioningFailed', message: 'CreatingNodegroups: InvalidParameterException: instance type t3.nano is not supported' });
    expect(failed.status.step).toBe('CreatingNodegroups');
    // Failed at this generation: the SDK skips it until the spec changes.
    expect((await h.once(failed)).report.outcome).toBe('skipped');
    await h.api.patch({ kind: 'EksCluster', name: 'permanent' }, { spec: { nodeGroups: [{ ...WORKERS, desiredSize: 3 }] } });
    const done = await h.converge(failed, isReady);
    expect(done?.status.outputs?.nodegroups[0]?.desiredSize).toBe(3);
    await deleteAndWait(done as EksObject);
  });

  it('refuses a role name someone else holds, and leaves that role alone on delete', async () => {
    const iam = new IAMClient({ region: 'us-east-1', endpoint: h.sandbox.url, credentials: KEY });
    try {
      await iam.send(new CreateRoleCommand({ RoleName: 'tugboat-squatted-cluster', AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'eks.amazonaws.com' }, Action: 'sts:AssumeRole' }] }) }));
      const before = h.counters();
      const obj = await h.create('squatted', { accountRef: { name: account } });
      const failed = (await h.converge(obj, isFailed)) as EksObject;
      expect(ready(failed.status)).toMatchObject({ reason: 'NameTaken', message: expect.stringMatching(/^CreatingIamRoles: IAM role tugboat-squatted-cluster exists and is not this cluster's .*the name is taken/) });
      await deleteAndWait(failed);
      const delta = countersDelta(before, h.counters());
      expect(delta.created).toEqual(delta.deleted);
      expect((await iam.send(new GetRoleCommand({ RoleName: 'tugboat-squatted-cluster' }))).Role?.RoleName).toBe('tugboat-squatted-cluster');
      await iam.send(new DeleteRoleCommand({ RoleName: 'tugboat-squatted-cluster' }));
    } finally {
      iam.destroy();
    }
  });

  it('uses a VPC and subnets the spec names, and never deletes them', async () => {
    const vpcId = (await h.ec2.send(new CreateVpcCommand({ CidrBlock: '10.42.0.0/16' }))).Vpc?.VpcId ?? '';
    const subnetIds = await Promise.all(
      ['a', 'b'].map(async (zone, i) => (await h.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.42.${i * 16}.0/20`, AvailabilityZone: `eu-west-1${zone}` }))).Subnet?.SubnetId ?? ''),
    );
    const before = h.counters();
    const obj = await h.create('byo', { accountRef: { name: account }, network: { vpcId, subnetIds }, nodeGroups: [WORKERS] });
    const done = (await h.converge(obj, isReady)) as EksObject;
    expect(done.status.outputs).toMatchObject({ vpcId, subnetIds, publicSubnetIds: [] });
    expect(countersDelta(before, h.counters()).created).toEqual({ 'iam:role': 2, 'eks:cluster': 1, 'eks:nodegroup': 1 });
    await deleteAndWait(done);
    expect(countersDelta(before, h.counters()).deleted).toEqual({ 'iam:role': 2, 'eks:cluster': 1, 'eks:nodegroup': 1 });
    expect((await h.ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnetIds }))).Subnets).toHaveLength(2);
    for (const SubnetId of subnetIds) await h.ec2.send(new DeleteSubnetCommand({ SubnetId }));
    await h.ec2.send(new DeleteVpcCommand({ VpcId: vpcId }));
  });

  it('waits for the account without a single AWS call while it is not Ready', async () => {
    await h.account('revoked', 'wrong-secret');
    const obj = await h.create('gated', { accountRef: { name: 'revoked' } });
    // Every AWS call the sandbox serves asks its fault injector first: count those asks.
    const faults = h.sandbox.sandbox.faults;
    const original = faults.check.bind(faults);
    const calls: string[] = [];
    faults.check = (service, operation) => {
      calls.push(`${service}:${operation}`);
      return original(service, operation);
    };
    try {
      const { report, object } = await h.once(obj);
      expect(report.outcome).toBe('requeue');
      expect(object?.status.phase).toBe('Progressing');
      expect(ready(object?.status)).toMatchObject({ reason: 'AccountNotReady', message: expect.stringMatching(/^AwsAccount revoked is Failed \(InvalidCredentials: .*SignatureDoesNotMatch/) });
      expect(calls).toEqual([]);
      // Deleted before it ever started: nothing can exist in AWS, so it goes at once, still without a call.
      await h.api.delete({ kind: 'EksCluster', name: 'gated' });
      const deleted = await h.once(obj);
      expect(deleted.report.outcome).toBe('finalized');
      expect(deleted.object).toBeUndefined();
      expect(calls).toEqual([]);
      // The count works: a call of our own is seen.
      await h.eks.send(new DescribeClusterCommand({ name: 'gated' })).catch(() => undefined);
      expect(calls).toEqual(['eks:DescribeCluster']);
    } finally {
      faults.check = original;
    }
  });

  it('records the region before its first AWS call (what a delete goes by), then provisions and tears down', async () => {
    const obj = await h.create('recorded', { accountRef: { name: account } });
    const first = await h.once(obj);
    // The first pass only records where it will provision: no AWS call yet.
    expect(first.object?.status).toMatchObject({ phase: 'Progressing', step: 'Starting', region: obj.spec.region });
    expect(first.report.disposition).toEqual({ action: 'nak', delayMs: 1 });
    const done = await h.converge(obj, isReady);
    await deleteAndWait(done as EksObject);
  });
});
