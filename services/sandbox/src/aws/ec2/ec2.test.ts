// EC2 against the sandbox with the real AWS SDK v3 client: its own serializer (EC2 query
// flattening), its own deserializer (no …Result wrapper, `item` lists) and its EC2 error parser.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AllocateAddressCommand,
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateNatGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteInternetGatewayCommand,
  DeleteNatGatewayCommand,
  DeleteRouteCommand,
  DeleteRouteTableCommand,
  DeleteSubnetCommand,
  DeleteTagsCommand,
  DeleteVpcCommand,
  DescribeAvailabilityZonesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
  DetachInternetGatewayCommand,
  DisassociateRouteTableCommand,
  EC2Client,
  ModifySubnetAttributeCommand,
  ModifyVpcAttributeCommand,
  ReleaseAddressCommand,
} from '@aws-sdk/client-ec2';
import { startTestSandbox, TEST_AWS_CREDENTIALS, waitFor, type TestSandbox } from '../../test-support/start-test-sandbox.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandbox-ec2-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function start(timeScale = 6000): Promise<{ t: TestSandbox; ec2: EC2Client }> {
  const t = await startTestSandbox({ stateDir: dir, timeScale, saveDebounceMs: 20 });
  const ec2 = new EC2Client({ endpoint: t.url, region: 'eu-west-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
  return { t, ec2 };
}

async function stop(s: { t: TestSandbox; ec2: EC2Client }): Promise<void> {
  s.ec2.destroy();
  await s.t.sandbox.close();
}

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}

async function counters(t: TestSandbox): Promise<{ created: Record<string, number>; deleted: Record<string, number>; current: { ec2: Record<string, unknown[]> } }> {
  return (await (await fetch(`${t.url}/_sandbox/counters`)).json()) as never;
}

const owner = (value: string) => [{ Key: 'owner', Value: value }];

describe('EC2 in the sandbox (AWS SDK v3)', () => {
  it('builds a network with tags at creation, refuses premature deletes, survives a restart and tears down in reverse', async () => {
    let s = await start();
    const { ec2 } = s;
    const zones = (await ec2.send(new DescribeAvailabilityZonesCommand({}))).AvailabilityZones ?? [];
    expect(zones.map((z) => z.ZoneName)).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
    expect(zones[0]).toMatchObject({ State: 'available', RegionName: 'eu-west-1', ZoneId: 'euw1-az1' });

    const vpc = (
      await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [...owner('net-1'), { Key: 'Name', Value: 'main' }] }] }))
    ).Vpc;
    expect(vpc).toMatchObject({ CidrBlock: '10.0.0.0/16', State: 'pending', IsDefault: false, Tags: [{ Key: 'owner', Value: 'net-1' }, { Key: 'Name', Value: 'main' }] });
    const vpcId = vpc?.VpcId as string;
    expect(vpcId).toMatch(/^vpc-[0-9a-f]{17}$/);
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsHostnames: { Value: true } }));
    expect((await ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: 'enableDnsHostnames' }))).EnableDnsHostnames).toEqual({ Value: true });

    const subnetA = (
      await ec2.send(
        new CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: '10.0.0.0/20',
          AvailabilityZone: 'eu-west-1a',
          TagSpecifications: [{ ResourceType: 'subnet', Tags: owner('net-1') }],
        }),
      )
    ).Subnet;
    const subnetB = (
      await ec2.send(
        new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.0.16.0/20', AvailabilityZone: 'eu-west-1b', TagSpecifications: [{ ResourceType: 'subnet', Tags: owner('net-1') }] }),
      )
    ).Subnet;
    expect(subnetA).toMatchObject({ VpcId: vpcId, AvailabilityZone: 'eu-west-1a', AvailableIpAddressCount: 4091, Tags: owner('net-1') });
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnetA?.SubnetId, MapPublicIpOnLaunch: { Value: true } }));

    const igwId = (await ec2.send(createTaggedInternetGateway('net-1'))).InternetGateway?.InternetGatewayId as string;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId }));
    const table = (
      await ec2.send(new CreateRouteTableCommand({ VpcId: vpcId, TagSpecifications: [{ ResourceType: 'route-table', Tags: owner('net-1') }] }))
    ).RouteTable;
    const tableId = table?.RouteTableId as string;
    expect(table?.Routes).toEqual([{ DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', State: 'active', Origin: 'CreateRouteTable' }]);
    await ec2.send(new CreateRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igwId }));
    const association = await ec2.send(new AssociateRouteTableCommand({ RouteTableId: tableId, SubnetId: subnetA?.SubnetId }));
    expect(association.AssociationState).toEqual({ State: 'associated' });

    // Describes by tag, by the VPC and by ids.
    const byTag = { Filters: [{ Name: 'tag:owner', Values: ['net-1'] }] };
    expect((await ec2.send(new DescribeVpcsCommand(byTag))).Vpcs?.map((v) => v.VpcId)).toEqual([vpcId]);
    expect((await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:owner', Values: ['net-2'] }] }))).Vpcs).toEqual([]);
    expect((await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag-key', Values: ['Name'] }, { Name: 'cidr', Values: ['10.0.*'] }] }))).Vpcs).toHaveLength(1);
    expect((await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, ...byTag.Filters] }))).Subnets?.map((x) => x.AvailabilityZone)).toEqual([
      'eu-west-1a',
      'eu-west-1b',
    ]);
    const igws = (await ec2.send(new DescribeInternetGatewaysCommand({ Filters: [{ Name: 'attachment.vpc-id', Values: [vpcId] }] }))).InternetGateways;
    expect(igws).toEqual([{ InternetGatewayId: igwId, OwnerId: '123456789012', Attachments: [{ VpcId: vpcId, State: 'available' }], Tags: owner('net-1') }]);
    const tables = (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))).RouteTables ?? [];
    expect(tables).toHaveLength(2);
    const main = tables.find((x) => x.Associations?.some((a) => a.Main));
    expect(main?.Associations).toEqual([expect.objectContaining({ Main: true, AssociationState: { State: 'associated' } })]);
    const mine = tables.find((x) => x.RouteTableId === tableId);
    expect(mine?.Routes?.map((r) => [r.DestinationCidrBlock, r.GatewayId, r.State])).toEqual([
      ['10.0.0.0/16', 'local', 'active'],
      ['0.0.0.0/0', igwId, 'active'],
    ]);
    expect(mine?.Associations).toEqual([
      { Main: false, RouteTableAssociationId: association.AssociationId, RouteTableId: tableId, SubnetId: subnetA?.SubnetId, AssociationState: { State: 'associated' } },
    ]);

    // State survives a restart.
    await stop(s);
    s = await start();
    const ec2b = s.ec2;
    expect((await ec2b.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))).Vpcs?.[0]?.Tags).toEqual([{ Key: 'owner', Value: 'net-1' }, { Key: 'Name', Value: 'main' }]);
    expect((await ec2b.send(new DescribeRouteTablesCommand({ RouteTableIds: [tableId] }))).RouteTables?.[0]?.Associations).toHaveLength(1);

    // Premature deletes fail as on AWS.
    expect(await errorOf(ec2b.send(new DeleteVpcCommand({ VpcId: vpcId })))).toEqual({
      name: 'DependencyViolation',
      status: 400,
      message: `The vpc '${vpcId}' has dependencies and cannot be deleted.`,
    });
    expect((await errorOf(ec2b.send(new DeleteSubnetCommand({ SubnetId: subnetA?.SubnetId })))).name).toBe('DependencyViolation');
    expect((await errorOf(ec2b.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igwId })))).name).toBe('DependencyViolation');
    expect((await errorOf(ec2b.send(new DeleteRouteTableCommand({ RouteTableId: tableId })))).name).toBe('DependencyViolation');
    expect((await errorOf(ec2b.send(new DeleteRouteTableCommand({ RouteTableId: main?.RouteTableId })))).name).toBe('DependencyViolation');
    expect((await errorOf(ec2b.send(new AttachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId })))).name).toBe('Resource.AlreadyAssociated');
    expect((await errorOf(ec2b.send(new AssociateRouteTableCommand({ RouteTableId: tableId, SubnetId: subnetA?.SubnetId })))).name).toBe(
      'Resource.AlreadyAssociated',
    );

    // Reverse order.
    await ec2b.send(new DisassociateRouteTableCommand({ AssociationId: association.AssociationId }));
    await ec2b.send(new DeleteRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '0.0.0.0/0' }));
    await ec2b.send(new DeleteRouteTableCommand({ RouteTableId: tableId }));
    await ec2b.send(new DetachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId }));
    await ec2b.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igwId }));
    await ec2b.send(new DeleteSubnetCommand({ SubnetId: subnetA?.SubnetId }));
    await ec2b.send(new DeleteSubnetCommand({ SubnetId: subnetB?.SubnetId }));
    await ec2b.send(new DeleteVpcCommand({ VpcId: vpcId }));
    expect((await errorOf(ec2b.send(new DescribeVpcsCommand({ VpcIds: [vpcId] })))).name).toBe('InvalidVpcID.NotFound');

    const seen = await counters(s.t);
    const types = ['ec2:vpc', 'ec2:subnet', 'ec2:internet-gateway', 'ec2:route-table'];
    expect(Object.fromEntries(types.map((type) => [type, [seen.created[type], seen.deleted[type]]]))).toEqual({
      'ec2:vpc': [1, 1],
      'ec2:subnet': [2, 2],
      'ec2:internet-gateway': [1, 1],
      // The VPC's main route table and the one created here.
      'ec2:route-table': [2, 2],
    });
    expect(Object.values(seen.current.ec2).flat()).toEqual([]);
    await stop(s);
  });

  it('validates CIDR blocks, zones, ids, filters and tags with EC2 error codes', async () => {
    const s = await start();
    const { ec2 } = s;
    const fail = async (promise: Promise<unknown>) => (await errorOf(promise)).name;
    expect(await fail(ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/8' })))).toBe('InvalidVpc.Range');
    expect(await fail(ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/29' })))).toBe('InvalidVpc.Range');
    expect(await errorOf(ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.1/16' })))).toMatchObject({
      name: 'InvalidParameterValue',
      message: 'Value (10.0.0.1/16) for parameter cidrBlock is invalid. This is not a valid CIDR block.',
    });
    expect(await fail(ec2.send(new CreateVpcCommand({} as never)))).toBe('MissingParameter');
    expect(await fail(ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16', TagSpecifications: [{ ResourceType: 'subnet', Tags: owner('x') }] })))).toBe(
      'InvalidParameterValue',
    );
    expect(await fail(ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'aws:x', Value: 'y' }] }] })))).toBe(
      'InvalidParameterValue',
    );
    expect(await fail(ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16', DryRun: true })))).toBe('DryRunOperation');
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }))).Vpc?.VpcId as string;
    expect(await fail(ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.2.0.0/24' })))).toBe('InvalidSubnet.Range');
    expect(await fail(ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.1.0.0/29' })))).toBe('InvalidSubnet.Range');
    expect(await fail(ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.1.0.0/24', AvailabilityZone: 'eu-west-1z' })))).toBe('InvalidParameterValue');
    expect(await fail(ec2.send(new CreateSubnetCommand({ VpcId: 'vpc-0123456789abcdef0', CidrBlock: '10.1.0.0/24' })))).toBe('InvalidVpcID.NotFound');
    await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.1.0.0/24', AvailabilityZone: 'eu-west-1c' }));
    expect(await fail(ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.1.0.128/25' })))).toBe('InvalidSubnet.Conflict');
    expect(await fail(ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-0123456789abcdef0'] })))).toBe('InvalidSubnetID.NotFound');
    expect(await fail(ec2.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: ['igw-0123456789abcdef0'] })))).toBe('InvalidInternetGatewayID.NotFound');
    expect(await fail(ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: ['rtb-0123456789abcdef0'] })))).toBe('InvalidRouteTableID.NotFound');
    expect(await fail(ec2.send(new DescribeVpcsCommand({ VpcIds: ['nonsense'] })))).toBe('InvalidVpcID.Malformed');
    expect(await fail(ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'colour', Values: ['blue'] }] })))).toBe('InvalidParameterValue');
    // Regions are separate.
    const other = new EC2Client({ endpoint: s.t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
    expect((await other.send(new DescribeVpcsCommand({}))).Vpcs).toEqual([]);
    other.destroy();
    // CreateTags / DeleteTags.
    await ec2.send(new CreateTagsCommand({ Resources: [vpcId], Tags: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }] }));
    await ec2.send(new DeleteTagsCommand({ Resources: [vpcId], Tags: [{ Key: 'a' }] }));
    expect((await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))).Vpcs?.[0]?.Tags).toEqual([{ Key: 'b', Value: '2' }]);
    expect(await fail(ec2.send(new CreateTagsCommand({ Resources: ['vpc-0123456789abcdef0'], Tags: [{ Key: 'a', Value: '1' }] })))).toBe('InvalidVpcID.NotFound');
    await stop(s);
  });

  it('runs NAT gateways through their states on the simulated clock, with client-token idempotency', async () => {
    // 90 simulated seconds (creation) take 15 ms.
    const s = await start(6000);
    const { ec2 } = s;
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.3.0.0/16' }))).Vpc?.VpcId as string;
    const subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.3.0.0/24' }))).Subnet?.SubnetId as string;
    const eip = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: owner('nat') }] }));
    expect(await errorOf(ec2.send(new CreateNatGatewayCommand({ SubnetId: subnetId, AllocationId: eip.AllocationId })))).toMatchObject({ name: 'Gateway.NotAttached' });
    const igwId = (await ec2.send(createTaggedInternetGateway('nat'))).InternetGateway?.InternetGatewayId as string;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId }));
    const request = { SubnetId: subnetId, AllocationId: eip.AllocationId, ClientToken: 'nat-1', TagSpecifications: [{ ResourceType: 'natgateway' as const, Tags: owner('nat') }] };
    const created = (await ec2.send(new CreateNatGatewayCommand(request))).NatGateway;
    expect(created).toMatchObject({ State: 'pending', SubnetId: subnetId, VpcId: vpcId, Tags: owner('nat') });
    expect((await ec2.send(new CreateNatGatewayCommand(request))).NatGateway?.NatGatewayId).toBe(created?.NatGatewayId);
    const natId = created?.NatGatewayId as string;
    const stateOf = async () => (await ec2.send(new DescribeNatGatewaysCommand({ NatGatewayIds: [natId] }))).NatGateways?.[0]?.State;
    await waitFor(async () => ((await stateOf()) === 'available' ? true : undefined), 5000, 'NAT gateway available');
    const tableId = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }))).RouteTable?.RouteTableId as string;
    await ec2.send(new CreateRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: natId }));
    expect((await errorOf(ec2.send(new DeleteSubnetCommand({ SubnetId: subnetId })))).name).toBe('DependencyViolation');
    expect((await errorOf(ec2.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId })))).name).toBe('InvalidIPAddress.InUse');
    expect((await errorOf(ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId })))).name).toBe('DependencyViolation');
    await ec2.send(new DeleteNatGatewayCommand({ NatGatewayId: natId }));
    await waitFor(async () => ((await stateOf()) === 'deleted' ? true : undefined), 5000, 'NAT gateway deleted');
    await ec2.send(new DeleteRouteTableCommand({ RouteTableId: tableId }));
    await ec2.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId }));
    await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId }));
    await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igwId }));
    await ec2.send(new DeleteSubnetCommand({ SubnetId: subnetId }));
    await ec2.send(new DeleteVpcCommand({ VpcId: vpcId }));
    const seen = await counters(s.t);
    expect([seen.created['ec2:nat-gateway'], seen.deleted['ec2:nat-gateway'], seen.created['ec2:elastic-ip'], seen.deleted['ec2:elastic-ip']]).toEqual([1, 1, 1, 1]);
    await stop(s);
  });

  it('keeps a pending NAT gateway across a restart, and it goes on to available', async () => {
    // At scale 1 the gateway stays pending for 90 real seconds: long past this test.
    let s = await start(1);
    const vpcId = (await s.ec2.send(new CreateVpcCommand({ CidrBlock: '10.4.0.0/16' }))).Vpc?.VpcId as string;
    const subnetId = (await s.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.4.0.0/24' }))).Subnet?.SubnetId as string;
    const natId = (await s.ec2.send(new CreateNatGatewayCommand({ SubnetId: subnetId, ConnectivityType: 'private' }))).NatGateway?.NatGatewayId as string;
    await stop(s);
    s = await start(6000);
    const stateOf = async () => (await s.ec2.send(new DescribeNatGatewaysCommand({ Filter: [{ Name: 'vpc-id', Values: [vpcId] }] }))).NatGateways?.[0];
    expect((await stateOf())?.NatGatewayId).toBe(natId);
    await waitFor(async () => ((await stateOf())?.State === 'available' ? true : undefined), 5000, 'NAT gateway available after restart');
    await stop(s);
  });

  it('answers injected throttling as EC2 does (RequestLimitExceeded), which the SDK retries', async () => {
    const s = await start();
    await fetch(`${s.t.url}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'ec2', operation: 'DescribeVpcs', failNext: 1, throttle: true }),
    });
    expect(await errorOf(s.ec2.send(new DescribeVpcsCommand({})))).toMatchObject({ name: 'RequestLimitExceeded', status: 503 });
    await fetch(`${s.t.url}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'ec2', operation: 'DescribeVpcs', failNext: 1, throttle: true }),
    });
    const retrying = new EC2Client({ endpoint: s.t.url, region: 'eu-west-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 3 });
    const answer = await retrying.send(new DescribeVpcsCommand({}));
    expect(answer.$metadata.attempts).toBe(2);
    retrying.destroy();
    await stop(s);
  });
});

function createTaggedInternetGateway(value: string) {
  return new CreateInternetGatewayCommand({ TagSpecifications: [{ ResourceType: 'internet-gateway', Tags: owner(value) }] });
}
