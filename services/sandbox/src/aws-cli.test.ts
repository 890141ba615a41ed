// The `aws` CLI (botocore: its own serializers and signer) against the sandbox, as an independent client.
import { spawn } from 'node:child_process';
import { startTestSandbox, TEST_AWS_CREDENTIALS, type TestSandbox } from './test-support/start-test-sandbox.js';

let t: TestSandbox;

beforeAll(async () => {
  // 10 simulated minutes take 10 ms, so `eks wait cluster-active` finds the cluster ACTIVE on its first poll.
  t = await startTestSandbox({ timeScale: 60_000, credentials: [TEST_AWS_CREDENTIALS] });
});

afterAll(async () => {
  await t.sandbox.close();
});

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function aws(args: string[], credentials = TEST_AWS_CREDENTIALS): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('aws', ['--endpoint-url', t.url, '--output', 'json', ...args], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_REGION: 'us-east-1',
        AWS_PAGER: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function json(result: CliResult): Record<string, unknown> {
  if (result.code !== 0) throw new Error(`aws exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

describe('aws CLI against the sandbox', () => {
  it('creates, describes and waits for an EKS cluster', async () => {
    const created = json(
      await aws([
        'eks',
        'create-cluster',
        '--name',
        'cli-cluster',
        '--role-arn',
        'arn:aws:iam::123456789012:role/eks',
        '--resources-vpc-config',
        'subnetIds=subnet-a,subnet-b',
        '--tags',
        'team=cli',
      ]),
    );
    expect(created.cluster).toMatchObject({ name: 'cli-cluster', status: 'CREATING', tags: { team: 'cli' } });

    const waited = await aws(['eks', 'wait', 'cluster-active', '--name', 'cli-cluster']);
    expect(waited).toMatchObject({ code: 0 });

    const described = json(await aws(['eks', 'describe-cluster', '--name', 'cli-cluster']));
    expect(described.cluster).toMatchObject({
      name: 'cli-cluster',
      status: 'ACTIVE',
      endpoint: `${t.url}/k8s/cli-cluster-us-east-1`,
      resourcesVpcConfig: expect.objectContaining({ subnetIds: ['subnet-a', 'subnet-b'] }),
    });

    // What kubectl's exec plugin runs against EKS: a presigned STS token, accepted by this cluster only.
    const token = (json(await aws(['eks', 'get-token', '--cluster-name', 'cli-cluster'])).status as { token: string }).token;
    expect(token).toMatch(/^k8s-aws-v1\./);
    const endpoint = (described.cluster as { endpoint: string }).endpoint;
    const api = await fetch(`${endpoint}/api`, { headers: { authorization: `Bearer ${token}` } });
    expect(api.status).toBe(200);
    expect(await api.json()).toMatchObject({ kind: 'APIVersions' });
    const otherToken = (json(await aws(['eks', 'get-token', '--cluster-name', 'another-cluster'])).status as { token: string }).token;
    const refused = await fetch(`${endpoint}/api`, { headers: { authorization: `Bearer ${otherToken}` } });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });

    const missing = await aws(['eks', 'describe-cluster', '--name', 'no-such-cluster']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('ResourceNotFoundException');
  });

  it('answers sts get-caller-identity, and refuses an unknown key', async () => {
    expect(json(await aws(['sts', 'get-caller-identity']))).toMatchObject({
      Account: '123456789012',
      Arn: 'arn:aws:iam::123456789012:user/sandbox',
    });
    const refused = await aws(['sts', 'get-caller-identity'], { accessKeyId: 'AKIANOTCONFIGURED001', secretAccessKey: 'x' });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('InvalidClientTokenId');
  });
});
