import { CreateClusterCommand, EKSClient, ListClustersCommand, ListTagsForResourceCommand } from '@aws-sdk/client-eks';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient, type STSClientConfig } from '@aws-sdk/client-sts';
import { createEksPrerequisites } from '../../test-support/eks-prerequisites.js';
import { startTestSandbox, TEST_AWS_CREDENTIALS, type TestSandbox } from '../../test-support/start-test-sandbox.js';

let t: TestSandbox;
const sts = (credentials: STSClientConfig['credentials'], region = 'us-east-1') =>
  new STSClient({ endpoint: t.url, region, credentials, maxAttempts: 1 });
const clients: Array<{ destroy(): void }> = [];
function track<T extends { destroy(): void }>(client: T): T {
  clients.push(client);
  return client;
}

beforeAll(async () => {
  t = await startTestSandbox({ credentials: [{ ...TEST_AWS_CREDENTIALS, userName: 'ci' }] });
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await t.sandbox.close();
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

describe('STS', () => {
  it('answers GetCallerIdentity for a configured key, its signature verified', async () => {
    const identity = await track(sts(TEST_AWS_CREDENTIALS)).send(new GetCallerIdentityCommand({}));
    expect(identity.Account).toBe('123456789012');
    expect(identity.Arn).toBe('arn:aws:iam::123456789012:user/ci');
    expect(identity.UserId).toMatch(/^AIDA[0-9A-F]{17}$/);
  });

  it('refuses unknown keys and wrong secrets in each protocol’s shape', async () => {
    const unknown = { accessKeyId: 'AKIAUNKNOWNKEY000001', secretAccessKey: 'x' };
    expect(await errorOf(track(sts(unknown)).send(new GetCallerIdentityCommand({})))).toMatchObject({
      name: 'InvalidClientTokenId',
      status: 403,
    });
    const wrongSecret = { ...TEST_AWS_CREDENTIALS, secretAccessKey: 'wrong' };
    expect(await errorOf(track(sts(wrongSecret)).send(new GetCallerIdentityCommand({})))).toMatchObject({
      name: 'SignatureDoesNotMatch',
      status: 403,
    });
    const eks = track(new EKSClient({ endpoint: t.url, region: 'us-east-1', credentials: unknown, maxAttempts: 1 }));
    expect(await errorOf(eks.send(new ListClustersCommand({})))).toMatchObject({ name: 'UnrecognizedClientException', status: 403 });
    const eksWrong = track(new EKSClient({ endpoint: t.url, region: 'us-east-1', credentials: wrongSecret, maxAttempts: 1 }));
    expect(await errorOf(eksWrong.send(new ListClustersCommand({})))).toMatchObject({ name: 'InvalidSignatureException', status: 403 });
  });

  it('verifies EKS signatures over encoded paths, query strings and bodies', async () => {
    const eks = track(new EKSClient({ endpoint: t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 }));
    const net = await createEksPrerequisites(t.url, TEST_AWS_CREDENTIALS);
    const created = await eks.send(
      new CreateClusterCommand({ name: 'signed', roleArn: net.roleArn, resourcesVpcConfig: { subnetIds: net.subnetIds }, tags: { 'a b': 'c/d' } }),
    );
    const tags = await eks.send(new ListTagsForResourceCommand({ resourceArn: created.cluster!.arn! }));
    expect(tags.tags).toEqual({ 'a b': 'c/d' });
    expect((await eks.send(new ListClustersCommand({ maxResults: 5 }))).clusters).toEqual(['signed']);
  });

  it('issues temporary credentials through AssumeRole that are then accepted, and only with their session token', async () => {
    const assumed = await track(sts(TEST_AWS_CREDENTIALS)).send(
      new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::210987654321:role/deployer', RoleSessionName: 'tugboat-ci', DurationSeconds: 900 }),
    );
    const credentials = assumed.Credentials!;
    expect(credentials.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(credentials.Expiration!.getTime()).toBeGreaterThan(Date.now() + 800_000);
    expect(assumed.AssumedRoleUser?.Arn).toBe('arn:aws:sts::210987654321:assumed-role/deployer/tugboat-ci');

    const temporary = { accessKeyId: credentials.AccessKeyId!, secretAccessKey: credentials.SecretAccessKey!, sessionToken: credentials.SessionToken! };
    const identity = await track(sts(temporary, 'eu-central-1')).send(new GetCallerIdentityCommand({}));
    expect(identity).toMatchObject({
      Account: '210987654321',
      Arn: 'arn:aws:sts::210987654321:assumed-role/deployer/tugboat-ci',
      UserId: `${assumed.AssumedRoleUser!.AssumedRoleId!}`,
    });
    const eks = track(new EKSClient({ endpoint: t.url, region: 'us-east-1', credentials: temporary, maxAttempts: 1 }));
    expect((await eks.send(new ListClustersCommand({}))).clusters).toBeDefined();

    const withoutToken = { accessKeyId: temporary.accessKeyId, secretAccessKey: temporary.secretAccessKey };
    expect(await errorOf(track(sts(withoutToken)).send(new GetCallerIdentityCommand({})))).toMatchObject({
      name: 'InvalidClientTokenId',
      status: 403,
    });
  });

  it('validates AssumeRole input', async () => {
    const client = track(sts(TEST_AWS_CREDENTIALS));
    const badArn = await errorOf(client.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:s3:::bucket', RoleSessionName: 'ok-name' })));
    expect(badArn).toMatchObject({ name: 'ValidationError', status: 400 });
    expect(badArn.message).toContain('RoleArn');
    const badDuration = await errorOf(
      client.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/r', RoleSessionName: 'ok-name', DurationSeconds: 60 })),
    );
    expect(badDuration).toMatchObject({ name: 'ValidationError', status: 400 });
    expect(badDuration.message).toContain('durationSeconds');
  });

  it('answers requests without or with a garbled Authorization header in the Query error shape', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: 'Action=GetCallerIdentity&Version=2011-06-15',
      });
    const missing = await post({});
    expect(missing.status).toBe(403);
    const missingBody = await missing.text();
    expect(missingBody).toContain('<ErrorResponse>');
    expect(missingBody).toContain('<Code>MissingAuthenticationToken</Code>');
    expect(missingBody).toMatch(/<RequestId>[0-9a-f-]{36}<\/RequestId>/);

    const garbled = await post({ authorization: 'AWS4-HMAC-SHA256 Credential=AKIATESTSANDBOX00001/20261126/us-east-1/sts/aws4_request' });
    expect(garbled.status).toBe(403);
    expect(await garbled.text()).toContain('<Code>IncompleteSignature</Code>');

    const noRegion = await post({
      authorization: `AWS4-HMAC-SHA256 Credential=AKIATESTSANDBOX00001/20261126//sts/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`,
    });
    expect(noRegion.status).toBe(403);
    const noRegionBody = await noRegion.text();
    expect(noRegionBody).toContain('<Code>IncompleteSignature</Code>');
    expect(noRegionBody).toContain('region');

    const eksMissing = await fetch(`${t.url}/clusters`);
    expect(eksMissing.status).toBe(403);
    expect(eksMissing.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(await eksMissing.json()).toEqual({ message: 'Missing Authentication Token' });
  });
});
