/**
 * The managed-services-controller SIGKILLed while it provisions, rotates and deletes a database
 * (issue 12): at every named point — right after an AWS create, rotate or delete call, before
 * anything records it — one after the other over one database's life, then at seeded random
 * moments while a second one is created and deleted. The sandbox's counters show exactly one
 * instance, subnet group and security group made per database, all deleted again, and one final
 * snapshot per database that got as far as an instance.
 */
import type { Resource } from '@tugboat/resource-model';
import { waitUntil, type Child } from './harness/cli-processes.js';
import { ACCOUNT_ID, EKS_KEYS, startEksStack, type AwsCounters, type EksStack } from './harness/eks-stack.js';

const CREATE_POINTS = ['db.after-create-subnet-group', 'db.after-create-security-group', 'db.after-create-instance'];
const DELETE_POINTS = ['db.after-delete-instance', 'db.after-delete-subnet-group', 'db.after-delete-security-group'];
const DB_ENV = { DB_POLL_MS: '250', AWS_RETRY_MS: '200', AWS_REQUEST_TIMEOUT_MS: '5000' };
const TYPES = ['rds:db-instance', 'rds:db-subnet-group', 'ec2:security-group'];

const phaseOf = (obj: Resource | undefined) => (obj?.status as { phase?: string } | undefined)?.phase;

function delta(before: AwsCounters, after: AwsCounters, type: string): { created: number; deleted: number } {
  return { created: (after.created[type] ?? 0) - (before.created[type] ?? 0), deleted: (after.deleted[type] ?? 0) - (before.deleted[type] ?? 0) };
}

describe('managed-services-controller killed while it provisions, rotates and deletes a database', () => {
  let stack: EksStack;
  let controller: Child | undefined;

  beforeAll(async () => {
    stack = await startEksStack({ name: 'db-faults', projects: ['shop'] });
    await stack.startInfraController();
    await stack.admin.apply([
      { kind: 'AwsAccount', metadata: { name: 'main' }, spec: { accountId: ACCOUNT_ID, region: 'us-east-1', endpoint: stack.sandboxUrl, ...EKS_KEYS } },
      {
        kind: 'ClusterDefinition',
        metadata: { name: 'eks' },
        spec: { provider: 'eks', allowedVersions: ['1.31'], allowedRegions: ['us-east-1'], allowedNodeSizes: ['m5.large'], defaults: { region: 'us-east-1', version: '1.31', nodeGroups: [{ name: 'general', instanceType: 'm5.large', minSize: 1, maxSize: 2 }] } },
      },
      { kind: 'ClusterInstance', metadata: { name: 'prod' }, spec: { definitionRef: { name: 'eks' }, accountRef: { name: 'main' } } },
      {
        kind: 'DatabaseDefinition',
        metadata: { name: 'pg' },
        spec: { engine: 'postgres', allowedVersions: ['16.6'], allowedInstanceClasses: ['db.t3.micro'], storageGb: { min: 20, max: 100 }, deletionPolicy: 'snapshot', defaults: { version: '16.6', instanceClass: 'db.t3.micro', storageGb: 20 } },
      },
    ]);
    await waitUntil(async () => phaseOf(await stack.admin.get({ kind: 'ClusterInstance', name: 'prod' })) === 'Ready', 'ClusterInstance prod Ready', 120_000);
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  async function stopController(): Promise<void> {
    if (controller === undefined || controller.process.exitCode !== null || controller.process.signalCode !== null) return;
    controller.process.kill('SIGKILL');
    await controller.exited;
  }

  async function dieAt(point: string): Promise<void> {
    const dying = await stack.startController('managed-services-controller', { ...DB_ENV, TUGBOAT_TEST_HOOKS: '1', TUGBOAT_KILL_POINT: point }, { expectDeath: true });
    const exit = await Promise.race([dying.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 60_000).unref())]);
    if (exit === undefined) {
      dying.process.kill('SIGKILL');
      throw new Error(`the managed-services-controller never reached ${point}:\n${dying.output().slice(-3000)}`);
    }
    expect(exit.signal).toBe('SIGKILL');
  }

  const database = (name: string) => ({ kind: 'DatabaseInstance', metadata: { name, project: 'shop' }, spec: { definitionRef: { name: 'pg' }, clusterRef: { name: 'prod' }, databaseName: 'app' } });
  const get = (name: string) => stack.admin.get({ kind: 'DatabaseInstance', name, project: 'shop' });

  it('at every named point while it creates, rotates and deletes: one of everything, nothing left but the final snapshot', async () => {
    const before = await stack.awsCounters();
    await stack.admin.apply([database('named')]);
    for (const point of CREATE_POINTS) await dieAt(point);
    controller = await stack.startController('managed-services-controller', DB_ENV);
    await waitUntil(async () => phaseOf(await get('named')) === 'Ready', 'DatabaseInstance named Ready', 90_000);
    const version = (await get('named'))?.status.outputs?.['passwordVersion'];

    await stopController();
    await stack.admin.patch({ kind: 'DatabaseInstance', name: 'named', project: 'shop' }, { spec: { passwordRotation: 'after-a-crash' } });
    await dieAt('db.after-rotate-password');
    controller = await stack.startController('managed-services-controller', DB_ENV);
    await waitUntil(
      async () => {
        const obj = await get('named');
        return phaseOf(obj) === 'Ready' && obj?.status.outputs?.['passwordVersion'] !== version && obj?.status.observedGeneration === obj?.metadata.generation;
      },
      'the rotated password published',
      90_000,
    );
    // One rotation for the one request, whatever the crash.
    const secretArn = String((await get('named'))?.status.outputs?.['secretArn']);
    const stages = (await stack.aws('secretsmanager', 'describe-secret', '--secret-id', secretArn)).VersionIdsToStages as Record<string, string[]>;
    expect(Object.values(stages).sort()).toEqual([['AWSCURRENT'], ['AWSPREVIOUS']]);

    await stopController();
    await stack.admin.delete({ kind: 'DatabaseInstance', name: 'named', project: 'shop' });
    for (const point of DELETE_POINTS) await dieAt(point);
    controller = await stack.startController('managed-services-controller', DB_ENV);
    await waitUntil(async () => (await get('named')) === undefined, 'DatabaseInstance named gone', 90_000);
    const after = await stack.awsCounters();
    for (const type of TYPES) expect([type, delta(before, after, type)]).toEqual([type, { created: 1, deleted: 1 }]);
    expect(delta(before, after, 'rds:db-snapshot')).toEqual({ created: 1, deleted: 0 });
  }, 420_000);

  it('at seeded random moments while it creates and deletes: never two of anything, nothing left', async () => {
    await stopController();
    let seed = 0xdb5eed;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const before = await stack.awsCounters();
    await stack.admin.apply([database('chaos')]);
    const kills = 6;
    for (let kill = 0; kill < kills; kill++) {
      if (kill === 3) await stack.admin.delete({ kind: 'DatabaseInstance', name: 'chaos', project: 'shop' });
      controller = await stack.startController('managed-services-controller', DB_ENV);
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.floor(random() * 2_000)));
      await stopController();
    }
    controller = await stack.startController('managed-services-controller', DB_ENV);
    await waitUntil(async () => (await get('chaos')) === undefined, 'DatabaseInstance chaos gone', 120_000);
    const after = await stack.awsCounters();
    for (const type of TYPES) {
      const { created, deleted } = delta(before, after, type);
      expect([type, created <= 1, deleted]).toEqual([type, true, created]);
    }
    expect(delta(before, after, 'rds:db-snapshot').created).toBeLessThanOrEqual(1);
  }, 300_000);
});
