/**
 * `spec.parameters` as a DB parameter group of the instance's own: made with the instance and set
 * as the spec says (DescribeDBParameters shows them), changed and reset on a spec change, given to
 * an instance made without one, refused by RDS as a Failed step, and deleted after the instance.
 */
import { DescribeDBInstancesCommand, DescribeDBParameterGroupsCommand, DescribeDBParametersCommand } from '@aws-sdk/client-rds';
import { countersDelta, ONE_DATABASE, PROJECT, ready, startHarness, type DatabaseObject, type Harness } from './test-support/database-harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await h.account('tuning');
  await h.cluster('prod', 'tuning', await h.network('10.70'));
  await h.definition('tuned', { engine: 'postgres', deletionPolicy: 'delete', allowedParameters: ['work_mem', 'log_min_duration_statement', 'max_connections', 'wrok_mem'] });
  await h.definition('tuned-mysql', { engine: 'mysql', deletionPolicy: 'delete', allowedParameters: ['slow_query_log', 'long_query_time'] });
});
afterAll(async () => {
  await h?.close();
});

const userParameters = async (group: string) =>
  Object.fromEntries(((await h.rds.send(new DescribeDBParametersCommand({ DBParameterGroupName: group, Source: 'user' }))).Parameters ?? []).map((p) => [p.ParameterName, [p.ParameterValue, p.ApplyMethod]]));
const groupsOf = async (id: string) => (await h.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0]?.DBParameterGroups?.map((g) => g.DBParameterGroupName);
const appliedAt = (generation: number) => (o: DatabaseObject | undefined) => o?.status.phase === 'Ready' && o.status.observedGeneration === generation;
const key = (name: string) => ({ kind: 'DatabaseInstance', project: PROJECT, name });
/** The spec as it is, with `parameters` replaced (a merge patch cannot drop keys without naming them). */
const withParameters = (obj: DatabaseObject, parameters: Record<string, string>) =>
  h.api.replace<DatabaseObject['spec']>({ kind: 'DatabaseInstance', metadata: { name: obj.metadata.name, project: PROJECT }, spec: { ...obj.spec, parameters } });

describe('managed-services-controller: DatabaseInstance parameters', () => {
  it('makes a parameter group with the parameters, changes it with the spec, resets it when emptied, and deletes it after the instance', async () => {
    const before = h.counters();
    const obj = await h.create('tuned', { definitionRef: { name: 'tuned' }, clusterRef: { name: 'prod' }, parameters: { work_mem: '65536', log_min_duration_statement: '500', max_connections: '200' } });
    const done = (await h.converge(obj, (o) => o?.status.phase === 'Ready')) as DatabaseObject;
    const id = 'tugboat-shop-tuned';
    expect(await groupsOf(id)).toEqual([id]);
    const [group] = (await h.rds.send(new DescribeDBParameterGroupsCommand({ DBParameterGroupName: id }))).DBParameterGroups ?? [];
    expect(group?.DBParameterGroupFamily).toBe('postgres16');
    // Dynamic parameters at once; max_connections is static in postgres: it waits for a reboot.
    expect(await userParameters(id)).toEqual({
      log_min_duration_statement: ['500', 'immediate'],
      max_connections: ['200', 'pending-reboot'],
      work_mem: ['65536', 'immediate'],
    });

    // A change: one value changed, one dropped (reset to the engine's default), one kept. A second pass calls nothing that changes.
    const patched = await withParameters(done, { work_mem: '131072', max_connections: '200' });
    const changed = (await h.converge(done, appliedAt(patched.metadata.generation))) as DatabaseObject;
    expect(await userParameters(id)).toEqual({ max_connections: ['200', 'pending-reboot'], work_mem: ['131072', 'immediate'] });
    h.record(true);
    try {
      await h.converge(changed, appliedAt(patched.metadata.generation));
      expect(h.calls.filter((call) => /rds:(Create|Modify|Reset|Delete)/.test(call))).toEqual([]);
    } finally {
      h.record(false);
    }

    // Emptied: the group stays with the instance, with no parameters of its own.
    const emptied = await withParameters(changed, {});
    const reset = (await h.converge(changed, appliedAt(emptied.metadata.generation))) as DatabaseObject;
    expect(await userParameters(id)).toEqual({});
    expect(await groupsOf(id)).toEqual([id]);

    await h.remove(reset);
    const delta = countersDelta(before, h.counters());
    const withGroup = { ...ONE_DATABASE, 'rds:db-parameter-group': 1 };
    expect(delta).toEqual({ created: withGroup, deleted: withGroup });
  });

  it('moves an instance made without parameters to a group of its own (mysql), and fails with the step when RDS refuses a parameter', async () => {
    const before = h.counters();
    const obj = await h.create('later', { definitionRef: { name: 'tuned-mysql' }, clusterRef: { name: 'prod' } });
    const plain = (await h.converge(obj, (o) => o?.status.phase === 'Ready')) as DatabaseObject;
    const id = 'tugboat-shop-later';
    expect(await groupsOf(id)).toEqual(['default.mysql8.0']);
    expect(countersDelta(before, h.counters()).created).toEqual(ONE_DATABASE);

    const patched = await withParameters(plain, { slow_query_log: '1', long_query_time: '2' });
    const tuned = (await h.converge(plain, appliedAt(patched.metadata.generation))) as DatabaseObject;
    expect(await groupsOf(id)).toEqual([id]);
    expect((await h.rds.send(new DescribeDBParameterGroupsCommand({ DBParameterGroupName: id }))).DBParameterGroups?.[0]?.DBParameterGroupFamily).toBe('mysql8.0');
    expect(await userParameters(id)).toEqual({ long_query_time: ['2', 'immediate'], slow_query_log: ['1', 'immediate'] });
    await h.remove(tuned);

    // A name the definition allows but the engine does not have: RDS's words, at the step.
    const typo = await h.create('typo', { definitionRef: { name: 'tuned' }, clusterRef: { name: 'prod' }, parameters: { wrok_mem: '1' } });
    const failed = (await h.converge(typo, (o) => o?.status.phase === 'Failed')) as DatabaseObject;
    expect(failed.status.step).toBe('ApplyingParameters');
    expect(ready(failed.status)).toMatchObject({ reason: 'ProvisioningFailed', message: expect.stringMatching(/^ApplyingParameters: .*Could not find parameter with name: wrok_mem/) });
    await h.remove(failed);
    const delta = countersDelta(before, h.counters());
    expect(delta.created).toEqual(delta.deleted);
    expect(h.api.object(key('typo'))).toBeUndefined();
  });
});
