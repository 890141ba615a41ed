/**
 * The RDS stand-in's state and rules, per region: DB instances (Postgres and MySQL) that move through
 * `creating` → `backing-up` → `available`, `modifying`, `resetting-master-credentials` and
 * `deleting` on the simulated clock; DB subnet groups made of EC2's subnets; DB snapshots (final
 * snapshots taken on delete). Subnets and security groups are checked against the sandbox's EC2, as
 * RDS does. A master password that RDS manages (`ManageMasterUserPassword`) is generated here and
 * kept in the sandbox's Secrets Manager; the instance itself still keeps only its hash. DB parameter
 * groups of a family the engines know, whose user parameters an instance takes when it names one.
 * `rds-operations.ts` does the wire.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { SandboxCounters } from '../../counters.js';
import type { SimClock } from '../../sim-clock.js';
import { AwsError } from '../aws-error.js';
import { RDS_ENGINES, RDS_INSTANCE_CLASSES, RDS_STORAGE, resolveEngineVersion, type RdsEngine } from './rds-engines.js';
import { RDS_PARAMETER_FAMILIES } from './rds-parameters.js';
import { checkBackupWindow, checkMaintenanceWindow, msUntilMaintenanceWindow } from './maintenance-window.js';

export interface RdsTag {
  Key: string;
  Value: string;
}

export type DbInstanceStatus = 'creating' | 'backing-up' | 'available' | 'modifying' | 'resetting-master-credentials' | 'deleting';

/** Changes that wait for the maintenance window, or are being applied while `modifying`. */
export interface DbInstanceChanges {
  instanceClass?: string;
  allocatedStorage?: number;
  /** SHA-256 of the new password: the password itself is never kept. */
  passwordSha256?: string;
  /** The new password is a rotation of the managed secret (its `SecretStatus` is `rotating` meanwhile). */
  secretRotation?: boolean;
}

export interface DbInstanceRecord {
  identifier: string;
  arn: string;
  resourceId: string;
  instanceClass: string;
  engine: 'postgres' | 'mysql';
  engineVersion: string;
  allocatedStorage: number;
  storageType: string;
  storageEncrypted: boolean;
  masterUsername: string;
  /** SHA-256 (hex) of the master password, so a state file never holds one. */
  passwordSha256: string;
  /** Set when RDS manages the master password: the Secrets Manager secret that holds it. */
  masterUserSecret?: { arn: string; kmsKeyId: string };
  dbName?: string;
  port: number;
  subnetGroupName: string;
  vpcId: string;
  vpcSecurityGroupIds: string[];
  availabilityZone: string;
  multiAz: boolean;
  backupRetentionPeriod: number;
  preferredBackupWindow: string;
  preferredMaintenanceWindow: string;
  deletionProtection: boolean;
  publiclyAccessible: boolean;
  copyTagsToSnapshot: boolean;
  endpointAddress: string;
  status: DbInstanceStatus;
  /** Real ms when the current status began: transitions are measured from it on the simulated clock. */
  statusSince: number;
  /** ISO time it first became available. */
  instanceCreateTime?: string;
  /** Waiting for the maintenance window. */
  pending?: DbInstanceChanges & { since: number; windowInMs: number };
  /** Being applied (`modifying`, `resetting-master-credentials`). */
  applying?: DbInstanceChanges;
  /** A parameter group of the client's; without it the instance uses its family's `default.<family>`. */
  parameterGroupName?: string;
  tags: RdsTag[];
}

export interface DbParameterGroupRecord {
  name: string;
  arn: string;
  family: string;
  description: string;
  /** The parameters a client set (Source `user`), by name. */
  parameters: Record<string, { value: string; applyMethod: 'immediate' | 'pending-reboot' }>;
  tags: RdsTag[];
}

export interface DbSubnetGroupRecord {
  name: string;
  arn: string;
  description: string;
  vpcId: string;
  subnets: Array<{ subnetId: string; availabilityZone: string }>;
  tags: RdsTag[];
}

export interface DbSnapshotRecord {
  identifier: string;
  arn: string;
  dbInstanceIdentifier: string;
  dbiResourceId: string;
  snapshotType: 'manual';
  status: 'creating' | 'available';
  statusSince: number;
  snapshotCreateTime: string;
  instanceCreateTime?: string;
  engine: string;
  engineVersion: string;
  allocatedStorage: number;
  storageType: string;
  encrypted: boolean;
  port: number;
  availabilityZone: string;
  vpcId: string;
  masterUsername: string;
  tags: RdsTag[];
}

export interface RdsRegionState {
  instances: DbInstanceRecord[];
  subnetGroups: DbSubnetGroupRecord[];
  snapshots: DbSnapshotRecord[];
  parameterGroups: DbParameterGroupRecord[];
}

export interface RdsSnapshot {
  regions: Record<string, RdsRegionState>;
}

/** Simulated durations in ms of sandbox time. */
export interface RdsDurations {
  create: number;
  /** The first automated backup after `creating`. */
  backup: number;
  modify: number;
  resetCredentials: number;
  delete: number;
  snapshot: number;
}

export const DEFAULT_RDS_DURATIONS: RdsDurations = {
  create: 4 * 60_000,
  backup: 60_000,
  modify: 2 * 60_000,
  resetCredentials: 30_000,
  delete: 2 * 60_000,
  snapshot: 2 * 60_000,
};

export const RDS_COUNTER_TYPES = {
  instance: 'rds:db-instance',
  subnetGroup: 'rds:db-subnet-group',
  snapshot: 'rds:db-snapshot',
  parameterGroup: 'rds:db-parameter-group',
} as const;

export const DEFAULT_MAINTENANCE_WINDOW = 'sun:05:00-sun:05:30';
export const DEFAULT_BACKUP_WINDOW = '03:00-03:30';

/**
 * What RDS writes to Secrets Manager for a managed master password. The secret holds
 * `{"username", "password"}`; RDS is its owning service.
 */
export interface RdsManagedSecrets {
  create(region: string, input: { name: string; description: string; kmsKeyId: string; secretString: string; tags: RdsTag[] }): { arn: string };
  /** A new version that becomes AWSCURRENT. */
  put(region: string, arn: string, secretString: string): void;
  /** Deleted without a recovery window; a secret already gone is no error. */
  remove(region: string, arn: string): void;
}

/** What RDS reads from EC2. */
export interface RdsNetwork {
  subnet(region: string, subnetId: string): { subnetId: string; vpcId: string; availabilityZone: string } | undefined;
  securityGroup(region: string, groupId: string): { groupId: string; vpcId: string } | undefined;
  defaultSecurityGroup(region: string, vpcId: string): string | undefined;
}

export interface CreateDbInstanceInput {
  identifier: string;
  instanceClass: string;
  engine: string;
  engineVersion?: string;
  allocatedStorage?: number;
  storageType?: string;
  storageEncrypted?: boolean;
  masterUsername?: string;
  masterUserPassword?: string;
  manageMasterUserPassword?: boolean;
  masterUserSecretKmsKeyId?: string;
  dbName?: string;
  port?: number;
  subnetGroupName?: string;
  vpcSecurityGroupIds: string[];
  availabilityZone?: string;
  multiAz?: boolean;
  backupRetentionPeriod?: number;
  preferredBackupWindow?: string;
  preferredMaintenanceWindow?: string;
  deletionProtection?: boolean;
  publiclyAccessible?: boolean;
  copyTagsToSnapshot?: boolean;
  parameterGroupName?: string;
  tags: RdsTag[];
}

export interface ModifyDbInstanceInput {
  identifier: string;
  instanceClass?: string;
  allocatedStorage?: number;
  masterUserPassword?: string;
  manageMasterUserPassword?: boolean;
  rotateMasterUserPassword?: boolean;
  masterUserSecretKmsKeyId?: string;
  vpcSecurityGroupIds?: string[];
  preferredMaintenanceWindow?: string;
  backupRetentionPeriod?: number;
  deletionProtection?: boolean;
  parameterGroupName?: string;
  applyImmediately: boolean;
}

export interface DeleteDbInstanceInput {
  identifier: string;
  skipFinalSnapshot: boolean;
  finalSnapshotIdentifier?: string;
}

export interface RdsSimulator {
  region(region: string): RdsRegionState;
  createDbInstance(region: string, input: CreateDbInstanceInput): DbInstanceRecord;
  dbInstance(region: string, identifier: string): DbInstanceRecord;
  modifyDbInstance(region: string, input: ModifyDbInstanceInput): DbInstanceRecord;
  deleteDbInstance(region: string, input: DeleteDbInstanceInput): DbInstanceRecord;
  createDbSubnetGroup(region: string, input: { name: string; description: string; subnetIds: string[]; tags: RdsTag[] }): DbSubnetGroupRecord;
  dbSubnetGroup(region: string, name: string): DbSubnetGroupRecord;
  deleteDbSubnetGroup(region: string, name: string): void;
  dbSnapshot(region: string, identifier: string): DbSnapshotRecord;
  deleteDbSnapshot(region: string, identifier: string): DbSnapshotRecord;
  createDbParameterGroup(region: string, input: { name: string; family: string; description: string; tags: RdsTag[] }): DbParameterGroupRecord;
  /** A client's group, or (read-only) its family's `default.<family>`. */
  dbParameterGroup(region: string, name: string): DbParameterGroupRecord;
  modifyDbParameterGroup(region: string, name: string, parameters: Array<{ name: string; value: string; applyMethod: string }>): DbParameterGroupRecord;
  /** Back to the engine's defaults: the parameters named, or all of them. */
  resetDbParameterGroup(region: string, name: string, parameterNames: string[] | 'all'): DbParameterGroupRecord;
  deleteDbParameterGroup(region: string, name: string): void;
  /** The record an RDS ARN names (for tags), or its type's NotFound error. */
  taggable(region: string, arn: string): { tags: RdsTag[] };
  addTags(region: string, arn: string, tags: RdsTag[]): void;
  removeTags(region: string, arn: string, keys: string[]): void;
  /** Moves instances and snapshots on along their states; called before every read. */
  advance(): void;
  /** Whether an instance (until it is gone) sits in this subnet, VPC or security group: EC2 refuses to delete them meanwhile. */
  usesSubnet(region: string, subnetId: string): boolean;
  usesVpc(region: string, vpcId: string): boolean;
  usesSecurityGroup(region: string, groupId: string): boolean;
  inventory(): Record<string, Array<{ region: string; id: string; status?: string }>>;
  snapshot(): RdsSnapshot;
  restore(snapshot: RdsSnapshot | undefined): void;
  reset(): void;
}

export interface RdsSimulatorOptions {
  clock: SimClock;
  counters: SandboxCounters;
  accountId: string;
  network: RdsNetwork;
  /** Where managed master passwords are kept; without it `ManageMasterUserPassword=true` is refused. */
  secrets?: RdsManagedSecrets;
  durations?: Partial<RdsDurations>;
  onChange?: () => void;
}

const IDENTIFIER = /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,62}$/;
const SUBNET_GROUP_NAME = /^[a-zA-Z][a-zA-Z0-9 ._-]{0,254}$/;
const DB_NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/;
const MASTER_USERNAME = /^[a-zA-Z][a-zA-Z0-9_]{0,15}$/;
const TAGS_PER_RESOURCE = 50;

/** Printable ASCII that RDS takes in a master password (no `/ @ "` or space), less quotes and backslashes that trip shells. */
const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&()*+,-.:;<=>?[]^_{|}~';

/** A password as RDS generates for a managed master user: 28 characters. */
export function generateMasterPassword(): string {
  return [...randomBytes(28)].map((b) => PASSWORD_ALPHABET[b % PASSWORD_ALPHABET.length]).join('');
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function invalidParameterValue(message: string): AwsError {
  return new AwsError('InvalidParameterValue', message, { status: 400 });
}

function invalidCombination(message: string): AwsError {
  return new AwsError('InvalidParameterCombination', message, { status: 400 });
}

function checkIdentifier(parameter: string, value: string): string {
  if (value === '') throw invalidParameterValue(`The parameter ${parameter} must be provided and must not be blank.`);
  if (!IDENTIFIER.test(value) || value.endsWith('-')) {
    throw invalidParameterValue(
      `The parameter ${parameter} is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.`,
    );
  }
  return value.toLowerCase();
}

function checkPasswordIfGiven(password: string | undefined): string | undefined {
  return password === undefined ? undefined : checkPassword(password);
}

function checkPassword(password: string | undefined): string {
  if (password === undefined || password === '') throw invalidParameterValue('The parameter MasterUserPassword must be provided and must not be blank.');
  if (password.length < 8) throw invalidParameterValue('The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters.');
  if (password.length > 128) throw invalidParameterValue('The parameter MasterUserPassword is not a valid password because it is longer than 128 characters.');
  if (/[/"@\s]/.test(password)) {
    throw invalidParameterValue("The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', '@', '\"', ' ' may be used.");
  }
  return sha256(password);
}

export function checkRdsTags(tags: RdsTag[]): RdsTag[] {
  for (const tag of tags) {
    if (tag.Key === '' || tag.Key.length > 128) throw invalidParameterValue('Tag keys must be between 1 and 128 characters.');
    if (tag.Value.length > 256) throw invalidParameterValue('Tag values must be at most 256 characters.');
    if (tag.Key.toLowerCase().startsWith('aws:') || tag.Key.toLowerCase().startsWith('rds:')) {
      throw invalidParameterValue(`Tag keys may not start with 'aws:' or 'rds:': ${tag.Key}`);
    }
  }
  return tags;
}

function emptyRegion(): RdsRegionState {
  return { instances: [], subnetGroups: [], snapshots: [], parameterGroups: [] };
}

export function createRdsSimulator(options: RdsSimulatorOptions): RdsSimulator {
  const { clock, counters, accountId, network, secrets } = options;
  const durations = { ...DEFAULT_RDS_DURATIONS, ...options.durations };
  let regions = new Map<string, RdsRegionState>();
  const changed = () => options.onChange?.();

  function region(name: string): RdsRegionState {
    let state = regions.get(name);
    if (state === undefined) {
      state = emptyRegion();
      regions.set(name, state);
    }
    return state;
  }

  function arn(regionName: string, type: 'db' | 'subgrp' | 'snapshot' | 'pg', id: string): string {
    return `arn:aws:rds:${regionName}:${accountId}:${type}:${id}`;
  }

  function dbInstance(regionName: string, identifier: string): DbInstanceRecord {
    advance();
    const found = region(regionName).instances.find((i) => i.identifier === identifier.toLowerCase());
    if (found === undefined) throw new AwsError('DBInstanceNotFound', `DBInstance ${identifier} not found.`, { status: 404 });
    return found;
  }

  function dbSubnetGroup(regionName: string, name: string): DbSubnetGroupRecord {
    const found = region(regionName).subnetGroups.find((g) => g.name === name.toLowerCase());
    if (found === undefined) throw new AwsError('DBSubnetGroupNotFoundFault', `DBSubnetGroup ${name} not found.`, { status: 404 });
    return found;
  }

  function dbSnapshot(regionName: string, identifier: string): DbSnapshotRecord {
    advance();
    const found = region(regionName).snapshots.find((s) => s.identifier === identifier.toLowerCase());
    if (found === undefined) throw new AwsError('DBSnapshotNotFound', `DBSnapshot ${identifier} not found.`, { status: 404 });
    return found;
  }

  function dbParameterGroup(regionName: string, name: string): DbParameterGroupRecord {
    const lower = name.toLowerCase();
    const found = region(regionName).parameterGroups.find((g) => g.name === lower);
    if (found !== undefined) return found;
    const family = lower.startsWith('default.') ? lower.slice('default.'.length) : undefined;
    if (family !== undefined && RDS_PARAMETER_FAMILIES.has(family)) {
      return { name: lower, arn: arn(regionName, 'pg', lower), family, description: `Default parameter group for ${family}`, parameters: {}, tags: [] };
    }
    throw new AwsError('DBParameterGroupNotFound', `DBParameterGroup not found: ${name}`, { status: 404 });
  }

  /** The group an instance may use: it exists and is of the family of the instance's engine and major version. `undefined`: the default. */
  function checkParameterGroup(regionName: string, name: string, engine: RdsEngine, engineVersion: string): string | undefined {
    const group = dbParameterGroup(regionName, name);
    const family = engine.parameterGroupFamily(engineVersion);
    if (group.family !== family) {
      throw invalidCombination(`The parameter group ${group.name} with DBParameterGroupFamily ${group.family} can't be used for this instance. Use a parameter group with DBParameterGroupFamily ${family}.`);
    }
    return group.name.startsWith('default.') ? undefined : group.name;
  }

  function ownParameterGroup(regionName: string, name: string): DbParameterGroupRecord {
    const group = dbParameterGroup(regionName, name);
    if (group.name.startsWith('default.')) throw invalidParameterValue(`Invalid parameter group name: default parameter groups such as ${group.name} cannot be modified or deleted.`);
    return group;
  }

  /** `at`: the real instant the status began; a transition found late is dated when it was due, so the next one is not delayed. */
  function setStatus(instance: DbInstanceRecord, status: DbInstanceStatus, at = clock.now()): void {
    instance.status = status;
    instance.statusSince = at;
  }

  function applyChanges(instance: DbInstanceRecord, changes: DbInstanceChanges): void {
    if (changes.instanceClass !== undefined) instance.instanceClass = changes.instanceClass;
    if (changes.allocatedStorage !== undefined) instance.allocatedStorage = changes.allocatedStorage;
    if (changes.passwordSha256 !== undefined) instance.passwordSha256 = changes.passwordSha256;
  }

  function advance(): void {
    let moved = false;
    for (const [regionName, state] of regions) {
      for (const instance of state.instances) {
        // Loops so that a long pause (a restart, a scale change) passes through every state it covers.
        for (;;) {
          const since = instance.statusSince;
          const due = (simulatedMs: number) => Math.min(clock.now(), since + clock.real(simulatedMs));
          if (instance.status === 'creating' && clock.elapsed(since, durations.create)) {
            setStatus(instance, 'backing-up', due(durations.create));
          } else if (instance.status === 'backing-up' && clock.elapsed(since, durations.backup)) {
            setStatus(instance, 'available', due(durations.backup));
            instance.instanceCreateTime ??= new Date(instance.statusSince).toISOString();
          } else if (instance.status === 'modifying' && clock.elapsed(since, durations.modify)) {
            applyChanges(instance, instance.applying ?? {});
            delete instance.applying;
            setStatus(instance, 'available', due(durations.modify));
          } else if (instance.status === 'resetting-master-credentials' && clock.elapsed(since, durations.resetCredentials)) {
            applyChanges(instance, instance.applying ?? {});
            delete instance.applying;
            setStatus(instance, 'available', due(durations.resetCredentials));
          } else if (instance.status === 'available' && instance.pending !== undefined && clock.elapsed(instance.pending.since, instance.pending.windowInMs)) {
            const { since: pendingSince, windowInMs, ...changes } = instance.pending;
            delete instance.pending;
            instance.applying = changes;
            setStatus(instance, 'modifying', Math.max(since, Math.min(clock.now(), pendingSince + clock.real(windowInMs))));
          } else break;
          moved = true;
        }
      }
      const gone = state.instances.filter((i) => i.status === 'deleting' && clock.elapsed(i.statusSince, durations.delete));
      if (gone.length > 0) {
        state.instances = state.instances.filter((i) => !gone.includes(i));
        for (const instance of gone) {
          counters.deleted(RDS_COUNTER_TYPES.instance);
          // RDS deletes the secret of a managed master password with its instance.
          if (instance.masterUserSecret !== undefined) secrets?.remove(regionName, instance.masterUserSecret.arn);
        }
        moved = true;
      }
      for (const snapshot of state.snapshots) {
        if (snapshot.status === 'creating' && clock.elapsed(snapshot.statusSince, durations.snapshot)) {
          snapshot.status = 'available';
          snapshot.statusSince = Math.min(clock.now(), snapshot.statusSince + clock.real(durations.snapshot));
          moved = true;
        }
      }
    }
    if (moved) changed();
  }

  function engineOf(name: string): RdsEngine {
    const engine = Object.hasOwn(RDS_ENGINES, name) ? RDS_ENGINES[name] : undefined;
    if (engine === undefined) throw invalidParameterValue(`Invalid DB engine: ${name}. The sandbox simulates ${Object.keys(RDS_ENGINES).join(' and ')}.`);
    return engine;
  }

  function checkInstanceClass(instanceClass: string, engine: RdsEngine, version: string): void {
    if (!RDS_INSTANCE_CLASSES.includes(instanceClass)) {
      throw invalidCombination(
        `RDS does not support creating a DB instance with the following combination: DBInstanceClass=${instanceClass}, Engine=${engine.engine}, EngineVersion=${version}, LicenseModel=${engine.licenseModel}. For supported combinations of instance class and database engine version, see the documentation.`,
      );
    }
  }

  function checkStorage(engine: RdsEngine, storageType: string, size: number): void {
    const limits = Object.hasOwn(RDS_STORAGE, storageType) ? RDS_STORAGE[storageType] : undefined;
    if (limits === undefined) throw invalidParameterValue(`Invalid storage type: ${storageType}. Valid values: ${Object.keys(RDS_STORAGE).join(', ')}`);
    if (!Number.isInteger(size) || size < limits.min || size > limits.max) {
      throw invalidCombination(`Invalid storage size for engine name ${engine.engine} and storage type ${storageType}: ${size}`);
    }
  }

  /** The security groups as RDS takes them: each must exist in EC2 and be in the instance's VPC. */
  function checkSecurityGroups(regionName: string, ids: string[], vpcId: string): string[] {
    for (const id of ids) {
      const group = network.securityGroup(regionName, id);
      if (group === undefined) throw invalidParameterValue(`Invalid security group , groupId= ${id}, groupName=.`);
      if (group.vpcId !== vpcId) {
        throw invalidCombination(`The DB instance and EC2 security group are in different VPCs. The DB instance is in ${vpcId} and the EC2 security group is in ${group.vpcId}`);
      }
    }
    return [...new Set(ids)];
  }

  function endpointAddress(regionName: string, identifier: string): string {
    const suffix = randomBytes(8).toString('hex').replace(/[0-9]/g, (d) => 'abcdefghij'[Number(d)] as string).slice(0, 12);
    return `${identifier}.${suffix}.${regionName}.rds.amazonaws.com`;
  }

  function resourceId(): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    return `db-${[...randomBytes(26)].map((b) => alphabet[b % 32]).join('')}`;
  }

  function mergeTags(target: { tags: RdsTag[] }, tags: RdsTag[]): void {
    const merged = target.tags.map((t) => ({ ...t }));
    for (const tag of checkRdsTags(tags)) {
      const existing = merged.find((t) => t.Key === tag.Key);
      if (existing) existing.Value = tag.Value;
      else merged.push({ ...tag });
    }
    if (merged.length > TAGS_PER_RESOURCE) throw new AwsError('TagQuotaPerResourceExceeded', `A resource may have at most ${TAGS_PER_RESOURCE} tags.`, { status: 400 });
    target.tags = merged;
  }

  function taggable(regionName: string, resourceArn: string): { tags: RdsTag[] } {
    const match = /^arn:aws[a-z-]*:rds:([a-z0-9-]+):(\d{12}):(db|subgrp|snapshot|pg):(.+)$/.exec(resourceArn);
    if (match === null) throw invalidParameterValue(`Invalid resource name: ${resourceArn}`);
    const [, arnRegion, arnAccount, type, id] = match as unknown as [string, string, string, string, string];
    if (arnRegion !== regionName || arnAccount !== accountId) {
      throw invalidParameterValue(`The resource ${resourceArn} is not in region ${regionName} of account ${accountId}.`);
    }
    if (type === 'db') return dbInstance(regionName, id);
    if (type === 'subgrp') return dbSubnetGroup(regionName, id);
    if (type === 'pg') return ownParameterGroup(regionName, id);
    return dbSnapshot(regionName, id);
  }

  /** The account's `aws/secretsmanager` KMS key in a region: what a managed secret is encrypted with unless told otherwise. */
  function defaultSecretKmsKey(regionName: string): string {
    const hex = createHash('sha256').update(`${accountId}/${regionName}/aws/secretsmanager`).digest('hex');
    return `arn:aws:kms:${regionName}:${accountId}:key/${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }

  function managedSecrets(): RdsManagedSecrets {
    if (secrets === undefined) throw invalidParameterValue('The sandbox was started without Secrets Manager: ManageMasterUserPassword is not available.');
    return secrets;
  }

  /** Creates the `rds!db-<uuid>` secret holding the generated password. */
  function createManagedSecret(regionName: string, instance: { arn: string; masterUsername: string }, password: string, kmsKeyId: string | undefined): { arn: string; kmsKeyId: string } {
    const key = kmsKeyId ?? defaultSecretKmsKey(regionName);
    const { arn: secretArn } = managedSecrets().create(regionName, {
      name: `rds!db-${randomUUID()}`,
      description: `Secret associated with primary RDS DB instance: ${instance.arn}`,
      kmsKeyId: key,
      secretString: JSON.stringify({ username: instance.masterUsername, password }),
      tags: [
        { Key: 'aws:rds:primaryDBInstanceArn', Value: instance.arn },
        { Key: 'aws:secretsmanager:owningService', Value: 'rds' },
      ],
    });
    return { arn: secretArn, kmsKeyId: key };
  }

  /** Instances that still hold network interfaces (every state until gone). */
  function holding(regionName: string): DbInstanceRecord[] {
    advance();
    return region(regionName).instances;
  }

  return {
    region,
    dbInstance,
    dbSubnetGroup,
    dbSnapshot,
    taggable,
    advance,

    createDbInstance(regionName, input) {
      const identifier = checkIdentifier('DBInstanceIdentifier', input.identifier);
      const engine = engineOf(input.engine);
      const engineVersion = resolveEngineVersion(engine, input.engineVersion);
      if (engineVersion === undefined) throw invalidCombination(`Cannot find version ${input.engineVersion} for ${engine.engine}`);
      checkInstanceClass(input.instanceClass, engine, engineVersion);
      const storageType = input.storageType ?? 'gp2';
      if (input.allocatedStorage === undefined) throw invalidParameterValue('The parameter AllocatedStorage must be provided and must not be blank.');
      checkStorage(engine, storageType, input.allocatedStorage);
      if (input.masterUsername === undefined || input.masterUsername === '') {
        throw invalidParameterValue('The parameter MasterUsername must be provided and must not be blank.');
      }
      if (!MASTER_USERNAME.test(input.masterUsername)) {
        throw invalidParameterValue('MasterUsername must start with a letter and contain 1 to 16 letters, digits or underscores.');
      }
      const manage = input.manageMasterUserPassword === true;
      if (manage && input.masterUserPassword !== undefined) {
        throw invalidCombination('You can\'t specify MasterUserPassword when ManageMasterUserPassword is turned on.');
      }
      if (!manage && input.masterUserSecretKmsKeyId !== undefined) {
        throw invalidCombination('A ManageMasterUserPassword value is required when MasterUserSecretKmsKeyId is specified.');
      }
      const generated = manage ? generateMasterPassword() : undefined;
      const passwordSha256 = checkPassword(generated ?? input.masterUserPassword);
      if (manage) managedSecrets();
      if (input.dbName !== undefined && !DB_NAME.test(input.dbName)) {
        throw invalidParameterValue('DBName must begin with a letter and contain only alphanumeric characters and underscores.');
      }
      const port = input.port ?? engine.port;
      if (!Number.isInteger(port) || port < 1150 || port > 65535) throw invalidParameterValue(`Invalid port ${port}: must be between 1150 and 65535.`);
      const maintenanceWindow = checkMaintenanceWindow(input.preferredMaintenanceWindow ?? DEFAULT_MAINTENANCE_WINDOW);
      const backupWindow = checkBackupWindow(input.preferredBackupWindow ?? DEFAULT_BACKUP_WINDOW);
      const backupRetentionPeriod = input.backupRetentionPeriod ?? 1;
      if (!Number.isInteger(backupRetentionPeriod) || backupRetentionPeriod < 0 || backupRetentionPeriod > 35) {
        throw invalidParameterValue(`Invalid backup retention period: ${backupRetentionPeriod}. Must be between 0 and 35.`);
      }
      if (input.subnetGroupName === undefined) {
        throw new AwsError(
          'InvalidVPCNetworkStateFault',
          'Cannot create a DB instance without a DBSubnetGroupName: the sandbox has no default VPC. Create a DB subnet group first.',
          { status: 400 },
        );
      }
      const state = region(regionName);
      advance();
      if (state.instances.some((i) => i.identifier === identifier)) {
        throw new AwsError('DBInstanceAlreadyExists', 'DB instance already exists', { status: 400 });
      }
      const subnetGroup = dbSubnetGroup(regionName, input.subnetGroupName);
      const zones = [...new Set(subnetGroup.subnets.map((s) => s.availabilityZone))].sort();
      if (input.availabilityZone !== undefined && !zones.includes(input.availabilityZone)) {
        throw invalidParameterValue(`No subnets found for the DB subnet group ${subnetGroup.name} in availability zone ${input.availabilityZone}.`);
      }
      if (input.multiAz === true && input.availabilityZone !== undefined) {
        throw invalidCombination('Requesting a specific availability zone is not valid for Multi-AZ instances.');
      }
      const parameterGroupName = input.parameterGroupName === undefined ? undefined : checkParameterGroup(regionName, input.parameterGroupName, engine, engineVersion);
      let securityGroupIds = checkSecurityGroups(regionName, input.vpcSecurityGroupIds, subnetGroup.vpcId);
      if (securityGroupIds.length === 0) {
        const fallback = network.defaultSecurityGroup(regionName, subnetGroup.vpcId);
        securityGroupIds = fallback === undefined ? [] : [fallback];
      }
      mergeTags({ tags: [] }, input.tags);
      const record: DbInstanceRecord = {
        identifier,
        arn: arn(regionName, 'db', identifier),
        resourceId: resourceId(),
        instanceClass: input.instanceClass,
        engine: engine.engine,
        engineVersion,
        allocatedStorage: input.allocatedStorage,
        storageType,
        storageEncrypted: input.storageEncrypted ?? false,
        masterUsername: input.masterUsername,
        passwordSha256,
        ...(input.dbName !== undefined ? { dbName: input.dbName } : {}),
        port,
        subnetGroupName: subnetGroup.name,
        vpcId: subnetGroup.vpcId,
        vpcSecurityGroupIds: securityGroupIds,
        availabilityZone: input.availabilityZone ?? (zones[state.instances.length % Math.max(1, zones.length)] as string),
        multiAz: input.multiAz ?? false,
        backupRetentionPeriod,
        preferredBackupWindow: backupWindow,
        preferredMaintenanceWindow: maintenanceWindow,
        deletionProtection: input.deletionProtection ?? false,
        publiclyAccessible: input.publiclyAccessible ?? false,
        copyTagsToSnapshot: input.copyTagsToSnapshot ?? false,
        endpointAddress: endpointAddress(regionName, identifier),
        status: 'creating',
        statusSince: clock.now(),
        ...(parameterGroupName !== undefined ? { parameterGroupName } : {}),
        tags: [],
      };
      mergeTags(record, input.tags);
      // Last, once nothing can refuse the create: a refused create leaves no secret behind.
      if (generated !== undefined) record.masterUserSecret = createManagedSecret(regionName, record, generated, input.masterUserSecretKmsKeyId);
      state.instances.push(record);
      counters.created(RDS_COUNTER_TYPES.instance);
      changed();
      return record;
    },

    modifyDbInstance(regionName, input) {
      const instance = dbInstance(regionName, input.identifier);
      if (instance.status !== 'available') {
        throw new AwsError('InvalidDBInstanceState', `Database instance is not in available state.`, { status: 400 });
      }
      const engine = engineOf(instance.engine);
      const changes: DbInstanceChanges = {};
      const base = { ...instance, ...instance.pending };
      if (input.instanceClass !== undefined && input.instanceClass !== base.instanceClass) {
        checkInstanceClass(input.instanceClass, engine, instance.engineVersion);
        changes.instanceClass = input.instanceClass;
      }
      if (input.allocatedStorage !== undefined && input.allocatedStorage !== base.allocatedStorage) {
        if (input.allocatedStorage < base.allocatedStorage) {
          throw invalidCombination(
            `Invalid storage size for engine name ${instance.engine} and storage type ${instance.storageType}: ${input.allocatedStorage}. Allocated storage can only be increased (it is ${base.allocatedStorage} GiB).`,
          );
        }
        checkStorage(engine, instance.storageType, input.allocatedStorage);
        if (input.allocatedStorage < Math.ceil(base.allocatedStorage * 1.1)) {
          throw invalidParameterValue(`Invalid storage size: the allocated storage must be increased by at least 10% (to ${Math.ceil(base.allocatedStorage * 1.1)} GiB or more).`);
        }
        changes.allocatedStorage = input.allocatedStorage;
      }
      const managed = instance.masterUserSecret !== undefined;
      const manage = input.manageMasterUserPassword;
      if (manage === false) {
        if (!managed) throw invalidCombination('You cannot set ManageMasterUserPassword to false because the master user password is not currently managed by RDS.');
        if (input.masterUserPassword === undefined) throw invalidCombination('MasterUserPassword must be provided when ManageMasterUserPassword is set to false.');
      }
      if (input.masterUserPassword !== undefined && (manage === true || (managed && manage !== false))) {
        throw invalidCombination('You can\'t specify MasterUserPassword when the master user password is managed by RDS in Secrets Manager. To set it yourself, also set ManageMasterUserPassword to false.');
      }
      if (input.masterUserSecretKmsKeyId !== undefined && manage !== true) {
        throw invalidCombination('A ManageMasterUserPassword value is required when MasterUserSecretKmsKeyId is specified.');
      }
      if (input.rotateMasterUserPassword === true) {
        if (!managed || manage !== undefined) {
          throw invalidCombination('RotateMasterUserPassword can only be set for a DB instance whose master user password is managed by RDS in Secrets Manager, without ManageMasterUserPassword.');
        }
        if (!input.applyImmediately) throw invalidCombination('You must set ApplyImmediately when you rotate the master user password.');
      }
      const switchOn = manage === true && !managed;
      const rotate = input.rotateMasterUserPassword === true;
      const generated = switchOn || rotate ? generateMasterPassword() : undefined;
      if (switchOn) managedSecrets();
      const password = checkPasswordIfGiven(generated ?? input.masterUserPassword);
      const parameterGroupName = input.parameterGroupName === undefined ? undefined : checkParameterGroup(regionName, input.parameterGroupName, engine, instance.engineVersion);
      const securityGroupIds = input.vpcSecurityGroupIds === undefined ? undefined : checkSecurityGroups(regionName, input.vpcSecurityGroupIds, instance.vpcId);
      const maintenanceWindow = input.preferredMaintenanceWindow === undefined ? undefined : checkMaintenanceWindow(input.preferredMaintenanceWindow);
      if (input.backupRetentionPeriod !== undefined && (!Number.isInteger(input.backupRetentionPeriod) || input.backupRetentionPeriod < 0 || input.backupRetentionPeriod > 35)) {
        throw invalidParameterValue(`Invalid backup retention period: ${input.backupRetentionPeriod}. Must be between 0 and 35.`);
      }

      // The managed secret changes first: its AWSCURRENT is what the instance takes once the reset is done.
      if (rotate && generated !== undefined && instance.masterUserSecret !== undefined) {
        managedSecrets().put(regionName, instance.masterUserSecret.arn, JSON.stringify({ username: instance.masterUsername, password: generated }));
      } else if (switchOn && generated !== undefined) {
        instance.masterUserSecret = createManagedSecret(regionName, instance, generated, input.masterUserSecretKmsKeyId);
      } else if (manage === false && instance.masterUserSecret !== undefined) {
        managedSecrets().remove(regionName, instance.masterUserSecret.arn);
        delete instance.masterUserSecret;
      }
      const passwordChange: DbInstanceChanges | undefined = password === undefined ? undefined : { passwordSha256: password, ...(rotate ? { secretRotation: true } : {}) };

      // Applied at once whatever ApplyImmediately says, as RDS does for these.
      if (securityGroupIds !== undefined) instance.vpcSecurityGroupIds = securityGroupIds.length > 0 ? securityGroupIds : instance.vpcSecurityGroupIds;
      if (maintenanceWindow !== undefined) instance.preferredMaintenanceWindow = maintenanceWindow;
      if (input.backupRetentionPeriod !== undefined) instance.backupRetentionPeriod = input.backupRetentionPeriod;
      if (input.deletionProtection !== undefined) instance.deletionProtection = input.deletionProtection;
      // The sandbox's instances take a new parameter group without a reboot.
      if (input.parameterGroupName !== undefined) {
        if (parameterGroupName === undefined) delete instance.parameterGroupName;
        else instance.parameterGroupName = parameterGroupName;
      }

      const scheduled = changes.instanceClass !== undefined || changes.allocatedStorage !== undefined;
      if (input.applyImmediately) {
        // Applying now takes what was waiting for the window along.
        const { since: _since, windowInMs: _window, ...waiting } = instance.pending ?? { since: 0, windowInMs: 0 };
        delete instance.pending;
        const applying: DbInstanceChanges = { ...waiting, ...changes, ...passwordChange };
        if (Object.keys(applying).length > 0) {
          instance.applying = applying;
          setStatus(instance, applying.instanceClass !== undefined || applying.allocatedStorage !== undefined ? 'modifying' : 'resetting-master-credentials');
        }
      } else {
        if (scheduled) {
          const since = clock.now();
          const { since: _since, windowInMs: _window, ...waiting } = instance.pending ?? { since, windowInMs: 0 };
          instance.pending = { ...waiting, ...changes, since, windowInMs: msUntilMaintenanceWindow(instance.preferredMaintenanceWindow, since) };
          // A window that is open now still waits for the next check, as RDS applies at its own pace within the window.
          if (instance.pending.windowInMs === 0) instance.pending.windowInMs = 1;
        } else if (instance.pending !== undefined && maintenanceWindow !== undefined) {
          instance.pending.windowInMs = Math.max(1, msUntilMaintenanceWindow(maintenanceWindow, instance.pending.since));
        }
        // A new master password is applied as soon as possible whatever ApplyImmediately says.
        if (passwordChange !== undefined) {
          instance.applying = passwordChange;
          setStatus(instance, 'resetting-master-credentials');
        }
      }
      changed();
      return instance;
    },

    deleteDbInstance(regionName, input) {
      const instance = dbInstance(regionName, input.identifier);
      if (instance.status === 'deleting') throw new AwsError('InvalidDBInstanceState', `Instance ${instance.identifier} is already being deleted.`, { status: 400 });
      if (instance.deletionProtection) throw invalidParameterValue('Cannot delete protected DB Instance, please disable deletion protection and try again.');
      const state = region(regionName);
      if (input.skipFinalSnapshot) {
        if (input.finalSnapshotIdentifier !== undefined) throw invalidCombination('FinalDBSnapshotIdentifier can not be specified when deleting a DB instance with SkipFinalSnapshot enabled.');
      } else {
        if (input.finalSnapshotIdentifier === undefined) throw invalidCombination('FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.');
        const snapshotId = checkIdentifier('FinalDBSnapshotIdentifier', input.finalSnapshotIdentifier);
        if (instance.status !== 'available') {
          throw new AwsError('InvalidDBInstanceState', `Instance ${instance.identifier} is currently ${instance.status} - a final snapshot cannot be taken.`, { status: 400 });
        }
        if (state.snapshots.some((s) => s.identifier === snapshotId)) {
          throw new AwsError('DBSnapshotAlreadyExists', `Cannot create the snapshot because a snapshot with the identifier ${snapshotId} already exists.`, { status: 400 });
        }
        state.snapshots.push({
          identifier: snapshotId,
          arn: arn(regionName, 'snapshot', snapshotId),
          dbInstanceIdentifier: instance.identifier,
          dbiResourceId: instance.resourceId,
          snapshotType: 'manual',
          status: 'creating',
          statusSince: clock.now(),
          snapshotCreateTime: new Date(clock.now()).toISOString(),
          ...(instance.instanceCreateTime !== undefined ? { instanceCreateTime: instance.instanceCreateTime } : {}),
          engine: instance.engine,
          engineVersion: instance.engineVersion,
          allocatedStorage: instance.allocatedStorage,
          storageType: instance.storageType,
          encrypted: instance.storageEncrypted,
          port: instance.port,
          availabilityZone: instance.availabilityZone,
          vpcId: instance.vpcId,
          masterUsername: instance.masterUsername,
          tags: instance.copyTagsToSnapshot ? instance.tags.map((t) => ({ ...t })) : [],
        });
        counters.created(RDS_COUNTER_TYPES.snapshot);
      }
      delete instance.pending;
      delete instance.applying;
      setStatus(instance, 'deleting');
      changed();
      return instance;
    },

    createDbSubnetGroup(regionName, input) {
      if (input.name === '') throw invalidParameterValue('The parameter DBSubnetGroupName must be provided and must not be blank.');
      if (!SUBNET_GROUP_NAME.test(input.name)) {
        throw invalidParameterValue(
          'The parameter DBSubnetGroupName is not a valid identifier. It must begin with a letter and contain no more than 255 letters, numbers, periods, underscores, spaces, or hyphens.',
        );
      }
      const name = input.name.toLowerCase();
      if (name === 'default') throw invalidParameterValue('DBSubnetGroupName must not be default.');
      if (input.description === '') throw invalidParameterValue('The parameter DBSubnetGroupDescription must be provided and must not be blank.');
      const state = region(regionName);
      if (state.subnetGroups.some((g) => g.name === name)) {
        throw new AwsError('DBSubnetGroupAlreadyExists', `The DB subnet group '${name}' already exists.`, { status: 400 });
      }
      const subnetIds = [...new Set(input.subnetIds)];
      const subnets = subnetIds.map((id) => network.subnet(regionName, id));
      const unknown = subnetIds.filter((_, i) => subnets[i] === undefined);
      if (unknown.length > 0) throw new AwsError('InvalidSubnet', `Some input subnets in :[${unknown.join(', ')}] are invalid.`, { status: 400 });
      const found = subnets as Array<{ subnetId: string; vpcId: string; availabilityZone: string }>;
      const vpcs = [...new Set(found.map((s) => s.vpcId))];
      if (vpcs.length > 1) throw new AwsError('InvalidSubnet', `Subnets in the DB subnet group must all be in one VPC; these are in ${vpcs.join(', ')}.`, { status: 400 });
      const zones = [...new Set(found.map((s) => s.availabilityZone))].sort();
      if (zones.length < 2) {
        throw new AwsError(
          'DBSubnetGroupDoesNotCoverEnoughAZs',
          `The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. Current AZ coverage: ${zones.join(', ') || 'none'}. Add subnets to cover at least 2 AZs.`,
          { status: 400 },
        );
      }
      const record: DbSubnetGroupRecord = {
        name,
        arn: arn(regionName, 'subgrp', name),
        description: input.description,
        vpcId: vpcs[0] as string,
        subnets: found.map((s) => ({ subnetId: s.subnetId, availabilityZone: s.availabilityZone })),
        tags: [],
      };
      mergeTags(record, input.tags);
      state.subnetGroups.push(record);
      counters.created(RDS_COUNTER_TYPES.subnetGroup);
      changed();
      return record;
    },

    deleteDbSubnetGroup(regionName, name) {
      const group = dbSubnetGroup(regionName, name);
      const users = holding(regionName).filter((i) => i.subnetGroupName === group.name);
      if (users.length > 0) {
        throw new AwsError(
          'InvalidDBSubnetGroupStateFault',
          `Cannot delete the subnet group '${group.name}' because at least one database instance: ${users[0]?.identifier} is still using it.`,
          { status: 400 },
        );
      }
      const state = region(regionName);
      state.subnetGroups = state.subnetGroups.filter((g) => g !== group);
      counters.deleted(RDS_COUNTER_TYPES.subnetGroup);
      changed();
    },

    deleteDbSnapshot(regionName, identifier) {
      const snapshot = dbSnapshot(regionName, identifier);
      if (snapshot.status !== 'available') throw new AwsError('InvalidDBSnapshotState', `Cannot delete the snapshot ${snapshot.identifier}: it is ${snapshot.status}.`, { status: 400 });
      const state = region(regionName);
      state.snapshots = state.snapshots.filter((s) => s !== snapshot);
      counters.deleted(RDS_COUNTER_TYPES.snapshot);
      changed();
      return snapshot;
    },

    dbParameterGroup,

    createDbParameterGroup(regionName, input) {
      if (input.name === '') throw invalidParameterValue('The parameter DBParameterGroupName must be provided and must not be blank.');
      if (!/^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,254}$/.test(input.name) || input.name.endsWith('-')) {
        throw invalidParameterValue(
          'The parameter DBParameterGroupName is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.',
        );
      }
      if (!RDS_PARAMETER_FAMILIES.has(input.family)) {
        throw invalidParameterValue(`Invalid DB parameter group family: ${input.family}. The sandbox knows ${[...RDS_PARAMETER_FAMILIES.keys()].join(', ')}.`);
      }
      if (input.description === '') throw invalidParameterValue('The parameter Description must be provided and must not be blank.');
      const name = input.name.toLowerCase();
      const state = region(regionName);
      if (state.parameterGroups.some((g) => g.name === name)) {
        throw new AwsError('DBParameterGroupAlreadyExists', `Parameter group ${name} already exists`, { status: 400 });
      }
      const record: DbParameterGroupRecord = { name, arn: arn(regionName, 'pg', name), family: input.family, description: input.description, parameters: {}, tags: [] };
      mergeTags(record, input.tags);
      state.parameterGroups.push(record);
      counters.created(RDS_COUNTER_TYPES.parameterGroup);
      changed();
      return record;
    },

    modifyDbParameterGroup(regionName, name, parameters) {
      const group = ownParameterGroup(regionName, name);
      if (parameters.length === 0) throw invalidParameterValue('The parameter Parameters must be provided and must not be empty.');
      if (parameters.length > 20) throw invalidParameterValue('A request may modify at most 20 parameters.');
      const known = RDS_PARAMETER_FAMILIES.get(group.family)?.parameters ?? [];
      // All checked before any is set: a refused request changes nothing.
      const checked = parameters.map((p) => {
        const parameter = known.find((k) => k.name === p.name);
        if (parameter === undefined) throw invalidParameterValue(`Could not find parameter with name: ${p.name}`);
        if (p.applyMethod !== 'immediate' && p.applyMethod !== 'pending-reboot') {
          throw invalidParameterValue(`Invalid value ${p.applyMethod} for ApplyMethod: must be immediate or pending-reboot.`);
        }
        if (p.applyMethod === 'immediate' && parameter.applyType === 'static') {
          throw invalidCombination(`cannot use immediate apply method for static parameter ${p.name}`);
        }
        if (p.value === '') throw invalidParameterValue(`The value of ${p.name} must not be blank.`);
        return { name: p.name, value: p.value, applyMethod: p.applyMethod as 'immediate' | 'pending-reboot' };
      });
      for (const p of checked) group.parameters[p.name] = { value: p.value, applyMethod: p.applyMethod };
      changed();
      return group;
    },

    resetDbParameterGroup(regionName, name, parameterNames) {
      const group = ownParameterGroup(regionName, name);
      if (parameterNames === 'all') group.parameters = {};
      else for (const parameter of parameterNames) delete group.parameters[parameter];
      changed();
      return group;
    },

    deleteDbParameterGroup(regionName, name) {
      const group = ownParameterGroup(regionName, name);
      const users = holding(regionName).filter((i) => i.parameterGroupName === group.name);
      if (users.length > 0) {
        throw new AwsError(
          'InvalidDBParameterGroupState',
          `One or more database instances are still members of this parameter group ${group.name}, so the group cannot be deleted (${users[0]?.identifier}).`,
          { status: 400 },
        );
      }
      const state = region(regionName);
      state.parameterGroups = state.parameterGroups.filter((g) => g !== group);
      counters.deleted(RDS_COUNTER_TYPES.parameterGroup);
      changed();
    },

    addTags(regionName, resourceArn, tags) {
      mergeTags(taggable(regionName, resourceArn), tags);
      changed();
    },

    removeTags(regionName, resourceArn, keys) {
      const target = taggable(regionName, resourceArn);
      target.tags = target.tags.filter((t) => !keys.includes(t.Key));
      changed();
    },

    usesSubnet(regionName, subnetId) {
      const groups = new Set(holding(regionName).map((i) => i.subnetGroupName));
      return region(regionName).subnetGroups.some((g) => groups.has(g.name) && g.subnets.some((s) => s.subnetId === subnetId));
    },
    usesVpc: (regionName, vpcId) => holding(regionName).some((i) => i.vpcId === vpcId),
    usesSecurityGroup: (regionName, groupId) => holding(regionName).some((i) => i.vpcSecurityGroupIds.includes(groupId)),

    inventory() {
      advance();
      const out: Record<string, Array<{ region: string; id: string; status?: string }>> = { dbInstances: [], dbSubnetGroups: [], dbSnapshots: [], dbParameterGroups: [] };
      for (const [name, state] of regions) {
        out.dbInstances!.push(...state.instances.map((i) => ({ region: name, id: i.identifier, status: i.status })));
        out.dbSubnetGroups!.push(...state.subnetGroups.map((g) => ({ region: name, id: g.name })));
        out.dbParameterGroups!.push(...state.parameterGroups.map((g) => ({ region: name, id: g.name })));
        out.dbSnapshots!.push(...state.snapshots.map((s) => ({ region: name, id: s.identifier, status: s.status })));
      }
      return out;
    },

    snapshot: () => ({ regions: structuredClone(Object.fromEntries(regions)) }),
    restore(snapshot) {
      regions = new Map(Object.entries(structuredClone(snapshot?.regions ?? {})).map(([name, state]) => [name, { ...emptyRegion(), ...state }]));
    },
    reset() {
      regions = new Map();
    },
  };
}
