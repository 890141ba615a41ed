import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startKubeTestServer, type KubeTestServer } from './kube-test-server.js';

const run = promisify(execFile);
// From PATH: /usr/bin on the machine image, /usr/local/bin where .ci/run installs it.
const KUBECTL = process.env.KUBECTL ?? 'kubectl';

let server: KubeTestServer;
let kubeconfig: string;

beforeAll(async () => {
  server = await startKubeTestServer({ scale: 50 });
  server.simulator.addCluster('local', { nodes: [{ name: 'worker-1' }, { name: 'worker-2' }] });
  server.simulator.addCluster('staging');
  kubeconfig = server.writeKubeconfig();
});

afterAll(async () => {
  await server.close();
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl with nothing but `--kubeconfig` (and a private cache directory). */
async function kubectl(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(server.dir, 'cache'), ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

function manifest(name: string, text: string): string {
  const path = join(server.dir, name);
  writeFileSync(path, text);
  return path;
}

const WEB = (labels: string, env: string) => `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {${labels}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        env: [${env}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80, name: http}]
`;

describe('simulated Kubernetes API with kubectl', () => {
  it('lists nodes and namespaces through discovery and server-side printing', async () => {
    const nodes = await kubectl('get', 'nodes');
    expect(nodes.stderr).toBe('');
    expect(nodes.stdout).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\n/);
    expect(nodes.stdout).toMatch(/worker-1\s+Ready\s+<none>\s+\S+\s+v1\.32\.0/);
    const namespaces = await kubectl('get', 'ns', '-o', 'name');
    expect(namespaces.stdout.trim().split('\n')).toEqual(['namespace/default', 'namespace/kube-node-lease', 'namespace/kube-public', 'namespace/kube-system']);
    const other = await kubectl('--context', 'staging', 'get', 'nodes', '-o', 'name');
    expect(other.stdout.trim()).toBe('node/staging-node-1');
  });

  it('applies server-side, waits for Available, follows the rollout and prunes dropped fields on re-apply', async () => {
    const first = await kubectl('apply', '--server-side', '-f', manifest('web.yaml', WEB('app: web, team: shop', '{name: A, value: "1"}, {name: B, value: "2"}')));
    expect(first.stderr).toBe('');
    expect(first.stdout.trim().split('\n')).toEqual(['namespace/shop serverside-applied', 'deployment.apps/web serverside-applied', 'service/web serverside-applied']);

    const waited = await kubectl('wait', '-n', 'shop', '--for=condition=Available', 'deployment/web', '--timeout=20s');
    expect(waited).toMatchObject({ code: 0, stdout: 'deployment.apps/web condition met\n' });
    const rollout = await kubectl('rollout', 'status', '-n', 'shop', 'deployment/web', '--timeout=20s');
    expect(rollout.code).toBe(0);
    expect(rollout.stdout).toContain('deployment "web" successfully rolled out');

    const table = await kubectl('get', '-n', 'shop', 'deploy', 'web');
    expect(table.stdout).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+2\/2\s+2\s+2\s+/);
    const pods = await kubectl('get', '-n', 'shop', 'pods', '-l', 'app=web', '-o', 'jsonpath={range .items[*]}{.status.phase}{"\\n"}{end}');
    expect(pods.stdout.trim().split('\n')).toEqual(['Running', 'Running']);

    const again = await kubectl('apply', '--server-side', '-f', manifest('web-smaller.yaml', WEB('app: web', '{name: A, value: "1"}')));
    expect(again.stdout).toContain('deployment.apps/web serverside-applied');
    const live = JSON.parse((await kubectl('get', '-n', 'shop', 'deploy', 'web', '-o', 'json')).stdout) as {
      metadata: { labels: Record<string, string>; generation: number };
      spec: { template: { spec: { containers: Array<{ env: unknown[] }> } } };
    };
    expect(live.metadata.labels).toEqual({ app: 'web' });
    expect(live.spec.template.spec.containers[0]?.env).toEqual([{ name: 'A', value: '1' }]);
    expect(live.metadata.generation).toBe(2);
    const rolledAgain = await kubectl('rollout', 'status', '-n', 'shop', 'deployment/web', '--timeout=20s');
    expect(rolledAgain.stdout).toContain('successfully rolled out');

    const scaled = await kubectl('scale', '-n', 'shop', 'deployment/web', '--replicas=3');
    expect(scaled.stdout.trim()).toBe('deployment.apps/web scaled');
    expect((await kubectl('rollout', 'status', '-n', 'shop', 'deployment/web', '--timeout=20s')).stdout).toContain('successfully rolled out');
    expect((await kubectl('get', '-n', 'shop', 'deploy', 'web', '-o', 'jsonpath={.status.availableReplicas}')).stdout).toBe('3');
    const logs = await kubectl('logs', '-n', 'shop', 'deployment/web');
    expect(logs.stdout).toMatch(/simulated container web \(image nginx:1\.27\) started on worker-\d/);

    const hostname = await kubectl('wait', '-n', 'shop', 'service/web', '--for=jsonpath={.status.loadBalancer.ingress[0].hostname}', '--timeout=20s');
    expect(hostname.code).toBe(0);
  });

  it('reports a conflict with another manager, and takes over with --force-conflicts', async () => {
    const path = manifest('cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: flags, namespace: default}\ndata: {mode: fast}\n');
    expect((await kubectl('apply', '--server-side', '--field-manager', 'team-a', '-f', path)).code).toBe(0);
    const other = manifest('cm-other.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: flags, namespace: default}\ndata: {mode: safe}\n');
    const conflict = await kubectl('apply', '--server-side', '--field-manager', 'team-b', '-f', other);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain('Apply failed with 1 conflict: conflict with "team-a" using v1: .data.mode');
    const forced = await kubectl('apply', '--server-side', '--field-manager', 'team-b', '--force-conflicts', '-f', other);
    expect(forced.code).toBe(0);
    expect((await kubectl('get', 'cm', 'flags', '-o', 'jsonpath={.data.mode}')).stdout).toBe('safe');
  });

  it('shows a rollout stuck on an image that cannot be pulled', async () => {
    const path = manifest(
      'broken.yaml',
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: broken, namespace: default}
spec:
  progressDeadlineSeconds: 60
  selector: {matchLabels: {app: broken}}
  template:
    metadata: {labels: {app: broken}}
    spec:
      containers: [{name: app, image: "registry.example/app:doesnotexist"}]
`,
    );
    expect((await kubectl('apply', '--server-side', '-f', path)).code).toBe(0);
    const rollout = await kubectl('rollout', 'status', 'deployment/broken', '--timeout=20s');
    expect(rollout.code).not.toBe(0);
    expect(rollout.stderr).toContain('deployment "broken" exceeded its progress deadline');
    const pods = await kubectl('get', 'pods', '-l', 'app=broken');
    expect(pods.stdout).toMatch(/broken-\S+\s+0\/1\s+ImagePullBackOff\s+0\s+/);
  });

  it('creates a CRD, serves its custom resources by short name, and deletes and waits', async () => {
    const crd = manifest(
      'crd.yaml',
      `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w0, namespace: default}
spec: {size: 1}
`,
    );
    // As against a real server: the CRD goes in, the resource in the same file is not mapped yet.
    const together = await kubectl('apply', '--server-side', '-f', crd);
    expect(together.stdout).toContain('customresourcedefinition.apiextensions.k8s.io/widgets.example.com serverside-applied');
    expect(together.stderr).toContain('ensure CRDs are installed first');
    const rerun = await kubectl('apply', '--server-side', '-f', crd);
    expect(rerun.stdout).toContain('widget.example.com/w0 serverside-applied');
    expect((await kubectl('get', 'widgets')).stdout).toMatch(/^NAME\s+SIZE\nw0\s+1\n$/);
    const explained = await kubectl('explain', 'widgets');
    expect(explained.stdout).toMatch(/GROUP:\s+example\.com\nKIND:\s+Widget\nVERSION:\s+v1/);
    expect((await kubectl('wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=10s')).code).toBe(0);
    const widget = manifest('widget.yaml', 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1, namespace: default}\nspec: {size: 3}\n');
    const created = await kubectl('create', '-f', widget);
    expect(created.stdout.trim()).toBe('widget.example.com/w1 created');
    const duplicate = await kubectl('create', '-f', widget);
    expect(duplicate.stderr.trim()).toBe('Error from server (AlreadyExists): error when creating "' + widget + '": widgets.example.com "w1" already exists');
    expect((await kubectl('get', 'wd', 'w1', '-o', 'jsonpath={.spec.size}')).stdout).toBe('3');

    expect((await kubectl('delete', 'widget', 'w0')).code).toBe(0);
    const deleted = await kubectl('delete', 'widget', 'w1');
    expect(deleted.stdout.trim()).toBe('widget.example.com "w1" deleted');
    const missing = await kubectl('get', 'widget', 'w1');
    expect(missing.stderr.trim()).toBe('Error from server (NotFound): widgets.example.com "w1" not found');
    expect((await kubectl('delete', 'crd', 'widgets.example.com')).code).toBe(0);
    const gone = await kubectl('get', 'widgets');
    expect(gone.code).not.toBe(0);
  });

  it('accepts the protobuf bodies of kubectl\'s typed generators', async () => {
    expect((await kubectl('create', 'namespace', 'gen')).stdout.trim()).toBe('namespace/gen created');
    const deployment = await kubectl('create', 'deployment', 'api', '-n', 'gen', '--image=api:1', '--replicas=2', '--port=8080');
    expect(deployment.stdout.trim()).toBe('deployment.apps/api created');
    expect((await kubectl('create', 'configmap', 'settings', '-n', 'gen', '--from-literal=mode=fast')).code).toBe(0);
    expect((await kubectl('create', 'secret', 'generic', 'creds', '-n', 'gen', '--from-literal=password=s3cret')).code).toBe(0);
    expect((await kubectl('expose', 'deployment', 'api', '-n', 'gen', '--port=80', '--target-port=8080', '--type=LoadBalancer')).stdout.trim()).toBe('service/api exposed');
    expect((await kubectl('run', 'debug', '-n', 'gen', '--image=busybox', '--env=A=B', '--restart=Never', '--', 'sleep', '1')).stdout.trim()).toBe('pod/debug created');
    expect((await kubectl('rollout', 'status', '-n', 'gen', 'deployment/api', '--timeout=20s')).stdout).toContain('successfully rolled out');

    const api = JSON.parse((await kubectl('get', '-n', 'gen', 'deployment', 'api', '-o', 'json')).stdout) as { spec: { replicas: number; selector: unknown; template: { spec: { containers: unknown[] } } } };
    expect(api.spec.replicas).toBe(2);
    expect(api.spec.selector).toEqual({ matchLabels: { app: 'api' } });
    expect(api.spec.template.spec.containers).toEqual([{ name: 'api', image: 'api:1', ports: [{ containerPort: 8080, protocol: 'TCP' }] }]);
    expect((await kubectl('get', '-n', 'gen', 'cm', 'settings', '-o', 'jsonpath={.data.mode}')).stdout).toBe('fast');
    expect((await kubectl('get', '-n', 'gen', 'secret', 'creds', '-o', 'jsonpath={.data.password}')).stdout).toBe(Buffer.from('s3cret').toString('base64'));
    expect((await kubectl('get', '-n', 'gen', 'svc', 'api', '-o', 'jsonpath={.spec.ports[0].targetPort} {.spec.selector.app}')).stdout).toBe('8080 api');
    expect((await kubectl('get', '-n', 'gen', 'pod', 'debug', '-o', 'jsonpath={.spec.containers[0].args} {.spec.containers[0].env[0].value} {.spec.restartPolicy}')).stdout).toBe('["sleep","1"] B Never');

    // A rollback re-uses the first ReplicaSet and gives it the next revision, as the deployment controller does.
    expect((await kubectl('set', 'image', '-n', 'gen', 'deployment/api', 'api=api:2')).code).toBe(0);
    expect((await kubectl('rollout', 'status', '-n', 'gen', 'deployment/api', '--timeout=20s')).code).toBe(0);
    expect((await kubectl('rollout', 'undo', '-n', 'gen', 'deployment/api')).stdout.trim()).toBe('deployment.apps/api rolled back');
    expect((await kubectl('rollout', 'status', '-n', 'gen', 'deployment/api', '--timeout=20s')).code).toBe(0);
    const replicaSets = await kubectl('get', 'rs', '-n', 'gen', '-o', 'jsonpath={range .items[*]}{.metadata.annotations.deployment\\.kubernetes\\.io/revision}={.spec.replicas}={.spec.template.spec.containers[0].image}{"\\n"}{end}');
    expect(replicaSets.stdout.trim().split('\n').sort()).toEqual(['2=0=api:2', '3=2=api:1']);
    expect((await kubectl('delete', 'namespace', 'gen', '--timeout=20s')).code).toBe(0);
  });

  it('drains a node: cordons it and evicts its pods, which come back elsewhere', async () => {
    const path = manifest('drain.yaml', WEB('app: web', '{name: A, value: "1"}').replace(/^apiVersion: v1\nkind: Namespace\nmetadata: \{name: shop\}\n---\n/m, '').replaceAll('shop', 'draining'));
    expect((await kubectl('create', 'namespace', 'draining')).code).toBe(0);
    expect((await kubectl('apply', '--server-side', '-f', path)).code).toBe(0);
    expect((await kubectl('rollout', 'status', '-n', 'draining', 'deployment/web', '--timeout=20s')).code).toBe(0);
    const drained = await kubectl('drain', 'worker-1', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=20s');
    expect(drained.code).toBe(0);
    expect(drained.stdout).toContain('node/worker-1 drained');
    expect((await kubectl('rollout', 'status', '-n', 'draining', 'deployment/web', '--timeout=20s')).code).toBe(0);
    const nodes = await kubectl('get', 'pods', '-n', 'draining', '-o', 'jsonpath={range .items[*]}{.spec.nodeName}{"\\n"}{end}');
    expect(nodes.stdout.trim().split('\n')).toEqual(['worker-2', 'worker-2']);
    expect((await kubectl('uncordon', 'worker-1')).code).toBe(0);
    expect((await kubectl('delete', 'namespace', 'draining', '--timeout=20s')).code).toBe(0);
  });

  it('answers access reviews: every request is allowed', async () => {
    expect((await kubectl('auth', 'can-i', 'delete', 'nodes')).stdout.trim()).toBe('yes');
    expect((await kubectl('auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}')).stdout).toBe('system:anonymous');
  });

  it('deletes a namespace with everything in it', async () => {
    const deleted = await kubectl('delete', 'namespace', 'shop', '--timeout=20s');
    expect(deleted.stdout.trim()).toBe('namespace "shop" deleted');
    const after = await kubectl('get', 'namespace', 'shop');
    expect(after.stderr.trim()).toBe('Error from server (NotFound): namespaces "shop" not found');
    const pods = await kubectl('get', 'pods', '-A', '-l', 'app=web', '-o', 'name');
    expect(pods.stdout.trim()).toBe('');
  });
});
