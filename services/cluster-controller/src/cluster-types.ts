import type { ResourceStatus } from '@tugboat/resource-model';

/** `ClusterInstance.spec` as the cluster-controller reads it (see the kind's schema). */
export interface ClusterSpec {
  definitionRef: { name: string };
  /** Secret field: read through the API's secret route, never from `spec` (the API redacts it). */
  kubeconfig?: string;
  context?: string;
  defaultFor?: string[];
  accountRef?: { name: string };
  region?: string;
  version?: string;
  nodeGroups?: NodeGroupSpec[];
  network?: EksNetwork;
}

export interface NodeGroupSpec {
  name: string;
  instanceType: string;
  minSize: number;
  maxSize: number;
  desiredSize?: number;
}

/** An existing VPC and subnets, or the shape of the VPC the infra-controller makes. */
export interface EksNetwork {
  vpcId?: string;
  subnetIds?: string[];
  vpcCidr?: string;
  availabilityZones?: number;
}

export interface ClusterOutputs {
  endpoint: string;
  serverVersion?: string;
  readyNodes?: number;
  nodes?: number;
  [key: string]: unknown;
}

export interface ClusterStatus extends ResourceStatus {
  outputs?: ClusterOutputs;
}

/** `ClusterDefinition.spec` fields the controller uses. */
export interface ClusterDefinitionSpec {
  provider?: 'kubeconfig' | 'eks';
  allowedVersions?: string[];
  defaults?: { version?: string; region?: string; nodeGroups?: NodeGroupSpec[]; network?: EksNetwork };
}
