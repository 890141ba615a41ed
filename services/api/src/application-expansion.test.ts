/**
 * An Application's server-side expansion, in-process against real Postgres and NATS: the dry run's
 * plan is what the apply then does (object by object), a child refused by its guardrails refuses
 * the whole write (422 naming component, cluster, field and rule; nothing written), a tier's new
 * cluster is expanded onto when the Application is written again, a workload moving to another
 * cluster is kept on the old one until its replacement is Ready (a migration, not a delete), and
 * deletion keeps dependency order (workloads before the databases and secrets they use).
 */
import { startTestApi, type TestApi } from './api-test-harness.js';

const P = 'team-a';
const TIER = 'tugboat.dev/tier';

const platform = [
  { kind: 'ClusterDefinition', metadata: { name: 'local' }, spec: { provider: 'kubeconfig' } },
  { kind: 'ClusterInstance', metadata: { name: 'dev', labels: { [TIER]: 'dev' } }, spec: { definitionRef: { name: 'local' }, kubeconfig: 'apiVersion: v1' } },
  { kind: 'ClusterInstance', metadata: { name: 'prod-1', labels: { [TIER]: 'prod' } }, spec: { definitionRef: { name: 'local' }, kubeconfig: 'apiVersion: v1' } },
  { kind: 'ClusterInstance', metadata: { name: 'prod-2' }, spec: { definitionRef: { name: 'local' }, kubeconfig: 'apiVersion: v1' } },
  { kind: 'ClusterInstance', metadata: { name: 'lab-1' }, spec: { definitionRef: { name: 'local' }, kubeconfig: 'apiVersion: v1' } },
  { kind: 'ClusterInstance', metadata: { name: 'lab-2' }, spec: { definitionRef: { name: 'local' }, kubeconfig: 'apiVersion: v1' } },
  { kind: 'WorkloadDefinition', metadata: { name: 'hello' }, spec: { container: { image: 'ghcr.io/example/hello:1.0', ports: [{ port: 8080 }] }, overridable: ['replicas', 'env'], maxReplicas: 3 } },
  {
    kind: 'DatabaseDefinition',
    metadata: { name: 'pg' },
    spec: { engine: 'postgres', allowedVersions: ['16.6'], allowedInstanceClasses: ['db.t3.micro', 'db.t3.small'], storageGb: { min: 20, max: 100 }, defaults: { version: '16.6', instanceClass: 'db.t3.micro', storageGb: 20 } },
  },
  { kind: 'SecretDefinition', metadata: { name: 'vault' }, spec: { backend: 'tugboat' } },
];

function application(name: string, options: { prodReplicas?: number } = {}) {
  return {
    kind: 'Application',
    metadata: { name, project: P },
    spec: {
      parameters: [
        { name: 'replicas', type: 'integer', default: 1 },
        { name: 'size', type: 'string', default: 'db.t3.micro' },
      ],
      targets: [{ tier: 'dev' }, { tier: 'prod', parameters: { replicas: options.prodReplicas ?? 2, size: 'db.t3.small' } }],
      secrets: [{ name: 'key', definitionRef: { name: 'vault' }, key: 'API_KEY' }],
      databases: [{ name: 'db', definitionRef: { name: 'pg' }, databaseName: 'shop', instanceClass: '${size}' }],
      workloads: [
        {
          name: 'web',
          definitionRef: { name: 'hello' },
          databases: [{ component: 'db', envPrefix: 'DB' }],
          secrets: [{ component: 'key' }],
          overrides: { replicas: '${replicas}', env: { TIER: '${tier}' } },
        },
      ],
    },
  };
}

interface PlanItem {
  kind: string;
  name: string;
  action: string;
  owner?: string;
  component?: string;
  cluster?: string;
  spec?: Record<string, unknown>;
  waitsFor?: string[];
  migratingTo?: string;
  reasons?: Array<{ path: string; rule: string }>;
}

describe('Application expansion (API, real Postgres and NATS)', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ projects: [P] });
    const applied = await api.call('POST', '/v1/apply', { items: platform });
    expect(applied.status).toBe(200);
  });
  afterAll(async () => {
    await api?.close();
  });

  const owned = async (app: string) =>
    (await api.sql(`select kind, name, deletion_requested_at is not null as deleting from resources where labels->>'tugboat.dev/application' = $1 and kind in ('WorkloadInstance', 'DatabaseInstance', 'SecretInstance') order by kind, name`, [app])) as Array<{
      kind: string;
      name: string;
      deleting: boolean;
    }>;
  const plural = (kind: string) => `${kind.toLowerCase()}s`;
  const forceFinalizers = async (kind: string, name: string) => {
    const found = await api.call('GET', `/v1/${plural(kind)}/${name}?project=${P}`);
    for (const finalizer of found.body.metadata.finalizers as string[]) {
      const removed = await api.call('DELETE', `/v1/${plural(kind)}/${name}/finalizers/${finalizer}?project=${P}&force=true`);
      expect(removed.status).toBe(200);
    }
  };

  it('plans in a dry run exactly what the apply then does, object by object, and writes nothing on the dry run', async () => {
    const before = await api.sql(`select count(*)::int as n from resources`);
    const dry = await api.call('POST', '/v1/apply?dryRun=true', { items: [application('shop')] });
    expect(dry.status).toBe(200);
    const plan = dry.body.results as PlanItem[];
    expect(plan.map((r) => `${r.action} ${r.kind}/${r.name}`)).toEqual([
      'created Application/shop',
      'created SecretInstance/shop-key-dev',
      'created DatabaseInstance/shop-db-dev',
      'created WorkloadInstance/shop-web-dev',
      'created SecretInstance/shop-key-prod-1',
      'created DatabaseInstance/shop-db-prod-1',
      'created WorkloadInstance/shop-web-prod-1',
    ]);
    expect(await api.sql(`select count(*)::int as n from resources`)).toEqual(before);

    const applied = await api.call('POST', '/v1/apply', { items: [application('shop')] });
    expect(applied.status).toBe(200);
    expect(applied.body.results).toEqual(plan);
    // What is stored is what the plan said, field by field (the namespace admission fills in included).
    for (const item of plan.slice(1)) {
      const stored = await api.call('GET', `/v1/${plural(item.kind)}/${item.name}?project=${P}`);
      expect(stored.status).toBe(200);
      expect(stored.body.spec).toEqual(item.spec);
      expect(stored.body.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Application', name: 'shop' })]);
      expect(stored.body.metadata.labels).toMatchObject({ 'tugboat.dev/application': 'shop', 'tugboat.dev/component': item.component, 'tugboat.dev/cluster': item.cluster });
    }
    const prodWeb = plan.find((r) => r.name === 'shop-web-prod-1')!;
    expect(prodWeb.spec).toMatchObject({ clusterRef: { name: 'prod-1' }, databases: [{ ref: { name: 'shop-db-prod-1' }, envPrefix: 'DB' }], overrides: { replicas: 2, env: { TIER: 'prod' } } });
    expect(plan.find((r) => r.name === 'shop-db-prod-1')!.spec).toMatchObject({ clusterRef: { name: 'prod-1' }, instanceClass: 'db.t3.small' });

    // Applied again: every object unchanged.
    const again = await api.call('POST', '/v1/apply?dryRun=true', { items: [application('shop')] });
    expect((again.body.results as PlanItem[]).map((r) => r.action)).toEqual(Array(7).fill('unchanged'));
  });

  it('lets a person set an owned secret’s value, and nothing else of what the Application owns', async () => {
    const merge = { headers: { 'content-type': 'application/merge-patch+json' } };
    const value = await api.call('PATCH', `/v1/secretinstances/shop-key-dev?project=${P}`, { spec: { value: 'sk-1' } }, merge);
    expect(value.status).toBe(200);
    const key = await api.call('PATCH', `/v1/secretinstances/shop-key-dev?project=${P}`, { spec: { key: 'OTHER_KEY' } }, merge);
    expect(key.status).toBe(409);
    expect(key.body.error.details).toEqual([expect.objectContaining({ path: 'metadata.ownerReferences', rule: 'owned-by-application' })]);
    const relabel = await api.call('PATCH', `/v1/workloadinstances/shop-web-dev?project=${P}`, { metadata: { labels: { team: 'x' } } }, merge);
    expect(relabel.status).toBe(409);
  });

  it('refuses the whole write when one child breaks its guardrails, naming component, cluster, field and rule; nothing is written', async () => {
    const created = await api.call('POST', '/v1/applications', application('big', { prodReplicas: 5 }));
    expect(created.status).toBe(422);
    expect(created.body.error.details).toEqual([
      expect.objectContaining({ path: 'component web on cluster prod-1 (WorkloadInstance big-web-prod-1): spec.overrides.replicas', rule: 'maxReplicas' }),
    ]);
    expect(created.body.error.message).toContain('nothing was');
    expect(await owned('big')).toEqual([]);
    expect(await api.sql(`select name from resources where kind = 'Application' and name = 'big'`)).toEqual([]);

    // The dry run shows every verdict: the refused copy blocked, the others as they would be.
    const dry = await api.call('POST', '/v1/apply?dryRun=true', { items: [application('big', { prodReplicas: 5 })] });
    const plan = dry.body.results as PlanItem[];
    expect(plan[0]).toMatchObject({ kind: 'Application', action: 'blocked' });
    expect(plan.find((r) => r.name === 'big-web-prod-1')).toMatchObject({ action: 'blocked', reasons: [expect.objectContaining({ path: 'spec.overrides.replicas', rule: 'maxReplicas' })] });
    expect(plan.find((r) => r.name === 'big-web-dev')).toMatchObject({ action: 'created' });
    const applied = await api.call('POST', '/v1/apply', { items: [application('big', { prodReplicas: 5 })] });
    expect(applied.status).toBe(422);
    expect(await owned('big')).toEqual([]);
  });

  it('asks the caller for the owned kinds too, and keeps the definitions it uses', async () => {
    const roles = [{ name: 'app-only', rules: [{ kinds: ['Application'], verbs: ['get', 'list', 'create', 'update', 'delete'] }] }];
    expect((await api.call('POST', '/v1/projects', { kind: 'Project', metadata: { name: 'narrow' }, spec: { roles } })).status).toBe(201);
    const token = (await api.call('POST', '/v1/tokens', { name: 'narrow-ci', project: 'narrow', role: 'app-only' })).body.token as string;
    const refused = await api.call('POST', '/v1/applications', { ...application('shop'), metadata: { name: 'shop', project: 'narrow' } }, { token });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('WorkloadInstance');
    expect(await api.sql(`select name from resources where project = 'narrow' and kind <> 'Project'`)).toEqual([]);

    const inUse = await api.call('DELETE', '/v1/workloaddefinitions/hello');
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.message).toContain('Application/team-a/shop');
  });

  it('refuses a parameter of the wrong type at the Application’s own field', async () => {
    const app = application('typed');
    app.spec.targets[1] = { tier: 'prod', parameters: { replicas: 'two' as unknown as number, size: 'db.t3.small' } };
    const created = await api.call('POST', '/v1/applications', app);
    expect(created.status).toBe(422);
    expect(created.body.error.details).toEqual([expect.objectContaining({ path: 'spec.targets[1].parameters.replicas', rule: 'type' })]);
  });

  it('expands onto a cluster that joins the tier when written again, and removes a leaving cluster’s copies workloads first', async () => {
    const joined = await api.call('PATCH', '/v1/clusterinstances/prod-2', { metadata: { labels: { [TIER]: 'prod' } } }, { headers: { 'content-type': 'application/merge-patch+json' } });
    expect(joined.status).toBe(200);
    const current = await api.call('GET', `/v1/applications/shop?project=${P}`);
    const rewritten = await api.call('PUT', `/v1/applications/shop?project=${P}`, { kind: 'Application', metadata: { name: 'shop', project: P }, spec: current.body.spec });
    expect(rewritten.status).toBe(200);
    // Written again unchanged: same generation, but expanded onto the tier as it is now.
    expect(rewritten.body.metadata.generation).toBe(current.body.metadata.generation);
    expect((await owned('shop')).filter((o) => o.name.endsWith('prod-2')).map((o) => o.name)).toEqual(['shop-db-prod-2', 'shop-key-prod-2', 'shop-web-prod-2']);

    const left = await api.call('PATCH', '/v1/clusterinstances/prod-2', { metadata: { labels: { [TIER]: null } } }, { headers: { 'content-type': 'application/merge-patch+json' } });
    expect(left.status).toBe(200);
    // The tier's other copy (prod-1) is not Ready: prod-2's stays until it is, so prod never runs fewer Ready copies.
    const held = await api.call('POST', `/v1/applications/shop/expand?project=${P}&dryRun=true`);
    expect((held.body.results as PlanItem[]).find((r) => r.name === 'shop-web-prod-2')).toMatchObject({ action: 'deleted', waitsFor: ['WorkloadInstance/shop-web-prod-1'] });
    await api.sql(
      `update resources set status = jsonb_build_object('phase', 'Ready', 'observedGeneration', generation, 'conditions', jsonb_build_array(jsonb_build_object('type', 'Ready', 'status', 'True'))) where name = 'shop-web-prod-1'`,
    );
    const plan = await api.call('POST', `/v1/applications/shop/expand?project=${P}&dryRun=true`);
    expect(plan.status).toBe(200);
    // prod-1 Ready: prod-2's copies go at once, the workload first.
    const removals = (plan.body.results as PlanItem[]).filter((r) => r.action === 'deleted');
    expect(removals.map((r) => `${r.kind}/${r.name} ${r.waitsFor?.join(',') ?? 'now'}`)).toEqual([
      'WorkloadInstance/shop-web-prod-2 now',
      'DatabaseInstance/shop-db-prod-2 WorkloadInstance/shop-web-prod-2',
      'SecretInstance/shop-key-prod-2 WorkloadInstance/shop-web-prod-2',
    ]);
    const expanded = await api.call('POST', `/v1/applications/shop/expand?project=${P}`);
    expect(expanded.body.results).toEqual(plan.body.results.map((r: PlanItem) => r));
    // The workload is on its way out; what it uses stays until it is gone.
    expect((await owned('shop')).filter((o) => o.name.endsWith('prod-2'))).toEqual([
      { kind: 'DatabaseInstance', name: 'shop-db-prod-2', deleting: false },
      { kind: 'SecretInstance', name: 'shop-key-prod-2', deleting: false },
      { kind: 'WorkloadInstance', name: 'shop-web-prod-2', deleting: true },
    ]);
    await forceFinalizers('WorkloadInstance', 'shop-web-prod-2');
    expect((await api.call('POST', `/v1/applications/shop/expand?project=${P}`)).status).toBe(200);
    expect((await owned('shop')).filter((o) => o.name.endsWith('prod-2'))).toEqual([
      { kind: 'DatabaseInstance', name: 'shop-db-prod-2', deleting: true },
      { kind: 'SecretInstance', name: 'shop-key-prod-2', deleting: true },
    ]);
  });

  it('deletes in dependency order: the workloads first, their databases and secrets once they are gone, the Application last', async () => {
    for (const kind of ['DatabaseInstance', 'SecretInstance']) await forceFinalizers(kind, kind === 'DatabaseInstance' ? 'shop-db-prod-2' : 'shop-key-prod-2');
    const deleted = await api.call('DELETE', `/v1/applications/shop?project=${P}`);
    expect(deleted.status).toBe(202);
    expect(await owned('shop')).toEqual([
      { kind: 'DatabaseInstance', name: 'shop-db-dev', deleting: false },
      { kind: 'DatabaseInstance', name: 'shop-db-prod-1', deleting: false },
      { kind: 'SecretInstance', name: 'shop-key-dev', deleting: false },
      { kind: 'SecretInstance', name: 'shop-key-prod-1', deleting: false },
      { kind: 'WorkloadInstance', name: 'shop-web-dev', deleting: true },
      { kind: 'WorkloadInstance', name: 'shop-web-prod-1', deleting: true },
    ]);
    await forceFinalizers('WorkloadInstance', 'shop-web-dev');
    // The dev workload gone: its database and secret go; prod's still wait for prod's workload.
    expect(await owned('shop')).toEqual([
      { kind: 'DatabaseInstance', name: 'shop-db-dev', deleting: true },
      { kind: 'DatabaseInstance', name: 'shop-db-prod-1', deleting: false },
      { kind: 'SecretInstance', name: 'shop-key-dev', deleting: true },
      { kind: 'SecretInstance', name: 'shop-key-prod-1', deleting: false },
      { kind: 'WorkloadInstance', name: 'shop-web-prod-1', deleting: true },
    ]);
    await forceFinalizers('WorkloadInstance', 'shop-web-prod-1');
    for (const name of ['shop-db-dev', 'shop-db-prod-1']) await forceFinalizers('DatabaseInstance', name);
    // The secrets keep no finalizer of the API's making once released: remove what they hold.
    for (const name of ['shop-key-dev', 'shop-key-prod-1']) await forceFinalizers('SecretInstance', name);
    expect(await owned('shop')).toEqual([]);
    const app = await api.call('GET', `/v1/applications/shop?project=${P}`);
    expect(app.body.metadata.deletionRequestedAt).toBeDefined();
    await forceFinalizers('Application', 'shop');
    expect((await api.call('GET', `/v1/applications/shop?project=${P}`)).status).toBe(404);
  });

  it('moves a workload to another cluster as a migration: the old copy stays until the new one is Ready, then goes, its database after it', async () => {
    const controllerToken = (await api.call('POST', '/v1/tokens', { name: 'workload-controller', type: 'controller' })).body.token as string;
    const moving = (cluster: string) => ({
      kind: 'Application',
      metadata: { name: 'move', project: P },
      spec: {
        targets: [{ clusters: [{ name: cluster }] }],
        databases: [{ name: 'db', definitionRef: { name: 'pg' }, databaseName: 'move' }],
        workloads: [{ name: 'web', definitionRef: { name: 'hello' }, databases: [{ component: 'db', envPrefix: 'DB' }] }],
      },
    });
    expect((await api.call('POST', '/v1/apply', { items: [moving('lab-1')] })).status).toBe(200);
    const removals = (results: PlanItem[]) =>
      results.filter((r) => r.action === 'deleted').map((r) => `${r.kind}/${r.name} ${r.waitsFor?.join(',') ?? 'now'}${r.migratingTo ? ` migratingTo ${r.migratingTo}` : ''}`);

    // The explicit list swaps lab-1 for lab-2 (both in no tier): the new copy is made in this very expansion, so it is not Ready.
    const moved = await api.call('POST', '/v1/apply', { items: [moving('lab-2')] });
    expect(moved.status).toBe(200);
    expect((moved.body.results as PlanItem[]).filter((r) => r.action === 'created').map((r) => r.name)).toEqual(['move-db-lab-2', 'move-web-lab-2']);
    const waiting = ['WorkloadInstance/move-web-lab-1 WorkloadInstance/move-web-lab-2 migratingTo move-web-lab-2', 'DatabaseInstance/move-db-lab-1 WorkloadInstance/move-web-lab-1'];
    expect(removals(moved.body.results)).toEqual(waiting);
    const notDeleting = [
      { kind: 'DatabaseInstance', name: 'move-db-lab-1', deleting: false },
      { kind: 'DatabaseInstance', name: 'move-db-lab-2', deleting: false },
      { kind: 'WorkloadInstance', name: 'move-web-lab-1', deleting: false },
      { kind: 'WorkloadInstance', name: 'move-web-lab-2', deleting: false },
    ];
    expect(await owned('move')).toEqual(notDeleting);

    // Expanded again while the replacement is still rolling out: kept.
    const rollingOut = { observedGeneration: 1, phase: 'Progressing', conditions: [{ type: 'Ready', status: 'False', reason: 'RollingOut' }] };
    expect((await api.call('PUT', `/v1/workloadinstances/move-web-lab-2/status?project=${P}`, { status: rollingOut }, { token: controllerToken })).status).toBe(200);
    expect(removals((await api.call('POST', `/v1/applications/move/expand?project=${P}`)).body.results)).toEqual(waiting);
    expect(await owned('move')).toEqual(notDeleting);

    // Ready on prod-1: the next expansion removes the dev copy; its database waits for it to be gone.
    const ready = { observedGeneration: 1, phase: 'Ready', conditions: [{ type: 'Ready', status: 'True', reason: 'Ready' }] };
    expect((await api.call('PUT', `/v1/workloadinstances/move-web-lab-2/status?project=${P}`, { status: ready }, { token: controllerToken })).status).toBe(200);
    const plan = await api.call('POST', `/v1/applications/move/expand?project=${P}&dryRun=true`);
    expect(removals(plan.body.results)).toEqual(['WorkloadInstance/move-web-lab-1 now', 'DatabaseInstance/move-db-lab-1 WorkloadInstance/move-web-lab-1']);
    const expanded = await api.call('POST', `/v1/applications/move/expand?project=${P}`);
    expect(expanded.body.results).toEqual(plan.body.results);
    expect((await owned('move')).filter((o) => o.name.endsWith('-lab-1'))).toEqual([
      { kind: 'DatabaseInstance', name: 'move-db-lab-1', deleting: false },
      { kind: 'WorkloadInstance', name: 'move-web-lab-1', deleting: true },
    ]);
    await forceFinalizers('WorkloadInstance', 'move-web-lab-1');
    expect(removals((await api.call('POST', `/v1/applications/move/expand?project=${P}`)).body.results)).toEqual(['DatabaseInstance/move-db-lab-1 now']);
    expect((await owned('move')).filter((o) => o.name.endsWith('-lab-1'))).toEqual([{ kind: 'DatabaseInstance', name: 'move-db-lab-1', deleting: true }]);
  });
});
