/**
 * An EKS token made here reaches the sandbox's EKS cluster through `@tugboat/kube`, as the
 * cluster- and workload-controllers use it: with an access key pair, and with a role assumed with
 * an external id. A token for another cluster, or from keys AWS does not know, is refused (401).
 */
import { CreateClusterCommand, DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { createClusterConnections, isKubeClusterError } from '@tugboat/kube';
import { createSandboxServer, type SandboxServer } from '@tugboat/sandbox';
import { createEksPrerequisites } from '@tugboat/sandbox/testing';
import pino from 'pino';
import { createAccountCredentials, type AccountRef } from './account.js';
import { createEksAccess, eksEndpointOf, type EksEndpoint } from './eks-access.js';
import { eksToken, EKS_TOKEN_PREFIX } from './eks-token.js';

const KEYS = { accessKeyId: 'AKIAEKSACCESSTEST001', secretAccessKey: 'eks-access-secret' };

describe('EKS access against the sandbox', () => {
  let sandbox: SandboxServer;
  let url: string;
  let cluster: EksEndpoint;

  const account = (spec: Partial<AccountRef['spec']>, uid = 'acct-1', generation = 1): AccountRef => ({
    uid,
    generation,
    name: 'main',
    spec: { accountId: '123456789012', region: 'us-east-1', endpoint: url, ...spec },
  });
  const secrets = (secretAccessKey = KEYS.secretAccessKey) => () => Promise.resolve({ secretAccessKey });

  beforeAll(async () => {
    // 10 simulated minutes take 10 ms: the cluster is ACTIVE at once.
    sandbox = createSandboxServer({
      port: 0,
      timeScale: 60_000,
      credentials: [{ ...KEYS, userName: 'ci' }],
      logger: pino({ level: 'silent' }),
    });
    ({ url } = await sandbox.start());
    const eks = new EKSClient({ endpoint: url, region: 'us-east-1', credentials: KEYS });
    // EKS takes only a role and subnets that the sandbox's IAM and EC2 hold, as AWS does.
    const net = await createEksPrerequisites(url, KEYS);
    await eks.send(new CreateClusterCommand({ name: 'tokens', roleArn: net.roleArn, resourcesVpcConfig: { subnetIds: net.subnetIds } }));
    for (;;) {
      const described = await eks.send(new DescribeClusterCommand({ name: 'tokens' }));
      const found = eksEndpointOf({ clusterName: 'tokens', region: 'us-east-1', endpoint: described.cluster?.endpoint, certificateAuthority: described.cluster?.certificateAuthority?.data });
      if (described.cluster?.status === 'ACTIVE' && found) {
        cluster = found;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    eks.destroy();
  });
  afterAll(() => sandbox.close());

  it('makes a k8s-aws-v1 token the cluster accepts, and one for another cluster it refuses', async () => {
    const { token } = await eksToken({ clusterName: 'tokens', region: 'us-east-1', credentials: KEYS, stsEndpoint: url });
    expect(token.startsWith(EKS_TOKEN_PREFIX)).toBe(true);
    const presigned = new URL(Buffer.from(token.slice(EKS_TOKEN_PREFIX.length), 'base64url').toString());
    expect(presigned.searchParams.get('Action')).toBe('GetCallerIdentity');
    expect(presigned.searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
    expect((await fetch(`${cluster.endpoint}/api`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const other = await eksToken({ clusterName: 'another', region: 'us-east-1', credentials: KEYS, stsEndpoint: url });
    expect((await fetch(`${cluster.endpoint}/api`, { headers: { authorization: `Bearer ${other.token}` } })).status).toBe(401);
  });

  it('connects with an access key pair, and reports refused keys as Unauthorized', async () => {
    const access = createEksAccess();
    const connections = createClusterConnections({ requestTimeoutMs: 5_000 });
    const good = connections.connect({ uid: 'c1', ...access.connection(cluster, account({ accessKeyId: KEYS.accessKeyId }), secrets()) });
    expect((await good.serverVersion()).gitVersion).toMatch(/^v1\./);

    const bad = connections.connect({ uid: 'c2', ...access.connection(cluster, account({ accessKeyId: 'AKIAUNKNOWNKEY000001' }, 'acct-2'), secrets('nope')) });
    const refused = await bad.serverVersion().catch((error: unknown) => error);
    expect(isKubeClusterError(refused) && refused.reason).toBe('Unauthorized');
  });

  it('connects through a role assumed with its external id, and a wrong external id is refused', async () => {
    const iam = new IAMClient({ endpoint: url, region: 'us-east-1', credentials: KEYS });
    const trust = (externalId: string) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:user/ci' }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': externalId } } }],
      });
    await iam.send(new CreateRoleCommand({ RoleName: 'tugboat-deployer', AssumeRolePolicyDocument: trust('ext-42') }));
    iam.destroy();
    const roleArn = 'arn:aws:iam::123456789012:role/tugboat-deployer';
    const credentials = createAccountCredentials();
    const assumed = await credentials.get(account({ accessKeyId: KEYS.accessKeyId, roleArn, externalId: 'ext-42' }, 'acct-3'), secrets());
    expect(assumed.accessKeyId).toMatch(/^ASIA/);
    expect(assumed.sessionToken).toBeDefined();

    const access = createEksAccess({ credentials });
    const connection = createClusterConnections({ requestTimeoutMs: 5_000 }).connect({
      uid: 'c3',
      ...access.connection(cluster, account({ accessKeyId: KEYS.accessKeyId, roleArn, externalId: 'ext-42' }, 'acct-3'), secrets()),
    });
    expect((await connection.listNodes()).length).toBeGreaterThanOrEqual(0);

    const wrong = await credentials.get(account({ accessKeyId: KEYS.accessKeyId, roleArn, externalId: 'ext-43' }, 'acct-4'), secrets()).catch((error: unknown) => error);
    expect(wrong).toMatchObject({ name: 'AccessDenied' });
  });
});
