/**
 * The EC2 stand-in's state and rules, per region: VPCs (each with its main route table), subnets,
 * internet gateways, route tables with their routes and associations, Elastic IP addresses and NAT
 * gateways (pending → available, deleting → deleted on the simulated clock). Deletes refuse with
 * `DependencyViolation` while something depends on what is deleted, as EC2 does, so a client that
 * tears down in the wrong order fails here as it would on AWS. `ec2-operations.ts` does the wire.
 */
import { randomBytes } from 'node:crypto';
import type { SandboxCounters } from '../../counters.js';
import type { SimClock } from '../../sim-clock.js';
import { AwsError } from '../aws-error.js';
import { cidrContains, cidrsOverlap, parseIpv4Cidr, usableAddresses, type Ipv4Cidr } from './ipv4-cidr.js';

export interface Ec2Tag {
  key: string;
  value: string;
}

export interface VpcRecord {
  vpcId: string;
  cidrBlock: string;
  cidrAssociationId: string;
  instanceTenancy: string;
  enableDnsHostnames: boolean;
  enableDnsSupport: boolean;
  mainRouteTableId: string;
  tags: Ec2Tag[];
}

export interface SubnetRecord {
  subnetId: string;
  vpcId: string;
  cidrBlock: string;
  availabilityZone: string;
  availabilityZoneId: string;
  mapPublicIpOnLaunch: boolean;
  tags: Ec2Tag[];
}

export interface InternetGatewayRecord {
  internetGatewayId: string;
  /** The VPC it is attached to. */
  vpcId?: string;
  tags: Ec2Tag[];
}

export interface RouteRecord {
  destinationCidrBlock: string;
  gatewayId?: string;
  natGatewayId?: string;
  origin: 'CreateRouteTable' | 'CreateRoute';
}

export interface RouteTableAssociationRecord {
  associationId: string;
  main: boolean;
  subnetId?: string;
}

export interface RouteTableRecord {
  routeTableId: string;
  vpcId: string;
  routes: RouteRecord[];
  associations: RouteTableAssociationRecord[];
  clientToken?: string;
  tags: Ec2Tag[];
}

export interface AddressRecord {
  allocationId: string;
  publicIp: string;
  /** The NAT gateway using it. */
  natGatewayId?: string;
  tags: Ec2Tag[];
}

export type NatGatewayState = 'pending' | 'available' | 'deleting' | 'deleted';

export interface NatGatewayRecord {
  natGatewayId: string;
  subnetId: string;
  vpcId: string;
  allocationId?: string;
  publicIp?: string;
  privateIp: string;
  connectivityType: 'public' | 'private';
  state: NatGatewayState;
  /** Real ms when the current state began: transitions are measured from it on the simulated clock. */
  stateSince: number;
  createTime: string;
  deleteTime?: string;
  clientToken?: string;
  tags: Ec2Tag[];
}

/** One source of one ingress rule: EC2 answers rules grouped by protocol and ports, and keeps each source on its own. */
export interface SecurityGroupRuleRecord {
  ruleId: string;
  /** `tcp`, `udp`, `icmp` or `-1` (all). */
  ipProtocol: string;
  fromPort?: number;
  toPort?: number;
  cidrIp?: string;
  sourceGroupId?: string;
  description?: string;
}

export interface SecurityGroupRecord {
  groupId: string;
  groupName: string;
  description: string;
  vpcId: string;
  /** The group every VPC is made with: deleted with its VPC, never on its own. */
  isDefault: boolean;
  ingress: SecurityGroupRuleRecord[];
  tags: Ec2Tag[];
}

export interface IngressRuleInput {
  ipProtocol: string;
  fromPort?: number;
  toPort?: number;
  cidrIp?: string;
  sourceGroupId?: string;
  description?: string;
}

export interface Ec2RegionState {
  securityGroups: SecurityGroupRecord[];
  vpcs: VpcRecord[];
  subnets: SubnetRecord[];
  internetGateways: InternetGatewayRecord[];
  routeTables: RouteTableRecord[];
  addresses: AddressRecord[];
  natGateways: NatGatewayRecord[];
}

export interface Ec2Snapshot {
  regions: Record<string, Ec2RegionState>;
}

/** Simulated durations in ms of sandbox time. */
export interface Ec2Durations {
  natGatewayCreate: number;
  natGatewayDelete: number;
  /** How long a deleted NAT gateway stays visible (state `deleted`), as on AWS. */
  natGatewayRetention: number;
}

export const DEFAULT_EC2_DURATIONS: Ec2Durations = { natGatewayCreate: 90_000, natGatewayDelete: 60_000, natGatewayRetention: 60 * 60_000 };

/** Counter types, as `GET /_sandbox/counters` shows them. */
export const EC2_COUNTER_TYPES = {
  vpc: 'ec2:vpc',
  subnet: 'ec2:subnet',
  internetGateway: 'ec2:internet-gateway',
  routeTable: 'ec2:route-table',
  address: 'ec2:elastic-ip',
  natGateway: 'ec2:nat-gateway',
  securityGroup: 'ec2:security-group',
} as const;

export interface AvailabilityZone {
  zoneName: string;
  zoneId: string;
  regionName: string;
}

export interface Ec2SimulatorOptions {
  clock: SimClock;
  counters: SandboxCounters;
  durations?: Partial<Ec2Durations>;
  onChange?: () => void;
  /**
   * What other services keep in a subnet or VPC (an EKS cluster's or node group's network
   * interfaces and security group): while they do, deleting it is `DependencyViolation`.
   */
  dependents?: Ec2ExternalDependents;
}

export interface Ec2ExternalDependents {
  usesSubnet(region: string, subnetId: string): boolean;
  usesVpc(region: string, vpcId: string): boolean;
  /** An RDS instance's `VpcSecurityGroupIds`. */
  usesSecurityGroup?(region: string, groupId: string): boolean;
}

export interface Ec2Simulator {
  availabilityZones(region: string): AvailabilityZone[];
  /** The live records of a region (created on first use); callers change them only through the methods below. */
  region(region: string): Ec2RegionState;
  createVpc(region: string, input: { cidrBlock: string; instanceTenancy?: string; tags: Ec2Tag[] }): VpcRecord;
  deleteVpc(region: string, vpcId: string): void;
  vpc(region: string, vpcId: string): VpcRecord;
  modifyVpcAttribute(region: string, vpcId: string, attribute: 'enableDnsHostnames' | 'enableDnsSupport', value: boolean): void;
  createSubnet(region: string, input: { vpcId: string; cidrBlock: string; availabilityZone?: string; availabilityZoneId?: string; tags: Ec2Tag[] }): SubnetRecord;
  deleteSubnet(region: string, subnetId: string): void;
  subnet(region: string, subnetId: string): SubnetRecord;
  modifySubnetAttribute(region: string, subnetId: string, mapPublicIpOnLaunch: boolean): void;
  createInternetGateway(region: string, tags: Ec2Tag[]): InternetGatewayRecord;
  attachInternetGateway(region: string, internetGatewayId: string, vpcId: string): void;
  detachInternetGateway(region: string, internetGatewayId: string, vpcId: string): void;
  deleteInternetGateway(region: string, internetGatewayId: string): void;
  internetGateway(region: string, internetGatewayId: string): InternetGatewayRecord;
  createRouteTable(region: string, input: { vpcId: string; clientToken?: string; tags: Ec2Tag[] }): RouteTableRecord;
  deleteRouteTable(region: string, routeTableId: string): void;
  routeTable(region: string, routeTableId: string): RouteTableRecord;
  createRoute(region: string, routeTableId: string, route: { destinationCidrBlock: string; gatewayId?: string; natGatewayId?: string }): void;
  deleteRoute(region: string, routeTableId: string, destinationCidrBlock: string): void;
  associateRouteTable(region: string, routeTableId: string, subnetId: string): RouteTableAssociationRecord;
  disassociateRouteTable(region: string, associationId: string): void;
  allocateAddress(region: string, tags: Ec2Tag[]): AddressRecord;
  releaseAddress(region: string, allocationId: string): void;
  address(region: string, allocationId: string): AddressRecord;
  createNatGateway(region: string, input: { subnetId: string; allocationId?: string; connectivityType?: string; clientToken?: string; tags: Ec2Tag[] }): NatGatewayRecord;
  deleteNatGateway(region: string, natGatewayId: string): NatGatewayRecord;
  natGateway(region: string, natGatewayId: string): NatGatewayRecord;
  createSecurityGroup(region: string, input: { groupName: string; description: string; vpcId: string; tags: Ec2Tag[] }): SecurityGroupRecord;
  securityGroup(region: string, groupId: string): SecurityGroupRecord;
  deleteSecurityGroup(region: string, groupId: string): void;
  authorizeIngress(region: string, groupId: string, rules: IngressRuleInput[]): SecurityGroupRuleRecord[];
  revokeIngress(region: string, groupId: string, rules: IngressRuleInput[]): void;
  createTags(region: string, resourceIds: string[], tags: Ec2Tag[]): void;
  /** `value` undefined: delete the key whatever its value. */
  deleteTags(region: string, resourceIds: string[], tags: Array<{ key: string; value?: string }>): void;
  /** Moves NAT gateways on along their states; called before every read. */
  advance(): void;
  inventory(): Record<string, Array<{ region: string; id: string; state?: string }>>;
  snapshot(): Ec2Snapshot;
  restore(snapshot: Ec2Snapshot): void;
  reset(): void;
}

function sameRule(a: Omit<SecurityGroupRuleRecord, 'ruleId'>, b: Omit<SecurityGroupRuleRecord, 'ruleId'>): boolean {
  return a.ipProtocol === b.ipProtocol && a.fromPort === b.fromPort && a.toPort === b.toPort && a.cidrIp === b.cidrIp && a.sourceGroupId === b.sourceGroupId;
}

function describeRule(rule: Omit<SecurityGroupRuleRecord, 'ruleId'>): string {
  const protocol = rule.ipProtocol === '-1' ? 'ALL' : rule.ipProtocol.toUpperCase();
  return `peer: ${rule.cidrIp ?? rule.sourceGroupId}, ${protocol}, from port: ${rule.fromPort ?? -1}, to port: ${rule.toPort ?? -1}, ALLOW`;
}

/** Group names and descriptions: up to 255 characters of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$* (EC2's rule for VPC groups). */
function checkSecurityGroupText(parameter: string, value: string): void {
  if (value === '') throw new AwsError('MissingParameter', `The request must contain the parameter ${parameter}`, { status: 400 });
  if (value.length > 255 || !/^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]+$/.test(value)) {
    throw invalidParameter(`Value (${value}) for parameter ${parameter} is invalid. Character sets beyond ASCII are not supported.`);
  }
}

/** `ap-southeast-2` → `apse2`, as zone ids (`apse2-az1`) abbreviate regions. */
function regionShortName(region: string): string {
  const [area = '', direction = '', number = ''] = region.split('-');
  const words: Record<string, string> = { east: 'e', west: 'w', north: 'n', south: 's', central: 'c', northeast: 'ne', northwest: 'nw', southeast: 'se', southwest: 'sw' };
  return `${area}${words[direction] ?? direction.slice(0, 1)}${number}`;
}

export function newEc2Id(prefix: string): string {
  return `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

function notFound(code: string, message: string): AwsError {
  return new AwsError(code, message, { status: 400 });
}

export function invalidParameter(message: string): AwsError {
  return new AwsError('InvalidParameterValue', message, { status: 400 });
}

function dependencyViolation(kind: string, id: string): AwsError {
  return new AwsError('DependencyViolation', `The ${kind} '${id}' has dependencies and cannot be deleted.`, { status: 400 });
}

/** EC2 refuses an id of the wrong form before looking it up. */
export function checkIdForm(id: string, prefix: string, code: string): void {
  if (!new RegExp(`^${prefix}-[0-9a-f]{8,17}$`).test(id)) throw new AwsError(code, `Invalid id: "${id}" (expecting "${prefix}-...")`, { status: 400 });
}

function emptyRegion(): Ec2RegionState {
  return { vpcs: [], subnets: [], internetGateways: [], routeTables: [], addresses: [], natGateways: [], securityGroups: [] };
}

export function createEc2Simulator(options: Ec2SimulatorOptions): Ec2Simulator {
  const { clock, counters } = options;
  const durations = { ...DEFAULT_EC2_DURATIONS, ...options.durations };
  let regions = new Map<string, Ec2RegionState>();
  const changed = () => options.onChange?.();

  function region(name: string): Ec2RegionState {
    let state = regions.get(name);
    if (state === undefined) {
      state = emptyRegion();
      regions.set(name, state);
    }
    return state;
  }

  function availabilityZones(regionName: string): AvailabilityZone[] {
    const short = regionShortName(regionName);
    return ['a', 'b', 'c'].map((letter, index) => ({ zoneName: `${regionName}${letter}`, zoneId: `${short}-az${index + 1}`, regionName }));
  }

  function vpc(regionName: string, vpcId: string): VpcRecord {
    checkIdForm(vpcId, 'vpc', 'InvalidVpcID.Malformed');
    const found = region(regionName).vpcs.find((v) => v.vpcId === vpcId);
    if (found === undefined) throw notFound('InvalidVpcID.NotFound', `The vpc ID '${vpcId}' does not exist`);
    return found;
  }
  function subnet(regionName: string, subnetId: string): SubnetRecord {
    checkIdForm(subnetId, 'subnet', 'InvalidSubnetID.Malformed');
    const found = region(regionName).subnets.find((s) => s.subnetId === subnetId);
    if (found === undefined) throw notFound('InvalidSubnetID.NotFound', `The subnet ID '${subnetId}' does not exist`);
    return found;
  }
  function internetGateway(regionName: string, id: string): InternetGatewayRecord {
    const found = region(regionName).internetGateways.find((g) => g.internetGatewayId === id);
    if (found === undefined) throw notFound('InvalidInternetGatewayID.NotFound', `The internetGateway ID '${id}' does not exist`);
    return found;
  }
  function routeTable(regionName: string, id: string): RouteTableRecord {
    const found = region(regionName).routeTables.find((t) => t.routeTableId === id);
    if (found === undefined) throw notFound('InvalidRouteTableID.NotFound', `The routeTable ID '${id}' does not exist`);
    return found;
  }
  function address(regionName: string, allocationId: string): AddressRecord {
    const found = region(regionName).addresses.find((a) => a.allocationId === allocationId);
    if (found === undefined) throw notFound('InvalidAllocationID.NotFound', `The allocation ID '${allocationId}' does not exist`);
    return found;
  }
  function securityGroup(regionName: string, groupId: string): SecurityGroupRecord {
    checkIdForm(groupId, 'sg', 'InvalidGroupId.Malformed');
    const found = region(regionName).securityGroups.find((g) => g.groupId === groupId);
    if (found === undefined) throw notFound('InvalidGroup.NotFound', `The security group '${groupId}' does not exist`);
    return found;
  }
  function natGateway(regionName: string, id: string): NatGatewayRecord {
    advance();
    const found = region(regionName).natGateways.find((n) => n.natGatewayId === id);
    if (found === undefined) throw notFound('NatGatewayNotFound', `The Nat Gateway ${id} was not found`);
    return found;
  }

  function advance(): void {
    let moved = false;
    for (const [, state] of regions) {
      for (const nat of state.natGateways) {
        if (nat.state === 'pending' && clock.elapsed(nat.stateSince, durations.natGatewayCreate)) {
          nat.state = 'available';
          nat.stateSince = clock.now();
          moved = true;
        } else if (nat.state === 'deleting' && clock.elapsed(nat.stateSince, durations.natGatewayDelete)) {
          nat.state = 'deleted';
          nat.stateSince = clock.now();
          nat.deleteTime = new Date(clock.now()).toISOString();
          const eip = state.addresses.find((a) => a.natGatewayId === nat.natGatewayId);
          if (eip) delete eip.natGatewayId;
          counters.deleted(EC2_COUNTER_TYPES.natGateway);
          moved = true;
        }
      }
      const kept = state.natGateways.filter((n) => !(n.state === 'deleted' && clock.elapsed(n.stateSince, durations.natGatewayRetention)));
      if (kept.length !== state.natGateways.length) {
        state.natGateways = kept;
        moved = true;
      }
    }
    if (moved) changed();
  }

  function liveNatGateways(state: Ec2RegionState): NatGatewayRecord[] {
    advance();
    return state.natGateways.filter((n) => n.state !== 'deleted');
  }

  /** Sets `tags` on `target` (a key already there takes the new value); nothing changes when the result would exceed 50 tags. */
  function applyTags(target: { tags: Ec2Tag[] }, tags: Ec2Tag[]): void {
    const merged = target.tags.map((t) => ({ ...t }));
    for (const tag of tags) {
      const existing = merged.find((t) => t.key === tag.key);
      if (existing) existing.value = tag.value;
      else merged.push({ ...tag });
    }
    if (merged.length > 50) throw new AwsError('TagLimitExceeded', 'The maximum number of tags for a resource is 50.', { status: 400 });
    target.tags = merged;
  }

  /** The tagged record behind an id, by its prefix, or the type's NotFound error. */
  function taggable(regionName: string, id: string): { tags: Ec2Tag[] } {
    const prefix = id.split('-')[0];
    switch (prefix) {
      case 'vpc':
        return vpc(regionName, id);
      case 'subnet':
        return subnet(regionName, id);
      case 'igw':
        return internetGateway(regionName, id);
      case 'rtb':
        return routeTable(regionName, id);
      case 'eipalloc':
        return address(regionName, id);
      case 'nat':
        return natGateway(regionName, id);
      case 'sg':
        return securityGroup(regionName, id);
      default:
        throw new AwsError('InvalidID', `The ID '${id}' is not valid`, { status: 400 });
    }
  }

  /** A rule as EC2 keeps it: protocol names for numbers, ports checked, the source group found in the same VPC. */
  function checkedRule(regionName: string, group: SecurityGroupRecord, input: IngressRuleInput): Omit<SecurityGroupRuleRecord, 'ruleId'> {
    const names: Record<string, string> = { '6': 'tcp', '17': 'udp', '1': 'icmp', 'all': '-1' };
    const ipProtocol = names[input.ipProtocol.toLowerCase()] ?? input.ipProtocol.toLowerCase();
    if (!['tcp', 'udp', 'icmp', '-1'].includes(ipProtocol)) {
      throw invalidParameter(`Invalid value '${input.ipProtocol}' for IP protocol. Unknown protocol.`);
    }
    if ((input.cidrIp === undefined) === (input.sourceGroupId === undefined)) {
      throw new AwsError('InvalidParameterValue', 'A rule needs exactly one source: a CIDR range (IpRanges) or a security group (UserIdGroupPairs).', { status: 400 });
    }
    let ports: { fromPort?: number; toPort?: number } = {};
    if (ipProtocol === 'tcp' || ipProtocol === 'udp') {
      const { fromPort, toPort } = input;
      if (fromPort === undefined || toPort === undefined) throw new AwsError('MissingParameter', `Invalid value 'null' for fromPort/toPort. Both must be given for ${ipProtocol}.`, { status: 400 });
      if (!Number.isInteger(fromPort) || !Number.isInteger(toPort) || fromPort < 0 || toPort > 65535 || fromPort > toPort) {
        throw invalidParameter(`Invalid value '${fromPort}-${toPort}' for port range. Ports are 0-65535 and fromPort may not exceed toPort.`);
      }
      ports = { fromPort, toPort };
    } else if (ipProtocol === 'icmp') {
      ports = { fromPort: input.fromPort ?? -1, toPort: input.toPort ?? -1 };
    }
    if (input.cidrIp !== undefined && parseIpv4Cidr(input.cidrIp) === undefined) {
      throw invalidParameter(`CIDR block ${input.cidrIp} is malformed`);
    }
    if (input.sourceGroupId !== undefined) {
      const source = securityGroup(regionName, input.sourceGroupId);
      if (source.vpcId !== group.vpcId) {
        throw invalidParameter(`You have specified two resources that belong to different networks.`);
      }
    }
    return {
      ipProtocol,
      ...ports,
      ...(input.cidrIp !== undefined ? { cidrIp: input.cidrIp } : {}),
      ...(input.sourceGroupId !== undefined ? { sourceGroupId: input.sourceGroupId } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
    };
  }

  const simulator: Ec2Simulator = {
    availabilityZones,
    region,
    vpc,
    subnet,
    internetGateway,
    routeTable,
    address,
    natGateway,
    securityGroup,
    advance,

    createVpc(regionName, input) {
      const cidr = parseIpv4Cidr(input.cidrBlock);
      if (cidr === undefined) throw invalidParameter(`Value (${input.cidrBlock}) for parameter cidrBlock is invalid. This is not a valid CIDR block.`);
      if (cidr.prefix < 16 || cidr.prefix > 28) throw new AwsError('InvalidVpc.Range', `The CIDR '${input.cidrBlock}' is invalid.`, { status: 400 });
      const tenancy = input.instanceTenancy ?? 'default';
      if (!['default', 'dedicated', 'host'].includes(tenancy)) {
        throw invalidParameter(`Value (${tenancy}) for parameter instanceTenancy is invalid. Valid values: default, dedicated`);
      }
      const state = region(regionName);
      const record: VpcRecord = {
        vpcId: newEc2Id('vpc'),
        cidrBlock: input.cidrBlock,
        cidrAssociationId: newEc2Id('vpc-cidr-assoc'),
        instanceTenancy: tenancy,
        enableDnsHostnames: false,
        enableDnsSupport: true,
        mainRouteTableId: newEc2Id('rtb'),
        tags: [],
      };
      applyTags(record, input.tags);
      state.vpcs.push(record);
      state.routeTables.push({
        routeTableId: record.mainRouteTableId,
        vpcId: record.vpcId,
        routes: [{ destinationCidrBlock: record.cidrBlock, gatewayId: 'local', origin: 'CreateRouteTable' }],
        associations: [{ associationId: newEc2Id('rtbassoc'), main: true }],
        tags: [],
      });
      // Every VPC comes with a security group named `default` that admits its own members.
      const defaultGroupId = newEc2Id('sg');
      state.securityGroups.push({
        groupId: defaultGroupId,
        groupName: 'default',
        description: 'default VPC security group',
        vpcId: record.vpcId,
        isDefault: true,
        ingress: [{ ruleId: newEc2Id('sgr'), ipProtocol: '-1', sourceGroupId: defaultGroupId }],
        tags: [],
      });
      counters.created(EC2_COUNTER_TYPES.vpc);
      counters.created(EC2_COUNTER_TYPES.routeTable);
      changed();
      return record;
    },

    deleteVpc(regionName, vpcId) {
      const record = vpc(regionName, vpcId);
      const state = region(regionName);
      const blocked =
        state.subnets.some((s) => s.vpcId === vpcId) ||
        state.internetGateways.some((g) => g.vpcId === vpcId) ||
        state.routeTables.some((t) => t.vpcId === vpcId && t.routeTableId !== record.mainRouteTableId) ||
        liveNatGateways(state).some((n) => n.vpcId === vpcId) ||
        state.securityGroups.some((g) => g.vpcId === vpcId && !g.isDefault) ||
        (options.dependents?.usesVpc(regionName, vpcId) ?? false);
      if (blocked) throw dependencyViolation('vpc', vpcId);
      state.vpcs = state.vpcs.filter((v) => v !== record);
      state.routeTables = state.routeTables.filter((t) => t.routeTableId !== record.mainRouteTableId);
      // Its default group goes with it (not counted: `ec2:security-group` counts the groups clients make).
      state.securityGroups = state.securityGroups.filter((g) => g.vpcId !== vpcId);
      counters.deleted(EC2_COUNTER_TYPES.routeTable);
      counters.deleted(EC2_COUNTER_TYPES.vpc);
      changed();
    },

    modifyVpcAttribute(regionName, vpcId, attribute, value) {
      const record = vpc(regionName, vpcId);
      if (attribute === 'enableDnsHostnames' && value && !record.enableDnsSupport) {
        throw invalidParameter('Cannot enable DNS hostnames when DNS support is disabled.');
      }
      record[attribute] = value;
      changed();
    },

    createSubnet(regionName, input) {
      const parent = vpc(regionName, input.vpcId);
      const zones = availabilityZones(regionName);
      let zone: AvailabilityZone | undefined;
      if (input.availabilityZone !== undefined) {
        zone = zones.find((z) => z.zoneName === input.availabilityZone);
        if (zone === undefined) {
          throw invalidParameter(
            `Value (${input.availabilityZone}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: ${zones.map((z) => z.zoneName).join(', ')}.`,
          );
        }
      } else if (input.availabilityZoneId !== undefined) {
        zone = zones.find((z) => z.zoneId === input.availabilityZoneId);
        if (zone === undefined) throw invalidParameter(`Value (${input.availabilityZoneId}) for parameter availabilityZoneId is invalid.`);
      } else {
        zone = zones[region(regionName).subnets.length % zones.length];
      }
      const cidr = parseIpv4Cidr(input.cidrBlock);
      if (cidr === undefined) throw invalidParameter(`Value (${input.cidrBlock}) for parameter cidrBlock is invalid. This is not a valid CIDR block.`);
      const vpcCidr = parseIpv4Cidr(parent.cidrBlock) as Ipv4Cidr;
      if (cidr.prefix > 28 || !cidrContains(vpcCidr, cidr)) throw new AwsError('InvalidSubnet.Range', `The CIDR '${input.cidrBlock}' is invalid.`, { status: 400 });
      const state = region(regionName);
      for (const other of state.subnets) {
        if (other.vpcId === parent.vpcId && cidrsOverlap(parseIpv4Cidr(other.cidrBlock) as Ipv4Cidr, cidr)) {
          throw new AwsError('InvalidSubnet.Conflict', `The CIDR '${input.cidrBlock}' conflicts with another subnet`, { status: 400 });
        }
      }
      const record: SubnetRecord = {
        subnetId: newEc2Id('subnet'),
        vpcId: parent.vpcId,
        cidrBlock: input.cidrBlock,
        availabilityZone: (zone as AvailabilityZone).zoneName,
        availabilityZoneId: (zone as AvailabilityZone).zoneId,
        mapPublicIpOnLaunch: false,
        tags: [],
      };
      applyTags(record, input.tags);
      state.subnets.push(record);
      counters.created(EC2_COUNTER_TYPES.subnet);
      changed();
      return record;
    },

    deleteSubnet(regionName, subnetId) {
      const record = subnet(regionName, subnetId);
      const state = region(regionName);
      const blocked =
        liveNatGateways(state).some((n) => n.subnetId === subnetId) ||
        state.routeTables.some((t) => t.associations.some((a) => a.subnetId === subnetId)) ||
        (options.dependents?.usesSubnet(regionName, subnetId) ?? false);
      if (blocked) throw dependencyViolation('subnet', subnetId);
      state.subnets = state.subnets.filter((s) => s !== record);
      counters.deleted(EC2_COUNTER_TYPES.subnet);
      changed();
    },

    modifySubnetAttribute(regionName, subnetId, mapPublicIpOnLaunch) {
      subnet(regionName, subnetId).mapPublicIpOnLaunch = mapPublicIpOnLaunch;
      changed();
    },

    createInternetGateway(regionName, tags) {
      const record: InternetGatewayRecord = { internetGatewayId: newEc2Id('igw'), tags: [] };
      applyTags(record, tags);
      region(regionName).internetGateways.push(record);
      counters.created(EC2_COUNTER_TYPES.internetGateway);
      changed();
      return record;
    },

    attachInternetGateway(regionName, id, vpcId) {
      const gateway = internetGateway(regionName, id);
      vpc(regionName, vpcId);
      if (gateway.vpcId !== undefined) {
        throw new AwsError('Resource.AlreadyAssociated', `resource ${id} is already attached to network ${gateway.vpcId}`, { status: 400 });
      }
      const other = region(regionName).internetGateways.find((g) => g.vpcId === vpcId);
      if (other !== undefined) throw invalidParameter(`Network ${vpcId} already has an internet gateway attached`);
      gateway.vpcId = vpcId;
      changed();
    },

    detachInternetGateway(regionName, id, vpcId) {
      const gateway = internetGateway(regionName, id);
      vpc(regionName, vpcId);
      if (gateway.vpcId !== vpcId) throw new AwsError('Gateway.NotAttached', `resource ${id} is not attached to network ${vpcId}`, { status: 400 });
      // Routes through the gateway stay and become blackholes, as on AWS. EC2 refuses while public addresses in the VPC need the gateway; with no instances here, only
      // a NAT gateway holds one.
      const mapped = liveNatGateways(region(regionName)).some((n) => n.vpcId === vpcId && n.connectivityType === 'public');
      if (mapped) {
        throw new AwsError('DependencyViolation', `Network ${vpcId} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.`, {
          status: 400,
        });
      }
      delete gateway.vpcId;
      changed();
    },

    deleteInternetGateway(regionName, id) {
      const gateway = internetGateway(regionName, id);
      if (gateway.vpcId !== undefined) throw dependencyViolation('internetGateway', id);
      const state = region(regionName);
      state.internetGateways = state.internetGateways.filter((g) => g !== gateway);
      counters.deleted(EC2_COUNTER_TYPES.internetGateway);
      changed();
    },

    createRouteTable(regionName, input) {
      const parent = vpc(regionName, input.vpcId);
      const state = region(regionName);
      if (input.clientToken !== undefined) {
        const earlier = state.routeTables.find((t) => t.clientToken === input.clientToken);
        if (earlier !== undefined) {
          if (earlier.vpcId !== parent.vpcId) throw new AwsError('IdempotentParameterMismatch', 'Client token already used with different parameters.', { status: 400 });
          return earlier;
        }
      }
      const record: RouteTableRecord = {
        routeTableId: newEc2Id('rtb'),
        vpcId: parent.vpcId,
        routes: [{ destinationCidrBlock: parent.cidrBlock, gatewayId: 'local', origin: 'CreateRouteTable' }],
        associations: [],
        ...(input.clientToken !== undefined ? { clientToken: input.clientToken } : {}),
        tags: [],
      };
      applyTags(record, input.tags);
      state.routeTables.push(record);
      counters.created(EC2_COUNTER_TYPES.routeTable);
      changed();
      return record;
    },

    deleteRouteTable(regionName, id) {
      const table = routeTable(regionName, id);
      if (table.associations.length > 0) throw dependencyViolation('routeTable', id);
      const state = region(regionName);
      state.routeTables = state.routeTables.filter((t) => t !== table);
      counters.deleted(EC2_COUNTER_TYPES.routeTable);
      changed();
    },

    createRoute(regionName, id, route) {
      const table = routeTable(regionName, id);
      const cidr = parseIpv4Cidr(route.destinationCidrBlock);
      if (cidr === undefined) {
        throw invalidParameter(`Value (${route.destinationCidrBlock}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.`);
      }
      if (route.gatewayId === undefined && route.natGatewayId === undefined) {
        throw new AwsError('MissingParameter', 'The request must contain exactly one of gatewayId, natGatewayId, networkInterfaceId, vpcPeeringConnectionId or instanceId', { status: 400 });
      }
      if (route.gatewayId !== undefined && route.natGatewayId !== undefined) {
        throw invalidParameter('The parameter gatewayId cannot be used with the parameter natGatewayId');
      }
      if (route.gatewayId !== undefined) {
        const gateway = region(regionName).internetGateways.find((g) => g.internetGatewayId === route.gatewayId);
        if (gateway === undefined) throw notFound('InvalidGatewayID.NotFound', `The gateway ID '${route.gatewayId}' does not exist`);
        if (gateway.vpcId !== table.vpcId) throw invalidParameter(`route table ${id} and network gateway ${route.gatewayId} belong to different networks`);
      }
      if (route.natGatewayId !== undefined) {
        const nat = liveNatGateways(region(regionName)).find((n) => n.natGatewayId === route.natGatewayId);
        if (nat === undefined) throw notFound('InvalidNatGatewayID.NotFound', `The natGateway ID '${route.natGatewayId}' does not exist`);
        if (nat.vpcId !== table.vpcId) throw invalidParameter(`route table ${id} and nat gateway ${route.natGatewayId} belong to different networks`);
      }
      if (table.routes.some((r) => r.destinationCidrBlock === route.destinationCidrBlock)) {
        throw new AwsError('RouteAlreadyExists', `The route identified by ${route.destinationCidrBlock} already exists.`, { status: 400 });
      }
      table.routes.push({
        destinationCidrBlock: route.destinationCidrBlock,
        ...(route.gatewayId !== undefined ? { gatewayId: route.gatewayId } : {}),
        ...(route.natGatewayId !== undefined ? { natGatewayId: route.natGatewayId } : {}),
        origin: 'CreateRoute',
      });
      changed();
    },

    deleteRoute(regionName, id, destinationCidrBlock) {
      const table = routeTable(regionName, id);
      const route = table.routes.find((r) => r.destinationCidrBlock === destinationCidrBlock);
      if (route === undefined) {
        throw notFound('InvalidRoute.NotFound', `no route with destination-cidr-block ${destinationCidrBlock} in route table ${id}`);
      }
      if (route.gatewayId === 'local') throw invalidParameter(`cannot remove local route ${destinationCidrBlock} in route table ${id}`);
      table.routes = table.routes.filter((r) => r !== route);
      changed();
    },

    associateRouteTable(regionName, id, subnetId) {
      const table = routeTable(regionName, id);
      const target = subnet(regionName, subnetId);
      if (target.vpcId !== table.vpcId) throw invalidParameter(`routeTable ${id} and subnet ${subnetId} belong to different networks`);
      const existing = region(regionName).routeTables.find((t) => t.associations.some((a) => a.subnetId === subnetId));
      if (existing !== undefined) {
        throw new AwsError('Resource.AlreadyAssociated', `the specified association for route table ${existing.routeTableId} conflicts with an existing association`, {
          status: 400,
        });
      }
      const association: RouteTableAssociationRecord = { associationId: newEc2Id('rtbassoc'), main: false, subnetId };
      table.associations.push(association);
      changed();
      return association;
    },

    disassociateRouteTable(regionName, associationId) {
      const table = region(regionName).routeTables.find((t) => t.associations.some((a) => a.associationId === associationId));
      const association = table?.associations.find((a) => a.associationId === associationId);
      if (table === undefined || association === undefined) {
        throw notFound('InvalidAssociationID.NotFound', `The association ID '${associationId}' does not exist`);
      }
      if (association.main) throw invalidParameter(`cannot disassociate the main route table association ${associationId}`);
      table.associations = table.associations.filter((a) => a !== association);
      changed();
    },

    allocateAddress(regionName, tags) {
      const state = region(regionName);
      const used = new Set(state.addresses.map((a) => a.publicIp));
      let publicIp: string;
      do {
        const bytes = randomBytes(2);
        // 198.51.100.0/24 and 203.0.113.0/24 are documentation ranges: no real address is handed out.
        publicIp = `${bytes[0]! % 2 === 0 ? '198.51.100' : '203.0.113'}.${1 + (bytes[1]! % 254)}`;
      } while (used.has(publicIp) && used.size < 508);
      const record: AddressRecord = { allocationId: newEc2Id('eipalloc'), publicIp, tags: [] };
      applyTags(record, tags);
      state.addresses.push(record);
      counters.created(EC2_COUNTER_TYPES.address);
      changed();
      return record;
    },

    releaseAddress(regionName, allocationId) {
      advance();
      const record = address(regionName, allocationId);
      if (record.natGatewayId !== undefined) {
        throw new AwsError('InvalidIPAddress.InUse', `Address ${record.publicIp} is in use by ${record.natGatewayId}.`, { status: 400 });
      }
      const state = region(regionName);
      state.addresses = state.addresses.filter((a) => a !== record);
      counters.deleted(EC2_COUNTER_TYPES.address);
      changed();
    },

    createNatGateway(regionName, input) {
      const state = region(regionName);
      advance();
      if (input.clientToken !== undefined) {
        const earlier = state.natGateways.find((n) => n.clientToken === input.clientToken);
        if (earlier !== undefined) {
          if (earlier.subnetId !== input.subnetId || earlier.allocationId !== input.allocationId) {
            throw new AwsError('IdempotentParameterMismatch', 'Client token already used with different parameters.', { status: 400 });
          }
          return earlier;
        }
      }
      const home = subnet(regionName, input.subnetId);
      const connectivityType = input.connectivityType ?? 'public';
      if (connectivityType !== 'public' && connectivityType !== 'private') {
        throw invalidParameter(`Value (${connectivityType}) for parameter connectivityType is invalid. Valid values: public, private`);
      }
      let eip: AddressRecord | undefined;
      if (connectivityType === 'public') {
        if (input.allocationId === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter AllocationId', { status: 400 });
        eip = address(regionName, input.allocationId);
        if (eip.natGatewayId !== undefined) {
          throw new AwsError('Resource.AlreadyAssociated', `Elastic IP address [${input.allocationId}] is already associated`, { status: 400 });
        }
        if (!state.internetGateways.some((g) => g.vpcId === home.vpcId)) {
          throw new AwsError('Gateway.NotAttached', `Network ${home.vpcId} has no Internet gateway attached`, { status: 400 });
        }
      }
      const cidr = parseIpv4Cidr(home.cidrBlock) as Ipv4Cidr;
      const privateBase = cidr.base + 4 + (state.natGateways.length % Math.max(1, usableAddresses(cidr)));
      const record: NatGatewayRecord = {
        natGatewayId: newEc2Id('nat'),
        subnetId: home.subnetId,
        vpcId: home.vpcId,
        ...(eip !== undefined ? { allocationId: eip.allocationId, publicIp: eip.publicIp } : {}),
        privateIp: [24, 16, 8, 0].map((shift) => Math.floor(privateBase / 2 ** shift) % 256).join('.'),
        connectivityType,
        state: 'pending',
        stateSince: clock.now(),
        createTime: new Date(clock.now()).toISOString(),
        ...(input.clientToken !== undefined ? { clientToken: input.clientToken } : {}),
        tags: [],
      };
      applyTags(record, input.tags);
      if (eip !== undefined) eip.natGatewayId = record.natGatewayId;
      state.natGateways.push(record);
      counters.created(EC2_COUNTER_TYPES.natGateway);
      changed();
      return record;
    },

    deleteNatGateway(regionName, id) {
      const record = natGateway(regionName, id);
      if (record.state === 'pending' || record.state === 'available') {
        record.state = 'deleting';
        record.stateSince = clock.now();
        changed();
      }
      return record;
    },

    createSecurityGroup(regionName, input) {
      const parent = vpc(regionName, input.vpcId);
      checkSecurityGroupText('GroupName', input.groupName);
      checkSecurityGroupText('GroupDescription', input.description);
      if (input.groupName.toLowerCase().startsWith('sg-')) throw invalidParameter(`Group names may not be in the format sg-*.`);
      if (input.groupName === 'default') throw invalidParameter("Cannot use reserved security group name: default");
      const state = region(regionName);
      if (state.securityGroups.some((g) => g.vpcId === parent.vpcId && g.groupName === input.groupName)) {
        throw new AwsError('InvalidGroup.Duplicate', `The security group '${input.groupName}' already exists for VPC '${parent.vpcId}'`, { status: 400 });
      }
      const record: SecurityGroupRecord = {
        groupId: newEc2Id('sg'),
        groupName: input.groupName,
        description: input.description,
        vpcId: parent.vpcId,
        isDefault: false,
        ingress: [],
        tags: [],
      };
      applyTags(record, input.tags);
      state.securityGroups.push(record);
      counters.created(EC2_COUNTER_TYPES.securityGroup);
      changed();
      return record;
    },

    deleteSecurityGroup(regionName, groupId) {
      const record = securityGroup(regionName, groupId);
      if (record.isDefault) throw new AwsError('CannotDelete', `the specified group: "${groupId}" name: "default" cannot be deleted by a user`, { status: 400 });
      const state = region(regionName);
      const referencing = state.securityGroups.find((g) => g !== record && g.ingress.some((r) => r.sourceGroupId === groupId));
      if (referencing !== undefined) {
        throw new AwsError('DependencyViolation', `resource ${groupId} has a dependent object`, { status: 400 });
      }
      if (options.dependents?.usesSecurityGroup?.(regionName, groupId) ?? false) {
        throw new AwsError('DependencyViolation', `resource ${groupId} has a dependent object`, { status: 400 });
      }
      state.securityGroups = state.securityGroups.filter((g) => g !== record);
      counters.deleted(EC2_COUNTER_TYPES.securityGroup);
      changed();
    },

    authorizeIngress(regionName, groupId, rules) {
      const group = securityGroup(regionName, groupId);
      const added: SecurityGroupRuleRecord[] = [];
      for (const input of rules) {
        const rule = checkedRule(regionName, group, input);
        const same = (r: SecurityGroupRuleRecord) => sameRule(r, rule);
        if (group.ingress.some(same) || added.some(same)) {
          throw new AwsError('InvalidPermission.Duplicate', `the specified rule "${describeRule(rule)}" already exists`, { status: 400 });
        }
        added.push({ ruleId: newEc2Id('sgr'), ...rule });
      }
      group.ingress.push(...added);
      changed();
      return added;
    },

    revokeIngress(regionName, groupId, rules) {
      const group = securityGroup(regionName, groupId);
      const removed = rules.map((input) => {
        const rule = checkedRule(regionName, group, input);
        const found = group.ingress.find((r) => sameRule(r, rule));
        if (found === undefined) {
          throw new AwsError('InvalidPermission.NotFound', 'The specified rule does not exist in this security group.', { status: 400 });
        }
        return found;
      });
      group.ingress = group.ingress.filter((r) => !removed.includes(r));
      changed();
    },

    createTags(regionName, resourceIds, tags) {
      const targets = resourceIds.map((id) => taggable(regionName, id));
      // All or nothing: every target is checked against the tag limit before any changes.
      for (const target of targets) applyTags({ tags: target.tags }, tags);
      for (const target of targets) applyTags(target, tags);
      changed();
    },

    deleteTags(regionName, resourceIds, tags) {
      const targets = resourceIds.map((id) => taggable(regionName, id));
      for (const target of targets) {
        target.tags =
          tags.length === 0 ? [] : target.tags.filter((t) => !tags.some((d) => d.key === t.key && (d.value === undefined || d.value === t.value)));
      }
      changed();
    },

    inventory() {
      advance();
      const out: Record<string, Array<{ region: string; id: string; state?: string }>> = {
        vpcs: [],
        subnets: [],
        internetGateways: [],
        routeTables: [],
        addresses: [],
        natGateways: [],
        securityGroups: [],
      };
      for (const [name, state] of regions) {
        out.securityGroups!.push(...state.securityGroups.map((g) => ({ region: name, id: g.groupId })));
        out.vpcs!.push(...state.vpcs.map((v) => ({ region: name, id: v.vpcId })));
        out.subnets!.push(...state.subnets.map((s) => ({ region: name, id: s.subnetId })));
        out.internetGateways!.push(...state.internetGateways.map((g) => ({ region: name, id: g.internetGatewayId })));
        out.routeTables!.push(...state.routeTables.map((t) => ({ region: name, id: t.routeTableId })));
        out.addresses!.push(...state.addresses.map((a) => ({ region: name, id: a.allocationId })));
        out.natGateways!.push(...state.natGateways.filter((n) => n.state !== 'deleted').map((n) => ({ region: name, id: n.natGatewayId, state: n.state })));
      }
      return out;
    },

    snapshot: () => ({ regions: structuredClone(Object.fromEntries(regions)) }),
    restore(snapshot) {
      regions = new Map(Object.entries(structuredClone(snapshot.regions ?? {})).map(([name, state]) => [name, { ...emptyRegion(), ...state }]));
    },
    reset() {
      regions = new Map();
    },
  };
  return simulator;
}
