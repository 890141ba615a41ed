/**
 * Deletion, as the definition's policy says, resumable at every point: the instance (with a final
 * snapshot of a deterministic name, without one, or retained: let go of), then, once it is gone,
 * its DB parameter group (if it has one), DB subnet group and security group. Everything is found by name and owner tag; what is gone is
 * skipped; what AWS refuses for now (the instance still busy, the group still in use) waits.
 */
import { DeleteTagsCommand, DeleteSecurityGroupCommand, CreateTagsCommand } from '@aws-sdk/client-ec2';
import { AddTagsToResourceCommand, DeleteDBInstanceCommand, DeleteDBSubnetGroupCommand, DescribeDBSnapshotsCommand, DescribeDBSubnetGroupsCommand, ListTagsForResourceCommand, RemoveTagsFromResourceCommand } from '@aws-sdk/client-rds';
import { finalSnapshotIdentifier, OWNER_TAG, RETAINED_TAG, tagValue } from './database-naming.js';
import { findSecurityGroup } from './database-network.js';
import { deleteParameterGroup, ownParameterGroupArn } from './database-parameter-group.js';
import { describeInstance, ownedBy } from './database-instance-steps.js';
import { awsCode, unlessNotFound, type DatabaseRun } from './database-run.js';
import type { DeletionPolicy } from './database-types.js';

/** AWS's "not now": the instance is busy, or a group is still in use. */
export function isNotYet(error: unknown): boolean {
  return ['InvalidDBInstanceState', 'InvalidDBSubnetGroupState', 'DependencyViolation', 'InvalidDBSubnetGroup'].includes(awsCode(error));
}

/** Deletes (or lets go of) everything; answers what it waits for, or `undefined` when nothing is left. */
export async function teardownDatabase(run: DatabaseRun, policy: DeletionPolicy): Promise<string | undefined> {
  if (policy === 'retain') return retain(run);
  run.step = 'DeletingInstance';
  const instance = await describeInstance(run);
  if (instance !== undefined && ownedBy(instance, run.uid)) {
    if (instance.DBInstanceStatus === 'deleting') return `RDS instance ${run.identifier} is deleting; its subnet group and security group follow`;
    const snapshot = finalSnapshotIdentifier(run.identifier, run.uid);
    // A crash after the delete call can leave the snapshot made and the instance still there for a moment: never take it twice.
    const taken = policy === 'snapshot' && (await snapshotExists(run, snapshot));
    run.assertLeaseHeld();
    try {
      await run.rds.send(
        new DeleteDBInstanceCommand(
          policy === 'snapshot' && !taken ? { DBInstanceIdentifier: run.identifier, FinalDBSnapshotIdentifier: snapshot } : { DBInstanceIdentifier: run.identifier, SkipFinalSnapshot: true, DeleteAutomatedBackups: true },
        ),
        run.send,
      );
    } catch (error) {
      if (isNotYet(error)) return `RDS instance ${run.identifier} is ${instance.DBInstanceStatus ?? 'busy'}: deleting it once AWS accepts (${awsCode(error)})`;
      if (awsCode(error) === 'DBSnapshotAlreadyExists') return `final snapshot ${snapshot} exists already: deleting RDS instance ${run.identifier} without another`;
      throw error;
    }
    run.pass('db.after-delete-instance');
    return policy === 'snapshot' && !taken
      ? `deleting RDS instance ${run.identifier} after its final snapshot ${snapshot}; its subnet group and security group follow`
      : `deleting RDS instance ${run.identifier}; its subnet group and security group follow`;
  }

  const parameterGroupWait = await deleteParameterGroup(run);
  if (parameterGroupWait !== undefined) return parameterGroupWait;

  run.step = 'DeletingSubnetGroup';
  const group = (await unlessNotFound(run.rds.send(new DescribeDBSubnetGroupsCommand({ DBSubnetGroupName: run.identifier }), run.send)))?.DBSubnetGroups?.[0];
  if (group !== undefined && (await rdsOwner(run, group.DBSubnetGroupArn)) === run.uid) {
    run.assertLeaseHeld();
    try {
      await unlessNotFound(run.rds.send(new DeleteDBSubnetGroupCommand({ DBSubnetGroupName: run.identifier }), run.send));
    } catch (error) {
      if (isNotYet(error)) return `DB subnet group ${run.identifier} is still in use (${awsCode(error)})`;
      throw error;
    }
    run.pass('db.after-delete-subnet-group');
  }

  run.step = 'DeletingSecurityGroup';
  const securityGroup = await findSecurityGroup(run);
  if (securityGroup?.GroupId !== undefined) {
    run.assertLeaseHeld();
    try {
      await unlessNotFound(run.ec2.send(new DeleteSecurityGroupCommand({ GroupId: securityGroup.GroupId }), run.send));
    } catch (error) {
      if (isNotYet(error)) return `security group ${securityGroup.GroupId} is still in use (${awsCode(error)})`;
      throw error;
    }
    run.pass('db.after-delete-security-group');
  }
  return undefined;
}

async function snapshotExists(run: DatabaseRun, snapshot: string): Promise<boolean> {
  const found = await unlessNotFound(run.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshot }), run.send));
  return (found?.DBSnapshots ?? []).length > 0;
}

async function rdsOwner(run: DatabaseRun, arn: string | undefined): Promise<string | undefined> {
  if (arn === undefined) return undefined;
  const tags = await unlessNotFound(run.rds.send(new ListTagsForResourceCommand({ ResourceName: arn }), run.send));
  return tagValue(tags?.TagList, OWNER_TAG);
}

/**
 * `retain`: the instance stays, with its subnet group and security group (it cannot run without
 * them). Tugboat lets go of all three: the owner tag is removed (so no later object of the same
 * name adopts them) and `tugboat.dev/retained-from` says where they came from. Instance last, so a
 * crash half-way leaves the instance still ours and the pass is repeated.
 */
async function retain(run: DatabaseRun): Promise<string | undefined> {
  run.step = 'RetainingInstance';
  const retainedFrom = [{ Key: RETAINED_TAG, Value: `${run.project}/${run.name}` }];
  const group = (await unlessNotFound(run.rds.send(new DescribeDBSubnetGroupsCommand({ DBSubnetGroupName: run.identifier }), run.send)))?.DBSubnetGroups?.[0];
  const securityGroup = await findSecurityGroup(run);
  const parameterGroupArn = await ownParameterGroupArn(run);
  const instance = await describeInstance(run);
  run.assertLeaseHeld();
  if (parameterGroupArn !== undefined) {
    await run.rds.send(new AddTagsToResourceCommand({ ResourceName: parameterGroupArn, Tags: retainedFrom }), run.send);
    await run.rds.send(new RemoveTagsFromResourceCommand({ ResourceName: parameterGroupArn, TagKeys: [OWNER_TAG] }), run.send);
  }
  if (group?.DBSubnetGroupArn !== undefined && (await rdsOwner(run, group.DBSubnetGroupArn)) === run.uid) {
    await run.rds.send(new AddTagsToResourceCommand({ ResourceName: group.DBSubnetGroupArn, Tags: retainedFrom }), run.send);
    await run.rds.send(new RemoveTagsFromResourceCommand({ ResourceName: group.DBSubnetGroupArn, TagKeys: [OWNER_TAG] }), run.send);
  }
  if (securityGroup?.GroupId !== undefined) {
    await run.ec2.send(new CreateTagsCommand({ Resources: [securityGroup.GroupId], Tags: retainedFrom }), run.send);
    await run.ec2.send(new DeleteTagsCommand({ Resources: [securityGroup.GroupId], Tags: [{ Key: OWNER_TAG }] }), run.send);
  }
  if (instance?.DBInstanceArn !== undefined && ownedBy(instance, run.uid)) {
    await run.rds.send(new AddTagsToResourceCommand({ ResourceName: instance.DBInstanceArn, Tags: retainedFrom }), run.send);
    await run.rds.send(new RemoveTagsFromResourceCommand({ ResourceName: instance.DBInstanceArn, TagKeys: [OWNER_TAG] }), run.send);
  }
  return undefined;
}
