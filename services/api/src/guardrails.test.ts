/**
 * Definition guardrails enforced at write time, in-process against real Postgres and NATS: an
 * instance outside its definition is refused (422 naming the field and the rule) on create,
 * replace, patch and apply, and a dry run shows the verdict; a definition change that would put
 * instances outside it is refused (409 naming them); a project's default cluster is written into
 * an instance that names none, and a project has at most one.
 */
import { startTestApi, type TestApi } from './api-test-harness.js';

const KUBECONFIG = 'apiVersion: v1\nkind: Config\n';

describe('guardrails at write time', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi();
    const created = await Promise.all([
      api.call('POST', '/v1/workloaddefinitions', { metadata: { name: 'web-service' }, spec: { maxReplicas: 10, allowedImageRegistries: ['docker.io', 'ghcr.io', 'localhost:5000'] } }),
      api.call('POST', '/v1/clusterdefinitions', { metadata: { name: 'local' }, spec: { provider: 'kubeconfig' } }),
      api.call('POST', '/v1/clusterdefinitions', {
        metadata: { name: 'eks-small' },
        spec: { provider: 'eks', allowedVersions: ['1.30', '1.31'], allowedRegions: ['eu-west-1'], allowedNodeSizes: ['t3.medium'], maxNodesPerGroup: 5 },
      }),
    ]);
    expect(created.map((c) => c.status)).toEqual([201, 201, 201]);
    expect((await api.call('POST', '/v1/clusterinstances', { metadata: { name: 'dev' }, spec: { definitionRef: { name: 'local' }, kubeconfig: KUBECONFIG } })).status).toBe(201);
  });
  afterAll(async () => {
    await api?.close();
  });

  const workload = (name: string, spec: Record<string, unknown>, project = 'team-a') => ({
    metadata: { name, project },
    spec: { definitionRef: { name: 'web-service' }, clusterRef: { name: 'dev' }, image: 'nginx:1.27', ...spec },
  });

  it('refuses replicas above maxReplicas and images from registries the definition does not allow, naming the field and the rule', async () => {
    const tooMany = await api.call('POST', '/v1/workloadinstances', workload('many', { replicas: 50 }));
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.error.details).toEqual([{ path: 'spec.replicas', rule: 'maxReplicas', message: '50 is more than the definition web-service allows (10)' }]);
    expect(tooMany.body.error.message).toContain('spec.replicas: 50 is more than the definition web-service allows (10)');

    const quay = await api.call('POST', '/v1/workloadinstances', workload('quay', { image: 'quay.io/org/app:1' }));
    expect(quay.status).toBe(422);
    expect(quay.body.error.details).toEqual([{ path: 'spec.image', rule: 'allowedImageRegistries', message: expect.stringContaining('registry quay.io') }]);

    // Registries resolved as Docker does: no registry part is docker.io, a host with a port is a registry.
    for (const [name, image] of [['plain', 'nginx'], ['hub', 'nginxdemos/hello:0.4'], ['ghcr', 'ghcr.io/x/y:1'], ['local', 'localhost:5000/x']]) {
      expect((await api.call('POST', '/v1/workloadinstances', workload(name!, { image, replicas: 10 }))).status).toBe(201);
    }
    // A name that is not a registry host (no dot, colon or localhost) is a Docker Hub user, not a registry.
    expect((await api.call('POST', '/v1/workloadinstances', workload('hubuser', { image: 'ghcr/app:1' }))).status).toBe(201);
    const bad = await api.call('POST', '/v1/workloadinstances', workload('bad', { image: 'Not An Image' }));
    expect(bad.body.error.details).toEqual([{ path: 'spec.image', rule: 'image-reference', message: expect.stringContaining('lowercase') }]);

    // Replace and merge patch are held to the same rules.
    const replaced = await api.call('PUT', '/v1/workloadinstances/plain?project=team-a', workload('plain', { replicas: 11 }));
    expect(replaced.status).toBe(422);
    expect(replaced.body.error.details[0]).toMatchObject({ path: 'spec.replicas', rule: 'maxReplicas' });
    const patched = await api.call('PATCH', '/v1/workloadinstances/plain?project=team-a', { spec: { image: 'quay.io/x:1' } }, { headers: { 'content-type': 'application/merge-patch+json' } });
    expect(patched.status).toBe(422);
    expect(patched.body.error.details[0]).toMatchObject({ path: 'spec.image', rule: 'allowedImageRegistries' });
    const [{ count }] = await api.sql(`select count(*)::int as count from resources where kind = 'WorkloadInstance' and name in ('many', 'quay', 'bad')`);
    expect(count).toBe(0);
  });

  it('shows the verdicts in a dry-run plan, and a bundle with a refused object writes nothing', async () => {
    const bundle = { items: [workload('planned', { replicas: 50 }), workload('fine', {})].map((o) => ({ kind: 'WorkloadInstance', ...o })) };
    const plan = await api.call('POST', '/v1/apply?dryRun=true', bundle);
    expect(plan.status).toBe(200);
    expect(plan.body.results.map((r: { name: string; action: string }) => `${r.name}:${r.action}`)).toEqual(['planned:blocked', 'fine:created']);
    expect(plan.body.results[0].reasons).toEqual([{ path: 'spec.replicas', rule: 'maxReplicas', message: '50 is more than the definition web-service allows (10)' }]);
    const applied = await api.call('POST', '/v1/apply', bundle);
    expect(applied.status).toBe(422);
    expect(applied.body.error.details).toEqual([{ path: 'WorkloadInstance/team-a/planned: spec.replicas', rule: 'maxReplicas' }]);
    expect(await api.sql(`select name from resources where kind = 'WorkloadInstance' and name in ('planned', 'fine')`)).toEqual([]);
  });

  it('checks a cluster against its provider and the EKS limits of its definition', async () => {
    const cluster = async (name: string, spec: Record<string, unknown>) => api.call('POST', '/v1/clusterinstances', { metadata: { name }, spec });
    const noKubeconfig = await cluster('k1', { definitionRef: { name: 'local' }, region: 'eu-west-1' });
    expect(noKubeconfig.status).toBe(422);
    expect(noKubeconfig.body.error.details.map((d: { path: string; rule: string }) => `${d.path} ${d.rule}`)).toEqual(['spec.kubeconfig provider', 'spec.region provider']);

    const eks = await cluster('e1', { definitionRef: { name: 'eks-small' }, kubeconfig: KUBECONFIG, context: 'x', version: '1.29', region: 'us-east-1', nodeGroups: [{ name: 'a', instanceType: 'm5.large', minSize: 1, maxSize: 6 }] });
    expect(eks.status).toBe(422);
    expect(eks.body.error.details.map((d: { path: string; rule: string }) => `${d.path} ${d.rule}`)).toEqual([
      'spec.kubeconfig provider',
      'spec.context provider',
      'spec.version allowedVersions',
      'spec.region allowedRegions',
      'spec.nodeGroups[0].instanceType allowedNodeSizes',
      'spec.nodeGroups[0].maxSize maxNodesPerGroup',
    ]);
    expect(eks.body.error.details[2].message).toBe('1.29 is not one the definition eks-small allows (1.30, 1.31)');
    expect((await cluster('e2', { definitionRef: { name: 'eks-small' }, version: '1.31', region: 'eu-west-1', nodeGroups: [{ name: 'a', instanceType: 't3.medium', minSize: 1, maxSize: 5 }] })).status).toBe(201);

    // A definition's defaults must sit within its own lists.
    const selfBroken = await api.call('POST', '/v1/clusterdefinitions', { metadata: { name: 'odd' }, spec: { provider: 'eks', allowedVersions: ['1.30'], allowedRegions: ['eu-west-1'], allowedNodeSizes: ['t3.medium'], defaults: { version: '1.31' } } });
    expect(selfBroken.status).toBe(422);
    expect(selfBroken.body.error.details).toEqual([{ path: 'spec.defaults.version', rule: 'allowedVersions', message: '1.31 is not one this definition allows (1.30)' }]);
    // The schema's if/then: an eks definition needs its lists, a kubeconfig one does not.
    const missingLists = await api.call('POST', '/v1/clusterdefinitions', { metadata: { name: 'bare' }, spec: { provider: 'eks' } });
    expect(missingLists.status).toBe(422);
    expect(missingLists.body.error.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(['spec.allowedVersions', 'spec.allowedRegions', 'spec.allowedNodeSizes']));
  });

  it('refuses a definition change that would put instances outside it (409 naming them), and lets one through that keeps them within', async () => {
    await api.call('POST', '/v1/workloaddefinitions', { metadata: { name: 'tight' }, spec: { maxReplicas: 8 } });
    for (const [name, replicas] of [['t-a', 8], ['t-b', 3], ['t-c', 6]] as const) {
      expect((await api.call('POST', '/v1/workloadinstances', workload(name, { definitionRef: { name: 'tight' }, replicas }))).status).toBe(201);
    }
    const lowered = await api.call('PUT', '/v1/workloaddefinitions/tight', { metadata: { name: 'tight' }, spec: { maxReplicas: 5 } });
    expect(lowered.status).toBe(409);
    expect(lowered.body.error.details).toEqual([
      { path: 'WorkloadInstance/team-a/t-a:spec.replicas', rule: 'maxReplicas', message: '8 is more than the definition tight allows (5)' },
      { path: 'WorkloadInstance/team-a/t-c:spec.replicas', rule: 'maxReplicas', message: '6 is more than the definition tight allows (5)' },
    ]);
    expect(lowered.body.error.message).toContain('would put 2 existing WorkloadInstances outside its rules');
    const registries = await api.call('PATCH', '/v1/workloaddefinitions/tight', { spec: { allowedImageRegistries: ['ghcr.io'] } }, { headers: { 'content-type': 'application/merge-patch+json' } });
    expect(registries.status).toBe(409);
    expect(registries.body.error.details).toHaveLength(3);
    expect((await api.call('GET', '/v1/workloaddefinitions/tight')).body.spec).toEqual({ maxReplicas: 8 });
    expect((await api.call('PUT', '/v1/workloaddefinitions/tight', { metadata: { name: 'tight' }, spec: { maxReplicas: 9 } })).status).toBe(200);

    // One bundle may tighten the definition and bring its instances within it together.
    const together = await api.call('POST', '/v1/apply', {
      items: [
        { kind: 'WorkloadDefinition', metadata: { name: 'tight' }, spec: { maxReplicas: 5 } },
        { kind: 'WorkloadInstance', ...workload('t-a', { definitionRef: { name: 'tight' }, replicas: 5 }) },
        { kind: 'WorkloadInstance', ...workload('t-c', { definitionRef: { name: 'tight' }, replicas: 2 }) },
      ],
    });
    expect(together.status).toBe(200);

    // A cluster definition's provider cannot change under its clusters.
    const provider = await api.call('PATCH', '/v1/clusterdefinitions/local', { spec: { provider: 'eks', allowedVersions: ['1.31'], allowedRegions: ['eu-west-1'], allowedNodeSizes: ['t3.medium'] } }, { headers: { 'content-type': 'application/merge-patch+json' } });
    expect(provider.status).toBe(409);
    expect(provider.body.error.details).toEqual([{ path: 'ClusterInstance/_/dev:spec.kubeconfig', rule: 'provider', message: 'is for kubeconfig clusters; the definition local has provider eks' }]);
  });

  it('names at most 10 instances in a refused definition change', async () => {
    await api.call('POST', '/v1/workloaddefinitions', { metadata: { name: 'many' }, spec: {} });
    await api.call('POST', '/v1/apply', { items: Array.from({ length: 12 }, (_, i) => ({ kind: 'WorkloadInstance', ...workload(`m-${String(i).padStart(2, '0')}`, { definitionRef: { name: 'many' }, replicas: 4 }) })) });
    const refused = await api.call('PUT', '/v1/workloaddefinitions/many', { metadata: { name: 'many' }, spec: { maxReplicas: 3 } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.details).toHaveLength(10);
    expect(refused.body.error.message).toContain('would put 12 existing WorkloadInstances outside its rules (the first 10 named)');
  });

  it('writes the project default cluster into an instance that names none, keeps it on update, and allows one default per project', async () => {
    const noDefault = await api.call('POST', '/v1/workloadinstances', workload('orphan', { clusterRef: undefined }, 'team-z'));
    expect(noDefault.status).toBe(422);
    expect(noDefault.body.error.details).toEqual([{ path: 'spec.clusterRef', rule: 'required', message: expect.stringContaining('no ClusterInstance is the default for project team-z') }]);

    const make = (name: string, defaultFor: string[]) =>
      api.call('POST', '/v1/clusterinstances', { metadata: { name }, spec: { definitionRef: { name: 'local' }, kubeconfig: KUBECONFIG, defaultFor } });
    expect((await make('z-one', ['team-z', 'team-y'])).status).toBe(201);
    const clash = await make('z-two', ['team-z']);
    expect(clash.status).toBe(409);
    expect(clash.body.error.details).toEqual([{ path: 'spec.defaultFor', rule: 'one-default', message: 'ClusterInstance/_/z-one is already the default (defaultFor: team-z, team-y)' }]);
    expect(clash.body.error.message).toContain('ClusterInstance "z-one" is already the default cluster for project team-z');
    // "*" counts for every project, both ways.
    expect((await make('z-star', ['*'])).status).toBe(409);
    expect((await make('z-other', ['team-x'])).status).toBe(201);

    const placed = await api.call('POST', '/v1/workloadinstances', workload('placed', { clusterRef: undefined }, 'team-z'));
    expect(placed.status).toBe(201);
    expect(placed.body.spec.clusterRef).toEqual({ name: 'z-one' });
    // The reference is explicit: the cluster's delete names the workload.
    const blocked = await api.call('DELETE', '/v1/clusterinstances/z-one');
    expect(blocked.status).toBe(409);
    expect(blocked.body.error.details).toEqual([{ path: 'WorkloadInstance/team-z/placed', rule: 'in-use' }]);

    // Moving the default does not move an instance re-applied without a cluster.
    expect((await api.call('PATCH', '/v1/clusterinstances/z-one', { spec: { defaultFor: ['team-y'] } }, { headers: { 'content-type': 'application/merge-patch+json' } })).status).toBe(200);
    expect((await api.call('PATCH', '/v1/clusterinstances/z-other', { spec: { defaultFor: ['team-x', 'team-z'] } }, { headers: { 'content-type': 'application/merge-patch+json' } })).status).toBe(200);
    const reapplied = await api.call('POST', '/v1/apply', { items: [{ kind: 'WorkloadInstance', ...workload('placed', { clusterRef: undefined }, 'team-z') }] });
    expect(reapplied.body.results[0]).toMatchObject({ action: 'unchanged' });
    expect((await api.call('GET', '/v1/workloadinstances/placed?project=team-z')).body.spec.clusterRef).toEqual({ name: 'z-one' });
    const fresh = await api.call('POST', '/v1/workloadinstances', workload('fresh', { clusterRef: undefined }, 'team-z'));
    expect(fresh.body.spec.clusterRef).toEqual({ name: 'z-other' });
  });

  it('lets only one of two concurrent writes make a cluster the default for a project', async () => {
    const results = await Promise.all(
      ['race-a', 'race-b'].map((name) => api.call('POST', '/v1/clusterinstances', { metadata: { name }, spec: { definitionRef: { name: 'local' }, kubeconfig: KUBECONFIG, defaultFor: ['team-race'] } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
  });
});
