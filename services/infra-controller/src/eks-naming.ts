/**
 * The deterministic names, tokens and tags of what the infra-controller makes for an EksCluster.
 * A crash between an AWS create and the status write is recovered by finding the thing again:
 * by name and client request token where AWS has them (roles, cluster, node groups, NAT gateway),
 * and by the ownership tags set in the create call itself where it has neither (VPC, subnets …).
 */
import { createHash } from 'node:crypto';
import type { EksNodeGroupSpec } from './eks-types.js';

export const OWNER_TAG = 'tugboat.dev/owner-uid';
export const PART_TAG = 'tugboat.dev/part';
/** On node groups: the spec's node group name (the EKS name carries a hash of its instance types). */
export const NODEGROUP_TAG = 'tugboat.dev/nodegroup';
export const MANAGED_BY_TAG = 'tugboat.dev/managed-by';

export const DEFAULT_VPC_CIDR = '10.0.0.0/16';
export const DEFAULT_ZONES = 2;

function hash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** A client request token: the same request after a crash is the same token (≤ 64 characters). */
export function requestToken(uid: string, ...parts: Array<string | number>): string {
  return `tugboat-${hash([uid, ...parts].join('/'), 40)}`;
}

/** The ownership tags of one part, as a map (EKS, IAM take maps or lists of these). */
export function ownershipTags(uid: string, clusterName: string, part: string): Record<string, string> {
  return { [OWNER_TAG]: uid, [PART_TAG]: part, [MANAGED_BY_TAG]: 'tugboat', Name: `${clusterName}-${part}` };
}

/** `tugboat-<cluster>-<purpose>`, at most 64 characters (IAM's limit): a long name keeps a hash of the whole. */
export function roleName(clusterName: string, purpose: 'cluster' | 'node'): string {
  const plain = `tugboat-${clusterName}-${purpose}`;
  if (plain.length <= 64) return plain;
  const room = 64 - 'tugboat-'.length - purpose.length - '-'.length - 8 - '-'.length;
  return `tugboat-${clusterName.slice(0, room)}-${hash(clusterName)}-${purpose}`;
}

/**
 * The EKS node group of a spec entry: `<name>-<hash of its instance types>`. A change of instance
 * types is a new name, hence a replacement group (EKS cannot change a group's instance types).
 */
export function nodegroupName(group: Pick<EksNodeGroupSpec, 'name' | 'instanceTypes'>): string {
  const types = [...group.instanceTypes].sort().join(',');
  return `${group.name.slice(0, 54)}-${hash(types)}`;
}

export interface SubnetPlan {
  part: string;
  tier: 'public' | 'private';
  zone: string;
  cidr: string;
}

/**
 * Subnets carved from the VPC block, four bits longer than it (a /16 gives /20s): public subnets in
 * the first slots, private ones from the middle, one of each per zone. The same inputs always give
 * the same plan, so a subnet found by its tags has the block it would have been made with.
 */
export function subnetPlan(vpcCidr: string, zones: string[]): SubnetPlan[] {
  const [base, prefixText] = vpcCidr.split('/');
  const prefix = Number(prefixText);
  const octets = (base ?? '').split('.').map(Number);
  const start = octets.reduce((value, octet) => value * 256 + octet, 0);
  const subnetPrefix = prefix + 4;
  const size = 2 ** (32 - subnetPrefix);
  const cidrAt = (slot: number) => {
    const value = start + slot * size;
    return `${[24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.')}/${subnetPrefix}`;
  };
  return zones.flatMap((zone, index): SubnetPlan[] => [
    { part: `subnet-public-${index + 1}`, tier: 'public', zone, cidr: cidrAt(index) },
    { part: `subnet-private-${index + 1}`, tier: 'private', zone, cidr: cidrAt(8 + index) },
  ]);
}

/** `1.31` → 31; `undefined` for what is not `major.minor`. */
export function minorOf(version: string): number | undefined {
  const match = /^1\.(\d+)$/.exec(version);
  return match ? Number(match[1]) : undefined;
}
