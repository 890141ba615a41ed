/**
 * Migration 0005 on data the API wrote before it: a ClusterInstance with `existing.kubeconfig`
 * (sealed under that path) and the infra-controller's finalizer, and its ClusterDefinition without
 * a provider. After the migration the API reads the kubeconfig back at `kubeconfig`, the finalizer
 * is the cluster-controller's, and the definition has provider `kubeconfig`.
 */
import { randomBytes } from 'node:crypto';
import { migrations } from '@tugboat/migrations';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { startTestApi, TEST_DATABASE_URL, type TestApi } from './api-test-harness.js';
import { createSecretBox, secretContext, storedSecretContext } from './secret-box.js';

const KUBECONFIG = 'apiVersion: v1\nkind: Config\nclusters: []\n';

describe('migration 0005 (ClusterInstance to the cluster-controller)', () => {
  const key = { id: 'mig-1', key: randomBytes(32) };
  let api: TestApi;
  let db: Kysely<unknown>;

  beforeAll(async () => {
    api = await startTestApi({ secretKeys: [key] });
    db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1, options: `-c search_path=${api.schema}` }) }) });
  });
  afterAll(async () => {
    await db?.destroy();
    await api?.close();
  });

  it('moves existing.kubeconfig to kubeconfig (still readable), hands the finalizer over and sets the definitions provider', async () => {
    const kubeconfigDefinition = await api.call('POST', '/v1/clusterdefinitions', { metadata: { name: 'adopted' }, spec: { provider: 'kubeconfig' } });
    await api.call('POST', '/v1/clusterdefinitions', { metadata: { name: 'aws' }, spec: { provider: 'eks', allowedVersions: ['1.31'], allowedRegions: ['eu-west-1'], allowedNodeSizes: ['m5.large'] } });
    const cluster = await api.call('POST', '/v1/clusterinstances', { metadata: { name: 'old' }, spec: { definitionRef: { name: 'adopted' }, kubeconfig: KUBECONFIG } });
    expect([kubeconfigDefinition.status, cluster.status]).toEqual([201, 201]);
    const uid: string = cluster.body.metadata.uid;

    // Put the rows back in the shape written before 0005: the secret sealed under `existing.kubeconfig`.
    const sealed = createSecretBox({ keys: [key] }).seal(KUBECONFIG, secretContext(uid, 'existing.kubeconfig'));
    await api.sql(
      `update resources set spec = (spec - 'kubeconfig') || '{"existing": {"kubeconfig": "<redacted>"}}'::jsonb, secrets = jsonb_build_object('existing.kubeconfig', $2::jsonb),
       finalizers = '{infra-controller}' where uid = $1`,
      [uid, JSON.stringify(sealed)],
    );
    await api.sql(`update resources set spec = spec - 'provider' where kind = 'ClusterDefinition'`);

    await migrations['0005_cluster_controller']!.up(db);
    const token: string = (await api.call('POST', '/v1/tokens', { name: 'cluster', type: 'controller', controller: 'cluster-controller' })).body.token;
    const secrets = async () => (await api.call('GET', '/v1/clusterinstances/old/secrets', undefined, { token })).body;

    const [row] = await api.sql(`select spec, finalizers, secrets ? 'kubeconfig' as moved from resources where uid = $1`, [uid]);
    expect(row).toEqual({ spec: { definitionRef: { name: 'adopted' }, kubeconfig: '<redacted>' }, finalizers: ['cluster-controller'], moved: true });
    expect(await secrets()).toEqual({ kubeconfig: KUBECONFIG });
    const providers = await api.sql(`select name, spec->>'provider' as provider from resources where kind = 'ClusterDefinition' order by name`);
    expect(providers).toEqual([
      { name: 'adopted', provider: 'kubeconfig' },
      { name: 'aws', provider: 'eks' },
    ]);

    // The re-seal pass moves it to its own path (same key, no sealedAt), the object untouched.
    const [beforeReseal] = await api.sql(`select resource_version from resources where uid = $1`, [uid]);
    expect(await api.server.secretReseal.reseal()).toMatchObject({ rowsResealed: 1, valuesResealed: 1, rowsChanged: 0 });
    const [afterReseal] = await api.sql(`select resource_version, secrets->'kubeconfig' ? 'sealedAt' as legacy from resources where uid = $1`, [uid]);
    expect(afterReseal).toEqual({ resource_version: beforeReseal.resource_version, legacy: false });
    expect(await secrets()).toEqual({ kubeconfig: KUBECONFIG });
    await api.sql(`update resources set secrets = jsonb_build_object('kubeconfig', $2::jsonb) where uid = $1`, [uid, JSON.stringify({ ...sealed, sealedAt: 'existing.kubeconfig' })]);

    // The moved secret keeps working through writes: an unchanged re-apply keeps it, a new value re-seals it at its path.
    const again = await api.call('POST', '/v1/apply', { items: [{ kind: 'ClusterInstance', metadata: { name: 'old' }, spec: { definitionRef: { name: 'adopted' }, kubeconfig: KUBECONFIG } }] });
    expect(again.body.results[0].action).toBe('unchanged');
    const changed = `${KUBECONFIG}# rotated\n`;
    expect((await api.call('PATCH', '/v1/clusterinstances/old', { spec: { kubeconfig: changed } }, { headers: { 'content-type': 'application/merge-patch+json' } })).status).toBe(200);
    expect(await secrets()).toEqual({ kubeconfig: changed });
    const [resealed] = await api.sql(`select secrets->'kubeconfig' ? 'sealedAt' as legacy from resources where uid = $1`, [uid]);
    expect(resealed.legacy).toBe(false);
  });

  it('honours sealedAt only for the one move it made', async () => {
    const box = createSecretBox({ keys: [key] });
    const uid = '00000000-0000-4000-8000-000000000001';
    const moved = { ...box.seal('x', secretContext(uid, 'existing.kubeconfig')), sealedAt: 'existing.kubeconfig' };
    expect(box.open(moved, storedSecretContext(uid, 'kubeconfig', moved))).toBe('x');
    // The same box claimed for another field opens with that field's own context, and fails.
    expect(() => box.open(moved, storedSecretContext(uid, 'password', moved))).toThrow();
  });
});
