/**
 * The observability stand-ins (kube-prometheus-stack, loki, alloy) rendered by `helm` itself from
 * the sandbox's HTTP repositories, with default and overridden values, then installed into a
 * simulated cluster with kubectl: the simulated Prometheus Operator runs the Prometheus, the
 * control API lists what it scrapes, and a broken image or a missing ConfigMap fails as it would.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { createSandboxServer, type SandboxServer } from '../sandbox-server.js';
import { waitFor } from '../test-support/start-test-sandbox.js';
import { STANDIN_CHARTS } from './standin-charts.js';

const run = promisify(execFile);
const HELM = process.env.HELM ?? 'helm';
const KUBECTL = process.env.KUBECTL ?? 'kubectl';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

let sandbox: SandboxServer;
let url: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sandbox-observability-'));
  sandbox = createSandboxServer({ port: 0, logger: pino({ level: 'silent' }), timeScale: 50, stateDir: dir });
  ({ url } = await sandbox.start());
});

afterAll(async () => {
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

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

/** `helm template <release> <chart>` from the sandbox's repository for the stand-in, with `--set` values. */
async function render(release: string, chart: keyof typeof STANDIN_CHARTS, namespace: string, values: string[] = [], extra: string[] = []): Promise<string> {
  const { chart: name, version, repository } = STANDIN_CHARTS[chart];
  const repo = repository.includes('prometheus-community') ? 'prometheus-community' : 'grafana';
  return helm('template', release, name, '--repo', `${url}/charts/${repo}`, '--version', version, '-n', namespace, ...values.flatMap((value) => ['--set', value]), ...extra);
}

function manifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as Manifest | null)
    .filter((document): document is Manifest => document !== null);
}

function find(objects: Manifest[], kind: string, name: string): Manifest {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in [${objects.map((object) => `${object.kind}/${object.metadata.name}`).join(', ')}]`);
  return found;
}

const names = (objects: Manifest[], kind: string) => objects.filter((object) => object.kind === kind).map((object) => object.metadata.name).sort();
const images = (object: Manifest) => ((object.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers).map((container) => container.image);

async function applyManifests(text: string, file: string): Promise<void> {
  const path = join(dir, file);
  writeFileSync(path, text);
  await kubectl('apply', '--server-side', '--field-manager=observability-test', '-f', path);
}

describe('kube-prometheus-stack 75.6.0', () => {
  it('renders the operator, Prometheus, Alertmanager, Grafana, kube-state-metrics, node exporter and the CRDs by default', async () => {
    const objects = manifests(await render('kube-prometheus-stack', 'kubePrometheusStack', 'monitoring', [], ['--include-crds']));
    expect(names(objects, 'CustomResourceDefinition')).toEqual([
      'alertmanagers.monitoring.coreos.com',
      'podmonitors.monitoring.coreos.com',
      'prometheuses.monitoring.coreos.com',
      'prometheusrules.monitoring.coreos.com',
      'servicemonitors.monitoring.coreos.com',
    ]);
    expect(names(objects, 'Deployment')).toEqual(['kube-prometheus-stack-grafana', 'kube-prometheus-stack-kube-state-metrics', 'kube-prometheus-stack-operator']);
    expect(names(objects, 'DaemonSet')).toEqual(['kube-prometheus-stack-prometheus-node-exporter']);
    expect(names(objects, 'Service')).toEqual([
      'kube-prometheus-stack-alertmanager',
      'kube-prometheus-stack-grafana',
      'kube-prometheus-stack-kube-state-metrics',
      'kube-prometheus-stack-operator',
      'kube-prometheus-stack-prometheus',
      'kube-prometheus-stack-prometheus-node-exporter',
    ]);
    expect(images(find(objects, 'Deployment', 'kube-prometheus-stack-operator'))).toEqual(['quay.io/prometheus-operator/prometheus-operator:v0.83.0']);
    expect(find(objects, 'Deployment', 'kube-prometheus-stack-operator').metadata.labels).toMatchObject({ 'app.kubernetes.io/component': 'prometheus-operator', release: 'kube-prometheus-stack' });
    expect(images(find(objects, 'Deployment', 'kube-prometheus-stack-grafana'))).toEqual(['docker.io/grafana/grafana:12.0.2']);
    expect(find(objects, 'Service', 'kube-prometheus-stack-grafana').spec?.ports).toEqual([{ name: 'http-web', port: 80, protocol: 'TCP', targetPort: 3000 }]);
    const admin = find(objects, 'Secret', 'kube-prometheus-stack-grafana').data ?? {};
    expect(Buffer.from(admin['admin-password'] ?? '', 'base64').toString()).toBe('prom-operator');
    expect(find(objects, 'Prometheus', 'kube-prometheus-stack-prometheus').spec).toMatchObject({
      image: 'quay.io/prometheus/prometheus:v3.4.1',
      version: 'v3.4.1',
      replicas: 1,
      retention: '10d',
      serviceMonitorSelector: { matchLabels: { release: 'kube-prometheus-stack' } },
      serviceMonitorNamespaceSelector: {},
    });
    expect(find(objects, 'Alertmanager', 'kube-prometheus-stack-alertmanager').spec).toMatchObject({ image: 'quay.io/prometheus/alertmanager:v0.28.1', replicas: 1, retention: '120h' });
    // Without --include-crds the CRDs stay out, as with any chart's crds/ directory.
    expect(await render('kube-prometheus-stack', 'kubePrometheusStack', 'monitoring')).not.toContain('CustomResourceDefinition');
  });

  it('follows its values: components switched off, the selector, retention, replicas, resources and images', async () => {
    const objects = manifests(
      await render('obs', 'kubePrometheusStack', 'monitoring', [
        'kubeStateMetrics.enabled=false',
        'nodeExporter.enabled=false',
        'alertmanager.enabled=false',
        'grafana.service.port=8080',
        'grafana.image.tag=12.0.1',
        'prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues=false',
        'prometheus.prometheusSpec.retention=30d',
        'prometheus.prometheusSpec.retentionSize=20GiB',
        'prometheus.prometheusSpec.replicas=2',
        'prometheus.prometheusSpec.resources.requests.memory=1Gi',
        'prometheus.prometheusSpec.image.tag=v3.4.1-doesnotexist',
        'prometheusOperator.image.tag=v0.82.0',
      ]),
    );
    // Release `obs` does not contain the chart's name: fullname `obs-kube-prometheus-stack`.
    expect(names(objects, 'Deployment')).toEqual(['obs-grafana', 'obs-kube-prometheus-stack-operator']);
    expect(names(objects, 'DaemonSet')).toEqual([]);
    expect(names(objects, 'Alertmanager')).toEqual([]);
    expect(images(find(objects, 'Deployment', 'obs-kube-prometheus-stack-operator'))).toEqual(['quay.io/prometheus-operator/prometheus-operator:v0.82.0']);
    expect(images(find(objects, 'Deployment', 'obs-grafana'))).toEqual(['docker.io/grafana/grafana:12.0.1']);
    expect(find(objects, 'Service', 'obs-grafana').spec?.ports).toEqual([{ name: 'http-web', port: 8080, protocol: 'TCP', targetPort: 3000 }]);
    const prometheus = find(objects, 'Prometheus', 'obs-kube-prometheus-stack-prometheus').spec;
    expect(prometheus).toMatchObject({ image: 'quay.io/prometheus/prometheus:v3.4.1-doesnotexist', retention: '30d', retentionSize: '20GiB', replicas: 2, resources: { requests: { memory: '1Gi' } }, serviceMonitorSelector: {} });
    expect(prometheus).not.toHaveProperty('alerting');
  });
});

describe('loki 6.30.1', () => {
  const singleBinary = ['deploymentMode=SingleBinary', 'loki.useTestSchema=true', 'loki.storage.type=filesystem', 'singleBinary.replicas=1', 'read.replicas=0', 'write.replicas=0', 'backend.replicas=0'];

  it('fails as the real chart does on values it cannot run, and renders only SingleBinary', async () => {
    await expect(render('loki', 'loki', 'logs')).rejects.toThrow(/renders only deploymentMode: SingleBinary, not "SimpleScalable"/);
    await expect(render('loki', 'loki', 'logs', ['deploymentMode=SingleBinary'])).rejects.toThrow(/You must provide a schema_config for Loki/);
    await expect(render('loki', 'loki', 'logs', ['deploymentMode=SingleBinary', 'loki.useTestSchema=true'])).rejects.toThrow(/Please define loki.storage.bucketNames.chunks/);
    await expect(render('loki', 'loki', 'logs', ['deploymentMode=SingleBinary', 'loki.useTestSchema=true', 'loki.storage.type=filesystem', 'singleBinary.replicas=1'])).rejects.toThrow(
      /more than zero replicas configured for both the single binary and simple scalable targets/,
    );
  });

  it('renders the single binary, its configuration, the gateway, the canary and both caches, each switchable', async () => {
    const objects = manifests(await render('loki', 'loki', 'logs', [...singleBinary, 'loki.limits_config.retention_period=744h', 'singleBinary.resources.requests.memory=512Mi']));
    const statefulSet = find(objects, 'StatefulSet', 'loki');
    expect(statefulSet.spec).toMatchObject({ replicas: 1, template: { spec: { containers: [{ image: 'docker.io/grafana/loki:3.5.0', resources: { requests: { memory: '512Mi' } } }] } } });
    expect(names(objects, 'StatefulSet')).toEqual(['loki', 'loki-chunks-cache', 'loki-results-cache']);
    expect(names(objects, 'Deployment')).toEqual(['loki-gateway']);
    expect(names(objects, 'DaemonSet')).toEqual(['loki-canary']);
    expect(find(objects, 'Service', 'loki-gateway').spec?.ports).toEqual([{ name: 'http-metrics', port: 80, targetPort: 'http-metrics', protocol: 'TCP' }]);
    const config = parse(find(objects, 'ConfigMap', 'loki').data?.['config.yaml'] ?? '') as { limits_config: Record<string, unknown>; schema_config: unknown; common: Record<string, unknown> };
    expect(config.limits_config.retention_period).toBe('744h');
    expect(config.common.storage).toEqual({ filesystem: { chunks_directory: '/var/loki/chunks', rules_directory: '/var/loki/rules' } });

    const trimmed = manifests(await render('logs', 'loki', 'logs', [...singleBinary, 'gateway.enabled=false', 'lokiCanary.enabled=false', 'chunksCache.enabled=false', 'resultsCache.enabled=false', 'loki.image.tag=3.4.2']));
    expect(names(trimmed, 'StatefulSet')).toEqual(['logs-loki']);
    expect(names(trimmed, 'Deployment')).toEqual([]);
    expect(names(trimmed, 'DaemonSet')).toEqual([]);
    expect(images(find(trimmed, 'StatefulSet', 'logs-loki'))).toEqual(['docker.io/grafana/loki:3.4.2']);
    const trimmedConfig = parse(find(trimmed, 'ConfigMap', 'logs-loki').data?.['config.yaml'] ?? '') as Record<string, unknown>;
    expect(trimmedConfig).not.toHaveProperty('chunk_store_config');
    expect(trimmedConfig).not.toHaveProperty('query_range');
  });
});

describe('alloy 1.1.1', () => {
  it('renders a DaemonSet reading its ConfigMap, or one named, by the configured key', async () => {
    const objects = manifests(await render('alloy', 'alloy', 'obs', ['alloy.configMap.content=logging { level = "debug" }']));
    expect(names(objects, 'DaemonSet')).toEqual(['alloy']);
    expect(names(objects, 'ClusterRole')).toEqual(['alloy']);
    expect(names(objects, 'ClusterRoleBinding')).toEqual(['alloy']);
    expect(find(objects, 'ConfigMap', 'alloy').data).toEqual({ 'config.alloy': 'logging { level = "debug" }' });
    const daemonSet = find(objects, 'DaemonSet', 'alloy');
    expect(images(daemonSet)[0]).toBe('docker.io/grafana/alloy:v1.9.1');
    expect((daemonSet.spec as { template: { spec: { volumes: unknown[] } } }).template.spec.volumes).toEqual([{ name: 'config', configMap: { name: 'alloy' } }]);

    const external = manifests(await render('alloy', 'alloy', 'obs', ['alloy.configMap.create=false', 'alloy.configMap.name=pipelines', 'alloy.configMap.key=main.alloy', 'image.tag=v1.9.0']));
    expect(names(external, 'ConfigMap')).toEqual([]);
    const container = (find(external, 'DaemonSet', 'alloy').spec as { template: { spec: { containers: Array<{ image: string; args: string[] }>; volumes: unknown[] } } }).template.spec;
    expect(container.containers[0]?.args[1]).toBe('/etc/alloy/main.alloy');
    expect(container.containers[0]?.image).toBe('docker.io/grafana/alloy:v1.9.0');
    expect(container.volumes).toEqual([{ name: 'config', configMap: { name: 'pipelines' } }]);
  });
});

describe('the observability stack installed into a simulated cluster', () => {
  const condition = async (what: string[], type: string, wanted = 'True') => {
    const status = await kubectl('get', ...what, '-o', `jsonpath={.status.conditions[?(@.type=="${type}")].status}`);
    return status === wanted ? true : undefined;
  };
  const jsonPath = (what: string[], path: string) => kubectl('get', ...what, '-o', `jsonpath=${path}`);

  it('runs Prometheus through the simulated operator, scrapes the stack, and fails on a broken image or a missing ConfigMap', async () => {
    const namespaces = ['monitoring', 'logs', 'obs'].map((ns) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}\n`).join('---\n');
    const stack = manifests(await render('kube-prometheus-stack', 'kubePrometheusStack', 'monitoring', [], ['--include-crds']));
    const text = (objects: Manifest[]) => objects.map((object) => stringify(object)).join('---\n');
    await applyManifests([namespaces, text(stack.filter((object) => object.kind === 'CustomResourceDefinition'))].join('---\n'), 'crds.yaml');
    await applyManifests(text(stack.filter((object) => object.kind !== 'CustomResourceDefinition')), 'stack.yaml');
    await applyManifests(await render('loki', 'loki', 'logs', ['deploymentMode=SingleBinary', 'loki.useTestSchema=true', 'loki.storage.type=filesystem', 'singleBinary.replicas=1', 'read.replicas=0', 'write.replicas=0', 'backend.replicas=0']), 'loki.yaml');
    await applyManifests(await render('alloy', 'alloy', 'obs', ['alloy.configMap.create=false', 'alloy.configMap.name=pipelines']), 'alloy.yaml');

    const prometheus = ['prometheus', 'kube-prometheus-stack-prometheus', '-n', 'monitoring'];
    await waitFor(() => condition(prometheus, 'Available'), 20_000, 'Prometheus Available');
    expect(await jsonPath(['statefulset', 'prometheus-kube-prometheus-stack-prometheus', '-n', 'monitoring'], '{.status.readyReplicas}')).toBe('1');
    expect(await jsonPath(['statefulset', 'prometheus-kube-prometheus-stack-prometheus', '-n', 'monitoring'], '{.spec.template.spec.containers[0].args}')).toContain('--storage.tsdb.retention.time=10d');
    await waitFor(() => condition(['alertmanager', 'kube-prometheus-stack-alertmanager', '-n', 'monitoring'], 'Available'), 20_000, 'Alertmanager Available');
    await waitFor(() => condition(['deployment', 'kube-prometheus-stack-grafana', '-n', 'monitoring'], 'Available'), 20_000, 'Grafana Available');
    await waitFor(async () => ((await jsonPath(['statefulset', 'loki', '-n', 'logs'], '{.status.readyReplicas}')) === '1' ? true : undefined), 20_000, 'loki ready');
    await waitFor(() => condition(['deployment', 'loki-gateway', '-n', 'logs'], 'Available'), 20_000, 'loki-gateway Available');

    // What the Prometheus scrapes: the stack's own ServiceMonitors labelled release=kube-prometheus-stack.
    const targetsUrl = `${url}/_sandbox/clusters/local/prometheus/monitoring/kube-prometheus-stack-prometheus/targets`;
    const targets = await waitFor(async () => {
      const body = (await (await fetch(targetsUrl)).json()) as { serviceMonitors: string[]; activeTargets: Array<{ serviceMonitor: string; health: string; port: string }> };
      return body.activeTargets.some((target) => target.serviceMonitor === 'monitoring/kube-prometheus-stack-prometheus' && target.health === 'up') ? body : undefined;
    }, 20_000, 'the Prometheus scraping itself');
    expect(targets.serviceMonitors).toEqual([
      'monitoring/kube-prometheus-stack-alertmanager',
      'monitoring/kube-prometheus-stack-kube-state-metrics',
      'monitoring/kube-prometheus-stack-operator',
      'monitoring/kube-prometheus-stack-prometheus',
      'monitoring/kube-prometheus-stack-prometheus-node-exporter',
    ]);
    expect(targets.activeTargets.find((target) => target.serviceMonitor === 'monitoring/kube-prometheus-stack-operator')).toMatchObject({ port: 'http', health: 'up' });
    const missing = await fetch(`${url}/_sandbox/clusters/local/prometheus/monitoring/nothing/targets`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NotFound');

    // Alloy mounts a ConfigMap nobody made: ContainerCreating with FailedMount until it exists.
    await waitFor(async () => ((await kubectl('get', 'events', '-n', 'obs', '--field-selector', 'reason=FailedMount', '-o', 'name')).trim() !== '' ? true : undefined), 20_000, 'FailedMount');
    expect(await kubectl('get', 'events', '-n', 'obs', '--field-selector', 'reason=FailedMount', '-o', 'jsonpath={.items[0].message}')).toBe('MountVolume.SetUp failed for volume "config" : configmap "pipelines" not found');
    expect(await jsonPath(['daemonset', 'alloy', '-n', 'obs'], '{.status.numberReady}')).toBe('0');
    await kubectl('create', 'configmap', 'pipelines', '-n', 'obs', '--from-literal=config.alloy=logging {}');
    await waitFor(async () => ((await jsonPath(['daemonset', 'alloy', '-n', 'obs'], '{.status.numberReady}')) === '1' ? true : undefined), 20_000, 'alloy ready');

    // A values override with an image that does not exist: the Prometheus turns unavailable, its pod never pulls.
    await applyManifests(
      text(manifests(await render('kube-prometheus-stack', 'kubePrometheusStack', 'monitoring', ['prometheus.prometheusSpec.image.tag=v3.4.1-doesnotexist'])).filter((object) => object.kind === 'Prometheus')),
      'broken.yaml',
    );
    await waitFor(() => condition(prometheus, 'Available', 'False'), 20_000, 'Prometheus Available=False');
    await waitFor(
      async () => ((await jsonPath(['pod', 'prometheus-kube-prometheus-stack-prometheus-0', '-n', 'monitoring'], '{.status.containerStatuses[?(@.name=="prometheus")].state.waiting.reason}')) === 'ImagePullBackOff' ? true : undefined),
      20_000,
      'ImagePullBackOff',
    );
    expect(await jsonPath(prometheus, '{.status.conditions[?(@.type=="Available")].reason}')).toBe('NoPodReady');
  });
});
