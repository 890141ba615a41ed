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

export type ClusterStatus = 'CREATING' | 'ACTIVE' | 'DELETING' | 'FAILED';
export type NodegroupStatus = 'CREATING' | 'ACTIVE' | 'DELETING';

/** Simulated durations in ms of sandbox time. */
export interface EksDurations {
  clusterCreate: number;
  clusterDelete: number;
  nodegroupCreate: number;
  nodegroupDelete: number;
}

export const DEFAULT_EKS_DURATIONS: EksDurations = {
  clusterCreate: 10 * 60_000,
  clusterDelete: 5 * 60_000,
  nodegroupCreate: 3 * 60_000,
  nodegroupDelete: 3 * 60_000,
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

export interface EksSnapshot {
  clusters: ClusterRecord[];
  nodegroups: NodegroupRecord[];
  nextOrdinal: number;
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
const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

export function createEksSimulator(options: EksSimulatorOptions): EksSimulator {
  const { clock, counters, clusters: kube, accountId, logger } = options;
  const durations: EksDurations = { ...DEFAULT_EKS_DURATIONS, ...options.durations };
  let clusters = new Map<string, ClusterRecord>();
  let nodegroups = new Map<string, NodegroupRecord>();
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

  function nodesOf(cluster: ClusterRecord): KubeNode[] {
    return nodegroupsOf(cluster)
      .filter((ng) => ng.status === 'ACTIVE')
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
    kube.addCluster(kubeClusterNameOf(cluster.region, cluster.name), { nodes: nodesOf(cluster) });
  }

  function renderCluster(cluster: ClusterRecord): Record<string, unknown> {
    const kubeName = kubeClusterNameOf(cluster.region, cluster.name);
    const active = cluster.status === 'ACTIVE';
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
      ...(ng.status === 'ACTIVE'
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
            : undefined
        : status === 'CREATING'
          ? durations.nodegroupCreate
          : status === 'DELETING'
            ? durations.nodegroupDelete
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
      } else {
        clusters.delete(clusterKey(cluster.region, cluster.name));
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
      } else {
        nodegroups.delete(nodegroupKey(ng.region, ng.clusterName, ng.nodegroupName));
        counters.deleted('eks:nodegroup');
        logger.info({ region: ng.region, cluster: ng.clusterName, nodegroup: ng.nodegroupName }, 'eks node group deleted');
      }
      if (cluster?.status === 'ACTIVE') syncKubeCluster(cluster);
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
      const version = optionalString(input.version, 'version') ?? DEFAULT_VERSION;
      if (!SUPPORTED_VERSIONS.includes(version)) {
        throw invalid(`unsupported Kubernetes version ${version}. Supported: ${SUPPORTED_VERSIONS.join(', ')}.`);
      }
      const vpc = requireObject(input.resourcesVpcConfig, 'resourcesVpcConfig');
      const subnetIds = optionalStringList(vpc.subnetIds, 'resourcesVpcConfig.subnetIds') ?? [];
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
          vpcId: typeof vpc.vpcId === 'string' ? vpc.vpcId : `vpc-${uid.replace(/-/g, '').slice(-17)}`,
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
        releaseVersion: `${version}.0-20261101`,
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

    inventory: () => ({
      clusters: [...clusters.values()].map((c) => ({
        region: c.region,
        name: c.name,
        status: c.status,
        ...(c.status === 'ACTIVE' ? { kubeCluster: kubeClusterNameOf(c.region, c.name) } : {}),
      })),
      nodegroups: [...nodegroups.values()].map((n) => ({ region: n.region, name: n.nodegroupName, cluster: n.clusterName, status: n.status })),
    }),

    activeKubeClusters: () =>
      [...clusters.values()].filter((c) => c.status === 'ACTIVE').map((c) => kubeClusterNameOf(c.region, c.name)),

    clusterOfKube(kubeClusterName) {
      const cluster = [...clusters.values()].find(
        (c) => c.status === 'ACTIVE' && kubeClusterNameOf(c.region, c.name) === kubeClusterName,
      );
      return cluster === undefined ? undefined : { region: cluster.region, name: cluster.name };
    },

    advance,
    reschedule,

    snapshot: () => ({
      clusters: [...clusters.values()].map((c) => structuredClone(c)),
      nodegroups: [...nodegroups.values()].map((n) => structuredClone(n)),
      nextOrdinal,
    }),

    restore(snapshot) {
      clusters = new Map(snapshot.clusters.map((c) => [clusterKey(c.region, c.name), structuredClone(c)]));
      nodegroups = new Map(snapshot.nodegroups.map((n) => [nodegroupKey(n.region, n.clusterName, n.nodegroupName), structuredClone(n)]));
      nextOrdinal = snapshot.nextOrdinal;
      const present = new Set(kube.listClusters().map((c) => c.name));
      for (const cluster of clusters.values()) {
        if (cluster.status === 'ACTIVE' && !present.has(kubeClusterNameOf(cluster.region, cluster.name))) syncKubeCluster(cluster);
      }
      advance();
    },

    reset() {
      cancelTimer?.();
      cancelTimer = undefined;
      clusters = new Map();
      nodegroups = new Map();
      nextOrdinal = 1;
      changed();
    },

    close() {
      cancelTimer?.();
      cancelTimer = undefined;
    },
  };
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
