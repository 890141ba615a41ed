import type { Resource, ResourceStatus } from '@tugboat/resource-model';
import { applicationStatusTree, formatApplicationTree } from './application-status.js';
import { expandApplication } from './expand-application.js';

const expansion = expandApplication(
  {
    name: 'shop',
    project: 'team-a',
    spec: {
      targets: [{ tier: 'dev' }, { tier: 'prod' }],
      databases: [{ name: 'db', definitionRef: { name: 'pg' }, databaseName: 'shop' }],
      workloads: [{ name: 'web', definitionRef: { name: 'hello' }, databases: [{ component: 'db', envPrefix: 'DB' }] }],
    },
  },
  [
    { name: 'dev', labels: { 'tugboat.dev/tier': 'dev' } },
    { name: 'prod', labels: { 'tugboat.dev/tier': 'prod' } },
  ],
);

function child(kind: string, name: string, status: ResourceStatus, extra: Partial<Resource['metadata']> = {}): Resource {
  return {
    apiVersion: 'tugboat.dev/v1',
    kind,
    metadata: { name, project: 'team-a', uid: name, labels: {}, generation: 1, resourceVersion: '1', finalizers: [], ...extra } as Resource['metadata'],
    spec: {},
    status,
  };
}

const ready = (reason = 'Ready'): ResourceStatus => ({ observedGeneration: 1, phase: 'Ready', conditions: [{ type: 'Ready', status: 'True', reason, message: '', lastTransitionTime: '' }] });

describe('applicationStatusTree', () => {
  it('is Ready when every copy on every cluster is', () => {
    const owned = ['dev', 'prod'].flatMap((c) => [child('DatabaseInstance', `shop-db-${c}`, ready()), child('WorkloadInstance', `shop-web-${c}`, ready())]);
    const tree = applicationStatusTree(expansion, owned);
    expect(tree.phase).toBe('Ready');
    expect(tree.clusters.map((c) => `${c.cluster} ${c.tier} ${c.phase} ${c.components.map((x) => x.phase).join(',')}`)).toEqual(['dev dev Ready Ready,Ready', 'prod prod Ready Ready,Ready']);
  });

  it('names the first thing that is not Ready and why, a missing copy and an older generation included', () => {
    const waiting: ResourceStatus = { observedGeneration: 1, phase: 'Progressing', conditions: [{ type: 'Ready', status: 'False', reason: 'WaitingForDatabases', message: 'waiting for shop-db-prod', lastTransitionTime: '' }] };
    const owned = [child('DatabaseInstance', 'shop-db-dev', ready()), child('WorkloadInstance', 'shop-web-dev', ready(), { generation: 2 }), child('WorkloadInstance', 'shop-web-prod', waiting)];
    const tree = applicationStatusTree(expansion, owned);
    expect(tree.phase).toBe('Progressing');
    expect(tree.reason).toBe('NotObserved');
    expect(tree.message).toContain('dev/web (WorkloadInstance shop-web-dev) Progressing');
    expect(tree.clusters[1]!.components).toEqual([
      { component: 'db', kind: 'DatabaseInstance', object: 'shop-db-prod', phase: 'Missing', reason: 'NotCreated', message: 'DatabaseInstance shop-db-prod does not exist (yet)' },
      { component: 'web', kind: 'WorkloadInstance', object: 'shop-web-prod', phase: 'Progressing', reason: 'WaitingForDatabases', message: 'waiting for shop-db-prod' },
    ]);
  });

  it('lists owned objects the expansion no longer wants as being removed, and prints the tree', () => {
    const owned = ['dev', 'prod'].flatMap((c) => [child('DatabaseInstance', `shop-db-${c}`, ready()), child('WorkloadInstance', `shop-web-${c}`, ready())]);
    owned.push(child('WorkloadInstance', 'shop-web-old', { phase: 'Deleting' }, { deletionRequestedAt: '2026-01-01T00:00:00Z', labels: { 'tugboat.dev/component': 'web' } }));
    const tree = applicationStatusTree(expansion, owned);
    expect(tree.removing.map((r) => `${r.component} ${r.object} ${r.phase}`)).toEqual(['web shop-web-old Deleting']);
    const lines = formatApplicationTree('shop', { phase: tree.phase, conditions: [], clusters: tree.clusters, removing: tree.removing });
    expect(lines).toEqual([
      'Application shop  Ready',
      '├─ cluster dev (tier dev)  Ready',
      '│  ├─ db  DatabaseInstance/shop-db-dev  Ready',
      '│  └─ web  WorkloadInstance/shop-web-dev  Ready',
      '├─ cluster prod (tier prod)  Ready',
      '│  ├─ db  DatabaseInstance/shop-db-prod  Ready',
      '│  └─ web  WorkloadInstance/shop-web-prod  Ready',
      '└─ removing',
      '   └─ web  WorkloadInstance/shop-web-old  Deleting: no status yet',
    ]);
  });

  it('prints per tier what runs and what waits for a decision, with the change it would make', () => {
    const tree = applicationStatusTree(expansion, ['dev', 'prod'].flatMap((c) => [child('DatabaseInstance', `shop-db-${c}`, ready()), child('WorkloadInstance', `shop-web-${c}`, ready())]));
    const delivery = [
      { tier: 'dev', revision: 3, releases: 'web=shop-web-r2 (sha256:222222222222)' },
      {
        tier: 'prod',
        revision: 2,
        releases: 'web=shop-web-r1 (sha256:111111111111)',
        open: {
          rollout: 'shop-prod-4',
          state: 'PendingApproval',
          message: 'waits for an approval by editor or admin of the project: tug rollout approve shop-prod-4 (or reject it)',
          releases: 'web=shop-web-r2 (sha256:222222222222)',
          changes: [{ kind: 'WorkloadInstance', name: 'shop-web-prod', cluster: 'prod', action: 'updated' as const, diff: [{ path: 'spec.overrides.image', op: 'replace' as const, from: 'shop@sha256:1111', to: 'shop@sha256:2222' }] }],
        },
      },
    ];
    const lines = formatApplicationTree('shop', { phase: tree.phase, conditions: [], clusters: tree.clusters.slice(1), removing: [], delivery });
    expect(lines.slice(4)).toEqual([
      '└─ delivery',
      '   ├─ tier dev  revision 3: web=shop-web-r2 (sha256:222222222222)',
      '   └─ tier prod  revision 2: web=shop-web-r1 (sha256:111111111111)',
      '      PendingApproval: rollout shop-prod-4 (web=shop-web-r2 (sha256:222222222222)) waits for an approval by editor or admin of the project: tug rollout approve shop-prod-4 (or reject it)',
      '        ~ WorkloadInstance/shop-web-prod',
      '            spec.overrides.image: "shop@sha256:1111" → "shop@sha256:2222"',
    ]);
    expect(lines[1]).toBe('├─ cluster prod (tier prod)  Ready');
  });

  describe('a workload moving from cluster dev1 to dev3', () => {
    const moved = expandApplication(
      {
        name: 'shop',
        project: 'team-a',
        spec: {
          targets: [{ tier: 'dev' }],
          databases: [{ name: 'db', definitionRef: { name: 'pg' }, databaseName: 'shop' }],
          workloads: [{ name: 'web', definitionRef: { name: 'hello' }, databases: [{ component: 'db', envPrefix: 'DB' }] }],
        },
      },
      [
        { name: 'dev1', labels: {} },
        { name: 'dev3', labels: { 'tugboat.dev/tier': 'dev' } },
      ],
    );
    const at = (cluster: string, component: string, when: string) => ({
      labels: { 'tugboat.dev/component': component, 'tugboat.dev/cluster': cluster, 'tugboat.dev/tier': 'dev' },
      createdAt: when,
    });
    const old = [child('DatabaseInstance', 'shop-db-dev1', ready(), at('dev1', 'db', '2026-01-01T00:00:00Z')), child('WorkloadInstance', 'shop-web-dev1', ready(), at('dev1', 'web', '2026-01-01T00:00:00Z'))];
    const rollingOut: ResourceStatus = { observedGeneration: 1, phase: 'Progressing', conditions: [{ type: 'Ready', status: 'False', reason: 'RollingOut', message: '0/1 replicas ready', lastTransitionTime: '' }] };

    it('keeps the old copy while the new one is not Ready, and says the step', () => {
      const owned = [...old, child('DatabaseInstance', 'shop-db-dev3', ready(), at('dev3', 'db', '2026-02-01T00:00:00Z')), child('WorkloadInstance', 'shop-web-dev3', rollingOut, at('dev3', 'web', '2026-02-01T00:00:00Z'))];
      const tree = applicationStatusTree(moved, owned);
      expect(tree.phase).toBe('Progressing');
      expect(tree.reason).toBe('Migrating');
      expect(tree.message).toBe(
        'migrating web from cluster dev1 to dev3: waits for shop-web-dev3 to be Ready before removing shop-web-dev1 (shop-web-dev3 is Progressing: RollingOut: 0/1 replicas ready)',
      );
      expect(tree.removing).toEqual([
        { component: 'db', kind: 'DatabaseInstance', object: 'shop-db-dev1', phase: 'Ready', deleting: true },
        {
          component: 'web',
          kind: 'WorkloadInstance',
          object: 'shop-web-dev1',
          phase: 'Ready',
          reason: 'Migrating',
          message: 'migrating web from cluster dev1 to dev3: waits for shop-web-dev3 to be Ready before removing shop-web-dev1',
          migratingTo: 'shop-web-dev3',
        },
      ]);
      const ready0 = { type: 'Ready', status: 'False' as const, reason: tree.reason, message: tree.message, lastTransitionTime: '' };
      expect(formatApplicationTree('shop', { phase: tree.phase, conditions: [ready0], clusters: tree.clusters, removing: tree.removing })).toEqual([
        `Application shop  Progressing  (${tree.message})`,
        '├─ cluster dev3 (tier dev)  Progressing',
        '│  ├─ db  DatabaseInstance/shop-db-dev3  Ready',
        '│  └─ web  WorkloadInstance/shop-web-dev3  Progressing  RollingOut: 0/1 replicas ready',
        '└─ removing',
        '   ├─ db  DatabaseInstance/shop-db-dev1  Ready',
        '   └─ web  WorkloadInstance/shop-web-dev1  Ready: migrating web from cluster dev1 to dev3: waits for shop-web-dev3 to be Ready before removing shop-web-dev1',
      ]);
    });

    it('says the removal once the new copy is Ready', () => {
      const owned = [
        old[0]!,
        child('WorkloadInstance', 'shop-web-dev1', { phase: 'Deleting' }, { ...at('dev1', 'web', '2026-01-01T00:00:00Z'), deletionRequestedAt: '2026-02-02T00:00:00Z' }),
        child('DatabaseInstance', 'shop-db-dev3', ready(), at('dev3', 'db', '2026-02-01T00:00:00Z')),
        child('WorkloadInstance', 'shop-web-dev3', ready(), at('dev3', 'web', '2026-02-01T00:00:00Z')),
      ];
      const tree = applicationStatusTree(moved, owned);
      expect(tree).toMatchObject({ phase: 'Ready', reason: 'Removing', message: 'removing DatabaseInstance shop-db-dev1, WorkloadInstance shop-web-dev1' });
      expect(tree.removing[1]).toEqual({
        component: 'web',
        kind: 'WorkloadInstance',
        object: 'shop-web-dev1',
        phase: 'Deleting',
        reason: 'Migrated',
        message: 'migrated web from cluster dev1 to dev3: shop-web-dev3 is Ready, removing shop-web-dev1',
        deleting: true,
      });
    });
  });
});
