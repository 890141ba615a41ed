// RDS against the sandbox with the real AWS SDK v3 client: its Query serializer (named list
// members), its XML deserializer (`<DBInstances><DBInstance>`) and its error parser.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  AddTagsToResourceCommand,
  CreateDBInstanceCommand,
  CreateDBSubnetGroupCommand,
  DeleteDBInstanceCommand,
  DeleteDBSubnetGroupCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  DescribeDBSubnetGroupsCommand,
  ListTagsForResourceCommand,
  ModifyDBInstanceCommand,
  RDSClient,
  RemoveTagsFromResourceCommand,
  type CreateDBInstanceCommandInput,
  type DBInstance,
} from '@aws-sdk/client-rds';
import { startTestSandbox, TEST_AWS_CREDENTIALS, waitFor, type TestSandbox } from '../../test-support/start-test-sandbox.js';
import { sha256 } from './rds-simulator.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandbox-rds-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Clients {
  t: TestSandbox;
  rds: RDSClient;
  ec2: EC2Client;
}

async function start(timeScale = 6000): Promise<Clients> {
  const t = await startTestSandbox({ stateDir: dir, timeScale, saveDebounceMs: 20 });
  const options = { endpoint: t.url, region: 'eu-central-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 };
  return { t, rds: new RDSClient(options), ec2: new EC2Client(options) };
}

async function stop(c: Clients): Promise<void> {
  c.rds.destroy();
  c.ec2.destroy();
  await c.t.sandbox.close();
}

async function setScale(c: Clients, scale: number): Promise<void> {
  const response = await fetch(`${c.t.url}/_sandbox/time`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scale }) });
  expect(response.status).toBe(200);
}

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}

async function counters(c: Clients): Promise<{ created: Record<string, number>; deleted: Record<string, number>; current: { rds: Record<string, Array<{ id: string; status?: string }>> } }> {
  return (await (await fetch(`${c.t.url}/_sandbox/counters`)).json()) as never;
}

/** A VPC with subnets in two zones (and one more VPC's subnet), and a security group for the database. */
async function network(c: Clients) {
  const vpcId = (await c.ec2.send(new CreateVpcCommand({ CidrBlock: '10.60.0.0/16' }))).Vpc?.VpcId as string;
  const subnet = async (vpc: string, cidr: string, zone: string) =>
    (await c.ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: cidr, AvailabilityZone: zone }))).Subnet?.SubnetId as string;
  const subnetA = await subnet(vpcId, '10.60.0.0/24', 'eu-central-1a');
  const subnetB = await subnet(vpcId, '10.60.1.0/24', 'eu-central-1b');
  const subnetA2 = await subnet(vpcId, '10.60.2.0/24', 'eu-central-1a');
  const otherVpcId = (await c.ec2.send(new CreateVpcCommand({ CidrBlock: '10.61.0.0/16' }))).Vpc?.VpcId as string;
  const foreignSubnet = await subnet(otherVpcId, '10.61.0.0/24', 'eu-central-1c');
  const groupId = (await c.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'db', Description: 'db', VpcId: vpcId }))).GroupId as string;
  const foreignGroupId = (await c.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'db', Description: 'db', VpcId: otherVpcId }))).GroupId as string;
  return { vpcId, subnetA, subnetB, subnetA2, otherVpcId, foreignSubnet, groupId, foreignGroupId };
}

const postgres = (id: string, over: Partial<CreateDBInstanceCommandInput> = {}): CreateDBInstanceCommandInput => ({
  DBInstanceIdentifier: id,
  DBInstanceClass: 'db.t4g.micro',
  Engine: 'postgres',
  EngineVersion: '16.6',
  AllocatedStorage: 20,
  StorageType: 'gp3',
  MasterUsername: 'app',
  MasterUserPassword: 'correct-horse-battery',
  DBName: 'shop',
  DBSubnetGroupName: 'shop-db',
  ...over,
});

async function describe1(c: Clients, id: string): Promise<DBInstance> {
  const { DBInstances } = await c.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
  expect(DBInstances).toHaveLength(1);
  return DBInstances?.[0] as DBInstance;
}

async function waitForStatus(c: Clients, id: string, status: string): Promise<DBInstance> {
  return waitFor(
    async () => {
      const instance = await describe1(c, id);
      return instance.DBInstanceStatus === status ? instance : undefined;
    },
    10_000,
    `${id} ${status}`,
  );
}

describe('RDS in the sandbox (AWS SDK v3)', () => {
  it('checks DB subnet groups against EC2 and refuses to delete one in use', async () => {
    const c = await start();
    const net = await network(c);
    const create = (name: string, subnetIds: string[]) => c.rds.send(new CreateDBSubnetGroupCommand({ DBSubnetGroupName: name, DBSubnetGroupDescription: 'd', SubnetIds: subnetIds }));
    expect(await errorOf(create('g', [net.subnetA, 'subnet-0123456789abcdef0']))).toEqual({
      name: 'InvalidSubnet',
      status: 400,
      message: 'Some input subnets in :[subnet-0123456789abcdef0] are invalid.',
    });
    expect(await errorOf(create('g', [net.subnetA, net.subnetA2]))).toEqual({
      name: 'DBSubnetGroupDoesNotCoverEnoughAZs',
      status: 400,
      message: "The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. Current AZ coverage: eu-central-1a. Add subnets to cover at least 2 AZs.",
    });
    expect((await errorOf(create('g', [net.subnetA, net.foreignSubnet]))).name).toBe('InvalidSubnet');

    const { DBSubnetGroup } = await c.rds.send(
      new CreateDBSubnetGroupCommand({ DBSubnetGroupName: 'Shop-DB', DBSubnetGroupDescription: 'shop', SubnetIds: [net.subnetA, net.subnetB], Tags: [{ Key: 'owner', Value: 'shop' }] }),
    );
    expect(DBSubnetGroup).toEqual({
      DBSubnetGroupName: 'shop-db',
      DBSubnetGroupDescription: 'shop',
      VpcId: net.vpcId,
      SubnetGroupStatus: 'Complete',
      Subnets: [
        { SubnetIdentifier: net.subnetA, SubnetAvailabilityZone: { Name: 'eu-central-1a' }, SubnetOutpost: {}, SubnetStatus: 'Active' },
        { SubnetIdentifier: net.subnetB, SubnetAvailabilityZone: { Name: 'eu-central-1b' }, SubnetOutpost: {}, SubnetStatus: 'Active' },
      ],
      DBSubnetGroupArn: 'arn:aws:rds:eu-central-1:123456789012:subgrp:shop-db',
      SupportedNetworkTypes: ['IPV4'],
    });
    expect((await errorOf(create('shop-db', [net.subnetA, net.subnetB]))).name).toBe('DBSubnetGroupAlreadyExistsFault');
    expect((await c.rds.send(new DescribeDBSubnetGroupsCommand({}))).DBSubnetGroups?.map((g) => g.DBSubnetGroupName)).toEqual(['shop-db']);
    expect(await errorOf(c.rds.send(new DescribeDBSubnetGroupsCommand({ DBSubnetGroupName: 'nope' })))).toEqual({
      name: 'DBSubnetGroupNotFoundFault',
      status: 404,
      message: 'DBSubnetGroup nope not found.',
    });
    const tags = await c.rds.send(new ListTagsForResourceCommand({ ResourceName: DBSubnetGroup?.DBSubnetGroupArn }));
    expect(tags.TagList).toEqual([{ Key: 'owner', Value: 'shop' }]);

    await c.rds.send(new CreateDBInstanceCommand(postgres('shop')));
    expect(await errorOf(c.rds.send(new DeleteDBSubnetGroupCommand({ DBSubnetGroupName: 'shop-db' })))).toEqual({
      name: 'InvalidDBSubnetGroupStateFault',
      status: 400,
      message: "Cannot delete the subnet group 'shop-db' because at least one database instance: shop is still using it.",
    });
    // EC2 refuses to take the network from under the instance.
    expect((await errorOf(c.ec2.send(new DeleteSubnetCommand({ SubnetId: net.subnetA })))).name).toBe('DependencyViolation');
    expect((await errorOf(c.ec2.send(new DeleteSecurityGroupCommand({ GroupId: (await describe1(c, 'shop')).VpcSecurityGroups?.[0]?.VpcSecurityGroupId })))).name).toBe(
      'CannotDelete',
    );

    await c.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'shop', SkipFinalSnapshot: true }));
    await waitFor(async () => ((await c.rds.send(new DescribeDBInstancesCommand({}))).DBInstances?.length === 0 ? true : undefined), 10_000, 'shop gone');
    expect((await errorOf(describe1(c, 'shop'))).name).toBe('DBInstanceNotFoundFault');
    await c.rds.send(new DeleteDBSubnetGroupCommand({ DBSubnetGroupName: 'shop-db' }));
    await c.ec2.send(new DeleteSubnetCommand({ SubnetId: net.subnetA }));
    const seen = await counters(c);
    expect([seen.created['rds:db-subnet-group'], seen.deleted['rds:db-subnet-group'], seen.created['rds:db-instance'], seen.deleted['rds:db-instance']]).toEqual([1, 1, 1, 1]);
    await stop(c);
  });

  it('creates an instance through creating and backing-up, validates what it is given, and keeps it across a restart', async () => {
    let c = await start(0.01);
    const net = await network(c);
    await c.rds.send(new CreateDBSubnetGroupCommand({ DBSubnetGroupName: 'shop-db', DBSubnetGroupDescription: 'shop', SubnetIds: [net.subnetA, net.subnetB] }));

    const refused = async (over: Partial<CreateDBInstanceCommandInput>) => errorOf(c.rds.send(new CreateDBInstanceCommand(postgres('bad', over))));
    expect(await refused({ EngineVersion: '9.6.1' })).toEqual({ name: 'InvalidParameterCombination', status: 400, message: 'Cannot find version 9.6.1 for postgres' });
    expect(await refused({ DBInstanceClass: 'db.x9.huge' })).toEqual({
      name: 'InvalidParameterCombination',
      status: 400,
      message:
        'RDS does not support creating a DB instance with the following combination: DBInstanceClass=db.x9.huge, Engine=postgres, EngineVersion=16.6, LicenseModel=postgresql-license. For supported combinations of instance class and database engine version, see the documentation.',
    });
    expect(await refused({ AllocatedStorage: 10 })).toEqual({ name: 'InvalidParameterCombination', status: 400, message: 'Invalid storage size for engine name postgres and storage type gp3: 10' });
    expect((await refused({ Engine: 'oracle-ee' })).name).toBe('InvalidParameterValue');
    expect((await refused({ MasterUserPassword: 'short' })).message).toBe('The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters.');
    expect((await refused({ DBInstanceIdentifier: '1-bad' })).name).toBe('InvalidParameterValue');
    expect((await refused({ DBSubnetGroupName: 'nope' })).name).toBe('DBSubnetGroupNotFoundFault');
    expect(await refused({ VpcSecurityGroupIds: ['sg-0123456789abcdef0'] })).toEqual({
      name: 'InvalidParameterValue',
      status: 400,
      message: 'Invalid security group , groupId= sg-0123456789abcdef0, groupName=.',
    });
    expect(await refused({ VpcSecurityGroupIds: [net.foreignGroupId] })).toEqual({
      name: 'InvalidParameterCombination',
      status: 400,
      message: `The DB instance and EC2 security group are in different VPCs. The DB instance is in ${net.vpcId} and the EC2 security group is in ${net.otherVpcId}`,
    });

    const { DBInstance: created } = await c.rds.send(
      new CreateDBInstanceCommand(postgres('Shop', { VpcSecurityGroupIds: [net.groupId], Tags: [{ Key: 'tugboat.dev/owner', Value: 'shop' }], EngineVersion: '16' })),
    );
    expect(created).toMatchObject({
      DBInstanceIdentifier: 'shop',
      DBInstanceStatus: 'creating',
      Engine: 'postgres',
      EngineVersion: '16.6',
      DBInstanceClass: 'db.t4g.micro',
      AllocatedStorage: 20,
      MasterUsername: 'app',
      DBName: 'shop',
      VpcSecurityGroups: [{ VpcSecurityGroupId: net.groupId, Status: 'active' }],
      DBSubnetGroup: { DBSubnetGroupName: 'shop-db', VpcId: net.vpcId },
      PendingModifiedValues: {},
      DBInstanceArn: 'arn:aws:rds:eu-central-1:123456789012:db:shop',
      TagList: [{ Key: 'tugboat.dev/owner', Value: 'shop' }],
      PreferredMaintenanceWindow: 'sun:05:00-sun:05:30',
    });
    expect(created?.Endpoint).toBeUndefined();
    expect(created?.DbiResourceId).toMatch(/^db-[A-Z2-7]{26}$/);
    expect(await errorOf(c.rds.send(new CreateDBInstanceCommand(postgres('shop'))))).toEqual({ name: 'DBInstanceAlreadyExistsFault', status: 400, message: 'DB instance already exists' });
    expect(await errorOf(c.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'shop', AllocatedStorage: 40, ApplyImmediately: true })))).toEqual({
      name: 'InvalidDBInstanceStateFault',
      status: 400,
      message: 'Database instance is not in available state.',
    });
    expect((await errorOf(c.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'shop', FinalDBSnapshotIdentifier: 'shop-final' })))).name).toBe(
      'InvalidDBInstanceStateFault',
    );
    expect(await errorOf(describe1(c, 'nope'))).toEqual({ name: 'DBInstanceNotFoundFault', status: 404, message: 'DBInstance nope not found.' });

    // Another engine, its own port; the default security group of the VPC when none is given.
    await c.rds.send(new CreateDBInstanceCommand(postgres('orders', { Engine: 'mysql', EngineVersion: '8.0.40', DBName: 'orders' })));

    await setScale(c, 6000);
    const available = await waitForStatus(c, 'shop', 'available');
    expect(available.Endpoint).toEqual({ Address: expect.stringMatching(/^shop\.[a-j]{12}\.eu-central-1\.rds\.amazonaws\.com$/), Port: 5432, HostedZoneId: 'Z2R2ITUGPM61AM' });
    expect(available.InstanceCreateTime).toBeInstanceOf(Date);
    const mysql = await waitForStatus(c, 'orders', 'available');
    expect(mysql.Endpoint?.Port).toBe(3306);
    expect(mysql.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId)).toHaveLength(1);
    expect(mysql.VpcSecurityGroups?.[0]?.VpcSecurityGroupId).not.toBe(net.groupId);

    // The security group an instance uses cannot go.
    expect(await errorOf(c.ec2.send(new DeleteSecurityGroupCommand({ GroupId: net.groupId })))).toMatchObject({ name: 'DependencyViolation' });
    expect((await errorOf(c.ec2.send(new DeleteVpcCommand({ VpcId: net.vpcId })))).name).toBe('DependencyViolation');

    await stop(c);
    c = await start(6000);
    const restored = await describe1(c, 'shop');
    // EC2 kept its groups too: the instance's group is still there and still in use.
    expect((await c.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [net.groupId] }))).SecurityGroups?.map((g) => g.GroupName)).toEqual(['db']);
    expect((await errorOf(c.ec2.send(new DeleteSecurityGroupCommand({ GroupId: net.groupId })))).name).toBe('DependencyViolation');
    expect(restored).toMatchObject({ DBInstanceStatus: 'available', Endpoint: available.Endpoint, TagList: [{ Key: 'tugboat.dev/owner', Value: 'shop' }] });
    const seen = await counters(c);
    expect(seen.created['rds:db-instance']).toBe(2);
    expect(seen.current.rds.dbInstances?.map((i) => [i.id, i.status]).sort()).toEqual([
      ['orders', 'available'],
      ['shop', 'available'],
    ]);
    await stop(c);
  });

  it('modifies now or in the maintenance window, grows storage only, and resets the master password', async () => {
    const c = await start(6000);
    const net = await network(c);
    await c.rds.send(new CreateDBSubnetGroupCommand({ DBSubnetGroupName: 'shop-db', DBSubnetGroupDescription: 'shop', SubnetIds: [net.subnetA, net.subnetB] }));
    await c.rds.send(new CreateDBInstanceCommand(postgres('shop', { AllocatedStorage: 100 })));
    await waitForStatus(c, 'shop', 'available');

    const modify = (input: Omit<ConstructorParameters<typeof ModifyDBInstanceCommand>[0], 'DBInstanceIdentifier'>) =>
      c.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'shop', ...input }));
    expect(await errorOf(modify({ AllocatedStorage: 50, ApplyImmediately: true }))).toEqual({
      name: 'InvalidParameterCombination',
      status: 400,
      message: 'Invalid storage size for engine name postgres and storage type gp3: 50. Allocated storage can only be increased (it is 100 GiB).',
    });
    expect((await errorOf(modify({ AllocatedStorage: 105, ApplyImmediately: true }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(modify({ DBInstanceClass: 'db.nope', ApplyImmediately: true }))).name).toBe('InvalidParameterCombination');

    await setScale(c, 1);
    const now = await modify({ AllocatedStorage: 150, ApplyImmediately: true });
    expect(now.DBInstance).toMatchObject({ DBInstanceStatus: 'modifying', AllocatedStorage: 100, PendingModifiedValues: { AllocatedStorage: 150 } });
    await setScale(c, 6000);
    expect(await waitForStatus(c, 'shop', 'available')).toMatchObject({ AllocatedStorage: 150, PendingModifiedValues: {} });

    // Later: waits for the window, whose start is set an hour from now (six simulated hours are 3.6 s here).
    await setScale(c, 1);
    const inAnHour = new Date(Date.now() + 60 * 60_000);
    const day = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
    const at = (d: Date) => `${day[d.getUTCDay()]}:${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
    const window = `${at(inAnHour)}-${at(new Date(inAnHour.getTime() + 30 * 60_000))}`;
    const later = await modify({ DBInstanceClass: 'db.m6g.large', AllocatedStorage: 200, ApplyImmediately: false, PreferredMaintenanceWindow: window });
    expect(later.DBInstance).toMatchObject({
      DBInstanceStatus: 'available',
      DBInstanceClass: 'db.t4g.micro',
      AllocatedStorage: 150,
      PreferredMaintenanceWindow: window,
      PendingModifiedValues: { DBInstanceClass: 'db.m6g.large', AllocatedStorage: 200 },
    });
    expect((await describe1(c, 'shop')).PendingModifiedValues).toEqual({ DBInstanceClass: 'db.m6g.large', AllocatedStorage: 200 });
    await setScale(c, 6000);
    const applied = await waitFor(
      async () => {
        const instance = await describe1(c, 'shop');
        return instance.DBInstanceStatus === 'available' && instance.DBInstanceClass === 'db.m6g.large' ? instance : undefined;
      },
      10_000,
      'the window',
    );
    expect(applied).toMatchObject({ AllocatedStorage: 200, PendingModifiedValues: {} });

    // A new password goes at once whatever ApplyImmediately says, and is never shown.
    await setScale(c, 1);
    const reset = await modify({ MasterUserPassword: 'a-new-long-password', ApplyImmediately: false });
    expect(reset.DBInstance).toMatchObject({ DBInstanceStatus: 'resetting-master-credentials', PendingModifiedValues: { MasterUserPassword: '****' } });
    await setScale(c, 6000);
    await waitForStatus(c, 'shop', 'available');
    expect(c.t.sandbox.rds.dbInstance('eu-central-1', 'shop').passwordSha256).toBe(sha256('a-new-long-password'));
    const state = JSON.stringify(c.t.sandbox.rds.snapshot());
    expect(state).not.toContain('a-new-long-password');
    expect(state).not.toContain('correct-horse-battery');
    await stop(c);
  });

  it('deletes with a final snapshot that must not exist yet, or without one', async () => {
    const c = await start(6000);
    const net = await network(c);
    await c.rds.send(new CreateDBSubnetGroupCommand({ DBSubnetGroupName: 'shop-db', DBSubnetGroupDescription: 'shop', SubnetIds: [net.subnetA, net.subnetB] }));
    await c.rds.send(new CreateDBInstanceCommand(postgres('shop', { CopyTagsToSnapshot: true, Tags: [{ Key: 'app', Value: 'shop' }] })));
    await c.rds.send(new CreateDBInstanceCommand(postgres('shop2')));
    await waitForStatus(c, 'shop', 'available');
    await waitForStatus(c, 'shop2', 'available');

    expect(await errorOf(c.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'shop' })))).toEqual({
      name: 'InvalidParameterCombination',
      status: 400,
      message: 'FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.',
    });
    await setScale(c, 1);
    const deleting = await c.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'shop', FinalDBSnapshotIdentifier: 'shop-final' }));
    expect(deleting.DBInstance?.DBInstanceStatus).toBe('deleting');
    expect((await errorOf(c.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'shop', SkipFinalSnapshot: true })))).name).toBe('InvalidDBInstanceStateFault');
    expect(await errorOf(c.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'shop2', FinalDBSnapshotIdentifier: 'shop-final' })))).toEqual({
      name: 'DBSnapshotAlreadyExistsFault',
      status: 400,
      message: 'Cannot create the snapshot because a snapshot with the identifier shop-final already exists.',
    });
    const [creating] = (await c.rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: 'shop' }))).DBSnapshots ?? [];
    expect(creating).toMatchObject({ DBSnapshotIdentifier: 'shop-final', DBInstanceIdentifier: 'shop', Status: 'creating', Engine: 'postgres', SnapshotType: 'manual', TagList: [{ Key: 'app', Value: 'shop' }] });

    await setScale(c, 6000);
    await c.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'shop2', SkipFinalSnapshot: true }));
    await waitFor(async () => ((await c.rds.send(new DescribeDBInstancesCommand({}))).DBInstances?.length === 0 ? true : undefined), 10_000, 'instances gone');
    const [snapshot] = (await c.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'shop-final' }))).DBSnapshots ?? [];
    expect(snapshot).toMatchObject({ Status: 'available', AllocatedStorage: 20, DBSnapshotArn: 'arn:aws:rds:eu-central-1:123456789012:snapshot:shop-final' });
    expect((await errorOf(c.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'nope' })))).name).toBe('DBSnapshotNotFoundFault');
    const seen = await counters(c);
    expect([seen.created['rds:db-instance'], seen.deleted['rds:db-instance'], seen.created['rds:db-snapshot'], seen.deleted['rds:db-snapshot']]).toEqual([2, 2, 1, undefined]);
    await stop(c);
  });

  it('pages and filters instances, and tags them', async () => {
    const c = await start(6000);
    const net = await network(c);
    await c.rds.send(new CreateDBSubnetGroupCommand({ DBSubnetGroupName: 'shop-db', DBSubnetGroupDescription: 'shop', SubnetIds: [net.subnetA, net.subnetB] }));
    for (let i = 0; i < 23; i += 1) {
      await c.rds.send(new CreateDBInstanceCommand(postgres(`db-${String(i).padStart(2, '0')}`, i % 2 === 0 ? {} : { Engine: 'mysql', EngineVersion: '8.4.3' })));
    }
    const first = await c.rds.send(new DescribeDBInstancesCommand({ MaxRecords: 20 }));
    expect(first.DBInstances).toHaveLength(20);
    expect(first.Marker).toEqual(expect.any(String));
    const second = await c.rds.send(new DescribeDBInstancesCommand({ MaxRecords: 20, Marker: first.Marker }));
    expect(second.DBInstances?.map((i) => i.DBInstanceIdentifier)).toEqual(['db-20', 'db-21', 'db-22']);
    expect(second.Marker).toBeUndefined();
    expect((await errorOf(c.rds.send(new DescribeDBInstancesCommand({ MaxRecords: 5 })))).message).toBe('Invalid value 5 for MaxRecords. Must be between 20 and 100');
    const mysql = await c.rds.send(new DescribeDBInstancesCommand({ Filters: [{ Name: 'engine', Values: ['mysql'] }] }));
    expect(mysql.DBInstances).toHaveLength(11);
    const byArn = await c.rds.send(new DescribeDBInstancesCommand({ Filters: [{ Name: 'db-instance-id', Values: ['arn:aws:rds:eu-central-1:123456789012:db:db-03', 'db-04'] }] }));
    expect(byArn.DBInstances?.map((i) => i.DBInstanceIdentifier)).toEqual(['db-03', 'db-04']);
    expect((await errorOf(c.rds.send(new DescribeDBInstancesCommand({ Filters: [{ Name: 'color', Values: ['red'] }] })))).name).toBe('InvalidParameterValue');

    const arn = 'arn:aws:rds:eu-central-1:123456789012:db:db-00';
    await c.rds.send(new AddTagsToResourceCommand({ ResourceName: arn, Tags: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }] }));
    await c.rds.send(new AddTagsToResourceCommand({ ResourceName: arn, Tags: [{ Key: 'a', Value: '3' }] }));
    await c.rds.send(new RemoveTagsFromResourceCommand({ ResourceName: arn, TagKeys: ['b'] }));
    expect((await c.rds.send(new ListTagsForResourceCommand({ ResourceName: arn }))).TagList).toEqual([{ Key: 'a', Value: '3' }]);
    expect((await errorOf(c.rds.send(new ListTagsForResourceCommand({ ResourceName: 'arn:aws:rds:eu-central-1:123456789012:db:nope' })))).name).toBe('DBInstanceNotFoundFault');
    expect((await errorOf(c.rds.send(new AddTagsToResourceCommand({ ResourceName: arn, Tags: [{ Key: 'aws:x', Value: '1' }] })))).name).toBe('InvalidParameterValue');
    await stop(c);
  });

  it('answers injected throttling as RDS does, which the SDK retries', async () => {
    const c = await start(6000);
    const fault = await fetch(`${c.t.url}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'rds', operation: 'DescribeDBInstances', failNext: 1, throttle: true }),
    });
    expect(fault.status).toBeLessThan(300);
    expect(await errorOf(c.rds.send(new DescribeDBInstancesCommand({})))).toMatchObject({ name: 'Throttling', status: 400 });
    await fetch(`${c.t.url}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'rds', operation: 'DescribeDBInstances', failNext: 2, throttle: true }),
    });
    const retrying = new RDSClient({ endpoint: c.t.url, region: 'eu-central-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 3 });
    const answer = await retrying.send(new DescribeDBInstancesCommand({}));
    expect(answer.DBInstances).toEqual([]);
    expect(answer.$metadata.attempts).toBe(3);
    retrying.destroy();
    await stop(c);
  });
});
