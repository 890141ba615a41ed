import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeApi } from '@tugboat/api-client/testing';
import { registerLocalCluster } from './register-local-cluster.js';

describe('registerLocalCluster', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tug-local-cluster-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('registers the sandbox cluster as the default once; a second run duplicates nothing', async () => {
    const api = createFakeApi();
    const kubeconfigFile = join(dir, 'kubeconfig');
    await writeFile(kubeconfigFile, 'apiVersion: v1\nkind: Config\ncurrent-context: local\n');

    const first = await registerLocalCluster({ admin: api, kubeconfigFile });
    expect(first?.isDefault).toBe(true);
    expect(first?.results.map((r) => `${r.kind}/${r.name}:${r.action}`)).toEqual(['ClusterDefinition/local:created', 'ClusterInstance/local:created']);
    const second = await registerLocalCluster({ admin: api, kubeconfigFile });
    expect(second?.results.map((r) => r.action)).toEqual(['unchanged', 'unchanged']);

    const clusters = api.objects().filter((obj) => obj.kind === 'ClusterInstance');
    expect(clusters).toHaveLength(1);
    expect(clusters[0]!.spec).toMatchObject({ definitionRef: { name: 'local' }, defaultFor: ['*'] });
    expect(api.objects().find((obj) => obj.kind === 'ClusterDefinition')?.spec).toMatchObject({ provider: 'kubeconfig' });
  });

  it('follows a kubeconfig the sandbox rewrote, and does nothing without one', async () => {
    const api = createFakeApi();
    const kubeconfigFile = join(dir, 'kubeconfig');
    expect(await registerLocalCluster({ admin: api, kubeconfigFile })).toBeUndefined();
    await writeFile(kubeconfigFile, 'apiVersion: v1\nkind: Config\n# one\n');
    await registerLocalCluster({ admin: api, kubeconfigFile });
    await writeFile(kubeconfigFile, 'apiVersion: v1\nkind: Config\n# two\n');
    const again = await registerLocalCluster({ admin: api, kubeconfigFile });
    expect(again?.results.map((r) => r.action)).toEqual(['unchanged', 'updated']);
  });
});
