/**
 * The infra-controller SIGKILLed while it provisions and tears down an EKS cluster (issue 11):
 *
 * - at every named point, right after an AWS create or delete call and before anything records
 *   it (status, inventory), one after the other over one cluster's whole life;
 * - at seeded random moments (bounded: a fixed number of kills), while a second cluster is created
 *   and deleted.
 *
 * A restarted controller finds what it made by its ownership tags (and client request tokens), so
 * the sandbox's counters show exactly one of every resource created, and every one deleted.
 */
import type { Condition, Resource } from '@tugboat/resource-model';
import { waitUntil, type Child } from './harness/cli-processes.js';
import { ACCOUNT_ID, countersDelta, EKS_KEYS, ONE_CLUSTER, startEksStack, type EksStack } from './harness/eks-stack.js';

const CREATE_POINTS = [
  'eks.after-create-vpc',
  'eks.after-create-internet-gateway',
  'eks.after-create-subnet',
  'eks.after-create-route-table',
  'eks.after-create-elastic-ip',
  'eks.after-create-nat-gateway',
  'eks.after-create-role',
  'eks.after-create-cluster',
  'eks.after-create-nodegroup',
];
const DELETE_POINTS = ['eks.after-delete-nodegroup', 'eks.after-delete-cluster', 'eks.after-delete-role', 'eks.after-delete-nat-gateway', 'eks.after-delete-subnet', 'eks.after-delete-vpc'];



const phaseOf = (obj: Resource | undefined) => (obj?.status as { phase?: string } | undefined)?.phase;
const readyOf = (obj: Resource | undefined) => ((obj?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === 'Ready');

describe('infra-controller killed while it provisions and tears down an EKS cluster', () => {
  let stack: EksStack;

  beforeAll(async () => {
    stack = await startEksStack({ name: 'eks-faults', timeScale: 300 });
    await stack.startInfraController();
    await stack.admin.apply([
      { kind: 'AwsAccount', metadata: { name: 'main' }, spec: { accountId: ACCOUNT_ID, region: 'us-east-1', endpoint: stack.sandboxUrl, ...EKS_KEYS } },
      {
        kind: 'ClusterDefinition',
        metadata: { name: 'eks' },
        spec: {
          provider: 'eks',
          allowedVersions: ['1.31'],
          allowedRegions: ['us-east-1'],
          allowedNodeSizes: ['m5.large'],
          defaults: { region: 'us-east-1', version: '1.31', nodeGroups: [{ name: 'general', instanceType: 'm5.large', minSize: 1, maxSize: 3, desiredSize: 2 }] },
        },
      },
    ]);
    await waitUntil(async () => phaseOf(await stack.admin.get({ kind: 'AwsAccount', name: 'main' })) === 'Ready', 'AwsAccount main Ready', 30_000);
    await stopInfraController();
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  async function stopInfraController(): Promise<void> {
    const running = stack.infraController;
    if (running === undefined || running.process.exitCode !== null || running.process.signalCode !== null) return;
    running.process.kill('SIGKILL');
    await running.exited;
  }

  /** Starts a controller armed at `point` and waits for it to die there. */
  async function dieAt(point: string): Promise<void> {
    const dying: Child = await stack.startInfraController({ TUGBOAT_TEST_HOOKS: '1', TUGBOAT_KILL_POINT: point }, { expectDeath: true });
    const exit = await Promise.race([dying.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 60_000).unref())]);
    if (exit === undefined) {
      dying.process.kill('SIGKILL');
      throw new Error(`the infra-controller never reached ${point}:\n${dying.output().slice(-3000)}`);
    }
    expect(exit.signal).toBe('SIGKILL');
  }

  async function clusterPhase(name: string): Promise<string | undefined> {
    return phaseOf(await stack.admin.get({ kind: 'ClusterInstance', name }));
  }

  it('at every named point during creation and deletion: one of everything, nothing left', async () => {
    const before = await stack.awsCounters();
    await stack.admin.apply([{ kind: 'ClusterInstance', metadata: { name: 'named' }, spec: { definitionRef: { name: 'eks' }, accountRef: { name: 'main' } } }]);
    for (const point of CREATE_POINTS) await dieAt(point);
    await stack.startInfraController();
    await waitUntil(async () => (await clusterPhase('named')) === 'Ready', `ClusterInstance named Ready (${JSON.stringify(readyOf(await stack.admin.get({ kind: 'EksCluster', name: 'named' })))})`, 90_000);
    const made = countersDelta(before, await stack.awsCounters());
    expect(made.created).toEqual(ONE_CLUSTER);

    await stopInfraController();
    await stack.admin.delete({ kind: 'ClusterInstance', name: 'named' });
    for (const point of DELETE_POINTS) await dieAt(point);
    await stack.startInfraController();
    await waitUntil(async () => (await stack.admin.get({ kind: 'EksCluster', name: 'named' })) === undefined, 'EksCluster named gone', 90_000);
    await waitUntil(async () => (await stack.admin.get({ kind: 'ClusterInstance', name: 'named' })) === undefined, 'ClusterInstance named gone', 30_000);
    const all = countersDelta(before, await stack.awsCounters());
    expect(all.created).toEqual(ONE_CLUSTER);
    expect(all.deleted).toEqual(ONE_CLUSTER);
  }, 420_000);

  it('at seeded random moments during creation and deletion: one of everything, nothing left', async () => {
    await stopInfraController();
    // A seeded generator (mulberry32): the same kill times on every run, so a failure replays.
    let seed = 0x5eed11;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const before = await stack.awsCounters();
    await stack.admin.apply([{ kind: 'ClusterInstance', metadata: { name: 'chaos' }, spec: { definitionRef: { name: 'eks' }, accountRef: { name: 'main' } } }]);
    const kills = 8;
    for (let kill = 0; kill < kills; kill++) {
      if (kill === 4) {
        // Half the kills while it is created, half while it is deleted (whatever state it reached).
        await stack.admin.delete({ kind: 'ClusterInstance', name: 'chaos' });
      }
      const controller = await stack.startInfraController();
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.floor(random() * 2_500)));
      controller.process.kill('SIGKILL');
      await controller.exited;
    }
    await stack.startInfraController();
    await waitUntil(async () => (await stack.admin.get({ kind: 'ClusterInstance', name: 'chaos' })) === undefined, 'ClusterInstance chaos gone', 120_000);
    await waitUntil(async () => (await stack.admin.get({ kind: 'EksCluster', name: 'chaos' })) === undefined, 'EksCluster chaos gone', 30_000);
    const all = countersDelta(before, await stack.awsCounters());
    // Deleted before it was finished, it may not have got every part: but never one twice, and none left.
    for (const [type, count] of Object.entries(all.created)) expect(count).toBeLessThanOrEqual(ONE_CLUSTER[type] ?? 0);
    expect(all.deleted).toEqual(all.created);
  }, 300_000);
});
