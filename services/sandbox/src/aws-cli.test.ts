// The `aws` CLI (botocore: its own serializers and signer) against the sandbox, as an independent client.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { createKubeSimulator } from './kube/index.js';
import { createEksPrerequisites, type EksPrerequisites } from './test-support/eks-prerequisites.js';
import { startTestSandbox, TEST_AWS_CREDENTIALS, type TestSandbox } from './test-support/start-test-sandbox.js';

let t: TestSandbox;
let net: EksPrerequisites;

beforeAll(async () => {
  // 10 simulated minutes take 10 ms, so `eks wait cluster-active` finds the cluster ACTIVE on its first poll.
  t = await startTestSandbox({
    timeScale: 60_000,
    credentials: [TEST_AWS_CREDENTIALS],
    createClusterRegistry: (dependencies) => createKubeSimulator(dependencies),
  });
  net = await createEksPrerequisites(t.url, TEST_AWS_CREDENTIALS);
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
  return run('aws', ['--endpoint-url', t.url, '--output', 'json', ...args], credentials);
}

function run(command: string, args: string[], credentials = TEST_AWS_CREDENTIALS): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
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
    // botocore parses EKS's refusal of a role IAM does not hold.
    const refused = await aws(['eks', 'create-cluster', '--name', 'cli-cluster', '--role-arn', 'arn:aws:iam::123456789012:role/eks', '--resources-vpc-config', `subnetIds=${net.subnetIds.join(',')}`]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'An error occurred (InvalidParameterException) when calling the CreateCluster operation: Role with arn: arn:aws:iam::123456789012:role/eks, could not be assumed',
    );
    const created = json(
      await aws([
        'eks',
        'create-cluster',
        '--name',
        'cli-cluster',
        '--role-arn',
        net.roleArn,
        '--resources-vpc-config',
        `subnetIds=${net.subnetIds.join(',')}`,
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
      resourcesVpcConfig: expect.objectContaining({ subnetIds: net.subnetIds, vpcId: net.vpcId }),
    });

    // A kubeconfig as a controller builds it from DescribeCluster, with the token `aws eks get-token` makes.
    const cluster = described.cluster as { endpoint: string; certificateAuthority: { data: string } };
    const token = (json(await aws(['eks', 'get-token', '--cluster-name', 'cli-cluster'])).status as { token: string }).token;
    expect(token).toMatch(/^k8s-aws-v1\./);
    const dir = await mkdtemp(join(tmpdir(), 'tugboat-sandbox-cli-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      const write = (bearer: string) =>
        writeFile(
          kubeconfig,
          YAML.stringify({
            apiVersion: 'v1',
            kind: 'Config',
            clusters: [{ name: 'eks', cluster: { server: cluster.endpoint, 'certificate-authority-data': cluster.certificateAuthority.data } }],
            users: [{ name: 'eks', user: { token: bearer } }],
            contexts: [{ name: 'eks', context: { cluster: 'eks', user: 'eks' } }],
            'current-context': 'eks',
          }),
        );
      await write(token);
      // kubectl parses the CA data (it refuses a kubeconfig whose CA is not a certificate) and reaches the endpoint.
      const namespaces = await run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), 'get', 'namespaces', '-o', 'name']);
      expect(namespaces).toMatchObject({ code: 0 });
      expect(namespaces.stdout).toContain('namespace/default');

      // kubectl sends no bearer token over plain HTTP; clients that do get the EKS token checked.
      const api = await fetch(`${cluster.endpoint}/api`, { headers: { authorization: `Bearer ${token}` } });
      expect(api.status).toBe(200);
      expect(await api.json()).toMatchObject({ kind: 'APIVersions' });
      const otherToken = (json(await aws(['eks', 'get-token', '--cluster-name', 'another-cluster'])).status as { token: string }).token;
      const refused = await fetch(`${cluster.endpoint}/api`, { headers: { authorization: `Bearer ${otherToken}` } });
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

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
