import { expandApplication } from '@tugboat/applications';
import type { Resource, ResourceStatus } from '@tugboat/resource-model';
import { needsExpansion } from './reconcile-application.js';

const spec = {
  targets: [{ tier: 'prod' }],
  databases: [{ name: 'db', definitionRef: { name: 'pg' }, databaseName: 'shop' }],
  workloads: [{ name: 'web', definitionRef: { name: 'hello' }, databases: [{ component: 'db', envPrefix: 'DB' }] }],
};
const expand = (...clusters: string[]) => expandApplication({ name: 'shop', project: 'p', spec }, clusters.map((name) => ({ name, labels: { 'tugboat.dev/tier': 'prod' } })));

function owned(kind: string, cluster: string, deleting = false, extra: { status?: ResourceStatus } = {}): Resource {
  const component = kind === 'WorkloadInstance' ? 'web' : 'db';
  const name = `shop-${component}-${cluster}`;
  const createdAt = '2026-01-01T00:00:00Z';
  return {
    apiVersion: 'tugboat.dev/v1',
    kind,
    metadata: {
      name,
      project: 'p',
      uid: name,
      labels: { 'tugboat.dev/cluster': cluster, 'tugboat.dev/component': component, 'tugboat.dev/tier': 'prod' },
      generation: 1,
      resourceVersion: '1',
      finalizers: [],
      createdAt,
      updatedAt: createdAt,
      ...(deleting ? { deletionRequestedAt: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: {},
    status: extra.status ?? {},
  } as Resource;
}

const READY: ResourceStatus = { phase: 'Ready', observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: '', lastTransitionTime: '' }] };
const ROLLING_OUT: ResourceStatus = { phase: 'Progressing', observedGeneration: 1, conditions: [{ type: 'Ready', status: 'False', reason: 'RollingOut', message: '', lastTransitionTime: '' }] };

describe('needsExpansion', () => {
  it('is false when what is owned is what the expansion wants', () => {
    expect(needsExpansion(expand('a'), [owned('DatabaseInstance', 'a'), owned('WorkloadInstance', 'a')])).toBe(false);
  });

  it('is true when a cluster joined the tier (a wanted copy is missing)', () => {
    expect(needsExpansion(expand('a', 'b'), [owned('DatabaseInstance', 'a'), owned('WorkloadInstance', 'a')])).toBe(true);
  });

  it('is true when a cluster left: its workload is not yet being deleted (the tier’s other copies Ready)', () => {
    expect(needsExpansion(expand('a'), [owned('DatabaseInstance', 'a'), owned('WorkloadInstance', 'a', false, { status: READY }), owned('DatabaseInstance', 'b'), owned('WorkloadInstance', 'b')])).toBe(true);
  });

  it('waits while the leaving cluster’s workload is still there, and asks again once it is gone', () => {
    const kept = [owned('DatabaseInstance', 'a'), owned('WorkloadInstance', 'a', false, { status: READY })];
    expect(needsExpansion(expand('a'), [...kept, owned('DatabaseInstance', 'b'), owned('WorkloadInstance', 'b', true)])).toBe(false);
    expect(needsExpansion(expand('a'), [...kept, owned('DatabaseInstance', 'b')])).toBe(true);
    expect(needsExpansion(expand('a'), [...kept, owned('DatabaseInstance', 'b', true)])).toBe(false);
  });

  describe('a workload moving from cluster a to c (c joined the tier, a left it)', () => {
    const old = [owned('DatabaseInstance', 'a', false, { status: READY }), owned('WorkloadInstance', 'a', false, { status: READY })];

    it('does not ask while the replacement is not Ready (the expansion would keep the old copy)', () => {
      const replacement = [owned('DatabaseInstance', 'c', false, { status: READY }), owned('WorkloadInstance', 'c', false, { status: ROLLING_OUT })];
      expect(needsExpansion(expand('c'), [...old, ...replacement])).toBe(false);
      // Ready but at an older generation is not Ready yet.
      const stale = owned('WorkloadInstance', 'c', false, { status: { ...READY, observedGeneration: 0 } });
      expect(needsExpansion(expand('c'), [...old, replacement[0]!, stale])).toBe(false);
    });

    it('asks once the replacement is Ready, and then for the old database once the old workload is gone', () => {
      const replacement = [owned('DatabaseInstance', 'c', false, { status: READY }), owned('WorkloadInstance', 'c', false, { status: READY })];
      expect(needsExpansion(expand('c'), [...old, ...replacement])).toBe(true);
      expect(needsExpansion(expand('c'), [old[0]!, owned('WorkloadInstance', 'a', true), ...replacement])).toBe(false);
      expect(needsExpansion(expand('c'), [old[0]!, ...replacement])).toBe(true);
    });

    it('asks at once when the tier keeps no copy of the component (the Application just leaves it)', () => {
      const other = { ...spec, targets: [{ tier: 'prod' }, { tier: 'dev' }] };
      const expansion = expandApplication({ name: 'shop', project: 'p', spec: other }, [{ name: 'd', labels: { 'tugboat.dev/tier': 'dev' } }]);
      expect(needsExpansion(expansion, [...old])).toBe(true);
    });
  });
});
