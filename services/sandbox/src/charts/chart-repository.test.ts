/**
 * The sandbox's chart repositories on the wire: a Helm repository index and archives, an OCI
 * registry as the distribution spec has it, `helm` itself (HTTP and OCI) against both, and every
 * stand-in chart's output accepted by a simulated API server under kubectl's strict validation.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { parse } from 'yaml';
import { createSandboxServer, type SandboxServer } from '../sandbox-server.js';
import { waitFor } from '../test-support/start-test-sandbox.js';
import { DEFAULT_CHARTS_DIR } from './chart-repository.js';
import { packChart } from './chart-archive.js';
import { chartMirrors, chartPlainHttpHosts, STANDIN_CHARTS } from './standin-charts.js';

const run = promisify(execFile);
const HELM = process.env.HELM ?? 'helm';
const KUBECTL = process.env.KUBECTL ?? 'kubectl';

let sandbox: SandboxServer;
let url: string;
let host: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sandbox-charts-'));
  sandbox = createSandboxServer({ port: 0, logger: pino({ level: 'silent' }), timeScale: 50, stateDir: dir });
  ({ url } = await sandbox.start());
  host = new URL(url).host;
});

afterAll(async () => {
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (body: Buffer | string) => createHash('sha256').update(body).digest('hex');

async function get(path: string, init: RequestInit = {}) {
  const res = await fetch(`${url}${path}`, init);
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

/** helm with a HOME of its own, so nothing of the machine's helm configuration is read. */
async function helm(...args: string[]): Promise<string> {
  const home = join(dir, 'helm-home');
  const env = { PATH: process.env.PATH, HOME: home, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') };
  const { stdout } = await run(HELM, args, { env, timeout: 30_000 });
  return stdout;
}

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(KUBECTL, ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'kube-cache'), ...args], { timeout: 30_000 });
  return stdout;
}

describe('HTTP chart repositories', () => {
  it('serves index.yaml with digests of the archives it links', async () => {
    const { res, body } = await get('/charts/podinfo/index.yaml');
    expect(res.status).toBe(200);
    const index = parse(body.toString()) as { apiVersion: string; entries: Record<string, Array<Record<string, unknown>>> };
    expect(index.apiVersion).toBe('v1');
    expect(index.entries.podinfo?.map((e) => e.version)).toEqual(['6.8.0', '6.7.1']);
    for (const entry of index.entries.podinfo ?? []) {
      expect(entry).toMatchObject({ name: 'podinfo', appVersion: entry.version, urls: [`podinfo-${String(entry.version)}.tgz`] });
      expect(typeof entry.created).toBe('string');
      const archive = await get(`/charts/podinfo/${String((entry.urls as string[])[0])}`);
      expect(archive.res.status).toBe(200);
      expect(sha256(archive.body)).toBe(entry.digest);
    }
    const jetstack = parse((await get('/charts/jetstack/index.yaml')).body.toString()) as typeof index;
    expect(Object.keys(jetstack.entries)).toEqual(['cert-manager']);
    expect((await get('/charts/jetstack/cert-manager-v9.9.9.tgz')).res.status).toBe(404);
    const externalSecrets = parse((await get('/charts/external-secrets/index.yaml')).body.toString()) as typeof index;
    expect(externalSecrets.entries['external-secrets']?.map((e) => [e.version, e.appVersion])).toEqual([['0.16.2', 'v0.16.2']]);
    expect((await get('/charts/nothere/index.yaml')).res.status).toBe(404);
  });

  it('packs a chart the same way every time', async () => {
    const [a, b] = await Promise.all([packChart(join(DEFAULT_CHARTS_DIR, 'podinfo-6.8.0')), packChart(join(DEFAULT_CHARTS_DIR, 'podinfo-6.8.0'))]);
    expect(a.sha256).toBe(b.sha256);
    expect(a).toMatchObject({ name: 'podinfo', version: '6.8.0' });
  });
});

describe('OCI registry', () => {
  const name = 'envoyproxy/gateway-helm';

  it('answers the version check, tags, manifests and blobs with their digests', async () => {
    const base = await get('/v2/');
    expect(base.res.status).toBe(200);
    expect(base.res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');

    expect(JSON.parse((await get(`/v2/${name}/tags/list`)).body.toString())).toEqual({ name, tags: ['v1.4.1'] });
    expect(JSON.parse((await get('/v2/stefanprodan/charts/podinfo/tags/list')).body.toString()).tags).toEqual(['6.7.1', '6.8.0']);

    const { res, body } = await get(`/v2/${name}/manifests/v1.4.1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.oci.image.manifest.v1+json');
    const digest = `sha256:${sha256(body)}`;
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    const manifest = JSON.parse(body.toString()) as { schemaVersion: number; config: { mediaType: string; digest: string; size: number }; layers: Array<{ mediaType: string; digest: string; size: number }> };
    expect(manifest.schemaVersion).toBe(2);
    expect(manifest.config.mediaType).toBe('application/vnd.cncf.helm.config.v1+json');
    expect(manifest.layers.map((l) => l.mediaType)).toEqual(['application/vnd.cncf.helm.chart.content.v1.tar+gzip']);

    const head = await get(`/v2/${name}/manifests/${digest}`, { method: 'HEAD' });
    expect(head.res.status).toBe(200);
    expect(head.res.headers.get('docker-content-digest')).toBe(digest);
    expect(head.res.headers.get('content-length')).toBe(String(body.length));
    expect(head.body.length).toBe(0);

    for (const descriptor of [manifest.config, ...manifest.layers]) {
      const blob = await get(`/v2/${name}/blobs/${descriptor.digest}`);
      expect(blob.res.status).toBe(200);
      expect(`sha256:${sha256(blob.body)}`).toBe(descriptor.digest);
      expect(blob.body.length).toBe(descriptor.size);
    }
    const config = JSON.parse((await get(`/v2/${name}/blobs/${manifest.config.digest}`)).body.toString()) as Record<string, unknown>;
    expect(config).toMatchObject({ name: 'gateway-helm', version: 'v1.4.1', appVersion: 'v1.4.1', apiVersion: 'v2' });
  });

  it('answers unknown names, tags and blobs with the registry error codes, and refuses pushes', async () => {
    const error = async (path: string, init?: RequestInit) => {
      const { res, body } = await get(path, init);
      return { status: res.status, code: (JSON.parse(body.toString()) as { errors: Array<{ code: string }> }).errors[0]?.code };
    };
    expect(await error(`/v2/${name}/manifests/v9.9.9`)).toEqual({ status: 404, code: 'MANIFEST_UNKNOWN' });
    expect(await error('/v2/envoyproxy/nothing/manifests/v1.4.1')).toEqual({ status: 404, code: 'NAME_UNKNOWN' });
    expect(await error('/v2/envoyproxy/nothing/tags/list')).toEqual({ status: 404, code: 'NAME_UNKNOWN' });
    expect(await error(`/v2/${name}/blobs/sha256:${'0'.repeat(64)}`)).toEqual({ status: 404, code: 'BLOB_UNKNOWN' });
    expect(await error(`/v2/${name}/blobs/uploads/`, { method: 'POST' })).toEqual({ status: 405, code: 'UNSUPPORTED' });
  });

  it('leaves a SigV4-signed request to the AWS half', async () => {
    const { res } = await get('/v2/envoyproxy/gateway-helm/tags/list', {
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261206/us-east-1/eks/aws4_request, SignedHeaders=host, Signature=00' },
    });
    expect(res.headers.get('docker-distribution-api-version')).toBeNull();
  });
});

describe('helm against the sandbox', () => {
  it('renders from the HTTP repository and from the OCI registry', async () => {
    const http = await helm('template', 'web', 'podinfo', '--repo', `${url}/charts/podinfo`, '--version', '6.7.1', '--set', 'ui.message=hello');
    expect(http).toContain('image: "ghcr.io/stefanprodan/podinfo:6.7.1"');
    expect(http).toContain('value: "hello"');
    const oci = await helm('template', 'eg', `oci://${host}/envoyproxy/gateway-helm`, '--version', 'v1.4.1', '--plain-http', '--include-crds');
    expect(oci).toContain('name: gateways.gateway.networking.k8s.io');
    expect(oci).toContain('image: docker.io/envoyproxy/gateway:v1.4.1');
    // Without --version helm lists the tags and takes the newest.
    expect(await helm('template', 'web', `oci://${host}/stefanprodan/charts/podinfo`, '--plain-http')).toContain('podinfo:6.8.0');
  });

  it("renders every stand-in chart into objects a strict API server accepts, which the add-on simulations act on", async () => {
    // External Secrets renders its CRDs by default (installCRDs: true), as the real chart does.
    const externalSecrets = await helm('template', 'external-secrets', 'external-secrets', '--repo', `${url}/charts/external-secrets`, '--version', '0.16.2', '-n', 'external-secrets');
    expect(externalSecrets).toContain('name: "clustersecretstores.external-secrets.io"');
    expect(externalSecrets).toContain('image: "ghcr.io/external-secrets/external-secrets:v0.16.2"');
    const withoutExtras = await helm('template', 'external-secrets', 'external-secrets', '--repo', `${url}/charts/external-secrets`, '--version', '0.16.2', '--set', 'installCRDs=false,webhook.create=false,certController.create=false');
    expect(withoutExtras).not.toContain('CustomResourceDefinition');
    expect(withoutExtras).not.toContain('external-secrets-webhook');
    expect(withoutExtras).not.toContain('external-secrets-cert-controller');
    const rendered = [
      await helm('template', 'eg', `oci://${host}/envoyproxy/gateway-helm`, '--version', 'v1.4.1', '--plain-http', '--include-crds', '-n', 'envoy-gateway-system'),
      await helm('template', 'cert-manager', 'cert-manager', '--repo', `${url}/charts/jetstack`, '--version', 'v1.17.2', '--set', 'crds.enabled=true', '-n', 'cert-manager'),
      externalSecrets,
      await helm('template', 'web', 'podinfo', '--repo', `${url}/charts/podinfo`, '--version', '6.8.0', '--set', 'ui.message=hi', '-n', 'shop'),
      await helm('template', 'old', 'podinfo', '--repo', `${url}/charts/podinfo`, '--version', '6.7.1', '-n', 'shop'),
    ];
    const namespaces = ['envoy-gateway-system', 'cert-manager', 'external-secrets', 'shop'].map((ns) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}\n`);
    const file = join(dir, 'charts.yaml');
    writeFileSync(file, [...namespaces, ...rendered].join('\n---\n'));
    // kubectl validates strictly (fieldValidation=Strict) by default.
    await kubectl('apply', '--server-side', '--field-manager=charts-test', '-f', file);
    const custom = join(dir, 'custom.yaml');
    writeFileSync(
      custom,
      `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web, namespace: shop}
spec:
  gatewayClassName: eg
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec:
  parentRefs: [{name: web}]
  hostnames: [web.example.com]
  rules: [{backendRefs: [{name: web-podinfo, port: 9898}]}]
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: letsencrypt}
spec: {acme: {server: https://acme-v02.api.letsencrypt.org/directory, privateKeySecretRef: {name: le}, solvers: [{http01: {gatewayHTTPRoute: {parentRefs: [{name: web, namespace: shop}]}}}]}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web, namespace: shop}
spec: {secretName: web-tls, issuerRef: {name: letsencrypt, kind: ClusterIssuer}, dnsNames: [web.example.com]}
`,
    );
    await kubectl('apply', '--server-side', '--field-manager=charts-test', '-f', custom);
    const deployments = (await kubectl('get', 'deployments', '-A', '-o', 'name')).trim().split('\n').sort();
    expect(deployments).toEqual([
      'deployment.apps/cert-manager',
      'deployment.apps/cert-manager-cainjector',
      'deployment.apps/cert-manager-webhook',
      'deployment.apps/envoy-gateway',
      'deployment.apps/external-secrets',
      'deployment.apps/external-secrets-cert-controller',
      'deployment.apps/external-secrets-webhook',
      'deployment.apps/old-podinfo',
      'deployment.apps/web-podinfo',
    ]);
    expect(await kubectl('get', 'gateway', 'web', '-n', 'shop', '-o', 'jsonpath={.spec.gatewayClassName}')).toBe('eg');
    // The simulated Envoy Gateway keys on the chart's Deployment `envoy-gateway` and the CRDs.
    const condition = async (what: string[], type: string) => {
      const status = await kubectl('get', ...what, '-o', `jsonpath={.status.conditions[?(@.type=="${type}")].status}`);
      return status === 'True' ? true : undefined;
    };
    await waitFor(() => condition(['gatewayclass', 'eg'], 'Accepted'), 20_000, 'GatewayClass eg Accepted');
    await waitFor(() => condition(['gateway', 'web', '-n', 'shop'], 'Programmed'), 20_000, 'Gateway web Programmed');
    await waitFor(() => condition(['deployment', 'cert-manager', '-n', 'cert-manager'], 'Available'), 20_000, 'cert-manager Available');
    // The simulated External Secrets Operator keys on the Deployment `external-secrets` and its CRDs:
    // a ClusterSecretStore with the sandbox's keys is validated against its Secrets Manager.
    await waitFor(() => condition(['deployment', 'external-secrets', '-n', 'external-secrets'], 'Available'), 20_000, 'external-secrets Available');
    const store = join(dir, 'store.yaml');
    writeFileSync(
      store,
      `apiVersion: v1
kind: Secret
metadata: {name: aws-keys, namespace: external-secrets}
stringData: {id: AKIAEXAMPLE, secret: any}
---
apiVersion: external-secrets.io/v1beta1
kind: ClusterSecretStore
metadata: {name: aws}
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth:
        secretRef:
          accessKeyIDSecretRef: {name: aws-keys, key: id, namespace: external-secrets}
          secretAccessKeySecretRef: {name: aws-keys, key: secret, namespace: external-secrets}
`,
    );
    await kubectl('apply', '--server-side', '--field-manager=charts-test', '-f', store);
    await waitFor(() => condition(['clustersecretstore', 'aws'], 'Ready'), 20_000, 'ClusterSecretStore aws Ready');
  });
});

describe('a sandbox without its chart directories', () => {
  it('says so on the first chart request, and serves everything else', async () => {
    const broken = createSandboxServer({ port: 0, logger: pino({ level: 'silent' }), chartsDir: join(dir, 'no-charts-here') });
    const { url: brokenUrl } = await broken.start();
    try {
      const res = await fetch(`${brokenUrl}/charts/podinfo/index.yaml`);
      expect(res.status).toBe(500);
      expect(await res.text()).toContain("the sandbox's charts could not be packed: ENOENT");
      expect((await fetch(`${brokenUrl}/_sandbox/healthz`)).status).toBe(200);
    } finally {
      await broken.close();
    }
  });
});

describe('mirror settings for the stand-ins', () => {
  it('point every real repository at the sandbox', () => {
    expect(chartMirrors('http://127.0.0.1:4566').split(',')).toEqual([
      'https://charts.jetstack.io=http://127.0.0.1:4566/charts/jetstack',
      'https://charts.external-secrets.io=http://127.0.0.1:4566/charts/external-secrets',
      'https://stefanprodan.github.io/podinfo=http://127.0.0.1:4566/charts/podinfo',
      'https://prometheus-community.github.io/helm-charts=http://127.0.0.1:4566/charts/prometheus-community',
      'https://grafana.github.io/helm-charts=http://127.0.0.1:4566/charts/grafana',
      'oci://docker.io/envoyproxy=oci://127.0.0.1:4566/envoyproxy',
      'oci://ghcr.io/stefanprodan/charts=oci://127.0.0.1:4566/stefanprodan/charts',
    ]);
    expect(chartPlainHttpHosts('http://127.0.0.1:4566')).toBe('127.0.0.1:4566');
    expect(STANDIN_CHARTS.envoyGateway).toEqual({ repository: 'oci://docker.io/envoyproxy', chart: 'gateway-helm', version: 'v1.4.1' });
    expect(STANDIN_CHARTS.externalSecrets).toEqual({ repository: 'https://charts.external-secrets.io', chart: 'external-secrets', version: '0.16.2' });
  });
});
