/**
 * RDS on the wire (Query protocol, `Version=2014-10-31`): reads the flat form parameters, whose
 * lists name their members (`VpcSecurityGroupIds.VpcSecurityGroupId.1`, `Tags.Tag.1.Key`,
 * `Filters.Filter.1.Values.Value.1`, `TagKeys.member.1`), calls the simulator, and answers with RDS's
 * element names: lists of named elements (`<DBInstances><DBInstance>…`), `Marker` for the next page.
 */
import { AwsError } from '../aws-error.js';
import type { AwsOperation, AwsOperationContext } from '../aws-operation.js';
import { RDS_ENGINES } from './rds-engines.js';
import { RDS_PARAMETER_FAMILIES } from './rds-parameters.js';
import type { DbInstanceRecord, DbParameterGroupRecord, DbSnapshotRecord, DbSubnetGroupRecord, RdsSimulator, RdsTag } from './rds-simulator.js';

export const RDS_XML_NAMESPACE = 'http://rds.amazonaws.com/doc/2014-10-31/';

type Input = Record<string, unknown>;

function text(input: Input, name: string): string | undefined {
  const value = input[name];
  return typeof value === 'string' ? value : undefined;
}

function required(input: Input, name: string): string {
  const value = text(input, name);
  if (value === undefined || value === '') throw new AwsError('InvalidParameterValue', `The parameter ${name} must be provided and must not be blank.`, { status: 400 });
  return value;
}

function integer(input: Input, name: string): number | undefined {
  const raw = text(input, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value)) throw new AwsError('InvalidParameterValue', `Invalid value ${raw} for ${name}: must be an integer.`, { status: 400 });
  return value;
}

function boolean(input: Input, name: string): boolean | undefined {
  const raw = text(input, name);
  if (raw === undefined) return undefined;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new AwsError('InvalidParameterValue', `Invalid value ${raw} for ${name}: must be true or false.`, { status: 400 });
}

/**
 * The items of a Query list, in index order, whatever its members are called: `Name.Member.N`
 * (key `''`) or `Name.Member.N.Field…` (key `Field…`).
 */
export function queryList(input: Input, name: string): Input[] {
  const items = new Map<number, Input>();
  const prefix = `${name}.`;
  for (const [key, value] of Object.entries(input)) {
    if (!key.startsWith(prefix)) continue;
    const match = /^[A-Za-z]+\.(\d+)(?:\.(.+))?$/.exec(key.slice(prefix.length));
    if (match === null) continue;
    const index = Number(match[1]);
    const item = items.get(index) ?? {};
    item[match[2] ?? ''] = value;
    items.set(index, item);
  }
  return [...items.entries()].sort(([a], [b]) => a - b).map(([, item]) => item);
}

function stringList(input: Input, name: string): string[] {
  return queryList(input, name)
    .map((item) => item[''])
    .filter((value): value is string => typeof value === 'string');
}

function tagList(input: Input, name = 'Tags'): RdsTag[] {
  return queryList(input, name).map((item) => {
    const key = text(item, 'Key');
    if (key === undefined) throw new AwsError('InvalidParameterValue', 'Every tag needs a Key.', { status: 400 });
    return { Key: key, Value: text(item, 'Value') ?? '' };
  });
}

interface RdsFilter {
  name: string;
  values: string[];
}

function filterList(input: Input, known: string[]): RdsFilter[] {
  return queryList(input, 'Filters').map((item) => {
    const name = text(item, 'Name') ?? '';
    if (!known.includes(name)) throw new AwsError('InvalidParameterValue', `Unrecognized filter name: ${name}.`, { status: 400 });
    const values = stringList(item, 'Values');
    if (values.length === 0) throw new AwsError('InvalidParameterValue', `The filter ${name} needs at least one value.`, { status: 400 });
    return { name, values };
  });
}

/** `MaxRecords` (20–100, default 100) and the opaque `Marker` of the previous page. */
function page<T>(input: Input, items: T[]): { items: T[]; marker?: string } {
  const maxRecords = integer(input, 'MaxRecords') ?? 100;
  if (maxRecords < 20 || maxRecords > 100) {
    throw new AwsError('InvalidParameterValue', `Invalid value ${maxRecords} for MaxRecords. Must be between 20 and 100`, { status: 400 });
  }
  const marker = text(input, 'Marker');
  let start = 0;
  if (marker !== undefined && marker !== '') {
    const decoded = Number(Buffer.from(marker, 'base64url').toString('utf8').replace(/^offset:/, ''));
    if (!Number.isInteger(decoded) || decoded < 0) throw new AwsError('InvalidParameterValue', `Invalid Marker: ${marker}`, { status: 400 });
    start = decoded;
  }
  const end = start + maxRecords;
  return { items: items.slice(start, end), ...(end < items.length ? { marker: Buffer.from(`offset:${end}`).toString('base64url') } : {}) };
}

/** An RDS list: one element named `member` per item; empty lists are an empty element. */
function list(member: string, items: unknown[]): unknown {
  return items.length === 0 ? '' : { [member]: items };
}

function tagXml(tags: RdsTag[]): unknown {
  return list('Tag', tags);
}

export interface RdsOperationsOptions {
  rds: RdsSimulator;
}

export function rdsOperations(options: RdsOperationsOptions): AwsOperation[] {
  const { rds } = options;
  const op = (operation: string, handler: (ctx: AwsOperationContext, input: Input) => unknown): AwsOperation => ({
    service: 'rds',
    protocol: 'query',
    operation,
    xmlNamespace: RDS_XML_NAMESPACE,
    handler: (ctx) => handler(ctx, ctx.input),
  });

  const renderSubnetGroup = (g: DbSubnetGroupRecord) => ({
    DBSubnetGroupName: g.name,
    DBSubnetGroupDescription: g.description,
    VpcId: g.vpcId,
    SubnetGroupStatus: 'Complete',
    Subnets: list(
      'Subnet',
      g.subnets.map((s) => ({ SubnetIdentifier: s.subnetId, SubnetAvailabilityZone: { Name: s.availabilityZone }, SubnetOutpost: '', SubnetStatus: 'Active' })),
    ),
    DBSubnetGroupArn: g.arn,
    SupportedNetworkTypes: list('member', ['IPV4']),
  });

  const renderInstance = (region: string, i: DbInstanceRecord) => {
    const engine = RDS_ENGINES[i.engine];
    const subnetGroup = rds.region(region).subnetGroups.find((g) => g.name === i.subnetGroupName);
    const pending = { ...i.pending, ...i.applying };
    const pendingValues = {
      ...(pending.instanceClass !== undefined ? { DBInstanceClass: pending.instanceClass } : {}),
      ...(pending.allocatedStorage !== undefined ? { AllocatedStorage: pending.allocatedStorage } : {}),
      ...(pending.passwordSha256 !== undefined ? { MasterUserPassword: '****' } : {}),
    };
    // The endpoint appears once the instance has been made, as RDS shows it.
    const hasEndpoint = i.status !== 'creating';
    return {
      DBInstanceIdentifier: i.identifier,
      DBInstanceClass: i.instanceClass,
      Engine: i.engine,
      DBInstanceStatus: i.status,
      MasterUsername: i.masterUsername,
      ...(i.dbName !== undefined ? { DBName: i.dbName } : {}),
      ...(hasEndpoint ? { Endpoint: { Address: i.endpointAddress, Port: i.port, HostedZoneId: 'Z2R2ITUGPM61AM' } } : {}),
      AllocatedStorage: i.allocatedStorage,
      ...(i.instanceCreateTime !== undefined ? { InstanceCreateTime: i.instanceCreateTime } : {}),
      PreferredBackupWindow: i.preferredBackupWindow,
      BackupRetentionPeriod: i.backupRetentionPeriod,
      DBSecurityGroups: '',
      VpcSecurityGroups: list(
        'VpcSecurityGroupMembership',
        i.vpcSecurityGroupIds.map((id) => ({ VpcSecurityGroupId: id, Status: 'active' })),
      ),
      DBParameterGroups: list('DBParameterGroup', [
        { DBParameterGroupName: i.parameterGroupName ?? `default.${engine?.parameterGroupFamily(i.engineVersion) ?? i.engine}`, ParameterApplyStatus: 'in-sync' },
      ]),
      AvailabilityZone: i.availabilityZone,
      ...(subnetGroup !== undefined ? { DBSubnetGroup: renderSubnetGroup(subnetGroup) } : {}),
      PreferredMaintenanceWindow: i.preferredMaintenanceWindow,
      PendingModifiedValues: Object.keys(pendingValues).length === 0 ? '' : pendingValues,
      MultiAZ: i.multiAz,
      EngineVersion: i.engineVersion,
      AutoMinorVersionUpgrade: true,
      ReadReplicaDBInstanceIdentifiers: '',
      LicenseModel: engine?.licenseModel ?? '',
      OptionGroupMemberships: list('OptionGroupMembership', [
        { OptionGroupName: `default:${i.engine}-${i.engineVersion.split('.').slice(0, i.engine === 'mysql' ? 2 : 1).join('-')}`, Status: 'in-sync' },
      ]),
      PubliclyAccessible: i.publiclyAccessible,
      StorageType: i.storageType,
      DbInstancePort: 0,
      StorageEncrypted: i.storageEncrypted,
      DbiResourceId: i.resourceId,
      CACertificateIdentifier: 'rds-ca-rsa2048-g1',
      DomainMemberships: '',
      CopyTagsToSnapshot: i.copyTagsToSnapshot,
      MonitoringInterval: 0,
      DBInstanceArn: i.arn,
      IAMDatabaseAuthenticationEnabled: false,
      PerformanceInsightsEnabled: false,
      DeletionProtection: i.deletionProtection,
      TagList: tagXml(i.tags),
      CustomerOwnedIpEnabled: false,
      BackupTarget: 'region',
      NetworkType: 'IPV4',
      DedicatedLogVolume: false,
      ...(i.masterUserSecret !== undefined
        ? { MasterUserSecret: { SecretArn: i.masterUserSecret.arn, SecretStatus: i.applying?.secretRotation === true ? 'rotating' : 'active', KmsKeyId: i.masterUserSecret.kmsKeyId } }
        : {}),
    };
  };

  const renderParameterGroup = (g: DbParameterGroupRecord) => ({
    DBParameterGroupName: g.name,
    DBParameterGroupFamily: g.family,
    Description: g.description,
    DBParameterGroupArn: g.arn,
  });

  const renderSnapshot = (s: DbSnapshotRecord) => ({
    DBSnapshotIdentifier: s.identifier,
    DBInstanceIdentifier: s.dbInstanceIdentifier,
    SnapshotCreateTime: s.snapshotCreateTime,
    Engine: s.engine,
    AllocatedStorage: s.allocatedStorage,
    Status: s.status,
    Port: s.port,
    AvailabilityZone: s.availabilityZone,
    VpcId: s.vpcId,
    ...(s.instanceCreateTime !== undefined ? { InstanceCreateTime: s.instanceCreateTime } : {}),
    MasterUsername: s.masterUsername,
    EngineVersion: s.engineVersion,
    LicenseModel: RDS_ENGINES[s.engine]?.licenseModel ?? '',
    SnapshotType: s.snapshotType,
    PercentProgress: s.status === 'available' ? 100 : 0,
    StorageType: s.storageType,
    Encrypted: s.encrypted,
    DBSnapshotArn: s.arn,
    IAMDatabaseAuthenticationEnabled: false,
    DbiResourceId: s.dbiResourceId,
    TagList: tagXml(s.tags),
    SnapshotTarget: 'region',
  });

  return [
    op('CreateDBInstance', (ctx, input) => {
      const allocatedStorage = integer(input, 'AllocatedStorage');
      const port = integer(input, 'Port');
      const backupRetentionPeriod = integer(input, 'BackupRetentionPeriod');
      const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
      const instance = rds.createDbInstance(ctx.region, {
        identifier: required(input, 'DBInstanceIdentifier'),
        instanceClass: required(input, 'DBInstanceClass'),
        engine: required(input, 'Engine'),
        ...optional('engineVersion', text(input, 'EngineVersion')),
        ...optional('allocatedStorage', allocatedStorage),
        ...optional('storageType', text(input, 'StorageType')),
        ...optional('storageEncrypted', boolean(input, 'StorageEncrypted')),
        ...optional('masterUsername', text(input, 'MasterUsername')),
        ...optional('masterUserPassword', text(input, 'MasterUserPassword')),
        ...optional('manageMasterUserPassword', boolean(input, 'ManageMasterUserPassword')),
        ...optional('masterUserSecretKmsKeyId', text(input, 'MasterUserSecretKmsKeyId')),
        ...optional('dbName', text(input, 'DBName')),
        ...optional('port', port),
        ...optional('subnetGroupName', text(input, 'DBSubnetGroupName')),
        vpcSecurityGroupIds: stringList(input, 'VpcSecurityGroupIds'),
        ...optional('availabilityZone', text(input, 'AvailabilityZone')),
        ...optional('multiAz', boolean(input, 'MultiAZ')),
        ...optional('backupRetentionPeriod', backupRetentionPeriod),
        ...optional('preferredBackupWindow', text(input, 'PreferredBackupWindow')),
        ...optional('preferredMaintenanceWindow', text(input, 'PreferredMaintenanceWindow')),
        ...optional('deletionProtection', boolean(input, 'DeletionProtection')),
        ...optional('publiclyAccessible', boolean(input, 'PubliclyAccessible')),
        ...optional('copyTagsToSnapshot', boolean(input, 'CopyTagsToSnapshot')),
        ...optional('parameterGroupName', text(input, 'DBParameterGroupName')),
        tags: tagList(input),
      });
      return { DBInstance: renderInstance(ctx.region, instance) };
    }),
    op('DescribeDBInstances', (ctx, input) => {
      const identifier = text(input, 'DBInstanceIdentifier');
      const filters = filterList(input, ['db-instance-id', 'dbi-resource-id', 'engine', 'db-cluster-id', 'domain']);
      rds.advance();
      let instances = identifier !== undefined && identifier !== '' ? [rds.dbInstance(ctx.region, identifier)] : [...rds.region(ctx.region).instances];
      for (const filter of filters) {
        instances = instances.filter((i) => {
          switch (filter.name) {
            case 'db-instance-id':
              return filter.values.some((v) => v === i.identifier || v === i.arn);
            case 'dbi-resource-id':
              return filter.values.includes(i.resourceId);
            case 'engine':
              return filter.values.includes(i.engine);
            default:
              return false;
          }
        });
      }
      const { items, marker } = page(input, instances);
      return { DBInstances: list('DBInstance', items.map((i) => renderInstance(ctx.region, i))), ...(marker !== undefined ? { Marker: marker } : {}) };
    }),
    op('ModifyDBInstance', (ctx, input) => {
      const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
      const groups = stringList(input, 'VpcSecurityGroupIds');
      const instance = rds.modifyDbInstance(ctx.region, {
        identifier: required(input, 'DBInstanceIdentifier'),
        ...optional('instanceClass', text(input, 'DBInstanceClass')),
        ...optional('allocatedStorage', integer(input, 'AllocatedStorage')),
        ...optional('masterUserPassword', text(input, 'MasterUserPassword')),
        ...optional('manageMasterUserPassword', boolean(input, 'ManageMasterUserPassword')),
        ...optional('rotateMasterUserPassword', boolean(input, 'RotateMasterUserPassword')),
        ...optional('masterUserSecretKmsKeyId', text(input, 'MasterUserSecretKmsKeyId')),
        ...(groups.length > 0 ? { vpcSecurityGroupIds: groups } : {}),
        ...optional('preferredMaintenanceWindow', text(input, 'PreferredMaintenanceWindow')),
        ...optional('backupRetentionPeriod', integer(input, 'BackupRetentionPeriod')),
        ...optional('deletionProtection', boolean(input, 'DeletionProtection')),
        ...optional('parameterGroupName', text(input, 'DBParameterGroupName')),
        applyImmediately: boolean(input, 'ApplyImmediately') ?? false,
      });
      return { DBInstance: renderInstance(ctx.region, instance) };
    }),
    op('DeleteDBInstance', (ctx, input) => {
      const finalSnapshotIdentifier = text(input, 'FinalDBSnapshotIdentifier');
      const instance = rds.deleteDbInstance(ctx.region, {
        identifier: required(input, 'DBInstanceIdentifier'),
        skipFinalSnapshot: boolean(input, 'SkipFinalSnapshot') ?? false,
        ...(finalSnapshotIdentifier !== undefined ? { finalSnapshotIdentifier } : {}),
      });
      return { DBInstance: renderInstance(ctx.region, instance) };
    }),

    op('CreateDBSubnetGroup', (ctx, input) => {
      const subnetIds = stringList(input, 'SubnetIds');
      if (subnetIds.length === 0) throw new AwsError('InvalidParameterValue', 'The parameter SubnetIds must be provided and must not be empty.', { status: 400 });
      const group = rds.createDbSubnetGroup(ctx.region, {
        name: required(input, 'DBSubnetGroupName'),
        description: required(input, 'DBSubnetGroupDescription'),
        subnetIds,
        tags: tagList(input),
      });
      return { DBSubnetGroup: renderSubnetGroup(group) };
    }),
    op('DescribeDBSubnetGroups', (ctx, input) => {
      const name = text(input, 'DBSubnetGroupName');
      // RDS documents Filters here as not supported; they are accepted and ignored, as RDS does.
      const groups = name !== undefined && name !== '' ? [rds.dbSubnetGroup(ctx.region, name)] : [...rds.region(ctx.region).subnetGroups];
      const { items, marker } = page(input, groups);
      return { DBSubnetGroups: list('DBSubnetGroup', items.map(renderSubnetGroup)), ...(marker !== undefined ? { Marker: marker } : {}) };
    }),
    op('DeleteDBSubnetGroup', (ctx, input) => {
      rds.deleteDbSubnetGroup(ctx.region, required(input, 'DBSubnetGroupName'));
      return undefined;
    }),

    op('DescribeDBSnapshots', (ctx, input) => {
      const snapshotId = text(input, 'DBSnapshotIdentifier');
      const instanceId = text(input, 'DBInstanceIdentifier');
      const snapshotType = text(input, 'SnapshotType');
      const filters = filterList(input, ['db-instance-id', 'db-snapshot-id', 'dbi-resource-id', 'snapshot-type', 'engine']);
      rds.advance();
      let snapshots: DbSnapshotRecord[];
      if (snapshotId !== undefined && snapshotId !== '') snapshots = [rds.dbSnapshot(ctx.region, snapshotId)];
      else snapshots = [...rds.region(ctx.region).snapshots];
      if (instanceId !== undefined && instanceId !== '') snapshots = snapshots.filter((s) => s.dbInstanceIdentifier === instanceId.toLowerCase());
      if (snapshotType !== undefined && snapshotType !== '') snapshots = snapshots.filter((s) => s.snapshotType === snapshotType);
      for (const filter of filters) {
        snapshots = snapshots.filter((s) => {
          const value = {
            'db-instance-id': [s.dbInstanceIdentifier, `arn:aws:rds:${ctx.region}:${ctx.accountId}:db:${s.dbInstanceIdentifier}`],
            'db-snapshot-id': [s.identifier, s.arn],
            'dbi-resource-id': [s.dbiResourceId],
            'snapshot-type': [s.snapshotType],
            'engine': [s.engine],
          }[filter.name];
          return value?.some((v) => filter.values.includes(v)) ?? false;
        });
      }
      const { items, marker } = page(input, snapshots);
      return { DBSnapshots: list('DBSnapshot', items.map(renderSnapshot)), ...(marker !== undefined ? { Marker: marker } : {}) };
    }),
    op('DeleteDBSnapshot', (ctx, input) => ({ DBSnapshot: renderSnapshot(rds.deleteDbSnapshot(ctx.region, required(input, 'DBSnapshotIdentifier'))) })),

    op('CreateDBParameterGroup', (ctx, input) => {
      const group = rds.createDbParameterGroup(ctx.region, {
        name: required(input, 'DBParameterGroupName'),
        family: required(input, 'DBParameterGroupFamily'),
        description: required(input, 'Description'),
        tags: tagList(input),
      });
      return { DBParameterGroup: renderParameterGroup(group) };
    }),
    op('DescribeDBParameterGroups', (ctx, input) => {
      const name = text(input, 'DBParameterGroupName');
      const groups = name !== undefined && name !== '' ? [rds.dbParameterGroup(ctx.region, name)] : [...rds.region(ctx.region).parameterGroups];
      const { items, marker } = page(input, groups);
      return { DBParameterGroups: list('DBParameterGroup', items.map(renderParameterGroup)), ...(marker !== undefined ? { Marker: marker } : {}) };
    }),
    op('ModifyDBParameterGroup', (ctx, input) => {
      const parameters = queryList(input, 'Parameters').map((item) => ({
        name: text(item, 'ParameterName') ?? '',
        value: text(item, 'ParameterValue') ?? '',
        applyMethod: text(item, 'ApplyMethod') ?? '',
      }));
      return { DBParameterGroupName: rds.modifyDbParameterGroup(ctx.region, required(input, 'DBParameterGroupName'), parameters).name };
    }),
    op('ResetDBParameterGroup', (ctx, input) => {
      const names = queryList(input, 'Parameters').map((item) => text(item, 'ParameterName') ?? '');
      const all = boolean(input, 'ResetAllParameters') ?? false;
      if (all === (names.length > 0)) throw new AwsError('InvalidParameterCombination', 'Give ResetAllParameters or Parameters, not both and not neither.', { status: 400 });
      return { DBParameterGroupName: rds.resetDbParameterGroup(ctx.region, required(input, 'DBParameterGroupName'), all ? 'all' : names).name };
    }),
    op('DescribeDBParameters', (ctx, input) => {
      const group = rds.dbParameterGroup(ctx.region, required(input, 'DBParameterGroupName'));
      const source = text(input, 'Source');
      if (source !== undefined && !['user', 'engine-default', 'system'].includes(source)) {
        throw new AwsError('InvalidParameterValue', `Invalid value ${source} for Source: must be user, engine-default or system.`, { status: 400 });
      }
      const parameters = (RDS_PARAMETER_FAMILIES.get(group.family)?.parameters ?? [])
        .map((p) => {
          const set = group.parameters[p.name];
          return {
            ParameterName: p.name,
            ...(set !== undefined ? { ParameterValue: set.value } : {}),
            Description: p.description,
            Source: set !== undefined ? 'user' : 'engine-default',
            ApplyType: p.applyType,
            DataType: p.dataType,
            IsModifiable: true,
            ApplyMethod: set?.applyMethod ?? 'pending-reboot',
          };
        })
        .filter((p) => source === undefined || p.Source === source);
      const { items, marker } = page(input, parameters);
      return { Parameters: list('Parameter', items), ...(marker !== undefined ? { Marker: marker } : {}) };
    }),
    op('DeleteDBParameterGroup', (ctx, input) => {
      rds.deleteDbParameterGroup(ctx.region, required(input, 'DBParameterGroupName'));
      return undefined;
    }),

    op('AddTagsToResource', (ctx, input) => {
      rds.addTags(ctx.region, required(input, 'ResourceName'), tagList(input));
      return undefined;
    }),
    op('ListTagsForResource', (ctx, input) => ({ TagList: tagXml(rds.taggable(ctx.region, required(input, 'ResourceName')).tags) })),
    op('RemoveTagsFromResource', (ctx, input) => {
      rds.removeTags(ctx.region, required(input, 'ResourceName'), stringList(input, 'TagKeys'));
      return undefined;
    }),
  ];
}
