import { createApiClient, type ApiClient } from '@tugboat/api-client';
import { WORKLOAD_CONTROLLER } from '@tugboat/resource-model';
import { registerLocalClusterFixture, runTug, startApiProcess, type ApiProcess } from './harness/cli-processes.js';

// The real `tug` binary against the real API process (issue 8): a controller token from
// `tug token create`, a delete --wait that times out saying who holds the object and what to do,
// `delete --force` through the admin's force path, `delete -f` dependents first, and `wait` on
// several objects.
let api: ApiProcess;
let admin: ApiClient;
let env: Record<string, string>;

const tug = (...args: string[]) => runTug(args, { env });
const hello = { kind: 'WorkloadInstance', project: 'team-a', name: 'hello' };

beforeAll(async () => {
  api = await startApiProcess();
  // The cluster `tug up` registers, which the example's app runs on (not in the file, so never deleted by it).
  await registerLocalClusterFixture(api);
  env = { TUGBOAT_URL: api.url, TUGBOAT_TOKEN: api.adminToken };
  admin = createApiClient({ baseUrl: api.url, token: api.adminToken });
});

afterAll(async () => {
  await api?.close();
});

it('creates a controller token, says who holds a stuck delete, and forces it as the admin only', async () => {
  // The token alone on stdout, as a script captures it; named after the controller, so what it
  // writes is recognisably the controller's.
  const created = await tug('token', 'create', WORKLOAD_CONTROLLER, '--controller', WORKLOAD_CONTROLLER);
  expect(created.code).toBe(0);
  expect(created.stdout).toMatch(/^tug_[\w-]+\n$/);
  expect(created.stderr).toContain(`token created for controller "${WORKLOAD_CONTROLLER}"`);
  const token = created.stdout.trim();
  const controller = createApiClient({ baseUrl: api.url, token });
  expect(await controller.whoami()).toEqual({ name: WORKLOAD_CONTROLLER, type: 'controller', controller: WORKLOAD_CONTROLLER, token: WORKLOAD_CONTROLLER, roles: [] });
  const again = await tug('token', 'create', WORKLOAD_CONTROLLER, '--controller', WORKLOAD_CONTROLLER);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain(`a token named "${WORKLOAD_CONTROLLER}" already exists`);

  expect((await tug('apply', '-f', 'examples/first-app.yaml')).code).toBe(0);

  // No controller runs: the wait times out naming the finalizer, its controller and the way out.
  const stuck = await tug('delete', 'app', 'hello', '-p', 'team-a', '--wait', '--timeout', '2s');
  expect(stuck.code).toBe(1);
  expect(stuck.stdout).toBe(`WorkloadInstance/hello deletion requested; waiting for finalizers: ${WORKLOAD_CONTROLLER}\n`);
  expect(stuck.stderr).toContain('error: WorkloadInstance/hello is still there after 2s: a finalizer is still on it');
  expect(stuck.stderr).toContain(`finalizer ${WORKLOAD_CONTROLLER}: owned by controller ${WORKLOAD_CONTROLLER} (the controller of WorkloadDefinition, WorkloadInstance, Application); no sign of it on this object`);
  expect(stuck.stderr).toContain('    tug delete workloadinstance hello -p team-a --force\n');

  // Once the controller has written something on the object, the message says when.
  await controller.recordEvent(hello, { type: 'Normal', reason: 'TearingDown', message: 'removing the deployment' });
  const seen = await tug('delete', 'app', 'hello', '-p', 'team-a', '--wait', '--timeout', '1s');
  expect(seen.code).toBe(1);
  expect(seen.stderr).toMatch(new RegExp(`finalizer ${WORKLOAD_CONTROLLER}: .*; last seen on this object \\d+s ago \\(event TearingDown\\)`));

  // Only the platform admin forces it.
  const refused = await runTug(['delete', 'app', 'hello', '-p', 'team-a', '--force'], { env: { ...env, TUGBOAT_TOKEN: token } });
  expect(refused.code).toBe(1);
  // A controller changes only status, finalizers and events: it may not even ask for the delete.
  expect(refused.stderr).toContain(`controller "${WORKLOAD_CONTROLLER}" may not delete WorkloadInstance in project team-a`);
  expect(await admin.get(hello)).toBeDefined();

  const forced = await tug('delete', 'app', 'hello', '-p', 'team-a', '--force');
  expect(forced).toEqual({
    code: 0,
    stdout: 'WorkloadInstance/hello deleted\n',
    stderr:
      `warning: force-removed finalizer ${WORKLOAD_CONTROLLER} from WorkloadInstance/hello: controller ${WORKLOAD_CONTROLLER} did not tear down what it made for it; ` +
      'check for leftovers by hand (recorded as a FinalizerForceRemoved event and a revision)\n',
  });
  expect(await admin.get(hello)).toBeUndefined();
}, 120_000);

it('waits for several objects, and deletes what a manifest applied, dependents first', async () => {
  expect(await tug('apply', '-f', 'examples/first-app.yaml')).toMatchObject({ code: 0, stderr: '' });
  const workload = createApiClient({ baseUrl: api.url, token: (await admin.createToken({ name: 'wait-workload', type: 'controller', controller: WORKLOAD_CONTROLLER })).token });
  await admin.create({ kind: 'WorkloadInstance', metadata: { name: 'second', project: 'team-a', labels: { tier: 'web' } }, spec: { definitionRef: { name: 'web-service' }, clusterRef: { name: 'dev' } } });
  await admin.patch(hello, { metadata: { labels: { tier: 'web' } } });
  const ready = { observedGeneration: 1, phase: 'Ready' as const, conditions: [{ type: 'Ready', status: 'True' as const }] };
  await workload.writeStatus(hello, ready);

  const late = await tug('wait', 'app', 'hello', 'second', '-p', 'team-a', '--for=condition=Ready', '--timeout', '2s');
  expect(late.code).toBe(1);
  expect(late.stderr).toContain('error: timed out after 2s waiting for condition Ready=True: 1 of 2 not yet:\n  WorkloadInstance/second: phase Pending');

  await workload.writeStatus({ ...hello, name: 'second' }, ready);
  const met = await tug('wait', 'app', '-l', 'tier=web', '-p', 'team-a', '--for=condition=Ready', '--timeout', '60s');
  expect(met).toMatchObject({ code: 0, stdout: 'WorkloadInstance/hello condition met\nWorkloadInstance/second condition met\n' });

  // Dependents first: the app before its cluster, the cluster before its definition and account.
  // `second` is not in the file and keeps the cluster and the workload definition in use: each
  // refusal is reported and the others are still tried.
  const removed = await tug('delete', '-f', 'examples/first-app.yaml', '--force');
  const lines = removed.stdout.trim().split('\n');
  expect(lines[0]).toBe('WorkloadInstance/hello deleted');
  expect(removed.stderr).toContain('error: ClusterInstance/dev: ');
  expect(removed.stderr).toContain('WorkloadInstance/team-a/second');
  expect(removed.stderr).toContain('error: WorkloadDefinition/web-service: ');
  // The project is refused too: it still holds `second`.
  expect(removed.stderr).toContain('error: Project/team-a: project team-a still holds 1 WorkloadInstance');
  expect(removed.stderr).toMatch(/^6 objects: 1 gone, 5 refused$/m);
  expect(removed.code).toBe(1);

  await admin.delete({ ...hello, name: 'second' });
  await workload.removeFinalizer({ ...hello, name: 'second' }, WORKLOAD_CONTROLLER);
  const rest = await tug('delete', '-f', 'examples/first-app.yaml', '--force');
  expect(rest.code).toBe(0);
  expect(rest.stdout).toContain('WorkloadInstance/hello not found (already gone)\n');
  expect(rest.stdout).toContain('ClusterInstance/dev deleted\n');
  expect(rest.stderr).toMatch(/^6 objects: 6 gone$/m);
  for (const kind of ['workloadinstances', 'workloaddefinitions', 'awsaccounts']) {
    expect((await admin.list(kind)).items).toEqual([]);
  }
  for (const kind of ['clusterinstances', 'clusterdefinitions']) {
    expect((await admin.list(kind)).items.map((item) => item.metadata.name)).toEqual(['local']);
  }
}, 120_000);
