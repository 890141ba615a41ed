import type { ResourceStatus } from '@tugboat/resource-model';

/** `EksCluster.spec` (the built-in schema `EKS_CLUSTER` in `@tugboat/resource-model`). */
export interface EksClusterSpec {
  accountRef: { name: string };
  region: string;
  /** Kubernetes `major.minor`, e.g. `1.31`. */
  version: string;
  network?: EksNetworkSpec;
  nodeGroups?: EksNodeGroupSpec[];
}

export interface EksNetworkSpec {
  /** An existing VPC, with `subnetIds`: Tugboat makes no network then, and never deletes these. */
  vpcId?: string;
  subnetIds?: string[];
  /** The block of the VPC Tugboat makes. Default `10.0.0.0/16`. */
  vpcCidr?: string;
  /** Zones with a public and a private subnet each. Default 2. */
  availabilityZones?: number;
}

export interface EksNodeGroupSpec {
  name: string;
  instanceTypes: string[];
  minSize: number;
  maxSize: number;
  /** Default `minSize`. */
  desiredSize?: number;
}

/** What the infra-controller made in AWS, as status shows it. The record is the ownership tags. */
export type InventoryType = 'vpc' | 'subnet' | 'internet-gateway' | 'route-table' | 'elastic-ip' | 'nat-gateway' | 'iam-role' | 'eks-cluster' | 'nodegroup';

export interface InventoryItem {
  type: InventoryType;
  /** The AWS id (`vpc-…`, `subnet-…`) or ARN (roles, cluster, node groups). */
  id: string;
  /** The part name (`subnet-private-1`) or the AWS name (role, cluster, node group). */
  name?: string;
}

/** One node group as the outputs list it. */
export interface EksNodegroupOutput {
  /** The spec's name. */
  name: string;
  /** The EKS node group's name (`<name>-<hash of the instance types>`). */
  nodegroupName: string;
  instanceTypes: string[];
  minSize: number;
  maxSize: number;
  desiredSize: number;
  version: string;
}

/**
 * What a client of the cluster reads (the cluster-controller): a contract, keep the names.
 * `certificateAuthority` is DescribeCluster's `certificateAuthority.data` (base64 of the PEM).
 */
export interface EksClusterOutputs {
  clusterName: string;
  region: string;
  endpoint: string;
  certificateAuthority: string;
  version: string;
  arn: string;
  accountId: string;
  vpcId: string;
  /** The private subnets (the node groups'); the given subnets for an existing VPC. */
  subnetIds: string[];
  /** Empty for an existing VPC. */
  publicSubnetIds: string[];
  nodegroups: EksNodegroupOutput[];
  [key: string]: unknown;
}

export interface EksClusterStatus extends ResourceStatus {
  outputs?: EksClusterOutputs;
  /** The step the last reconcile reached (`CreatingNetwork` … `Ready`, `Deleting…`). */
  step?: string;
  inventory?: InventoryItem[];
  /** Where the cluster's resources are, from its first pass on (a region change is refused). */
  region?: string;
  /** Throttled or transient AWS failures in a row: the retry delay doubles with each. */
  retries?: number;
}
