import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'yaml';
import { EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE } from './describe-error.js';
import { runCli } from './run-cli.js';
import { createFakeApi, FAKE_TOKEN, type FakeApi } from '@tugboat/api-client/testing';

const BUNDLE = `
apiVersion: tugboat.dev/v1
kind: WorkloadInstance
metadata: { name: web, project: team-a, labels: { tier: prod } }
spec:
  definitionRef: { name: web-service }
  clusterRef: { name: local }
  overrides:
    image: nginx:1.27
---
kind: ClusterInstance
metadata: { name: local }
spec:
  definitionRef: { name: small }
  kubeconfig: "apiVersion: v1"
---
kind: WorkloadDefinition
metadata: { name: web-service }
spec: { container: {}, overridable: [image, replicas], maxReplicas: 5 }
---
kind: ClusterDefinition
metadata: { name: small }
spec: { provider: kubeconfig, allowedVersions: ["1.30"], allowedRegions: [eu-west-1], allowedNodeSizes: [small] }
`;

let dir: string;
let api: FakeApi;

/** Polls a condition of the in-memory fake (a few ms apart) until it holds. */
async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tug-cli-'));
  api = createFakeApi();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface TugExtra {
  stdin?: string;
  fetch?: typeof fetch;
  env?: Record<string, string>;
  tty?: boolean;
  signal?: AbortSignal;
  /** Called with everything printed so far, after each write to stdout. */
  onOutput?: (stdout: string) => void;
}

async function tug(argv: string[], extra: TugExtra = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: {
      write: (text: string) => {
        stdout += text;
        extra.onOutput?.(stdout);
      },
      isTTY: extra.tty ?? false,
    },
    stderr: { write: (text: string) => (stderr += text), isTTY: extra.tty ?? false },
    env: { TUGBOAT_TOKEN: FAKE_TOKEN, ...extra.env },
    ...(extra.signal ? { signal: extra.signal } : {}),
    cwd: dir,
    fetch: extra.fetch ?? api.fetch,
    pollIntervalMs: 10,
    ...(extra.stdin === undefined ? {} : { stdin: Readable.from([extra.stdin]) }),
  });
  return { code, stdout, stderr };
}

describe('tug apply', () => {
  it('creates dependencies first, then reports unchanged, then configured', async () => {
    await writeFile(join(dir, 'app.yaml'), BUNDLE);
    const first = await tug(['apply', '-f', 'app.yaml']);
    expect(first).toMatchObject({ code: EXIT_OK, stderr: '' });
    expect(first.stdout.trim().split('\n')).toEqual([
      'WorkloadDefinition/web-service created',
      'ClusterDefinition/small created',
      'ClusterInstance/local created',
      'WorkloadInstance/web created',
    ]);

    const second = await tug(['apply', '-f', 'app.yaml']);
    expect(second.code).toBe(EXIT_OK);
    expect(second.stdout).toContain('WorkloadInstance/web unchanged');
    // The kubeconfig is a secret: it reads back redacted, so it is sent and the server decides.
    expect(second.stdout).toContain('ClusterInstance/local unchanged');

    await writeFile(join(dir, 'app.yaml'), BUNDLE.replace('nginx:1.27', 'nginx:1.28'));
    const third = await tug(['apply', '-f', dir]);
    expect(third.stdout).toContain('WorkloadInstance/web configured');
    expect(third.stdout).toContain('ClusterDefinition/small unchanged');
    expect(api.object({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' })?.spec).toMatchObject({ overrides: { image: 'nginx:1.28' } });
  });

  it('reads stdin and fills in the project from -p', async () => {
    await tug(['apply', '-f', '-'], { stdin: BUNDLE.replace('project: team-a, ', '') }).then((result) =>
      expect(result.stderr).toContain('metadata.project: is required for WorkloadInstance'),
    );
    const result = await tug(['apply', '-f', '-', '-p', 'team-b'], { stdin: BUNDLE.replace('project: team-a, ', '') });
    expect(result.code).toBe(EXIT_OK);
    expect(api.object({ kind: 'WorkloadInstance', project: 'team-b', name: 'web' })).toBeDefined();
  });

  it('reports every problem the API finds, writes nothing, and exits 1', async () => {
    await writeFile(join(dir, 'bad.yaml'), BUNDLE.replace('image: nginx:1.27', 'image: nginx:1.27\n    replicas: -1'));
    const result = await tug(['apply', '-f', 'bad.yaml']);
    expect(result.code).toBe(EXIT_FAILED);
    expect(result.stdout).toBe('');
    // The API's 422 names each object, field and rule (its message says what the rule wants).
    expect(result.stderr).toContain('error: the bundle was not applied (nothing was written): WorkloadInstance/team-a/web: spec.overrides.replicas: must be >= 0\n');
    expect(result.stderr).toContain('  WorkloadInstance/team-a/web: spec.overrides.replicas: minimum\n');
    expect(result.stderr).toContain('hint: the bundle is one transaction, so nothing was applied');
    expect(api.objects().length).toBe(0);
  });

  it('--dry-run prints the plan field by field, secrets redacted, and writes nothing', async () => {
    await writeFile(join(dir, 'app.yaml'), BUNDLE);
    await tug(['apply', '-f', 'app.yaml']);
    const changed = BUNDLE.replace('nginx:1.27', 'nginx:1.28')
      .replace('labels: { tier: prod }', 'labels: { tier: prod, team: shop }')
      .replace('"apiVersion: v1"', '"apiVersion: v2"')
      .replace(', maxReplicas: 5 }', ' }');
    await writeFile(join(dir, 'app.yaml'), `${changed}---
kind: WorkloadInstance
metadata: { name: api, project: team-a }
spec: { definitionRef: { name: web-service }, clusterRef: { name: local }, overrides: { image: api:1 } }
`);
    const before = api.requests.filter((request) => request.method !== 'GET').length;
    const plan = await tug(['apply', '-f', 'app.yaml', '--dry-run']);
    expect(plan.code).toBe(EXIT_OK);
    expect(plan.stdout).toBe(
      [
        '~ WorkloadDefinition/web-service would be configured:',
        '    - spec.maxReplicas: 5',
        '  ClusterDefinition/small unchanged',
        '~ ClusterInstance/local would be configured:',
        '    ~ spec.kubeconfig: <redacted> → <redacted>',
        '~ WorkloadInstance/web (project team-a) would be configured:',
        '    + metadata.labels.team: "shop"',
        '    ~ spec.overrides.image: "nginx:1.27" → "nginx:1.28"',
        '+ WorkloadInstance/api (project team-a) would be created',
        'Plan: 1 to create, 3 to change, 1 unchanged. Dry run: nothing was written.',
        '',
      ].join('\n'),
    );
    expect(plan.stdout).not.toContain('apiVersion: v2');
    expect(api.requests.filter((request) => request.method !== 'GET').length - before).toBe(1);
    expect(api.object({ kind: 'WorkloadInstance', project: 'team-a', name: 'api' })).toBeUndefined();
    expect(api.object({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' })?.spec).toMatchObject({ overrides: { image: 'nginx:1.27' } });

    // On a terminal the plan is coloured: green additions, yellow changes, red removals.
    const coloured = await tug(['apply', '-f', 'app.yaml', '--dry-run'], { tty: true });
    expect(coloured.stdout).toContain('    \u001b[31m- spec.maxReplicas: 5\u001b[39m\n');
    expect(coloured.stdout).toContain('\u001b[32m+ WorkloadInstance/api (project team-a) would be created\u001b[39m\n');
    expect((await tug(['apply', '-f', 'app.yaml', '--dry-run'], { tty: true, env: { NO_COLOR: '1' } })).stdout).toBe(plan.stdout);

    await writeFile(join(dir, 'blocked.yaml'), 'kind: WorkloadInstance\nmetadata: { name: x, project: team-a }\nspec: { definitionRef: { name: nope }, clusterRef: { name: local }, overrides: { replicas: -2 } }\n---\nkind: WorkloadInstance\nmetadata: { name: y, project: team-a }\nspec: { definitionRef: { name: nope }, clusterRef: { name: local } }\n');
    const blocked = await tug(['apply', '-f', 'blocked.yaml', '--dry-run']);
    expect(blocked.code).toBe(EXIT_FAILED);
    // The API checks the schema before the references: an object breaking its schema is blocked for that alone.
    expect(blocked.stdout).toContain('! WorkloadInstance/x (project team-a) is blocked:\n    spec.overrides.replicas: minimum (must be >= 0)\n!');
    expect(blocked.stdout).toContain('! WorkloadInstance/y (project team-a) is blocked:\n    spec.definitionRef.name: reference (WorkloadDefinition "nope" does not exist)\n');
    expect(blocked.stdout).toContain('Plan: 0 to create, 0 to change, 0 unchanged, 2 blocked.');
  });

  it('refuses a missing file, an unknown kind and a malformed document before any write', async () => {
    const missing = await tug(['apply', '-f', 'nope.yaml']);
    expect(missing).toMatchObject({ code: EXIT_USAGE });
    expect(missing.stderr).toContain('-f nope.yaml: no such file or directory');

    await writeFile(join(dir, 'unknown.yaml'), 'kind: Gadget\nmetadata: { name: g }\nspec: {}\n');
    const unknown = await tug(['apply', '-f', 'unknown.yaml']);
    expect(unknown.code).toBe(EXIT_USAGE);
    expect(unknown.stderr).toContain('unknown kind "Gadget"; the API knows: Application (applications), AwsAccount (awsaccounts, aws)');

    await writeFile(join(dir, 'broken.yaml'), 'kind: ClusterDefinition\nmetadata: [\n');
    const broken = await tug(['apply', '-f', 'broken.yaml']);
    expect(broken.code).toBe(EXIT_USAGE);
    expect(broken.stderr).toMatch(/broken\.yaml:\d+:\d+: not valid YAML or JSON/);

    const noFile = await tug(['apply']);
    expect(noFile.code).toBe(EXIT_USAGE);
    expect(noFile.stderr).toContain('-f/--filename');
    expect(api.requests.filter((request) => request.method !== 'GET')).toEqual([]);
  });
});

describe('tug get', () => {
  beforeEach(async () => {
    await writeFile(join(dir, 'app.yaml'), BUNDLE);
    expect((await tug(['apply', '-f', 'app.yaml'])).code).toBe(EXIT_OK);
  });

  it('prints a table, accepting plural, singular and short names', async () => {
    api.setStatus({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' }, {
      phase: 'Ready',
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: 'True' }],
    });
    for (const kind of ['workloadinstances', 'workloadinstance', 'app', 'WorkloadInstance']) {
      const result = await tug(['get', kind, '-p', 'team-a']);
      expect(result.code).toBe(EXIT_OK);
      const [header, row] = result.stdout.trim().split('\n');
      expect(header!.split(/\s+/)).toEqual(['NAME', 'PROJECT', 'PHASE', 'READY', 'GEN', 'AGE', 'URL']);
      expect(row!.split(/\s+/).slice(0, 5)).toEqual(['web', 'team-a', 'Ready', 'True', '1']);
    }
  });

  it('prints yaml and json that round-trip, with secrets redacted', async () => {
    const yaml = await tug(['get', 'cluster', 'local', '-o', 'yaml']);
    expect(yaml.code).toBe(EXIT_OK);
    expect(parse(yaml.stdout)).toMatchObject({ kind: 'ClusterInstance', spec: { kubeconfig: '<redacted>' } });

    const json = await tug(['get', 'wi', '-o', 'json']);
    expect(JSON.parse(json.stdout).items.map((item: { metadata: { name: string } }) => item.metadata.name)).toEqual(['web']);

    // What `get -o yaml` prints applies again unchanged.
    const again = await tug(['apply', '-f', '-'], { stdin: (await tug(['get', 'app', 'web', '-p', 'team-a', '-o', 'yaml'])).stdout });
    expect(again.stdout).toBe('WorkloadInstance/web unchanged\n');
  });

  it('says what is missing: a project, an object, a known kind, a valid format', async () => {
    expect(await tug(['get', 'app', 'web'])).toMatchObject({ code: EXIT_USAGE, stderr: expect.stringContaining('-p/--project is required') });
    expect(await tug(['get', 'app', 'nope', '-p', 'team-a'])).toMatchObject({
      code: EXIT_FAILED,
      stderr: 'error: WorkloadInstance "nope" not found in project team-a\n',
    });
    const unknown = await tug(['get', 'gizmos']);
    expect(unknown.code).toBe(EXIT_USAGE);
    expect(unknown.stderr).toContain('WorkloadInstance (workloadinstances, wi, app)');
    expect(await tug(['get', 'app', '-o', 'xml'])).toMatchObject({ code: EXIT_USAGE, stderr: expect.stringContaining('table, wide, yaml, json') });
    expect(await tug(['get', 'app', '-p', 'team-z'])).toMatchObject({ code: EXIT_OK, stderr: 'No workloadinstances found in project team-z.\n' });
  });
});

describe('tug delete and tug wait', () => {
  beforeEach(async () => {
    await writeFile(join(dir, 'app.yaml'), BUNDLE);
    await tug(['apply', '-f', 'app.yaml']);
  });

  it('requests deletion while finalizers remain and waits for the row to go', async () => {
    const deleting = tug(['delete', 'app', 'web', '-p', 'team-a', '--wait', '--timeout', '5s']);
    // The controller finishing its teardown: the row goes once its finalizer is gone.
    await until(() => api.object({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' })?.metadata.deletionRequestedAt != null && api.watchers > 0);
    api.removeObject({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' });
    const result = await deleting;
    expect(result.code).toBe(EXIT_OK);
    expect(result.stdout).toBe(
      'WorkloadInstance/web deletion requested; waiting for finalizers: workload-controller\nWorkloadInstance/web deleted\n',
    );
  });

  it('times out a delete --wait that no controller finishes', async () => {
    const result = await tug(['delete', 'app', 'web', '-p', 'team-a', '--wait', '--timeout', '50ms']);
    expect(result.code).toBe(EXIT_FAILED);
    expect(result.stderr).toContain('is still there after 50ms');
    // Who holds it, whether that controller showed any sign of life, and the way out.
    expect(result.stderr).toContain(
      '  finalizer workload-controller: owned by controller workload-controller (the controller of WorkloadDefinition, WorkloadInstance, Application); ' +
        'no sign of it on this object: it may not be running',
    );
    expect(result.stderr).toContain('start the controller(s) above');
    expect(result.stderr).toContain('    tug delete workloadinstance web -p team-a --force\n');

    api.addEvent({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' }, {
      type: 'Normal',
      reason: 'Deprovisioning',
      message: 'deleting the deployment',
      source: 'workload-controller',
      lastSeen: new Date(Date.now() - 300_000).toISOString(),
    });
    const seen = await tug(['delete', 'app', 'web', '-p', 'team-a', '--wait', '--timeout', '50ms']);
    expect(seen.code).toBe(EXIT_FAILED);
    expect(seen.stderr).toMatch(/finalizer workload-controller: owned by controller workload-controller .*; last seen on this object 5m ago \(event Deprovisioning\)/);
  });

  it('force-removes the finalizers left, warning about each, through the admin path', async () => {
    const result = await tug(['delete', 'app', 'web', '-p', 'team-a', '--force']);
    expect(result.code).toBe(EXIT_OK);
    expect(result.stdout).toBe('WorkloadInstance/web deleted\n');
    expect(result.stderr).toBe(
      'warning: force-removed finalizer workload-controller from WorkloadInstance/web: controller workload-controller did not tear down what it made for it; ' +
        'check for leftovers by hand (recorded as a FinalizerForceRemoved event and a revision)\n',
    );
    expect(api.object({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' })).toBeUndefined();
    expect(api.requests).toContainEqual({ method: 'DELETE', path: '/v1/workloadinstances/web/finalizers/workload-controller', query: '?project=team-a&force=true' });
  });

  it('deletes what a manifest applied, dependents first, counting not found as gone', async () => {
    api.removeObject({ kind: 'ClusterDefinition', project: '', name: 'small' });
    const marked = await tug(['delete', '-f', 'app.yaml']);
    expect(marked.code).toBe(EXIT_OK);
    expect(marked.stdout.trim().split('\n')).toEqual([
      'WorkloadInstance/web deletion requested; waiting for finalizers: workload-controller',
      'ClusterInstance/local deletion requested; waiting for finalizers: cluster-controller',
      'ClusterDefinition/small not found (already gone)',
      'WorkloadDefinition/web-service deletion requested; waiting for the objects that use it (or that it owns) to go first',
    ]);
    expect(marked.stderr).toBe('4 objects: 1 gone, 3 waiting for finalizers\n');

    const forced = await tug(['delete', '-f', 'app.yaml', '--force']);
    expect(forced.code).toBe(EXIT_OK);
    // The definition held no finalizer: it went with the last instance that used it.
    expect(forced.stdout).toContain('WorkloadInstance/web deleted\nClusterInstance/local deleted\nClusterDefinition/small not found (already gone)\nWorkloadDefinition/web-service not found (already gone)\n');
    expect(forced.stderr.match(/^warning: force-removed/gm)).toHaveLength(2);
    expect(api.objects().length).toBe(0);

    expect(await tug(['delete', 'app', 'web', '-f', 'app.yaml'])).toMatchObject({ code: EXIT_USAGE });
    expect(await tug(['delete', 'app'])).toMatchObject({ code: EXIT_USAGE });
  });

  it('waits for several objects, named, by -l or --all, and names the ones not there yet', async () => {
    const more = (name: string, tier: string) =>
      `kind: WorkloadInstance\nmetadata: { name: ${name}, project: team-a, labels: { tier: ${tier} } }\n` +
      'spec: { definitionRef: { name: web-service }, clusterRef: { name: local }, overrides: { image: nginx:1.27 } }\n';
    await writeFile(join(dir, 'more.yaml'), `${more('api', 'prod')}---\n${more('batch', 'dev')}`);
    expect((await tug(['apply', '-f', 'more.yaml'])).code).toBe(EXIT_OK);
    const ready = { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' as const }] };
    api.setStatus({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' }, ready);

    const late = await tug(['wait', 'app', 'web', 'api', '-p', 'team-a', '--for=condition=Ready', '--timeout=50ms']);
    expect(late.code).toBe(EXIT_FAILED);
    expect(late.stdout).toBe('');
    expect(late.stderr).toContain('not yet: WorkloadInstance/api (phase Pending');
    expect(late.stderr).toContain('error: timed out after 50ms waiting for condition Ready=True: 1 of 2 not yet:\n  WorkloadInstance/api: phase Pending');
    expect(late.stderr).not.toContain('  WorkloadInstance/web:');

    // -l: every matching object must meet it; the wait goes on until the last one does.
    const waiting = tug(['wait', 'app', '-l', 'tier=prod', '-p', 'team-a', '--for=condition=Ready', '--timeout=5s']);
    // api is read after its watch opened, so the status written next reaches the wait either way.
    const before = api.requests.length;
    await until(() => api.requests.slice(before).some((request) => request.method === 'GET' && request.path === '/v1/workloadinstances/api'));
    api.setStatus({ kind: 'WorkloadInstance', project: 'team-a', name: 'api' }, ready);
    expect(await waiting).toMatchObject({ code: EXIT_OK, stdout: 'WorkloadInstance/api condition met\nWorkloadInstance/web condition met\n' });

    const all = await tug(['wait', 'app', '--all', '-p', 'team-a', '--for=condition=Ready', '--timeout=50ms']);
    expect(all.code).toBe(EXIT_FAILED);
    expect(all.stderr).toContain('1 of 3 not yet:\n  WorkloadInstance/batch: phase Pending');

    // One Failed object ends the wait for all of them at once (the timeout is far away).
    api.setStatus({ kind: 'WorkloadInstance', project: 'team-a', name: 'batch' }, { phase: 'Failed', observedGeneration: 1, conditions: [{ type: 'Ready', status: 'False', reason: 'BadImage' }] });
    const failed = await tug(['wait', 'app', '--all', '-p', 'team-a', '--for=condition=Ready', '--timeout=1h']);
    expect(failed).toMatchObject({ code: EXIT_FAILED, stdout: '' });
    expect(failed.stderr).toContain('error: WorkloadInstance/batch is Failed at generation 1: BadImage');

    expect(await tug(['wait', 'app', '-l', 'tier=none', '-p', 'team-a', '--for=condition=Ready'])).toMatchObject({
      code: EXIT_FAILED,
      stderr: expect.stringContaining('no workloadinstances found matching tier=none in project team-a'),
    });
    expect(await tug(['wait', 'app', 'web', '-l', 'tier=prod', '-p', 'team-a', '--for=condition=Ready'])).toMatchObject({ code: EXIT_USAGE });
    expect(await tug(['wait', 'app', '-p', 'team-a', '--for=condition=Ready'])).toMatchObject({ code: EXIT_USAGE });
  });

  it('ends when the condition holds at the current generation, and fails on Failed or timeout', async () => {
    api.setStatus({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' }, { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] });
    expect(await tug(['wait', 'app', 'web', '-p', 'team-a', '--for=condition=Ready'])).toMatchObject({
      code: EXIT_OK,
      stdout: 'WorkloadInstance/web condition met\n',
    });

    api.setStatus({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' }, {
      phase: 'Failed',
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: 'False', reason: 'ImagePullBackOff', message: 'no such image' }],
    });
    const failed = await tug(['wait', 'app', 'web', '-p', 'team-a', '--for', 'condition=Ready']);
    expect(failed.code).toBe(EXIT_FAILED);
    expect(failed.stderr.split('\n').at(-2)).toBe('error: WorkloadInstance/web is Failed at generation 1: ImagePullBackOff: no such image');

    api.setStatus({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' }, { phase: 'Progressing', observedGeneration: 1 });
    const timeout = await tug(['wait', 'app', 'web', '-p', 'team-a', '--for=condition=Ready', '--timeout=30ms']);
    expect(timeout.code).toBe(EXIT_FAILED);
    expect(timeout.stderr).toContain('timed out after 30ms waiting for condition Ready=True on WorkloadInstance/web; now: phase Progressing');

    expect(await tug(['wait', 'app', 'web', '-p', 'team-a'])).toMatchObject({ code: EXIT_USAGE });
    expect(await tug(['wait', 'app', 'web', '-p', 'team-a', '--for=ready'])).toMatchObject({ code: EXIT_USAGE });
  });
});

// `tug token create|list|revoke`: token-command.test.ts.

describe('connection and help', () => {
  it('says how to start the API when it cannot be reached', async () => {
    const refused: typeof fetch = async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    };
    const result = await tug(['get', 'app', '--server', 'http://127.0.0.1:9'], { fetch: refused });
    expect(result).toEqual({
      code: EXIT_UNREACHABLE,
      stdout: '',
      stderr: 'error: cannot reach the API at http://127.0.0.1:9: is it running? (`pnpm start`)\n',
    });
  });

  it('reads the token from the state directory and explains a 401', async () => {
    await writeFile(join(dir, 'admin-token'), `${FAKE_TOKEN}\n`);
    expect((await tug(['get', 'app', '--state-dir', '.'], { env: { TUGBOAT_TOKEN: '' } })).code).toBe(EXIT_OK);
    const denied = await tug(['get', 'app', '--token', 'wrong']);
    expect(denied.code).toBe(EXIT_FAILED);
    expect(denied.stderr).toContain('hint: pass --token or set TUGBOAT_TOKEN');
  });

  it('prints help for every command and rejects unknown options', async () => {
    for (const command of ['apply', 'get', 'describe', 'delete', 'wait', 'events', 'history', 'kinds', 'suspend', 'resume', 'reconcile', 'config', 'config set-context', 'config use-context', 'config get-contexts', 'up', 'token', 'token create', 'token list', 'token revoke']) {
      const result = await tug([...command.split(' '), '--help']);
      expect(result.code).toBe(EXIT_OK);
      expect(result.stdout).toContain(`Usage: tug ${command}`);
    }
    const unknown = await tug(['get', 'app', '--bogus']);
    expect(unknown.code).toBe(EXIT_USAGE);
    expect(unknown.stderr).toContain("unknown option '--bogus'");
  });
});
