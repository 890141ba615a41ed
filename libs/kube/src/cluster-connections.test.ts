import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClusterConnections } from './cluster-connections.js';
import { KubeClusterError } from './kube-cluster-error.js';

/** A minimal API server: /version, nodes, and server-side apply recorded as it arrives. */
function fakeApiServer() {
  const applies: Array<{ path: string; query: URLSearchParams; contentType: string | undefined; body: string }> = [];
  let status = 200;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const send = (code: number, value: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (status !== 200) return send(status, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', code: status });
      if (url.pathname === '/version') return send(200, { major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' });
      if (url.pathname === '/api/v1/nodes') {
        return send(200, {
          kind: 'NodeList',
          apiVersion: 'v1',
          metadata: {},
          items: [
            { metadata: { name: 'a' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } },
            { metadata: { name: 'b' }, status: { conditions: [{ type: 'Ready', status: 'False' }] } },
          ],
        });
      }
      if (url.pathname === '/api/v1') {
        return send(200, { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'namespaces', namespaced: false, kind: 'Namespace', verbs: ['patch'] }] });
      }
      if (req.method === 'PATCH') {
        applies.push({ path: url.pathname, query: url.searchParams, contentType: req.headers['content-type'], body });
        return send(200, { ...(JSON.parse(body) as object), metadata: { name: 'tugboat-system', uid: 'u1' } });
      }
      return send(404, { kind: 'Status', message: 'not found', code: 404 });
    });
  });
  return { server, applies, setStatus: (code: number) => (status = code) };
}

function kubeconfig(server: string, context = 'test'): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: { server: "${server}", insecure-skip-tls-verify: true }
users:
- name: u
  user: { token: abc }
contexts:
- name: ${context}
  context: { cluster: c, user: u }
current-context: ${context}
`;
}

describe('createClusterConnections', () => {
  let fake: ReturnType<typeof fakeApiServer>;
  let url: string;
  beforeAll(async () => {
    fake = fakeApiServer();
    await new Promise<void>((resolve) => (fake.server as Server).listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => fake.server.close(() => resolve())));
  afterEach(() => fake.setStatus(200));

  it('reads the version and nodes, and applies with the field manager and force', async () => {
    const connection = createClusterConnections().connect({ uid: 'u1', kubeconfig: kubeconfig(url) });
    expect(connection.endpoint).toBe(url);
    expect(await connection.serverVersion()).toMatchObject({ gitVersion: 'v1.32.0' });
    expect(await connection.listNodes()).toEqual([
      { name: 'a', ready: true },
      { name: 'b', ready: false },
    ]);
    await connection.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tugboat-system' } }, { fieldManager: 'tugboat-cluster' });
    const apply = fake.applies.at(-1)!;
    expect(apply.path).toBe('/api/v1/namespaces/tugboat-system');
    expect(apply.contentType).toBe('application/apply-patch+yaml');
    expect(apply.query.get('fieldManager')).toBe('tugboat-cluster');
    expect(apply.query.get('force')).toBe('true');
  });

  it('keeps one client set per cluster and replaces it when the kubeconfig changes', () => {
    const connections = createClusterConnections();
    const first = connections.connect({ uid: 'u1', kubeconfig: kubeconfig(url) });
    expect(connections.connect({ uid: 'u1', kubeconfig: kubeconfig(url) })).toBe(first);
    const changed = connections.connect({ uid: 'u1', kubeconfig: kubeconfig(url, 'other') });
    expect(changed).not.toBe(first);
    expect(connections.size).toBe(1);
    connections.connect({ uid: 'u2', kubeconfig: kubeconfig(url) });
    expect(connections.size).toBe(2);
    connections.drop('u1');
    expect(connections.size).toBe(1);
  });

  it('classifies a refused token, a closed port and an unusable kubeconfig', async () => {
    const connections = createClusterConnections();
    fake.setStatus(401);
    await expect(connections.connect({ uid: 'u1', kubeconfig: kubeconfig(url) }).serverVersion()).rejects.toMatchObject({ reason: 'Unauthorized', status: 401 });
    fake.setStatus(200);

    // A port nothing listens on: bind one, note it, close it.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = connections.connect({ uid: 'u2', kubeconfig: kubeconfig(`http://127.0.0.1:${port}`) });
    const error = await down.listNodes().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KubeClusterError);
    expect(error).toMatchObject({ reason: 'Unreachable', endpoint: `http://127.0.0.1:${port}` });
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);

    expect(() => connections.connect({ uid: 'u3', kubeconfig: 'not: [valid' })).toThrow(expect.objectContaining({ reason: 'InvalidKubeconfig' }));
    expect(() => connections.connect({ uid: 'u3', kubeconfig: kubeconfig(url), context: 'nope' })).toThrow(/context "nope" is not in it/);
  });

  it('passes the caller’s abort through as the abort, not as a cluster failure', async () => {
    const connection = createClusterConnections().connect({ uid: 'u1', kubeconfig: kubeconfig(url) });
    const controller = new AbortController();
    const reason = new Error('lease lost');
    controller.abort(reason);
    await expect(connection.serverVersion({ signal: controller.signal })).rejects.toBe(reason);
  });
});
