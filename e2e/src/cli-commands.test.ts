import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiClient, type ApiClient } from '@tugboat/api-client';
import { WORKLOAD_CONTROLLER } from '@tugboat/resource-model';
import { parse } from 'yaml';
import { freePort, registerLocalClusterFixture, REPO_ROOT, runTug, startApiProcess, startTug, waitUntil, type ApiProcess } from './harness/cli-processes.js';

// The real `tug` binary against the real API process (Postgres, NATS), starting from the example
// a newcomer applies first.
let api: ApiProcess;
let admin: ApiClient;
let controller: ApiClient;
let dir: string;
let env: Record<string, string>;

const tug = (...args: string[]) => runTug(args, { env });

beforeAll(async () => {
  api = await startApiProcess();
  // The cluster `tug up` registers, which the example's app runs on.
  await registerLocalClusterFixture(api);
  env = { TUGBOAT_URL: api.url, TUGBOAT_TOKEN: api.adminToken };
  admin = createApiClient({ baseUrl: api.url, token: api.adminToken });
  const created = await admin.createToken({ name: 'cli-e2e-workload-controller', type: 'controller', controller: WORKLOAD_CONTROLLER });
  controller = createApiClient({ baseUrl: api.url, token: created.token });
  dir = await mkdtemp(join(tmpdir(), 'cli-e2e-'));
});

afterAll(async () => {
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tug against the API', () => {
  it('applies the first-app example: created, then unchanged, then configured', async () => {
    const first = await tug('apply', '-f', 'examples/first-app.yaml');
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout.trim().split('\n')).toEqual([
      'AwsAccount/sandbox created',
      'ClusterDefinition/small created',
      'ClusterInstance/dev created',
      'WorkloadDefinition/web-service created',
      'Project/team-a created',
      'WorkloadInstance/hello created',
    ]);

    // The AwsAccount's secretAccessKey reads back redacted; the server keeps the generation.
    const second = await tug('apply', '-f', 'examples/first-app.yaml');
    expect(second.code).toBe(0);
    expect(second.stdout.trim().split('\n').every((line) => line.endsWith(' unchanged'))).toBe(true);

    const changed = (await readFile(join(REPO_ROOT, 'examples/first-app.yaml'), 'utf8'))
      .replace('    replicas: 2\n', '    replicas: 3\n')
      .replace('secret/access/key/0', 'secret/access/key/rotated');
    await writeFile(join(dir, 'changed.yaml'), changed);
    // The plan first: the one changed field, and nothing written.
    const plan = await tug('apply', '-f', join(dir, 'changed.yaml'), '--dry-run');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('~ WorkloadInstance/hello (project team-a) would be configured:\n    ~ spec.overrides.replicas: 2 → 3\n');
    expect(plan.stdout).toContain('  ClusterInstance/dev unchanged\n');
    // A changed secret is a change, and its values stay hidden.
    expect(plan.stdout).toContain('~ AwsAccount/sandbox would be configured:\n    ~ spec.secretAccessKey: <redacted> → <redacted>\n');
    expect(plan.stdout).not.toContain('rotated');
    expect(plan.stdout).toContain('Plan: 0 to create, 2 to change, 4 unchanged. Dry run: nothing was written.\n');
    expect((await admin.getOrThrow({ kind: 'WorkloadInstance', project: 'team-a', name: 'hello' })).metadata.generation).toBe(1);

    const third = await tug('apply', '-f', join(dir, 'changed.yaml'));
    expect(third.code).toBe(0);
    expect(third.stdout).toContain('WorkloadInstance/hello configured');
    expect(third.stdout).toContain('ClusterInstance/dev unchanged');
    const stored = await admin.getOrThrow({ kind: 'WorkloadInstance', project: 'team-a', name: 'hello' });
    expect(stored.spec).toMatchObject({ namespace: 'team-a-hello', overrides: { replicas: 3 } });
    expect(stored.metadata.generation).toBe(2);
  });

  it('gets objects as a table, yaml and json', async () => {
    const table = await tug('get', 'workloadinstances', '-p', 'team-a');
    expect(table.code).toBe(0);
    const [header, row, extra] = table.stdout.trim().split('\n');
    expect(header!.split(/\s+/)).toEqual(['NAME', 'PROJECT', 'PHASE', 'READY', 'GEN', 'AGE', 'URL']);
    expect(row!.split(/\s+/).slice(0, 5)).toEqual(['hello', 'team-a', 'Pending', '-', '2']);
    expect(extra).toBeUndefined();

    const yaml = await tug('get', 'aws', 'sandbox', '-o', 'yaml');
    expect(yaml.code).toBe(0);
    expect(parse(yaml.stdout)).toMatchObject({ kind: 'AwsAccount', metadata: { name: 'sandbox' }, spec: { secretAccessKey: '<redacted>' } });

    const json = await tug('get', 'cluster', '-o', 'json', '-l', 'env=dev');
    expect(JSON.parse(json.stdout).items.map((item: { metadata: { name: string } }) => item.metadata.name)).toEqual(['dev']);
    const none = await tug('get', 'cluster', '-o', 'json', '-l', 'env=prod');
    expect(JSON.parse(none.stdout)).toEqual({ items: [] });
  });

  it('waits for a condition a controller writes, and reports Failed and timeouts', async () => {
    const ref = { kind: 'WorkloadInstance', project: 'team-a', name: 'hello' };
    // Ready at an older generation (the spec is at 2) does not end the wait.
    await controller.writeStatus(ref, { observedGeneration: 1, phase: 'Ready', conditions: [{ type: 'Ready', status: 'True' }] });
    const stale = await tug('wait', 'app', 'hello', '-p', 'team-a', '--for=condition=Ready', '--timeout=1s');
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('phase Ready; generation 2, observed 1; conditions Ready=True');

    // The wait follows the watch; its progress line (stderr, not a terminal) prints each state once.
    const waiting = startTug(['wait', 'app', 'hello', '-p', 'team-a', '--for=condition=Ready', '--timeout=30s'], { env });
    await waitUntil(() => waiting.stderr().includes('observed 1'), 'the first progress line');
    await controller.writeStatus(ref, { observedGeneration: 2, phase: 'Progressing', conditions: [{ type: 'Ready', status: 'False', reason: 'RollingOut' }] });
    // A watch change carries the object as read when it is fanned out: let the wait see this state
    // before the next write, or both changes may show the newer one.
    await waitUntil(() => waiting.stderr().includes('phase Progressing'), 'the Progressing progress line');
    await controller.writeStatus(ref, { observedGeneration: 2, phase: 'Ready', conditions: [{ type: 'Ready', status: 'True' }] });
    const waited = await waiting.done;
    expect(waited).toMatchObject({ code: 0, stdout: 'WorkloadInstance/hello condition met\n' });
    const prefix = 'waiting for condition Ready=True on WorkloadInstance/hello: ';
    expect(waited.stderr.split('\n').filter(Boolean)).toEqual([
      `${prefix}phase Ready; generation 2, observed 1; conditions Ready=True; finalizers workload-controller`,
      `${prefix}phase Progressing; generation 2, observed 2; conditions Ready=False (RollingOut); finalizers workload-controller`,
      `${prefix}phase Ready; generation 2, observed 2; conditions Ready=True; finalizers workload-controller`,
    ]);

    await controller.writeStatus(ref, {
      observedGeneration: 2,
      phase: 'Failed',
      conditions: [{ type: 'Ready', status: 'False', reason: 'ImagePullBackOff', message: 'image not found' }],
    });
    const failed = await tug('wait', 'wi', 'hello', '-p', 'team-a', '--for', 'condition=Ready');
    expect(failed).toMatchObject({ code: 1, stdout: '' });
    expect(failed.stderr.split('\n').at(-2)).toBe('error: WorkloadInstance/hello is Failed at generation 2: ImagePullBackOff: image not found');

    const timeout = await tug('wait', 'cluster', 'dev', '--for=condition=Ready', '--timeout=1s');
    expect(timeout.code).toBe(1);
    expect(timeout.stderr).toContain('timed out after 1s waiting for condition Ready=True on ClusterInstance/dev; now: phase Pending');
  });

  it('deletes: refuses a referenced object, waits for finalizers, and removes the row', async () => {
    const inUse = await tug('delete', 'clusterdefinition', 'small');
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain('ClusterInstance/_/dev: in-use');
    expect(inUse.stderr).toContain('--cascade');

    const ref = { kind: 'WorkloadInstance', project: 'team-a', name: 'hello' };
    const deleting = startTug(['delete', 'app', 'hello', '-p', 'team-a', '--wait', '--timeout=30s'], { env });
    // The workload controller finishing its teardown, once tug is waiting (it says so when its watch
    // is open and its first read saw the finalizer): removed sooner, the wait would find the object
    // gone at its first read and have nothing to say about finalizers.
    await waitUntil(() => deleting.stderr().includes('to go: finalizers'), `tug to wait for the finalizers (stderr: ${deleting.stderr()})`);
    await controller.removeFinalizer(ref, WORKLOAD_CONTROLLER);
    expect(await deleting.done).toEqual({
      code: 0,
      stdout: 'WorkloadInstance/hello deletion requested; waiting for finalizers: workload-controller\nWorkloadInstance/hello deleted\n',
      stderr: 'waiting for WorkloadInstance/hello to go: finalizers: workload-controller\n',
    });
    expect(await admin.get(ref)).toBeUndefined();
  });

  it('says what to fix: unknown kind, invalid spec, unreachable server, missing file', async () => {
    const unknown = await tug('get', 'gizmos');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown kind "gizmos"; the API knows: Application (applications), AwsAccount (awsaccounts, aws), ClusterDefinition (clusterdefinitions, cd)');

    const invalid = await runTug(['apply', '-f', '-'], {
      env,
      stdin: 'kind: WorkloadInstance\nmetadata: { name: broken, project: team-a }\nspec: { definitionRef: { name: web-service }, overrides: { replicas: -1 } }\n',
    });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('  WorkloadInstance/team-a/broken: spec.overrides.replicas: minimum');
    expect(invalid.stderr).toContain('hint: the bundle is one transaction, so nothing was applied');

    const port = await freePort();
    const unreachable = await runTug(['get', 'apps', '--server', `http://127.0.0.1:${port}`], { env: { TUGBOAT_TOKEN: 'x' } });
    expect(unreachable).toEqual({ code: 3, stdout: '', stderr: `error: cannot reach the API at http://127.0.0.1:${port}: is it running? (\`pnpm start\`)\n` });

    const missing = await tug('apply', '-f', 'examples/does-not-exist.yaml');
    expect(missing).toEqual({ code: 2, stdout: '', stderr: 'error: -f examples/does-not-exist.yaml: no such file or directory\n  -f: exists\n' });
  });
});
