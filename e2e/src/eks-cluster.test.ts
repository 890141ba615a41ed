/**
 * Clusters from nothing (issue 11), end to end: the real API, NATS, the sandbox (AWS and
 * Kubernetes, 300× time) and the infra-, cluster- and workload-controllers as processes.
 *
 * - An AwsAccount, an eks ClusterDefinition and a ClusterInstance become a VPC with its subnets and
 *   routing, two IAM roles, an EKS cluster and a node group; the instance turns Ready through an
 *   EKS token, a workload runs on it, day-two changes (node count, two minor versions, an instance
 *   type) converge, and deleting it all leaves nothing in the account: every AWS resource the
 *   sandbox counted as created was deleted, and none was created twice. Throttling is injected on
 *   the way.
 * - Refused credentials (unknown keys, a wrong external id) turn the account Failed with AWS's
 *   message, and no provisioning call is made.
 * - The infra-controller is SIGKILLed at every named point, right after a create or delete call
 *   and before its status write, and then at seeded random moments, while a cluster is created and
 *   deleted: still exactly one of everything, and nothing left behind.
 */
import { isErrorCode, type Condition, type Resource } from '@tugboat/resource-model';
import { waitUntil } from './harness/cli-processes.js';
import { ACCOUNT_ID, countersDelta, EKS_KEYS, ONE_CLUSTER, startEksStack, type AwsCounters, type EksStack } from './harness/eks-stack.js';

const WORKLOAD_DEFINITION = {
  kind: 'WorkloadDefinition',
  metadata: { name: 'hello' },
  spec: { container: { image: 'nginxdemos/hello:0.4', ports: [{ name: 'http', port: 80 }], replicas: 2 }, overridable: ['replicas'] },
};

interface StatusView {
  phase?: string;
  observedGeneration?: number;
  conditions?: Condition[];
  outputs?: Record<string, unknown>;
  inventory?: Array<{ type: string; id: string }>;
}

const statusOf = (obj: Resource | undefined) => (obj?.status ?? {}) as StatusView;
const readyOf = (obj: Resource | undefined) => statusOf(obj).conditions?.find((c) => c.type === 'Ready');


function account(name: string, spec: Record<string, unknown>, endpoint: string) {
  return { kind: 'AwsAccount', metadata: { name }, spec: { accountId: ACCOUNT_ID, region: 'us-east-1', endpoint, ...spec } };
}

const definition = {
  kind: 'ClusterDefinition',
  metadata: { name: 'eks-standard' },
  spec: {
    provider: 'eks',
    allowedVersions: ['1.30', '1.31', '1.32'],
    allowedRegions: ['us-east-1'],
    allowedNodeSizes: ['m5.large', 'm5.xlarge'],
    maxNodesPerGroup: 10,
    defaults: { region: 'us-east-1', version: '1.30', nodeGroups: [{ name: 'general', instanceType: 'm5.large', minSize: 1, maxSize: 6, desiredSize: 2 }] },
  },
};

function clusterInstance(name: string, accountName: string, extra: Record<string, unknown> = {}) {
  return { kind: 'ClusterInstance', metadata: { name }, spec: { definitionRef: { name: 'eks-standard' }, accountRef: { name: accountName }, ...extra } };
}

/** Exactly `expected` of each AWS type created since `before`, and as many deleted: nothing twice, nothing left. */
function expectNothingLeft(before: AwsCounters, after: AwsCounters, expected: Record<string, number> = ONE_CLUSTER): void {
  const changed = countersDelta(before, after);
  expect(changed.created).toEqual(expected);
  expect(changed.deleted).toEqual(expected);
}

describe('EKS clusters from nothing (API, sandbox and controllers as processes)', () => {
  let stack: EksStack;

  beforeAll(async () => {
    stack = await startEksStack({ name: 'eks-e2e', projects: ['shop'] });
    await stack.startInfraController();
    await stack.admin.apply([account('main', { accessKeyId: EKS_KEYS.accessKeyId, secretAccessKey: EKS_KEYS.secretAccessKey }, stack.sandboxUrl), definition]);
    await waitUntil(async () => statusOf(await stack.admin.get({ kind: 'AwsAccount', name: 'main' })).phase === 'Ready', 'AwsAccount main Ready', 30_000);
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  async function objectWhen(kind: string, name: string, what: string, test: (obj: Resource) => boolean, timeoutMs = 60_000, project?: string): Promise<Resource> {
    return waitUntil(
      async () => {
        const obj = await stack.admin.get({ kind, name, ...(project ? { project } : {}) });
        return obj !== undefined && test(obj) ? obj : undefined;
      },
      `${kind} ${name}: ${what} (infra-controller output:\n${stack.infraController?.output().slice(-3000) ?? ''})`,
      timeoutMs,
    );
  }

  async function goneWhen(kind: string, name: string, timeoutMs = 90_000, project?: string): Promise<void> {
    await waitUntil(async () => (await stack.admin.get({ kind, name, ...(project ? { project } : {}) })) === undefined, `${kind} ${name} gone`, timeoutMs);
  }

  it('provisions an EKS cluster from nothing, runs a workload on it, changes it on day two, and deletes everything it made', async () => {
    const before = await stack.awsCounters();
    // Throttling on the way: the first calls of a few operations are refused with AWS's throttling errors.
    for (const [service, operation] of [['ec2', 'CreateVpc'], ['ec2', 'CreateNatGateway'], ['eks', 'CreateCluster'], ['eks', 'DescribeCluster'], ['eks', 'CreateNodegroup']]) {
      await stack.addFault({ service, operation, failNext: 2, throttle: true });
    }
    await stack.admin.apply([clusterInstance('prod', 'main')]);

    const ready = await objectWhen('ClusterInstance', 'prod', 'Ready', (obj) => statusOf(obj).phase === 'Ready', 90_000);
    // Every throttling rule was hit (spent rules are gone).
    expect(await stack.faults()).toEqual([]);
    const outputs = statusOf(ready).outputs!;
    expect(outputs).toMatchObject({ provider: 'eks', clusterName: 'prod', region: 'us-east-1', readyNodes: 2, nodes: 2 });
    expect(readyOf(ready)?.status).toBe('True');
    expect(statusOf(ready).conditions?.find((c) => c.type === 'Infrastructure')).toMatchObject({ status: 'True' });
    const eks = await stack.admin.get({ kind: 'EksCluster', name: 'prod' });
    expect(statusOf(eks).phase).toBe('Ready');
    const inventoryTypes = (statusOf(eks).inventory ?? []).map((item) => item.type);
    for (const type of ['vpc', 'subnet', 'nat-gateway', 'iam-role', 'eks-cluster', 'nodegroup']) expect(inventoryTypes).toContain(type);

    // What Tugboat made, seen by the aws CLI.
    const described = (await stack.aws('eks', 'describe-cluster', '--name', 'prod')).cluster as Record<string, unknown>;
    expect(described).toMatchObject({ status: 'ACTIVE', version: '1.30', endpoint: outputs['endpoint'] });
    const vpcId = (described.resourcesVpcConfig as { vpcId: string }).vpcId;
    const vpcs = (await stack.aws('ec2', 'describe-vpcs', '--vpc-ids', vpcId)).Vpcs as Array<{ Tags?: Array<{ Key: string; Value: string }> }>;
    expect(vpcs).toHaveLength(1);
    expect(vpcs[0]!.Tags).toEqual(expect.arrayContaining([expect.objectContaining({ Key: 'tugboat.dev/owner-uid', Value: eks!.metadata.uid })]));
    const subnets = (await stack.aws('ec2', 'describe-subnets', '--filters', `Name=vpc-id,Values=${vpcId}`)).Subnets as Array<{ AvailabilityZone: string }>;
    expect(new Set(subnets.map((subnet) => subnet.AvailabilityZone)).size).toBeGreaterThanOrEqual(2);
    const roles = ((await stack.aws('iam', 'list-roles')).Roles as Array<{ RoleName: string }>).map((role) => role.RoleName);
    expect(roles.filter((name) => name.includes('prod'))).toHaveLength(2);

    // A workload on it, Ready; its objects are in the EKS cluster (kubectl, through the sandbox's kubeconfig).
    await stack.admin.apply([
      WORKLOAD_DEFINITION,
      { kind: 'WorkloadInstance', metadata: { name: 'web', project: 'shop' }, spec: { definitionRef: { name: 'hello' }, clusterRef: { name: 'prod' } } },
    ]);
    await objectWhen('WorkloadInstance', 'web', 'Ready', (obj) => statusOf(obj).phase === 'Ready', 60_000, 'shop');
    const deployments = JSON.parse(await stack.kubectl('--context', 'prod-us-east-1', 'get', 'deployments', '-A', '-l', 'tugboat.dev/instance', '-o', 'json')) as { items: unknown[] };
    expect(deployments.items).toHaveLength(1);

    // Day two: 2 → 4 nodes in place.
    await stack.admin.patch({ kind: 'ClusterInstance', name: 'prod' }, { spec: { nodeGroups: [{ name: 'general', instanceType: 'm5.large', minSize: 1, maxSize: 6, desiredSize: 4 }] } });
    await objectWhen('ClusterInstance', 'prod', 'Ready with 4 nodes', (obj) => statusOf(obj).phase === 'Ready' && statusOf(obj).outputs?.['readyNodes'] === 4, 60_000);
    const scaled = await stack.admin.get({ kind: 'EksCluster', name: 'prod' });
    const nodegroupName = (statusOf(scaled).outputs?.['nodegroups'] as Array<{ name: string; nodegroupName: string }>).find((g) => g.name === 'general')!.nodegroupName;
    const group = (await stack.aws('eks', 'describe-nodegroup', '--cluster-name', 'prod', '--nodegroup-name', nodegroupName)).nodegroup as { scalingConfig: { desiredSize: number } };
    expect(group.scalingConfig.desiredSize).toBe(4);

    // Day two: 1.30 → 1.32, one minor version at a time, control plane then node groups.
    await stack.admin.patch({ kind: 'ClusterInstance', name: 'prod' }, { spec: { version: '1.32' } });
    const upgraded = await objectWhen('ClusterInstance', 'prod', 'Ready on 1.32', (obj) => statusOf(obj).phase === 'Ready' && String(statusOf(obj).outputs?.['serverVersion']).startsWith('v1.32'), 90_000);
    expect(statusOf(upgraded).outputs?.['serverVersion']).toMatch(/^v1\.32/);
    expect(((await stack.aws('eks', 'describe-cluster', '--name', 'prod')).cluster as { version: string }).version).toBe('1.32');
    const updates = (await stack.aws('eks', 'list-updates', '--name', 'prod')).updateIds as string[];
    const versionUpdates = [];
    for (const id of updates) {
      const update = (await stack.aws('eks', 'describe-update', '--name', 'prod', '--update-id', id)).update as { type: string; params: Array<{ type: string; value: string }> };
      if (update.type === 'VersionUpdate') versionUpdates.push(update.params.find((p) => p.type === 'Version')?.value);
    }
    expect(versionUpdates.sort()).toEqual(['1.31', '1.32']);
    const upgradedGroups = (await stack.aws('eks', 'list-nodegroups', '--cluster-name', 'prod')).nodegroups as string[];
    for (const name of upgradedGroups) {
      expect(((await stack.aws('eks', 'describe-nodegroup', '--cluster-name', 'prod', '--nodegroup-name', name)).nodegroup as { version: string }).version).toBe('1.32');
    }

    // Day two: another instance type needs a new node group; the old one goes once the new one is ACTIVE.
    await stack.admin.patch({ kind: 'ClusterInstance', name: 'prod' }, { spec: { nodeGroups: [{ name: 'general', instanceType: 'm5.xlarge', minSize: 1, maxSize: 6, desiredSize: 4 }] } });
    await objectWhen('ClusterInstance', 'prod', 'Ready on m5.xlarge', (obj) => statusOf(obj).phase === 'Ready' && statusOf(obj).observedGeneration === obj.metadata.generation, 90_000);
    await waitUntil(
      async () => {
        const names = (await stack.aws('eks', 'list-nodegroups', '--cluster-name', 'prod')).nodegroups as string[];
        if (names.length !== 1) return undefined;
        const only = (await stack.aws('eks', 'describe-nodegroup', '--cluster-name', 'prod', '--nodegroup-name', names[0]!)).nodegroup as { instanceTypes: string[]; status: string };
        return only.instanceTypes.join() === 'm5.xlarge' && only.status === 'ACTIVE' ? true : undefined;
      },
      'one node group, of m5.xlarge',
      60_000,
    );

    // Deletion: refused while the workload runs there; then everything goes, in reverse.
    const refused = await stack.admin.delete({ kind: 'ClusterInstance', name: 'prod' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isErrorCode(refused, 'Conflict')).toBe(true);
    await stack.admin.delete({ kind: 'WorkloadInstance', name: 'web', project: 'shop' });
    await goneWhen('WorkloadInstance', 'web', 60_000, 'shop');
    await stack.admin.delete({ kind: 'ClusterInstance', name: 'prod' });
    const deleting = await objectWhen('ClusterInstance', 'prod', 'Deleting, waiting for the infra-controller', (obj) => readyOf(obj)?.reason === 'WaitingForInfrastructure', 30_000).catch(() => undefined);
    if (deleting) expect(readyOf(deleting)?.message).toContain('EksCluster prod');
    await goneWhen('ClusterInstance', 'prod', 120_000);
    await goneWhen('EksCluster', 'prod', 10_000);
    // The replacement made a second node group; everything else exactly once, and all of it deleted.
    expectNothingLeft(before, await stack.awsCounters(), { ...ONE_CLUSTER, 'eks:nodegroup': 2 });
    expect((await stack.aws('eks', 'list-clusters')).clusters).toEqual([]);
    expect(((await stack.aws('ec2', 'describe-vpcs', '--filters', 'Name=tag-key,Values=tugboat.dev/owner-uid')).Vpcs as unknown[]).length).toBe(0);
  }, 480_000);

  it('refuses bad credentials with AWS’s message and provisions nothing with them', async () => {
    const before = await stack.awsCounters();
    // The role exists and wants another external id: AssumeRole is refused (403 AccessDenied).
    await stack.aws(
      'iam',
      'create-role',
      '--role-name',
      'tugboat-deployer',
      '--assume-role-policy-document',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': 'the-right-one' } } }],
      }),
    );
    await stack.admin.apply([
      account('unknown-keys', { accessKeyId: 'AKIANOSUCHKEY0000001', secretAccessKey: 'wrong' }, stack.sandboxUrl),
      account('wrong-external-id', { accessKeyId: EKS_KEYS.accessKeyId, secretAccessKey: EKS_KEYS.secretAccessKey, roleArn: `arn:aws:iam::${ACCOUNT_ID}:role/tugboat-deployer`, externalId: 'not-the-one' }, stack.sandboxUrl),
    ]);
    const unknown = await objectWhen('AwsAccount', 'unknown-keys', 'Failed', (obj) => statusOf(obj).phase === 'Failed', 20_000);
    expect(readyOf(unknown)).toMatchObject({ reason: 'InvalidCredentials', message: expect.stringContaining('InvalidClientTokenId') });
    const external = await objectWhen('AwsAccount', 'wrong-external-id', 'Failed', (obj) => statusOf(obj).phase === 'Failed', 20_000);
    expect(readyOf(external)?.message).toContain('AccessDenied');

    // A cluster in the refused account waits, saying why, and no AWS call provisions anything.
    await stack.admin.apply([clusterInstance('refused', 'unknown-keys')]);
    const waiting = await objectWhen('EksCluster', 'refused', 'waiting for its account', (obj) => readyOf(obj)?.reason === 'AccountNotReady', 20_000);
    expect(readyOf(waiting)?.message).toContain('unknown-keys');
    const instance = await objectWhen('ClusterInstance', 'refused', 'Progressing with the account’s reason', (obj) => (readyOf(obj)?.message ?? '').includes('AccountNotReady'), 20_000);
    expect(statusOf(instance).phase).toBe('Progressing');
    const after = await stack.awsCounters();
    // One role the test made itself; nothing else.
    expect(after.created).toEqual({ ...before.created, 'iam:role': (before.created['iam:role'] ?? 0) + 1 });
    await stack.admin.delete({ kind: 'ClusterInstance', name: 'refused' });
    await goneWhen('ClusterInstance', 'refused');
    await goneWhen('EksCluster', 'refused');
    await stack.aws('iam', 'delete-role', '--role-name', 'tugboat-deployer');
    for (const name of ['unknown-keys', 'wrong-external-id']) await stack.admin.delete({ kind: 'AwsAccount', name });
  }, 120_000);
});
