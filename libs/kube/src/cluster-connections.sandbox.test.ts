/**
 * The connection against the sandbox's simulated Kubernetes API server (in this process, on a free
 * port): discovery of a kind's scope, listing by label selector, reading an object with its status,
 * deleting by identity and creating-or-reading a namespace, as a controller does them.
 */
import { createSandboxServer, type SandboxServer } from '@tugboat/sandbox';
import pino from 'pino';
import { createClusterConnections, type ClusterConnection } from './cluster-connections.js';
import type { KubernetesObject } from '@kubernetes/client-node';

/** Polls until `check` returns something other than `undefined`. */
async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('a cluster connection against the sandbox', () => {
  let sandbox: SandboxServer;
  let cluster: ClusterConnection;

  beforeAll(async () => {
    // Scale 100: a pod starts in 50 ms of real time.
    sandbox = createSandboxServer({ port: 0, timeScale: 100, logger: pino({ level: 'silent' }) });
    const { url } = await sandbox.start();
    const kubeconfig = await (await fetch(`${url}/_sandbox/kubeconfig`)).text();
    cluster = createClusterConnections({ requestTimeoutMs: 5_000 }).connect({ uid: 'local', kubeconfig, context: 'local' });
  });
  afterAll(() => sandbox.close());

  it('says whether a kind is namespaced, cluster-wide, or not served, and caches the answer', async () => {
    expect(await cluster.isNamespaced('apps/v1', 'Deployment')).toBe(true);
    expect(await cluster.isNamespaced('v1', 'Namespace')).toBe(false);
    expect(await cluster.isNamespaced('rbac.authorization.k8s.io/v1', 'ClusterRole')).toBe(false);
    expect(await cluster.isNamespaced('v1', 'NoSuchKind')).toBeUndefined();
    expect(await cluster.isNamespaced('example.com/v1', 'Widget')).toBeUndefined();

    // A CRD installed later is found: a kind missing from the cached list is asked again.
    await cluster.apply(
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.example.com' },
        spec: {
          group: 'example.com',
          scope: 'Cluster',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
        },
      } as KubernetesObject,
      { fieldManager: 'kube-test' },
    );
    expect(await eventually(() => cluster.isNamespaced('example.com/v1', 'Widget'), 'Widget served')).toBe(false);
  });

  it('creates a namespace once, with its labels, and reads one that exists without touching it', async () => {
    const first = await cluster.ensureNamespace('team-a-web', { fieldManager: 'kube-test', labels: { 'tugboat.dev/namespace-owner': 'u1' } });
    expect(first.created).toBe(true);
    expect(first.namespace.metadata?.labels).toMatchObject({ 'tugboat.dev/namespace-owner': 'u1' });
    const again = await cluster.ensureNamespace('team-a-web', { fieldManager: 'kube-test', labels: { 'tugboat.dev/namespace-owner': 'u2' } });
    expect(again.created).toBe(false);
    expect(again.namespace.metadata?.labels?.['tugboat.dev/namespace-owner']).toBe('u1');
    const taken = await cluster.ensureNamespace('default', { fieldManager: 'kube-test', labels: { 'tugboat.dev/namespace-owner': 'u3' } });
    expect(taken.created).toBe(false);
    expect(taken.namespace.metadata?.labels?.['tugboat.dev/namespace-owner']).toBeUndefined();
    // Created first when likely new: the same answers, whether it is new or not.
    const fresh = await cluster.ensureNamespace('team-b-web', { fieldManager: 'kube-test', labels: { 'tugboat.dev/namespace-owner': 'u4' }, likelyNew: true });
    expect(fresh).toMatchObject({ created: true, namespace: { metadata: { labels: { 'tugboat.dev/namespace-owner': 'u4' } } } });
    const existed = await cluster.ensureNamespace('team-a-web', { fieldManager: 'kube-test', labels: { 'tugboat.dev/namespace-owner': 'u5' }, likelyNew: true });
    expect(existed.created).toBe(false);
    expect(existed.namespace.metadata?.labels?.['tugboat.dev/namespace-owner']).toBe('u1');
  });

  it('reads an object with its status, lists pods by label selector, and deletes by identity', async () => {
    await cluster.ensureNamespace('lister', { fieldManager: 'kube-test' });
    const labels = { app: 'web' };
    await cluster.apply(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'lister' },
        spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } } },
      } as KubernetesObject,
      { fieldManager: 'kube-test' },
    );
    const identity = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'lister', name: 'web' };
    const available = await eventually(async () => {
      const read = (await cluster.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'lister' } })) as
        | (KubernetesObject & { status?: { availableReplicas?: number } })
        | undefined;
      return read?.status?.availableReplicas === 2 ? read : undefined;
    }, 'Deployment available');
    expect(available.metadata?.uid).toBeDefined();

    const pods = await cluster.list('v1', 'Pod', { namespace: 'lister', labelSelector: 'app=web' });
    expect(pods).toHaveLength(2);
    expect(pods[0]).toMatchObject({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'lister' } });
    expect(await cluster.list('v1', 'Pod', { namespace: 'lister', labelSelector: 'app=other' })).toEqual([]);
    expect((await cluster.list('v1', 'Namespace')).map((ns) => ns.metadata?.name)).toEqual(expect.arrayContaining(['default', 'lister']));

    expect(await cluster.delete(identity)).toBe(true);
    expect(await cluster.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'lister' } })).toBeUndefined();
    expect(await cluster.delete(identity)).toBe(false);
  });
  it('applies and reads objects in the wire format both ways: a CRD schema\'s x-kubernetes markers, enums and defaults, a NetworkPolicy\'s from', async () => {
    await cluster.ensureNamespace('wire', { fieldManager: 'kube-test' });
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.wire.example.com' },
      spec: {
        group: 'wire.example.com',
        names: { kind: 'Gadget', plural: 'gadgets', singular: 'gadget', listKind: 'GadgetList' },
        scope: 'Namespaced',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    'x-kubernetes-preserve-unknown-fields': true,
                    properties: { size: { type: 'string', enum: ['small', 'large'], default: 'small' } },
                  },
                },
              },
            },
          },
        ],
      },
    } as KubernetesObject;
    const schemaOf = (object: KubernetesObject | undefined) => (object as { spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: { spec: unknown } } } }> } }).spec.versions[0]!.schema.openAPIV3Schema.properties.spec;
    const wanted = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { size: { type: 'string', enum: ['small', 'large'], default: 'small' } } };
    expect(schemaOf(await cluster.apply(crd, { fieldManager: 'kube-test' }))).toEqual(wanted);
    expect(schemaOf(await cluster.read({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'gadgets.wire.example.com' } }))).toEqual(wanted);

    const policy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'from-web', namespace: 'wire' },
      spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 5432 }] }] },
    } as KubernetesObject;
    const ingress = (object: KubernetesObject | undefined) => (object as { spec: { ingress: unknown } }).spec.ingress;
    const applied = [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 5432 }] }];
    expect(ingress(await cluster.apply(policy, { fieldManager: 'kube-test' }))).toMatchObject(applied);
    expect(ingress(await cluster.read({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'from-web', namespace: 'wire' } }))).toMatchObject(applied);
  });
});
