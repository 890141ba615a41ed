/**
 * `spec.parameters` as an RDS DB parameter group of the instance's own, named like the instance
 * (`tugboat-<project>-<name>`) and tagged with the owner uid, found by name before it is made. Its
 * user parameters are made to match the spec: changed ones set with ModifyDBParameterGroup
 * (`immediate` for dynamic parameters; static ones can only wait for a reboot), dropped ones reset.
 * Once made, a group stays with the instance until it is deleted: emptied `parameters` reset the
 * group to the engine's defaults rather than moving the instance back to `default.<family>` (a
 * second ModifyDBInstance, and, on RDS, a reboot, for the same effect).
 */
import {
  CreateDBParameterGroupCommand,
  DeleteDBParameterGroupCommand,
  DescribeDBParameterGroupsCommand,
  DescribeDBParametersCommand,
  ListTagsForResourceCommand,
  ModifyDBParameterGroupCommand,
  ResetDBParameterGroupCommand,
  type Parameter,
} from '@aws-sdk/client-rds';
import { OWNER_TAG, ownershipTags, tagList, tagValue } from './database-naming.js';
import { awsCode, ProvisioningRefused, unlessNotFound, type DatabaseRun } from './database-run.js';
import type { DatabaseEngine } from './database-types.js';

/** RDS takes at most 20 parameters per ModifyDBParameterGroup or ResetDBParameterGroup. */
const PER_REQUEST = 20;

/** The parameter group family of an engine version: `postgres16`, `mysql8.0`. */
export function parameterGroupFamily(engine: DatabaseEngine, version: string): string {
  const parts = version.split('.');
  return engine === 'postgres' ? `postgres${parts[0] ?? ''}` : `mysql${parts.slice(0, 2).join('.')}`;
}

async function findGroup(run: DatabaseRun) {
  const found = await unlessNotFound(run.rds.send(new DescribeDBParameterGroupsCommand({ DBParameterGroupName: run.identifier }), run.send));
  const group = found?.DBParameterGroups?.[0];
  if (group === undefined) return undefined;
  const tags = group.DBParameterGroupArn === undefined ? undefined : await unlessNotFound(run.rds.send(new ListTagsForResourceCommand({ ResourceName: group.DBParameterGroupArn }), run.send));
  return { group, owner: tagValue(tags?.TagList, OWNER_TAG) };
}

async function describeParameters(run: DatabaseRun): Promise<Parameter[]> {
  const all: Parameter[] = [];
  let marker: string | undefined;
  do {
    const page = await run.rds.send(new DescribeDBParametersCommand({ DBParameterGroupName: run.identifier, ...(marker ? { Marker: marker } : {}) }), run.send);
    all.push(...(page.Parameters ?? []));
    marker = page.Marker;
  } while (marker);
  return all;
}

/**
 * The group the instance should use, its parameters as the spec says; `undefined` when the spec
 * sets none and no group was ever made (the instance keeps RDS's default group).
 */
export async function ensureParameterGroup(run: DatabaseRun, engine: DatabaseEngine, version: string, parameters: Record<string, string>): Promise<string | undefined> {
  run.step = 'ApplyingParameters';
  const wanted = Object.entries(parameters);
  const found = await findGroup(run);
  if (found !== undefined && found.owner !== run.uid) {
    throw new ProvisioningRefused('NameTaken', `DB parameter group ${run.identifier} exists and is not this database's (its ${OWNER_TAG} tag is ${found.owner ?? 'missing'}): the name is taken`);
  }
  if (found === undefined) {
    if (wanted.length === 0) return undefined;
    run.assertLeaseHeld();
    await run.rds.send(
      new CreateDBParameterGroupCommand({
        DBParameterGroupName: run.identifier,
        DBParameterGroupFamily: parameterGroupFamily(engine, version),
        Description: `Tugboat DatabaseInstance ${run.project}/${run.name}`,
        Tags: tagList(ownershipTags(run.uid, run.project, run.name)),
      }),
      run.send,
    );
    run.pass('db.after-create-parameter-group');
  }

  const current = await describeParameters(run);
  const user = new Map(current.filter((p) => p.Source === 'user').map((p) => [p.ParameterName ?? '', p.ParameterValue]));
  const applyType = new Map(current.map((p) => [p.ParameterName ?? '', p.ApplyType]));
  const changed = wanted.filter(([name, value]) => user.get(name) !== value);
  const dropped = [...user.keys()].filter((name) => !Object.hasOwn(parameters, name));
  if (changed.length > 0 || dropped.length > 0) run.assertLeaseHeld();
  for (let i = 0; i < changed.length; i += PER_REQUEST) {
    const Parameters = changed.slice(i, i + PER_REQUEST).map(([ParameterName, ParameterValue]) => ({
      ParameterName,
      ParameterValue,
      ApplyMethod: applyType.get(ParameterName) === 'static' ? ('pending-reboot' as const) : ('immediate' as const),
    }));
    await run.rds.send(new ModifyDBParameterGroupCommand({ DBParameterGroupName: run.identifier, Parameters }), run.send);
  }
  for (let i = 0; i < dropped.length; i += PER_REQUEST) {
    const Parameters = dropped.slice(i, i + PER_REQUEST).map((ParameterName) => ({ ParameterName, ApplyMethod: 'immediate' as const }));
    await run.rds.send(new ResetDBParameterGroupCommand({ DBParameterGroupName: run.identifier, Parameters }), run.send);
  }
  return run.identifier;
}

/** After the instance is gone: its parameter group, if ours. Answers what it waits for, or `undefined`. */
export async function deleteParameterGroup(run: DatabaseRun): Promise<string | undefined> {
  run.step = 'DeletingParameterGroup';
  const found = await findGroup(run);
  if (found === undefined || found.owner !== run.uid) return undefined;
  run.assertLeaseHeld();
  try {
    await unlessNotFound(run.rds.send(new DeleteDBParameterGroupCommand({ DBParameterGroupName: run.identifier }), run.send));
  } catch (error) {
    if (awsCode(error) === 'InvalidDBParameterGroupState') return `DB parameter group ${run.identifier} is still in use (${awsCode(error)})`;
    throw error;
  }
  run.pass('db.after-delete-parameter-group');
  return undefined;
}

/** The ARN of our parameter group, for `retain` to let go of it. */
export async function ownParameterGroupArn(run: DatabaseRun): Promise<string | undefined> {
  const found = await findGroup(run);
  return found !== undefined && found.owner === run.uid ? found.group.DBParameterGroupArn : undefined;
}
