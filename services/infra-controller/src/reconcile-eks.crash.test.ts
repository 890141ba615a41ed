/**
 * Crash proofs: the reconcile dies right after an AWS create (or delete) call, before anything
 * records it; the next passes, without the kill point, must find what was made instead of making it
 * again. During creation and during deletion: exactly one of each resource, and nothing left.
 */
import { armedKillPoint } from '@tugboat/resource-model';
import { EKS_KILL_POINTS } from './eks-kill-points.js';
import { countersDelta, ONE_CLUSTER, startHarness, type EksObject, type Harness } from './test-support/eks-harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await h.account('crashes');
});
afterAll(async () => {
  await h?.close();
});

const WORKERS = { name: 'workers', instanceTypes: ['t3.large'], minSize: 1, maxSize: 3, desiredSize: 2 };

/** Each create point with a delete point; `after` lets some items through first (the third subnet). */
const CASES: Array<[create: string, createAfter: number, remove: string]> = [
  ['eks.after-create-vpc', 0, 'eks.after-delete-nodegroup'],
  ['eks.after-create-internet-gateway', 0, 'eks.after-delete-cluster'],
  ['eks.after-create-subnet', 2, 'eks.after-delete-role'],
  ['eks.after-create-route-table', 1, 'eks.after-delete-nat-gateway'],
  ['eks.after-create-elastic-ip', 0, 'eks.after-delete-subnet'],
  ['eks.after-create-nat-gateway', 0, 'eks.after-delete-vpc'],
  ['eks.after-create-role', 1, 'eks.after-delete-nodegroup'],
  ['eks.after-create-cluster', 0, 'eks.after-delete-cluster'],
  ['eks.after-create-nodegroup', 0, 'eks.after-delete-vpc'],
];

describe('infra-controller: EksCluster crash safety', () => {
  it('covers every kill point', () => {
    const covered = new Set(CASES.flatMap(([create, , remove]) => [create, remove]));
    expect(EKS_KILL_POINTS.filter((point) => !covered.has(point))).toEqual([]);
  });

  it.each(CASES)('killed at %s (after %i) while creating and at %s while deleting: one of each, nothing left', async (createPoint, createAfter, deletePoint) => {
    const name = `crash-${createPoint.replace('eks.after-create-', '')}`;
    const killed: string[] = [];
    const armed = (point: string, after: number) => h.controller({ killPoint: armedKillPoint({ point, after, kill: () => killed.push(point) }) });
    const before = h.counters();
    const obj = await h.create(name, { accountRef: { name: 'crashes' }, nodeGroups: [WORKERS] });

    const atCrash = await h.converge(obj, () => killed.length > 0, { controller: armed(createPoint, createAfter) });
    expect(killed).toEqual([createPoint]);
    expect(atCrash?.status.phase).not.toBe('Ready');
    const done = (await h.converge(obj, (o) => o?.status.phase === 'Ready')) as EksObject;
    expect(countersDelta(before, h.counters()).created).toEqual(ONE_CLUSTER);
    expect(done.status.inventory).toHaveLength(14);

    await h.api.delete({ kind: 'EksCluster', name });
    await h.converge(done, () => killed.length > 1, { controller: armed(deletePoint, 0) });
    expect(killed).toEqual([createPoint, deletePoint]);
    expect(await h.converge(done, (o) => o === undefined)).toBeUndefined();
    const delta = countersDelta(before, h.counters());
    expect(delta.created).toEqual(ONE_CLUSTER);
    expect(delta.deleted).toEqual(ONE_CLUSTER);
  });
});
