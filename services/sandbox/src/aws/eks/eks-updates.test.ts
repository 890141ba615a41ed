// EKS update operations (UpdateClusterVersion, UpdateNodegroupConfig, UpdateNodegroupVersion,
// DescribeUpdate, ListUpdates) through the real AWS SDK v3 client, on the sandbox's scaled clock.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateClusterCommand,
  CreateNodegroupCommand,
  DeleteClusterCommand,
  DeleteNodegroupCommand,
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  DescribeUpdateCommand,
  EKSClient,
  ListUpdatesCommand,
  UpdateClusterVersionCommand,
  UpdateNodegroupConfigCommand,
  UpdateNodegroupVersionCommand,
} from '@aws-sdk/client-eks';
import { createEksPrerequisites } from '../../test-support/eks-prerequisites.js';
import { startTestSandbox, TEST_AWS_CREDENTIALS, waitFor, type TestSandbox } from '../../test-support/start-test-sandbox.js';

// 10 simulated minutes take 100 ms.
const SCALE = 6000;
// While a test needs to see an update InProgress: its 8 simulated minutes then take ~13 real hours.
const HELD_SCALE = 0.01;
// The roles and subnets EKS checks clusters and node groups against (kept across the restart with the rest of the state).
let ROLE: string;
let NODE_ROLE: string;
let VPC: { subnetIds: string[] };

let t: TestSandbox;
let eks: EKSClient;
let stateDir: string;

async function start(timeScale = SCALE): Promise<void> {
  t = await startTestSandbox({ timeScale, stateDir, saveDebounceMs: 10 });
  eks = new EKSClient({ endpoint: t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
}

async function stop(): Promise<void> {
  eks.destroy();
  await t.sandbox.close();
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'tugboat-sandbox-eks-updates-'));
  await start();
  const net = await createEksPrerequisites(t.url, TEST_AWS_CREDENTIALS);
  ROLE = net.roleArn;
  NODE_ROLE = net.nodeRoleArn;
  VPC = { subnetIds: net.subnetIds };
});

afterAll(async () => {
  await stop();
  await rm(stateDir, { recursive: true, force: true });
});

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}

/** Sets the time scale through the control API, which also re-times the transitions under way. */
async function setTimeScale(scale: number): Promise<void> {
  const response = await fetch(`${t.url}/_sandbox/time`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ scale }),
  });
  expect(await response.json()).toEqual({ scale });
}

async function successful(name: string, updateId: string, nodegroupName?: string) {
  return waitFor(async () => {
    const { update } = await eks.send(new DescribeUpdateCommand({ name, updateId, ...(nodegroupName ? { nodegroupName } : {}) }));
    return update?.status === 'Successful' ? update : undefined;
  }, 10_000, `update ${updateId} Successful`);
}

async function clusterWithNodegroup(name: string, version: string, desiredSize: number): Promise<void> {
  await eks.send(new CreateClusterCommand({ name, roleArn: ROLE, resourcesVpcConfig: VPC, version }));
  await waitFor(async () => ((await eks.send(new DescribeClusterCommand({ name }))).cluster?.status === 'ACTIVE' ? true : undefined));
  await eks.send(
    new CreateNodegroupCommand({
      clusterName: name,
      nodegroupName: 'workers',
      nodeRole: NODE_ROLE,
      subnets: VPC.subnetIds,
      scalingConfig: { minSize: 1, maxSize: 4, desiredSize },
    }),
  );
  await waitFor(async () =>
    (await eks.send(new DescribeNodegroupCommand({ clusterName: name, nodegroupName: 'workers' }))).nodegroup?.status === 'ACTIVE' ? true : undefined,
  );
}

describe('EKS updates', () => {
  it('upgrades 1.30 → 1.31 → 1.32 one minor version at a time, the node group following the control plane', async () => {
    await clusterWithNodegroup('upgrade', '1.30', 2);

    await setTimeScale(HELD_SCALE);
    const first = await eks.send(new UpdateClusterVersionCommand({ name: 'upgrade', version: '1.31', clientRequestToken: 'upgrade-1.31' }));
    expect(first.update).toMatchObject({
      status: 'InProgress',
      type: 'VersionUpdate',
      params: [
        { type: 'Version', value: '1.31' },
        { type: 'PlatformVersion', value: 'eks.1' },
      ],
      errors: [],
    });
    expect(first.update?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.update?.createdAt).toBeInstanceOf(Date);
    // A retried call with the same token is the same update.
    expect((await eks.send(new UpdateClusterVersionCommand({ name: 'upgrade', version: '1.31', clientRequestToken: 'upgrade-1.31' }))).update?.id).toBe(first.update?.id);

    const updating = (await eks.send(new DescribeClusterCommand({ name: 'upgrade' }))).cluster;
    expect(updating).toMatchObject({ status: 'UPDATING', version: '1.30' });
    // The Kubernetes API stays up during an upgrade.
    expect(updating?.endpoint).toBe(`${t.url}/k8s/upgrade-us-east-1`);
    expect(t.kube.clusters.get('upgrade-us-east-1')?.nodes).toHaveLength(2);
    expect((await eks.send(new DescribeUpdateCommand({ name: 'upgrade', updateId: first.update!.id! }))).update?.status).toBe('InProgress');
    expect(await errorOf(eks.send(new UpdateClusterVersionCommand({ name: 'upgrade', version: '1.31' })))).toMatchObject({
      name: 'ResourceInUseException',
      status: 409,
    });
    expect(
      await errorOf(eks.send(new UpdateNodegroupConfigCommand({ clusterName: 'upgrade', nodegroupName: 'workers', scalingConfig: { desiredSize: 3 } }))),
    ).toMatchObject({ name: 'ResourceInUseException', status: 409 });
    expect(await errorOf(eks.send(new DeleteClusterCommand({ name: 'upgrade' })))).toMatchObject({ name: 'ResourceInUseException' });

    await setTimeScale(SCALE);
    expect(await successful('upgrade', first.update!.id!)).toMatchObject({ status: 'Successful', type: 'VersionUpdate' });
    expect((await eks.send(new DescribeClusterCommand({ name: 'upgrade' }))).cluster).toMatchObject({ status: 'ACTIVE', version: '1.31' });

    // The node groups must catch up before the next control-plane step.
    const behind = await errorOf(eks.send(new UpdateClusterVersionCommand({ name: 'upgrade', version: '1.32' })));
    expect(behind).toMatchObject({ name: 'InvalidParameterException', status: 400 });
    expect(behind.message).toContain('workers');
    expect(
      await errorOf(eks.send(new UpdateNodegroupVersionCommand({ clusterName: 'upgrade', nodegroupName: 'workers', version: '1.32' }))),
    ).toMatchObject({ name: 'InvalidParameterException', message: expect.stringContaining('1.31') });
    const nodes = await eks.send(new UpdateNodegroupVersionCommand({ clusterName: 'upgrade', nodegroupName: 'workers' }));
    expect(nodes.update).toMatchObject({ status: 'InProgress', type: 'VersionUpdate', params: expect.arrayContaining([{ type: 'Version', value: '1.31' }]) });
    await successful('upgrade', nodes.update!.id!, 'workers');
    expect((await eks.send(new DescribeNodegroupCommand({ clusterName: 'upgrade', nodegroupName: 'workers' }))).nodegroup).toMatchObject({
      status: 'ACTIVE',
      version: '1.31',
      releaseVersion: expect.stringMatching(/^1\.31\./),
    });

    const second = await eks.send(new UpdateClusterVersionCommand({ name: 'upgrade', version: '1.32' }));
    await successful('upgrade', second.update!.id!);
    expect((await eks.send(new DescribeClusterCommand({ name: 'upgrade' }))).cluster).toMatchObject({ status: 'ACTIVE', version: '1.32' });

    const listed = await eks.send(new ListUpdatesCommand({ name: 'upgrade' }));
    expect(listed.updateIds?.sort()).toEqual([first.update!.id!, second.update!.id!].sort());
    expect((await eks.send(new ListUpdatesCommand({ name: 'upgrade', nodegroupName: 'workers' }))).updateIds).toEqual([nodes.update!.id!]);
    // A node group's update is found with its node group's name only.
    expect(await errorOf(eks.send(new DescribeUpdateCommand({ name: 'upgrade', updateId: nodes.update!.id! })))).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 404,
    });
  });

  it('refuses to skip a minor version, to go back, and versions it does not know', async () => {
    await eks.send(new CreateClusterCommand({ name: 'skip', roleArn: ROLE, resourcesVpcConfig: VPC, version: '1.30' }));
    await waitFor(async () => ((await eks.send(new DescribeClusterCommand({ name: 'skip' }))).cluster?.status === 'ACTIVE' ? true : undefined));
    for (const version of ['1.32', '1.29', '1.30', '9.99']) {
      const refused = await errorOf(eks.send(new UpdateClusterVersionCommand({ name: 'skip', version })));
      expect(refused).toMatchObject({ name: 'InvalidParameterException', status: 400, message: expect.stringContaining('version') });
    }
    expect((await eks.send(new ListUpdatesCommand({ name: 'skip' }))).updateIds).toEqual([]);
    expect(await errorOf(eks.send(new UpdateClusterVersionCommand({ name: 'no-such-cluster', version: '1.31' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(await errorOf(eks.send(new DescribeUpdateCommand({ name: 'skip', updateId: 'no-such-update' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(await errorOf(eks.send(new ListUpdatesCommand({ name: 'skip', addonName: 'vpc-cni' })))).toMatchObject({
      name: 'ResourceNotFoundException',
      message: expect.stringContaining('addonName'),
    });
  });

  it('scales a node group 2 → 4, the simulated cluster getting the nodes once the update succeeds', async () => {
    await clusterWithNodegroup('scale', '1.31', 2);
    expect(t.kube.clusters.get('scale-us-east-1')?.nodes).toHaveLength(2);

    for (const scalingConfig of [{ desiredSize: 5 }, { minSize: 3, maxSize: 2 }, { minSize: -1 }]) {
      expect(await errorOf(eks.send(new UpdateNodegroupConfigCommand({ clusterName: 'scale', nodegroupName: 'workers', scalingConfig })))).toMatchObject({
        name: 'InvalidParameterException',
        status: 400,
        message: expect.stringContaining('scalingConfig'),
      });
    }
    expect(await errorOf(eks.send(new UpdateNodegroupConfigCommand({ clusterName: 'scale', nodegroupName: 'workers' })))).toMatchObject({
      name: 'InvalidParameterException',
    });

    await setTimeScale(HELD_SCALE);
    const scaled = await eks.send(
      new UpdateNodegroupConfigCommand({ clusterName: 'scale', nodegroupName: 'workers', scalingConfig: { desiredSize: 4 }, labels: { addOrUpdateLabels: { pool: 'big' } } }),
    );
    expect(scaled.update).toMatchObject({
      status: 'InProgress',
      type: 'ConfigUpdate',
      params: [
        { type: 'DesiredSize', value: '4' },
        { type: 'LabelsToAdd', value: '{"pool":"big"}' },
      ],
    });
    expect((await eks.send(new DescribeNodegroupCommand({ clusterName: 'scale', nodegroupName: 'workers' }))).nodegroup?.status).toBe('UPDATING');
    expect(t.kube.clusters.get('scale-us-east-1')?.nodes).toHaveLength(2);
    expect(await errorOf(eks.send(new DeleteNodegroupCommand({ clusterName: 'scale', nodegroupName: 'workers' })))).toMatchObject({
      name: 'ResourceInUseException',
    });

    await setTimeScale(SCALE);
    await successful('scale', scaled.update!.id!, 'workers');
    expect((await eks.send(new DescribeNodegroupCommand({ clusterName: 'scale', nodegroupName: 'workers' }))).nodegroup).toMatchObject({
      status: 'ACTIVE',
      scalingConfig: { minSize: 1, maxSize: 4, desiredSize: 4 },
      labels: { pool: 'big' },
    });
    const kubeNodes = t.kube.clusters.get('scale-us-east-1')?.nodes ?? [];
    expect(kubeNodes).toHaveLength(4);
    expect(kubeNodes.every((node) => node.labels?.pool === 'big')).toBe(true);
  });

  it('keeps an update in progress across a restart, and finishes it afterwards', async () => {
    await clusterWithNodegroup('restart', '1.31', 1);
    await setTimeScale(HELD_SCALE);
    const update = await eks.send(new UpdateClusterVersionCommand({ name: 'restart', version: '1.32' }));
    await stop();

    await start(HELD_SCALE);
    expect((await eks.send(new DescribeUpdateCommand({ name: 'restart', updateId: update.update!.id! }))).update?.status).toBe('InProgress');
    expect((await eks.send(new DescribeClusterCommand({ name: 'restart' }))).cluster?.status).toBe('UPDATING');
    await setTimeScale(SCALE);
    await successful('restart', update.update!.id!);
    expect((await eks.send(new DescribeClusterCommand({ name: 'restart' }))).cluster).toMatchObject({ status: 'ACTIVE', version: '1.32' });
  });
});
