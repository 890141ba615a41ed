import { expandApplication } from '@tugboat/applications';
import type { Resource } from '@tugboat/resource-model';
import { needsExpansion } from './reconcile-application.js';

const spec = {
  targets: [{ tier: 'prod' }],
  databases: [{ name: 'db', definitionRef: { name: 'pg' }, databaseName: 'shop' }],
  workloads: [{ name: 'web', definitionRef: { name: 'hello' }, databases: [{ component: 'db', envPrefix: 'DB' }] }],
};
const expand = (...clusters: string[]) => expandApplication({ name: 'shop', project: 'p', spec }, clusters.map((name) => ({ name, labels: { 'tugboat.dev/tier': 'prod' } })));

function owned(kind: string, cluster: string, deleting = false): Resource {
  const name = `shop-${kind === 'WorkloadInstance' ? 'web' : 'db'}-${cluster}`;
  return {
    apiVersion: 'tugboat.dev/v1',
    kind,
    metadata: { name, project: 'p', uid: name, labels: { 'tugboat.dev/cluster': cluster }, generation: 1, resourceVersion: '1', finalizers: [], createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', ...(deleting ? { deletionRequestedAt: '2026-01-01T00:00:00Z' } : {}) },
    spec: {},
    status: {},
  } as Resource;
}

describe('needsExpansion', () => {
  it('is false when what is owned is what the expansion wants', () => {
    expect(needsExpansion(expand('a'), [owned('DatabaseInstance', 'a'), owned('WorkloadInstance', 'a')])).toBe(false);
  });

  it('is true when a cluster joined the tier (a wanted copy is missing)', () => {
    expect(needsExpansion(expand('a', 'b'), [owned('DatabaseInstance', 'a'), owned('WorkloadInstance', 'a')])).toBe(true);
  });

  it('is true when a cluster left: its workload is not yet being deleted', () => {
    expect(needsExpansion(expand('a'), [owned('DatabaseInstance', 'a'), owned('WorkloadInstance', 'a'), owned('DatabaseInstance', 'b'), owned('WorkloadInstance', 'b')])).toBe(true);
  });

  it('waits while the leaving cluster’s workload is still there, and asks again once it is gone', () => {
    const kept = [owned('DatabaseInstance', 'a'), owned('WorkloadInstance', 'a')];
    expect(needsExpansion(expand('a'), [...kept, owned('DatabaseInstance', 'b'), owned('WorkloadInstance', 'b', true)])).toBe(false);
    expect(needsExpansion(expand('a'), [...kept, owned('DatabaseInstance', 'b')])).toBe(true);
    expect(needsExpansion(expand('a'), [...kept, owned('DatabaseInstance', 'b', true)])).toBe(false);
  });
});
