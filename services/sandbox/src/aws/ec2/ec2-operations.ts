/**
 * EC2 on the wire (the EC2 protocol): each operation reads its flattened form parameters, calls the
 * simulator, and answers with EC2's own element names (`vpc`, `vpcSet`/`item`, `tagSet`), as the
 * AWS SDK's EC2 deserializers read them. Operations without an answer say `<return>true</return>`.
 */
import { AwsError } from '../aws-error.js';
import type { AwsOperation, AwsOperationContext } from '../aws-operation.js';
import { usableAddresses, parseIpv4Cidr } from './ipv4-cidr.js';
import {
  applyFilters,
  filterList,
  optionalBoolean,
  optionalString,
  requiredString,
  stringList,
  structList,
  tagList,
  tagsAtCreation,
  type Ec2Parameters,
  type FilterAttributes,
} from './ec2-parameters.js';
import type {
  AddressRecord,
  AvailabilityZone,
  Ec2Simulator,
  Ec2Tag,
  InternetGatewayRecord,
  NatGatewayRecord,
  IngressRuleInput,
  RouteTableRecord,
  SecurityGroupRecord,
  SubnetRecord,
  VpcRecord,
} from './ec2-simulator.js';
import { checkIdForm } from './ec2-simulator.js';

export const EC2_XML_NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/** `<xSet>` with one `<item>` per element; an empty list is an empty element, as EC2 sends it. */
function itemSet(items: unknown[]): unknown {
  return items.length === 0 ? '' : { item: items };
}

function tagSet(tags: Ec2Tag[]): unknown {
  return itemSet(tags.map((t) => ({ key: t.key, value: t.value })));
}

/** Those of `records` named in `ids` (all when `ids` is empty); an unknown id fails the whole call. */
function byIds<T>(records: T[], ids: string[], idOf: (record: T) => string, notFound: (id: string) => AwsError): T[] {
  if (ids.length === 0) return records;
  const missing = ids.filter((id) => !records.some((r) => idOf(r) === id));
  if (missing.length > 0) throw notFound(missing.join(', '));
  return records.filter((r) => ids.includes(idOf(r)));
}

function optionalPort(input: Ec2Parameters, name: string): number | undefined {
  const text = optionalString(input, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value)) throw new AwsError('InvalidParameterValue', `Invalid value '${text}' for ${name}.`, { status: 400 });
  return value;
}

/**
 * The rules of `IpPermissions.N` (one per source in `IpRanges.M` / `Groups.M`), or the short form
 * (`IpProtocol`, `FromPort`, `ToPort`, `CidrIp`) that `aws ec2 authorize-security-group-ingress --protocol --port --cidr` sends.
 */
function ingressRules(input: Ec2Parameters): IngressRuleInput[] {
  const rules: IngressRuleInput[] = [];
  const permissions = structList(input, 'IpPermissions');
  const shortForm = optionalString(input, 'IpProtocol');
  if (shortForm !== undefined) {
    const cidrIp = optionalString(input, 'CidrIp');
    const fromPort = optionalPort(input, 'FromPort');
    const toPort = optionalPort(input, 'ToPort');
    if (cidrIp === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter CidrIp or IpPermissions', { status: 400 });
    rules.push({ ipProtocol: shortForm, cidrIp, ...(fromPort !== undefined ? { fromPort } : {}), ...(toPort !== undefined ? { toPort } : {}) });
  }
  for (const permission of permissions) {
    const ipProtocol = optionalString(permission, 'IpProtocol');
    if (ipProtocol === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter IpPermissions.N.IpProtocol', { status: 400 });
    const fromPort = optionalPort(permission, 'FromPort');
    const toPort = optionalPort(permission, 'ToPort');
    const base = { ipProtocol, ...(fromPort !== undefined ? { fromPort } : {}), ...(toPort !== undefined ? { toPort } : {}) };
    const sources = [
      ...structList(permission, 'IpRanges').map((range) => ({ cidrIp: optionalString(range, 'CidrIp'), description: optionalString(range, 'Description') })),
      ...structList(permission, 'Groups').map((pair) => ({ sourceGroupId: optionalString(pair, 'GroupId'), description: optionalString(pair, 'Description') })),
    ];
    if (structList(permission, 'Ipv6Ranges').length > 0 || structList(permission, 'PrefixListIds').length > 0) {
      throw new AwsError('InvalidParameterValue', 'The sandbox simulates IPv4 ranges and security group sources only (no Ipv6Ranges or PrefixListIds).', { status: 400 });
    }
    if (sources.length === 0) throw new AwsError('MissingParameter', 'The request must contain a source: IpPermissions.N.IpRanges or IpPermissions.N.Groups', { status: 400 });
    for (const source of sources) {
      const rule: IngressRuleInput = { ...base };
      if ('cidrIp' in source) {
        if (source.cidrIp === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter IpRanges.N.CidrIp', { status: 400 });
        rule.cidrIp = source.cidrIp;
      } else {
        if (source.sourceGroupId === undefined) {
          throw new AwsError('MissingParameter', 'The request must contain the parameter Groups.N.GroupId (group names are resolved only in the default VPC)', { status: 400 });
        }
        rule.sourceGroupId = source.sourceGroupId;
      }
      if (source.description !== undefined) rule.description = source.description;
      rules.push(rule);
    }
  }
  if (rules.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter IpPermissions', { status: 400 });
  return rules;
}

export interface Ec2OperationsOptions {
  ec2: Ec2Simulator;
}

export function ec2Operations(options: Ec2OperationsOptions): AwsOperation[] {
  const { ec2 } = options;
  const op = (operation: string, handler: (ctx: AwsOperationContext, input: Ec2Parameters) => unknown): AwsOperation => ({
    service: 'ec2',
    protocol: 'ec2',
    operation,
    xmlNamespace: EC2_XML_NAMESPACE,
    handler(ctx) {
      if (optionalBoolean(ctx.input, 'DryRun') === true) {
        // Checks the parameters first, as EC2 does, without changing anything.
        throw new AwsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', { status: 412 });
      }
      return handler(ctx, ctx.input);
    },
  });
  const done = { return: true };

  const renderVpc = (v: VpcRecord) => ({
    vpcId: v.vpcId,
    ownerId: '',
    state: 'available',
    cidrBlock: v.cidrBlock,
    cidrBlockAssociationSet: itemSet([{ cidrBlock: v.cidrBlock, associationId: v.cidrAssociationId, cidrBlockState: { state: 'associated' } }]),
    ipv6CidrBlockAssociationSet: '',
    dhcpOptionsId: 'default',
    instanceTenancy: v.instanceTenancy,
    isDefault: false,
    tagSet: tagSet(v.tags),
  });
  const renderSubnet = (s: SubnetRecord, ownerId: string, region: string, freeAddresses: number) => ({
    subnetId: s.subnetId,
    subnetArn: `arn:aws:ec2:${region}:${ownerId}:subnet/${s.subnetId}`,
    state: 'available',
    vpcId: s.vpcId,
    ownerId,
    cidrBlock: s.cidrBlock,
    ipv6CidrBlockAssociationSet: '',
    availableIpAddressCount: freeAddresses,
    availabilityZone: s.availabilityZone,
    availabilityZoneId: s.availabilityZoneId,
    defaultForAz: false,
    mapPublicIpOnLaunch: s.mapPublicIpOnLaunch,
    mapCustomerOwnedIpOnLaunch: false,
    assignIpv6AddressOnCreation: false,
    enableDns64: false,
    ipv6Native: false,
    privateDnsNameOptionsOnLaunch: { hostnameType: 'ip-name', enableResourceNameDnsARecord: false, enableResourceNameDnsAAAARecord: false },
    tagSet: tagSet(s.tags),
  });
  const renderGateway = (g: InternetGatewayRecord, ownerId: string) => ({
    internetGatewayId: g.internetGatewayId,
    ownerId,
    attachmentSet: itemSet(g.vpcId === undefined ? [] : [{ vpcId: g.vpcId, state: 'available' }]),
    tagSet: tagSet(g.tags),
  });
  const renderRouteTable = (t: RouteTableRecord, ownerId: string, region: string) => ({
    routeTableId: t.routeTableId,
    vpcId: t.vpcId,
    ownerId,
    routeSet: itemSet(
      t.routes.map((r) => {
        let state = 'active';
        if (r.gatewayId !== undefined && r.gatewayId !== 'local') {
          state = ec2.region(region).internetGateways.some((g) => g.internetGatewayId === r.gatewayId && g.vpcId === t.vpcId) ? 'active' : 'blackhole';
        }
        if (r.natGatewayId !== undefined) {
          state = ec2.region(region).natGateways.some((n) => n.natGatewayId === r.natGatewayId && n.state !== 'deleted') ? 'active' : 'blackhole';
        }
        return {
          destinationCidrBlock: r.destinationCidrBlock,
          ...(r.gatewayId !== undefined ? { gatewayId: r.gatewayId } : {}),
          ...(r.natGatewayId !== undefined ? { natGatewayId: r.natGatewayId } : {}),
          state,
          origin: r.origin,
        };
      }),
    ),
    associationSet: itemSet(
      t.associations.map((a) => ({
        routeTableAssociationId: a.associationId,
        routeTableId: t.routeTableId,
        ...(a.subnetId !== undefined ? { subnetId: a.subnetId } : {}),
        main: a.main,
        associationState: { state: 'associated' },
      })),
    ),
    propagatingVgwSet: '',
    tagSet: tagSet(t.tags),
  });
  const renderAddress = (a: AddressRecord, region: string) => {
    const nat = a.natGatewayId === undefined ? undefined : ec2.region(region).natGateways.find((n) => n.natGatewayId === a.natGatewayId);
    return {
      allocationId: a.allocationId,
      publicIp: a.publicIp,
      domain: 'vpc',
      publicIpv4Pool: 'amazon',
      networkBorderGroup: region,
      ...(nat !== undefined ? { privateIpAddress: nat.privateIp, subnetId: nat.subnetId, serviceManaged: 'nat' } : {}),
      tagSet: tagSet(a.tags),
    };
  };
  const renderNat = (n: NatGatewayRecord) => ({
    natGatewayId: n.natGatewayId,
    subnetId: n.subnetId,
    vpcId: n.vpcId,
    state: n.state,
    connectivityType: n.connectivityType,
    createTime: n.createTime,
    ...(n.deleteTime !== undefined ? { deleteTime: n.deleteTime } : {}),
    natGatewayAddressSet: itemSet([
      {
        ...(n.allocationId !== undefined ? { allocationId: n.allocationId, publicIp: n.publicIp } : {}),
        privateIp: n.privateIp,
        isPrimary: true,
        status: n.state === 'available' ? 'succeeded' : n.state === 'pending' ? 'associating' : 'disassociating',
      },
    ]),
    tagSet: tagSet(n.tags),
  });

  const renderRules = (rules: SecurityGroupRecord['ingress'], ownerId: string) => {
    // EC2 answers one IpPermission per protocol and port range, with every source of it inside.
    const grouped = new Map<string, { ipProtocol: string; fromPort?: number; toPort?: number; groups: unknown[]; ipRanges: unknown[] }>();
    for (const rule of rules) {
      const key = `${rule.ipProtocol}/${rule.fromPort}/${rule.toPort}`;
      let permission = grouped.get(key);
      if (permission === undefined) {
        permission = {
          ipProtocol: rule.ipProtocol,
          ...(rule.fromPort !== undefined ? { fromPort: rule.fromPort, toPort: rule.toPort as number } : {}),
          groups: [],
          ipRanges: [],
        };
        grouped.set(key, permission);
      }
      const description = rule.description !== undefined ? { description: rule.description } : {};
      if (rule.cidrIp !== undefined) permission.ipRanges.push({ cidrIp: rule.cidrIp, ...description });
      if (rule.sourceGroupId !== undefined) permission.groups.push({ userId: ownerId, groupId: rule.sourceGroupId, ...description });
    }
    return itemSet(
      [...grouped.values()].map((p) => ({ ...p, groups: itemSet(p.groups), ipRanges: itemSet(p.ipRanges), ipv6Ranges: '', prefixListIds: '' })),
    );
  };
  const renderSecurityGroup = (g: SecurityGroupRecord, ownerId: string, region: string) => ({
    ownerId,
    groupId: g.groupId,
    groupName: g.groupName,
    groupDescription: g.description,
    vpcId: g.vpcId,
    securityGroupArn: `arn:aws:ec2:${region}:${ownerId}:security-group/${g.groupId}`,
    ipPermissions: renderRules(g.ingress, ownerId),
    // Every VPC security group lets everything out, as EC2 makes them; egress rules are not simulated.
    ipPermissionsEgress: itemSet([{ ipProtocol: '-1', groups: '', ipRanges: itemSet([{ cidrIp: '0.0.0.0/0' }]), ipv6Ranges: '', prefixListIds: '' }]),
    tagSet: tagSet(g.tags),
  });

  const freeAddresses = (region: string, s: SubnetRecord) => {
    const cidr = parseIpv4Cidr(s.cidrBlock);
    const nats = ec2.region(region).natGateways.filter((n) => n.subnetId === s.subnetId && n.state !== 'deleted').length;
    return (cidr === undefined ? 0 : usableAddresses(cidr)) - nats;
  };

  const vpcFilters: FilterAttributes<VpcRecord> = {
    'vpc-id': (v) => [v.vpcId],
    'cidr': (v) => [v.cidrBlock],
    'cidr-block-association.cidr-block': (v) => [v.cidrBlock],
    'cidr-block-association.association-id': (v) => [v.cidrAssociationId],
    'cidr-block-association.state': () => ['associated'],
    'dhcp-options-id': () => ['default'],
    'is-default': () => [false],
    'state': () => ['available'],
    'owner-id': () => [],
  };
  const zoneFilters = (region: string): FilterAttributes<AvailabilityZone & { tags: Ec2Tag[] }> => ({
    'zone-name': (z) => [z.zoneName],
    'zone-id': (z) => [z.zoneId],
    'region-name': () => [region],
    'state': () => ['available'],
    'zone-type': () => ['availability-zone'],
    'opt-in-status': () => ['opt-in-not-required'],
    'group-name': () => [region],
  });

  const describe = <T extends { tags: Ec2Tag[] }>(
    input: Ec2Parameters,
    records: T[],
    ids: { prefix: string; idOf: (r: T) => string; notFound: (id: string) => AwsError },
    filters: FilterAttributes<T>,
  ): T[] => applyFilters(byIds(records, stringList(input, ids.prefix), ids.idOf, ids.notFound), filterList(input), filters);

  return [
    op('DescribeAvailabilityZones', (ctx, input) => {
      const zones = ec2.availabilityZones(ctx.region).map((z) => ({ ...z, tags: [] as Ec2Tag[] }));
      const names = stringList(input, 'ZoneName');
      const zoneIds = stringList(input, 'ZoneId');
      for (const name of names) {
        if (!zones.some((z) => z.zoneName === name)) throw new AwsError('InvalidParameterValue', `Invalid availability zone: [${name}]`, { status: 400 });
      }
      for (const id of zoneIds) {
        if (!zones.some((z) => z.zoneId === id)) throw new AwsError('InvalidParameterValue', `Invalid availability zone id: [${id}]`, { status: 400 });
      }
      const chosen = zones.filter((z) => (names.length === 0 || names.includes(z.zoneName)) && (zoneIds.length === 0 || zoneIds.includes(z.zoneId)));
      return {
        availabilityZoneInfo: itemSet(
          applyFilters(chosen, filterList(input), zoneFilters(ctx.region)).map((z) => ({
            zoneName: z.zoneName,
            zoneId: z.zoneId,
            zoneState: 'available',
            regionName: z.regionName,
            groupName: z.regionName,
            networkBorderGroup: z.regionName,
            zoneType: 'availability-zone',
            optInStatus: 'opt-in-not-required',
            messageSet: '',
          })),
        ),
      };
    }),

    op('CreateVpc', (ctx, input) => {
      const cidrBlock = requiredString(input, 'CidrBlock');
      const instanceTenancy = optionalString(input, 'InstanceTenancy');
      const vpc = ec2.createVpc(ctx.region, { cidrBlock, tags: tagsAtCreation(input, 'vpc'), ...(instanceTenancy !== undefined ? { instanceTenancy } : {}) });
      return { vpc: { ...renderVpc(vpc), ownerId: ctx.accountId, state: 'pending' } };
    }),
    op('DescribeVpcs', (ctx, input) => {
      const ids = stringList(input, 'VpcId');
      for (const id of ids) checkIdForm(id, 'vpc', 'InvalidVpcID.Malformed');
      const vpcs = describe(
        input,
        ec2.region(ctx.region).vpcs,
        { prefix: 'VpcId', idOf: (v) => v.vpcId, notFound: (id) => new AwsError('InvalidVpcID.NotFound', `The vpc ID '${id}' does not exist`) },
        { ...vpcFilters, 'owner-id': () => [ctx.accountId] },
      );
      return { vpcSet: itemSet(vpcs.map((v) => ({ ...renderVpc(v), ownerId: ctx.accountId }))) };
    }),
    op('DeleteVpc', (ctx, input) => {
      const vpcId = requiredString(input, 'VpcId');
      checkIdForm(vpcId, 'vpc', 'InvalidVpcID.Malformed');
      ec2.deleteVpc(ctx.region, vpcId);
      return done;
    }),
    op('ModifyVpcAttribute', (ctx, input) => {
      const vpcId = requiredString(input, 'VpcId');
      const hostnames = optionalBoolean(input, 'EnableDnsHostnames.Value');
      const support = optionalBoolean(input, 'EnableDnsSupport.Value');
      if ((hostnames === undefined) === (support === undefined)) {
        throw new AwsError('InvalidParameterCombination', 'Exactly one of EnableDnsHostnames or EnableDnsSupport must be given.', { status: 400 });
      }
      ec2.vpc(ctx.region, vpcId);
      if (hostnames !== undefined) ec2.modifyVpcAttribute(ctx.region, vpcId, 'enableDnsHostnames', hostnames);
      if (support !== undefined) ec2.modifyVpcAttribute(ctx.region, vpcId, 'enableDnsSupport', support);
      return done;
    }),
    op('DescribeVpcAttribute', (ctx, input) => {
      const vpcId = requiredString(input, 'VpcId');
      const attribute = requiredString(input, 'Attribute');
      const vpc = ec2.vpc(ctx.region, vpcId);
      if (attribute === 'enableDnsHostnames') return { vpcId, enableDnsHostnames: { value: vpc.enableDnsHostnames } };
      if (attribute === 'enableDnsSupport') return { vpcId, enableDnsSupport: { value: vpc.enableDnsSupport } };
      if (attribute === 'enableNetworkAddressUsageMetrics') return { vpcId, enableNetworkAddressUsageMetrics: { value: false } };
      throw new AwsError(
        'InvalidParameterValue',
        `Value (${attribute}) for parameter attribute is invalid. Valid values: enableDnsSupport, enableDnsHostnames, enableNetworkAddressUsageMetrics`,
        { status: 400 },
      );
    }),

    op('CreateSubnet', (ctx, input) => {
      const availabilityZone = optionalString(input, 'AvailabilityZone');
      const availabilityZoneId = optionalString(input, 'AvailabilityZoneId');
      const subnet = ec2.createSubnet(ctx.region, {
        vpcId: requiredString(input, 'VpcId'),
        cidrBlock: requiredString(input, 'CidrBlock'),
        ...(availabilityZone !== undefined ? { availabilityZone } : {}),
        ...(availabilityZoneId !== undefined ? { availabilityZoneId } : {}),
        tags: tagsAtCreation(input, 'subnet'),
      });
      return { subnet: { ...renderSubnet(subnet, ctx.accountId, ctx.region, freeAddresses(ctx.region, subnet)), state: 'pending' } };
    }),
    op('DescribeSubnets', (ctx, input) => {
      for (const id of stringList(input, 'SubnetId')) checkIdForm(id, 'subnet', 'InvalidSubnetID.Malformed');
      const subnets = describe(
        input,
        ec2.region(ctx.region).subnets,
        {
          prefix: 'SubnetId',
          idOf: (s) => s.subnetId,
          notFound: (id) => new AwsError('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`),
        },
        {
          'subnet-id': (s) => [s.subnetId],
          'vpc-id': (s) => [s.vpcId],
          'cidr-block': (s) => [s.cidrBlock],
          'cidr': (s) => [s.cidrBlock],
          'cidrBlock': (s) => [s.cidrBlock],
          'availability-zone': (s) => [s.availabilityZone],
          'availabilityZone': (s) => [s.availabilityZone],
          'availability-zone-id': (s) => [s.availabilityZoneId],
          'map-public-ip-on-launch': (s) => [s.mapPublicIpOnLaunch],
          'default-for-az': () => [false],
          'state': () => ['available'],
          'owner-id': () => [ctx.accountId],
        },
      );
      return { subnetSet: itemSet(subnets.map((s) => renderSubnet(s, ctx.accountId, ctx.region, freeAddresses(ctx.region, s)))) };
    }),
    op('DeleteSubnet', (ctx, input) => {
      const subnetId = requiredString(input, 'SubnetId');
      checkIdForm(subnetId, 'subnet', 'InvalidSubnetID.Malformed');
      ec2.deleteSubnet(ctx.region, subnetId);
      return done;
    }),
    op('ModifySubnetAttribute', (ctx, input) => {
      const subnetId = requiredString(input, 'SubnetId');
      const map = optionalBoolean(input, 'MapPublicIpOnLaunch.Value');
      ec2.subnet(ctx.region, subnetId);
      if (map === undefined) {
        throw new AwsError('MissingParameter', 'The request must contain the parameter MapPublicIpOnLaunch (the only subnet attribute the sandbox keeps)', {
          status: 400,
        });
      }
      ec2.modifySubnetAttribute(ctx.region, subnetId, map);
      return done;
    }),

    op('CreateInternetGateway', (ctx, input) => ({
      internetGateway: renderGateway(ec2.createInternetGateway(ctx.region, tagsAtCreation(input, 'internet-gateway')), ctx.accountId),
    })),
    op('DescribeInternetGateways', (ctx, input) => {
      const gateways = describe(
        input,
        ec2.region(ctx.region).internetGateways,
        {
          prefix: 'InternetGatewayId',
          idOf: (g) => g.internetGatewayId,
          notFound: (id) => new AwsError('InvalidInternetGatewayID.NotFound', `The internetGateway ID '${id}' does not exist`),
        },
        {
          'internet-gateway-id': (g) => [g.internetGatewayId],
          'attachment.vpc-id': (g) => [g.vpcId],
          'attachment.state': (g) => [g.vpcId === undefined ? undefined : 'available'],
          'owner-id': () => [ctx.accountId],
        },
      );
      return { internetGatewaySet: itemSet(gateways.map((g) => renderGateway(g, ctx.accountId))) };
    }),
    op('AttachInternetGateway', (ctx, input) => {
      ec2.attachInternetGateway(ctx.region, requiredString(input, 'InternetGatewayId'), requiredString(input, 'VpcId'));
      return done;
    }),
    op('DetachInternetGateway', (ctx, input) => {
      ec2.detachInternetGateway(ctx.region, requiredString(input, 'InternetGatewayId'), requiredString(input, 'VpcId'));
      return done;
    }),
    op('DeleteInternetGateway', (ctx, input) => {
      ec2.deleteInternetGateway(ctx.region, requiredString(input, 'InternetGatewayId'));
      return done;
    }),

    op('CreateRouteTable', (ctx, input) => {
      const clientToken = optionalString(input, 'ClientToken');
      const table = ec2.createRouteTable(ctx.region, {
        vpcId: requiredString(input, 'VpcId'),
        ...(clientToken !== undefined ? { clientToken } : {}),
        tags: tagsAtCreation(input, 'route-table'),
      });
      return { routeTable: renderRouteTable(table, ctx.accountId, ctx.region), ...(clientToken !== undefined ? { clientToken } : {}) };
    }),
    op('DescribeRouteTables', (ctx, input) => {
      const tables = describe(
        input,
        ec2.region(ctx.region).routeTables,
        {
          prefix: 'RouteTableId',
          idOf: (t) => t.routeTableId,
          notFound: (id) => new AwsError('InvalidRouteTableID.NotFound', `The routeTable ID '${id}' does not exist`),
        },
        {
          'route-table-id': (t) => [t.routeTableId],
          'vpc-id': (t) => [t.vpcId],
          'association.main': (t) => t.associations.map((a) => a.main),
          'association.subnet-id': (t) => t.associations.map((a) => a.subnetId),
          'association.route-table-association-id': (t) => t.associations.map((a) => a.associationId),
          'association.route-table-id': (t) => (t.associations.length > 0 ? [t.routeTableId] : []),
          'route.destination-cidr-block': (t) => t.routes.map((r) => r.destinationCidrBlock),
          'route.gateway-id': (t) => t.routes.map((r) => r.gatewayId),
          'route.nat-gateway-id': (t) => t.routes.map((r) => r.natGatewayId),
          'route.origin': (t) => t.routes.map((r) => r.origin),
          'owner-id': () => [ctx.accountId],
        },
      );
      return { routeTableSet: itemSet(tables.map((t) => renderRouteTable(t, ctx.accountId, ctx.region))) };
    }),
    op('DeleteRouteTable', (ctx, input) => {
      ec2.deleteRouteTable(ctx.region, requiredString(input, 'RouteTableId'));
      return done;
    }),
    op('CreateRoute', (ctx, input) => {
      const gatewayId = optionalString(input, 'GatewayId');
      const natGatewayId = optionalString(input, 'NatGatewayId');
      ec2.createRoute(ctx.region, requiredString(input, 'RouteTableId'), {
        destinationCidrBlock: requiredString(input, 'DestinationCidrBlock'),
        ...(gatewayId !== undefined ? { gatewayId } : {}),
        ...(natGatewayId !== undefined ? { natGatewayId } : {}),
      });
      return done;
    }),
    op('DeleteRoute', (ctx, input) => {
      ec2.deleteRoute(ctx.region, requiredString(input, 'RouteTableId'), requiredString(input, 'DestinationCidrBlock'));
      return done;
    }),
    op('AssociateRouteTable', (ctx, input) => {
      const routeTableId = requiredString(input, 'RouteTableId');
      if (optionalString(input, 'GatewayId') !== undefined) {
        throw new AwsError('InvalidParameterValue', 'The sandbox associates route tables with subnets only (GatewayId is not simulated).', { status: 400 });
      }
      const association = ec2.associateRouteTable(ctx.region, routeTableId, requiredString(input, 'SubnetId'));
      return { associationId: association.associationId, associationState: { state: 'associated' } };
    }),
    op('DisassociateRouteTable', (ctx, input) => {
      ec2.disassociateRouteTable(ctx.region, requiredString(input, 'AssociationId'));
      return done;
    }),

    op('AllocateAddress', (ctx, input) => {
      const domain = optionalString(input, 'Domain') ?? 'vpc';
      if (domain !== 'vpc') throw new AwsError('InvalidParameterValue', `Value (${domain}) for parameter domain is invalid. Valid values: vpc`, { status: 400 });
      const address = ec2.allocateAddress(ctx.region, tagsAtCreation(input, 'elastic-ip'));
      return { publicIp: address.publicIp, allocationId: address.allocationId, domain: 'vpc', publicIpv4Pool: 'amazon', networkBorderGroup: ctx.region };
    }),
    op('DescribeAddresses', (ctx, input) => {
      const publicIps = stringList(input, 'PublicIp');
      const addresses = describe(
        input,
        ec2.region(ctx.region).addresses.filter((a) => publicIps.length === 0 || publicIps.includes(a.publicIp)),
        {
          prefix: 'AllocationId',
          idOf: (a) => a.allocationId,
          notFound: (id) => new AwsError('InvalidAllocationID.NotFound', `The allocation ID '${id}' does not exist`),
        },
        {
          'allocation-id': (a) => [a.allocationId],
          'public-ip': (a) => [a.publicIp],
          'domain': () => ['vpc'],
          'network-border-group': () => [ctx.region],
        },
      );
      for (const ip of publicIps) {
        if (!addresses.some((a) => a.publicIp === ip)) throw new AwsError('InvalidAddress.NotFound', `Address '${ip}' not found.`, { status: 400 });
      }
      return { addressesSet: itemSet(addresses.map((a) => renderAddress(a, ctx.region))) };
    }),
    op('ReleaseAddress', (ctx, input) => {
      const allocationId = optionalString(input, 'AllocationId');
      if (allocationId === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter AllocationId', { status: 400 });
      ec2.releaseAddress(ctx.region, allocationId);
      return done;
    }),

    op('CreateNatGateway', (ctx, input) => {
      const allocationId = optionalString(input, 'AllocationId');
      const connectivityType = optionalString(input, 'ConnectivityType');
      const clientToken = optionalString(input, 'ClientToken');
      const nat = ec2.createNatGateway(ctx.region, {
        subnetId: requiredString(input, 'SubnetId'),
        ...(allocationId !== undefined ? { allocationId } : {}),
        ...(connectivityType !== undefined ? { connectivityType } : {}),
        ...(clientToken !== undefined ? { clientToken } : {}),
        tags: tagsAtCreation(input, 'natgateway'),
      });
      return { ...(clientToken !== undefined ? { clientToken } : {}), natGateway: renderNat(nat) };
    }),
    op('DescribeNatGateways', (ctx, input) => {
      ec2.advance();
      const gateways = describe(
        input,
        ec2.region(ctx.region).natGateways,
        { prefix: 'NatGatewayId', idOf: (n) => n.natGatewayId, notFound: (id) => new AwsError('NatGatewayNotFound', `The Nat Gateway ${id} was not found`) },
        {
          'nat-gateway-id': (n) => [n.natGatewayId],
          'subnet-id': (n) => [n.subnetId],
          'vpc-id': (n) => [n.vpcId],
          'state': (n) => [n.state],
        },
      );
      return { natGatewaySet: itemSet(gateways.map(renderNat)) };
    }),
    op('DeleteNatGateway', (ctx, input) => ({ natGatewayId: ec2.deleteNatGateway(ctx.region, requiredString(input, 'NatGatewayId')).natGatewayId })),

    op('CreateSecurityGroup', (ctx, input) => {
      const group = ec2.createSecurityGroup(ctx.region, {
        groupName: requiredString(input, 'GroupName'),
        description: requiredString(input, 'GroupDescription'),
        // Without a VpcId EC2 uses the default VPC, which the sandbox does not have.
        vpcId: requiredString(input, 'VpcId'),
        tags: tagsAtCreation(input, 'security-group'),
      });
      return {
        groupId: group.groupId,
        securityGroupArn: `arn:aws:ec2:${ctx.region}:${ctx.accountId}:security-group/${group.groupId}`,
        ...(group.tags.length > 0 ? { tagSet: tagSet(group.tags) } : {}),
      };
    }),
    op('DescribeSecurityGroups', (ctx, input) => {
      const ids = stringList(input, 'GroupId');
      for (const id of ids) checkIdForm(id, 'sg', 'InvalidGroupId.Malformed');
      const names = stringList(input, 'GroupName');
      const all = ec2.region(ctx.region).securityGroups;
      for (const name of names) {
        if (!all.some((g) => g.groupName === name)) throw new AwsError('InvalidGroup.NotFound', `The security group '${name}' does not exist`, { status: 400 });
      }
      const groups = describe(
        input,
        names.length === 0 ? all : all.filter((g) => names.includes(g.groupName)),
        { prefix: 'GroupId', idOf: (g) => g.groupId, notFound: (id) => new AwsError('InvalidGroup.NotFound', `The security group '${id}' does not exist`) },
        {
          'group-id': (g) => [g.groupId],
          'group-name': (g) => [g.groupName],
          'description': (g) => [g.description],
          'vpc-id': (g) => [g.vpcId],
          'owner-id': () => [ctx.accountId],
          'ip-permission.protocol': (g) => g.ingress.map((r) => r.ipProtocol),
          'ip-permission.from-port': (g) => g.ingress.map((r) => (r.fromPort === undefined ? undefined : String(r.fromPort))),
          'ip-permission.to-port': (g) => g.ingress.map((r) => (r.toPort === undefined ? undefined : String(r.toPort))),
          'ip-permission.cidr': (g) => g.ingress.map((r) => r.cidrIp),
          'ip-permission.group-id': (g) => g.ingress.map((r) => r.sourceGroupId),
        },
      );
      return { securityGroupInfo: itemSet(groups.map((g) => renderSecurityGroup(g, ctx.accountId, ctx.region))) };
    }),
    op('DeleteSecurityGroup', (ctx, input) => {
      const groupId = optionalString(input, 'GroupId');
      if (groupId === undefined) {
        // By name only in the default VPC, which the sandbox does not have.
        throw new AwsError('MissingParameter', 'The request must contain the parameter GroupId (groups of a non-default VPC are deleted by id)', { status: 400 });
      }
      ec2.deleteSecurityGroup(ctx.region, groupId);
      return { return: true, groupId };
    }),
    op('AuthorizeSecurityGroupIngress', (ctx, input) => {
      const groupId = requiredString(input, 'GroupId');
      const added = ec2.authorizeIngress(ctx.region, groupId, ingressRules(input));
      return {
        return: true,
        securityGroupRuleSet: itemSet(
          added.map((r) => ({
            securityGroupRuleId: r.ruleId,
            groupId,
            groupOwnerId: ctx.accountId,
            isEgress: false,
            ipProtocol: r.ipProtocol,
            fromPort: r.fromPort ?? -1,
            toPort: r.toPort ?? -1,
            ...(r.cidrIp !== undefined ? { cidrIpv4: r.cidrIp } : {}),
            ...(r.sourceGroupId !== undefined ? { referencedGroupInfo: { groupId: r.sourceGroupId, userId: ctx.accountId } } : {}),
            ...(r.description !== undefined ? { description: r.description } : {}),
          })),
        ),
      };
    }),
    op('RevokeSecurityGroupIngress', (ctx, input) => {
      ec2.revokeIngress(ctx.region, requiredString(input, 'GroupId'), ingressRules(input));
      return done;
    }),

    op('CreateTags', (ctx, input) => {
      const resources = stringList(input, 'ResourceId');
      if (resources.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter resourceIdSet', { status: 400 });
      const tags = tagList(input);
      if (tags.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter tagSet', { status: 400 });
      ec2.createTags(ctx.region, resources, tags);
      return done;
    }),
    op('DeleteTags', (ctx, input) => {
      const resources = stringList(input, 'ResourceId');
      if (resources.length === 0) throw new AwsError('MissingParameter', 'The request must contain the parameter resourceIdSet', { status: 400 });
      const tags = structList(input, 'Tag').map((member) => {
        const key = optionalString(member, 'Key');
        if (key === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter Tag.N.Key', { status: 400 });
        const value = optionalString(member, 'Value');
        return value === undefined ? { key } : { key, value };
      });
      ec2.deleteTags(ctx.region, resources, tags);
      return done;
    }),
  ];
}
