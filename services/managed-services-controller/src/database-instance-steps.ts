/**
 * The RDS instance: found by its identifier (and owned by its tag) or made, waited for without
 * blocking, changed on day two with ModifyDBInstance (at once or in the maintenance window, as the
 * definition says), and described for the outputs. The master password is RDS-managed: RDS keeps it
 * in Secrets Manager, and Tugboat only ever sees the secret's ARN and version id.
 */
import { CreateDBInstanceCommand, DescribeDBInstancesCommand, ModifyDBInstanceCommand, type DBInstance, type ModifyDBInstanceCommandInput } from '@aws-sdk/client-rds';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { MASTER_USERNAME, OWNER_TAG, ownershipTags, tagList, tagValue } from './database-naming.js';
import { ProvisioningRefused, unlessNotFound, type DatabaseRun } from './database-run.js';
import type { DatabaseEngine, DatabaseOutputs, PendingChanges } from './database-types.js';

/** What the instance should be: the spec over the definition's defaults. */
export interface DesiredInstance {
  engine: DatabaseEngine;
  version: string;
  instanceClass: string;
  storageGb: number;
  databaseName: string;
  backupRetentionDays: number;
  multiAz: boolean;
  maintenanceWindow?: string;
  applyImmediately: boolean;
  /** `spec.parameters` (empty: none set). */
  parameters: Record<string, string>;
}

export interface Waiting {
  waiting: string;
}

/** States in which RDS is still making the instance, or changing it. */
const BUSY = new Set(['creating', 'backing-up', 'modifying', 'resetting-master-credentials', 'configuring-enhanced-monitoring', 'configuring-log-exports', 'upgrading', 'rebooting', 'renaming', 'maintenance', 'storage-optimization', 'starting', 'moving-to-vpc', 'converting-to-vpc']);

export async function describeInstance(run: DatabaseRun): Promise<DBInstance | undefined> {
  const found = await unlessNotFound(run.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: run.identifier }), run.send));
  return found?.DBInstances?.[0];
}

export function ownedBy(instance: DBInstance, uid: string): boolean {
  return tagValue(instance.TagList, OWNER_TAG) === uid;
}

/** `16.6` against `16`: a version the spec names by its major line is satisfied by any of that line. */
export function versionSatisfies(actual: string, desired: string): boolean {
  return actual === desired || actual.startsWith(`${desired}.`);
}

/** Numeric comparison of dotted versions, on the parts both have (`16` vs `16.6` is 0). */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let i = 0; i < Math.min(left.length, right.length); i += 1) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

/** Finds the instance or creates it; answers what to wait for until it is `available`. */
export async function ensureInstance(run: DatabaseRun, desired: DesiredInstance, subnetGroup: string, securityGroupId: string, parameterGroup: string | undefined): Promise<DBInstance | Waiting> {
  run.step = 'CreatingInstance';
  let instance = await describeInstance(run);
  if (instance !== undefined && !ownedBy(instance, run.uid)) {
    throw new ProvisioningRefused(
      'NameTaken',
      `RDS instance ${run.identifier} exists and is not this database's (its ${OWNER_TAG} tag is ${tagValue(instance.TagList, OWNER_TAG) ?? 'missing'}): the name is taken`,
    );
  }
  if (instance === undefined) {
    run.assertLeaseHeld();
    const created = await run.rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: run.identifier,
        Engine: desired.engine,
        EngineVersion: desired.version,
        DBInstanceClass: desired.instanceClass,
        AllocatedStorage: desired.storageGb,
        StorageType: 'gp3',
        StorageEncrypted: true,
        MultiAZ: desired.multiAz,
        BackupRetentionPeriod: desired.backupRetentionDays,
        ...(desired.maintenanceWindow ? { PreferredMaintenanceWindow: desired.maintenanceWindow } : {}),
        DBName: desired.databaseName,
        MasterUsername: MASTER_USERNAME,
        ManageMasterUserPassword: true,
        VpcSecurityGroupIds: [securityGroupId],
        DBSubnetGroupName: subnetGroup,
        ...(parameterGroup !== undefined ? { DBParameterGroupName: parameterGroup } : {}),
        PubliclyAccessible: false,
        CopyTagsToSnapshot: true,
        Tags: tagList(ownershipTags(run.uid, run.project, run.name)),
      }),
      run.send,
    );
    run.pass('db.after-create-instance');
    instance = created.DBInstance ?? {};
  }
  const status = instance.DBInstanceStatus ?? 'creating';
  if (instance.Endpoint?.Address === undefined && (status === 'creating' || status === 'backing-up')) {
    run.step = 'WaitingForInstance';
    return { waiting: `RDS instance ${run.identifier} is ${status}` };
  }
  if (status === 'deleting') {
    // Deleted outside Tugboat: made again once it is gone.
    run.step = 'WaitingForInstance';
    return { waiting: `RDS instance ${run.identifier} is being deleted outside Tugboat; it is made again once it is gone` };
  }
  if (BUSY.has(status)) {
    run.step = status === 'resetting-master-credentials' ? 'RotatingPassword' : 'Modifying';
    const pending = describePending(instance);
    return { waiting: `RDS instance ${run.identifier} is ${status}${pending ? ` (${pending})` : ''}` };
  }
  if (status !== 'available') {
    throw new ProvisioningRefused('InstanceUnavailable', `RDS instance ${run.identifier} is ${status}`);
  }
  return instance;
}

function describePending(instance: DBInstance): string {
  const pending = instance.PendingModifiedValues ?? {};
  return [
    pending.DBInstanceClass ? `class → ${pending.DBInstanceClass}` : '',
    pending.AllocatedStorage ? `storage → ${pending.AllocatedStorage} GiB` : '',
    pending.EngineVersion ? `version → ${pending.EngineVersion}` : '',
  ]
    .filter((part) => part !== '')
    .join(', ');
}

/**
 * Day two on an available instance: a class, storage or version change (now or in the maintenance
 * window, as the definition says), and backup retention and the window itself (RDS applies these at
 * once). Answers what to wait for when a change is being applied now.
 */
export async function convergeInstance(run: DatabaseRun, instance: DBInstance, desired: DesiredInstance, parameterGroup: string | undefined): Promise<DBInstance | Waiting> {
  const pending = instance.PendingModifiedValues ?? {};
  const changes: Partial<ModifyDBInstanceCommandInput> = {};
  const currentClass = pending.DBInstanceClass ?? instance.DBInstanceClass;
  if (currentClass !== desired.instanceClass) changes.DBInstanceClass = desired.instanceClass;
  const currentStorage = Math.max(pending.AllocatedStorage ?? 0, instance.AllocatedStorage ?? 0);
  if (currentStorage < desired.storageGb) changes.AllocatedStorage = desired.storageGb;
  const currentVersion = pending.EngineVersion ?? instance.EngineVersion ?? desired.version;
  if (!versionSatisfies(currentVersion, desired.version) && compareVersions(desired.version, currentVersion) > 0) {
    changes.EngineVersion = desired.version;
    if (desired.version.split('.')[0] !== currentVersion.split('.')[0]) changes.AllowMajorVersionUpgrade = true;
  }
  const scheduled = Object.keys(changes).length > 0;
  if (instance.BackupRetentionPeriod !== desired.backupRetentionDays) changes.BackupRetentionPeriod = desired.backupRetentionDays;
  if (desired.maintenanceWindow !== undefined && instance.PreferredMaintenanceWindow !== desired.maintenanceWindow) changes.PreferredMaintenanceWindow = desired.maintenanceWindow;
  // An instance made before it had parameters moves to its own group (RDS applies the switch at once).
  if (parameterGroup !== undefined && !(instance.DBParameterGroups ?? []).some((g) => g.DBParameterGroupName === parameterGroup)) changes.DBParameterGroupName = parameterGroup;
  if (Object.keys(changes).length === 0) return instance;

  run.step = 'Modifying';
  run.assertLeaseHeld();
  const modified = await run.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: run.identifier, ...changes, ApplyImmediately: desired.applyImmediately }), run.send);
  const after = modified.DBInstance ?? instance;
  if (scheduled && desired.applyImmediately) {
    return { waiting: `applying ${describeChanges(changes)} to RDS instance ${run.identifier} now` };
  }
  return after;
}

function describeChanges(changes: Partial<ModifyDBInstanceCommandInput>): string {
  return [
    changes.DBInstanceClass ? `class ${changes.DBInstanceClass}` : '',
    changes.AllocatedStorage ? `storage ${changes.AllocatedStorage} GiB` : '',
    changes.EngineVersion ? `version ${changes.EngineVersion}` : '',
  ]
    .filter((part) => part !== '')
    .join(', ');
}

/**
 * A rotation asked for by a new `spec.passwordRotation` token, once per token: RDS makes a new
 * password in its managed secret (`RotateMasterUserPassword`). Not sent again when the secret's
 * AWSCURRENT version already differs from the one last published (a pass that crashed after the
 * call, or RDS's own scheduled rotation: either way the password is new).
 */
export async function rotatePassword(run: DatabaseRun, currentVersion: string, publishedVersion: string | undefined, token: string): Promise<Waiting | undefined> {
  if (publishedVersion === undefined || currentVersion !== publishedVersion) return undefined;
  run.step = 'RotatingPassword';
  run.assertLeaseHeld();
  // RDS requires ApplyImmediately for a rotation (and, as always with it, applies what waits for the window too).
  await run.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: run.identifier, RotateMasterUserPassword: true, ApplyImmediately: true }), run.send);
  run.pass('db.after-rotate-password');
  return { waiting: `rotating the master password of RDS instance ${run.identifier} (passwordRotation ${token})` };
}

/** Changes RDS holds for the maintenance window, as status shows them. */
export function pendingChanges(instance: DBInstance): PendingChanges | undefined {
  const pending = instance.PendingModifiedValues ?? {};
  if (pending.DBInstanceClass === undefined && pending.AllocatedStorage === undefined && pending.EngineVersion === undefined) return undefined;
  return {
    ...(pending.DBInstanceClass !== undefined ? { instanceClass: pending.DBInstanceClass } : {}),
    ...(pending.AllocatedStorage !== undefined ? { storageGb: pending.AllocatedStorage } : {}),
    ...(pending.EngineVersion !== undefined ? { engineVersion: pending.EngineVersion } : {}),
    maintenanceWindow: instance.PreferredMaintenanceWindow ?? '',
  };
}

/** The outputs of an available instance; waits while RDS has not yet reported its managed secret. */
export async function instanceOutputs(run: DatabaseRun, instance: DBInstance, desired: DesiredInstance, accountName: string): Promise<{ outputs: DatabaseOutputs } | Waiting> {
  const secretArn = instance.MasterUserSecret?.SecretArn;
  if (secretArn === undefined || instance.Endpoint?.Address === undefined) {
    run.step = 'WaitingForInstance';
    return { waiting: `RDS instance ${run.identifier} has no endpoint or master user secret yet` };
  }
  const secret = await run.secrets.send(new DescribeSecretCommand({ SecretId: secretArn }), run.send);
  const current = Object.entries(secret.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
  if (current === undefined) {
    run.step = 'WaitingForInstance';
    return { waiting: `the master user secret of RDS instance ${run.identifier} has no AWSCURRENT version yet` };
  }
  const outputs: DatabaseOutputs = {
    engine: desired.engine,
    engineVersion: instance.EngineVersion ?? desired.version,
    host: instance.Endpoint.Address,
    port: instance.Endpoint.Port ?? 0,
    databaseName: instance.DBName ?? desired.databaseName,
    username: instance.MasterUsername ?? MASTER_USERNAME,
    secretArn,
    passwordVersion: current,
    region: run.region,
    accountName,
    instanceIdentifier: run.identifier,
  };
  return { outputs };
}
