/**
 * The EKS half: the cluster (found by its name, made with a client request token derived from the
 * object's uid), its managed node groups (one per spec entry, named after the entry and its
 * instance types), day-two changes (scaling, replacement groups, version upgrades one minor at a
 * time, control plane first), and their teardown. Each function does what is due now and says what
 * it waits for; nothing here sleeps.
 */
import {
  CreateClusterCommand,
  CreateNodegroupCommand,
  DeleteClusterCommand,
  DeleteNodegroupCommand,
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  DescribeUpdateCommand,
  ListNodegroupsCommand,
  ListUpdatesCommand,
  UpdateClusterVersionCommand,
  UpdateNodegroupConfigCommand,
  UpdateNodegroupVersionCommand,
  type Cluster,
  type Nodegroup,
  type Update,
} from '@aws-sdk/client-eks';
import type { ClusterRoles } from './eks-iam.js';
import { minorOf, NODEGROUP_TAG, nodegroupName, OWNER_TAG, ownershipTags, requestToken } from './eks-naming.js';
import type { ClusterNetwork, Waiting } from './eks-network.js';
import { ProvisioningRefused, unlessNotFound, type EksRun } from './eks-run.js';
import type { EksClusterSpec, EksNodegroupOutput } from './eks-types.js';

async function describeCluster(run: EksRun): Promise<Cluster | undefined> {
  return (await unlessNotFound(run.eks.send(new DescribeClusterCommand({ name: run.name }), run.send)))?.cluster;
}

/** The cluster's node groups that carry this object's owner tag. */
async function ownedNodegroups(run: EksRun): Promise<Nodegroup[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await unlessNotFound(run.eks.send(new ListNodegroupsCommand({ clusterName: run.name, ...(nextToken ? { nextToken } : {}) }), run.send));
    names.push(...(page?.nodegroups ?? []));
    nextToken = page?.nextToken;
  } while (nextToken);
  const found: Nodegroup[] = [];
  for (const name of names) {
    const ng = (await unlessNotFound(run.eks.send(new DescribeNodegroupCommand({ clusterName: run.name, nodegroupName: name }), run.send)))?.nodegroup;
    if (ng !== undefined && ng.tags?.[OWNER_TAG] === run.uid) found.push(ng);
  }
  return found;
}

/** The update in progress on the cluster (`nodegroup` absent) or one node group, if any. */
async function updateInProgress(run: EksRun, nodegroup?: string): Promise<Update | undefined> {
  let nextToken: string | undefined;
  do {
    const page = await run.eks.send(new ListUpdatesCommand({ name: run.name, ...(nodegroup ? { nodegroupName: nodegroup } : {}), ...(nextToken ? { nextToken } : {}) }), run.send);
    for (const updateId of page.updateIds ?? []) {
      const { update } = await run.eks.send(new DescribeUpdateCommand({ name: run.name, updateId, ...(nodegroup ? { nodegroupName: nodegroup } : {}) }), run.send);
      if (update?.status === 'InProgress') return update;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
}

const paramOf = (update: Update | undefined, type: string) => update?.params?.find((param) => param.type === type)?.value;

function updateWords(update: Update | undefined): string {
  return update === undefined ? 'update pending' : `update ${update.id ?? '?'} ${update.status ?? 'InProgress'}`;
}

/** Makes the cluster or finds it; answers it once it serves (ACTIVE or UPDATING), or what it waits for. */
export async function ensureCluster(run: EksRun, spec: EksClusterSpec, roles: ClusterRoles, network: ClusterNetwork): Promise<Cluster | Waiting> {
  run.step = 'CreatingCluster';
  let cluster = await describeCluster(run);
  if (cluster === undefined) {
    run.assertLeaseHeld();
    const created = await run.eks.send(
      new CreateClusterCommand({
        name: run.name,
        version: spec.version,
        roleArn: roles.clusterRoleArn,
        resourcesVpcConfig: { subnetIds: [...network.privateSubnetIds, ...network.publicSubnetIds], endpointPublicAccess: true, endpointPrivateAccess: true },
        clientRequestToken: requestToken(run.uid, 'cluster'),
        tags: ownershipTags(run.uid, run.name, 'eks-cluster'),
      }),
      run.send,
    );
    run.pass('eks.after-create-cluster');
    cluster = created.cluster ?? {};
  } else if (cluster.tags?.[OWNER_TAG] !== run.uid) {
    throw new ProvisioningRefused('NameTaken', `EKS cluster ${run.name} exists in ${run.region} and is not this object's (its ${OWNER_TAG} tag is ${cluster.tags?.[OWNER_TAG] ?? 'absent'}): the name is taken`);
  }
  run.record({ type: 'eks-cluster', id: cluster.arn ?? run.name, name: run.name });
  switch (cluster.status) {
    case 'ACTIVE':
      return cluster;
    case 'UPDATING': {
      const update = await updateInProgress(run);
      run.step = 'UpgradingControlPlane';
      const target = paramOf(update, 'Version');
      return { waiting: target === undefined ? `EKS cluster ${run.name} is UPDATING (${updateWords(update)})` : `${cluster.version ?? '?'} → ${target} (${updateWords(update)})` };
    }
    case 'FAILED':
      throw new ProvisioningRefused('ProvisioningFailed', `EKS cluster ${run.name} is FAILED; delete this EksCluster to clean up`);
    default:
      run.step = 'WaitingForCluster';
      return { waiting: `EKS cluster ${run.name} is ${cluster.status ?? 'CREATING'}` };
  }
}

interface DesiredGroup {
  name: string;
  eksName: string;
  instanceTypes: string[];
  scaling: { minSize: number; maxSize: number; desiredSize: number };
}

function desiredGroups(spec: EksClusterSpec): DesiredGroup[] {
  return (spec.nodeGroups ?? []).map((group) => ({
    name: group.name,
    eksName: nodegroupName(group),
    instanceTypes: group.instanceTypes,
    scaling: { minSize: group.minSize, maxSize: group.maxSize, desiredSize: group.desiredSize ?? group.minSize },
  }));
}

const sameScaling = (ng: Nodegroup, want: DesiredGroup['scaling']) =>
  ng.scalingConfig?.minSize === want.minSize && ng.scalingConfig.maxSize === want.maxSize && ng.scalingConfig.desiredSize === want.desiredSize;

/**
 * Brings the node groups and versions to the spec, one kind of change at a time: create missing
 * groups and wait for them; delete groups that left the spec or were replaced (EKS drains a managed
 * group's nodes before it terminates them); scaling updates; node versions up to the control
 * plane's; then the control plane one minor version up. Answers the outputs once nothing is due.
 */
export async function convergeNodegroups(
  run: EksRun,
  spec: EksClusterSpec,
  generation: number,
  cluster: Cluster,
  roles: ClusterRoles,
  network: ClusterNetwork,
): Promise<EksNodegroupOutput[] | Waiting> {
  run.step = 'CreatingNodegroups';
  const clusterVersion = cluster.version ?? spec.version;
  const desired = desiredGroups(spec);
  const owned = await ownedNodegroups(run);
  for (const ng of owned) run.record({ type: 'nodegroup', id: ng.nodegroupArn ?? ng.nodegroupName ?? '', name: ng.nodegroupName ?? '' });
  const find = (eksName: string) => owned.find((ng) => ng.nodegroupName === eksName);

  // New groups (a new spec entry, or the replacement of one whose instance types changed).
  const creating: string[] = [];
  for (const group of desired) {
    let ng = find(group.eksName);
    if (ng === undefined) {
      run.step = 'CreatingNodegroups';
      run.assertLeaseHeld();
      const created = await run.eks.send(
        new CreateNodegroupCommand({
          clusterName: run.name,
          nodegroupName: group.eksName,
          subnets: network.privateSubnetIds,
          nodeRole: roles.nodeRoleArn,
          scalingConfig: group.scaling,
          instanceTypes: group.instanceTypes,
          version: clusterVersion,
          clientRequestToken: requestToken(run.uid, 'nodegroup', group.eksName),
          tags: { ...ownershipTags(run.uid, run.name, `nodegroup-${group.name}`), [NODEGROUP_TAG]: group.name },
        }),
        run.send,
      );
      run.pass('eks.after-create-nodegroup');
      ng = created.nodegroup ?? { nodegroupName: group.eksName, status: 'CREATING' };
      owned.push(ng);
      run.record({ type: 'nodegroup', id: ng.nodegroupArn ?? group.eksName, name: group.eksName });
    }
    if (ng.status === 'CREATE_FAILED') {
      throw new ProvisioningRefused('ProvisioningFailed', `node group ${group.eksName} is CREATE_FAILED: ${(ng.health?.issues ?? []).map((issue) => `${issue.code}: ${issue.message}`).join('; ') || 'no reason given'}`);
    }
    if (ng.status === 'CREATING') creating.push(group.eksName);
  }
  if (creating.length > 0) {
    run.step = 'WaitingForNodegroups';
    return { waiting: `node group ${creating.join(', ')} CREATING` };
  }

  // Groups no longer wanted: replaced ones go only now that their replacements are ACTIVE.
  const wanted = new Set(desired.map((group) => group.eksName));
  const leaving = owned.filter((ng) => !wanted.has(ng.nodegroupName ?? ''));
  if (leaving.length > 0) {
    const words: string[] = [];
    let replacing = false;
    for (const ng of leaving) {
      const specName = ng.tags?.[NODEGROUP_TAG];
      const replacement = desired.find((group) => group.name === specName);
      if (replacement !== undefined) replacing = true;
      if (ng.status === 'ACTIVE' || ng.status === 'DEGRADED' || ng.status === 'CREATE_FAILED' || ng.status === 'DELETE_FAILED') {
        run.assertLeaseHeld();
        await unlessNotFound(run.eks.send(new DeleteNodegroupCommand({ clusterName: run.name, nodegroupName: ng.nodegroupName ?? '' }), run.send));
        run.pass('eks.after-delete-nodegroup');
      }
      words.push(replacement ? `${ng.nodegroupName} (replaced by ${replacement.eksName}; EKS drains its nodes first)` : `${ng.nodegroupName} (removed from the spec)`);
    }
    run.step = replacing ? 'ReplacingNodegroup' : 'DeletingNodegroup';
    return { waiting: `deleting node group ${words.join(', ')}` };
  }

  // An update in progress on a group (ours, or one started before a crash): wait for it.
  for (const ng of owned) {
    if (ng.status !== 'UPDATING') continue;
    const update = await updateInProgress(run, ng.nodegroupName);
    const version = paramOf(update, 'Version');
    run.step = update?.type === 'VersionUpdate' ? 'UpgradingNodegroups' : 'UpdatingNodegroup';
    return { waiting: version !== undefined ? `node group ${ng.nodegroupName}: ${ng.version ?? '?'} → ${version} (${updateWords(update)})` : `node group ${ng.nodegroupName}: scaling (${updateWords(update)})` };
  }

  // Scaling.
  for (const group of desired) {
    const ng = find(group.eksName);
    if (ng === undefined || sameScaling(ng, group.scaling)) continue;
    run.step = 'UpdatingNodegroup';
    run.assertLeaseHeld();
    const { update } = await run.eks.send(
      new UpdateNodegroupConfigCommand({
        clusterName: run.name,
        nodegroupName: group.eksName,
        scalingConfig: group.scaling,
        clientRequestToken: requestToken(run.uid, 'scaling', group.eksName, generation, group.scaling.minSize, group.scaling.maxSize, group.scaling.desiredSize),
      }),
      run.send,
    );
    const from = ng.scalingConfig;
    return {
      waiting: `node group ${group.eksName}: min/desired/max ${from?.minSize}/${from?.desiredSize}/${from?.maxSize} → ${group.scaling.minSize}/${group.scaling.desiredSize}/${group.scaling.maxSize} (${updateWords(update)})`,
    };
  }

  // Node versions up to the control plane's (one minor at a time: EKS allows nothing else).
  for (const ng of owned) {
    if (ng.version === undefined || ng.version === clusterVersion) continue;
    run.step = 'UpgradingNodegroups';
    run.assertLeaseHeld();
    const { update } = await run.eks.send(
      new UpdateNodegroupVersionCommand({
        clusterName: run.name,
        nodegroupName: ng.nodegroupName ?? '',
        version: clusterVersion,
        clientRequestToken: requestToken(run.uid, 'version', ng.nodegroupName ?? '', clusterVersion),
      }),
      run.send,
    );
    return { waiting: `node group ${ng.nodegroupName}: ${ng.version} → ${clusterVersion} (${updateWords(update)})` };
  }

  // The control plane, one minor version at a time, once every node group matches it.
  const have = minorOf(clusterVersion);
  const want = minorOf(spec.version);
  if (have !== undefined && want !== undefined && want > have) {
    const next = `1.${have + 1}`;
    run.step = 'UpgradingControlPlane';
    run.assertLeaseHeld();
    const { update } = await run.eks.send(new UpdateClusterVersionCommand({ name: run.name, version: next, clientRequestToken: requestToken(run.uid, 'version', next) }), run.send);
    return { waiting: `${clusterVersion} → ${next} (${updateWords(update)})${want > have + 1 ? `, then on to ${spec.version}` : ''}` };
  }

  return desired.map((group) => {
    const ng = find(group.eksName);
    return {
      name: group.name,
      nodegroupName: group.eksName,
      instanceTypes: group.instanceTypes,
      minSize: ng?.scalingConfig?.minSize ?? group.scaling.minSize,
      maxSize: ng?.scalingConfig?.maxSize ?? group.scaling.maxSize,
      desiredSize: ng?.scalingConfig?.desiredSize ?? group.scaling.desiredSize,
      version: ng?.version ?? clusterVersion,
    };
  });
}

/** A version lower than the cluster's: EKS cannot go back, so the spec is refused. */
export function refuseDowngrade(cluster: Cluster, spec: EksClusterSpec): void {
  const have = minorOf(cluster.version ?? '');
  const want = minorOf(spec.version);
  if (have !== undefined && want !== undefined && want < have) {
    throw new ProvisioningRefused('VersionDowngradeRefused', `spec.version ${spec.version} is lower than the cluster's ${cluster.version}: EKS cannot downgrade a cluster; set ${cluster.version} or later`);
  }
}

/**
 * Deletes this object's node groups, then (once they are gone) the cluster. Returns what it still
 * waits for, or `undefined` when neither exists. A cluster of that name that is not this object's is
 * left alone.
 */
export async function teardownCluster(run: EksRun): Promise<string | undefined> {
  const cluster = await describeCluster(run);
  if (cluster === undefined || cluster.tags?.[OWNER_TAG] !== run.uid) return undefined;
  run.record({ type: 'eks-cluster', id: cluster.arn ?? run.name, name: run.name });
  const groups = await ownedNodegroups(run);
  if (groups.length > 0) {
    run.step = 'DeletingNodegroups';
    for (const ng of groups) {
      run.record({ type: 'nodegroup', id: ng.nodegroupArn ?? ng.nodegroupName ?? '', name: ng.nodegroupName ?? '' });
      if (ng.status === 'DELETING' || ng.status === 'CREATING' || ng.status === 'UPDATING') continue;
      run.assertLeaseHeld();
      await unlessNotFound(run.eks.send(new DeleteNodegroupCommand({ clusterName: run.name, nodegroupName: ng.nodegroupName ?? '' }), run.send));
      run.pass('eks.after-delete-nodegroup');
    }
    return `deleting node group ${groups.map((ng) => `${ng.nodegroupName} (${ng.status === 'CREATING' || ng.status === 'UPDATING' ? `${ng.status}, deleted once ACTIVE` : 'DELETING'})`).join(', ')}; the cluster follows`;
  }
  run.step = 'DeletingCluster';
  if (cluster.status === 'CREATING' || cluster.status === 'UPDATING') return `EKS cluster ${run.name} is ${cluster.status}; it is deleted once ACTIVE`;
  if (cluster.status !== 'DELETING') {
    run.assertLeaseHeld();
    await unlessNotFound(run.eks.send(new DeleteClusterCommand({ name: run.name }), run.send));
    run.pass('eks.after-delete-cluster');
  }
  return `deleting EKS cluster ${run.name}; IAM roles and network follow`;
}
