/**
 * DatabaseDefinition and DatabaseInstance at write time, in-process against real Postgres and
 * NATS: an instance outside its definition (version, class, storage range) or placed nowhere or
 * twice is a 422 naming the field and the rule; a shrink, a downgrade or a move is refused on
 * update, not left to fail in RDS later; a parameter the definition does not allow is a 422; a
 * definition change that would strand an instance (its versions, classes, parameters) is a
 * 409 naming it; a definition's own inconsistency is a 422.
 */
import { startTestApi, type TestApi } from './api-test-harness.js';

const MERGE_PATCH = { headers: { 'content-type': 'application/merge-patch+json' } };

describe('database guardrails at write time', () => {
  let api: TestApi;
  const details = (body: unknown) => ((body as { error?: { details?: Array<{ path: string; rule: string }> } }).error?.details ?? []).map((d) => `${d.path}:${d.rule}`);

  beforeAll(async () => {
    api = await startTestApi({ projects: ['shop'] });
    const created = await Promise.all([
      api.call('POST', '/v1/databasedefinitions', {
        metadata: { name: 'postgres-small' },
        spec: {
          engine: 'postgres',
          allowedVersions: ['16.4', '16.6', '17.2'],
          allowedInstanceClasses: ['db.t3.micro', 'db.t3.small'],
          storageGb: { min: 20, max: 100 },
          deletionPolicy: 'snapshot',
          defaults: { version: '16.4', instanceClass: 'db.t3.micro', storageGb: 20 },
        },
      }),
      api.call('POST', '/v1/clusterdefinitions', { metadata: { name: 'local' }, spec: { provider: 'kubeconfig' } }),
    ]);
    expect(created.map((c) => c.status)).toEqual([201, 201]);
    expect((await api.call('POST', '/v1/clusterinstances', { metadata: { name: 'dev' }, spec: { definitionRef: { name: 'local' }, kubeconfig: 'apiVersion: v1\nkind: Config\n' } })).status).toBe(201);
  });
  afterAll(async () => {
    await api?.close();
  });

  const instance = (name: string, spec: Record<string, unknown>) => ({ metadata: { name, project: 'shop' }, spec: { definitionRef: { name: 'postgres-small' }, databaseName: 'orders', ...spec } });

  it('accepts an instance within its definition (defaults filling in), and refuses one outside it, naming the field and the rule', async () => {
    expect((await api.call('POST', '/v1/databaseinstances', instance('orders', { clusterRef: { name: 'dev' } }))).status).toBe(201);
    const outside = await api.call('POST', '/v1/databaseinstances', instance('big', { clusterRef: { name: 'dev' }, version: '15.10', instanceClass: 'db.r6g.large', storageGb: 500 }));
    expect(outside.status).toBe(422);
    expect(details(outside.body)).toEqual(['spec.version:allowedVersions', 'spec.instanceClass:allowedInstanceClasses', 'spec.storageGb:storageGb']);
    expect(JSON.stringify(outside.body)).toContain('500 is outside the definition postgres-small');

    const nowhere = await api.call('POST', '/v1/databaseinstances', instance('nowhere', {}));
    expect(nowhere.status).toBe(422);
    expect(details(nowhere.body)).toEqual(['spec.clusterRef:oneOf']);
    const twice = await api.call(
      'POST',
      '/v1/databaseinstances',
      instance('twice', { clusterRef: { name: 'dev' }, network: { accountRef: { name: 'none' }, region: 'us-east-1', subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'] } }),
    );
    expect(twice.status).toBe(422);
    // Nothing was written.
    expect((await api.call('GET', '/v1/databaseinstances?project=shop')).body).toMatchObject({ items: [expect.objectContaining({ metadata: expect.objectContaining({ name: 'orders' }) })] });
  });

  it('refuses a shrink, a downgrade and a move on update, and lets a growth and an upgrade through', async () => {
    await api.call('POST', '/v1/databaseinstances', instance('users', { clusterRef: { name: 'dev' }, version: '16.6', storageGb: 50 }));
    const shrink = await api.call('PATCH', '/v1/databaseinstances/users?project=shop', { spec: { storageGb: 40, version: '16.4', databaseName: 'other' } }, MERGE_PATCH);
    expect(shrink.status).toBe(422);
    expect(details(shrink.body)).toEqual(['spec.storageGb:no-shrink', 'spec.version:no-downgrade', 'spec.databaseName:immutable']);
    expect(JSON.stringify(shrink.body)).toContain('RDS storage only grows');
    const grow = await api.call('PATCH', '/v1/databaseinstances/users?project=shop', { spec: { storageGb: 80, version: '17.2', instanceClass: 'db.t3.small' } }, MERGE_PATCH);
    expect(grow.status).toBe(200);
  });

  it('refuses a definition change that would strand an instance (409 naming it), and an inconsistent definition (422)', async () => {
    const narrowed = await api.call('PUT', '/v1/databasedefinitions/postgres-small', {
      metadata: { name: 'postgres-small' },
      spec: { engine: 'postgres', allowedVersions: ['16.4'], allowedInstanceClasses: ['db.t3.micro', 'db.t3.small'], storageGb: { min: 20, max: 100 }, defaults: { version: '16.4', instanceClass: 'db.t3.micro', storageGb: 20 } },
    });
    expect(narrowed.status).toBe(409);
    expect(JSON.stringify(narrowed.body)).toContain('users');
    const inconsistent = await api.call('POST', '/v1/databasedefinitions', {
      metadata: { name: 'broken' },
      spec: { engine: 'mysql', allowedVersions: ['8.0.40'], allowedInstanceClasses: ['db.t3.micro'], storageGb: { min: 100, max: 20 }, applyChanges: 'maintenanceWindow', defaults: { version: '8.4.3' } },
    });
    expect(inconsistent.status).toBe(422);
    expect(details(inconsistent.body)).toEqual(['spec.storageGb.min:range', 'spec.defaults.version:allowedVersions', 'spec.maintenanceWindow:required']);
  });

  it('lets an instance set only the parameters its definition allows, and refuses a definition change that would strand one', async () => {
    const tuned = {
      engine: 'postgres',
      allowedVersions: ['16.4'],
      allowedInstanceClasses: ['db.t3.micro'],
      storageGb: { min: 20, max: 100 },
      defaults: { version: '16.4', instanceClass: 'db.t3.micro', storageGb: 20 },
      allowedParameters: ['work_mem', 'log_min_duration_statement'],
    };
    expect((await api.call('POST', '/v1/databasedefinitions', { metadata: { name: 'postgres-tuned' }, spec: tuned })).status).toBe(201);
    const tunedInstance = (name: string, parameters: Record<string, string>) => ({ metadata: { name, project: 'shop' }, spec: { definitionRef: { name: 'postgres-tuned' }, databaseName: 'app', clusterRef: { name: 'dev' }, parameters } });

    expect((await api.call('POST', '/v1/databaseinstances', tunedInstance('tuned', { work_mem: '64MB' }))).status).toBe(201);
    const refused = await api.call('POST', '/v1/databaseinstances', tunedInstance('wild', { work_mem: '64MB', shared_buffers: '1GB' }));
    expect(refused.status).toBe(422);
    expect(details(refused.body)).toEqual(['spec.parameters.shared_buffers:allowedParameters']);
    expect(JSON.stringify(refused.body)).toContain('work_mem, log_min_duration_statement');
    // The schema: names by the pattern, values strings.
    const badName = await api.call('POST', '/v1/databaseinstances', tunedInstance('badname', { 'Work-Mem': '64MB' }));
    expect(badName.status).toBe(422);
    const badValue = await api.call('POST', '/v1/databaseinstances', { ...tunedInstance('badvalue', {}), spec: { ...tunedInstance('badvalue', {}).spec, parameters: { work_mem: 64 } } });
    expect(badValue.status).toBe(422);
    // On update too.
    const patched = await api.call('PATCH', '/v1/databaseinstances/tuned?project=shop', { spec: { parameters: { max_connections: '500' } } }, MERGE_PATCH);
    expect(patched.status).toBe(422);
    expect(details(patched.body)).toEqual(['spec.parameters.max_connections:allowedParameters']);
    // A definition without work_mem would strand `tuned`.
    const stranding = await api.call('PUT', '/v1/databasedefinitions/postgres-tuned', { metadata: { name: 'postgres-tuned' }, spec: { ...tuned, allowedParameters: ['log_min_duration_statement'] } });
    expect(stranding.status).toBe(409);
    expect(JSON.stringify(stranding.body)).toContain('tuned');
    const widened = await api.call('PUT', '/v1/databasedefinitions/postgres-tuned', { metadata: { name: 'postgres-tuned' }, spec: { ...tuned, allowedParameters: ['work_mem', 'log_min_duration_statement', 'max_connections'] } });
    expect(widened.status).toBe(200);
  });
});
