import { uncachedReads, type MapContext } from '@tugboat/controller-sdk';
import { createFakeApi } from '@tugboat/controller-sdk/testing';
import { databaseKillPointFromEnv } from './database-kill-points.js';
import { finalSnapshotIdentifier, instanceIdentifier } from './database-naming.js';
import { createDatabaseController } from './managed-services-controller.js';
import { GRANTED_KINDS, PROJECT } from './test-support/database-harness.js';
import { MANAGED_SERVICES_CONTROLLER } from '@tugboat/resource-model';

/** RDS's rule for instance and snapshot identifiers. */
const RDS_IDENTIFIER = /^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$/;

describe('managed-services-controller: names', () => {
  it('makes tugboat-<project>-<name>, valid for RDS, and keeps long or odd names apart with a hash', () => {
    expect(instanceIdentifier('shop', 'orders')).toBe('tugboat-shop-orders');
    const long = instanceIdentifier('a-very-long-project-name-for-a-team', 'and-an-even-longer-database-name-too');
    expect(long).toMatch(RDS_IDENTIFIER);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^tugboat-a-very-long-project-name-for-a-team-and-.*-[0-9a-f]{8}$/);
    expect(instanceIdentifier('a-very-long-project-name-for-a-team', 'and-an-even-longer-database-name-two')).not.toBe(long);
    const doubled = instanceIdentifier('shop', 'a--b');
    expect(doubled).toMatch(RDS_IDENTIFIER);
    expect(doubled).not.toBe(instanceIdentifier('shop', 'a-b'));
    // Every name the API accepts (DNS labels, up to 63) gives a valid identifier.
    for (const name of ['x', 'a'.repeat(63), `${'b'.repeat(30)}--${'c'.repeat(31)}`, '0db', 'db-0']) {
      expect(instanceIdentifier('p'.repeat(63), name)).toMatch(RDS_IDENTIFIER);
    }
  });

  it('names the final snapshot after the identifier and the uid, the same every time', () => {
    const uid = '6f1c2a9e-1234-4bcd-8ef0-0123456789ab';
    expect(finalSnapshotIdentifier('tugboat-shop-orders', uid)).toBe('tugboat-shop-orders-final-6f1c2a9e');
    expect(finalSnapshotIdentifier('tugboat-shop-orders', uid)).toBe(finalSnapshotIdentifier('tugboat-shop-orders', uid));
  });
});

describe('managed-services-controller: kill points from the environment', () => {
  it('arms one only with TUGBOAT_TEST_HOOKS=1 and a known name', () => {
    expect(databaseKillPointFromEnv({}).ignored).toBeUndefined();
    expect(databaseKillPointFromEnv({ TUGBOAT_KILL_POINT: 'db.after-create-instance' }).ignored).toBe('TUGBOAT_KILL_POINT is set but TUGBOAT_TEST_HOOKS is not 1');
    expect(databaseKillPointFromEnv({ TUGBOAT_KILL_POINT: 'db.nowhere', TUGBOAT_TEST_HOOKS: '1' }).ignored).toMatch(/^TUGBOAT_KILL_POINT must be one of db\.after-create-subnet-group/);
    const killed: string[] = [];
    const { killPoint, ignored } = databaseKillPointFromEnv({ TUGBOAT_KILL_POINT: 'db.after-create-instance', TUGBOAT_KILL_POINT_AFTER: '1', TUGBOAT_TEST_HOOKS: '1' }, () => killed.push('killed'));
    expect(ignored).toBeUndefined();
    killPoint.pass('db.after-create-instance', 1);
    expect(killed).toEqual([]);
    killPoint.pass('db.after-create-instance', 1);
    expect(killed).toEqual(['killed']);
  });
});

describe('managed-services-controller: wake-ups', () => {
  it('maps an EksCluster’s change to the DatabaseInstances whose clusterRef names its ClusterInstance', async () => {
    const api = createFakeApi({ kinds: GRANTED_KINDS, identity: { name: MANAGED_SERVICES_CONTROLLER, type: 'controller', controller: MANAGED_SERVICES_CONTROLLER } });
    await api.create({ kind: 'ClusterDefinition', metadata: { name: 'eks' }, spec: { provider: 'eks', allowedVersions: ['1.31'], allowedRegions: ['eu-west-1'], allowedNodeSizes: ['t3.medium'] } });
    await api.create({ kind: 'ClusterInstance', metadata: { name: 'prod' }, spec: { definitionRef: { name: 'eks' } } });
    await api.create({ kind: 'ClusterInstance', metadata: { name: 'other' }, spec: { definitionRef: { name: 'eks' } } });
    await api.create({ kind: 'DatabaseDefinition', metadata: { name: 'pg' }, spec: { engine: 'postgres', allowedVersions: ['16.6'], allowedInstanceClasses: ['db.t3.micro'], storageGb: { min: 20, max: 100 } } });
    for (const [name, cluster] of [['a', 'prod'], ['b', 'other'], ['c', 'prod']] as const) {
      await api.create({ kind: 'DatabaseInstance', metadata: { name, project: PROJECT }, spec: { definitionRef: { name: 'pg' }, clusterRef: { name: cluster }, databaseName: 'app' } });
    }
    const watch = createDatabaseController().watches.find((w) => w.kind === 'EksCluster');
    const event = { kind: 'EksCluster', project: '', name: 'prod', uid: 'u', generation: 1, resourceVersion: '1', cause: 'status' as const, seq: '1', at: new Date().toISOString() };
    const keys = await watch?.map(event, { api, cache: uncachedReads(api), logger: {} as MapContext['logger'], signal: new AbortController().signal, owns: 'DatabaseInstance' });
    expect(keys?.map((k) => k.name).sort()).toEqual(['a', 'c']);
  });
});
