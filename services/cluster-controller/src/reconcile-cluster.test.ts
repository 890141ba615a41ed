/**
 * The reconcile logic against the SDK's fake API and a fake cluster connection. The kinds here are
 * shaped as the issue-9 contract says (provider on the definition, `kubeconfig` a secret field,
 * ClusterInstance owned by the cluster-controller), so the test does not depend on the stored schema.
 */
import { createFakeApi, reconcileOnce } from '@tugboat/controller-sdk/testing';
import { KubeClusterError, type ClusterConnection, type ClusterConnections, type KubernetesObject } from '@tugboat/kube';
import { AWS_ACCOUNT, CLUSTER_DEFINITION, CLUSTER_INSTANCE, EKS_CLUSTER, type KindDefinition, type Resource } from '@tugboat/resource-model';
import { CLUSTER_ROLE, SYSTEM_NAMESPACE } from './base-configuration.js';
import { createClusterController } from './cluster-controller.js';
import type { ClusterSpec, ClusterStatus } from './cluster-types.js';

const DEFINITION: KindDefinition = {
  ...CLUSTER_DEFINITION,
  schema: {
    type: 'object',
    required: ['provider'],
    properties: { provider: { enum: ['kubeconfig', 'eks'] }, allowedVersions: { type: 'array', items: { type: 'string' } }, defaults: { type: 'object' } },
  },
};
const INSTANCE: KindDefinition = {
  ...CLUSTER_INSTANCE,
  controller: 'cluster-controller',
  secretFields: ['kubeconfig'],
  schema: {
    type: 'object',
    required: ['definitionRef'],
    properties: {
      definitionRef: { type: 'object' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      accountRef: { type: 'object' },
      region: { type: 'string' },
      version: { type: 'string' },
      nodeGroups: { type: 'array' },
    },
  },
};

/** A cluster whose answers the test sets; records what was applied and deleted. */
function fakeCluster() {
  const state = {
    failure: undefined as KubeClusterError | undefined,
    version: { gitVersion: 'v1.32.0', major: '1', minor: '32' },
    nodes: [{ name: 'n1', ready: true }, { name: 'n2', ready: true }],
    present: new Map<string, KubernetesObject>(),
    applied: [] as Array<{ object: KubernetesObject; fieldManager: string }>,
    kubeconfigs: [] as string[],
    bearerTokens: [] as Array<() => Promise<string>>,
  };
  const id = (object: KubernetesObject) => `${object.kind}/${object.metadata?.namespace ?? ''}/${object.metadata?.name}`;
  const guard = () => {
    if (state.failure) throw state.failure;
  };
  const connection: ClusterConnection = {
    uid: 'u',
    endpoint: 'https://cluster.example:6443',
    context: 'c',
    serverVersion: async () => (guard(), state.version),
    listNodes: async () => (guard(), state.nodes),
    apply: async (object, options) => {
      guard();
      state.applied.push({ object, fieldManager: options.fieldManager });
      state.present.set(id(object), object);
      return object;
    },
    read: async (object) => (guard(), state.present.get(id(object)) as typeof object | undefined),
    delete: async (object) => (guard(), state.present.delete(id(object as KubernetesObject))),
    isNamespaced: async (_apiVersion, kind) => (guard(), !['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(kind)),
    list: async () => (guard(), []),
    ensureNamespace: async () => {
      throw new Error('not used by the cluster-controller');
    },
  };
  const connections: ClusterConnections = {
    connect: (input) => {
      state.kubeconfigs.push(input.kubeconfig);
      if (input.bearerToken) state.bearerTokens.push(input.bearerToken);
      return connection;
    },
    drop: () => {},
    size: 1,
  };
  return { state, connections };
}

async function setup(provider: 'kubeconfig' | 'eks', definitionExtra: Record<string, unknown> = {}, instanceExtra: Record<string, unknown> = {}) {
  const api = createFakeApi({
    kinds: [DEFINITION, INSTANCE, AWS_ACCOUNT, EKS_CLUSTER],
    identity: { name: 'cluster-controller', type: 'controller', controller: 'cluster-controller' },
  });
  await api.create({ kind: 'ClusterDefinition', metadata: { name: 'def' }, spec: { provider, ...definitionExtra } });
  if (provider === 'eks') {
    await api.create({ kind: 'AwsAccount', metadata: { name: 'main' }, spec: { accountId: '123456789012', region: 'eu-west-1', accessKeyId: 'AKIAEXAMPLEEXAMPLE01', secretAccessKey: 'shh' } });
  }
  const obj = await api.create({
    kind: 'ClusterInstance',
    metadata: { name: 'local' },
    spec: provider === 'kubeconfig' ? { definitionRef: { name: 'def' }, kubeconfig: 'apiVersion: v1\nkind: Config\n' } : { definitionRef: { name: 'def' }, ...instanceExtra },
  });
  const cluster = fakeCluster();
  const controller = createClusterController({ connections: cluster.connections, healthCheckEveryMs: 30_000, degradedRetryMs: 5_000 });
  const run = async () => reconcileOnce(controller, obj, { api });
  return { api, cluster, run, obj };
}

const condition = (obj: Resource<ClusterSpec, ClusterStatus> | undefined, type: string) => obj?.status.conditions?.find((c) => c.type === type);

describe('cluster-controller reconcile', () => {
  it('connects with the secret kubeconfig, applies the base configuration and reports Ready with outputs', async () => {
    const { cluster, run } = await setup('kubeconfig');
    const { report, object } = await run();
    expect(report.outcome).toBe('requeue');
    expect(report.disposition).toEqual({ action: 'nak', delayMs: 30_000 });
    expect(cluster.state.kubeconfigs).toEqual(['apiVersion: v1\nkind: Config\n']);
    expect(object?.status.phase).toBe('Ready');
    expect(object?.status.outputs).toEqual({ endpoint: 'https://cluster.example:6443', serverVersion: 'v1.32.0', readyNodes: 2, nodes: 2 });
    expect(condition(object as Resource<ClusterSpec, ClusterStatus>, 'Connected')).toMatchObject({ status: 'True', reason: 'Connected' });
    expect(condition(object as Resource<ClusterSpec, ClusterStatus>, 'Ready')).toMatchObject({ status: 'True' });
    expect(cluster.state.applied.map((a) => `${a.object.kind}:${a.object.metadata?.name}`)).toEqual([
      `Namespace:${SYSTEM_NAMESPACE}`,
      'ServiceAccount:tugboat',
      `ClusterRole:${CLUSTER_ROLE}`,
      `ClusterRoleBinding:${CLUSTER_ROLE}`,
    ]);
    for (const { object: applied, fieldManager } of cluster.state.applied) {
      expect(fieldManager).toBe('tugboat-cluster');
      expect(applied.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'tugboat', 'tugboat.dev/cluster': 'local' });
    }
  });

  it('turns Degraded with the reason when the cluster is unreachable, and Ready again by itself', async () => {
    const { cluster, run } = await setup('kubeconfig');
    await run();
    cluster.state.failure = new KubeClusterError('list nodes: cannot reach https://cluster.example:6443 (ECONNREFUSED)', { reason: 'Unreachable', endpoint: 'https://cluster.example:6443' });
    const down = await run();
    expect(down.report.disposition).toEqual({ action: 'nak', delayMs: 5_000 });
    expect(down.object?.status.phase).toBe('Degraded');
    expect(condition(down.object as Resource<ClusterSpec, ClusterStatus>, 'Connected')).toMatchObject({ status: 'False', reason: 'Unreachable', message: expect.stringContaining('ECONNREFUSED') });
    expect(condition(down.object as Resource<ClusterSpec, ClusterStatus>, 'Ready')).toMatchObject({ status: 'False', reason: 'Unreachable' });
    // What was last seen stays beside the endpoint.
    expect(down.object?.status.outputs).toMatchObject({ endpoint: 'https://cluster.example:6443', serverVersion: 'v1.32.0' });

    cluster.state.failure = undefined;
    const back = await run();
    expect(back.object?.status.phase).toBe('Ready');
    expect(condition(back.object as Resource<ClusterSpec, ClusterStatus>, 'Connected')).toMatchObject({ status: 'True' });
  });

  it('reports a server version outside the definition as VersionAllowed=False and Degraded', async () => {
    const { run } = await setup('kubeconfig', { allowedVersions: ['1.30', '1.31'] });
    const { object } = await run();
    expect(object?.status.phase).toBe('Degraded');
    expect(condition(object as Resource<ClusterSpec, ClusterStatus>, 'VersionAllowed')).toMatchObject({ status: 'False', message: expect.stringContaining('1.30, 1.31') });
  });

  it('refuses an eks cluster without an account, region or version: Failed naming the fields', async () => {
    const { api, run } = await setup('eks');
    const { report, object } = await run();
    expect(report.outcome).toBe('done');
    expect(object?.status.phase).toBe('Failed');
    expect(condition(object as Resource<ClusterSpec, ClusterStatus>, 'Ready')).toMatchObject({ reason: 'InvalidSpec', message: expect.stringContaining('spec.accountRef') });
    expect(api.object({ kind: 'EksCluster', name: 'local' })).toBeUndefined();
  });

  it('writes the EksCluster of an eks cluster (owned by it, defaults filled in), waits for it, and follows spec changes', async () => {
    const defaults = { region: 'eu-west-1', version: '1.31', nodeGroups: [{ name: 'general', instanceType: 'm5.large', minSize: 2, maxSize: 4 }] };
    const { api, cluster, run } = await setup('eks', { defaults }, { accountRef: { name: 'main' }, version: '1.32' });
    const first = await run();
    expect(first.report.outcome).toBe('requeue');
    expect(first.object?.status.phase).toBe('Progressing');
    expect(condition(first.object as Resource<ClusterSpec, ClusterStatus>, 'Ready')).toMatchObject({ reason: 'Provisioning', message: expect.stringContaining('EksCluster local is Pending') });
    const eks = api.object({ kind: 'EksCluster', name: 'local' });
    expect(eks?.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'ClusterInstance', name: 'local' })]);
    expect(eks?.spec).toEqual({
      accountRef: { name: 'main' },
      region: 'eu-west-1',
      version: '1.32',
      nodeGroups: [{ name: 'general', instanceTypes: ['m5.large'], minSize: 2, maxSize: 4 }],
    });
    expect(cluster.state.kubeconfigs).toEqual([]);

    // The infra-controller's step shows through.
    api.setStatus({ kind: 'EksCluster', name: 'local' }, { phase: 'Progressing', conditions: [{ type: 'Ready', status: 'False', reason: 'WaitingForCluster', message: 'EKS cluster local is CREATING' }] });
    const waiting = await run();
    expect(condition(waiting.object as Resource<ClusterSpec, ClusterStatus>, 'Ready')?.message).toBe('EksCluster local is Progressing, WaitingForCluster: EKS cluster local is CREATING');

    // A changed instance changes the EksCluster (one write), and a repeat writes nothing.
    await api.patch({ kind: 'ClusterInstance', name: 'local' }, { spec: { version: '1.33' } });
    const current = api.object({ kind: 'ClusterInstance', name: 'local' })!;
    await reconcileOnce(createClusterController({ connections: cluster.connections }), current, { api });
    const changed = api.object({ kind: 'EksCluster', name: 'local' });
    expect(changed?.spec).toMatchObject({ version: '1.33' });
    await reconcileOnce(createClusterController({ connections: cluster.connections }), current, { api });
    expect(api.object({ kind: 'EksCluster', name: 'local' })?.metadata.resourceVersion).toBe(changed?.metadata.resourceVersion);
  });

  // A failure of the spec before, read right after the fix was written, made the instance Failed at
  // its new generation, and a Failed object is not reconciled again: it stayed Failed once Ready.
  it('does not pass on a failure the infra-controller reported for an earlier spec', async () => {
    const { api, cluster } = await setup('eks', { defaults: { region: 'eu-west-1', version: '1.31' } }, { accountRef: { name: 'main' }, version: '1.32' });
    const controller = createClusterController({ connections: cluster.connections });
    await reconcileOnce(controller, api.object({ kind: 'ClusterInstance', name: 'local' })!, { api });
    const eks = { kind: 'EksCluster', name: 'local' };
    api.setStatus(eks, { phase: 'Failed', observedGeneration: 1, step: 'CreatingNodegroups', conditions: [{ type: 'Ready', status: 'False', reason: 'ProvisioningFailed', message: 'CreatingNodegroups: desiredSize (9) must be between minSize (5) and maxSize (2)' }] });
    const failed = await reconcileOnce(controller, api.object({ kind: 'ClusterInstance', name: 'local' })!, { api });
    expect(failed.object?.status.phase).toBe('Failed');

    await api.patch({ kind: 'ClusterInstance', name: 'local' }, { spec: { version: '1.33' } });
    const fixed = await reconcileOnce(controller, api.object({ kind: 'ClusterInstance', name: 'local' })!, { api });
    expect(api.object(eks)?.metadata.generation).toBe(2);
    expect(fixed.object?.status.phase).toBe('Progressing');
    expect(condition(fixed.object as Resource<ClusterSpec, ClusterStatus>, 'Ready')).toMatchObject({
      reason: 'Provisioning',
      message: 'EksCluster local waits for the infra-controller to apply generation 2 (for generation 1 it reported Failed, CreatingNodegroups: desiredSize (9) must be between minSize (5) and maxSize (2))',
    });
  });

  it('reports an EksCluster of that name that is not its own, and leaves it alone', async () => {
    const { api, run } = await setup('eks', { defaults: { region: 'eu-west-1', version: '1.31' } }, { accountRef: { name: 'main' } });
    await api.create({ kind: 'EksCluster', metadata: { name: 'local' }, spec: { accountRef: { name: 'main' }, region: 'us-east-1', version: '1.30' } });
    const { object } = await run();
    expect(object?.status.phase).toBe('Failed');
    expect(condition(object as Resource<ClusterSpec, ClusterStatus>, 'Ready')).toMatchObject({ reason: 'NameTaken' });
    expect(api.object({ kind: 'EksCluster', name: 'local' })?.spec).toMatchObject({ region: 'us-east-1', version: '1.30' });
  });

  it('connects to a provisioned eks cluster with an EKS token from its account, and waits for the EksCluster on delete', async () => {
    const { api, cluster, run, obj } = await setup('eks', { defaults: { region: 'eu-west-1', version: '1.31' } }, { accountRef: { name: 'main' } });
    await run();
    const outputs = { clusterName: 'local', region: 'eu-west-1', endpoint: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com', certificateAuthority: Buffer.from('ca').toString('base64') };
    api.setStatus({ kind: 'EksCluster', name: 'local' }, { phase: 'Ready', observedGeneration: 1, outputs });
    const ready = await run();
    expect(ready.object?.status.phase).toBe('Ready');
    expect(ready.object?.status.outputs).toMatchObject({ provider: 'eks', clusterName: 'local', region: 'eu-west-1', certificateAuthority: outputs.certificateAuthority });
    expect(condition(ready.object as Resource<ClusterSpec, ClusterStatus>, 'Infrastructure')).toMatchObject({ status: 'True' });
    // The kubeconfig names the endpoint and CA; the token comes with every request.
    expect(JSON.parse(cluster.state.kubeconfigs.at(-1)!)).toMatchObject({ clusters: [{ cluster: { server: outputs.endpoint, 'certificate-authority-data': outputs.certificateAuthority } }] });
    const token = await cluster.state.bearerTokens.at(-1)!();
    expect(token).toMatch(/^k8s-aws-v1\./);
    const url = new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString());
    expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^AKIAEXAMPLEEXAMPLE01\//);

    // Deleting: the EksCluster is asked to go, and the instance waits for it.
    await api.delete({ kind: 'ClusterInstance', name: 'local' });
    const waiting = await run();
    expect(waiting.report.outcome).toBe('requeue');
    expect(waiting.object?.status.phase).toBe('Deleting');
    expect(api.object({ kind: 'EksCluster', name: 'local' })?.metadata.deletionRequestedAt).not.toBeNull();
    expect(condition(waiting.object as Resource<ClusterSpec, ClusterStatus>, 'Ready')).toMatchObject({ reason: 'WaitingForInfrastructure', message: expect.stringContaining('EksCluster local') });
    api.removeObject({ kind: 'EksCluster', name: 'local' });
    const done = await reconcileOnce(createClusterController({ connections: cluster.connections }), obj, { api });
    expect(done.report.outcome).toBe('finalized');
  });

  it('removes the base configuration on delete, and keeps the finalizer with the reason while the cluster is down', async () => {
    const { api, cluster, run, obj } = await setup('kubeconfig');
    await run();
    await api.delete({ kind: 'ClusterInstance', name: 'local' });
    cluster.state.failure = new KubeClusterError('delete ClusterRoleBinding: cannot reach https://cluster.example:6443 (ECONNREFUSED)', { reason: 'Unreachable' });
    const stuck = await run();
    expect(stuck.report.outcome).toBe('error');
    expect(stuck.object?.metadata.finalizers).toContain('cluster-controller');
    expect(stuck.object?.status.phase).toBe('Deleting');
    expect(condition(stuck.object as Resource<ClusterSpec, ClusterStatus>, 'Connected')).toMatchObject({
      status: 'False',
      reason: 'Unreachable',
      message: expect.stringContaining('tug delete clusterinstance local --force'),
    });

    cluster.state.failure = undefined;
    const done = await reconcileOnce(createClusterController({ connections: cluster.connections }), obj, { api });
    expect(done.report.outcome).toBe('finalized');
    expect(done.object).toBeUndefined();
    expect([...cluster.state.present.keys()].filter((key) => !key.startsWith('ServiceAccount'))).toEqual([]);
  });
});
