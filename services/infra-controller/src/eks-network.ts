/**
 * The cluster's network when the spec gives none: a VPC, an internet gateway, a public and a
 * private subnet per zone, one Elastic IP and NAT gateway (in the first public subnet), and a
 * public and a private route table. Every create carries the ownership tags in the call itself and
 * follows a lookup by them, so a crash after a create never makes a second one. One NAT gateway
 * for all zones is a cost choice (see the README).
 */
import {
  AllocateAddressCommand,
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateNatGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteInternetGatewayCommand,
  DeleteNatGatewayCommand,
  DeleteRouteCommand,
  DeleteRouteTableCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeAddressesCommand,
  DescribeAvailabilityZonesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
  DetachInternetGatewayCommand,
  DisassociateRouteTableCommand,
  ModifySubnetAttributeCommand,
  ModifyVpcAttributeCommand,
  ReleaseAddressCommand,
  type Address,
  type InternetGateway,
  type NatGateway,
  type ResourceType,
  type RouteTable,
  type Subnet,
  type Tag,
  type Vpc,
} from '@aws-sdk/client-ec2';
import { DEFAULT_VPC_CIDR, DEFAULT_ZONES, OWNER_TAG, PART_TAG, ownershipTags, requestToken, subnetPlan } from './eks-naming.js';
import { awsMessage } from '@tugboat/aws';
import { isNotFound, ProvisioningRefused, tagList, tagValue, unlessNotFound, type EksRun } from './eks-run.js';
import type { EksNetworkSpec } from './eks-types.js';

export interface ClusterNetwork {
  vpcId: string;
  /** Where the node groups go (and, with the public ones, the cluster's subnets). */
  privateSubnetIds: string[];
  publicSubnetIds: string[];
}

/** A network step that is not finished: what it waits for, in operator words. */
export interface Waiting {
  waiting: string;
}

/** Everything of one type carrying this object's owner tag. */
interface Owned {
  vpcs: Vpc[];
  subnets: Subnet[];
  gateways: InternetGateway[];
  routeTables: RouteTable[];
  addresses: Address[];
  natGateways: NatGateway[];
}

const partOf = (tags: Tag[] | undefined) => tagValue(tags, PART_TAG);

async function findOwned(run: EksRun): Promise<Owned> {
  const Filters = [{ Name: `tag:${OWNER_TAG}`, Values: [run.uid] }];
  const [vpcs, subnets, gateways, routeTables, addresses, natGateways] = await Promise.all([
    run.ec2.send(new DescribeVpcsCommand({ Filters }), run.send),
    run.ec2.send(new DescribeSubnetsCommand({ Filters }), run.send),
    run.ec2.send(new DescribeInternetGatewaysCommand({ Filters }), run.send),
    run.ec2.send(new DescribeRouteTablesCommand({ Filters }), run.send),
    run.ec2.send(new DescribeAddressesCommand({ Filters }), run.send),
    run.ec2.send(new DescribeNatGatewaysCommand({ Filter: Filters }), run.send),
  ]);
  return {
    vpcs: vpcs.Vpcs ?? [],
    subnets: subnets.Subnets ?? [],
    gateways: gateways.InternetGateways ?? [],
    routeTables: routeTables.RouteTables ?? [],
    addresses: addresses.Addresses ?? [],
    natGateways: (natGateways.NatGateways ?? []).filter((nat) => nat.State !== 'deleted' && nat.State !== 'failed'),
  };
}

function tagSpecification(run: EksRun, type: ResourceType, part: string, extra: Record<string, string> = {}) {
  return [{ ResourceType: type, Tags: tagList({ ...ownershipTags(run.uid, run.name, part), ...extra }) }];
}

/** Makes (or finds) the whole network; waits for the NAT gateway without blocking. */
export async function ensureNetwork(run: EksRun, spec: EksNetworkSpec | undefined): Promise<ClusterNetwork | Waiting> {
  const owned = await findOwned(run);
  const byPart = <T extends { Tags?: Tag[] | undefined }>(items: T[], part: string) => items.find((item) => partOf(item.Tags) === part);

  // The VPC, with DNS hostnames (nodes register by them) and DNS support.
  let vpc = byPart(owned.vpcs, 'vpc');
  if (vpc === undefined) {
    run.assertLeaseHeld();
    const created = await run.ec2.send(new CreateVpcCommand({ CidrBlock: spec?.vpcCidr ?? DEFAULT_VPC_CIDR, TagSpecifications: tagSpecification(run, 'vpc', 'vpc') }), run.send);
    run.pass('eks.after-create-vpc');
    vpc = created.Vpc ?? {};
  }
  const vpcId = vpc.VpcId ?? '';
  const vpcCidr = vpc.CidrBlock ?? spec?.vpcCidr ?? DEFAULT_VPC_CIDR;
  run.record({ type: 'vpc', id: vpcId, name: 'vpc' });
  for (const attribute of ['enableDnsSupport', 'enableDnsHostnames'] as const) {
    const current = await run.ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: attribute }), run.send);
    const enabled = attribute === 'enableDnsSupport' ? current.EnableDnsSupport?.Value : current.EnableDnsHostnames?.Value;
    if (enabled !== true) {
      run.assertLeaseHeld();
      const value = { Value: true };
      await run.ec2.send(new ModifyVpcAttributeCommand(attribute === 'enableDnsSupport' ? { VpcId: vpcId, EnableDnsSupport: value } : { VpcId: vpcId, EnableDnsHostnames: value }), run.send);
    }
  }

  // The internet gateway, attached.
  let gateway = byPart(owned.gateways, 'internet-gateway');
  if (gateway === undefined) {
    run.assertLeaseHeld();
    const created = await run.ec2.send(new CreateInternetGatewayCommand({ TagSpecifications: tagSpecification(run, 'internet-gateway', 'internet-gateway') }), run.send);
    run.pass('eks.after-create-internet-gateway');
    gateway = created.InternetGateway ?? {};
  }
  const gatewayId = gateway.InternetGatewayId ?? '';
  run.record({ type: 'internet-gateway', id: gatewayId, name: 'internet-gateway' });
  if (!(gateway.Attachments ?? []).some((attachment) => attachment.VpcId === vpcId)) {
    run.assertLeaseHeld();
    await run.ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: gatewayId, VpcId: vpcId }), run.send);
  }

  // A public and a private subnet per zone, carved from the VPC block.
  const zoneCount = spec?.availabilityZones ?? DEFAULT_ZONES;
  const zones = await run.ec2.send(new DescribeAvailabilityZonesCommand({ Filters: [{ Name: 'state', Values: ['available'] }] }), run.send);
  const zoneNames = (zones.AvailabilityZones ?? [])
    .filter((zone) => zone.ZoneType === undefined || zone.ZoneType === 'availability-zone')
    .map((zone) => zone.ZoneName ?? '')
    .sort()
    .slice(0, zoneCount);
  if (zoneNames.length < zoneCount) {
    throw new ProvisioningRefused('InvalidNetwork', `region ${run.region} has ${zoneNames.length} available zones; spec.network.availabilityZones asks for ${zoneCount}`);
  }
  const publicSubnetIds: string[] = [];
  const privateSubnetIds: string[] = [];
  for (const plan of subnetPlan(vpcCidr, zoneNames)) {
    let subnet = byPart(owned.subnets, plan.part);
    if (subnet === undefined) {
      const role: Record<string, string> = plan.tier === 'public' ? { 'kubernetes.io/role/elb': '1' } : { 'kubernetes.io/role/internal-elb': '1' };
      run.assertLeaseHeld();
      const created = await run.ec2.send(
        new CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: plan.cidr,
          AvailabilityZone: plan.zone,
          TagSpecifications: tagSpecification(run, 'subnet', plan.part, { ...role, [`kubernetes.io/cluster/${run.name}`]: 'owned' }),
        }),
        run.send,
      );
      run.pass('eks.after-create-subnet');
      subnet = created.Subnet ?? {};
    }
    const subnetId = subnet.SubnetId ?? '';
    run.record({ type: 'subnet', id: subnetId, name: plan.part });
    if (plan.tier === 'public') {
      publicSubnetIds.push(subnetId);
      if (subnet.MapPublicIpOnLaunch !== true) {
        run.assertLeaseHeld();
        await run.ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } }), run.send);
      }
    } else {
      privateSubnetIds.push(subnetId);
    }
  }

  // The public route table: everything out through the internet gateway.
  await ensureRouteTable(run, owned, vpcId, 'route-table-public', { GatewayId: gatewayId }, publicSubnetIds);

  // One Elastic IP and one NAT gateway, in the first public subnet.
  let address = byPart(owned.addresses, 'elastic-ip');
  if (address === undefined) {
    run.assertLeaseHeld();
    const created = await run.ec2.send(new AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: tagSpecification(run, 'elastic-ip', 'elastic-ip') }), run.send);
    run.pass('eks.after-create-elastic-ip');
    address = { AllocationId: created.AllocationId, PublicIp: created.PublicIp };
  }
  const allocationId = address.AllocationId ?? '';
  run.record({ type: 'elastic-ip', id: allocationId, name: 'elastic-ip' });

  let nat = byPart(owned.natGateways, 'nat-gateway');
  if (nat === undefined) {
    run.assertLeaseHeld();
    const created = await run.ec2.send(
      new CreateNatGatewayCommand({
        SubnetId: publicSubnetIds[0] ?? '',
        AllocationId: allocationId,
        ClientToken: requestToken(run.uid, 'nat-gateway'),
        TagSpecifications: tagSpecification(run, 'natgateway', 'nat-gateway'),
      }),
      run.send,
    );
    run.pass('eks.after-create-nat-gateway');
    nat = created.NatGateway ?? {};
  }
  const natId = nat.NatGatewayId ?? '';
  run.record({ type: 'nat-gateway', id: natId, name: 'nat-gateway' });
  if (nat.State !== 'available') {
    return { waiting: `NAT gateway ${natId} is ${nat.State ?? 'pending'}; the private route table follows once it is available` };
  }

  // The private route table: everything out through the NAT gateway.
  await ensureRouteTable(run, owned, vpcId, 'route-table-private', { NatGatewayId: natId }, privateSubnetIds);
  return { vpcId, privateSubnetIds, publicSubnetIds };
}

async function ensureRouteTable(
  run: EksRun,
  owned: Owned,
  vpcId: string,
  part: string,
  target: { GatewayId?: string; NatGatewayId?: string },
  subnetIds: string[],
): Promise<void> {
  let table = owned.routeTables.find((t) => partOf(t.Tags) === part);
  if (table === undefined) {
    run.assertLeaseHeld();
    const created = await run.ec2.send(
      new CreateRouteTableCommand({ VpcId: vpcId, ClientToken: requestToken(run.uid, part), TagSpecifications: tagSpecification(run, 'route-table', part) }),
      run.send,
    );
    run.pass('eks.after-create-route-table');
    table = created.RouteTable ?? {};
  }
  const tableId = table.RouteTableId ?? '';
  run.record({ type: 'route-table', id: tableId, name: part });
  const route = (table.Routes ?? []).find((r) => r.DestinationCidrBlock === '0.0.0.0/0');
  const pointsRight = route !== undefined && route.State !== 'blackhole' && (target.GatewayId === undefined || route.GatewayId === target.GatewayId) && (target.NatGatewayId === undefined || route.NatGatewayId === target.NatGatewayId);
  if (!pointsRight) {
    run.assertLeaseHeld();
    if (route !== undefined) {
      // A stale default route (a replaced NAT gateway): EC2 has ReplaceRoute, but delete-and-create keeps to the calls the sandbox knows.
      await run.ec2.send(new DeleteRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '0.0.0.0/0' }), run.send);
    }
    await run.ec2.send(new CreateRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '0.0.0.0/0', ...target }), run.send);
  }
  const associated = new Set((table.Associations ?? []).map((a) => a.SubnetId));
  for (const subnetId of subnetIds) {
    if (associated.has(subnetId)) continue;
    run.assertLeaseHeld();
    await run.ec2.send(new AssociateRouteTableCommand({ RouteTableId: tableId, SubnetId: subnetId }), run.send);
  }
}

/**
 * Deletes what `ensureNetwork` made, found by the owner tag, in the order EC2 needs: NAT gateway
 * (and waits until it is deleted), its Elastic IP, route tables, subnets, internet gateway, VPC.
 * Ids in `keep` (a VPC and subnets the spec names) are never touched. Returns what it still waits
 * for, or `undefined` when nothing is left.
 */
export async function teardownNetwork(run: EksRun, keep: ReadonlySet<string> = new Set()): Promise<string | undefined> {
  const all = await findOwned(run);
  const kept = <T>(items: T[], id: (item: T) => string | undefined) => items.filter((item) => !keep.has(id(item) ?? ''));
  const owned: Owned = {
    vpcs: kept(all.vpcs, (x) => x.VpcId),
    subnets: kept(all.subnets, (x) => x.SubnetId),
    gateways: kept(all.gateways, (x) => x.InternetGatewayId),
    routeTables: kept(all.routeTables, (x) => x.RouteTableId),
    addresses: kept(all.addresses, (x) => x.AllocationId),
    natGateways: kept(all.natGateways, (x) => x.NatGatewayId),
  };
  for (const nat of owned.natGateways) {
    if (nat.State === 'pending' || nat.State === 'available') {
      run.assertLeaseHeld();
      await unlessNotFound(run.ec2.send(new DeleteNatGatewayCommand({ NatGatewayId: nat.NatGatewayId ?? '' }), run.send));
      run.pass('eks.after-delete-nat-gateway');
    }
  }
  if (owned.natGateways.length > 0) {
    return `deleting NAT gateway ${owned.natGateways.map((nat) => nat.NatGatewayId).join(', ')} (its Elastic IP, route tables, subnets, internet gateway and VPC follow)`;
  }
  for (const address of owned.addresses) {
    run.assertLeaseHeld();
    await unlessNotFound(run.ec2.send(new ReleaseAddressCommand({ AllocationId: address.AllocationId ?? '' }), run.send));
  }
  for (const table of owned.routeTables) {
    run.assertLeaseHeld();
    for (const association of table.Associations ?? []) {
      if (association.Main === true || association.RouteTableAssociationId === undefined) continue;
      await unlessNotFound(run.ec2.send(new DisassociateRouteTableCommand({ AssociationId: association.RouteTableAssociationId }), run.send));
    }
    await unlessNotFound(run.ec2.send(new DeleteRouteTableCommand({ RouteTableId: table.RouteTableId ?? '' }), run.send));
  }
  for (const subnet of owned.subnets) {
    run.assertLeaseHeld();
    await unlessNotFound(run.ec2.send(new DeleteSubnetCommand({ SubnetId: subnet.SubnetId ?? '' }), run.send));
    run.pass('eks.after-delete-subnet');
  }
  for (const gateway of owned.gateways) {
    run.assertLeaseHeld();
    for (const attachment of gateway.Attachments ?? []) {
      await unlessNotFound(run.ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: gateway.InternetGatewayId ?? '', VpcId: attachment.VpcId ?? '' }), run.send));
    }
    await unlessNotFound(run.ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: gateway.InternetGatewayId ?? '' }), run.send));
  }
  for (const vpc of owned.vpcs) {
    run.assertLeaseHeld();
    await unlessNotFound(run.ec2.send(new DeleteVpcCommand({ VpcId: vpc.VpcId ?? '' }), run.send));
    run.pass('eks.after-delete-vpc');
  }
  return undefined;
}

/** An existing VPC and subnets (spec.network.vpcId): checked, used as they are, never changed or deleted. */
export async function givenNetwork(run: EksRun, spec: EksNetworkSpec & { vpcId: string }): Promise<ClusterNetwork> {
  const subnetIds = spec.subnetIds ?? [];
  let subnets: Subnet[];
  try {
    subnets = (await run.ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnetIds }), run.send)).Subnets ?? [];
  } catch (error) {
    if (isNotFound(error)) throw new ProvisioningRefused('InvalidNetwork', `spec.network.subnetIds: ${awsMessage(error)}`);
    throw error;
  }
  const strangers = subnets.filter((subnet) => subnet.VpcId !== spec.vpcId).map((subnet) => `${subnet.SubnetId} (in ${subnet.VpcId})`);
  if (strangers.length > 0) throw new ProvisioningRefused('InvalidNetwork', `spec.network.subnetIds: ${strangers.join(', ')} not in ${spec.vpcId}`);
  return { vpcId: spec.vpcId, privateSubnetIds: subnetIds, publicSubnetIds: [] };
}
