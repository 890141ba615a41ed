// DB parameter groups against the sandbox with the real AWS SDK v3 client: create, describe,
// modify and reset parameters, an instance that uses a group (and the family it must match),
// a delete refused while an instance uses the group, and the groups kept across a restart.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateDBInstanceCommand,
  CreateDBParameterGroupCommand,
  CreateDBSubnetGroupCommand,
  DeleteDBInstanceCommand,
  DeleteDBParameterGroupCommand,
  DescribeDBInstancesCommand,
  DescribeDBParameterGroupsCommand,
  DescribeDBParametersCommand,
  ListTagsForResourceCommand,
  ModifyDBInstanceCommand,
  ModifyDBParameterGroupCommand,
  RDSClient,
  ResetDBParameterGroupCommand,
  type CreateDBInstanceCommandInput,
} from '@aws-sdk/client-rds';
import { startTestSandbox, TEST_AWS_CREDENTIALS, waitFor, type TestSandbox } from '../../test-support/start-test-sandbox.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandbox-rds-pg-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Clients {
  t: TestSandbox;
  rds: RDSClient;
  ec2: EC2Client;
}

async function start(): Promise<Clients> {
  const t = await startTestSandbox({ stateDir: dir, timeScale: 6000, saveDebounceMs: 20 });
  const options = { endpoint: t.url, region: 'eu-central-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 };
  return { t, rds: new RDSClient(options), ec2: new EC2Client(options) };
}

async function stop(c: Clients): Promise<void> {
  c.rds.destroy();
  c.ec2.destroy();
  await c.t.sandbox.close();
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

async function counters(c: Clients): Promise<{ created: Record<string, number>; deleted: Record<string, number>; current: { rds: Record<string, Array<{ id: string }>> } }> {
  return (await (await fetch(`${c.t.url}/_sandbox/counters`)).json()) as never;
}

const postgres = (id: string, over: Partial<CreateDBInstanceCommandInput> = {}): CreateDBInstanceCommandInput => ({
  DBInstanceIdentifier: id,
  DBInstanceClass: 'db.t4g.micro',
  Engine: 'postgres',
  EngineVersion: '16.6',
  AllocatedStorage: 20,
  MasterUsername: 'app',
  MasterUserPassword: 'correct-horse-battery',
  DBSubnetGroupName: 'shop-db',
  ...over,
});

async function status(c: Clients, id: string): Promise<{ status?: string; groups: Array<{ DBParameterGroupName?: string; ParameterApplyStatus?: string }> } | undefined> {
  const found = (await c.rds.send(new DescribeDBInstancesCommand({}))).DBInstances?.find((i) => i.DBInstanceIdentifier === id);
  return found === undefined ? undefined : { status: found.DBInstanceStatus, groups: found.DBParameterGroups ?? [] };
}

describe('RDS DB parameter groups in the sandbox (AWS SDK v3)', () => {
  it('creates, modifies, resets and deletes a group, and an instance takes one of its own family', async () => {
    let c = await start();
    const vpcId = (await c.ec2.send(new CreateVpcCommand({ CidrBlock: '10.70.0.0/16' }))).Vpc?.VpcId as string;
    const subnet = async (cidr: string, zone: string) => (await c.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: zone }))).Subnet?.SubnetId as string;
    const subnets = [await subnet('10.70.0.0/24', 'eu-central-1a'), await subnet('10.70.1.0/24', 'eu-central-1b')];
    await c.rds.send(new CreateDBSubnetGroupCommand({ DBSubnetGroupName: 'shop-db', DBSubnetGroupDescription: 'shop', SubnetIds: subnets }));

    const { DBParameterGroup: group } = await c.rds.send(
      new CreateDBParameterGroupCommand({ DBParameterGroupName: 'Shop-Tuned', DBParameterGroupFamily: 'postgres16', Description: 'shop', Tags: [{ Key: 'tugboat.dev/owner', Value: 'u1' }] }),
    );
    expect(group).toEqual({ DBParameterGroupName: 'shop-tuned', DBParameterGroupFamily: 'postgres16', Description: 'shop', DBParameterGroupArn: 'arn:aws:rds:eu-central-1:123456789012:pg:shop-tuned' });
    expect((await c.rds.send(new ListTagsForResourceCommand({ ResourceName: group?.DBParameterGroupArn }))).TagList).toEqual([{ Key: 'tugboat.dev/owner', Value: 'u1' }]);
    expect(await errorOf(c.rds.send(new CreateDBParameterGroupCommand({ DBParameterGroupName: 'shop-tuned', DBParameterGroupFamily: 'postgres16', Description: 'again' })))).toMatchObject({
      name: 'DBParameterGroupAlreadyExistsFault',
      status: 400,
    });
    expect((await errorOf(c.rds.send(new CreateDBParameterGroupCommand({ DBParameterGroupName: 'old', DBParameterGroupFamily: 'postgres9.6', Description: 'old' })))).name).toBe('InvalidParameterValue');
    await c.rds.send(new CreateDBParameterGroupCommand({ DBParameterGroupName: 'shop-mysql', DBParameterGroupFamily: 'mysql8.0', Description: 'mysql' }));
    expect((await c.rds.send(new DescribeDBParameterGroupsCommand({}))).DBParameterGroups?.map((g) => [g.DBParameterGroupName, g.DBParameterGroupFamily])).toEqual([
      ['shop-tuned', 'postgres16'],
      ['shop-mysql', 'mysql8.0'],
    ]);
    expect(await errorOf(c.rds.send(new DescribeDBParameterGroupsCommand({ DBParameterGroupName: 'nope' })))).toMatchObject({ name: 'DBParameterGroupNotFoundFault', status: 404 });

    // Parameters: known names only, static ones only at the next reboot; a refused request sets nothing.
    const modify = (parameters: Array<{ ParameterName: string; ParameterValue: string; ApplyMethod: 'immediate' | 'pending-reboot' }>) =>
      c.rds.send(new ModifyDBParameterGroupCommand({ DBParameterGroupName: 'shop-tuned', Parameters: parameters }));
    expect(await errorOf(modify([{ ParameterName: 'work_mem', ParameterValue: '65536', ApplyMethod: 'immediate' }, { ParameterName: 'wrok_mem', ParameterValue: '1', ApplyMethod: 'immediate' }]))).toEqual({
      name: 'InvalidParameterValue',
      status: 400,
      message: 'Could not find parameter with name: wrok_mem',
    });
    expect((await errorOf(modify([{ ParameterName: 'shared_buffers', ParameterValue: '1000', ApplyMethod: 'immediate' }]))).name).toBe('InvalidParameterCombination');
    expect((await errorOf(c.rds.send(new ModifyDBParameterGroupCommand({ DBParameterGroupName: 'shop-mysql', Parameters: [{ ParameterName: 'work_mem', ParameterValue: '1', ApplyMethod: 'immediate' }] })))).name).toBe(
      'InvalidParameterValue',
    );
    expect((await modify([{ ParameterName: 'work_mem', ParameterValue: '65536', ApplyMethod: 'immediate' }, { ParameterName: 'shared_buffers', ParameterValue: '1000', ApplyMethod: 'pending-reboot' }])).DBParameterGroupName).toBe('shop-tuned');
    const user = async () =>
      (await c.rds.send(new DescribeDBParametersCommand({ DBParameterGroupName: 'shop-tuned', Source: 'user' }))).Parameters?.map((p) => [p.ParameterName, p.ParameterValue, p.ApplyMethod, p.ApplyType]);
    expect(await user()).toEqual([
      ['shared_buffers', '1000', 'pending-reboot', 'static'],
      ['work_mem', '65536', 'immediate', 'dynamic'],
    ]);
    const all = (await c.rds.send(new DescribeDBParametersCommand({ DBParameterGroupName: 'shop-tuned' }))).Parameters ?? [];
    expect(all.find((p) => p.ParameterName === 'max_connections')).toMatchObject({ Source: 'engine-default', IsModifiable: true });
    await c.rds.send(new ResetDBParameterGroupCommand({ DBParameterGroupName: 'shop-tuned', Parameters: [{ ParameterName: 'shared_buffers' }] }));
    expect(await user()).toEqual([['work_mem', '65536', 'immediate', 'dynamic']]);
    // The default group of a family can be read, not changed.
    expect((await c.rds.send(new DescribeDBParameterGroupsCommand({ DBParameterGroupName: 'default.postgres16' }))).DBParameterGroups?.[0]?.DBParameterGroupFamily).toBe('postgres16');
    expect((await errorOf(c.rds.send(new DeleteDBParameterGroupCommand({ DBParameterGroupName: 'default.postgres16' })))).name).toBe('InvalidParameterValue');

    // Instances: the group must exist and be of the instance's family.
    expect((await errorOf(c.rds.send(new CreateDBInstanceCommand(postgres('shop', { DBParameterGroupName: 'nope' }))))).name).toBe('DBParameterGroupNotFoundFault');
    expect(await errorOf(c.rds.send(new CreateDBInstanceCommand(postgres('shop', { DBParameterGroupName: 'shop-mysql' }))))).toEqual({
      name: 'InvalidParameterCombination',
      status: 400,
      message: "The parameter group shop-mysql with DBParameterGroupFamily mysql8.0 can't be used for this instance. Use a parameter group with DBParameterGroupFamily postgres16.",
    });
    expect((await errorOf(c.rds.send(new CreateDBInstanceCommand(postgres('shop', { EngineVersion: '15.10', DBParameterGroupName: 'shop-tuned' }))))).name).toBe('InvalidParameterCombination');
    await c.rds.send(new CreateDBInstanceCommand(postgres('shop', { DBParameterGroupName: 'shop-tuned' })));
    await c.rds.send(new CreateDBInstanceCommand(postgres('plain')));
    expect((await status(c, 'shop'))?.groups).toEqual([{ DBParameterGroupName: 'shop-tuned', ParameterApplyStatus: 'in-sync' }]);
    expect((await status(c, 'plain'))?.groups).toEqual([{ DBParameterGroupName: 'default.postgres16', ParameterApplyStatus: 'in-sync' }]);
    expect(await errorOf(c.rds.send(new DeleteDBParameterGroupCommand({ DBParameterGroupName: 'shop-tuned' })))).toMatchObject({ name: 'InvalidDBParameterGroupStateFault', status: 400 });

    // Kept across a restart.
    await stop(c);
    c = await start();
    expect(await user()).toEqual([['work_mem', '65536', 'immediate', 'dynamic']]);
    await waitFor(async () => ((await status(c, 'plain'))?.status === 'available' ? true : undefined), 10_000, 'plain available');
    await waitFor(async () => ((await status(c, 'shop'))?.status === 'available' ? true : undefined), 10_000, 'shop available');

    // Moving instances between groups: to one of ours, and back to the default.
    await c.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'plain', DBParameterGroupName: 'shop-tuned', ApplyImmediately: true }));
    expect((await status(c, 'plain'))?.groups).toEqual([{ DBParameterGroupName: 'shop-tuned', ParameterApplyStatus: 'in-sync' }]);
    await c.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'plain', DBParameterGroupName: 'default.postgres16', ApplyImmediately: true }));
    expect((await status(c, 'plain'))?.groups).toEqual([{ DBParameterGroupName: 'default.postgres16', ParameterApplyStatus: 'in-sync' }]);

    // Deleted once no instance holds it any more (a deleting one still does).
    // Sandbox time slowed to real time while it is deleting, so the check cannot race its end on a loaded machine.
    const timeScale = (scale: number) => fetch(`${c.t.url}/_sandbox/time`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scale }) });
    await timeScale(1);
    await c.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'shop', SkipFinalSnapshot: true }));
    expect((await status(c, 'shop'))?.status).toBe('deleting');
    expect((await errorOf(c.rds.send(new DeleteDBParameterGroupCommand({ DBParameterGroupName: 'shop-tuned' })))).name).toBe('InvalidDBParameterGroupStateFault');
    await timeScale(6000);
    await waitFor(async () => ((await status(c, 'shop')) === undefined ? true : undefined), 10_000, 'shop gone');
    await c.rds.send(new DeleteDBParameterGroupCommand({ DBParameterGroupName: 'shop-tuned' }));
    expect((await errorOf(c.rds.send(new DeleteDBParameterGroupCommand({ DBParameterGroupName: 'shop-tuned' })))).name).toBe('DBParameterGroupNotFoundFault');
    const seen = await counters(c);
    expect([seen.created['rds:db-parameter-group'], seen.deleted['rds:db-parameter-group']]).toEqual([2, 1]);
    expect(seen.current.rds['dbParameterGroups']?.map((g) => g.id)).toEqual(['shop-mysql']);
    await stop(c);
  });
});
