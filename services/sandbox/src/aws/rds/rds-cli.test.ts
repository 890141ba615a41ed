// `aws rds …` (botocore's own Query serializer, XML parser, waiters and signer) against the sandbox.
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { startTestSandbox, TEST_AWS_CREDENTIALS, type TestSandbox } from '../../test-support/start-test-sandbox.js';
import { cliJson, runAwsCli, type CliResult } from '../../test-support/run-aws-cli.js';

let t: TestSandbox;

beforeAll(async () => {
  // 100: an instance is available 3 s after it is asked for, so the waiter sees it `creating` first.
  t = await startTestSandbox({ credentials: [TEST_AWS_CREDENTIALS], timeScale: 100 });
});

afterAll(async () => {
  await t.sandbox.close();
});

const rds = (...args: string[]): Promise<CliResult> => runAwsCli(t.url, ['rds', ...args], TEST_AWS_CREDENTIALS);
const ok = async (...args: string[]) => cliJson(await rds(...args));

async function setScale(scale: number): Promise<void> {
  const response = await fetch(`${t.url}/_sandbox/time`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scale }) });
  expect(response.status).toBe(200);
}

describe('aws rds against the sandbox', () => {
  it('creates an instance, waits for it to be available, describes it, deletes it and waits for it to be gone', async () => {
    const ec2 = new EC2Client({ endpoint: t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.70.0.0/16' }))).Vpc?.VpcId as string;
    const subnets = await Promise.all(
      ['a', 'b'].map(async (zone, i) => (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.70.${i}.0/24`, AvailabilityZone: `us-east-1${zone}` }))).Subnet?.SubnetId as string),
    );
    const groupId = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'db', Description: 'db', VpcId: vpcId }))).GroupId as string;
    ec2.destroy();

    const group = (await ok('create-db-subnet-group', '--db-subnet-group-name', 'cli-db', '--db-subnet-group-description', 'from the cli', '--subnet-ids', ...subnets))
      .DBSubnetGroup as { VpcId: string; Subnets: unknown[] };
    expect(group.VpcId).toBe(vpcId);
    expect(group.Subnets).toHaveLength(2);

    const created = (
      await ok(
        'create-db-instance',
        '--db-instance-identifier', 'cli-pg',
        '--db-instance-class', 'db.t3.micro',
        '--engine', 'postgres',
        '--engine-version', '17.2',
        '--allocated-storage', '20',
        '--master-username', 'app',
        '--master-user-password', 'cli-password-1',
        '--db-subnet-group-name', 'cli-db',
        '--vpc-security-group-ids', groupId,
        '--tags', 'Key=owner,Value=cli',
      )
    ).DBInstance as { DBInstanceStatus: string; TagList: unknown };
    expect(created.DBInstanceStatus).toBe('creating');
    expect(created.TagList).toEqual([{ Key: 'owner', Value: 'cli' }]);

    // The waiter polls DescribeDBInstances (every 30 s) until every instance it sees is `available`.
    const waited = await rds('wait', 'db-instance-available', '--db-instance-identifier', 'cli-pg');
    expect(waited).toMatchObject({ code: 0, stderr: '' });

    const described = (await ok('describe-db-instances', '--db-instance-identifier', 'cli-pg')).DBInstances as Array<Record<string, unknown>>;
    expect(described).toHaveLength(1);
    expect(described[0]).toMatchObject({
      DBInstanceIdentifier: 'cli-pg',
      DBInstanceStatus: 'available',
      Engine: 'postgres',
      EngineVersion: '17.2',
      Endpoint: { Address: expect.stringMatching(/^cli-pg\..+\.us-east-1\.rds\.amazonaws\.com$/), Port: 5432 },
      VpcSecurityGroups: [{ VpcSecurityGroupId: groupId, Status: 'active' }],
      DBSubnetGroup: { DBSubnetGroupName: 'cli-db', VpcId: vpcId },
    });

    const shrink = await rds('modify-db-instance', '--db-instance-identifier', 'cli-pg', '--allocated-storage', '10', '--apply-immediately');
    expect(shrink.code).not.toBe(0);
    expect(shrink.stderr).toContain('An error occurred (InvalidParameterCombination) when calling the ModifyDBInstance operation: Invalid storage size');

    await setScale(100_000);
    const deleting = (await ok('delete-db-instance', '--db-instance-identifier', 'cli-pg', '--skip-final-snapshot')).DBInstance as { DBInstanceStatus: string };
    expect(deleting.DBInstanceStatus).toBe('deleting');
    expect(await rds('wait', 'db-instance-deleted', '--db-instance-identifier', 'cli-pg')).toMatchObject({ code: 0 });
    const gone = await rds('describe-db-instances', '--db-instance-identifier', 'cli-pg');
    expect(gone.stderr).toContain('An error occurred (DBInstanceNotFound) when calling the DescribeDBInstances operation: DBInstance cli-pg not found.');
    expect(await ok('describe-db-instances')).toEqual({ DBInstances: [] });
    await ok('delete-db-subnet-group', '--db-subnet-group-name', 'cli-db');
  }, 90_000);
});
