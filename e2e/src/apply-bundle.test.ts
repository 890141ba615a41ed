/**
 * `POST /v1/apply` end to end: the real API process on real Postgres and NATS, driven through the
 * API client. A bundle given dependents-first is created in reference order; a repeat is
 * unchanged; a changed bundle is planned (dry run, nothing written — checked in the database) and
 * then applied; an invalid bundle is refused with a 422 naming object and field, nothing written.
 */
import { createApiClient, type ApiClient, type ApplyResult } from '@tugboat/api-client';
import { isErrorCode, REDACTED, type ResourceInput } from '@tugboat/resource-model';
import pg from 'pg';
import { DATABASE_URL, startApiProcess, waitUntil, type ApiProcess } from './harness/cli-processes.js';

const SECRET = 'e2e-apply-secret-value-7f3a';

function bundleYaml(options: { replicas: number; image: string }): string {
  return [
    `kind: WorkloadInstance
metadata: { name: shop, project: team-a, labels: { app: shop } }
spec: { definitionRef: { name: web }, clusterRef: { name: shared }, overrides: { image: '${options.image}', replicas: ${options.replicas} } }`,
    `kind: ClusterInstance
metadata: { name: shared }
spec: { definitionRef: { name: std }, accountRef: { name: main } }`,
    `kind: AwsAccount
metadata: { name: main }
spec: { accountId: '210987654321', region: eu-west-1, secretAccessKey: ${SECRET} }`,
    `kind: WorkloadDefinition
metadata: { name: web }
spec: { container: {}, overridable: [image, replicas], maxReplicas: 5 }`,
    `kind: ClusterDefinition
metadata: { name: std }
spec: { provider: eks, allowedVersions: ['1.31'], allowedRegions: [eu-west-1], allowedNodeSizes: [m5.large] }`,
  ].join('\n---\n');
}

describe('apply (real API process)', () => {
  let api: ApiProcess;
  let client: ApiClient;
  let db: pg.Client;

  beforeAll(async () => {
    api = await startApiProcess({ projects: ['team-a'] });
    client = createApiClient({ baseUrl: api.url, token: api.adminToken });
    db = new pg.Client({ connectionString: DATABASE_URL, options: `-c search_path=${api.schema}` });
    await db.connect();
  }, 60_000);

  afterAll(async () => {
    await db?.end();
    await api?.close();
  }, 30_000);

  /** Row counts once the relay has published what was committed (so the outbox is stable at 0). */
  async function rowCounts(): Promise<{ resources: number; revisions: number; outbox: number }> {
    const read = async () =>
      (
        await db.query<{ resources: number; revisions: number; outbox: number }>(
          `select (select count(*) from resources)::int as resources, (select count(*) from revisions)::int as revisions, (select count(*) from outbox)::int as outbox`,
        )
      ).rows[0]!;
    return waitUntil(async () => {
      const counts = await read();
      return counts.outbox === 0 ? counts : undefined;
    }, 'the outbox to drain');
  }

  const actions = (result: ApplyResult) => result.results.map((r) => `${r.kind}/${r.name}:${r.action}`);

  it('creates a bundle given in reverse order in reference order', async () => {
    const result = await client.apply(bundleYaml({ replicas: 2, image: 'shop:1' }));
    expect(actions(result)).toEqual([
      'AwsAccount/main:created',
      'WorkloadDefinition/web:created',
      'ClusterDefinition/std:created',
      'ClusterInstance/shared:created',
      'WorkloadInstance/shop:created',
    ]);
    // The commit order in the database is the reference order.
    const { rows } = await db.query<{ kind: string }>(`select kind from revisions order by id`);
    const position = (kind: string) => rows.findIndex((r) => r.kind === kind);
    expect(position('ClusterDefinition')).toBeLessThan(position('ClusterInstance'));
    expect(position('AwsAccount')).toBeLessThan(position('ClusterInstance'));
    expect(position('ClusterInstance')).toBeLessThan(position('WorkloadInstance'));
    expect(position('WorkloadDefinition')).toBeLessThan(position('WorkloadInstance'));
    expect((await client.getOrThrow({ kind: 'awsaccount', name: 'main' })).spec['secretAccessKey']).toBe(REDACTED);
  });

  it('reports unchanged on a second apply and writes nothing', async () => {
    const before = await rowCounts();
    const result = await client.apply(bundleYaml({ replicas: 2, image: 'shop:1' }));
    expect(result.results.map((r) => r.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged', 'unchanged']);
    expect(await rowCounts()).toEqual(before);
  });

  it('plans a changed bundle without writing, then applies it and reports the diff', async () => {
    const before = await rowCounts();
    const changed = bundleYaml({ replicas: 4, image: 'shop:2' });
    const plan = await client.apply(changed, { dryRun: true });
    expect(plan.dryRun).toBe(true);
    expect(actions(plan)).toContain('WorkloadInstance/shop:updated');
    const shopPlan = plan.results.find((r) => r.name === 'shop')!;
    expect(shopPlan.generation).toBe(2);
    expect(shopPlan.diff).toEqual([
      { path: 'spec.overrides.image', op: 'replace', from: 'shop:1', to: 'shop:2' },
      { path: 'spec.overrides.replicas', op: 'replace', from: 2, to: 4 },
    ]);
    // A dry run writes nothing: the same rows, revisions and (no) outbox rows; the object as it was.
    expect(await db.query(`select count(*)::int as n from outbox`).then((r) => r.rows[0].n)).toBe(0);
    expect(await rowCounts()).toEqual(before);
    expect((await client.getOrThrow({ kind: 'app', project: 'team-a', name: 'shop' })).spec).toMatchObject({ overrides: { image: 'shop:1', replicas: 2 } });

    const applied = await client.apply(changed);
    expect(applied.dryRun).toBe(false);
    expect(applied.results.find((r) => r.name === 'shop')).toEqual({ ...shopPlan });
    const shop = await client.getOrThrow({ kind: 'WorkloadInstance', project: 'team-a', name: 'shop' });
    expect(shop.metadata.generation).toBe(2);
    expect(shop.spec).toMatchObject({ namespace: 'team-a-shop', overrides: { image: 'shop:2', replicas: 4 } });
    const after = await rowCounts();
    expect(after).toEqual({ ...before, revisions: before.revisions + 1 });
    const diff = await client.revisionDiff({ kind: 'WorkloadInstance', project: 'team-a', name: 'shop' }, { from: Number((await client.revisions({ kind: 'wi', project: 'team-a', name: 'shop' }))[1]!.revision) });
    expect(diff.diff).toEqual(shopPlan.diff);
  });

  it('refuses an invalid bundle with a 422 naming object and field, and writes nothing', async () => {
    const before = await rowCounts();
    const invalid: ResourceInput[] = [
      { kind: 'WorkloadInstance', metadata: { name: 'extra', project: 'team-a' }, spec: { definitionRef: { name: 'web' }, clusterRef: { name: 'shared' }, overrides: { image: 'x:1' } } },
      { kind: 'WorkloadInstance', metadata: { name: 'shop', project: 'team-a' }, spec: { definitionRef: { name: 'web' }, clusterRef: { name: 'shared' }, overrides: { image: 'shop:3', replicas: 5000 } } },
      { kind: 'WorkloadInstance', metadata: { name: 'orphan', project: 'team-a' }, spec: { definitionRef: { name: 'web' }, clusterRef: { name: 'missing' }, overrides: { image: 'x:1' } } },
    ];
    const error = await client.apply(invalid).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isErrorCode(error, 'InvalidInput')).toBe(true);
    expect((error as { status: number }).status).toBe(422);
    expect((error as { details: unknown[] }).details).toEqual([
      { path: 'WorkloadInstance/team-a/shop: spec.overrides.replicas', rule: 'maximum' },
      { path: 'WorkloadInstance/team-a/orphan: spec.clusterRef.name', rule: 'reference' },
    ]);
    expect(await rowCounts()).toEqual(before);
    expect(await client.get({ kind: 'WorkloadInstance', project: 'team-a', name: 'extra' })).toBeUndefined();
    expect((await client.getOrThrow({ kind: 'WorkloadInstance', project: 'team-a', name: 'shop' })).spec['overrides']).toMatchObject({ image: 'shop:2' });
  });
});
