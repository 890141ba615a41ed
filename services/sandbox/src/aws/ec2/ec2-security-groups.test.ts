// EC2 security groups against the sandbox with the real AWS SDK v3 client.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteSecurityGroupCommand,
  DeleteVpcCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { startTestSandbox, TEST_AWS_CREDENTIALS, type TestSandbox } from '../../test-support/start-test-sandbox.js';

let t: TestSandbox;
let ec2: EC2Client;

beforeAll(async () => {
  t = await startTestSandbox();
  ec2 = new EC2Client({ endpoint: t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
});

afterAll(async () => {
  ec2.destroy();
  await t.sandbox.close();
});

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
  throw new Error('expected the call to fail');
}

async function counters(): Promise<{ created: Record<string, number>; deleted: Record<string, number>; current: { ec2: Record<string, unknown[]> } }> {
  return (await (await fetch(`${t.url}/_sandbox/counters`)).json()) as never;
}

describe('EC2 security groups in the sandbox (AWS SDK v3)', () => {
  it('creates groups with tags, admits a group and a range, refuses duplicates and deletes in the right order', async () => {
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }))).Vpc?.VpcId as string;
    const otherVpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.41.0.0/16' }))).Vpc?.VpcId as string;

    // Every VPC has its default group.
    const defaults = (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))).SecurityGroups ?? [];
    expect(defaults).toHaveLength(1);
    expect(defaults[0]).toMatchObject({ GroupName: 'default', VpcId: vpcId, Description: 'default VPC security group' });
    expect(defaults[0]?.IpPermissions).toEqual([
      { IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: defaults[0]?.GroupId, UserId: '123456789012' }], IpRanges: [], Ipv6Ranges: [], PrefixListIds: [] },
    ]);

    const created = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: 'shop-db',
        Description: 'database of shop',
        VpcId: vpcId,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'tugboat.dev/owner', Value: 'shop' }] }],
      }),
    );
    const dbGroup = created.GroupId as string;
    expect(dbGroup).toMatch(/^sg-[0-9a-f]{17}$/);
    expect(created.Tags).toEqual([{ Key: 'tugboat.dev/owner', Value: 'shop' }]);
    expect(created.SecurityGroupArn).toBe(`arn:aws:ec2:us-east-1:123456789012:security-group/${dbGroup}`);
    const nodesGroup = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'shop-nodes', Description: 'nodes', VpcId: vpcId }))).GroupId as string;
    // The same name is fine in another VPC, not in the same one.
    await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'shop-db', Description: 'elsewhere', VpcId: otherVpcId }));
    expect(await errorOf(ec2.send(new CreateSecurityGroupCommand({ GroupName: 'shop-db', Description: 'again', VpcId: vpcId })))).toEqual({
      name: 'InvalidGroup.Duplicate',
      message: `The security group 'shop-db' already exists for VPC '${vpcId}'`,
    });
    expect((await errorOf(ec2.send(new CreateSecurityGroupCommand({ GroupName: 'x', Description: 'x', VpcId: 'vpc-0123456789abcdef0' })))).name).toBe(
      'InvalidVpcID.NotFound',
    );

    const rules = await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: dbGroup,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: nodesGroup, Description: 'cluster nodes' }], IpRanges: [{ CidrIp: '10.40.0.0/16' }] },
        ],
      }),
    );
    expect(rules.Return).toBe(true);
    expect(rules.SecurityGroupRules?.map((r) => [r.IpProtocol, r.FromPort, r.ToPort, r.ReferencedGroupInfo?.GroupId ?? r.CidrIpv4, r.IsEgress])).toEqual([
      ['tcp', 5432, 5432, '10.40.0.0/16', false],
      ['tcp', 5432, 5432, nodesGroup, false],
    ]);
    const duplicate = await errorOf(
      ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: dbGroup, IpPermissions: [{ IpProtocol: '6', FromPort: 5432, ToPort: 5432, IpRanges: [{ CidrIp: '10.40.0.0/16' }] }] })),
    );
    expect(duplicate).toEqual({ name: 'InvalidPermission.Duplicate', message: 'the specified rule "peer: 10.40.0.0/16, TCP, from port: 5432, to port: 5432, ALLOW" already exists' });
    expect(
      (await errorOf(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: dbGroup, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 2, UserIdGroupPairs: [{ GroupId: 'sg-0123456789abcdef0' }] }] }))))
        .name,
    ).toBe('InvalidGroup.NotFound');

    // Described by id, by tag, by name and by what they admit.
    const [byId] = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [dbGroup] }))).SecurityGroups ?? [];
    expect(byId).toMatchObject({ GroupName: 'shop-db', Description: 'database of shop', VpcId: vpcId, OwnerId: '123456789012', Tags: [{ Key: 'tugboat.dev/owner', Value: 'shop' }] });
    expect(byId?.IpPermissions).toEqual([
      {
        IpProtocol: 'tcp',
        FromPort: 5432,
        ToPort: 5432,
        UserIdGroupPairs: [{ GroupId: nodesGroup, UserId: '123456789012', Description: 'cluster nodes' }],
        IpRanges: [{ CidrIp: '10.40.0.0/16' }],
        Ipv6Ranges: [],
        PrefixListIds: [],
      },
    ]);
    expect(byId?.IpPermissionsEgress).toEqual([{ IpProtocol: '-1', UserIdGroupPairs: [], IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [] }]);
    const ids = async (filters: Array<{ Name: string; Values: string[] }>) =>
      ((await ec2.send(new DescribeSecurityGroupsCommand({ Filters: filters }))).SecurityGroups ?? []).map((g) => g.GroupId).sort();
    expect(await ids([{ Name: 'tag:tugboat.dev/owner', Values: ['shop'] }])).toEqual([dbGroup]);
    expect(await ids([{ Name: 'group-name', Values: ['shop-*'] }, { Name: 'vpc-id', Values: [vpcId] }])).toEqual([dbGroup, nodesGroup].sort());
    expect(await ids([{ Name: 'ip-permission.group-id', Values: [nodesGroup] }])).toEqual([dbGroup]);
    expect(await errorOf(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0123456789abcdef0'] })))).toEqual({
      name: 'InvalidGroup.NotFound',
      message: "The security group 'sg-0123456789abcdef0' does not exist",
    });

    // Referenced by another group's rule: not yet; the VPC: not while it has groups of its own.
    expect(await errorOf(ec2.send(new DeleteSecurityGroupCommand({ GroupId: nodesGroup })))).toEqual({
      name: 'DependencyViolation',
      message: `resource ${nodesGroup} has a dependent object`,
    });
    expect(await errorOf(ec2.send(new DeleteVpcCommand({ VpcId: vpcId })))).toEqual({
      name: 'DependencyViolation',
      message: `The vpc '${vpcId}' has dependencies and cannot be deleted.`,
    });
    expect((await errorOf(ec2.send(new DeleteSecurityGroupCommand({ GroupId: defaults[0]?.GroupId })))).name).toBe('CannotDelete');

    await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: dbGroup,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: nodesGroup }] }],
      }),
    );
    expect((await errorOf(ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: dbGroup, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: nodesGroup }] }] })))).name).toBe(
      'InvalidPermission.NotFound',
    );
    expect((await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [dbGroup] }))).SecurityGroups?.[0]?.IpPermissions?.[0]?.UserIdGroupPairs).toEqual([]);

    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: nodesGroup }));
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: dbGroup }));
    await ec2.send(new DeleteVpcCommand({ VpcId: vpcId }));
    const seen = await counters();
    // Three of our own, two deleted; the default groups are not counted (one is gone with its VPC, one is left).
    expect([seen.created['ec2:security-group'], seen.deleted['ec2:security-group']]).toEqual([3, 2]);
    expect(seen.current.ec2.securityGroups).toHaveLength(2);
  });

  it('checks ports, protocols and the VPC of a source group', async () => {
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.42.0.0/16' }))).Vpc?.VpcId as string;
    const otherVpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.43.0.0/16' }))).Vpc?.VpcId as string;
    await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.42.0.0/24' }));
    const group = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'g', Description: 'g', VpcId: vpcId }))).GroupId as string;
    const foreign = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'f', Description: 'f', VpcId: otherVpcId }))).GroupId as string;
    const authorize = (permission: Record<string, unknown>) => errorOf(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: group, IpPermissions: [permission] })));
    expect((await authorize({ IpProtocol: 'tcp', FromPort: 10, ToPort: 5, IpRanges: [{ CidrIp: '10.0.0.0/8' }] })).name).toBe('InvalidParameterValue');
    expect((await authorize({ IpProtocol: 'gre', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '10.0.0.0/8' }] })).name).toBe('InvalidParameterValue');
    expect((await authorize({ IpProtocol: 'tcp', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '10.0.0/8' }] })).name).toBe('InvalidParameterValue');
    expect((await authorize({ IpProtocol: 'tcp', FromPort: 1, ToPort: 1, UserIdGroupPairs: [{ GroupId: foreign }] })).message).toBe(
      'You have specified two resources that belong to different networks.',
    );
    // All traffic from anywhere in the VPC: no ports.
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: group, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '10.42.0.0/16' }] }] }));
    const [described] = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [group] }))).SecurityGroups ?? [];
    expect(described?.IpPermissions).toEqual([{ IpProtocol: '-1', UserIdGroupPairs: [], IpRanges: [{ CidrIp: '10.42.0.0/16' }], Ipv6Ranges: [], PrefixListIds: [] }]);
  });
});
