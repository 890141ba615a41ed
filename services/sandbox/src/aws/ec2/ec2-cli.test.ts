// `aws ec2 …` (botocore's own EC2 serializer, parser and signer) against the sandbox, as an independent client.
import { startTestSandbox, TEST_AWS_CREDENTIALS, type TestSandbox } from '../../test-support/start-test-sandbox.js';
import { cliJson, runAwsCli, type CliResult } from '../../test-support/run-aws-cli.js';

let t: TestSandbox;

beforeAll(async () => {
  t = await startTestSandbox({ credentials: [TEST_AWS_CREDENTIALS] });
});

afterAll(async () => {
  await t.sandbox.close();
});

const ec2 = (...args: string[]): Promise<CliResult> => runAwsCli(t.url, ['ec2', ...args], TEST_AWS_CREDENTIALS);
const ok = async (...args: string[]) => cliJson(await ec2(...args));

const tags = (type: string) => ['--tag-specifications', `ResourceType=${type},Tags=[{Key=owner,Value=cli}]`];

// Each `aws ec2` call costs about a second of Python start-up (the EC2 model is large): calls that do
// not depend on each other run together.
describe('aws ec2 against the sandbox', () => {
  it('creates a tagged network, finds it by tag, refuses a premature delete and deletes it in reverse', async () => {
    const vpc = (await ok('create-vpc', '--cidr-block', '10.20.0.0/16', ...tags('vpc'))).Vpc as { VpcId: string; Tags: unknown };
    expect(vpc.Tags).toEqual([{ Key: 'owner', Value: 'cli' }]);
    const [subnetA, subnetB, igw, table] = await Promise.all([
      ok('create-subnet', '--vpc-id', vpc.VpcId, '--cidr-block', '10.20.0.0/24', '--availability-zone', 'us-east-1a', ...tags('subnet')),
      ok('create-subnet', '--vpc-id', vpc.VpcId, '--cidr-block', '10.20.1.0/24', '--availability-zone', 'us-east-1b', ...tags('subnet')),
      ok('create-internet-gateway', ...tags('internet-gateway')),
      ok('create-route-table', '--vpc-id', vpc.VpcId, ...tags('route-table')),
    ]).then(([a, b, g, r]) => [
      (a.Subnet as { SubnetId: string }).SubnetId,
      (b.Subnet as { SubnetId: string }).SubnetId,
      (g.InternetGateway as { InternetGatewayId: string }).InternetGatewayId,
      (r.RouteTable as { RouteTableId: string }).RouteTableId,
    ]);
    const [association] = await Promise.all([
      ok('associate-route-table', '--route-table-id', table as string, '--subnet-id', subnetA as string).then((a) => a.AssociationId as string),
      ok('attach-internet-gateway', '--internet-gateway-id', igw as string, '--vpc-id', vpc.VpcId),
    ]);
    expect(await ok('create-route', '--route-table-id', table as string, '--destination-cidr-block', '0.0.0.0/0', '--gateway-id', igw as string)).toEqual({ Return: true });

    const [vpcs, subnets, premature] = await Promise.all([
      ok('describe-vpcs', '--filters', 'Name=tag:owner,Values=cli'),
      ok('describe-subnets', '--filters', `Name=vpc-id,Values=${vpc.VpcId}`, 'Name=tag:owner,Values=cli'),
      ec2('delete-vpc', '--vpc-id', vpc.VpcId),
    ]);
    expect((vpcs.Vpcs as Array<{ VpcId: string; CidrBlock: string }>).map((v) => [v.VpcId, v.CidrBlock])).toEqual([[vpc.VpcId, '10.20.0.0/16']]);
    const found = (subnets.Subnets as Array<{ SubnetId: string; AvailabilityZone: string }>).map((s) => [s.SubnetId, s.AvailabilityZone]);
    expect(found.sort((x, y) => String(x[1]).localeCompare(String(y[1])))).toEqual([
      [subnetA, 'us-east-1a'],
      [subnetB, 'us-east-1b'],
    ]);
    expect(premature.code).not.toBe(0);
    expect(premature.stderr).toContain(`An error occurred (DependencyViolation) when calling the DeleteVpc operation: The vpc '${vpc.VpcId}' has dependencies and cannot be deleted.`);

    await Promise.all([
      ok('disassociate-route-table', '--association-id', association),
      ok('detach-internet-gateway', '--internet-gateway-id', igw as string, '--vpc-id', vpc.VpcId),
    ]);
    await Promise.all([
      ok('delete-route-table', '--route-table-id', table as string),
      ok('delete-internet-gateway', '--internet-gateway-id', igw as string),
      ok('delete-subnet', '--subnet-id', subnetA as string),
      ok('delete-subnet', '--subnet-id', subnetB as string),
    ]);
    await ok('delete-vpc', '--vpc-id', vpc.VpcId);
    const counters = (await (await fetch(`${t.url}/_sandbox/counters`)).json()) as { created: Record<string, number>; deleted: Record<string, number> };
    for (const type of ['ec2:vpc', 'ec2:subnet', 'ec2:internet-gateway', 'ec2:route-table']) expect(counters.deleted[type]).toBe(counters.created[type]);
    expect(counters.created['ec2:subnet']).toBe(2);
  }, 60_000);
});
