/**
 * The EKS stand-in's state and rules: clusters and node groups per region, their status over
 * simulated time (CREATING → ACTIVE, DELETING → gone), idempotency by `clientRequestToken`, tags,
 * and the simulated Kubernetes cluster that each ACTIVE EKS cluster gets. Inputs and outputs are
 * the EKS API's own shapes; `eks-operations.ts` puts them on the wire.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ClusterRegistry, KubeNode } from '../../cluster-registry.js';
import type { SandboxCounters } from '../../counters.js';
import type { SimClock } from '../../sim-clock.js';
import { AwsError } from '../aws-error.js';
import { createClusterCertificateAuthority } from './cluster-certificate-authority.js';

export type ClusterStatus = 'CREATING' | 'ACTIVE' | 'UPDATING' | 'DELETING' | 'FAILED';
export type NodegroupStatus = 'CREATING' | 'ACTIVE' | 'UPDATING' | 'DELETING';
export type UpdateStatus = 'InProgress' | 'Successful' | 'Failed';
export type UpdateType = 'VersionUpdate' | 'ConfigUpdate';

/** Simulated durations in ms of sandbox time. */
export interface EksDurations {
  clusterCreate: number;
  clusterDelete: number;
  nodegroupCreate: number;
  nodegroupDelete: number;
  /** A control plane version update (UpdateClusterVersion). */
  clusterUpdate: number;
  /** A node group's config or version update. */
  nodegroupUpdate: number;
}

export const DEFAULT_EKS_DURATIONS: EksDurations = {
  clusterCreate: 10 * 60_000,
  clusterDelete: 5 * 60_000,
  nodegroupCreate: 3 * 60_000,
  nodegroupDelete: 3 * 60_000,
  clusterUpdate: 8 * 60_000,
  nodegroupUpdate: 3 * 60_000,
};

export const SUPPORTED_VERSIONS = ['1.29', '1.30', '1.31', '1.32', '1.33'];
const DEFAULT_VERSION = '1.32';

interface ClusterRecord {
  region: string;
  name: string;
  arn: string;
  status: ClusterStatus;
  /** Real epoch ms when the current status began. */
  statusSince: number;
  createdAt: number;
  clientRequestToken?: string;
  version: string;
  roleArn: string;
  resourcesVpcConfig: Record<string, unknown>;
  kubernetesNetworkConfig: Record<string, unknown>;
  logging?: unknown;
  accessConfig?: unknown;
  tags: Record<string, string>;
  /** Seeds the OIDC issuer id and the security group / VPC ids. */
  uid: string;
  /** PEM of the cluster's CA certificate, made when it becomes ACTIVE. */
  certificateAuthority?: string;
}

interface NodegroupRecord {
  region: string;
  clusterName: string;
  nodegroupName: string;
  arn: string;
  status: NodegroupStatus;
  statusSince: number;
  createdAt: number;
  modifiedAt: number;
  clientRequestToken?: string;
  version: string;
  releaseVersion: string;
  nodeRole: string;
  subnets: string[];
  instanceTypes: string[];
  amiType: string;
  capacityType: string;
  diskSize: number;
  scalingConfig: { minSize: number; maxSize: number; desiredSize: number };
  labels: Record<string, string>;
  taints: unknown[];
  tags: Record<string, string>;
  /** Distinguishes node host names across node groups. */
  ordinal: number;
}

/** An update of a cluster (`nodegroupName` absent) or of one of its node groups. */
interface UpdateRecord {
  id: string;
  region: string;
  clusterName: string;
  nodegroupName?: string;
  type: UpdateType;
  status: UpdateStatus;
  params: Array<{ type: string; value: string }>;
  createdAt: number;
  clientRequestToken?: string;
  /** What the resource becomes when the update succeeds. */
  target: { version?: string; releaseVersion?: string; scalingConfig?: NodegroupRecord['scalingConfig']; labels?: Record<string, string> };
}

export interface EksSnapshot {
  clusters: ClusterRecord[];
  nodegroups: NodegroupRecord[];
  /** Absent in state saved before updates existed. */
  updates?: UpdateRecord[];
  nextOrdinal: number;
}

/** A subnet of the sandbox's EC2, as EKS sees it. */
export interface EksSubnet {
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
}

export interface EksSimulatorOptions {
  clock: SimClock;
  counters: SandboxCounters;
  clusters: ClusterRegistry;
  accountId: string;
  /** The Kubernetes API base URL of a simulated cluster (its `endpoint`). */
  kubeEndpoint: (kubeClusterName: string) => string;
  logger: Logger;
  durations?: Partial<EksDurations>;
  /** Called after every change of state (to persist it, to rewrite the kubeconfig). */
  onChange?: () => void;
  /**
   * The sandbox's IAM: whether a role exists in this account and its trust policy lets the service
   * principal assume it. EKS refuses a cluster or node group role that fails this, as AWS does.
   */
  roleTrusts: (roleArn: string, servicePrincipal: string) => boolean;
  /** The sandbox's EC2: a subnet of a region, `undefined` when the region has none of that id. */
  subnet: (region: string, subnetId: string) => EksSubnet | undefined;
}

export interface EksResourceSummary {
  region: string;
  name: string;
  status: string;
  cluster?: string;
  kubeCluster?: string;
}

export interface EksSimulator {
  createCluster(region: string, input: Record<string, unknown>): Record<string, unknown>;
  describeCluster(region: string, name: string): Record<string, unknown>;
  listClusters(region: string, page: PageRequest): { clusters: string[]; nextToken?: string };
  deleteCluster(region: string, name: string): Record<string, unknown>;
  createNodegroup(region: string, clusterName: string, input: Record<string, unknown>): Record<string, unknown>;
  describeNodegroup(region: string, clusterName: string, nodegroupName: string): Record<string, unknown>;
  listNodegroups(region: string, clusterName: string, page: PageRequest): { nodegroups: string[]; nextToken?: string };
  deleteNodegroup(region: string, clusterName: string, nodegroupName: string): Record<string, unknown>;
  tagResource(region: string, arn: string, tags: unknown): void;
  untagResource(region: string, arn: string, tagKeys: string[]): void;
  listTagsForResource(region: string, arn: string): Record<string, string>;
  updateClusterVersion(region: string, name: string, input: Record<string, unknown>): Record<string, unknown>;
  updateNodegroupConfig(region: string, clusterName: string, nodegroupName: string, input: Record<string, unknown>): Record<string, unknown>;
  updateNodegroupVersion(region: string, clusterName: string, nodegroupName: string, input: Record<string, unknown>): Record<string, unknown>;
  describeUpdate(region: string, name: string, updateId: string, nodegroupName: string | undefined): Record<string, unknown>;
  listUpdates(region: string, name: string, nodegroupName: string | undefined, page: PageRequest): { updateIds: string[]; nextToken?: string };
  /**
   * Whether a cluster or node group that is not fully deleted has network interfaces in the subnet
   * (EC2 then refuses to delete it with `DependencyViolation`).
   */
  usesSubnet(region: string, subnetId: string): boolean;
  /** Whether a cluster that is not fully deleted is in the VPC (its security group and interfaces are). */
  usesVpc(region: string, vpcId: string): boolean;
  /** What exists now, for the control API's counters. */
  inventory(): { clusters: EksResourceSummary[]; nodegroups: EksResourceSummary[] };
  /** Names of the simulated Kubernetes clusters that ACTIVE EKS clusters have. */
  activeKubeClusters(): string[];
  /** The ACTIVE EKS cluster behind a simulated Kubernetes cluster, if any. */
  clusterOfKube(kubeClusterName: string): { region: string; name: string } | undefined;
  /** Applies the transitions that are due (also runs on its own timer). */
  advance(): void;
  /** Re-plans the timer; call after the clock's scale changed. */
  reschedule(): void;
  snapshot(): EksSnapshot;
  restore(snapshot: EksSnapshot): void;
  reset(): void;
  close(): void;
}

export interface PageRequest {
  maxResults?: number;
  nextToken?: string;
}

/**
 * The simulated Kubernetes cluster of an EKS cluster: a DNS label (what the Kubernetes half
 * requires), unique across regions, never `local`. `alpha` in us-east-1 → `alpha-us-east-1`; names
 * that are not DNS labels (upper case, `_`, too long) are folded and get a hash of the original.
 */
export function kubeClusterNameOf(region: string, name: string): string {
  const plain = `${name}-${region}`;
  if (plain.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(plain)) return plain;
  const hash = createHash('sha256').update(`${region}/${name}`).digest('hex').slice(0, 8);
  const folded = name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, Math.max(1, 63 - region.length - hash.length - 2))
    .replace(/^-+|-+$/g, '');
  return `${folded === '' ? 'eks' : folded}-${hash}-${region}`;
}

const NAME_PATTERN = /^[0-9A-Za-z][A-Za-z0-9\-_]*$/;
const CLUSTER_SERVICE_PRINCIPAL = 'eks.amazonaws.com';
const NODE_SERVICE_PRINCIPAL = 'ec2.amazonaws.com';
const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

export function createEksSimulator(options: EksSimulatorOptions): EksSimulator {
  const { clock, counters, clusters: kube, accountId, logger } = options;
  const durations: EksDurations = { ...DEFAULT_EKS_DURATIONS, ...options.durations };
  let clusters = new Map<string, ClusterRecord>();
  let nodegroups = new Map<string, NodegroupRecord>();
  let updates = new Map<string, UpdateRecord>();
  let nextOrdinal = 1;
  let cancelTimer: (() => void) | undefined;

  const clusterKey = (region: string, name: string) => `${region}/${name}`;
  const nodegroupKey = (region: string, cluster: string, name: string) => `${region}/${cluster}/${name}`;
  const changed = () => options.onChange?.();

  function clusterOrThrow(region: string, name: string): ClusterRecord {
    const cluster = clusters.get(clusterKey(region, name));
    if (!cluster) throw new AwsError('ResourceNotFoundException', `No cluster found for name: ${name}.`, { status: 404 });
    return cluster;
  }

  function nodegroupOrThrow(region: string, clusterName: string, name: string): NodegroupRecord {
    const nodegroup = nodegroups.get(nodegroupKey(region, clusterName, name));
    if (!nodegroup) throw new AwsError('ResourceNotFoundException', `No node group found for name: ${name}.`, { status: 404 });
    return nodegroup;
  }

  function nodegroupsOf(cluster: ClusterRecord): NodegroupRecord[] {
    return [...nodegroups.values()].filter((ng) => ng.region === cluster.region && ng.clusterName === cluster.name);
  }

  /** A cluster's Kubernetes API serves while it is ACTIVE and during an update. */
  function servesKube(cluster: ClusterRecord): boolean {
    return cluster.status === 'ACTIVE' || cluster.status === 'UPDATING';
  }

  function nodesOf(cluster: ClusterRecord): KubeNode[] {
    return nodegroupsOf(cluster)
      .filter((ng) => ng.status === 'ACTIVE' || ng.status === 'UPDATING')
      .flatMap((ng) =>
        Array.from({ length: ng.scalingConfig.desiredSize }, (_, i) => ({
          name: `ip-10-${Math.floor(ng.ordinal / 250) % 250}-${ng.ordinal % 250}-${i + 10}.${cluster.region}.compute.internal`,
          labels: {
            'eks.amazonaws.com/nodegroup': ng.nodegroupName,
            'eks.amazonaws.com/capacityType': ng.capacityType,
            'node.kubernetes.io/instance-type': ng.instanceTypes[0] ?? 't3.medium',
            'topology.kubernetes.io/region': cluster.region,
            ...ng.labels,
          },
        })),
      );
  }

  function certificateAuthorityOf(cluster: ClusterRecord): string {
    cluster.certificateAuthority ??= createClusterCertificateAuthority(kubeClusterNameOf(cluster.region, cluster.name), clock.now());
    return cluster.certificateAuthority;
  }

  function syncKubeCluster(cluster: ClusterRecord): void {
    kube.addCluster(kubeClusterNameOf(cluster.region, cluster.name), { nodes: nodesOf(cluster), version: cluster.version });
  }

  function renderCluster(cluster: ClusterRecord): Record<string, unknown> {
    const kubeName = kubeClusterNameOf(cluster.region, cluster.name);
    const active = servesKube(cluster);
    return {
      name: cluster.name,
      arn: cluster.arn,
      createdAt: cluster.createdAt / 1000,
      version: cluster.version,
      ...(active ? { endpoint: options.kubeEndpoint(kubeName) } : {}),
      roleArn: cluster.roleArn,
      resourcesVpcConfig: cluster.resourcesVpcConfig,
      kubernetesNetworkConfig: cluster.kubernetesNetworkConfig,
      ...(cluster.logging !== undefined ? { logging: cluster.logging } : {}),
      identity: { oidc: { issuer: `https://oidc.eks.${cluster.region}.amazonaws.com/id/${cluster.uid.replace(/-/g, '').toUpperCase()}` } },
      status: cluster.status,
      certificateAuthority: active ? { data: Buffer.from(certificateAuthorityOf(cluster), 'utf8').toString('base64') } : {},
      ...(cluster.clientRequestToken !== undefined ? { clientRequestToken: cluster.clientRequestToken } : {}),
      platformVersion: 'eks.1',
      tags: { ...cluster.tags },
      health: { issues: [] },
      accessConfig: cluster.accessConfig ?? { authenticationMode: 'API_AND_CONFIG_MAP' },
    };
  }

  function renderNodegroup(ng: NodegroupRecord): Record<string, unknown> {
    return {
      nodegroupName: ng.nodegroupName,
      nodegroupArn: ng.arn,
      clusterName: ng.clusterName,
      version: ng.version,
      releaseVersion: ng.releaseVersion,
      createdAt: ng.createdAt / 1000,
      modifiedAt: ng.modifiedAt / 1000,
      status: ng.status,
      capacityType: ng.capacityType,
      scalingConfig: { ...ng.scalingConfig },
      instanceTypes: [...ng.instanceTypes],
      subnets: [...ng.subnets],
      amiType: ng.amiType,
      nodeRole: ng.nodeRole,
      labels: { ...ng.labels },
      taints: ng.taints,
      diskSize: ng.diskSize,
      health: { issues: [] },
      tags: { ...ng.tags },
      ...(ng.status === 'ACTIVE' || ng.status === 'UPDATING'
        ? { resources: { autoScalingGroups: [{ name: `eks-${ng.nodegroupName}-${ng.arn.split('/').pop() ?? ''}` }] } }
        : {}),
    };
  }

  function transitionDue(since: number, status: string, kind: 'cluster' | 'nodegroup'): number | undefined {
    const duration =
      kind === 'cluster'
        ? status === 'CREATING'
          ? durations.clusterCreate
          : status === 'DELETING'
            ? durations.clusterDelete
            : status === 'UPDATING'
              ? durations.clusterUpdate
              : undefined
        : status === 'CREATING'
          ? durations.nodegroupCreate
          : status === 'DELETING'
            ? durations.nodegroupDelete
            : status === 'UPDATING'
              ? durations.nodegroupUpdate
              : undefined;
    if (duration === undefined) return undefined;
    return duration - (clock.now() - since) * clock.scale;
  }

  function advance(): void {
    let changes = 0;
    for (const cluster of [...clusters.values()]) {
      const remaining = transitionDue(cluster.statusSince, cluster.status, 'cluster');
      if (remaining === undefined || remaining > 0) continue;
      changes += 1;
      if (cluster.status === 'CREATING') {
        cluster.status = 'ACTIVE';
        cluster.statusSince = clock.now();
        certificateAuthorityOf(cluster);
        syncKubeCluster(cluster);
        logger.info({ region: cluster.region, cluster: cluster.name }, 'eks cluster ACTIVE');
      } else if (cluster.status === 'UPDATING') {
        const update = inProgressUpdateOf(cluster.region, cluster.name, undefined);
        if (update?.target.version !== undefined) cluster.version = update.target.version;
        if (update) update.status = 'Successful';
        cluster.status = 'ACTIVE';
        cluster.statusSince = clock.now();
        // Its API server now answers with the new version.
        syncKubeCluster(cluster);
        logger.info({ region: cluster.region, cluster: cluster.name, version: cluster.version }, 'eks cluster update successful');
      } else {
        clusters.delete(clusterKey(cluster.region, cluster.name));
        dropUpdates(cluster.region, cluster.name, undefined);
        kube.removeCluster(kubeClusterNameOf(cluster.region, cluster.name));
        counters.deleted('eks:cluster');
        logger.info({ region: cluster.region, cluster: cluster.name }, 'eks cluster deleted');
      }
    }
    for (const ng of [...nodegroups.values()]) {
      const remaining = transitionDue(ng.statusSince, ng.status, 'nodegroup');
      if (remaining === undefined || remaining > 0) continue;
      changes += 1;
      const cluster = clusters.get(clusterKey(ng.region, ng.clusterName));
      if (ng.status === 'CREATING') {
        ng.status = 'ACTIVE';
        ng.statusSince = clock.now();
        ng.modifiedAt = clock.now();
        logger.info({ region: ng.region, cluster: ng.clusterName, nodegroup: ng.nodegroupName }, 'eks node group ACTIVE');
      } else if (ng.status === 'UPDATING') {
        const update = inProgressUpdateOf(ng.region, ng.clusterName, ng.nodegroupName);
        if (update) {
          const { version, releaseVersion, scalingConfig, labels } = update.target;
          if (version !== undefined) ng.version = version;
          if (releaseVersion !== undefined) ng.releaseVersion = releaseVersion;
          if (scalingConfig !== undefined) ng.scalingConfig = { ...scalingConfig };
          if (labels !== undefined) ng.labels = { ...labels };
          update.status = 'Successful';
        }
        ng.status = 'ACTIVE';
        ng.statusSince = clock.now();
        ng.modifiedAt = clock.now();
        logger.info({ region: ng.region, cluster: ng.clusterName, nodegroup: ng.nodegroupName }, 'eks node group update successful');
      } else {
        nodegroups.delete(nodegroupKey(ng.region, ng.clusterName, ng.nodegroupName));
        dropUpdates(ng.region, ng.clusterName, ng.nodegroupName);
        counters.deleted('eks:nodegroup');
        logger.info({ region: ng.region, cluster: ng.clusterName, nodegroup: ng.nodegroupName }, 'eks node group deleted');
      }
      if (cluster !== undefined && servesKube(cluster)) syncKubeCluster(cluster);
    }
    reschedule();
    if (changes > 0) changed();
  }

  function reschedule(): void {
    cancelTimer?.();
    cancelTimer = undefined;
    let next: number | undefined;
    for (const cluster of clusters.values()) {
      const remaining = transitionDue(cluster.statusSince, cluster.status, 'cluster');
      if (remaining !== undefined) next = Math.min(next ?? Infinity, remaining);
    }
    for (const ng of nodegroups.values()) {
      const remaining = transitionDue(ng.statusSince, ng.status, 'nodegroup');
      if (remaining !== undefined) next = Math.min(next ?? Infinity, remaining);
    }
    if (next !== undefined) cancelTimer = clock.after(Math.max(0, next) + clock.scale, advance);
  }

  function inProgressUpdateOf(region: string, clusterName: string, nodegroupName: string | undefined): UpdateRecord | undefined {
    return [...updates.values()].find(
      (u) => u.region === region && u.clusterName === clusterName && u.nodegroupName === nodegroupName && u.status === 'InProgress',
    );
  }

  /** Forgets the updates of a deleted cluster (all of them) or node group (its own). */
  function dropUpdates(region: string, clusterName: string, nodegroupName: string | undefined): void {
    for (const [id, u] of updates) {
      if (u.region === region && u.clusterName === clusterName && (nodegroupName === undefined || u.nodegroupName === nodegroupName)) updates.delete(id);
    }
  }

  /** An update already made with this token for this resource (a retried call returns it). */
  function updateByToken(region: string, clusterName: string, nodegroupName: string | undefined, token: string | undefined): UpdateRecord | undefined {
    if (token === undefined) return undefined;
    return [...updates.values()].find(
      (u) => u.region === region && u.clusterName === clusterName && u.nodegroupName === nodegroupName && u.clientRequestToken === token,
    );
  }

  function startUpdate(fields: Omit<UpdateRecord, 'id' | 'status' | 'createdAt'>): UpdateRecord {
    const update: UpdateRecord = { id: randomUUID(), status: 'InProgress', createdAt: clock.now(), ...fields };
    if (update.clientRequestToken === undefined) delete update.clientRequestToken;
    if (update.nodegroupName === undefined) delete update.nodegroupName;
    updates.set(update.id, update);
    return update;
  }

  function renderUpdate(update: UpdateRecord): Record<string, unknown> {
    return {
      id: update.id,
      status: update.status,
      type: update.type,
      params: update.params.map((param) => ({ ...param })),
      createdAt: update.createdAt / 1000,
      errors: [],
    };
  }

  /** A node group can change only while it and its cluster are ACTIVE. */
  function nodegroupForUpdate(region: string, clusterName: string, nodegroupName: string): { cluster: ClusterRecord; ng: NodegroupRecord } {
    const cluster = clusterOrThrow(region, clusterName);
    const ng = nodegroupOrThrow(region, clusterName, nodegroupName);
    if (cluster.status !== 'ACTIVE') {
      throw new AwsError('ResourceInUseException', `Cluster ${clusterName} is currently ${cluster.status}; node groups can be updated once it is ACTIVE.`, {
        status: 409,
      });
    }
    if (ng.status !== 'ACTIVE') {
      throw new AwsError('ResourceInUseException', `Nodegroup ${nodegroupName} is currently ${ng.status}; it can be updated once it is ACTIVE.`, { status: 409 });
    }
    return { cluster, ng };
  }

  function resolveArn(region: string, arn: string): { tags: Record<string, string> } {
    const cluster = [...clusters.values()].find((c) => c.arn === arn);
    if (cluster) return cluster;
    const ng = [...nodegroups.values()].find((n) => n.arn === arn);
    if (ng) return ng;
    if (!/^arn:aws[a-z-]*:eks:[a-z0-9-]+:\d{12}:[a-z-]+\/.+/.test(arn)) {
      throw new AwsError('BadRequestException', `${arn} is not a valid EKS resource ARN.`, { status: 400 });
    }
    throw new AwsError('NotFoundException', `Resource ${arn} was not found in ${region}.`, { status: 404 });
  }

  function paginate(names: string[], page: PageRequest): { items: string[]; nextToken?: string } {
    const sorted = [...names].sort();
    const maxResults = page.maxResults ?? 100;
    let start = 0;
    if (page.nextToken !== undefined) {
      const after = decodeToken(page.nextToken);
      start = sorted.findIndex((name) => name > after);
      if (start < 0) start = sorted.length;
    }
    const items = sorted.slice(start, start + maxResults);
    const more = start + maxResults < sorted.length;
    return { items, ...(more ? { nextToken: encodeToken(items[items.length - 1] ?? '') } : {}) };
  }

  /** EKS looks each subnet up in EC2 and passes EC2's refusal on, wrapped as EKS wraps it. */
  function subnetsOrThrow(region: string, subnetIds: string[]): EksSubnet[] {
    return subnetIds.map((subnetId) => {
      const found = options.subnet(region, subnetId);
      if (found === undefined) {
        throw invalid(
          `The subnet ID '${subnetId}' does not exist (Service: AmazonEC2; Status Code: 400; Error Code: InvalidSubnetID.NotFound; Request ID: ${randomUUID()}; Proxy: null)`,
        );
      }
      return found;
    });
  }

  /** The VPC of a new cluster: its subnets' one VPC, in at least two availability zones. */
  function clusterVpcOrThrow(region: string, subnetIds: string[]): string {
    const subnets = subnetsOrThrow(region, subnetIds);
    const vpcIds = new Set(subnets.map((subnet) => subnet.vpcId));
    if (vpcIds.size > 1) throw invalid('Subnets specified must belong to the same VPC.');
    const zones = new Set(subnets.map((subnet) => subnet.availabilityZone));
    const [vpcId] = vpcIds;
    if (zones.size < 2 || vpcId === undefined) throw invalid('Subnets specified must be in at least two different AZs');
    return vpcId;
  }

  return {
    createCluster(region, input) {
      advance();
      const name = requireName(input.name, 'name');
      const token = optionalString(input.clientRequestToken, 'clientRequestToken');
      const existing = clusters.get(clusterKey(region, name));
      if (existing) {
        if (token !== undefined && existing.clientRequestToken === token) return renderCluster(existing);
        throw new AwsError('ResourceInUseException', `Cluster already exists with name: ${name}`, { status: 409 });
      }
      const roleArn = requireString(input.roleArn, 'roleArn');
      if (!ROLE_ARN_PATTERN.test(roleArn)) throw invalid(`roleArn '${roleArn}' is not a valid IAM role ARN.`);
      if (!options.roleTrusts(roleArn, CLUSTER_SERVICE_PRINCIPAL)) {
        throw invalid(`Role with arn: ${roleArn}, could not be assumed because it does not exist or the trusted entity is not correct`);
      }
      const version = optionalString(input.version, 'version') ?? DEFAULT_VERSION;
      if (!SUPPORTED_VERSIONS.includes(version)) {
        throw invalid(`unsupported Kubernetes version ${version}. Supported: ${SUPPORTED_VERSIONS.join(', ')}.`);
      }
      const vpc = requireObject(input.resourcesVpcConfig, 'resourcesVpcConfig');
      const subnetIds = optionalStringList(vpc.subnetIds, 'resourcesVpcConfig.subnetIds') ?? [];
      const vpcId = clusterVpcOrThrow(region, subnetIds);
      const securityGroupIds = optionalStringList(vpc.securityGroupIds, 'resourcesVpcConfig.securityGroupIds') ?? [];
      const network = input.kubernetesNetworkConfig === undefined ? {} : requireObject(input.kubernetesNetworkConfig, 'kubernetesNetworkConfig');
      const uid = randomUUID();
      const now = clock.now();
      const cluster: ClusterRecord = {
        region,
        name,
        arn: `arn:aws:eks:${region}:${accountId}:cluster/${name}`,
        status: 'CREATING',
        statusSince: now,
        createdAt: now,
        ...(token !== undefined ? { clientRequestToken: token } : {}),
        version,
        roleArn,
        resourcesVpcConfig: {
          subnetIds,
          securityGroupIds,
          clusterSecurityGroupId: `sg-${uid.replace(/-/g, '').slice(0, 17)}`,
          vpcId,
          endpointPublicAccess: vpc.endpointPublicAccess ?? true,
          endpointPrivateAccess: vpc.endpointPrivateAccess ?? false,
          publicAccessCidrs: optionalStringList(vpc.publicAccessCidrs, 'resourcesVpcConfig.publicAccessCidrs') ?? ['0.0.0.0/0'],
        },
        kubernetesNetworkConfig: {
          serviceIpv4Cidr: typeof network.serviceIpv4Cidr === 'string' ? network.serviceIpv4Cidr : '10.100.0.0/16',
          ipFamily: typeof network.ipFamily === 'string' ? network.ipFamily : 'ipv4',
        },
        ...(input.logging !== undefined ? { logging: input.logging } : {}),
        ...(input.accessConfig !== undefined ? { accessConfig: input.accessConfig } : {}),
        tags: validTags(input.tags, 'tags'),
        uid,
      };
      clusters.set(clusterKey(region, name), cluster);
      counters.created('eks:cluster');
      logger.info({ region, cluster: name }, 'eks cluster CREATING');
      reschedule();
      changed();
      return renderCluster(cluster);
    },

    describeCluster(region, name) {
      advance();
      return renderCluster(clusterOrThrow(region, name));
    },

    listClusters(region, page) {
      advance();
      const names = [...clusters.values()].filter((c) => c.region === region).map((c) => c.name);
      const { items, nextToken } = paginate(names, page);
      return { clusters: items, ...(nextToken ? { nextToken } : {}) };
    },

    deleteCluster(region, name) {
      advance();
      const cluster = clusterOrThrow(region, name);
      if (cluster.status === 'DELETING') return renderCluster(cluster);
      if (cluster.status === 'CREATING') {
        throw new AwsError('ResourceInUseException', `Cluster ${name} is currently being created; delete it once it is ACTIVE.`, { status: 409 });
      }
      if (cluster.status === 'UPDATING') {
        throw new AwsError('ResourceInUseException', `Cluster ${name} is currently being updated; delete it once it is ACTIVE.`, { status: 409 });
      }
      const attached = nodegroupsOf(cluster).map((ng) => ng.nodegroupName);
      if (attached.length > 0) {
        throw new AwsError('ResourceInUseException', `Cluster has nodegroups attached: ${attached.sort().join(', ')}`, { status: 409 });
      }
      cluster.status = 'DELETING';
      cluster.statusSince = clock.now();
      logger.info({ region, cluster: name }, 'eks cluster DELETING');
      reschedule();
      changed();
      return renderCluster(cluster);
    },

    createNodegroup(region, clusterName, input) {
      advance();
      const cluster = clusterOrThrow(region, clusterName);
      const name = requireName(input.nodegroupName, 'nodegroupName');
      const token = optionalString(input.clientRequestToken, 'clientRequestToken');
      const existing = nodegroups.get(nodegroupKey(region, clusterName, name));
      if (existing) {
        if (token !== undefined && existing.clientRequestToken === token) return renderNodegroup(existing);
        throw new AwsError('ResourceInUseException', `NodeGroup already exists with name ${name} and cluster name ${clusterName}`, {
          status: 409,
        });
      }
      if (cluster.status !== 'ACTIVE') {
        throw new AwsError('InvalidRequestException', `Cluster '${clusterName}' is not in ACTIVE status`, { status: 400 });
      }
      const subnets = optionalStringList(input.subnets, 'subnets');
      if (subnets === undefined || subnets.length === 0) throw invalid('subnets: at least one subnet is required.');
      const nodeRole = requireString(input.nodeRole, 'nodeRole');
      if (!ROLE_ARN_PATTERN.test(nodeRole)) throw invalid(`nodeRole '${nodeRole}' is not a valid IAM role ARN.`);
      if (!options.roleTrusts(nodeRole, NODE_SERVICE_PRINCIPAL)) {
        throw invalid(`Following required service principals [${NODE_SERVICE_PRINCIPAL}] were not found in the trust relationships of nodeRole ${nodeRole}`);
      }
      const clusterVpcId = cluster.resourcesVpcConfig.vpcId;
      if (subnetsOrThrow(region, subnets).some((subnet) => subnet.vpcId !== clusterVpcId)) {
        throw invalid(`Specified subnets must belong to cluster's vpc ${String(clusterVpcId)}`);
      }
      const scaling = input.scalingConfig === undefined ? {} : requireObject(input.scalingConfig, 'scalingConfig');
      const minSize = optionalInteger(scaling.minSize, 'scalingConfig.minSize') ?? 1;
      const maxSize = optionalInteger(scaling.maxSize, 'scalingConfig.maxSize') ?? 2;
      const desiredSize = optionalInteger(scaling.desiredSize, 'scalingConfig.desiredSize') ?? 2;
      if (minSize < 0) throw invalid('scalingConfig.minSize must be >= 0.');
      if (maxSize < 1) throw invalid('scalingConfig.maxSize must be >= 1.');
      if (desiredSize < minSize || desiredSize > maxSize) {
        throw invalid(`scalingConfig.desiredSize (${desiredSize}) must be between minSize (${minSize}) and maxSize (${maxSize}).`);
      }
      const version = optionalString(input.version, 'version') ?? cluster.version;
      if (version !== cluster.version) throw invalid(`version ${version} must match the cluster's version ${cluster.version}.`);
      const diskSize = optionalInteger(input.diskSize, 'diskSize') ?? 20;
      const labels = validTags(input.labels, 'labels');
      const now = clock.now();
      const ng: NodegroupRecord = {
        region,
        clusterName,
        nodegroupName: name,
        arn: `arn:aws:eks:${region}:${accountId}:nodegroup/${clusterName}/${name}/${randomUUID()}`,
        status: 'CREATING',
        statusSince: now,
        createdAt: now,
        modifiedAt: now,
        ...(token !== undefined ? { clientRequestToken: token } : {}),
        version,
        releaseVersion: releaseOf(version),
        nodeRole,
        subnets,
        instanceTypes: optionalStringList(input.instanceTypes, 'instanceTypes') ?? ['t3.medium'],
        amiType: optionalString(input.amiType, 'amiType') ?? 'AL2023_x86_64_STANDARD',
        capacityType: optionalString(input.capacityType, 'capacityType') ?? 'ON_DEMAND',
        diskSize,
        scalingConfig: { minSize, maxSize, desiredSize },
        labels,
        taints: Array.isArray(input.taints) ? input.taints : [],
        tags: validTags(input.tags, 'tags'),
        ordinal: nextOrdinal++,
      };
      nodegroups.set(nodegroupKey(region, clusterName, name), ng);
      counters.created('eks:nodegroup');
      logger.info({ region, cluster: clusterName, nodegroup: name }, 'eks node group CREATING');
      reschedule();
      changed();
      return renderNodegroup(ng);
    },

    describeNodegroup(region, clusterName, nodegroupName) {
      advance();
      clusterOrThrow(region, clusterName);
      return renderNodegroup(nodegroupOrThrow(region, clusterName, nodegroupName));
    },

    listNodegroups(region, clusterName, page) {
      advance();
      const cluster = clusterOrThrow(region, clusterName);
      const { items, nextToken } = paginate(
        nodegroupsOf(cluster).map((ng) => ng.nodegroupName),
        page,
      );
      return { nodegroups: items, ...(nextToken ? { nextToken } : {}) };
    },

    deleteNodegroup(region, clusterName, nodegroupName) {
      advance();
      clusterOrThrow(region, clusterName);
      const ng = nodegroupOrThrow(region, clusterName, nodegroupName);
      if (ng.status === 'DELETING') return renderNodegroup(ng);
      if (ng.status === 'CREATING') {
        throw new AwsError('ResourceInUseException', `Nodegroup ${nodegroupName} is currently being created.`, { status: 409 });
      }
      if (ng.status === 'UPDATING') {
        throw new AwsError('ResourceInUseException', `Nodegroup ${nodegroupName} is currently being updated.`, { status: 409 });
      }
      ng.status = 'DELETING';
      ng.statusSince = clock.now();
      ng.modifiedAt = clock.now();
      logger.info({ region, cluster: clusterName, nodegroup: nodegroupName }, 'eks node group DELETING');
      reschedule();
      changed();
      return renderNodegroup(ng);
    },

    tagResource(region, arn, tags) {
      advance();
      const resource = resolveArn(region, arn);
      const added = validTags(tags, 'tags', 'BadRequestException');
      if (Object.keys(added).length === 0) throw new AwsError('BadRequestException', 'tags: at least one tag is required.');
      const merged = { ...resource.tags, ...added };
      if (Object.keys(merged).length > 50) throw new AwsError('BadRequestException', 'tags: a resource can have at most 50 tags.');
      resource.tags = merged;
      changed();
    },

    untagResource(region, arn, tagKeys) {
      advance();
      const resource = resolveArn(region, arn);
      if (tagKeys.length === 0) throw new AwsError('BadRequestException', 'tagKeys: at least one tag key is required.');
      resource.tags = Object.fromEntries(Object.entries(resource.tags).filter(([key]) => !tagKeys.includes(key)));
      changed();
    },

    listTagsForResource(region, arn) {
      advance();
      return { ...resolveArn(region, arn).tags };
    },

    updateClusterVersion(region, name, input) {
      advance();
      const cluster = clusterOrThrow(region, name);
      const token = optionalString(input.clientRequestToken, 'clientRequestToken');
      const retried = updateByToken(region, name, undefined, token);
      if (retried) return renderUpdate(retried);
      const version = requireString(input.version, 'version');
      if (cluster.status === 'UPDATING') {
        throw new AwsError('ResourceInUseException', `Cluster ${name} already has an update in progress.`, { status: 409 });
      }
      if (cluster.status !== 'ACTIVE') {
        throw new AwsError('ResourceInUseException', `Cluster ${name} is currently ${cluster.status}; it can be updated once it is ACTIVE.`, { status: 409 });
      }
      if (!SUPPORTED_VERSIONS.includes(version)) {
        throw invalid(`version: unsupported Kubernetes version ${version}. Supported: ${SUPPORTED_VERSIONS.join(', ')}.`);
      }
      if (version === cluster.version) throw invalid(`version: the cluster is already at version ${version}.`);
      if (minorOf(version) !== minorOf(cluster.version) + 1) {
        throw invalid(`version: unsupported Kubernetes minor version update from ${cluster.version} to ${version}; a cluster moves one minor version at a time.`);
      }
      const busy = nodegroupsOf(cluster).filter((ng) => ng.status !== 'ACTIVE');
      if (busy.length > 0) {
        throw new AwsError('ResourceInUseException', `Nodegroups ${names(busy)} are not ACTIVE; update the cluster once they are.`, { status: 409 });
      }
      const behind = nodegroupsOf(cluster).filter((ng) => ng.version !== cluster.version);
      if (behind.length > 0) {
        throw invalid(`Nodegroups ${names(behind)} must be updated to match cluster version ${cluster.version} before updating cluster version.`);
      }
      const update = startUpdate({
        region,
        clusterName: name,
        type: 'VersionUpdate',
        params: [
          { type: 'Version', value: version },
          { type: 'PlatformVersion', value: 'eks.1' },
        ],
        clientRequestToken: token,
        target: { version },
      });
      cluster.status = 'UPDATING';
      cluster.statusSince = clock.now();
      logger.info({ region, cluster: name, from: cluster.version, to: version }, 'eks cluster UPDATING');
      reschedule();
      changed();
      return renderUpdate(update);
    },

    updateNodegroupConfig(region, clusterName, nodegroupName, input) {
      advance();
      clusterOrThrow(region, clusterName);
      nodegroupOrThrow(region, clusterName, nodegroupName);
      const token = optionalString(input.clientRequestToken, 'clientRequestToken');
      const retried = updateByToken(region, clusterName, nodegroupName, token);
      if (retried) return renderUpdate(retried);
      for (const field of ['taints', 'updateConfig', 'nodeRepairConfig', 'warmPoolConfig']) {
        if (input[field] !== undefined && input[field] !== null) throw invalid(`${field}: the sandbox does not simulate updating it; only scalingConfig and labels.`);
      }
      const { ng } = nodegroupForUpdate(region, clusterName, nodegroupName);
      const params: Array<{ type: string; value: string }> = [];
      const target: UpdateRecord['target'] = {};
      if (input.scalingConfig !== undefined && input.scalingConfig !== null) {
        const scaling = requireObject(input.scalingConfig, 'scalingConfig');
        const given = {
          minSize: optionalInteger(scaling.minSize, 'scalingConfig.minSize'),
          maxSize: optionalInteger(scaling.maxSize, 'scalingConfig.maxSize'),
          desiredSize: optionalInteger(scaling.desiredSize, 'scalingConfig.desiredSize'),
        };
        const next = {
          minSize: given.minSize ?? ng.scalingConfig.minSize,
          maxSize: given.maxSize ?? ng.scalingConfig.maxSize,
          desiredSize: given.desiredSize ?? ng.scalingConfig.desiredSize,
        };
        if (next.minSize < 0) throw invalid('scalingConfig.minSize must be >= 0.');
        if (next.maxSize < 1) throw invalid('scalingConfig.maxSize must be >= 1.');
        if (next.minSize > next.maxSize) throw invalid(`scalingConfig.minSize (${next.minSize}) must not be greater than maxSize (${next.maxSize}).`);
        if (next.desiredSize < next.minSize || next.desiredSize > next.maxSize) {
          throw invalid(`scalingConfig.desiredSize (${next.desiredSize}) must be between minSize (${next.minSize}) and maxSize (${next.maxSize}).`);
        }
        if (given.minSize !== undefined) params.push({ type: 'MinSize', value: String(given.minSize) });
        if (given.maxSize !== undefined) params.push({ type: 'MaxSize', value: String(given.maxSize) });
        if (given.desiredSize !== undefined) params.push({ type: 'DesiredSize', value: String(given.desiredSize) });
        target.scalingConfig = next;
      }
      if (input.labels !== undefined && input.labels !== null) {
        const labels = requireObject(input.labels, 'labels');
        const add = validTags(labels.addOrUpdateLabels, 'labels.addOrUpdateLabels');
        const remove = optionalStringList(labels.removeLabels, 'labels.removeLabels') ?? [];
        const clash = remove.find((key) => key in add);
        if (clash !== undefined) throw invalid(`labels: '${clash}' cannot be both added and removed.`);
        if (Object.keys(add).length > 0) params.push({ type: 'LabelsToAdd', value: JSON.stringify(add) });
        if (remove.length > 0) params.push({ type: 'LabelsToRemove', value: JSON.stringify(remove) });
        target.labels = { ...Object.fromEntries(Object.entries(ng.labels).filter(([key]) => !remove.includes(key))), ...add };
      }
      if (params.length === 0) throw invalid('scalingConfig or labels: the update changes nothing; give at least one of them.');
      const update = startUpdate({ region, clusterName, nodegroupName, type: 'ConfigUpdate', params, clientRequestToken: token, target });
      ng.status = 'UPDATING';
      ng.statusSince = clock.now();
      ng.modifiedAt = clock.now();
      logger.info({ region, cluster: clusterName, nodegroup: nodegroupName, params }, 'eks node group UPDATING');
      reschedule();
      changed();
      return renderUpdate(update);
    },

    updateNodegroupVersion(region, clusterName, nodegroupName, input) {
      advance();
      clusterOrThrow(region, clusterName);
      nodegroupOrThrow(region, clusterName, nodegroupName);
      const token = optionalString(input.clientRequestToken, 'clientRequestToken');
      const retried = updateByToken(region, clusterName, nodegroupName, token);
      if (retried) return renderUpdate(retried);
      if (input.launchTemplate !== undefined && input.launchTemplate !== null) {
        throw invalid('launchTemplate: the sandbox does not simulate launch templates.');
      }
      const { cluster, ng } = nodegroupForUpdate(region, clusterName, nodegroupName);
      const version = optionalString(input.version, 'version') ?? cluster.version;
      if (version !== cluster.version) {
        throw invalid(`version: requested node group version ${version} is invalid; the only allowed value is the cluster's version ${cluster.version}.`);
      }
      const releaseVersion = optionalString(input.releaseVersion, 'releaseVersion') ?? releaseOf(version);
      if (!releaseVersion.startsWith(`${version}.`)) throw invalid(`releaseVersion ${releaseVersion} is not a release of Kubernetes ${version}.`);
      if (version === ng.version && releaseVersion === ng.releaseVersion) {
        throw invalid(`version: node group ${nodegroupName} is already at version ${version} (release ${releaseVersion}).`);
      }
      const update = startUpdate({
        region,
        clusterName,
        nodegroupName,
        type: 'VersionUpdate',
        params: [
          { type: 'Version', value: version },
          { type: 'ReleaseVersion', value: releaseVersion },
        ],
        clientRequestToken: token,
        target: { version, releaseVersion },
      });
      ng.status = 'UPDATING';
      ng.statusSince = clock.now();
      ng.modifiedAt = clock.now();
      logger.info({ region, cluster: clusterName, nodegroup: nodegroupName, from: ng.version, to: version }, 'eks node group UPDATING');
      reschedule();
      changed();
      return renderUpdate(update);
    },

    describeUpdate(region, name, updateId, nodegroupName) {
      advance();
      clusterOrThrow(region, name);
      if (nodegroupName !== undefined) nodegroupOrThrow(region, name, nodegroupName);
      const update = updates.get(updateId);
      if (!update || update.region !== region || update.clusterName !== name || update.nodegroupName !== nodegroupName) {
        throw new AwsError('ResourceNotFoundException', `No update found for ID: ${updateId}.`, { status: 404 });
      }
      return renderUpdate(update);
    },

    listUpdates(region, name, nodegroupName, page) {
      advance();
      clusterOrThrow(region, name);
      if (nodegroupName !== undefined) nodegroupOrThrow(region, name, nodegroupName);
      const ids = [...updates.values()]
        .filter((u) => u.region === region && u.clusterName === name && u.nodegroupName === nodegroupName)
        .map((u) => u.id);
      const { items, nextToken } = paginate(ids, page);
      return { updateIds: items, ...(nextToken ? { nextToken } : {}) };
    },

    usesSubnet(region, subnetId) {
      advance();
      return (
        [...clusters.values()].some((c) => c.region === region && ((c.resourcesVpcConfig.subnetIds ?? []) as string[]).includes(subnetId)) ||
        [...nodegroups.values()].some((ng) => ng.region === region && ng.subnets.includes(subnetId))
      );
    },

    usesVpc(region, vpcId) {
      advance();
      return [...clusters.values()].some((c) => c.region === region && c.resourcesVpcConfig.vpcId === vpcId);
    },

    inventory: () => ({
      clusters: [...clusters.values()].map((c) => ({
        region: c.region,
        name: c.name,
        status: c.status,
        ...(servesKube(c) ? { kubeCluster: kubeClusterNameOf(c.region, c.name) } : {}),
      })),
      nodegroups: [...nodegroups.values()].map((n) => ({ region: n.region, name: n.nodegroupName, cluster: n.clusterName, status: n.status })),
    }),

    activeKubeClusters: () =>
      [...clusters.values()].filter(servesKube).map((c) => kubeClusterNameOf(c.region, c.name)),

    clusterOfKube(kubeClusterName) {
      const cluster = [...clusters.values()].find(
        (c) => servesKube(c) && kubeClusterNameOf(c.region, c.name) === kubeClusterName,
      );
      return cluster === undefined ? undefined : { region: cluster.region, name: cluster.name };
    },

    advance,
    reschedule,

    snapshot: () => ({
      clusters: [...clusters.values()].map((c) => structuredClone(c)),
      nodegroups: [...nodegroups.values()].map((n) => structuredClone(n)),
      updates: [...updates.values()].map((u) => structuredClone(u)),
      nextOrdinal,
    }),

    restore(snapshot) {
      clusters = new Map(snapshot.clusters.map((c) => [clusterKey(c.region, c.name), structuredClone(c)]));
      nodegroups = new Map(snapshot.nodegroups.map((n) => [nodegroupKey(n.region, n.clusterName, n.nodegroupName), structuredClone(n)]));
      updates = new Map((snapshot.updates ?? []).map((u) => [u.id, structuredClone(u)]));
      nextOrdinal = snapshot.nextOrdinal;
      const present = new Set(kube.listClusters().map((c) => c.name));
      for (const cluster of clusters.values()) {
        if (servesKube(cluster) && !present.has(kubeClusterNameOf(cluster.region, cluster.name))) syncKubeCluster(cluster);
      }
      advance();
    },

    reset() {
      cancelTimer?.();
      cancelTimer = undefined;
      clusters = new Map();
      nodegroups = new Map();
      updates = new Map();
      nextOrdinal = 1;
      changed();
    },

    close() {
      cancelTimer?.();
      cancelTimer = undefined;
    },
  };
}

function minorOf(version: string): number {
  return Number(version.split('.')[1] ?? Number.NaN);
}

function releaseOf(version: string): string {
  return `${version}.0-20261101`;
}

function names(nodegroups: NodegroupRecord[]): string {
  return `[${nodegroups.map((ng) => ng.nodegroupName).sort().join(', ')}]`;
}

function invalid(message: string): AwsError {
  return new AwsError('InvalidParameterException', message, { status: 400 });
}

function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw invalid(`${field}: a non-empty string is required.`);
  return value;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${field}: must be a string.`);
  return value;
}

function requireName(value: unknown, field: string): string {
  const name = requireString(value, field);
  if (name.length > 100 || !NAME_PATTERN.test(name)) {
    throw invalid(`${field} '${name}' must be 1 to 100 characters, start with a letter or digit, and contain only letters, digits, '-' and '_'.`);
  }
  return name;
}

function requireObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${field}: an object is required.`);
  return value as Record<string, unknown>;
}

function optionalStringList(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw invalid(`${field}: must be a list of strings.`);
  return value as string[];
}

function optionalInteger(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(`${field}: must be an integer.`);
  return value;
}

function validTags(value: unknown, field: string, code = 'InvalidParameterException'): Record<string, string> {
  if (value === undefined || value === null) return {};
  const fail = (message: string) => new AwsError(code, message, { status: 400 });
  if (typeof value !== 'object' || Array.isArray(value)) throw fail(`${field}: must be a map of strings.`);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 50) throw fail(`${field}: at most 50 entries.`);
  for (const [key, item] of entries) {
    if (key.length === 0 || key.length > 128) throw fail(`${field}: key '${key}' must be 1 to 128 characters.`);
    if (typeof item !== 'string' || item.length > 256) throw fail(`${field}: value of '${key}' must be a string of at most 256 characters.`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function encodeToken(lastName: string): string {
  return Buffer.from(JSON.stringify({ after: lastName })).toString('base64url');
}

function decodeToken(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string') return parsed.after;
  } catch {
    // fall through
  }
  throw invalid('nextToken: the pagination token is not valid.');
}
