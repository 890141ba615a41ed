// `pnpm sandbox --port 0 --state-dir DIR` as a user starts it: flags through pnpm, endpoints printed, files written, clean stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitFor } from './test-support/start-test-sandbox.js';

const repoRoot = resolve(import.meta.dirname, '../../..');
let dir: string;
let child: ChildProcess | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tugboat-sandbox-main-'));
});

afterEach(async () => {
  if (child?.pid !== undefined && groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

it('starts through pnpm sandbox, prints its endpoints, writes its files and stops on SIGTERM', async () => {
  const started = spawn('pnpm', ['--silent', 'sandbox', '--port', '0', '--state-dir', dir], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  child = started;
  let stdout = '';
  let stderr = '';
  started.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  started.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((done) => started.once('close', () => done()));

  const url = await waitFor(() => /Tugboat sandbox on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1], 30_000, `the sandbox to start (stderr: ${stderr})`);
  expect(stdout).toContain(`${url}/k8s/local`);
  expect(stdout).toContain(join(dir, 'kubeconfig'));

  const health = await fetch(`${url}/_sandbox/healthz`);
  expect(await health.json()).toMatchObject({ ok: true, region: 'us-east-1' });
  expect(await readFile(join(dir, 'aws.env'), 'utf8')).toContain(`AWS_ENDPOINT_URL=${url}\n`);
  expect(await readFile(join(dir, 'kubeconfig'), 'utf8')).toContain(`${url}/k8s/local`);

  // A change still inside the save debounce when the signal arrives is saved by the graceful stop.
  await fetch(`${url}/_sandbox/time`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"scale":42}' });
  process.kill(-started.pid!, 'SIGTERM');
  await exited;
  await waitFor(() => (groupAlive(started.pid!) ? undefined : true), 10_000, 'every process of the sandbox to exit');
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as {
    version: number;
    timeScale: number;
    kube: { clusters: Array<{ name: string }> };
  };
  expect(state.timeScale).toBe(42);
  expect(state.version).toBe(1);
  expect(state.kube.clusters.map((c) => c.name)).toEqual(['local']);
});

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

it('refuses a bad flag naming it', async () => {
  const started = spawn('pnpm', ['--silent', 'sandbox', '--port', 'many'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  child = started;
  let stderr = '';
  started.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => started.once('close', done));
  expect(code).not.toBe(0);
  expect(stderr).toContain('--port: must be an integer from 0 to 65535');
});
