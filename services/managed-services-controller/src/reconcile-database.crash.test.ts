/**
 * Crash proofs: the reconcile dies right after an AWS create (or delete) call, before anything
 * records it; the next passes, without the kill point, must find what was made instead of making it
 * again. During creation and during deletion: exactly one of each, and only the final snapshot left.
 */
import { DescribeDBParametersCommand, DescribeDBSnapshotsCommand } from '@aws-sdk/client-rds';
import { armedKillPoint } from '@tugboat/resource-model';
import { DATABASE_KILL_POINTS } from './database-kill-points.js';
import { finalSnapshotIdentifier, instanceIdentifier } from './database-naming.js';
import { countersDelta, ONE_DATABASE, PROJECT, startHarness, type DatabaseObject, type Harness } from './test-support/database-harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await h.account('crashes');
  await h.cluster('prod', 'crashes', await h.network('10.50'));
  await h.definition('pg', { engine: 'postgres' });
  await h.definition('pg-tuned', { engine: 'postgres', deletionPolicy: 'delete', allowedParameters: ['work_mem'] });
});
afterAll(async () => {
  await h?.close();
});

const CASES: Array<[create: string, remove: string]> = [
  ['db.after-create-subnet-group', 'db.after-delete-instance'],
  ['db.after-create-security-group', 'db.after-delete-subnet-group'],
  ['db.after-create-instance', 'db.after-delete-security-group'],
];

describe('managed-services-controller: DatabaseInstance crash safety', () => {
  it('covers every kill point', () => {
    const covered = new Set([...CASES.flat(), 'db.after-rotate-password', 'db.after-create-parameter-group', 'db.after-delete-parameter-group']);
    expect(DATABASE_KILL_POINTS.filter((point) => !covered.has(point))).toEqual([]);
  });

  it.each(CASES)('killed at %s while creating and at %s while deleting: one of each, only the final snapshot left', async (createPoint, deletePoint) => {
    const name = `crash-${createPoint.replace('db.after-create-', '')}`;
    const killed: string[] = [];
    const armed = (point: string) => h.controller({ killPoint: armedKillPoint({ point, after: 0, kill: () => killed.push(point) }) });
    const before = h.counters();
    const obj = await h.create(name, { definitionRef: { name: 'pg' }, clusterRef: { name: 'prod' } });

    const atCrash = await h.converge(obj, () => killed.length > 0, { controller: armed(createPoint) });
    expect(killed).toEqual([createPoint]);
    expect(atCrash?.status.phase).not.toBe('Ready');
    const done = (await h.converge(obj, (o) => o?.status.phase === 'Ready')) as DatabaseObject;
    expect(countersDelta(before, h.counters()).created).toEqual(ONE_DATABASE);

    await h.api.delete({ kind: 'DatabaseInstance', project: PROJECT, name });
    await h.converge(done, () => killed.length > 1, { controller: armed(deletePoint) });
    expect(killed).toEqual([createPoint, deletePoint]);
    expect(await h.converge(done, (o) => o === undefined)).toBeUndefined();
    const delta = countersDelta(before, h.counters());
    expect(delta.created).toEqual({ ...ONE_DATABASE, 'rds:db-snapshot': 1 });
    expect(delta.deleted).toEqual(ONE_DATABASE);
    const snapshot = finalSnapshotIdentifier(instanceIdentifier(PROJECT, name), obj.metadata.uid);
    expect((await h.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshot }))).DBSnapshots).toHaveLength(1);
  });

  it('killed at db.after-rotate-password: the password is rotated once, and the new version published', async () => {
    const killed: string[] = [];
    const obj = await h.create('crash-rotate', { definitionRef: { name: 'pg' }, clusterRef: { name: 'prod' } });
    const done = (await h.converge(obj, (o) => o?.status.phase === 'Ready')) as DatabaseObject;
    const before = done.status.outputs?.passwordVersion;
    const patched = await h.api.patch<DatabaseObject['spec']>({ kind: 'DatabaseInstance', project: PROJECT, name: 'crash-rotate' }, { spec: { passwordRotation: 'first' } });
    h.record(true);
    try {
      const armed = h.controller({ killPoint: armedKillPoint({ point: 'db.after-rotate-password', after: 0, kill: () => killed.push('db.after-rotate-password') }) });
      await h.converge(done, () => killed.length > 0, { controller: armed });
      const rotated = (await h.converge(done, (o) => o?.status.phase === 'Ready' && o.status.observedGeneration === patched.metadata.generation)) as DatabaseObject;
      expect(killed).toEqual(['db.after-rotate-password']);
      expect(h.calls.filter((call) => call === 'rds:ModifyDBInstance')).toHaveLength(1);
      expect(rotated.status.outputs?.passwordVersion).not.toBe(before);
      expect(rotated.status.passwordRotation).toBe('first');
    } finally {
      h.record(false);
    }
    await h.api.delete({ kind: 'DatabaseInstance', project: PROJECT, name: 'crash-rotate' });
    expect(await h.converge(done, (o) => o === undefined)).toBeUndefined();
  });

  it('killed at db.after-create-parameter-group and at db.after-delete-parameter-group: one parameter group, with its parameters, and nothing left', async () => {
    const killed: string[] = [];
    const armed = (point: string) => h.controller({ killPoint: armedKillPoint({ point, after: 0, kill: () => killed.push(point) }) });
    const before = h.counters();
    const obj = await h.create('crash-params', { definitionRef: { name: 'pg-tuned' }, clusterRef: { name: 'prod' }, parameters: { work_mem: '65536' } });
    await h.converge(obj, () => killed.length > 0, { controller: armed('db.after-create-parameter-group') });
    const done = (await h.converge(obj, (o) => o?.status.phase === 'Ready')) as DatabaseObject;
    const withGroup = { ...ONE_DATABASE, 'rds:db-parameter-group': 1 };
    expect(countersDelta(before, h.counters()).created).toEqual(withGroup);
    const id = instanceIdentifier(PROJECT, 'crash-params');
    const user = (await h.rds.send(new DescribeDBParametersCommand({ DBParameterGroupName: id, Source: 'user' }))).Parameters;
    expect(user?.map((p) => [p.ParameterName, p.ParameterValue])).toEqual([['work_mem', '65536']]);

    await h.api.delete({ kind: 'DatabaseInstance', project: PROJECT, name: 'crash-params' });
    await h.converge(done, () => killed.length > 1, { controller: armed('db.after-delete-parameter-group') });
    expect(killed).toEqual(['db.after-create-parameter-group', 'db.after-delete-parameter-group']);
    expect(await h.converge(done, (o) => o === undefined)).toBeUndefined();
    expect(countersDelta(before, h.counters())).toEqual({ created: withGroup, deleted: withGroup });
  });
});
