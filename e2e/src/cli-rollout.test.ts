/**
 * The delivery path as people and pipelines drive it, with the real `tug` and the real API process
 * on Postgres and NATS: a pipeline's service-account token made with `tug token create`, Releases
 * created by examples/ci/create-release.sh (what the example workflow runs), and `tug rollout
 * history | approve | reject | undo` by a project admin, whose role the prod tier's DeliveryPolicy
 * names (the pipeline's editor role it does not). No workload-controller runs: dev's readiness,
 * which prod's policy requires, is written with a controller token as the controller would.
 */
import { join } from 'node:path';
import { createApiClient, type ApiClient, type Rollout } from '@tugboat/api-client';
import { TIER_LABEL, WORKLOAD_CONTROLLER } from '@tugboat/resource-model';
import { NODE_TS, REPO_ROOT, runTug, startApiProcess, startChild, type ApiProcess } from './harness/cli-processes.js';

const P = 'shop';
const digest = (hex: string) => `sha256:${hex.repeat(64 / hex.length)}`;
const rows = (text: string) => text.trim().split('\n').map((line) => line.trim().split(/\s{2,}/));

let api: ApiProcess;
let admin: ApiClient;
let controller: ApiClient;
let ciToken: string;
let ownerToken: string;

const tug = (token: string, ...args: string[]) => runTug(args, { env: { TUGBOAT_URL: api.url, TUGBOAT_TOKEN: token } });

/** examples/ci/create-release.sh as the workflow runs it. */
async function createRelease(hex: string): Promise<{ code: number | null; stdout: string; output: string }> {
  const child = startChild('sh', [join(REPO_ROOT, 'examples/ci/create-release.sh')], {
    PATH: process.env['PATH'],
    IMAGE: 'ghcr.io/example/shop-web',
    DIGEST: digest(hex),
    COMMIT: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    BUILD_URL: 'https://ci.example.com/runs/7',
    APPLICATION: 'shop',
    COMPONENT: 'web',
    PROJECT: P,
    TUGBOAT_URL: api.url,
    TUGBOAT_TOKEN: ciToken,
    TUGBOAT_CONFIG: '/dev/null',
    TUG: [...NODE_TS, join(REPO_ROOT, 'libs/cli/src/bin.ts')].join(' '),
  });
  let stdout = '';
  child.process.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const { code } = await child.exited;
  return { code, stdout, output: child.output() };
}

/** What the workload-controller writes once the dev copy runs its spec. */
async function markDevReady(): Promise<void> {
  const ref = { kind: 'WorkloadInstance', project: P, name: 'shop-web-dev' };
  const object = await controller.getOrThrow(ref);
  await controller.writeStatus(ref, { phase: 'Ready', observedGeneration: object.metadata.generation, conditions: [{ type: 'Ready', status: 'True', reason: 'Ready' }] });
}

beforeAll(async () => {
  api = await startApiProcess({ name: 'rollout' });
  admin = createApiClient({ baseUrl: api.url, token: api.adminToken });
  await admin.create({ kind: 'Project', metadata: { name: P }, spec: { members: [{ user: 'olga', role: 'admin' }] } });
  await admin.apply([
    { kind: 'ClusterDefinition', metadata: { name: 'local' }, spec: { provider: 'kubeconfig' } },
    { kind: 'ClusterInstance', metadata: { name: 'dev', labels: { [TIER_LABEL]: 'dev' } }, spec: { definitionRef: { name: 'local' }, kubeconfig: 'apiVersion: v1' } },
    { kind: 'ClusterInstance', metadata: { name: 'prod', labels: { [TIER_LABEL]: 'prod' } }, spec: { definitionRef: { name: 'local' }, kubeconfig: 'apiVersion: v1' } },
    { kind: 'WorkloadDefinition', metadata: { name: 'shop' }, spec: { container: { image: 'ghcr.io/example/shop:1.0', ports: [{ port: 8080 }] }, overridable: ['image', 'replicas'], maxReplicas: 5 } },
    { kind: 'DeliveryPolicy', metadata: { name: 'prod' }, spec: { tier: 'prod', mode: 'approval', approvers: { roles: ['admin'] }, requires: { tier: 'dev' } } },
  ]);
  const made = await admin.createToken({ name: 'rollout-wc', type: 'controller', controller: WORKLOAD_CONTROLLER });
  controller = createApiClient({ baseUrl: api.url, token: made.token });

  // As examples/ci/README.md says: the pipeline's token, and a person's.
  const ci = await tug(api.adminToken, 'token', 'create', 'shop-ci', '--project', P, '--role', 'editor', '--expires', '30d');
  expect(ci.code).toBe(0);
  ciToken = ci.stdout.trim();
  ownerToken = (await tug(api.adminToken, 'token', 'create', 'olga-laptop', '--user', 'olga')).stdout.trim();
  await admin.create({
    kind: 'Application',
    metadata: { name: 'shop', project: P },
    spec: { targets: [{ tier: 'dev' }, { tier: 'prod' }], workloads: [{ name: 'web', definitionRef: { name: 'shop' } }] },
  });
}, 120_000);

afterAll(async () => {
  await api?.close();
});

it('approves the first expansion into prod, creates a Release from CI, and shows each tier\'s history', async () => {
  const first = await tug(ownerToken, 'rollout', 'approve', 'application/shop', '--tier', 'prod', '-p', P, '-m', 'first launch');
  expect(first.code).toBe(0);
  expect(first.stdout).toMatch(/^approved rollout shop-prod-1 \(application shop, tier prod, revision 1\).*: applied\n {2}created WorkloadInstance\/shop-web-prod\n$/);

  const release = await createRelease('0a1b');
  expect([release.code, release.stdout]).toEqual([0, 'shop-web-0a1b0a1b0a1b\n']);
  // The same build again: the same name, nothing new.
  expect((await createRelease('0a1b')).stdout).toBe('shop-web-0a1b0a1b0a1b\n');

  const history = await tug(ownerToken, 'rollout', 'history', 'application/shop', '-p', P);
  expect(history.code).toBe(0);
  const table = rows(history.stdout).map((row) => row.slice(0, 5));
  expect(table).toEqual([
    ['tier dev:'],
    ['REVISION', 'STATE', 'RELEASES', 'CAUSE', 'DECIDED BY'],
    ['2', 'Applied', 'web=shop-web-0a1b0a1b0a1b@0a1b0a1b0a1b', 'release', 'automatic'],
    ['1', 'Applied', expect.any(String), 'change', 'automatic'],
    [''],
    ['tier prod:'],
    ['REVISION', 'STATE', 'RELEASES', 'CAUSE', 'DECIDED BY'],
    ['2', 'PendingApproval', 'web=shop-web-0a1b0a1b0a1b@0a1b0a1b0a1b', 'release', '-'],
    ['1', 'Applied', expect.any(String), 'change', 'olga (admin)'],
  ]);
  expect(history.stderr).toBe(
    'rollout shop-prod-2 (application shop, tier prod, revision 2): web=shop-web-0a1b0a1b0a1b@0a1b0a1b0a1b: waits for approval by admin; ' +
      'held back: release shop-web-0a1b0a1b0a1b (web) is not Ready in tier dev yet (DeliveryPolicy prod requires it); to approve: tug rollout approve shop-prod-2 -p shop\n',
  );
  const json = await tug(ownerToken, 'rollout', 'history', 'application/shop', '-p', P, '--tier', 'prod', '-o', 'json');
  expect((JSON.parse(json.stdout) as { items: Rollout[] }).items.map((item) => item.metadata.name)).toEqual(['shop-prod-2', 'shop-prod-1']);
}, 120_000);

it('refuses the pipeline as an approver and an approval before dev is Ready, then applies the release to prod', async () => {
  const byCi = await tug(ciToken, 'rollout', 'approve', 'shop-prod-2', '-p', P);
  expect(byCi.code).toBe(1);
  expect(byCi.stderr).toContain('may not approve in tier prod');
  const early = await tug(ownerToken, 'rollout', 'approve', 'application/shop', '--tier', 'prod', '-p', P);
  expect(early.code).toBe(1);
  expect(early.stderr).toContain('not Ready in tier dev');

  await markDevReady();
  const approved = await tug(ownerToken, 'rollout', 'approve', 'application/shop', '--tier', 'prod', '-p', P);
  expect(approved.code).toBe(0);
  expect(approved.stdout).toBe(
    'approved rollout shop-prod-2 (application shop, tier prod, revision 2): web=shop-web-0a1b0a1b0a1b@0a1b0a1b0a1b: applied\n  updated WorkloadInstance/shop-web-prod\n',
  );
  const none = await tug(ownerToken, 'rollout', 'reject', 'application/shop', '--tier', 'prod', '-p', P);
  expect(none.code).toBe(1);
  expect(none.stderr).toContain('no rollout of application shop waits for approval in tier prod');
}, 120_000);

it('rejects the next release in prod and undoes it in dev, back to the one before', async () => {
  expect((await createRelease('9f8e')).stdout).toBe('shop-web-9f8e9f8e9f8e\n');
  const rejected = await tug(ownerToken, 'rollout', 'reject', 'application/shop', '--tier', 'prod', '-p', P, '-m', 'not this week');
  expect(rejected.code).toBe(0);
  expect(rejected.stdout).toBe('rejected rollout shop-prod-3 (application shop, tier prod, revision 3): web=shop-web-9f8e9f8e9f8e@9f8e9f8e9f8e: rejected\n');

  const undone = await tug(ownerToken, 'rollout', 'undo', 'application/shop', '--tier', 'dev', '-p', P);
  expect(undone.code).toBe(0);
  expect(undone.stdout).toBe('rollout shop-dev-4 (application shop, tier dev, revision 4): web=shop-web-0a1b0a1b0a1b@0a1b0a1b0a1b: applied\n');
  const dev = rows((await tug(ownerToken, 'rollout', 'history', 'application/shop', '-p', P, '--tier', 'dev')).stdout);
  expect(dev.slice(2, 4).map((row) => row.slice(0, 4))).toEqual([
    ['4', 'Applied', 'web=shop-web-0a1b0a1b0a1b@0a1b0a1b0a1b', 'undo'],
    ['3', 'Applied', 'web=shop-web-9f8e9f8e9f8e@9f8e9f8e9f8e', 'release'],
  ]);
}, 120_000);
