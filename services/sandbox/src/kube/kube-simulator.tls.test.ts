import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { startKubeTestServer, type KubeTestServer } from './kube-test-server.js';

const run = promisify(execFile);
// From PATH: /usr/bin on the machine image, /usr/local/bin where .ci/run installs it.
const KUBECTL = process.env.KUBECTL ?? 'kubectl';

let server: KubeTestServer;

beforeAll(async () => {
  server = await startKubeTestServer({ tls: true, anonymousAccess: false });
  server.simulator.addCluster('secure', { token: 'right-token' });
});

afterAll(async () => {
  await server.close();
});

async function kubectl(kubeconfig: string, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(server.dir, 'cache'), ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('simulated Kubernetes API over HTTPS', () => {
  it('writes the CA into the kubeconfig, and kubectl sends the token to the verified server', async () => {
    expect(server.baseUrl).toMatch(/^https:/);
    const kubeconfig = server.writeKubeconfig();
    const parsed = YAML.parse(server.simulator.kubeconfig(server.baseUrl)) as { clusters: Array<{ cluster: Record<string, unknown> }> };
    expect(parsed.clusters[0]?.cluster['certificate-authority-data']).toBe(Buffer.from(server.simulator.tlsCredentials()?.ca ?? '').toString('base64'));
    expect(parsed.clusters[0]?.cluster['insecure-skip-tls-verify']).toBeUndefined();

    // Anonymous access is off: this only works because kubectl sends the bearer token over TLS.
    const namespaces = await kubectl(kubeconfig, 'get', 'namespaces', '-o', 'name');
    expect(namespaces.stderr).toBe('');
    expect(namespaces.stdout).toContain('namespace/default');

    const wrong = join(server.dir, 'wrong-token');
    writeFileSync(wrong, server.simulator.kubeconfig(server.baseUrl).replace('right-token', 'wrong-token'));
    const refused = await kubectl(wrong, 'get', 'namespaces');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('You must be logged in to the server');
  });

  it('lets @kubernetes/client-node verify the server with the CA alone', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(server.simulator.kubeconfig(server.baseUrl));
    expect(kc.getCurrentCluster()?.skipTLSVerify).toBeFalsy();
    const list = await kc.makeApiClient(CoreV1Api).listNamespace();
    expect(list.items.map((item) => item.metadata?.name)).toContain('kube-system');
  });

  it('keeps its credentials across snapshot and restore', () => {
    const before = server.simulator.tlsCredentials();
    server.simulator.restore(JSON.parse(JSON.stringify(server.simulator.snapshot())) as ReturnType<typeof server.simulator.snapshot>);
    expect(server.simulator.tlsCredentials()).toEqual(before);
  });
});
