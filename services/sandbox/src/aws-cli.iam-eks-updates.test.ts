// The `aws` CLI (botocore: its own serializers, parsers and signer) against the sandbox's IAM, STS
// external id and EKS update operations, as an independent client. Node group updates are covered
// with the SDK in `aws/eks/eks-updates.test.ts` (each `aws` start costs most of a second).
import { createEksPrerequisites } from './test-support/eks-prerequisites.js';
import { cliJson, runAwsCli, type CliResult } from './test-support/run-aws-cli.js';
import { startTestSandbox, TEST_AWS_CREDENTIALS, waitFor, type TestSandbox } from './test-support/start-test-sandbox.js';

// 10 simulated minutes take 10 ms.
const SCALE = 60_000;
// While the test needs to see an update InProgress.
const HELD_SCALE = 0.01;

let t: TestSandbox;

beforeAll(async () => {
  t = await startTestSandbox({ timeScale: SCALE, credentials: [TEST_AWS_CREDENTIALS] });
});

afterAll(async () => {
  await t.sandbox.close();
});

function aws(args: string[]): Promise<CliResult> {
  return runAwsCli(t.url, args, TEST_AWS_CREDENTIALS);
}

const json = cliJson;

async function setTimeScale(scale: number): Promise<void> {
  const response = await fetch(`${t.url}/_sandbox/time`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scale }) });
  expect(response.status).toBe(200);
}

describe('aws CLI: IAM, STS external id, EKS updates', () => {
  it('creates a role, attaches and detaches policies, and deletes it', async () => {
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': 'cli-ext-id' } } }],
    });
    const created = json(await aws(['iam', 'create-role', '--role-name', 'cli-role', '--assume-role-policy-document', trust, '--tags', 'Key=team,Value=cli']));
    expect(created.Role).toMatchObject({ RoleName: 'cli-role', Arn: 'arn:aws:iam::123456789012:role/cli-role', Tags: [{ Key: 'team', Value: 'cli' }] });
    // botocore decodes the URL-encoded policy document back into JSON.
    expect(json(await aws(['iam', 'get-role', '--role-name', 'cli-role'])).Role).toMatchObject({ AssumeRolePolicyDocument: JSON.parse(trust) });

    json(await aws(['iam', 'attach-role-policy', '--role-name', 'cli-role', '--policy-arn', 'arn:aws:iam::aws:policy/AmazonEKSClusterPolicy']));

    // Independent calls run side by side: each `aws` start costs most of a second.
    const roleArn = 'arn:aws:iam::123456789012:role/cli-role';
    const [conflict, missingId, wrongId, assumed] = await Promise.all([
      aws(['iam', 'delete-role', '--role-name', 'cli-role']),
      aws(['sts', 'assume-role', '--role-arn', roleArn, '--role-session-name', 'cli']),
      aws(['sts', 'assume-role', '--role-arn', roleArn, '--role-session-name', 'cli', '--external-id', 'wrong-id']),
      aws(['sts', 'assume-role', '--role-arn', roleArn, '--role-session-name', 'cli', '--external-id', 'cli-ext-id']),
    ]);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain('DeleteConflict');
    for (const refused of [missingId, wrongId]) {
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('AccessDenied');
    }
    expect(json(assumed).AssumedRoleUser).toMatchObject({ Arn: 'arn:aws:sts::123456789012:assumed-role/cli-role/cli' });

    json(await aws(['iam', 'detach-role-policy', '--role-name', 'cli-role', '--policy-arn', 'arn:aws:iam::aws:policy/AmazonEKSClusterPolicy']));
    json(await aws(['iam', 'delete-role', '--role-name', 'cli-role']));
    const missing = await aws(['iam', 'get-role', '--role-name', 'cli-role']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('NoSuchEntity');
  });

  it('upgrades a cluster with update-cluster-version and follows it with describe-update', async () => {
    const net = await createEksPrerequisites(t.url, TEST_AWS_CREDENTIALS);
    json(
      await aws([
        'eks',
        'create-cluster',
        '--name',
        'cli-upgrade',
        '--kubernetes-version',
        '1.30',
        '--role-arn',
        net.roleArn,
        '--resources-vpc-config',
        `subnetIds=${net.subnetIds.join(',')}`,
      ]),
    );
    expect(await aws(['eks', 'wait', 'cluster-active', '--name', 'cli-upgrade'])).toMatchObject({ code: 0 });

    const skipped = await aws(['eks', 'update-cluster-version', '--name', 'cli-upgrade', '--kubernetes-version', '1.32']);
    expect(skipped.code).not.toBe(0);
    expect(skipped.stderr).toContain('InvalidParameterException');

    await setTimeScale(HELD_SCALE);
    const update = json(await aws(['eks', 'update-cluster-version', '--name', 'cli-upgrade', '--kubernetes-version', '1.31'])).update as { id: string };
    expect(json(await aws(['eks', 'describe-update', '--name', 'cli-upgrade', '--update-id', update.id])).update).toMatchObject({
      status: 'InProgress',
      type: 'VersionUpdate',
    });
    await setTimeScale(SCALE);
    await waitFor(async () => {
      const described = json(await aws(['eks', 'describe-update', '--name', 'cli-upgrade', '--update-id', update.id])).update as { status: string };
      return described.status === 'Successful' ? true : undefined;
    }, 15_000, 'update Successful');
    const [described, listed] = await Promise.all([aws(['eks', 'describe-cluster', '--name', 'cli-upgrade']), aws(['eks', 'list-updates', '--name', 'cli-upgrade'])]);
    expect(json(described).cluster).toMatchObject({ status: 'ACTIVE', version: '1.31' });
    expect(json(listed).updateIds).toEqual([update.id]);

  });
});
