/** Runs the `aws` CLI (botocore: its own serializers and signer) against a sandbox, with nothing from the user's AWS config. */
import { spawn } from 'node:child_process';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runAwsCli(endpoint: string, args: string[], credentials: { accessKeyId: string; secretAccessKey: string }, region = 'us-east-1'): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('aws', ['--endpoint-url', endpoint, '--output', 'json', ...args], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_DEFAULT_REGION: region,
        AWS_REGION: region,
        AWS_PAGER: '',
        // One attempt: a test that expects an error must see it at once, not after retries.
        AWS_MAX_ATTEMPTS: '1',
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

/** The JSON the CLI printed; fails with its stderr when it exited non-zero. */
export function cliJson(result: CliResult): Record<string, unknown> {
  if (result.code !== 0) throw new Error(`aws exited ${result.code}: ${result.stderr}`);
  // Commands without output (modify-vpc-attribute) print nothing.
  return result.stdout.trim() === '' ? {} : (JSON.parse(result.stdout) as Record<string, unknown>);
}
