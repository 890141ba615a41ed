/**
 * The cluster's two IAM roles: one EKS assumes (AmazonEKSClusterPolicy) and one the nodes' EC2
 * instances assume (worker node, CNI and ECR read-only policies). Names are deterministic; a role
 * of that name without this object's owner tag belongs to someone else and is never touched.
 */
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  type Role,
} from '@aws-sdk/client-iam';
import { OWNER_TAG, ownershipTags, roleName } from './eks-naming.js';
import { ProvisioningRefused, tagList, tagValue, unlessNotFound, type EksRun } from './eks-run.js';

const POLICY = 'arn:aws:iam::aws:policy/';

const ROLES = {
  cluster: { service: 'eks.amazonaws.com', policies: [`${POLICY}AmazonEKSClusterPolicy`] },
  node: {
    service: 'ec2.amazonaws.com',
    policies: [`${POLICY}AmazonEKSWorkerNodePolicy`, `${POLICY}AmazonEC2ContainerRegistryReadOnly`, `${POLICY}AmazonEKS_CNI_Policy`],
  },
} as const;

export interface ClusterRoles {
  clusterRoleArn: string;
  nodeRoleArn: string;
}

function trustPolicy(service: string): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }] });
}

async function getRole(run: EksRun, name: string): Promise<Role | undefined> {
  const found = await unlessNotFound(run.iam.send(new GetRoleCommand({ RoleName: name }), run.send));
  return found?.Role;
}

function refuseForeign(run: EksRun, role: Role, name: string): void {
  const owner = tagValue(role.Tags, OWNER_TAG);
  if (owner !== run.uid) {
    throw new ProvisioningRefused('NameTaken', `IAM role ${name} exists and is not this cluster's (its ${OWNER_TAG} tag is ${owner ?? 'absent'}): the name is taken; delete or rename that role`);
  }
}

export async function ensureRoles(run: EksRun): Promise<ClusterRoles> {
  const arns: Record<string, string> = {};
  for (const purpose of ['cluster', 'node'] as const) {
    const name = roleName(run.name, purpose);
    const existing = await getRole(run, name);
    let arn: string;
    if (existing === undefined) {
      run.assertLeaseHeld();
      const created = await run.iam.send(
        new CreateRoleCommand({
          RoleName: name,
          AssumeRolePolicyDocument: trustPolicy(ROLES[purpose].service),
          Description: `Tugboat EksCluster ${run.name}: ${purpose === 'cluster' ? 'the EKS control plane' : 'the nodes of its managed node groups'}`,
          Tags: tagList(ownershipTags(run.uid, run.name, `role-${purpose}`)),
        }),
        run.send,
      );
      run.pass('eks.after-create-role');
      arn = created.Role?.Arn ?? '';
    } else {
      refuseForeign(run, existing, name);
      arn = existing.Arn ?? '';
    }
    run.record({ type: 'iam-role', id: arn, name });
    const attached = await run.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name }), run.send);
    const have = new Set((attached.AttachedPolicies ?? []).map((policy) => policy.PolicyArn));
    for (const policyArn of ROLES[purpose].policies) {
      if (have.has(policyArn)) continue;
      run.assertLeaseHeld();
      await run.iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: policyArn }), run.send);
    }
    arns[purpose] = arn;
  }
  return { clusterRoleArn: arns['cluster'] ?? '', nodeRoleArn: arns['node'] ?? '' };
}

/** Detaches every policy and deletes both roles, if they are this object's; what is gone stays gone. */
export async function deleteRoles(run: EksRun): Promise<void> {
  for (const purpose of ['cluster', 'node'] as const) {
    const name = roleName(run.name, purpose);
    const role = await getRole(run, name);
    if (role === undefined || tagValue(role.Tags, OWNER_TAG) !== run.uid) continue;
    run.assertLeaseHeld();
    const attached = await unlessNotFound(run.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name }), run.send));
    for (const policy of attached?.AttachedPolicies ?? []) {
      await unlessNotFound(run.iam.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: policy.PolicyArn ?? '' }), run.send));
    }
    await unlessNotFound(run.iam.send(new DeleteRoleCommand({ RoleName: name }), run.send));
    run.pass('eks.after-delete-role');
  }
}
