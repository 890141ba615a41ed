// RDS-managed master passwords: RDS generates the password and keeps it in the sandbox's Secrets
// Manager, read back with the real @aws-sdk/client-secrets-manager; the instance keeps only its hash.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateDBInstanceCommand,
  CreateDBSubnetGroupCommand,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  RDSClient,
  type CreateDBInstanceCommandInput,
  type DBInstance,
} from '@aws-sdk/client-rds';
import {
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { startTestSandbox, TEST_AWS_CREDENTIALS, waitFor, type TestSandbox } from '../../test-support/start-test-sandbox.js';
import { sha256 } from './rds-simulator.js';

const REGION = 'eu-central-1';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandbox-rds-secret-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Clients {
  t: TestSandbox;
  rds: RDSClient;
  ec2: EC2Client;
  sm: SecretsManagerClient;
}

async function start(): Promise<Clients> {
  const t = await startTestSandbox({ stateDir: dir, timeScale: 6000, saveDebounceMs: 20 });
  const options = { endpoint: t.url, region: REGION, credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 };
  return { t, rds: new RDSClient(options), ec2: new EC2Client(options), sm: new SecretsManagerClient(options) };
}

async function stop(c: Clients): Promise<void> {
  c.rds.destroy();
  c.ec2.destroy();
  c.sm.destroy();
  await c.t.sandbox.close();
}

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; message: string; error: unknown }> {
  try {
    await promise;
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message, error };
  }
  throw new Error('expected the call to fail');
}

async function counters(c: Clients): Promise<{ created: Record<string, number>; deleted: Record<string, number> }> {
  return (await (await fetch(`${c.t.url}/_sandbox/counters`)).json()) as never;
}

async function subnetGroup(c: Clients): Promise<void> {
  const vpcId = (await c.ec2.send(new CreateVpcCommand({ CidrBlock: '10.80.0.0/16' }))).Vpc?.VpcId as string;
  const subnetIds = await Promise.all(
    ['a', 'b'].map(async (zone, i) => (await c.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.80.${i}.0/24`, AvailabilityZone: `${REGION}${zone}` }))).Subnet?.SubnetId as string),
  );
  await c.rds.send(new CreateDBSubnetGroupCommand({ DBSubnetGroupName: 'apps', DBSubnetGroupDescription: 'apps', SubnetIds: subnetIds }));
}

const managed = (id: string, over: Partial<CreateDBInstanceCommandInput> = {}): CreateDBInstanceCommandInput => ({
  DBInstanceIdentifier: id,
  DBInstanceClass: 'db.t4g.micro',
  Engine: 'postgres',
  AllocatedStorage: 20,
  MasterUsername: 'shop_admin',
  ManageMasterUserPassword: true,
  DBSubnetGroupName: 'apps',
  ...over,
});

async function describe1(c: Clients, id: string): Promise<DBInstance> {
  return (await c.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0] as DBInstance;
}

async function waitForStatus(c: Clients, id: string, status: string): Promise<DBInstance> {
  return waitFor(async () => {
    const instance = await describe1(c, id);
    return instance.DBInstanceStatus === status ? instance : undefined;
  }, 10_000, `${id} ${status}`);
}

async function credentialsIn(c: Clients, secretArn: string, stage = 'AWSCURRENT'): Promise<{ username: string; password: string }> {
  const value = await c.sm.send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: stage }));
  return JSON.parse(value.SecretString as string) as { username: string; password: string };
}

describe('RDS-managed master passwords in Secrets Manager', () => {
  it('creates the secret with the instance, rotates it, and deletes it with the instance', async () => {
    const c = await start();
    try {
      await subnetGroup(c);
      const both = await errorOf(c.rds.send(new CreateDBInstanceCommand(managed('both', { MasterUserPassword: 'a-long-password' }))));
      expect(both.name).toBe('InvalidParameterCombination');
      const keyAlone = await errorOf(c.rds.send(new CreateDBInstanceCommand(managed('key', { ManageMasterUserPassword: false, MasterUserPassword: 'a-long-password', MasterUserSecretKmsKeyId: 'alias/x' }))));
      expect(keyAlone.name).toBe('InvalidParameterCombination');
      expect((await counters(c)).created['secretsmanager:secret']).toBeUndefined();

      const created = (await c.rds.send(new CreateDBInstanceCommand(managed('shop')))).DBInstance as DBInstance;
      const secretArn = created.MasterUserSecret?.SecretArn as string;
      expect(secretArn).toMatch(/^arn:aws:secretsmanager:eu-central-1:123456789012:secret:rds!db-[0-9a-f-]{36}-[A-Za-z0-9]{6}$/);
      expect(created.MasterUserSecret).toEqual({ SecretArn: secretArn, SecretStatus: 'active', KmsKeyId: expect.stringMatching(/^arn:aws:kms:eu-central-1:123456789012:key\/[0-9a-f-]{36}$/) as unknown });

      const first = await credentialsIn(c, secretArn);
      expect(first.username).toBe('shop_admin');
      expect(first.password).toMatch(/^[^/@"\s]{28}$/);
      // What the instance accepts is what the secret says; the instance keeps only the hash.
      expect(c.t.sandbox.rds.dbInstance(REGION, 'shop').passwordSha256).toBe(sha256(first.password));
      const described = await c.sm.send(new DescribeSecretCommand({ SecretId: secretArn }));
      expect(described.OwningService).toBe('rds');
      expect(described.Tags).toContainEqual({ Key: 'aws:rds:primaryDBInstanceArn', Value: created.DBInstanceArn });
      expect(described.Name).toMatch(/^rds!db-[0-9a-f-]{36}$/);

      // The secret belongs to RDS: changed through RDS only.
      expect((await errorOf(c.sm.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: '{}' })))).name).toBe('InvalidRequestException');
      expect((await errorOf(c.sm.send(new DeleteSecretCommand({ SecretId: secretArn, ForceDeleteWithoutRecovery: true })))).name).toBe('InvalidRequestException');

      await waitForStatus(c, 'shop', 'available');
      const rotateLater = await errorOf(c.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'shop', RotateMasterUserPassword: true })));
      expect(rotateLater.name).toBe('InvalidParameterCombination');
      const ownPassword = await errorOf(c.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'shop', MasterUserPassword: 'mine-and-long', ApplyImmediately: true })));
      expect(ownPassword.name).toBe('InvalidParameterCombination');

      const rotating = (await c.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'shop', RotateMasterUserPassword: true, ApplyImmediately: true }))).DBInstance;
      expect(rotating?.DBInstanceStatus).toBe('resetting-master-credentials');
      expect(rotating?.MasterUserSecret?.SecretStatus).toBe('rotating');
      const second = await credentialsIn(c, secretArn);
      expect(second.password).not.toBe(first.password);
      expect((await credentialsIn(c, secretArn, 'AWSPREVIOUS')).password).toBe(first.password);
      const after = await waitForStatus(c, 'shop', 'available');
      expect(after.MasterUserSecret?.SecretStatus).toBe('active');
      expect(c.t.sandbox.rds.dbInstance(REGION, 'shop').passwordSha256).toBe(sha256(second.password));

      await c.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'shop', SkipFinalSnapshot: true }));
      await waitFor(
        () => c.sm.send(new DescribeSecretCommand({ SecretId: secretArn })).then(
          () => undefined,
          (error: unknown) => (error instanceof ResourceNotFoundException ? true : undefined),
        ),
        10_000,
        'the managed secret to go with its instance',
      );
      const counted = await counters(c);
      expect(counted.created['secretsmanager:secret']).toBe(1);
      expect(counted.deleted['secretsmanager:secret']).toBe(1);
    } finally {
      await stop(c);
    }
  });

  it('switches an instance to a password of its own and back to a managed one, and keeps it across a restart', async () => {
    const c = await start();
    let secondArn: string;
    try {
      await subnetGroup(c);
      await c.rds.send(new CreateDBInstanceCommand(managed('web', { ManageMasterUserPassword: false, MasterUserPassword: 'plain-password-1' })));
      await waitForStatus(c, 'web', 'available');
      expect((await describe1(c, 'web')).MasterUserSecret).toBeUndefined();
      expect((await errorOf(c.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'web', RotateMasterUserPassword: true, ApplyImmediately: true })))).name).toBe(
        'InvalidParameterCombination',
      );
      expect((await errorOf(c.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'web', ManageMasterUserPassword: false, MasterUserPassword: 'plain-password-2' })))).message).toBe(
        'You cannot set ManageMasterUserPassword to false because the master user password is not currently managed by RDS.',
      );

      const on = (await c.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'web', ManageMasterUserPassword: true, ApplyImmediately: true }))).DBInstance;
      expect(on?.DBInstanceStatus).toBe('resetting-master-credentials');
      const firstArn = on?.MasterUserSecret?.SecretArn as string;
      const firstPassword = (await credentialsIn(c, firstArn)).password;
      await waitForStatus(c, 'web', 'available');
      expect(c.t.sandbox.rds.dbInstance(REGION, 'web').passwordSha256).toBe(sha256(firstPassword));

      const withoutPassword = await errorOf(c.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'web', ManageMasterUserPassword: false, ApplyImmediately: true })));
      expect(withoutPassword).toMatchObject({ name: 'InvalidParameterCombination', message: 'MasterUserPassword must be provided when ManageMasterUserPassword is set to false.' });
      const off = (await c.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'web', ManageMasterUserPassword: false, MasterUserPassword: 'plain-password-3', ApplyImmediately: true })))
        .DBInstance;
      expect(off?.MasterUserSecret).toBeUndefined();
      expect((await errorOf(c.sm.send(new GetSecretValueCommand({ SecretId: firstArn })))).error).toBeInstanceOf(ResourceNotFoundException);
      await waitForStatus(c, 'web', 'available');
      expect(c.t.sandbox.rds.dbInstance(REGION, 'web').passwordSha256).toBe(sha256('plain-password-3'));

      secondArn = (await c.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'web', ManageMasterUserPassword: true, MasterUserSecretKmsKeyId: 'alias/apps', ApplyImmediately: true })))
        .DBInstance?.MasterUserSecret?.SecretArn as string;
      expect(secondArn).not.toBe(firstArn);
      expect((await waitForStatus(c, 'web', 'available')).MasterUserSecret?.KmsKeyId).toBe('alias/apps');
    } finally {
      await stop(c);
    }
    const d = await start();
    try {
      const instance = await describe1(d, 'web');
      expect(instance.MasterUserSecret).toMatchObject({ SecretArn: secondArn, SecretStatus: 'active' });
      const { password } = await credentialsIn(d, secondArn);
      expect(d.t.sandbox.rds.dbInstance(REGION, 'web').passwordSha256).toBe(sha256(password));
    } finally {
      await stop(d);
    }
  });
});
