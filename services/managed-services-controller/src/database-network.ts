/**
 * Where a database goes and who may reach it: the DB subnet group (in the cluster's private subnets,
 * or the subnets the spec gives) and a security group in their VPC admitting the clients on the
 * engine's port. The subnet group is found again by its name, the security group by its owner tag,
 * so a crash after either create never makes a second one.
 */
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, DescribeSecurityGroupsCommand, DescribeSubnetsCommand, DescribeVpcsCommand, type SecurityGroup } from '@aws-sdk/client-ec2';
import { CreateDBSubnetGroupCommand, DescribeDBSubnetGroupsCommand, ListTagsForResourceCommand } from '@aws-sdk/client-rds';
import { OWNER_TAG, ownershipTags, tagList, tagValue } from './database-naming.js';
import { awsCode, ProvisioningRefused, unlessNotFound, type DatabaseRun } from './database-run.js';

/** Where the instance goes, as the spec (or the cluster's EksCluster) says. */
export interface Placement {
  accountName: string;
  region: string;
  subnetIds: string[];
  /** Known from the EksCluster's outputs; found from the subnets otherwise. */
  vpcId?: string;
  /** Who may connect; `undefined`: the subnets' own blocks (a cluster's private subnets, where its nodes are). */
  allowedCidrs?: string[];
}

/** The VPC of the subnets and the blocks admitted on the engine's port. */
export async function resolveNetwork(run: DatabaseRun, placement: Placement, fromCluster: boolean): Promise<{ vpcId: string; allowedCidrs: string[] }> {
  const subnets = (await run.ec2.send(new DescribeSubnetsCommand({ SubnetIds: placement.subnetIds }), run.send)).Subnets ?? [];
  const vpcIds = [...new Set(subnets.map((subnet) => subnet.VpcId ?? ''))];
  const vpcId = placement.vpcId ?? vpcIds[0] ?? '';
  if (vpcIds.length !== 1 || vpcIds[0] !== vpcId) {
    throw new ProvisioningRefused('InvalidNetwork', `the subnets ${placement.subnetIds.join(', ')} are not all in one VPC${placement.vpcId ? ` (${placement.vpcId})` : ''}`);
  }
  if (placement.allowedCidrs !== undefined) return { vpcId, allowedCidrs: placement.allowedCidrs };
  if (fromCluster) return { vpcId, allowedCidrs: subnets.map((subnet) => subnet.CidrBlock ?? '').filter((cidr) => cidr !== '').sort() };
  // A given network without allowedCidrs: anything in the VPC.
  const vpc = (await run.ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }), run.send)).Vpcs?.[0];
  return { vpcId, allowedCidrs: [vpc?.CidrBlock ?? ''].filter((cidr) => cidr !== '') };
}

export async function ensureSubnetGroup(run: DatabaseRun, subnetIds: string[]): Promise<string> {
  run.step = 'CreatingSubnetGroup';
  const found = await unlessNotFound(run.rds.send(new DescribeDBSubnetGroupsCommand({ DBSubnetGroupName: run.identifier }), run.send));
  const group = found?.DBSubnetGroups?.[0];
  if (group !== undefined) {
    const tags = (await run.rds.send(new ListTagsForResourceCommand({ ResourceName: group.DBSubnetGroupArn }), run.send)).TagList;
    const owner = tagValue(tags, OWNER_TAG);
    if (owner !== run.uid) {
      throw new ProvisioningRefused('NameTaken', `DB subnet group ${run.identifier} exists and is not this database's (its ${OWNER_TAG} tag is ${owner ?? 'missing'}): the name is taken`);
    }
    return group.DBSubnetGroupName ?? run.identifier;
  }
  run.assertLeaseHeld();
  await run.rds.send(
    new CreateDBSubnetGroupCommand({
      DBSubnetGroupName: run.identifier,
      DBSubnetGroupDescription: `Tugboat database ${run.project}/${run.name}`,
      SubnetIds: subnetIds,
      Tags: tagList(ownershipTags(run.uid, run.project, run.name)),
    }),
    run.send,
  );
  run.pass('db.after-create-subnet-group');
  return run.identifier;
}

export async function findSecurityGroup(run: DatabaseRun, vpcId?: string): Promise<SecurityGroup | undefined> {
  const Filters = [{ Name: `tag:${OWNER_TAG}`, Values: [run.uid] }, ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : [])];
  return (await run.ec2.send(new DescribeSecurityGroupsCommand({ Filters }), run.send)).SecurityGroups?.[0];
}

/** The security group (found by tag, else made) with an ingress rule on `port` from each of `cidrs`. */
export async function ensureSecurityGroup(run: DatabaseRun, vpcId: string, port: number, cidrs: string[]): Promise<string> {
  run.step = 'CreatingSecurityGroup';
  let group = await findSecurityGroup(run, vpcId);
  if (group === undefined) {
    run.assertLeaseHeld();
    try {
      const created = await run.ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: run.identifier,
          Description: `Tugboat database ${run.project}/${run.name}: clients on port ${port}`,
          VpcId: vpcId,
          TagSpecifications: [{ ResourceType: 'security-group', Tags: tagList({ ...ownershipTags(run.uid, run.project, run.name), Name: run.identifier }) }],
        }),
        run.send,
      );
      run.pass('db.after-create-security-group');
      group = { GroupId: created.GroupId, IpPermissions: [] };
    } catch (error) {
      if (awsCode(error) === 'InvalidGroup.Duplicate') {
        throw new ProvisioningRefused('NameTaken', `security group ${run.identifier} exists in ${vpcId} and is not this database's (no ${OWNER_TAG} tag ${run.uid}): the name is taken`);
      }
      throw error;
    }
  }
  const groupId = group.GroupId ?? '';
  const admitted = new Set(
    (group.IpPermissions ?? []).filter((rule) => rule.IpProtocol === 'tcp' && rule.FromPort === port && rule.ToPort === port).flatMap((rule) => (rule.IpRanges ?? []).map((range) => range.CidrIp)),
  );
  const missing = cidrs.filter((cidr) => !admitted.has(cidr));
  if (missing.length > 0) {
    run.assertLeaseHeld();
    try {
      await run.ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: groupId,
          IpPermissions: [{ IpProtocol: 'tcp', FromPort: port, ToPort: port, IpRanges: missing.map((CidrIp) => ({ CidrIp, Description: 'Tugboat database clients' })) }],
        }),
        run.send,
      );
    } catch (error) {
      // Another pass got there first: the next one sees the rules.
      if (awsCode(error) !== 'InvalidPermission.Duplicate') throw error;
    }
  }
  return groupId;
}
