import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './describe-error.js';
import { runCli } from './run-cli.js';
import { createFakeApi, FAKE_TOKEN, type FakeApi } from '@tugboat/api-client/testing';
import type { ResourceStatus } from '@tugboat/resource-model';

const BUNDLE = `
kind: ClusterDefinition
metadata: { name: small }
spec: { provider: kubeconfig, allowedVersions: ["1.30"], allowedRegions: [eu-west-1], allowedNodeSizes: [small] }
---
kind: ClusterInstance
metadata: { name: local, labels: { env: dev } }
spec: { definitionRef: { name: small }, kubeconfig: "apiVersion: v1" }
---
kind: WorkloadDefinition
metadata: { name: web-service }
spec: { container: {}, overridable: [image], maxReplicas: 5 }
---
kind: WorkloadInstance
metadata: { name: web, project: team-a, labels: { tier: prod } }
spec: { definitionRef: { name: web-service }, clusterRef: { name: local }, overrides: { image: nginx:1.27 } }
`;

let dir: string;
let api: FakeApi;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Starts `tug` in-process; `output()` shows what it printed so far, `stop()` is its Ctrl-C. */
function start(argv: string[], extra: { tty?: boolean; env?: Record<string, string> } = {}) {
  let stdout = '';
  let stderr = '';
  const interrupt = new AbortController();
  const done: Promise<Run> = runCli(argv, {
    stdout: { write: (text: string) => (stdout += text), isTTY: extra.tty ?? false },
    stderr: { write: (text: string) => (stderr += text), isTTY: extra.tty ?? false },
    env: { TUGBOAT_TOKEN: FAKE_TOKEN, ...extra.env },
    cwd: dir,
    fetch: api.fetch,
    pollIntervalMs: 10,
    signal: interrupt.signal,
    now: () => Date.parse('2026-06-01T00:00:00Z'),
  }).then((code) => ({ code, stdout, stderr }));
  return { done, output: () => stdout, errors: () => stderr, stop: () => interrupt.abort(new Error('Ctrl-C')) };
}

const tug = (...argv: string[]) => start(argv).done;

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const rows = (text: string) => text.trim().split('\n').map((line) => line.trim().split(/\s{2,}/));

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tug-inspect-'));
  api = createFakeApi();
  await writeFile(join(dir, 'app.yaml'), BUNDLE);
  expect((await tug('apply', '-f', 'app.yaml')).code).toBe(EXIT_OK);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tug get -w', () => {
  it('prints the list, then a row per visible change, re-lists on 410, and ends cleanly on Ctrl-C', async () => {
    const watch = start(['get', 'workloadinstances', '-p', 'team-a', '-w']);
    await until(() => api.watchers === 1, 'the watch');
    api.setStatus({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' }, { phase: 'Progressing', observedGeneration: 1 });
    // A status write that changes no column prints nothing.
    api.setStatus({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' }, { phase: 'Progressing', observedGeneration: 1, outputs: { a: 1 } });
    api.setStatus({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' }, { phase: 'Ready', observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] });
    await until(() => watch.output().includes('Ready'), 'the Ready row');

    await writeFile(join(dir, 'api.yaml'), 'kind: WorkloadInstance\nmetadata: { name: api, project: team-a }\nspec: { definitionRef: { name: web-service }, clusterRef: { name: local }, overrides: { image: api:1 } }\n');
    await tug('apply', '-f', 'api.yaml');
    await until(() => watch.output().includes('api '), 'the added row');
    // The stream ends, and before the watch is resumed a change happens and the server forgets
    // it: the resumed watch answers 410, and the re-list reports the deletion it missed.
    api.endWatches();
    api.removeObject({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' });
    api.forgetChanges();
    await until(() => watch.output().includes('Deleted'), 'the Deleted row');
    watch.stop();
    const result = await watch.done;
    expect(result.code).toBe(EXIT_OK);
    expect(rows(result.stdout).map((row) => row.slice(0, 5))).toEqual([
      ['NAME', 'PROJECT', 'PHASE', 'READY', 'GEN'],
      ['web', 'team-a', 'Pending', '-', '1'],
      ['web', 'team-a', 'Progressing', '-', '1'],
      ['web', 'team-a', 'Ready', 'True', '1'],
      ['api', 'team-a', 'Pending', '-', '1'],
      ['web', 'team-a', 'Deleted', 'True', '1'],
    ]);
    expect(result.stderr).toBe('(the watch cursor is too old; listing again)\n');
    expect(api.watchers).toBe(0);
  });

  it('prints one json document per change for one object, filtered by name and selector', async () => {
    const watch = start(['get', 'cluster', 'local', '-o', 'json', '-w', '-l', 'env=dev']);
    await until(() => api.watchers === 1, 'the watch');
    api.setStatus({ kind: 'ClusterInstance', project: '', name: 'local' }, { phase: 'Ready' });
    await until(() => watch.output().split('\n').length === 3, 'two documents');
    watch.stop();
    const lines = (await watch.done).stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => [line.type, line.object.metadata.name, line.object.status.phase])).toEqual([
      ['ADDED', 'local', undefined],
      ['MODIFIED', 'local', 'Ready'],
    ]);
    expect(lines[0].object.spec.kubeconfig).toBe('<redacted>');
  });

  it('says so when the API has no watch', async () => {
    api.missingRoutes.add('/v1/watch');
    const result = await tug('get', 'app', '-w');
    expect(result.code).toBe(EXIT_FAILED);
    expect(result.stderr).toContain('this API does not serve GET /v1/watch');
  });
});

const EXPOSED = `
kind: AwsAccount
metadata: { name: dns }
spec: { accountId: "123456789012", region: us-east-1, accessKeyId: AKIAEXAMPLE000000000, secretAccessKey: secret }
---
kind: DomainDefinition
metadata: { name: example }
spec: { domain: example.test, accountRef: { name: dns }, acme: { email: platform@example.test } }
---
kind: GatewayDefinition
metadata: { name: public }
spec: {}
---
kind: WorkloadInstance
metadata: { name: api, project: team-a }
spec: { definitionRef: { name: web-service }, clusterRef: { name: local } }
---
kind: WorkloadInstance
metadata: { name: shop, project: team-b }
spec: { definitionRef: { name: web-service }, clusterRef: { name: local } }
`;

/** What the workload-controller writes for an app with spec.expose: an Exposure of the same project and name. */
const exposureOf = (project: string, name: string) =>
  `kind: Exposure\nmetadata: { name: ${name}, project: ${project} }\n` +
  `spec: { workload: ${name}, clusterRef: { name: local }, namespace: ${project}-${name}, domainRef: { name: example }, gatewayRef: { name: public }, host: ${name}, service: ${name}, port: 80 }\n`;

describe('apps and their exposures', () => {
  beforeEach(async () => {
    await writeFile(join(dir, 'exposed.yaml'), `${EXPOSED}---\n${exposureOf('team-a', 'web')}---\n${exposureOf('team-b', 'shop')}`);
    expect(await tug('apply', '-f', 'exposed.yaml')).toMatchObject({ code: EXIT_OK });
    api.setStatus({ kind: 'Exposure', project: 'team-a', name: 'web' }, {
      phase: 'Ready',
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Exposed', message: 'https://web.example.test → web:80 in namespace team-a-web on cluster local', lastTransitionTime: '2026-05-31T23:59:00Z' },
        { type: 'DnsReady', status: 'True', reason: 'InSync', message: 'CNAME web.example.test → lb.example in zone Z1 is INSYNC' },
      ],
      outputs: { url: 'https://web.example.test', host: 'web.example.test', loadBalancer: 'lb.example' },
    });
    api.setStatus({ kind: 'Exposure', project: 'team-b', name: 'shop' }, {
      phase: 'Progressing',
      conditions: [{ type: 'Ready', status: 'False', reason: 'InstallingComponents', message: 'installing Envoy Gateway' }],
    });
  });

  it('lists apps with the url of their Exposure, from one list of exposures, empty for an app not exposed', async () => {
    const before = api.requests.length;
    const listed = await tug('get', 'apps', '-p', 'team-a');
    expect(listed.code).toBe(EXIT_OK);
    expect(rows(listed.stdout)).toEqual([
      ['NAME', 'PROJECT', 'PHASE', 'READY', 'GEN', 'AGE', 'URL'],
      ['api', 'team-a', 'Pending', '-', '1', '0s'],
      ['web', 'team-a', 'Pending', '-', '1', '0s', 'https://web.example.test'],
    ]);
    const exposureRequests = api.requests.slice(before).filter((request) => request.path.includes('exposures'));
    expect(exposureRequests).toHaveLength(1);
    expect(exposureRequests[0]!.method).toBe('GET');

    // One app: its own Exposure. No project (every one): every Exposure, each url on its own app's row.
    expect(rows((await tug('get', 'app', 'web', '-p', 'team-a')).stdout)[1]).toEqual(['web', 'team-a', 'Pending', '-', '1', '0s', 'https://web.example.test']);
    const all = await tug('get', 'apps');
    expect(rows(all.stdout).map((row) => [row[0], row[6]])).toEqual([
      ['NAME', 'URL'],
      ['api', undefined],
      ['web', 'https://web.example.test'],
      ['shop', undefined],
    ]);
  });

  it('prints exposures as NAME, PROJECT, URL, PHASE, READY, REASON, AGE', async () => {
    const listed = await tug('get', 'exposures');
    expect(rows(listed.stdout)).toEqual([
      ['NAME', 'PROJECT', 'URL', 'PHASE', 'READY', 'REASON', 'AGE'],
      ['web', 'team-a', 'https://web.example.test', 'Ready', 'True', 'Exposed', '0s'],
      ['shop', 'team-b', '-', 'Progressing', 'False', 'InstallingComponents', '0s'],
    ]);
    const wide = await tug('get', 'expo', 'web', '-p', 'team-a', '-o', 'wide');
    expect(rows(wide.stdout)[0]).toEqual(['NAME', 'PROJECT', 'URL', 'PHASE', 'READY', 'REASON', 'AGE', 'GEN', 'LOAD BALANCER', 'SUSPENDED', 'FINALIZERS']);
    expect(rows(wide.stdout)[1]?.slice(0, 9)).toEqual(['web', 'team-a', 'https://web.example.test', 'Ready', 'True', 'Exposed', '0s', '1', 'lb.example']);
  });

  it('follows exposures with -w in their own columns, Deleted in PHASE', async () => {
    const watch = start(['get', 'exposures', '-p', 'team-a', '-w']);
    await until(() => api.watchers === 1, 'the watch');
    api.removeObject({ kind: 'Exposure', project: 'team-a', name: 'web' });
    await until(() => watch.output().includes('Deleted'), 'the Deleted row');
    watch.stop();
    expect(rows((await watch.done).stdout)).toEqual([
      ['NAME', 'PROJECT', 'URL', 'PHASE', 'READY', 'REASON', 'AGE'],
      ['web', 'team-a', 'https://web.example.test', 'Ready', 'True', 'Exposed', '0s'],
      ['web', 'team-a', 'https://web.example.test', 'Deleted', 'True', 'Exposed', '0s'],
    ]);
  });

  it('describes an exposed app with an Exposure section: url, phase, why (not) Ready, conditions', async () => {
    const described = await tug('describe', 'app', 'web', '-p', 'team-a');
    expect(described.code).toBe(EXIT_OK);
    const section = described.stdout.slice(described.stdout.indexOf('Exposure:'), described.stdout.indexOf('References:'));
    expect(section.split('\n').map((line) => line.trimEnd())).toEqual([
      'Exposure:           Exposure/team-a/web',
      '  URL:              https://web.example.test',
      '  Phase:            Ready',
      '  Ready:            True (Exposed): https://web.example.test → web:80 in namespace team-a-web on cluster local',
      '  Conditions:',
      '    TYPE       STATUS   REASON    AGE   MESSAGE',
      '    Ready      True     Exposed   60s   https://web.example.test → web:80 in namespace team-a-web on cluster local',
      '    DnsReady   True     InSync    -     CNAME web.example.test → lb.example in zone Z1 is INSYNC',
      '',
    ]);

    const waiting = await tug('describe', 'app', 'shop', '-p', 'team-b');
    expect(waiting.stdout).toContain('  URL:              - (not yet)\n  Phase:            Progressing\n  Ready:            False (InstallingComponents): installing Envoy Gateway\n');
    // An app not exposed has no such section.
    expect((await tug('describe', 'app', 'api', '-p', 'team-a')).stdout).not.toContain('Exposure:');
  });
});

describe('tug get -o wide, describe, events, history, kinds', () => {
  it('prints wide rows with reason, suspension, finalizers and labels', async () => {
    api.setStatus({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' }, { phase: 'Degraded', definitionGeneration: 1, conditions: [{ type: 'Ready', status: 'False', reason: 'CrashLoop' }] });
    const wide = await tug('get', 'app', '-p', 'team-a', '-o', 'wide');
    expect(rows(wide.stdout)).toEqual([
      ['NAME', 'PROJECT', 'PHASE', 'READY', 'GEN', 'AGE', 'DEF GEN', 'REASON', 'SUSPENDED', 'FINALIZERS', 'LABELS', 'URL'],
      ['web', 'team-a', 'Degraded', 'False', '1', '0s', '1', 'CrashLoop', 'no', 'workload-controller', 'tier=prod'],
    ]);
  });

  it('describes an object: spec, status, conditions, references both ways, recent events', async () => {
    api.setStatus({ kind: 'ClusterInstance', project: '', name: 'local' }, {
      phase: 'Ready',
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Connected', message: 'API server answers', lastTransitionTime: '2026-05-31T23:58:00Z' }],
      outputs: { endpoint: 'https://k8s.local' },
    });
    for (let index = 1; index <= 12; index++) {
      api.addEvent({ kind: 'ClusterInstance', project: '', name: 'local' }, { type: index === 12 ? 'Warning' : 'Normal', reason: `Step${index}`, message: `step ${index}`, source: 'infra-controller', lastSeen: `2026-05-31T23:${String(index + 10)}:00Z` });
    }
    const result = await tug('describe', 'cluster', 'local');
    expect(result.code).toBe(EXIT_OK);
    const text = result.stdout;
    expect(text).toContain('Name:               local\n');
    expect(text).toContain('Kind:               ClusterInstance (platform-wide, owned by cluster-controller)\n');
    expect(text).toContain('Labels:             env=dev\n');
    expect(text).toContain('Generation:         1, observed 1\n');
    expect(text).toContain('Spec:\n  definitionRef:\n    name: small\n  kubeconfig: <redacted>\n');
    expect(text).toContain('  Phase:              Ready\n');
    expect(rows(text.slice(text.indexOf('    TYPE'), text.indexOf('  Outputs')))).toEqual([
      ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
      ['Ready', 'True', 'Connected', '2m', 'API server answers'],
    ]);
    expect(text).toContain('  Outputs:\n    endpoint: https://k8s.local\n');
    expect(text).toContain('References:\n  ClusterDefinition/small   (spec.definitionRef)\n');
    expect(text).toContain('Referenced by:\n  WorkloadInstance/team-a/web   (spec.clusterRef)\n');
    expect(text).toContain('Events: (the 10 most recent of 12)\n');
    expect(text).not.toContain('Step2 ');
    expect(text).toMatch(/Step3 .*\n(.*\n){8}.*Warning\s+Step12\s+1\s+infra-controller\s+step 12\n$/);

    expect(await tug('describe', 'app', 'nope', '-p', 'team-a')).toMatchObject({ code: EXIT_FAILED, stderr: 'error: WorkloadInstance/nope not found in project team-a\n' });
    expect((await tug('describe', 'app', 'web')).code).toBe(EXIT_USAGE);
    expect((await tug('describe', 'app', 'web', '-p', 'team-a', '--events', 'x')).stderr).toContain('--events: "x" is not a whole number');
  });

  it('describes the objects a controller made, one row each, with why one is not ready', async () => {
    api.setStatus({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' }, {
      phase: 'Degraded',
      objects: [
        { apiVersion: 'v1', kind: 'ServiceAccount', namespace: 'team-a-web', name: 'web', ready: true },
        { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'team-a-web', name: 'web', ready: false, reason: 'ImagePullBackOff', message: 'pod web-1: image not found' },
        { kind: 42 },
      ],
    });
    const text = (await tug('describe', 'app', 'web', '-p', 'team-a')).stdout;
    expect(rows(text.slice(text.indexOf('    KIND'), text.indexOf('References')))).toEqual([
      ['KIND', 'NAME', 'READY', 'REASON', 'MESSAGE'],
      ['ServiceAccount', 'team-a-web/web', 'yes', '-'],
      ['Deployment', 'team-a-web/web', 'no', 'ImagePullBackOff', 'pod web-1: image not found'],
    ]);
  });

  it('lists events of one object, of a kind, and of everything, oldest first', async () => {
    api.addEvent({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' }, { type: 'Warning', reason: 'BackOff', message: 'pulling image', source: 'workload-controller', lastSeen: '2026-05-31T23:59:00Z' });
    api.addEvent({ kind: 'ClusterInstance', project: '', name: 'local' }, { type: 'Normal', reason: 'Connected', message: 'ok', source: 'infra-controller', lastSeen: '2026-05-31T23:00:00Z' });
    const one = await tug('events', 'app', 'web', '-p', 'team-a');
    expect(rows(one.stdout)).toEqual([
      ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'COUNT', 'FROM', 'MESSAGE'],
      ['60s', 'Warning', 'BackOff', 'WorkloadInstance/team-a/web', '1', 'workload-controller', 'pulling image'],
    ]);
    const all = await tug('events');
    expect(rows(all.stdout).slice(1).map((row) => row[3])).toEqual(['ClusterInstance/local', 'WorkloadInstance/team-a/web']);
    const warnings = await tug('events', '--warnings', '-o', 'json');
    expect(JSON.parse(warnings.stdout).items.map((event: { reason: string }) => event.reason)).toEqual(['BackOff']);
    expect(await tug('events', 'cluster')).toMatchObject({ code: EXIT_OK });
    expect(await tug('events', 'wd', 'web-service')).toMatchObject({ code: EXIT_OK, stderr: 'No events found.\n' });
  });

  it('shows revisions, one revision, and the diff between two', async () => {
    await writeFile(join(dir, 'app.yaml'), BUNDLE.replace('nginx:1.27', 'nginx:1.28').replace('tier: prod', 'tier: prod, team: shop'));
    await tug('apply', '-f', 'app.yaml');
    const history = await tug('history', 'app', 'web', '-p', 'team-a');
    // A revision is numbered by the resourceVersion its change produced, as the API numbers them.
    const [newer, older] = rows(history.stdout).slice(1).map((row) => row[0]!);
    expect(Number(newer)).toBeGreaterThan(Number(older));
    expect(rows(history.stdout).map((row) => row.slice(1, 4))).toEqual([
      ['GEN', 'CAUSE', 'ACTOR'],
      ['2', 'spec', 'admin'],
      ['1', 'spec', 'admin'],
    ]);
    expect((await tug('history', 'app', 'web', '-p', 'team-a', '--diff', `${older}..${newer}`)).stdout).toBe(
      `WorkloadInstance/web: revision ${older} → ${newer}\n  + metadata.labels.team: "shop"\n  ~ spec.overrides.image: "nginx:1.27" → "nginx:1.28"\n`,
    );
    expect(parse((await tug('history', 'app', 'web', '-p', 'team-a', '--revision', older!)).stdout)).toMatchObject({ revision: Number(older), spec: { overrides: { image: 'nginx:1.27' } } });
    expect(await tug('history', 'app', 'web', '-p', 'team-a', '--revision', '999')).toMatchObject({ code: EXIT_FAILED, stderr: expect.stringContaining('has no revision 999') });
    expect(await tug('history', 'app', 'web', '-p', 'team-a', '--diff', '1-2')).toMatchObject({ code: EXIT_USAGE, stderr: expect.stringContaining('--diff: "1-2" is not N..M') });
  });

  it('lists kinds with all their names, and shows one with its schema', async () => {
    const table = await tug('kinds');
    expect(rows(table.stdout).find((row) => row[0] === 'WorkloadInstance')).toEqual([
      'WorkloadInstance',
      'workloadinstances,workloadinstance,wi,app',
      'Project',
      'workload-controller',
      'definitionRef→WorkloadDefinition,clusterRef→ClusterInstance,databases[].ref→DatabaseInstance,secrets[].ref→SecretInstance,expose.domainRef→DomainDefinition,expose.gatewayRef→GatewayDefinition',
      'yes',
    ]);
    const one = parseAllDocuments((await tug('kinds', 'app', '-o', 'yaml')).stdout)[0]!.toJS();
    expect(one).toMatchObject({ kind: 'WorkloadInstance', schema: { required: ['definitionRef'] } });
    expect((await tug('kinds', 'gizmo')).code).toBe(EXIT_USAGE);
  });
});

describe('operator controls and wait', () => {
  it('suspends, resumes and asks for a reconcile, each recorded', async () => {
    expect(await tug('suspend', 'app', 'web', '-p', 'team-a')).toEqual({ code: EXIT_OK, stdout: 'WorkloadInstance/web suspended\n', stderr: '' });
    expect(api.object({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' })?.metadata.suspended).toBe(true);
    expect((await tug('get', 'app', '-p', 'team-a', '-o', 'wide')).stdout).toMatch(/web .* yes /);
    expect((await tug('resume', 'app', 'web', '-p', 'team-a')).stdout).toBe('WorkloadInstance/web resumed\n');
    expect((await tug('reconcile', 'cluster', 'local')).stdout).toBe('ClusterInstance/local reconcile requested\n');
    expect(rows((await tug('history', 'app', 'web', '-p', 'team-a')).stdout).map((row) => [row[2], row.at(-1)])).toEqual([
      ['CAUSE', 'NOTE'],
      ['metadata', 'resumed'],
      ['metadata', 'suspended'],
      ['spec', '0s'],
    ]);
    expect(api.requests.filter((request) => request.method === 'POST' && request.path !== '/v1/apply').map((request) => request.path)).toEqual([
      '/v1/workloadinstances/web/suspend',
      '/v1/workloadinstances/web/resume',
      '/v1/clusterinstances/local/reconcile',
    ]);
    expect((await tug('suspend', 'app', 'nope', '-p', 'team-a')).code).toBe(EXIT_FAILED);
  });

  it('follows the object through the watch, printing each change on its own line when not a terminal', async () => {
    const waiting = start(['wait', 'app', 'web', '-p', 'team-a', '--for=condition=Ready', '--timeout=5s']);
    await until(() => api.watchers === 1 && waiting.errors().includes('phase Pending'), 'the first progress line');
    api.setStatus({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' }, { phase: 'Progressing', observedGeneration: 1, conditions: [{ type: 'Ready', status: 'False', reason: 'Rolling' }] });
    api.setStatus({ kind: 'WorkloadInstance', project: 'team-a', name: 'web' }, { phase: 'Ready', observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] });
    const result = await waiting.done;
    expect(result).toEqual({
      code: EXIT_OK,
      stdout: 'WorkloadInstance/web condition met\n',
      stderr: [
        'waiting for condition Ready=True on WorkloadInstance/web: phase Pending; generation 1, observed none; no conditions; finalizers workload-controller',
        'waiting for condition Ready=True on WorkloadInstance/web: phase Progressing; generation 1, observed 1; conditions Ready=False (Rolling); finalizers workload-controller',
        'waiting for condition Ready=True on WorkloadInstance/web: phase Ready; generation 1, observed 1; conditions Ready=True; finalizers workload-controller',
        '',
      ].join('\n'),
    });
    // Only the watch: one read of the object, no polling.
    expect(api.requests.filter((request) => request.path === '/v1/workloadinstances/web').length).toBe(1);
  });

  it('rewrites one line on a terminal, and polls an API without a watch', async () => {
    api.missingRoutes.add('/v1/watch');
    const waiting = start(['wait', 'cluster', 'local', '--for=condition=Ready', '--timeout=5s'], { tty: true });
    await until(() => waiting.errors().includes('phase Pending'), 'the first progress line');
    api.setStatus({ kind: 'ClusterInstance', project: '', name: 'local' }, { phase: 'Ready', observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] });
    const result = await waiting.done;
    expect(result.code).toBe(EXIT_OK);
    expect(result.stderr.startsWith('\r\u001b[2Kwaiting for condition Ready=True on ClusterInstance/local: phase Pending')).toBe(true);
    expect(result.stderr).not.toContain('\n');
    expect(result.stderr.endsWith('\r\u001b[2K')).toBe(true);
    expect(api.requests.filter((request) => request.path === '/v1/clusterinstances/local').length).toBeGreaterThan(1);
  });

  it('ends a wait on Ctrl-C with 130 and no error message', async () => {
    const waiting = start(['wait', 'app', 'web', '-p', 'team-a', '--for=condition=Ready']);
    await until(() => api.watchers === 1, 'the watch');
    waiting.stop();
    const result = await waiting.done;
    expect(result.code).toBe(130);
    expect(result.stderr).not.toContain('error');
    expect(api.watchers).toBe(0);
  });
});

describe('tug get --tree and tug describe of an Application', () => {
  const tree: ResourceStatus = {
    phase: 'Progressing',
    observedGeneration: 1,
    conditions: [{ type: 'Ready', status: 'False' as const, reason: 'WaitingForSecret', message: 'dev/web (WorkloadInstance shop-web-dev) Progressing: waiting for its secrets', lastTransitionTime: '2026-06-01T00:00:00Z' }],
    clusters: [
      {
        cluster: 'dev',
        tier: 'dev',
        phase: 'Progressing',
        components: [
          { component: 'key', kind: 'SecretInstance', object: 'shop-key-dev', phase: 'Progressing', reason: 'WaitingForValue', message: 'no value yet' },
          { component: 'web', kind: 'WorkloadInstance', object: 'shop-web-dev', phase: 'Progressing', reason: 'WaitingForSecret', message: 'waiting for its secrets' },
        ],
      },
    ],
  };

  beforeEach(async () => {
    await writeFile(
      join(dir, 'shop.yaml'),
      `kind: SecretDefinition
metadata: { name: vault }
spec: { backend: tugboat }
---
kind: Application
metadata: { name: shop, project: team-a }
spec:
  targets: [{ tier: dev }]
  secrets: [{ name: key, definitionRef: { name: vault }, key: API_KEY }]
  workloads: [{ name: web, definitionRef: { name: web-service }, secrets: [{ component: key }] }]
`,
    );
    expect(await tug('apply', '-f', 'shop.yaml')).toMatchObject({ code: EXIT_OK, stderr: '' });
    api.setStatus({ kind: 'Application', project: 'team-a', name: 'shop' }, tree);
  });

  it('prints the tree per cluster and component, with why each is not Ready, from KIND/NAME', async () => {
    const got = await tug('get', 'application/shop', '-p', 'team-a', '--tree');
    expect(got).toMatchObject({ code: EXIT_OK, stderr: '' });
    expect(got.stdout).toBe(
      [
        'Application shop  Progressing  (dev/web (WorkloadInstance shop-web-dev) Progressing: waiting for its secrets)',
        '└─ cluster dev (tier dev)  Progressing',
        '   ├─ key  SecretInstance/shop-key-dev  Progressing  WaitingForValue: no value yet',
        '   └─ web  WorkloadInstance/shop-web-dev  Progressing  WaitingForSecret: waiting for its secrets',
        '',
      ].join('\n'),
    );
    const described = await tug('describe', 'application/shop', '-p', 'team-a');
    expect(described.code).toBe(EXIT_OK);
    expect(described.stdout).toContain('Tree:\n  Application shop  Progressing');
    expect(described.stdout).toContain('     └─ web  WorkloadInstance/shop-web-dev  Progressing  WaitingForSecret: waiting for its secrets\n');
  });

  it('refuses --tree for another kind or without a name, and KIND/NAME with a NAME too', async () => {
    expect(await tug('get', 'app', 'web', '-p', 'team-a', '--tree')).toMatchObject({ code: EXIT_USAGE, stderr: expect.stringContaining('--tree shows an Application') });
    expect(await tug('get', 'applications', '-p', 'team-a', '--tree')).toMatchObject({ code: EXIT_USAGE, stderr: expect.stringContaining('give its name') });
    expect(await tug('describe', 'application/shop', 'shop', '-p', 'team-a')).toMatchObject({ code: EXIT_USAGE, stderr: expect.stringContaining('not both') });
  });
});
