// `aws secretsmanager …` (botocore's own JSON 1.1 serializer, error parser and signer) against the sandbox.
import { startTestSandbox, TEST_AWS_CREDENTIALS, type TestSandbox } from '../../test-support/start-test-sandbox.js';
import { cliJson, runAwsCli, type CliResult } from '../../test-support/run-aws-cli.js';

let t: TestSandbox;

beforeAll(async () => {
  t = await startTestSandbox({ credentials: [TEST_AWS_CREDENTIALS] });
});

afterAll(async () => {
  await t.sandbox.close();
});

const sm = (...args: string[]): Promise<CliResult> => runAwsCli(t.url, ['secretsmanager', ...args], TEST_AWS_CREDENTIALS);

describe('aws secretsmanager against the sandbox', () => {
  it('creates a secret, puts a new value and gets both versions; a missing secret is ResourceNotFoundException', async () => {
    const created = cliJson(await sm('create-secret', '--name', 'cli/db', '--secret-string', '{"password":"one"}'));
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:cli\/db-[A-Za-z0-9]{6}$/);
    cliJson(await sm('put-secret-value', '--secret-id', 'cli/db', '--secret-string', '{"password":"two"}'));

    const current = cliJson(await sm('get-secret-value', '--secret-id', 'cli/db'));
    expect(current).toMatchObject({ Name: 'cli/db', SecretString: '{"password":"two"}', VersionStages: ['AWSCURRENT'] });
    const previous = cliJson(await sm('get-secret-value', '--secret-id', created.ARN as string, '--version-stage', 'AWSPREVIOUS'));
    expect(previous).toMatchObject({ SecretString: '{"password":"one"}', VersionId: created.VersionId });

    const missing = await sm('get-secret-value', '--secret-id', 'nope');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: Secrets Manager can't find the specified secret.");
  });
});
