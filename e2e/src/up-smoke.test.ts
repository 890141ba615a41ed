import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, isAlive, REPO_ROOT, runTug, startChild, waitForReady, waitUntil, type Child } from './harness/cli-processes.js';

// `tug up` as a newcomer runs it, through `pnpm start`: separate
// processes, embedded Postgres, a local nats-server and the sandbox; then the CLI against it with
// the token it saved, then SIGTERM to the `pnpm start` parent (not to `tug` itself).
let stateDir: string;
let up: Child | undefined;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'tug-up-smoke-'));
});

afterAll(async () => {
  if (up !== undefined && up.process.exitCode === null) {
    // pnpm relays SIGTERM to tug, which stops its children; SIGKILL only if that does not end it.
    up.process.kill('SIGTERM');
    const killer = setTimeout(() => up?.process.kill('SIGKILL'), 30_000);
    await up.exited;
    clearTimeout(killer);
  }
  await rm(stateDir, { recursive: true, force: true });
});

it('runs every process, serves the CLI, and stops them all on SIGTERM', async () => {
  const [apiPort, natsPort, sandboxPort] = [await freePort(), await freePort(), await freePort()];
  up = startChild(
    'pnpm',
    // `pnpm start` reads --state-dir as its own option (README): the state directory comes from the environment.
    ['start', '--port', String(apiPort), '--nats-port', String(natsPort), '--sandbox-port', String(sandboxPort), '--sandbox-time-scale', '120'],
    { ...process.env, TUGBOAT_STATE_DIR: stateDir, DATABASE_URL: 'postgres://must-not-be-used@127.0.0.1:1/none', TUGBOAT_TOKEN: undefined },
  );
  const api = `http://127.0.0.1:${apiPort}`;
  await waitForReady(`${api}/readyz`, up, 90_000);
  // Printed once every controller has started, after the API answers: slower on a loaded machine.
  await waitUntil(() => up!.output().includes('Tugboat is up.'), 'the banner', 90_000);
  expect(up.output()).toContain(`API          ${api}`);
  expect((await stat(join(stateDir, 'admin-token'))).mode & 0o777).toBe(0o600);

  // The token comes from the state directory, as after `pnpm start`.
  const env = { TUGBOAT_URL: api, TUGBOAT_STATE_DIR: stateDir };
  const applied = await runTug(['apply', '-f', 'examples/first-app.yaml'], { env });
  expect(applied).toMatchObject({ code: 0, stderr: '' });
  expect(applied.stdout).toContain('WorkloadInstance/hello created');
  const got = await runTug(['get', 'workloadinstances', '-p', 'team-a'], { env });
  expect(got.code).toBe(0);
  // The workload-controller `tug up` starts may already have picked it up: any phase.
  expect(got.stdout).toMatch(/^hello\s+team-a\s+\S+\s+\S+\s+1\s/m);

  // The sandbox's cluster is registered as the default and the cluster-controller brings it Ready.
  expect(up.output()).toContain('sandbox cluster registered as the default ClusterInstance local (ClusterDefinition local created, ClusterInstance local created)');
  await waitUntil(
    async () => /^local\s+-\s+Ready\s/m.test((await runTug(['get', 'clusterinstances'], { env })).stdout),
    `ClusterInstance local Ready (output:\n${up.output().slice(-2000)})`,
    30_000,
  );

  // The README's first app, and the first-app bundle's workload, delivered: Ready on the sandbox's cluster.
  expect(await runTug(['apply', '-f', 'examples/hello/'], { env })).toMatchObject({ code: 0, stdout: 'WorkloadDefinition/web-app created\nProject/demo created\nWorkloadInstance/hello created\n' });
  const ready = await runTug(['wait', 'app', 'hello', '-p', 'demo', '--for=condition=Ready', '--timeout=60s'], { env });
  expect(ready).toMatchObject({ code: 0, stdout: 'WorkloadInstance/hello condition met\n' });
  expect((await runTug(['wait', 'app', 'hello', '-p', 'team-a', '--for=condition=Ready', '--timeout=60s'], { env })).code).toBe(0);

  // examples/app: one Application on `local` (its definitions put first by their references); its workload waits for its secret's value.
  const appApplied = await runTug(['apply', '-f', 'examples/app/'], { env });
  expect(appApplied).toMatchObject({ code: 0 });
  expect(appApplied.stdout).toContain('Application/shop created\nSecretInstance/shop-api-key-local created\nWorkloadInstance/shop-web-local created\n');
  expect(await runTug(['secret', 'set', 'secretinstance/shop-api-key-local', '-p', 'shop', '--from-stdin'], { env, stdin: 'sk-demo' })).toMatchObject({ code: 0 });

  // examples/web-app: two apps at their own https hostnames (a container and a Helm chart), on `local`.
  // Applied now and waited for after the EKS part, so they come up while that cluster is made.
  const webDir = await copyExample('web-app', ['platform.yaml', 'app.yaml', 'podinfo.yaml'], sandboxPort);
  expect(await runTug(['apply', '-f', webDir], { env })).toMatchObject({ code: 0 });

  // examples/eks: a cluster from nothing in the sandbox (its AWS endpoint moved to this test's port), and an app on it.
  const eksDir = await copyExample('eks', ['account.yaml', 'cluster.yaml', 'app.yaml'], sandboxPort);
  expect(await runTug(['apply', '-f', eksDir], { env })).toMatchObject({ code: 0 });
  const eksReady = await runTug(['wait', 'clusterinstance', 'demo-eks', '--for=condition=Ready', '--timeout=120s'], { env });
  if (eksReady.code !== 0) throw new Error(`demo-eks not Ready: ${eksReady.stderr}\n${(await runTug(['get', 'eksclusters', '-o', 'yaml'], { env })).stdout}\n${up.output().slice(-3000)}`);
  expect((await runTug(['wait', 'app', 'hello', '-p', 'eks-demo', '--for=condition=Ready', '--timeout=60s'], { env })).code).toBe(0);
  // examples/database: a Postgres database in that cluster's network, and an app connected to it.
  expect(await runTug(['apply', '-f', 'examples/database/'], { env })).toMatchObject({ code: 0 });
  const dbReady = await runTug(['wait', 'databaseinstance', 'orders', '-p', 'eks-demo', '--for=condition=Ready', '--timeout=120s'], { env });
  if (dbReady.code !== 0) throw new Error(`orders not Ready: ${dbReady.stderr}\n${(await runTug(['get', 'databaseinstances', '-p', 'eks-demo', '-o', 'yaml'], { env })).stdout}\n${up.output().slice(-3000)}`);
  expect((await runTug(['wait', 'app', 'orders-api', '-p', 'eks-demo', '--for=condition=Ready', '--timeout=60s'], { env })).code).toBe(0);

  // examples/web-app, Ready: each Exposure reports its url (Envoy Gateway and cert-manager from the
  // sandbox's stand-in charts, a certificate, the CNAME), and both apps are Ready, podinfo rendered from its chart.
  for (const app of ['hello', 'podinfo']) {
    const exposed = await runTug(['wait', 'exposure', app, '-p', 'web', '--for=condition=Ready', '--timeout=60s'], { env });
    if (exposed.code !== 0) throw new Error(`Exposure web/${app} not Ready: ${exposed.stderr}\n${(await runTug(['describe', 'app', app, '-p', 'web'], { env })).stdout}\n${up.output().slice(-3000)}`);
    expect((await runTug(['wait', 'app', app, '-p', 'web', '--for=condition=Ready', '--timeout=60s'], { env })).code).toBe(0);
  }
  // examples/app, Ready once its secret has a value: its one cluster and both components.
  const appReady = await runTug(['wait', 'application', 'shop', '-p', 'shop', '--for=condition=Ready', '--timeout=60s'], { env });
  if (appReady.code !== 0) throw new Error(`Application shop not Ready: ${appReady.stderr}\n${(await runTug(['describe', 'application/shop', '-p', 'shop'], { env })).stdout}`);

  // examples/app, from release to approval (its README's commands): a release rolls out to `local` at
  // once; with the default tier's DeliveryPolicy applied, the next one waits for an approval.
  const digestOf = (n: number) => `nginxdemos/hello@sha256:${String(n).repeat(64).slice(0, 64)}`;
  const releaseOf = (n: number) => runTug(['release', 'create', 'shop', '-p', 'shop', '--component', 'web', '--commit', `${n}`.repeat(7), '--image', digestOf(n)], { env });
  const imageOnLocal = async () => (JSON.parse((await runTug(['get', 'workloadinstance/shop-web-local', '-p', 'shop', '-o', 'json'], { env })).stdout) as { spec: { overrides?: { image?: string } } }).spec.overrides?.image;
  expect(await releaseOf(1)).toMatchObject({ code: 0 });
  expect(await imageOnLocal()).toBe(digestOf(1));
  expect(await runTug(['apply', '-f', 'examples/app/delivery/'], { env })).toMatchObject({ code: 0 });
  expect(await releaseOf(2)).toMatchObject({ code: 0 });
  expect(await imageOnLocal()).toBe(digestOf(1));
  expect((await runTug(['rollout', 'history', 'application/shop', '-p', 'shop'], { env })).stdout).toContain('PendingApproval');
  expect(await runTug(['rollout', 'approve', 'application/shop', '--tier', 'default', '-p', 'shop'], { env })).toMatchObject({ code: 0 });
  expect(await imageOnLocal()).toBe(digestOf(2));
  expect((await runTug(['wait', 'application', 'shop', '-p', 'shop', '--for=condition=Ready', '--timeout=60s'], { env })).code).toBe(0);

  const apps = await runTug(['get', 'apps', '-p', 'web'], { env });
  expect(apps.stdout).toMatch(/^hello\s+web\s+Ready\s+True\s+.*https:\/\/hello\.example\.test$/m);
  expect(apps.stdout).toMatch(/^podinfo\s+web\s+Ready\s+True\s+.*https:\/\/podinfo\.example\.test$/m);

  const pids = [...up.output().matchAll(/started (\S+) \(pid (\d+)\)/g)].map((match) => ({ name: match[1]!, pid: Number(match[2]) }));
  expect(pids.map((entry) => entry.name)).toEqual(expect.arrayContaining(['nats', 'sandbox', 'api']));
  expect(pids.every((entry) => isAlive(entry.pid))).toBe(true);

  // The script execs node, so pnpm's one child is `tug` and pnpm relays the signal to it.
  const tugPids = execFileSync('ps', ['-o', 'pid=', '--ppid', String(up.process.pid)], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
  expect(tugPids).toHaveLength(1);
  const monitorPort = Number(/monitoring http:\/\/127\.0\.0\.1:(\d+)/.exec(up.output())?.[1]);

  up.process.kill('SIGTERM');
  // A clean stop exits 0, so pnpm adds no ELIFECYCLE line.
  expect(await up.exited).toEqual({ code: 0, signal: null });
  expect(up.output()).not.toContain('ELIFECYCLE');
  for (const { name } of pids) expect(up.output()).toMatch(new RegExp(`${name} exited with code 0`));
  expect([...pids.map((entry) => entry.pid), ...tugPids].filter((pid) => isAlive(pid))).toEqual([]);
  for (const port of [apiPort, natsPort, sandboxPort, monitorPort]) expect(await canListen(port)).toBe(true);
}, 150_000);

/** A copy of examples/NAME in the state directory, its AWS endpoint moved to this test's sandbox port. */
async function copyExample(name: string, files: readonly string[], sandboxPort: number): Promise<string> {
  const dir = join(stateDir, `examples-${name}`);
  await mkdir(dir);
  for (const file of files) {
    const text = await readFile(join(REPO_ROOT, 'examples', name, file), 'utf8');
    await writeFile(join(dir, file), text.replaceAll('http://127.0.0.1:4566', `http://127.0.0.1:${sandboxPort}`));
  }
  return dir;
}

/** Whether the port is free again (nothing of the stack left listening on it). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
