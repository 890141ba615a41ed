/**
 * Rendering the stand-in charts with the real helm binary against a sandbox: HTTP repositories and
 * the OCI registry through mirrors of the real URLs, values, CRDs, helm's failures as ChartErrors,
 * the cache, and what happens to a run that takes too long, prints too much or is abandoned.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chartMirrors, chartPlainHttpHosts, STANDIN_CHARTS, startTestSandbox, waitFor, type TestSandbox } from '@tugboat/sandbox/testing';
import { isChartError, type ChartError } from './chart-error.js';
import type { RenderChartInput, RenderedObject } from './chart-source.js';
import { createHelmRenderer, type HelmRendererOptions } from './helm-renderer.js';
import { execHelm, type HelmRunner } from './helm-runner.js';
import { parseRepositoryMirrors } from './repository-mirrors.js';

let test: TestSandbox;
let dir: string;
let base: HelmRendererOptions;

beforeAll(async () => {
  test = await startTestSandbox();
  dir = mkdtempSync(join(tmpdir(), 'tugboat-helm-test-'));
  base = {
    cacheDir: join(dir, 'cache'),
    mirrors: parseRepositoryMirrors(chartMirrors(test.url)),
    plainHttpHosts: chartPlainHttpHosts(test.url).split(','),
    ...(process.env.HELM ? { helmBinary: process.env.HELM } : {}),
  };
});

afterAll(async () => {
  await test.sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

const names = (objects: RenderedObject[], kind?: string) => objects.filter((o) => kind === undefined || o.kind === kind).map((o) => o.metadata.name);

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function failure(promise: Promise<unknown>): Promise<ChartError> {
  try {
    await promise;
  } catch (error) {
    if (isChartError(error)) return error;
    throw error;
  }
  throw new Error('expected the render to fail');
}

describe('rendering the stand-in charts', () => {
  const renderer = () => createHelmRenderer(base);

  it('renders cert-manager from its HTTP repository, with its CRDs only when asked', async () => {
    const helm = renderer();
    const input: RenderChartInput = { source: STANDIN_CHARTS.certManager, releaseName: 'cert-manager', namespace: 'cert-manager' };
    const plain = await helm.render(input);
    expect(names(plain.objects, 'CustomResourceDefinition')).toEqual([]);
    expect(names(plain.objects, 'Deployment')).toEqual(['cert-manager', 'cert-manager-webhook', 'cert-manager-cainjector']);
    expect(names(plain.objects, 'Service')).toEqual(['cert-manager', 'cert-manager-webhook']);
    expect(names(plain.objects, 'ServiceAccount')).toEqual(['cert-manager', 'cert-manager-webhook', 'cert-manager-cainjector']);
    expect(plain.objects.every((o) => o.metadata.namespace === 'cert-manager')).toBe(true);
    expect(plain.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const withCrds = await helm.render({ ...input, values: { crds: { enabled: true }, image: { tag: 'v1.17.1' } } });
    expect(names(withCrds.objects, 'CustomResourceDefinition')).toEqual([
      'certificates.cert-manager.io',
      'certificaterequests.cert-manager.io',
      'issuers.cert-manager.io',
      'clusterissuers.cert-manager.io',
      'orders.acme.cert-manager.io',
      'challenges.acme.cert-manager.io',
    ]);
    const clusterIssuer = withCrds.objects.find((o) => o.metadata.name === 'clusterissuers.cert-manager.io');
    expect(clusterIssuer?.spec).toMatchObject({ group: 'cert-manager.io', scope: 'Cluster', names: { kind: 'ClusterIssuer' } });
    const controller = withCrds.objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'cert-manager') as { spec: { template: { spec: { containers: Array<{ image: string }> } } } } | undefined;
    expect(controller?.spec.template.spec.containers[0]?.image).toBe('quay.io/jetstack/cert-manager-controller:v1.17.1');
    expect(withCrds.digest).not.toBe(plain.digest);
  });

  it('renders Envoy Gateway from the OCI registry, the Gateway API CRDs with includeCrds', async () => {
    const helm = renderer();
    const input: RenderChartInput = { source: STANDIN_CHARTS.envoyGateway, releaseName: 'eg', namespace: 'envoy-gateway-system', includeCrds: true, kubeVersion: '1.32.0' };
    const { objects } = await helm.render(input);
    expect(names(objects, 'CustomResourceDefinition')).toEqual([
      'gatewayclasses.gateway.networking.k8s.io',
      'gateways.gateway.networking.k8s.io',
      'httproutes.gateway.networking.k8s.io',
      'referencegrants.gateway.networking.k8s.io',
    ]);
    const deployment = objects.find((o) => o.kind === 'Deployment');
    expect(deployment?.metadata).toMatchObject({ name: 'envoy-gateway', namespace: 'envoy-gateway-system', labels: { 'control-plane': 'envoy-gateway' } });
    expect(JSON.stringify(deployment)).toContain('docker.io/envoyproxy/gateway:v1.4.1');
    expect(names(objects, 'Service')).toEqual(['envoy-gateway']);
    expect(names(objects, 'ClusterRole')).toEqual(['eg-gateway-helm-envoy-gateway-role']);

    const withoutCrds = await helm.render({ ...input, includeCrds: false, values: { deployment: { replicas: 2 } } });
    expect(names(withoutCrds.objects, 'CustomResourceDefinition')).toEqual([]);
    expect(withoutCrds.objects.find((o) => o.kind === 'Deployment')?.spec).toMatchObject({ replicas: 2 });
  });

  it('renders podinfo alike from its HTTP repository and its OCI registry, with values', async () => {
    const helm = renderer();
    const values = { replicaCount: 3, ui: { message: 'hello from tugboat' }, image: { tag: '6.8.0-rc1' } };
    const http = await helm.render({ source: STANDIN_CHARTS.podinfo, releaseName: 'web', namespace: 'shop', values });
    const oci = await helm.render({ source: STANDIN_CHARTS.podinfoOci, releaseName: 'web', namespace: 'shop', values });
    expect(names(http.objects)).toEqual(['web-podinfo', 'web-podinfo']);
    const deployment = http.objects.find((o) => o.kind === 'Deployment') as { spec: { replicas: number; template: { spec: { containers: Array<Record<string, unknown>> } } } } | undefined;
    expect(deployment?.spec.replicas).toBe(3);
    expect(deployment?.spec.template.spec.containers[0]).toMatchObject({
      image: 'ghcr.io/stefanprodan/podinfo:6.8.0-rc1',
      ports: [{ name: 'http', containerPort: 9898, protocol: 'TCP' }],
      env: expect.arrayContaining([{ name: 'PODINFO_UI_MESSAGE', value: 'hello from tugboat' }]),
    });
    // The same archive behind both: the same output, the same digest.
    expect(oci.objects).toEqual(http.objects);
    expect(oci.digest).toBe(http.digest);
    const previous = await helm.render({ source: STANDIN_CHARTS.podinfoPreviousOci, releaseName: 'podinfo', namespace: 'shop' });
    expect(names(previous.objects, 'Deployment')).toEqual(['podinfo']);
    expect(JSON.stringify(previous.objects)).toContain('ghcr.io/stefanprodan/podinfo:6.7.1');
  });
});

describe("helm's failures", () => {
  it("a version the repository does not have is VersionNotFound, with helm's message and the latest version", async () => {
    const helm = createHelmRenderer(base);
    const http = await failure(helm.render({ source: { ...STANDIN_CHARTS.certManager, version: 'v9.9.9' }, releaseName: 'cert-manager', namespace: 'cert-manager' }));
    expect(http.reason).toBe('VersionNotFound');
    expect(http.retryable).toBe(false);
    expect(http.message).toBe(
      `chart "cert-manager" v9.9.9 from https://charts.jetstack.io (mirror ${test.url}/charts/jetstack): ` +
        `chart "cert-manager" version "v9.9.9" not found in ${test.url}/charts/jetstack repository (the latest version there is v1.17.2)`,
    );
    const oci = await failure(helm.render({ source: { ...STANDIN_CHARTS.podinfoOci, version: '9.9.9' }, releaseName: 'web', namespace: 'shop' }));
    expect(oci.reason).toBe('VersionNotFound');
    expect(oci.message).toContain('podinfo:9.9.9: not found (the latest version there is 6.8.0)');
  });

  it('a chart the repository does not have is ChartNotFound', async () => {
    const helm = createHelmRenderer(base);
    const http = await failure(helm.render({ source: { ...STANDIN_CHARTS.podinfo, chart: 'podinfoo' }, releaseName: 'web', namespace: 'shop' }));
    expect(http.reason).toBe('ChartNotFound');
    expect(http.message).toContain(`chart "podinfoo" not found in ${test.url}/charts/podinfo repository`);
    const oci = await failure(helm.render({ source: { ...STANDIN_CHARTS.envoyGateway, chart: 'gateway' }, releaseName: 'eg', namespace: 'eg' }));
    expect(oci.reason).toBe('ChartNotFound');
    expect(oci.message).toContain('name unknown');
  });

  it('a repository nobody answers at is RepositoryUnreachable', async () => {
    const helm = createHelmRenderer({ ...base, mirrors: parseRepositoryMirrors('https://charts.jetstack.io=http://127.0.0.1:1/charts,oci://docker.io/envoyproxy=oci://127.0.0.1:1/envoyproxy'), plainHttpHosts: ['127.0.0.1:1'] });
    const http = await failure(helm.render({ source: STANDIN_CHARTS.certManager, releaseName: 'cert-manager', namespace: 'cert-manager' }));
    expect(http.reason).toBe('RepositoryUnreachable');
    expect(http.retryable).toBe(true);
    expect(http.message).toContain('connection refused');
    const oci = await failure(helm.render({ source: STANDIN_CHARTS.envoyGateway, releaseName: 'eg', namespace: 'eg' }));
    expect(oci.reason).toBe('RepositoryUnreachable');
    const notHelm = await failure(helm.render({ source: { repository: 'git@github.com:x/y', chart: 'y', version: '1' }, releaseName: 'y', namespace: 'y' }));
    expect(notHelm.reason).toBe('RepositoryUnreachable');
  });

  it("a template error is RenderFailed with helm's message", async () => {
    const error = await failure(createHelmRenderer(base).render({ source: STANDIN_CHARTS.podinfo, releaseName: 'web', namespace: 'shop', values: { image: 'nginx' } }));
    expect(error.reason).toBe('RenderFailed');
    expect(error.message).toContain("can't evaluate field tag in type interface {}");
    const kube = await failure(createHelmRenderer(base).render({ source: STANDIN_CHARTS.podinfo, releaseName: 'web', namespace: 'shop', kubeVersion: '1.19.0' }));
    expect(kube.message).toContain('chart requires kubeVersion: >=1.23.0-0 which is incompatible with Kubernetes v1.19.0');
  });

  it('a missing binary is HelmMissing; too much output is TooLarge', async () => {
    const missing = await failure(createHelmRenderer({ ...base, helmBinary: join(dir, 'no-helm-here') }).render({ source: STANDIN_CHARTS.podinfo, releaseName: 'web', namespace: 'shop' }));
    expect(missing.reason).toBe('HelmMissing');
    const large = await failure(createHelmRenderer({ ...base, maxOutputBytes: 2000 }).render({ source: STANDIN_CHARTS.certManager, releaseName: 'cert-manager', namespace: 'cert-manager' }));
    expect(large.reason).toBe('TooLarge');
  });

  it('a run that takes too long is killed (Timeout), and an aborted render stops waiting and kills helm', async () => {
    // A "helm" that never finishes, and records its pid.
    const slow = join(dir, 'slow-helm');
    const pidFile = join(dir, 'slow.pid');
    writeFileSync(slow, `#!/bin/sh\necho $$ > "${pidFile}"\nexec sleep 30\n`);
    chmodSync(slow, 0o755);
    const timeout = await failure(createHelmRenderer({ ...base, helmBinary: slow, timeoutMs: 300 }).render({ source: STANDIN_CHARTS.podinfo, releaseName: 'web', namespace: 'shop' }));
    expect(timeout.reason).toBe('Timeout');
    expect(timeout.message).toContain('helm did not finish within 300 ms');

    rmSync(pidFile, { force: true });
    const controller = new AbortController();
    const rendering = createHelmRenderer({ ...base, helmBinary: slow }).render({ source: STANDIN_CHARTS.podinfo, releaseName: 'web', namespace: 'shop', signal: controller.signal });
    const pid = await waitFor(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) || undefined : undefined), 10_000, 'the slow helm to start');
    const reason = new Error('lease lost');
    controller.abort(reason);
    await expect(rendering).rejects.toBe(reason);
    await waitFor(() => (isRunning(pid) ? undefined : true), 10_000, 'the slow helm to be killed');
  });
});

describe('the cache', () => {
  it('runs helm once for identical renders, at once or later, and again for other values', async () => {
    const runs: string[][] = [];
    const seenValues: Array<{ path: string; mode: number }> = [];
    const counting: HelmRunner = (binary, args, options) => {
      runs.push([...args]);
      const values = args.find((a) => a.startsWith('--values='))?.slice('--values='.length);
      if (values !== undefined) seenValues.push({ path: values, mode: statSync(values).mode & 0o777 });
      expect(options.env.HOME).toBe(join(base.cacheDir ?? '', 'home'));
      expect(options.env.HELM_CONFIG_HOME).toContain(base.cacheDir ?? '');
      return execHelm(binary, args, options);
    };
    const helm = createHelmRenderer({ ...base, runner: counting });
    const input: RenderChartInput = { source: STANDIN_CHARTS.podinfo, releaseName: 'web', namespace: 'shop', values: { replicaCount: 2, ui: { message: 'a' } } };
    const [first, second] = await Promise.all([helm.render(input), helm.render(input)]);
    const third = await helm.render({ ...input, values: { ui: { message: 'a' }, replicaCount: 2 } });
    expect(runs).toHaveLength(1);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    // Each caller gets its own copy.
    first.objects[0]!.metadata.name = 'changed';
    expect((await helm.render(input)).objects[0]?.metadata.name).toBe('web-podinfo');
    expect(runs).toHaveLength(1);

    await helm.render({ ...input, values: { replicaCount: 3 } });
    await helm.render({ ...input, includeCrds: true });
    expect(runs).toHaveLength(3);
    // Values went through files only helm's user could read, removed after each run.
    expect(seenValues.map((v) => v.mode)).toEqual([0o600, 0o600, 0o600]);
    expect(readdirSync(join(base.cacheDir ?? '', 'values'))).toEqual([]);
  });
});
