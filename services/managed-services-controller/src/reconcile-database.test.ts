/**
 * The DatabaseInstance reconciler against the fake API and an in-process sandbox: postgres and
 * mysql to Ready with their outputs, idempotent passes, each deletion policy, throttling, a
 * permanent error, and the cluster and account gates (no AWS call while either is not Ready).
 */
import { DeleteSecurityGroupCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { DescribeDBInstancesCommand, DescribeDBSnapshotsCommand, DescribeDBSubnetGroupsCommand, DeleteDBInstanceCommand, DeleteDBSubnetGroupCommand, ListTagsForResourceCommand } from '@aws-sdk/client-rds';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { finalSnapshotIdentifier, instanceIdentifier, OWNER_TAG, RETAINED_TAG } from './database-naming.js';
import { countersDelta, ONE_DATABASE, PROJECT, ready, startHarness, type ClusterNetwork, type DatabaseObject, type Harness } from './test-support/database-harness.js';

let h: Harness;
let net: ClusterNetwork;

beforeAll(async () => {
  h = await startHarness();
  await h.account('main');
  net = await h.network('10.20');
  await h.cluster('prod', 'main', net);
  await h.definition('pg', { engine: 'postgres' });
  await h.definition('pg-delete', { engine: 'postgres', deletionPolicy: 'delete' });
  await h.definition('pg-retain', { engine: 'postgres', deletionPolicy: 'retain' });
  await h.definition('mysql', { engine: 'mysql', multiAz: true, backupRetentionDays: 3, maintenanceWindow: 'sun:03:00-sun:04:00' });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.sandbox.sandbox.faults.clear();
});

const isReady = (o: DatabaseObject | undefined) => o?.status.phase === 'Ready';
const isFailed = (o: DatabaseObject | undefined) => o?.status.phase === 'Failed';

describe('managed-services-controller: DatabaseInstance', () => {
  it('provisions a postgres database in the cluster’s private subnets to Ready with its outputs; a second pass creates nothing; snapshot policy leaves the final snapshot and nothing else', async () => {
    const before = h.counters();
    const obj = await h.create('orders', { definitionRef: { name: 'pg' }, clusterRef: { name: 'prod' }, databaseName: 'orders' });
    const seen: DatabaseObject['status'][] = [];
    const done = (await h.converge(obj, isReady, { seen })) as DatabaseObject;
    const steps = seen.map((s) => s.step);
    for (const step of ['Starting', 'WaitingForInstance', 'Ready']) expect(steps).toContain(step);

    const identifier = instanceIdentifier(PROJECT, 'orders');
    expect(identifier).toBe('tugboat-shop-orders');
    const described = (await h.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }))).DBInstances?.[0];
    const { outputs } = done.status;
    expect(outputs).toEqual({
      engine: 'postgres',
      engineVersion: '16.6',
      host: described?.Endpoint?.Address,
      port: 5432,
      databaseName: 'orders',
      username: 'tugboat',
      secretArn: described?.MasterUserSecret?.SecretArn,
      passwordVersion: expect.any(String),
      region: 'eu-west-1',
      accountName: 'main',
      instanceIdentifier: identifier,
    });
    expect(outputs?.host).toMatch(/^tugboat-shop-orders\..*\.rds\.amazonaws\.com$/);
    const secret = await h.secrets.send(new DescribeSecretCommand({ SecretId: outputs?.secretArn }));
    expect(secret.VersionIdsToStages?.[outputs?.passwordVersion ?? '']).toContain('AWSCURRENT');
    expect(JSON.stringify(done.status)).not.toMatch(/password"\s*:/i);
    expect(done.status).toMatchObject({ step: 'Ready', region: 'eu-west-1', accountName: 'main', instanceIdentifier: identifier, retries: 0 });
    expect(ready(done.status)).toMatchObject({ status: 'True', reason: 'Ready', message: expect.stringContaining(`postgres 16.6 at ${outputs?.host}:5432 is available`) });
    expect(described).toMatchObject({
      Engine: 'postgres',
      DBInstanceClass: 'db.t3.micro',
      AllocatedStorage: 20,
      StorageEncrypted: true,
      MultiAZ: false,
      BackupRetentionPeriod: 7,
      DBName: 'orders',
      MasterUsername: 'tugboat',
      DBSubnetGroup: { DBSubnetGroupName: identifier, VpcId: net.vpcId },
    });
    expect(described?.TagList).toEqual(expect.arrayContaining([{ Key: OWNER_TAG, Value: obj.metadata.uid }]));
    expect(described?.DBSubnetGroup?.Subnets?.map((s) => s.SubnetIdentifier).sort()).toEqual([...net.subnetIds].sort());
    // The security group admits the cluster's private subnets on 5432, and is the instance's.
    const groups = (await h.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [obj.metadata.uid] }] }))).SecurityGroups ?? [];
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ GroupName: identifier, VpcId: net.vpcId });
    const rule = groups[0]?.IpPermissions?.find((p) => p.FromPort === 5432);
    expect(rule).toMatchObject({ IpProtocol: 'tcp', ToPort: 5432 });
    expect(rule?.IpRanges?.map((r) => r.CidrIp).sort()).toEqual([...net.cidrs].sort());
    expect(described?.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId)).toEqual([groups[0]?.GroupId]);
    expect(countersDelta(before, h.counters()).created).toEqual(ONE_DATABASE);

    // Again: nothing new, nothing changed.
    const afterFirst = h.counters();
    const again = await h.once(done);
    expect(again.report.outcome).toBe('done');
    expect(again.object?.status.outputs).toEqual(outputs);
    expect(countersDelta(afterFirst, h.counters())).toEqual({ created: {}, deleted: {} });

    // Delete with the default policy: a final snapshot of the deterministic name stays, nothing else.
    const deleting = await h.remove(done);
    expect(deleting.every((s) => s.phase === 'Deleting')).toBe(true);
    const said = deleting.map((s) => `${s.step}: ${ready(s)?.message ?? ''}`).join('\n');
    const snapshot = finalSnapshotIdentifier(identifier, obj.metadata.uid);
    expect(said).toContain(`DeletingInstance: deleting RDS instance ${identifier} after its final snapshot ${snapshot}`);
    const delta = countersDelta(before, h.counters());
    expect(delta.created).toEqual({ ...ONE_DATABASE, 'rds:db-snapshot': 1 });
    expect(delta.deleted).toEqual(ONE_DATABASE);
    const snapshots = (await h.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshot }))).DBSnapshots ?? [];
    expect(snapshots.map((s) => [s.DBSnapshotIdentifier, s.DBInstanceIdentifier, s.SnapshotType])).toEqual([[snapshot, identifier, 'manual']]);
    expect(snapshot).toBe(`tugboat-shop-orders-final-${obj.metadata.uid.replace(/-/g, '').slice(0, 8)}`);
  });

  it('provisions mysql with the definition’s multi-AZ, backups and window; the delete policy leaves nothing', async () => {
    await h.definition('mysql-delete', { engine: 'mysql', deletionPolicy: 'delete', multiAz: true, backupRetentionDays: 3, maintenanceWindow: 'sun:03:00-sun:04:00' });
    const before = h.counters();
    const obj = await h.create('carts', { definitionRef: { name: 'mysql-delete' }, clusterRef: { name: 'prod' }, instanceClass: 'db.t3.small', storageGb: 30 });
    const done = (await h.converge(obj, isReady)) as DatabaseObject;
    expect(done.status.outputs).toMatchObject({ engine: 'mysql', engineVersion: '8.0.40', port: 3306, databaseName: 'app', username: 'tugboat', instanceIdentifier: 'tugboat-shop-carts' });
    const described = (await h.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'tugboat-shop-carts' }))).DBInstances?.[0];
    expect(described).toMatchObject({ Engine: 'mysql', DBInstanceClass: 'db.t3.small', AllocatedStorage: 30, MultiAZ: true, BackupRetentionPeriod: 3, PreferredMaintenanceWindow: 'sun:03:00-sun:04:00', StorageEncrypted: true });
    const groups = (await h.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [obj.metadata.uid] }] }))).SecurityGroups ?? [];
    expect(groups[0]?.IpPermissions?.map((p) => [p.FromPort, p.ToPort])).toEqual([[3306, 3306]]);

    await h.remove(done);
    const delta = countersDelta(before, h.counters());
    expect(delta.created).toEqual(ONE_DATABASE);
    expect(delta.deleted).toEqual(ONE_DATABASE);
    expect((await h.rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: 'tugboat-shop-carts' }))).DBSnapshots).toEqual([]);
  });

  it('retain: the instance, its subnet group and security group stay, no longer tagged as Tugboat’s', async () => {
    const before = h.counters();
    const obj = await h.create('ledger', { definitionRef: { name: 'pg-retain' }, clusterRef: { name: 'prod' } });
    const done = (await h.converge(obj, isReady)) as DatabaseObject;
    await h.remove(done);
    expect(countersDelta(before, h.counters())).toEqual({ created: ONE_DATABASE, deleted: {} });
    const instance = (await h.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'tugboat-shop-ledger' }))).DBInstances?.[0];
    expect(instance?.DBInstanceStatus).toBe('available');
    expect(instance?.TagList?.find((t) => t.Key === OWNER_TAG)).toBeUndefined();
    expect(instance?.TagList).toEqual(expect.arrayContaining([{ Key: RETAINED_TAG, Value: 'shop/ledger' }]));
    const group = (await h.rds.send(new DescribeDBSubnetGroupsCommand({ DBSubnetGroupName: 'tugboat-shop-ledger' }))).DBSubnetGroups?.[0];
    const groupTags = (await h.rds.send(new ListTagsForResourceCommand({ ResourceName: group?.DBSubnetGroupArn }))).TagList;
    expect(groupTags?.find((t) => t.Key === OWNER_TAG)).toBeUndefined();
    const sg = (await h.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: `tag:${RETAINED_TAG}`, Values: ['shop/ledger'] }] }))).SecurityGroups ?? [];
    expect(sg).toHaveLength(1);
    expect(sg[0]?.Tags?.find((t) => t.Key === OWNER_TAG)).toBeUndefined();

    // A new object of the same name does not adopt what was let go of.
    const again = await h.create('ledger', { definitionRef: { name: 'pg-retain' }, clusterRef: { name: 'prod' } });
    const refused = (await h.converge(again, isFailed)) as DatabaseObject;
    expect(ready(refused.status)).toMatchObject({ reason: 'NameTaken', message: expect.stringMatching(/^CreatingSubnetGroup: DB subnet group tugboat-shop-ledger exists and is not this database's/) });
    await h.remove(refused);
    expect(instance?.DBInstanceIdentifier).toBe('tugboat-shop-ledger');
    // Clean up by hand, as an operator would.
    await h.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'tugboat-shop-ledger', SkipFinalSnapshot: true }));
    await waitGone(async () => (await h.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'tugboat-shop-ledger' })).catch(() => undefined))?.DBInstances?.[0]);
    await h.rds.send(new DeleteDBSubnetGroupCommand({ DBSubnetGroupName: 'tugboat-shop-ledger' }));
    await h.ec2.send(new DeleteSecurityGroupCommand({ GroupId: sg[0]?.GroupId }));
  });

  it('a network given in the spec: the account, region and subnets named, ingress from allowedCidrs', async () => {
    const other = await h.network('10.30');
    const before = h.counters();
    const obj = await h.create('byo', { definitionRef: { name: 'pg-delete' }, network: { accountRef: { name: 'main' }, region: 'eu-west-1', subnetIds: other.subnetIds, allowedCidrs: ['192.168.0.0/16'] } });
    const done = (await h.converge(obj, isReady)) as DatabaseObject;
    const groups = (await h.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [obj.metadata.uid] }] }))).SecurityGroups ?? [];
    expect(groups[0]?.VpcId).toBe(other.vpcId);
    expect(groups[0]?.IpPermissions?.flatMap((p) => p.IpRanges?.map((r) => r.CidrIp))).toEqual(['192.168.0.0/16']);
    await h.remove(done);
    expect(countersDelta(before, h.counters())).toEqual({ created: ONE_DATABASE, deleted: ONE_DATABASE });
  });

  it('converges while RDS and EC2 throttle, showing the step and AWS’s message meanwhile; a security group still in use on delete waits', async () => {
    const faults = h.sandbox.sandbox.faults;
    // The SDK retries a throttled call once itself; the controller sees every second one.
    faults.add({ service: 'rds', operation: 'CreateDBSubnetGroup', throttle: true, failNext: 4 });
    faults.add({ service: 'ec2', operation: 'CreateSecurityGroup', throttle: true, failNext: 2 });
    faults.add({ service: 'rds', operation: 'CreateDBInstance', throttle: true, failNext: 2 });
    const before = h.counters();
    const obj = await h.create('throttled', { definitionRef: { name: 'pg-delete' }, clusterRef: { name: 'prod' } });
    const seen: DatabaseObject['status'][] = [];
    const done = (await h.converge(obj, isReady, { seen })) as DatabaseObject;
    const throttled = seen.filter((s) => s.phase === 'Progressing' && /Throttling|RequestLimitExceeded/.test(ready(s)?.message ?? ''));
    expect(throttled.map((s) => s.step)).toEqual(expect.arrayContaining(['CreatingSubnetGroup', 'CreatingSecurityGroup', 'CreatingInstance']));
    expect(Math.max(...seen.map((s) => s.retries ?? 0))).toBeGreaterThanOrEqual(2);
    expect(done.status.retries).toBe(0);
    expect(countersDelta(before, h.counters()).created).toEqual(ONE_DATABASE);

    faults.add({ service: 'ec2', operation: 'DeleteSecurityGroup', failNext: 2, error: { code: 'DependencyViolation', status: 400, message: 'resource sg-x has a dependent object' } });
    const deleting = await h.remove(done);
    expect(deleting.map((s) => `${s.step}: ${ready(s)?.message}`)).toEqual(expect.arrayContaining([expect.stringMatching(/^DeletingSecurityGroup: security group sg-[0-9a-f]+ is still in use \(DependencyViolation\)$/)]));
    expect(countersDelta(before, h.counters()).deleted).toEqual(ONE_DATABASE);
  });

  it('is Failed with the step and AWS’s message on a permanent error', async () => {
    h.sandbox.sandbox.faults.add({ service: 'rds', operation: 'CreateDBInstance', failNext: 1, error: { code: 'InstanceQuotaExceeded', status: 400, message: 'DB Instance quota exceeded' } });
    const before = h.counters();
    const obj = await h.create('quota', { definitionRef: { name: 'pg-delete' }, clusterRef: { name: 'prod' } });
    const failed = (await h.converge(obj, isFailed)) as DatabaseObject;
    expect(ready(failed.status)).toMatchObject({ reason: 'ProvisioningFailed', message: 'CreatingInstance: InstanceQuotaExceeded: DB Instance quota exceeded' });
    expect(failed.status.step).toBe('CreatingInstance');
    expect((await h.once(failed)).report.outcome).toBe('skipped');
    await h.remove(failed);
    const delta = countersDelta(before, h.counters());
    expect(delta.created).toEqual({ 'rds:db-subnet-group': 1, 'ec2:security-group': 1 });
    expect(delta.deleted).toEqual(delta.created);
  });

  it('waits for the cluster and for the account without a single AWS call', async () => {
    const pending = await h.network('10.40');
    await h.cluster('staging', 'main', pending, false);
    const obj = await h.create('gated', { definitionRef: { name: 'pg-delete' }, clusterRef: { name: 'staging' } });
    h.record(true);
    try {
      const first = await h.once(obj);
      expect(first.report.outcome).toBe('requeue');
      expect(first.object?.status).toMatchObject({ phase: 'Progressing', step: 'WaitingForCluster' });
      expect(ready(first.object?.status)?.message).toMatch(/^EksCluster staging is Pending; the database is made in its network once it is Ready/);

      await h.account('revoked', 'Failed');
      const byo = await h.create('gated-account', { definitionRef: { name: 'pg-delete' }, network: { accountRef: { name: 'revoked' }, region: 'eu-west-1', subnetIds: pending.subnetIds } });
      const second = await h.once(byo);
      expect(second.object?.status).toMatchObject({ phase: 'Progressing', step: 'AccountNotReady' });
      expect(ready(second.object?.status)?.message).toMatch(/^AwsAccount revoked is Failed \(InvalidCredentials: /);
      expect(h.calls).toEqual([]);

      // Deleted before either started: nothing can exist in AWS, so they go at once, still without a call.
      for (const o of [obj, byo]) {
        await h.api.delete({ kind: 'DatabaseInstance', project: PROJECT, name: o.metadata.name });
        expect((await h.once(o)).report.outcome).toBe('finalized');
      }
      expect(h.calls).toEqual([]);
    } finally {
      h.record(false);
    }

    // Once the cluster is Ready, the database follows.
    const later = await h.create('gated-later', { definitionRef: { name: 'pg-delete' }, clusterRef: { name: 'staging' } });
    expect((await h.once(later)).object?.status.step).toBe('WaitingForCluster');
    h.setClusterReady('staging', pending);
    const done = (await h.converge(later, isReady)) as DatabaseObject;
    await h.remove(done);
  });
});

async function waitGone(check: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 500; i += 1) {
    if ((await check()) === undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('still there');
}
