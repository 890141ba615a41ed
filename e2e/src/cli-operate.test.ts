import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiClient, type ApiClient } from '@tugboat/api-client';
import { WORKLOAD_CONTROLLER } from '@tugboat/resource-model';
import { registerLocalClusterFixture, runTug, startApiProcess, startTug, waitUntil, type ApiProcess } from './harness/cli-processes.js';

// The real `tug` binary against the real API process: the issue-3 commands (watch, describe,
// history, events, kinds, operator controls, contexts, dry-run refusals), many commands per test.
let api: ApiProcess;
let admin: ApiClient;
let controller: ApiClient;
let dir: string;
let env: Record<string, string>;

const tug = (...args: string[]) => runTug(args, { env });
const rows = (text: string) => text.trim().split('\n').map((line) => line.trim().split(/\s{2,}/));
const hello = { kind: 'WorkloadInstance', project: 'team-a', name: 'hello' };

beforeAll(async () => {
  api = await startApiProcess();
  env = { TUGBOAT_URL: api.url, TUGBOAT_TOKEN: api.adminToken };
  admin = createApiClient({ baseUrl: api.url, token: api.adminToken });
  const created = await admin.createToken({ name: 'cli-operate-workload-controller', type: 'controller', controller: WORKLOAD_CONTROLLER });
  controller = createApiClient({ baseUrl: api.url, token: created.token });
  dir = await mkdtemp(join(tmpdir(), 'cli-operate-'));
  await registerLocalClusterFixture(api);
  expect((await tug('apply', '-f', 'examples/first-app.yaml')).code).toBe(0);
});

afterAll(async () => {
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tug (issue 3) against the API', () => {
  it('get -w prints the list, then a row per change, until Ctrl-C', async () => {
    const watch = startTug(['get', 'apps', '-p', 'team-a', '-w'], { env });
    await waitUntil(() => watch.stdout().includes('hello'), 'the listed row');
    await controller.writeStatus(hello, { observedGeneration: 1, phase: 'Progressing', conditions: [{ type: 'Ready', status: 'False', reason: 'Rolling' }] });
    await writeFile(join(dir, 'second.yaml'), 'kind: app\nmetadata: { name: second, project: team-a }\nspec: { definitionRef: { name: web-service } }\n');
    expect((await tug('apply', '-f', join(dir, 'second.yaml'))).stdout).toBe('WorkloadInstance/second created\n');
    await admin.delete({ ...hello, name: 'second' });
    // The watch shows a change with the object as it is when the change is read: remove the finalizer
    // only once the Deleting row is out, or the object may already be gone and that row never printed.
    await waitUntil(() => watch.stdout().includes('Deleting'), 'the Deleting row');
    await controller.removeFinalizer({ ...hello, name: 'second' }, WORKLOAD_CONTROLLER);
    await waitUntil(() => watch.stdout().includes('Deleted'), 'the Deleted row');
    watch.interrupt();
    const result = await watch.done;
    expect(result.code).toBe(0);
    expect(rows(result.stdout).map((row) => row.slice(0, 4))).toEqual([
      ['NAME', 'PROJECT', 'PHASE', 'READY'],
      ['hello', 'team-a', 'Pending', '-'],
      ['hello', 'team-a', 'Progressing', 'False'],
      ['second', 'team-a', 'Pending', '-'],
      ['second', 'team-a', 'Deleting', '-'],
      ['second', 'team-a', 'Deleted', '-'],
    ]);
  });

  it('suspends, resumes and reconciles; history shows who and what, with a diff; describe and events show the rest', async () => {
    expect((await tug('suspend', 'app', 'hello', '-p', 'team-a')).stdout).toBe('WorkloadInstance/hello suspended\n');
    expect((await admin.getOrThrow(hello)).metadata.suspended).toBe(true);
    const refused = await tug('reconcile', 'app', 'hello', '-p', 'team-a');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('metadata.suspended: suspended');
    expect((await tug('resume', 'wi', 'hello', '-p', 'team-a')).stdout).toBe('WorkloadInstance/hello resumed\n');
    expect((await tug('reconcile', 'workloadinstance', 'hello', '-p', 'team-a')).stdout).toBe('WorkloadInstance/hello reconcile requested\n');

    await writeFile(join(dir, 'hello.yaml'), 'kind: app\nmetadata: { name: hello, project: team-a, labels: { tier: web } }\nspec: { definitionRef: { name: web-service }, clusterRef: { name: local }, overrides: { imageTag: "0.5", replicas: 2, env: { GREETING: hello from Tugboat } } }\n');
    expect((await tug('apply', '-f', join(dir, 'hello.yaml'))).stdout).toBe('WorkloadInstance/hello configured\n');

    const history = await tug('history', 'app', 'hello', '-p', 'team-a');
    expect(history.code).toBe(0);
    const table = rows(history.stdout);
    expect(table[0]).toEqual(['REVISION', 'GEN', 'CAUSE', 'ACTOR', 'AGE', 'NOTE']);
    expect(table.slice(1, 5).map((row) => [row[1], row[2], row[3], row[5] ?? ''])).toEqual([
      ['2', 'spec', 'admin', ''],
      ['1', 'reconcile', 'admin', 'reconcile requested'],
      ['1', 'metadata', 'admin', 'resumed'],
      ['1', 'metadata', 'admin', 'suspended'],
    ]);
    const first = table.at(-1)![0]!;
    expect((await tug('history', 'app', 'hello', '-p', 'team-a', '--diff', first)).stdout).toBe(
      `WorkloadInstance/hello: revision ${first} → ${table[1]![0]}\n  + spec.overrides.imageTag: "0.5"\n`,
    );
    expect((await tug('history', 'app', 'hello', '-p', 'team-a', '--diff', '999999')).stderr).toContain('not found');

    await controller.recordEvent(hello, { type: 'Warning', reason: 'ImagePullBackOff', message: 'pulling 0.5' });
    const described = await tug('describe', 'app', 'hello', '-p', 'team-a');
    expect(described.code).toBe(0);
    expect(described.stdout).toContain('Kind:               WorkloadInstance (per project, owned by workload-controller)\n');
    expect(described.stdout).toContain('    imageTag: "0.5"\n');
    expect(described.stdout).toContain('  Phase:              Progressing\n');
    expect(described.stdout).toContain('References:\n  WorkloadDefinition/web-service   (spec.definitionRef)\n  ClusterInstance/local   (spec.clusterRef)\n');
    expect(described.stdout).toContain('Referenced by:      none\n');
    expect(described.stdout).toMatch(/Events:\n(.*\n)*.*Warning\s+ImagePullBackOff\s+1\s+cli-operate-workload-controller\s+pulling 0\.5\n$/);
    const cluster = await tug('describe', 'cluster', 'local');
    expect(cluster.stdout).toContain('Referenced by:\n  WorkloadInstance/team-a/hello   (spec.clusterRef)\n');
    expect(cluster.stdout).toContain('References:\n  ClusterDefinition/local   (spec.definitionRef)\n');
    expect((await tug('describe', 'cluster', 'dev')).stdout).toContain('References:\n  ClusterDefinition/small   (spec.definitionRef)\n  AwsAccount/sandbox   (spec.accountRef)\n');

    const events = await tug('events', '--warnings');
    expect(rows(events.stdout).map((row) => row.slice(1, 4))).toEqual([
      ['TYPE', 'REASON', 'OBJECT'],
      ['Warning', 'ImagePullBackOff', 'WorkloadInstance/team-a/hello'],
    ]);
    const reasons = JSON.parse((await tug('events', 'app', 'hello', '-p', 'team-a', '-o', 'json')).stdout).items.map((event: { reason: string }) => event.reason);
    expect(reasons).toEqual(expect.arrayContaining(['Suspended', 'Resumed', 'ReconcileRequested', 'ImagePullBackOff']));

    const kinds = await tug('kinds');
    expect(rows(kinds.stdout).find((row) => row[0] === 'ClusterInstance')?.slice(1, 3)).toEqual(['clusterinstances,clusterinstance,ci,cluster', 'Platform']);
    const wide = await tug('get', 'app', 'hello', '-p', 'team-a', '-o', 'wide');
    expect(rows(wide.stdout)[1]).toEqual(['hello', 'team-a', 'Progressing', 'False', '1/2', expect.any(String), '-', 'Rolling', 'no', WORKLOAD_CONTROLLER, 'tier=web']);
  });

  it('plans guardrail refusals: an instance outside its definition, and a definition change that would put one outside', async () => {
    await writeFile(join(dir, 'too-big.yaml'), 'kind: app\nmetadata: { name: hello, project: team-a }\nspec: { definitionRef: { name: web-service }, overrides: { replicas: 50 } }\n');
    const plan = await tug('apply', '-f', join(dir, 'too-big.yaml'), '--dry-run');
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain('! WorkloadInstance/hello (project team-a) is blocked:\n    spec.overrides.replicas: maxReplicas (');
    expect(plan.stdout).toContain('50 replicas is more than WorkloadDefinition web-service allows (10))\n');
    expect((await tug('apply', '-f', join(dir, 'too-big.yaml'))).code).toBe(1);
    expect((await admin.getOrThrow(hello)).spec['overrides']).toMatchObject({ replicas: 2 });

    await writeFile(join(dir, 'not-overridable.yaml'), 'kind: app\nmetadata: { name: hello, project: team-a }\nspec: { definitionRef: { name: web-service }, overrides: { image: quay.io/org/hello:1 } }\n');
    const image = await tug('apply', '-f', join(dir, 'not-overridable.yaml'), '--dry-run');
    expect(image.stdout).toContain('    spec.overrides.image: overridable (WorkloadDefinition web-service does not let instances override image (overridable: imageTag, replicas, env))\n');

    await writeFile(
      join(dir, 'tighter.yaml'),
      'kind: WorkloadDefinition\nmetadata: { name: web-service }\nspec: { container: { image: docker.io/nginxdemos/hello:0.4 }, overridable: [imageTag, replicas, env], maxReplicas: 1, allowedImageRegistries: [docker.io] }\n',
    );
    const tighter = await tug('apply', '-f', join(dir, 'tighter.yaml'), '--dry-run');
    expect(tighter.code).toBe(1);
    expect(tighter.stdout).toContain('! WorkloadDefinition/web-service is blocked:\n    WorkloadInstance/team-a/hello:spec.overrides.replicas: maxReplicas (');
    expect(tighter.stdout).toContain('2 replicas is more than WorkloadDefinition web-service allows (1))\n');
  });

  it('plans a blocked bundle without writing, and takes server and token from a context', async () => {
    await writeFile(join(dir, 'blocked.yaml'), 'kind: app\nmetadata: { name: third, project: team-a }\nspec: { definitionRef: { name: nope } }\n');
    const blocked = await tug('apply', '-f', join(dir, 'blocked.yaml'), '--dry-run');
    expect(blocked.code).toBe(1);
    expect(blocked.stdout).toContain('! WorkloadInstance/third (project team-a) is blocked:\n    spec.definitionRef.name: reference');
    expect(await admin.get({ ...hello, name: 'third' })).toBeUndefined();

    const config = { TUGBOAT_CONFIG: join(dir, 'config.yaml') };
    expect((await runTug(['config', 'set-context', 'e2e', '--server', api.url, '--token', api.adminToken, '-p', 'team-a'], { env: config })).code).toBe(0);
    // No TUGBOAT_URL or TUGBOAT_TOKEN: the current context supplies both, and the project.
    const viaContext = await runTug(['get', 'app', 'hello', '-o', 'json'], { env: config });
    expect(viaContext.code).toBe(0);
    expect(JSON.parse(viaContext.stdout).metadata.name).toBe('hello');
    const flagWins = await runTug(['get', 'app', 'hello', '--token', 'wrong'], { env: config });
    expect(flagWins.code).toBe(1);
    expect(flagWins.stderr).toContain('hint: pass --token or set TUGBOAT_TOKEN');
    expect(await runTug(['get', 'apps', '--context', 'nope'], { env: config })).toMatchObject({ code: 2, stderr: expect.stringContaining('--context: no context "nope"') });
  });
});
