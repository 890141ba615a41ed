// IAM roles and STS AssumeRole with an external id, through the real AWS SDK v3 clients.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolesCommand,
  ListRoleTagsCommand,
  TagRoleCommand,
  UntagRoleCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startTestSandbox, TEST_AWS_CREDENTIALS, type TestSandbox } from '../../test-support/start-test-sandbox.js';

const EKS_CLUSTER_POLICY = 'arn:aws:iam::aws:policy/AmazonEKSClusterPolicy';
const NODE_POLICIES = [
  'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy',
  'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
  'arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy',
];

const trustPolicy = (service: string, externalId?: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: service.startsWith('arn:') ? { AWS: service } : { Service: service },
        Action: 'sts:AssumeRole',
        ...(externalId !== undefined ? { Condition: { StringEquals: { 'sts:ExternalId': externalId } } } : {}),
      },
    ],
  });

let t: TestSandbox;
let iam: IAMClient;
let sts: STSClient;
let stateDir: string;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'tugboat-sandbox-iam-'));
  t = await startTestSandbox({ credentials: [{ ...TEST_AWS_CREDENTIALS, userName: 'ci' }], stateDir, saveDebounceMs: 10 });
  iam = new IAMClient({ endpoint: t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
  sts = new STSClient({ endpoint: t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
});

afterAll(async () => {
  iam.destroy();
  sts.destroy();
  await t.sandbox.close();
  await rm(stateDir, { recursive: true, force: true });
});

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}

async function counters(): Promise<{ created: Record<string, number>; deleted: Record<string, number>; current: { roles: Array<{ name: string }> } }> {
  return (await (await fetch(`${t.url}/_sandbox/counters`)).json()) as never;
}

describe('IAM roles', () => {
  it('creates a role with tags, attaches the EKS policies, refuses to delete it until they are detached', async () => {
    const document = trustPolicy('eks.amazonaws.com');
    const created = await iam.send(
      new CreateRoleCommand({
        RoleName: 'tugboat-cluster',
        Path: '/tugboat/',
        AssumeRolePolicyDocument: document,
        Description: 'EKS cluster role',
        MaxSessionDuration: 7200,
        Tags: [
          { Key: 'tugboat.dev/owner', Value: 'cluster-a' },
          { Key: 'team', Value: 'platform' },
        ],
      }),
    );
    expect(created.Role).toMatchObject({
      RoleName: 'tugboat-cluster',
      Path: '/tugboat/',
      Arn: 'arn:aws:iam::123456789012:role/tugboat/tugboat-cluster',
      MaxSessionDuration: 7200,
      Description: 'EKS cluster role',
      Tags: [
        { Key: 'tugboat.dev/owner', Value: 'cluster-a' },
        { Key: 'team', Value: 'platform' },
      ],
    });
    expect(created.Role?.RoleId).toMatch(/^AROA[A-Z2-7]{17}$/);
    expect(created.Role?.CreateDate).toBeInstanceOf(Date);
    // IAM returns policy documents URL-encoded.
    expect(decodeURIComponent(created.Role!.AssumeRolePolicyDocument!)).toBe(document);

    const again = await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'TUGBOAT-cluster', AssumeRolePolicyDocument: document })));
    expect(again).toMatchObject({ name: 'EntityAlreadyExistsException', status: 409 });

    await iam.send(new AttachRolePolicyCommand({ RoleName: 'tugboat-cluster', PolicyArn: EKS_CLUSTER_POLICY }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'tugboat-cluster', PolicyArn: 'arn:aws:iam::aws:policy/AmazonEKSVPCResourceController' }));
    // Attaching again changes nothing, as in IAM.
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'tugboat-cluster', PolicyArn: EKS_CLUSTER_POLICY }));
    expect((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'tugboat-cluster' }))).AttachedPolicies).toEqual([
      { PolicyName: 'AmazonEKSClusterPolicy', PolicyArn: EKS_CLUSTER_POLICY },
      { PolicyName: 'AmazonEKSVPCResourceController', PolicyArn: 'arn:aws:iam::aws:policy/AmazonEKSVPCResourceController' },
    ]);

    expect(await errorOf(iam.send(new DeleteRoleCommand({ RoleName: 'tugboat-cluster' })))).toMatchObject({
      name: 'DeleteConflictException',
      status: 409,
      message: 'Cannot delete entity, must detach all policies first.',
    });
    await iam.send(new DetachRolePolicyCommand({ RoleName: 'tugboat-cluster', PolicyArn: EKS_CLUSTER_POLICY }));
    await iam.send(new DetachRolePolicyCommand({ RoleName: 'tugboat-cluster', PolicyArn: 'arn:aws:iam::aws:policy/AmazonEKSVPCResourceController' }));
    expect((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'tugboat-cluster' }))).AttachedPolicies).toEqual([]);
    await iam.send(new DeleteRoleCommand({ RoleName: 'tugboat-cluster' }));

    expect(await errorOf(iam.send(new GetRoleCommand({ RoleName: 'tugboat-cluster' })))).toMatchObject({
      name: 'NoSuchEntityException',
      status: 404,
      message: 'The role with name tugboat-cluster cannot be found.',
    });
    expect(await errorOf(iam.send(new DeleteRoleCommand({ RoleName: 'tugboat-cluster' })))).toMatchObject({ name: 'NoSuchEntityException', status: 404 });
    const counted = await counters();
    expect(counted.created['iam:role']).toBe(1);
    expect(counted.deleted['iam:role']).toBe(1);
  });

  it('knows only the AWS managed policies it simulates', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'nodes', AssumeRolePolicyDocument: trustPolicy('ec2.amazonaws.com') }));
    for (const arn of NODE_POLICIES) await iam.send(new AttachRolePolicyCommand({ RoleName: 'nodes', PolicyArn: arn }));
    expect(await errorOf(iam.send(new AttachRolePolicyCommand({ RoleName: 'nodes', PolicyArn: 'arn:aws:iam::aws:policy/NoSuchPolicy' })))).toMatchObject({
      name: 'NoSuchEntityException',
      status: 404,
      message: 'Policy arn:aws:iam::aws:policy/NoSuchPolicy does not exist or is not attachable.',
    });
    expect(await errorOf(iam.send(new AttachRolePolicyCommand({ RoleName: 'nodes', PolicyArn: 'not-an-arn-but-long-enough' })))).toMatchObject({
      name: 'InvalidInputException',
      status: 400,
    });
    expect(await errorOf(iam.send(new AttachRolePolicyCommand({ RoleName: 'ghost', PolicyArn: EKS_CLUSTER_POLICY })))).toMatchObject({
      name: 'NoSuchEntityException',
      message: 'The role with name ghost cannot be found.',
    });
    expect(await errorOf(iam.send(new DetachRolePolicyCommand({ RoleName: 'nodes', PolicyArn: EKS_CLUSTER_POLICY })))).toMatchObject({
      name: 'NoSuchEntityException',
    });
    const listed = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'nodes', MaxItems: 2 }));
    expect(listed.AttachedPolicies?.map((p) => p.PolicyName)).toEqual(['AmazonEC2ContainerRegistryReadOnly', 'AmazonEKSWorkerNodePolicy']);
    expect(listed.IsTruncated).toBe(true);
    const rest = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'nodes', MaxItems: 2, Marker: listed.Marker }));
    expect(rest.AttachedPolicies?.map((p) => p.PolicyName)).toEqual(['AmazonEKS_CNI_Policy']);
    expect(rest.IsTruncated).toBe(false);
  });

  it('validates names, paths, durations and trust policies, naming the field', async () => {
    const document = trustPolicy('eks.amazonaws.com');
    expect(await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'bad name!', AssumeRolePolicyDocument: document })))).toMatchObject({
      name: 'ValidationError',
      status: 400,
      message: expect.stringContaining("at 'roleName' failed to satisfy constraint"),
    });
    expect(await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'x'.repeat(65), AssumeRolePolicyDocument: document })))).toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('length less than or equal to 64'),
    });
    expect(await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'p', Path: 'no-slashes', AssumeRolePolicyDocument: document })))).toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining("at 'path'"),
    });
    expect(await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'd', MaxSessionDuration: 60, AssumeRolePolicyDocument: document })))).toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining("'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600"),
    });
    expect(await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'j', AssumeRolePolicyDocument: '{not json' })))).toMatchObject({
      name: 'MalformedPolicyDocumentException',
      status: 400,
      message: 'This policy contains invalid Json',
    });
    const withResource = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole', Resource: '*' }] });
    expect(await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'r', AssumeRolePolicyDocument: withResource })))).toMatchObject({
      name: 'MalformedPolicyDocumentException',
      message: 'Has prohibited field Resource',
    });
    expect(await errorOf(iam.send(new CreateRoleCommand({ RoleName: 's', AssumeRolePolicyDocument: '{"Version":"2012-10-17"}' })))).toMatchObject({
      name: 'MalformedPolicyDocumentException',
      message: 'Missing required field Statement',
    });
    expect(await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'n', AssumeRolePolicyDocument: undefined as never })))).toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining("Value null at 'assumeRolePolicyDocument'"),
    });
  });

  it('tags and untags roles, and lists roles by path with markers', async () => {
    for (const name of ['list-a', 'list-b', 'list-c']) {
      await iam.send(new CreateRoleCommand({ RoleName: name, Path: '/listed/', AssumeRolePolicyDocument: trustPolicy('ec2.amazonaws.com') }));
    }
    await iam.send(new TagRoleCommand({ RoleName: 'list-a', Tags: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }] }));
    await iam.send(new TagRoleCommand({ RoleName: 'list-a', Tags: [{ Key: 'a', Value: '3' }] }));
    await iam.send(new UntagRoleCommand({ RoleName: 'list-a', TagKeys: ['b'] }));
    expect(await iam.send(new ListRoleTagsCommand({ RoleName: 'list-a' }))).toMatchObject({ Tags: [{ Key: 'a', Value: '3' }], IsTruncated: false });
    expect((await iam.send(new GetRoleCommand({ RoleName: 'list-a' }))).Role?.Tags).toEqual([{ Key: 'a', Value: '3' }]);

    const first = await iam.send(new ListRolesCommand({ PathPrefix: '/listed/', MaxItems: 2 }));
    expect(first.Roles?.map((r) => r.RoleName)).toEqual(['list-a', 'list-b']);
    expect(first.IsTruncated).toBe(true);
    const second = await iam.send(new ListRolesCommand({ PathPrefix: '/listed/', MaxItems: 2, Marker: first.Marker }));
    expect(second.Roles?.map((r) => r.RoleName)).toEqual(['list-c']);
    expect(second.IsTruncated).toBe(false);
    expect((await iam.send(new ListRolesCommand({ PathPrefix: '/nothing-here/' }))).Roles).toEqual([]);
    expect(await errorOf(iam.send(new ListRolesCommand({ MaxItems: 0 })))).toMatchObject({ name: 'ValidationError', message: expect.stringContaining("'maxItems'") });
  });
});

describe('STS AssumeRole with an external id', () => {
  it('refuses a missing or wrong external id with AccessDenied and issues nothing; the right one works', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'tugboat-deployer', AssumeRolePolicyDocument: trustPolicy('arn:aws:iam::123456789012:root', 'tugboat-7f3a') }));
    const roleArn = 'arn:aws:iam::123456789012:role/tugboat-deployer';
    const issuedBefore = t.sandbox.credentials.snapshot().temporary.length;

    for (const externalId of [undefined, 'wrong-id']) {
      expect(await errorOf(sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'tugboat', ...(externalId ? { ExternalId: externalId } : {}) })))).toEqual({
        name: 'AccessDenied',
        status: 403,
        message: `User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      });
    }
    expect(t.sandbox.credentials.snapshot().temporary.length).toBe(issuedBefore);
    expect(await errorOf(sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'tugboat', ExternalId: 'x' })))).toMatchObject({
      name: 'ValidationError',
      status: 400,
      message: expect.stringContaining("at 'externalId'"),
    });

    const assumed = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'tugboat', ExternalId: 'tugboat-7f3a' }));
    const roleId = (await iam.send(new GetRoleCommand({ RoleName: 'tugboat-deployer' }))).Role?.RoleId;
    expect(assumed.AssumedRoleUser).toEqual({ AssumedRoleId: `${roleId}:tugboat`, Arn: 'arn:aws:sts::123456789012:assumed-role/tugboat-deployer/tugboat' });
    const temporary = new STSClient({
      endpoint: t.url,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: {
        accessKeyId: assumed.Credentials!.AccessKeyId!,
        secretAccessKey: assumed.Credentials!.SecretAccessKey!,
        sessionToken: assumed.Credentials!.SessionToken!,
      },
    });
    try {
      expect((await temporary.send(new GetCallerIdentityCommand({}))).Arn).toBe('arn:aws:sts::123456789012:assumed-role/tugboat-deployer/tugboat');
    } finally {
      temporary.destroy();
    }

    // The role's MaxSessionDuration (default one hour) bounds DurationSeconds.
    expect(await errorOf(sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'tugboat', ExternalId: 'tugboat-7f3a', DurationSeconds: 7200 })))).toMatchObject({
      name: 'ValidationError',
      message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    });
  });

  it('assumes a role without an external id condition with or without one, and roles IAM does not hold unchecked', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'open-role', AssumeRolePolicyDocument: trustPolicy('arn:aws:iam::123456789012:root') }));
    await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/open-role', RoleSessionName: 'plain' }));
    await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/open-role', RoleSessionName: 'with-id', ExternalId: 'anything' }));
    await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::210987654321:role/elsewhere', RoleSessionName: 'other-account' }));
  });
});

describe('IAM state across a restart', () => {
  it('keeps roles, their policies and tags, and the counters', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'kept', AssumeRolePolicyDocument: trustPolicy('eks.amazonaws.com'), Tags: [{ Key: 'k', Value: 'v' }] }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'kept', PolicyArn: EKS_CLUSTER_POLICY }));
    const before = await counters();
    const role = (await iam.send(new GetRoleCommand({ RoleName: 'kept' }))).Role;
    await t.sandbox.close();

    t = await startTestSandbox({ credentials: [{ ...TEST_AWS_CREDENTIALS, userName: 'ci' }], stateDir, saveDebounceMs: 10 });
    iam.destroy();
    sts.destroy();
    iam = new IAMClient({ endpoint: t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
    sts = new STSClient({ endpoint: t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });

    expect((await iam.send(new GetRoleCommand({ RoleName: 'kept' }))).Role).toEqual(role);
    expect((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'kept' }))).AttachedPolicies).toEqual([
      { PolicyName: 'AmazonEKSClusterPolicy', PolicyArn: EKS_CLUSTER_POLICY },
    ]);
    const after = await counters();
    expect(after.created['iam:role']).toBe(before.created['iam:role']);
    expect(after.deleted['iam:role']).toBe(before.deleted['iam:role']);
    expect(after.current.roles.map((r) => r.name)).toContain('kept');
    // The external id check survives the restart too.
    expect(await errorOf(sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/tugboat-deployer', RoleSessionName: 'after-restart' })))).toMatchObject({
      name: 'AccessDenied',
    });
  });
});

describe('IAM and the control API', () => {
  it('throttles IAM through an injected fault, and forgets every role on reset', async () => {
    const fault = await fetch(`${t.url}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'iam', operation: 'CreateRole', failNext: 1, throttle: true }),
    });
    expect(fault.status).toBeLessThan(300);
    const throttled = await errorOf(iam.send(new CreateRoleCommand({ RoleName: 'throttled', AssumeRolePolicyDocument: trustPolicy('eks.amazonaws.com') })));
    expect(throttled).toMatchObject({ name: 'Throttling', status: 400 });
    await iam.send(new CreateRoleCommand({ RoleName: 'throttled', AssumeRolePolicyDocument: trustPolicy('eks.amazonaws.com') }));

    expect((await fetch(`${t.url}/_sandbox/reset`, { method: 'POST' })).status).toBeLessThan(300);
    expect((await iam.send(new ListRolesCommand({}))).Roles).toEqual([]);
    expect((await counters()).created['iam:role']).toBeUndefined();
  });
});
