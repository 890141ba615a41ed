/**
 * Day two on one cluster: scaling in place, a version upgrade across two minors (control plane
 * first, then node groups, one minor at a time), a replacement node group for new instance types,
 * a refused downgrade and region change, a group added and removed, then delete with nothing left.
 */
import { DescribeClusterCommand, DescribeNodegroupCommand, DescribeUpdateCommand, ListNodegroupsCommand, ListUpdatesCommand } from '@aws-sdk/client-eks';
import { nodegroupName } from './eks-naming.js';
import type { EksClusterSpec } from './eks-types.js';
import { countersDelta, ready, startHarness, type EksObject, type Harness } from './test-support/eks-harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await h.account('day-two');
});
afterAll(async () => {
  await h?.close();
});

const NAME = 'upgrades';
const ref = { kind: 'EksCluster', name: NAME };
const isReady = (o: EksObject | undefined) => o?.status.phase === 'Ready' && o.status.observedGeneration === o.metadata.generation;

async function change(obj: EksObject, spec: Partial<EksClusterSpec>, until = isReady) {
  await h.api.patch(ref, { spec });
  const seen: EksObject['status'][] = [];
  const after = (await h.converge(obj, until, { seen })) as EksObject;
  return { after, seen, steps: new Set(seen.map((s) => s.step)), messages: seen.map((s) => ready(s)?.message ?? '') };
}

describe('infra-controller: EksCluster day two', () => {
  it('scales, upgrades 1.30 → 1.32 in two steps, replaces a node group, refuses a downgrade and a move, adds and removes groups', async () => {
    const before = h.counters();
    const workers = { name: 'workers', instanceTypes: ['t3.medium'], minSize: 1, maxSize: 5, desiredSize: 2 };
    let obj = await h.create(NAME, { accountRef: { name: 'day-two' }, version: '1.30', nodeGroups: [workers] });
    obj = (await h.converge(obj, isReady)) as EksObject;
    expect(obj.status.outputs?.version).toBe('1.30');

    // Desired 2 → 4: UpdateNodegroupConfig, in place.
    const scaled = await change(obj, { nodeGroups: [{ ...workers, desiredSize: 4 }] });
    expect(scaled.steps).toContain('UpdatingNodegroup');
    expect(scaled.messages.join('\n')).toMatch(/min\/desired\/max 1\/2\/5 → 1\/4\/5 \(update [0-9a-f-]+ InProgress\)/);
    const ng = (await h.eks.send(new DescribeNodegroupCommand({ clusterName: NAME, nodegroupName: nodegroupName(workers) }))).nodegroup;
    expect(ng?.scalingConfig).toEqual({ minSize: 1, maxSize: 5, desiredSize: 4 });
    expect(scaled.after.status.outputs?.nodegroups[0]?.desiredSize).toBe(4);

    // 1.30 → 1.32: two control plane updates, the node group following each.
    const upgraded = await change(scaled.after, { version: '1.32' });
    expect([...upgraded.steps]).toEqual(expect.arrayContaining(['UpgradingControlPlane', 'UpgradingNodegroups', 'Ready']));
    expect(upgraded.messages.join('\n')).toMatch(/1\.30 → 1\.31 \(update [0-9a-f-]+ InProgress\), then on to 1\.32/);
    expect(upgraded.messages.join('\n')).toMatch(/^1\.31 → 1\.32 \(update [0-9a-f-]+ InProgress\)$/m);
    const clusterUpdates = (await h.eks.send(new ListUpdatesCommand({ name: NAME }))).updateIds ?? [];
    const versions = await Promise.all(
      clusterUpdates.map(async (updateId) => (await h.eks.send(new DescribeUpdateCommand({ name: NAME, updateId }))).update?.params?.find((p) => p.type === 'Version')?.value),
    );
    expect(versions.sort()).toEqual(['1.31', '1.32']);
    expect((await h.eks.send(new DescribeClusterCommand({ name: NAME }))).cluster?.version).toBe('1.32');
    expect(upgraded.after.status.outputs).toMatchObject({ version: '1.32', nodegroups: [{ version: '1.32', desiredSize: 4 }] });

    // New instance types: a replacement group, then the old one is deleted.
    const bigger = { ...workers, desiredSize: 4, instanceTypes: ['m5.large'] };
    const counted = h.counters();
    const replaced = await change(upgraded.after, { nodeGroups: [bigger] });
    expect(replaced.steps).toContain('ReplacingNodegroup');
    expect(replaced.messages.join('\n')).toContain(`deleting node group ${nodegroupName(workers)} (replaced by ${nodegroupName(bigger)}; EKS drains its nodes first)`);
    expect((await h.eks.send(new ListNodegroupsCommand({ clusterName: NAME }))).nodegroups).toEqual([nodegroupName(bigger)]);
    expect(countersDelta(counted, h.counters())).toEqual({ created: { 'eks:nodegroup': 1 }, deleted: { 'eks:nodegroup': 1 } });
    expect(replaced.after.status.outputs?.nodegroups).toEqual([
      { name: 'workers', nodegroupName: nodegroupName(bigger), instanceTypes: ['m5.large'], minSize: 1, maxSize: 5, desiredSize: 4, version: '1.32' },
    ]);

    // A downgrade is refused: Failed with the reason, nothing touched.
    const refused = await change(replaced.after, { version: '1.31' }, (o) => o?.status.phase === 'Failed' && o.status.observedGeneration === o.metadata.generation);
    expect(ready(refused.after.status)).toMatchObject({ reason: 'VersionDowngradeRefused', message: expect.stringContaining("spec.version 1.31 is lower than the cluster's 1.32") });

    // A cluster cannot move to another region either.
    const moved = await change(refused.after, { version: '1.32', region: 'eu-central-1' }, (o) => o?.status.phase === 'Failed' && o.status.observedGeneration === o.metadata.generation);
    expect(ready(moved.after.status)).toMatchObject({ reason: 'RegionChangeRefused', message: expect.stringContaining('this cluster lives in eu-west-1') });

    // Back where it was, with a second group; then that group removed.
    const extra = { name: 'batch', instanceTypes: ['c5.xlarge'], minSize: 0, maxSize: 2 };
    const added = await change(moved.after, { region: 'eu-west-1', nodeGroups: [bigger, extra] });
    expect(added.after.status.outputs?.nodegroups.map((g) => g.name)).toEqual(['workers', 'batch']);
    expect(added.after.status.outputs?.nodegroups[1]).toMatchObject({ desiredSize: 0, version: '1.32' });
    const removed = await change(added.after, { nodeGroups: [bigger] });
    expect(removed.steps).toContain('DeletingNodegroup');
    expect((await h.eks.send(new ListNodegroupsCommand({ clusterName: NAME }))).nodegroups).toEqual([nodegroupName(bigger)]);

    await h.api.delete(ref);
    expect(await h.converge(removed.after, (o) => o === undefined)).toBeUndefined();
    const delta = countersDelta(before, h.counters());
    expect(delta.created).toEqual(delta.deleted);
    expect(delta.created['eks:nodegroup']).toBe(3);
  });
});
