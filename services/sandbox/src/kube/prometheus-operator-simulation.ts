/**
 * What the Prometheus Operator does once kube-prometheus-stack (or the operator alone) is
 * installed: for each `Prometheus` it keeps the StatefulSet `prometheus-<name>`, the generated
 * configuration Secret and the governing Service `prometheus-operated`; for each `Alertmanager` the
 * StatefulSet `alertmanager-<name>` and `alertmanager-operated`; and it reports their readiness in
 * the custom resource's status (`Available`, `Reconciled`, replica counts) as the real operator
 * does, so an image that never pulls shows as `Available=False`. Nothing happens until the
 * monitoring.coreos.com CRDs exist and an operator Deployment (label
 * `app.kubernetes.io/component: prometheus-operator`, or `app.kubernetes.io/name:
 * prometheus-operator` as in the operator's own manifests) is Available.
 *
 * `prometheusTargets` answers which ServiceMonitors a Prometheus selects and which endpoints they
 * make scrape targets, from the objects as they are now: what the real Prometheus's
 * `/api/v1/targets` would list, without running one.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { isPlainObject, type JsonObject } from './json-values.js';
import type { KubeCluster, StoredEvent } from './kube-cluster.js';
import type { KubeObject } from './object-rules.js';
import { storageKeyOf, type ResourceType } from './resource-table.js';
import {
  DEPLOYMENT,
  ENDPOINTS,
  NAMESPACE,
  POD,
  SECRET,
  SERVICE,
  STATEFUL_SET,
  at,
  mergeConditions,
  objectsAt,
  ownerReference,
  podReady,
  type AddOnSimulation,
  type Condition,
  type SimulationRuntime,
} from './simulation-runtime.js';

const GROUP = 'monitoring.coreos.com';
/** The field manager and event source the real operator uses. */
const MANAGER = 'PrometheusOperator';
export const PROMETHEUS_OPERATOR_COMPONENT = 'prometheus-operator';
export const DEFAULT_PROMETHEUS_VERSION = 'v3.4.1';
export const DEFAULT_ALERTMANAGER_VERSION = 'v0.28.1';
const DEFAULT_CONFIG_RELOADER = 'quay.io/prometheus-operator/prometheus-config-reloader:v0.83.0';
/** The annotation in which the operator keeps a hash of what it derived a StatefulSet from. */
const INPUT_HASH = 'prometheus-operator-input-hash';

type Kind = 'Prometheus' | 'Alertmanager';

/** The Deployment of an operator that is Available, found by its labels (its name comes from the release). */
export function availableOperator(cluster: KubeCluster): KubeObject | undefined {
  return cluster
    .scan(DEPLOYMENT)
    .filter((deployment) => !deployment.metadata.deletionTimestamp)
    .filter((deployment) => {
      const labels = deployment.metadata.labels ?? {};
      return labels['app.kubernetes.io/component'] === PROMETHEUS_OPERATOR_COMPONENT || labels['app.kubernetes.io/name'] === PROMETHEUS_OPERATOR_COMPONENT;
    })
    .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`))
    .find((deployment) => objectsAt(deployment, 'status.conditions').some((condition) => condition.type === 'Available' && condition.status === 'True'));
}

// ---- Label selectors ---------------------------------------------------------------------------

/**
 * A `metav1.LabelSelector` (matchLabels, matchExpressions) against labels. `undefined` (a nil
 * selector) matches nothing and `{}` everything, as the operator reads its selectors.
 */
export function labelSelectorMatches(selector: unknown, labels: Record<string, string> | undefined): boolean {
  if (!isPlainObject(selector)) return false;
  const have = labels ?? {};
  const matchLabels = isPlainObject(selector.matchLabels) ? selector.matchLabels : {};
  if (!Object.entries(matchLabels).every(([key, value]) => have[key] === value)) return false;
  return objectsAt(selector, 'matchExpressions').every((expression) => {
    const key = String(expression.key ?? '');
    const values = Array.isArray(expression.values) ? expression.values.map(String) : [];
    switch (expression.operator) {
      case 'In':
        return key in have && values.includes(have[key] as string);
      case 'NotIn':
        return !(key in have) || !values.includes(have[key] as string);
      case 'Exists':
        return key in have;
      case 'DoesNotExist':
        return !(key in have);
      default:
        return false;
    }
  });
}

// ---- Target discovery --------------------------------------------------------------------------

export interface PrometheusTarget {
  /** `<namespace>/<name>` of the ServiceMonitor. */
  serviceMonitor: string;
  /** The scrape job the operator generates: `serviceMonitor/<namespace>/<name>/<endpoint index>`. */
  scrapePool: string;
  namespace: string;
  service: string;
  /** The Service port's name (or number, when it has none). */
  port: string;
  path: string;
  scheme: string;
  /** `<pod IP>:<port>`. */
  instance: string;
  pod?: string;
  /** `up` for a ready endpoint, `down` for one that is not ready (Prometheus scrapes both). */
  health: 'up' | 'down';
}

export interface PrometheusTargets {
  /** `<namespace>/<name>` of the Prometheus. */
  prometheus: string;
  /** The ServiceMonitors its selectors pick, `<namespace>/<name>`, sorted. */
  serviceMonitors: string[];
  activeTargets: PrometheusTarget[];
}

function typeOf(cluster: KubeCluster, plural: string): ResourceType | undefined {
  return cluster.registry.forStorageKey(`${GROUP}/${plural}`);
}

/** Namespaces a namespace selector picks: none given → only `own`; `{}` → all; else those whose labels match. */
function selectedNamespaces(cluster: KubeCluster, selector: unknown, own: string): Set<string> {
  if (selector === undefined || selector === null) return new Set([own]);
  return new Set(cluster.scan(NAMESPACE).filter((namespace) => labelSelectorMatches(selector, namespace.metadata.labels)).map((namespace) => namespace.metadata.name));
}

/** The ServiceMonitors a Prometheus selects (serviceMonitorSelector in the namespaces of serviceMonitorNamespaceSelector). */
export function selectedServiceMonitors(cluster: KubeCluster, prometheus: KubeObject): KubeObject[] {
  const monitors = typeOf(cluster, 'servicemonitors');
  const selector = at(prometheus, 'spec.serviceMonitorSelector');
  if (!monitors || selector === undefined || selector === null) return [];
  const namespaces = selectedNamespaces(cluster, at(prometheus, 'spec.serviceMonitorNamespaceSelector'), prometheus.metadata.namespace ?? 'default');
  return cluster
    .scan(monitors)
    .filter((monitor) => !monitor.metadata.deletionTimestamp && namespaces.has(monitor.metadata.namespace ?? '') && labelSelectorMatches(selector, monitor.metadata.labels))
    .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
}

/** The namespaces a ServiceMonitor discovers Services in: `any`, `matchNames`, or its own. */
function monitoredNamespaces(cluster: KubeCluster, monitor: KubeObject): string[] {
  if (at(monitor, 'spec.namespaceSelector.any') === true) return cluster.scan(NAMESPACE).map((namespace) => namespace.metadata.name);
  const names = at(monitor, 'spec.namespaceSelector.matchNames');
  if (Array.isArray(names) && names.length > 0) return names.map(String);
  return [monitor.metadata.namespace ?? 'default'];
}

/** The Service ports an endpoint of a ServiceMonitor scrapes: by `port` name, by `targetPort`, or all. */
function portsFor(service: KubeObject, endpoint: JsonObject): JsonObject[] {
  const ports = objectsAt(service, 'spec.ports');
  if (typeof endpoint.port === 'string') return ports.filter((port) => port.name === endpoint.port);
  if (endpoint.targetPort !== undefined) return ports.filter((port) => String(port.targetPort ?? port.port) === String(endpoint.targetPort));
  return ports;
}

function targetsOf(cluster: KubeCluster, monitor: KubeObject): PrometheusTarget[] {
  const selector = at(monitor, 'spec.selector');
  const targets: PrometheusTarget[] = [];
  const monitorName = `${monitor.metadata.namespace}/${monitor.metadata.name}`;
  for (const namespace of monitoredNamespaces(cluster, monitor)) {
    const services = cluster.scan(SERVICE, namespace).filter((service) => !service.metadata.deletionTimestamp && labelSelectorMatches(selector, service.metadata.labels));
    for (const service of services) {
      const subsets = objectsAt(cluster.get(ENDPOINTS, namespace, service.metadata.name), 'subsets');
      objectsAt(monitor, 'spec.endpoints').forEach((endpoint, index) => {
        for (const port of portsFor(service, endpoint)) {
          for (const subset of subsets) {
            const subsetPorts = objectsAt(subset, 'ports');
            const number = (subsetPorts.find((candidate) => candidate.name === port.name) ?? (subsetPorts.length === 1 ? subsetPorts[0] : undefined))?.port;
            if (number === undefined) continue;
            const addresses = [...objectsAt(subset, 'addresses').map((address) => [address, 'up'] as const), ...objectsAt(subset, 'notReadyAddresses').map((address) => [address, 'down'] as const)];
            for (const [address, health] of addresses) {
              const pod = at(address, 'targetRef.name');
              targets.push({
                serviceMonitor: monitorName,
                scrapePool: `serviceMonitor/${monitorName}/${index}`,
                namespace,
                service: service.metadata.name,
                port: String(port.name ?? port.port),
                path: typeof endpoint.path === 'string' ? endpoint.path : '/metrics',
                scheme: typeof endpoint.scheme === 'string' ? endpoint.scheme.toLowerCase() : 'http',
                instance: `${String(address.ip)}:${String(number)}`,
                ...(typeof pod === 'string' ? { pod } : {}),
                health,
              });
            }
          }
        }
      });
    }
  }
  return targets;
}

/** The targets of the Prometheus `namespace/name`, or undefined when there is no such Prometheus (or no CRD). */
export function prometheusTargets(cluster: KubeCluster, namespace: string, name: string): PrometheusTargets | undefined {
  const prometheuses = typeOf(cluster, 'prometheuses');
  const prometheus = prometheuses && cluster.get(prometheuses, namespace, name);
  if (!prometheus) return undefined;
  const monitors = selectedServiceMonitors(cluster, prometheus);
  const activeTargets = monitors
    .flatMap((monitor) => targetsOf(cluster, monitor))
    .sort((a, b) => a.scrapePool.localeCompare(b.scrapePool) || a.instance.localeCompare(b.instance));
  return { prometheus: `${namespace}/${name}`, serviceMonitors: monitors.map((monitor) => `${monitor.metadata.namespace}/${monitor.metadata.name}`), activeTargets };
}

// ---- The operator ------------------------------------------------------------------------------

/** `v` + version, as the operator tags images whose version lacks it. */
function tagOf(version: unknown, fallback: string): string {
  const text = typeof version === 'string' && version !== '' ? version : fallback;
  return text.startsWith('v') ? text : `v${text}`;
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

function gzipped(text: string): string {
  return gzipSync(Buffer.from(text)).toString('base64');
}

export function createPrometheusOperatorSimulation(runtime: SimulationRuntime): AddOnSimulation {
  const { cluster, enqueue } = runtime;

  function configReloaderImage(operator: KubeObject): string {
    for (const container of objectsAt(operator, 'spec.template.spec.containers')) {
      const args = Array.isArray(container.args) ? container.args.map(String) : [];
      const flag = args.find((arg) => arg.startsWith('--prometheus-config-reloader='));
      if (flag !== undefined) return flag.slice('--prometheus-config-reloader='.length);
    }
    return DEFAULT_CONFIG_RELOADER;
  }

  /** Creates or replaces an object the operator owns for `owner`, when what it wants differs from what is there. */
  function ensureOwned(type: ResourceType, owner: KubeObject, name: string, desired: JsonObject, differs: (existing: KubeObject) => boolean): KubeObject {
    const namespace = owner.metadata.namespace;
    const existing = cluster.get(type, namespace, name);
    const metadata = { ...(isPlainObject(desired.metadata) ? desired.metadata : {}), name, ownerReferences: [ownerReference(owner)] };
    if (!existing) return cluster.create(type, namespace, { ...desired, metadata }, { manager: MANAGER });
    if (!differs(existing)) return existing;
    return cluster.update(type, namespace, name, { ...existing, ...desired, metadata: { ...existing.metadata, ...metadata } }, { manager: MANAGER });
  }

  function ensureSecret(owner: KubeObject, name: string, data: Record<string, string>, labels: Record<string, string>): void {
    ensureOwned(SECRET, owner, name, { metadata: { labels }, type: 'Opaque', data }, (existing) => JSON.stringify(existing.data ?? {}) !== JSON.stringify(data));
  }

  function ensureGoverningService(owner: KubeObject, name: string, labels: Record<string, string>, selector: Record<string, string>, ports: JsonObject[]): void {
    ensureOwned(SERVICE, owner, name, { metadata: { labels }, spec: { clusterIP: 'None', ports, selector } }, (existing) => JSON.stringify(at(existing, 'spec.selector')) !== JSON.stringify(selector));
  }

  /** The StatefulSet, replaced only when its inputs changed (the operator's input-hash annotation). */
  function ensureStatefulSet(owner: KubeObject, name: string, labels: Record<string, string>, spec: JsonObject): KubeObject {
    const hash = hashOf([labels, spec]);
    return ensureOwned(STATEFUL_SET, owner, name, { metadata: { labels, annotations: { [INPUT_HASH]: hash } }, spec }, (existing) => existing.metadata.annotations?.[INPUT_HASH] !== hash);
  }

  // ---- Prometheus -------------------------------------------------------------------------

  /** The configuration the operator generates: one scrape job per endpoint of each selected ServiceMonitor. */
  function prometheusConfig(prometheus: KubeObject): string {
    const scrapeConfigs = selectedServiceMonitors(cluster, prometheus).flatMap((monitor) =>
      objectsAt(monitor, 'spec.endpoints').map((endpoint, index) => ({
        job_name: `serviceMonitor/${monitor.metadata.namespace}/${monitor.metadata.name}/${index}`,
        ...(typeof endpoint.interval === 'string' ? { scrape_interval: endpoint.interval } : {}),
        metrics_path: typeof endpoint.path === 'string' ? endpoint.path : '/metrics',
        scheme: typeof endpoint.scheme === 'string' ? endpoint.scheme.toLowerCase() : 'http',
        kubernetes_sd_configs: [{ role: 'endpoints', namespaces: { names: monitoredNamespaces(cluster, monitor) } }],
      })),
    );
    return stringify({
      global: {
        evaluation_interval: at(prometheus, 'spec.evaluationInterval') ?? '30s',
        scrape_interval: at(prometheus, 'spec.scrapeInterval') ?? '30s',
        external_labels: { prometheus: `${prometheus.metadata.namespace}/${prometheus.metadata.name}`, prometheus_replica: '$(POD_NAME)' },
      },
      scrape_configs: scrapeConfigs,
    });
  }

  function prometheusArgs(prometheus: KubeObject): string[] {
    const spec = isPlainObject(prometheus.spec) ? prometheus.spec : {};
    const retention = typeof spec.retention === 'string' && spec.retention !== '' ? spec.retention : undefined;
    const retentionSize = typeof spec.retentionSize === 'string' && spec.retentionSize !== '' ? spec.retentionSize : undefined;
    return [
      '--config.file=/etc/prometheus/config_out/prometheus.env.yaml',
      '--web.enable-lifecycle',
      ...(typeof spec.externalUrl === 'string' ? [`--web.external-url=${spec.externalUrl}`] : []),
      `--web.route-prefix=${typeof spec.routePrefix === 'string' ? spec.routePrefix : '/'}`,
      // Neither given: the operator keeps 24h, as Prometheus's own default would be 15d.
      ...(retention !== undefined || retentionSize === undefined ? [`--storage.tsdb.retention.time=${retention ?? '24h'}`] : []),
      ...(retentionSize !== undefined ? [`--storage.tsdb.retention.size=${retentionSize}`] : []),
      '--storage.tsdb.path=/prometheus',
      '--web.config.file=/etc/prometheus/web_config/web-config.yaml',
      ...(typeof spec.logLevel === 'string' ? [`--log.level=${spec.logLevel}`] : []),
      ...(typeof spec.logFormat === 'string' ? [`--log.format=${spec.logFormat}`] : []),
    ];
  }

  function reconcilePrometheus(namespace: string, name: string): void {
    const prometheuses = typeOf(cluster, 'prometheuses');
    const prometheus = prometheuses && cluster.get(prometheuses, namespace, name);
    const operator = availableOperator(cluster);
    if (!prometheuses || !prometheus || prometheus.metadata.deletionTimestamp || !operator) return;
    const spec = isPlainObject(prometheus.spec) ? prometheus.spec : {};
    const stsName = `prometheus-${name}`;
    const version = tagOf(spec.version, DEFAULT_PROMETHEUS_VERSION);
    const selector = {
      'app.kubernetes.io/instance': name,
      'app.kubernetes.io/managed-by': 'prometheus-operator',
      'app.kubernetes.io/name': 'prometheus',
      'operator.prometheus.io/name': name,
      'operator.prometheus.io/shard': '0',
      prometheus: name,
    };
    const labels = { ...selector, 'app.kubernetes.io/version': version.slice(1), 'operator.prometheus.io/mode': 'server' };
    if (spec.paused !== true) {
      const configLabels = { 'managed-by': 'prometheus-operator' };
      ensureSecret(prometheus, stsName, { 'prometheus.yaml.gz': gzipped(prometheusConfig(prometheus)) }, configLabels);
      ensureSecret(prometheus, `${stsName}-web-config`, { 'web-config.yaml': Buffer.from('').toString('base64') }, configLabels);
      ensureGoverningService(prometheus, 'prometheus-operated', { 'managed-by': 'prometheus-operator', 'operated-prometheus': 'true' }, { 'app.kubernetes.io/name': 'prometheus' }, [
        { name: 'web', port: 9090, protocol: 'TCP', targetPort: 'web' },
      ]);
      const podMetadataLabels = at(spec, 'podMetadata.labels');
      const claim = at(spec, 'storage.volumeClaimTemplate');
      const dbVolume = `${stsName}-db`;
      ensureStatefulSet(prometheus, stsName, labels, {
        replicas: typeof spec.replicas === 'number' ? spec.replicas : 1,
        serviceName: 'prometheus-operated',
        podManagementPolicy: 'Parallel',
        updateStrategy: { type: 'RollingUpdate' },
        selector: { matchLabels: selector },
        template: {
          metadata: {
            labels: { ...(isPlainObject(podMetadataLabels) ? podMetadataLabels : {}), ...labels },
            annotations: { 'kubectl.kubernetes.io/default-container': 'prometheus' },
          },
          spec: {
            serviceAccountName: typeof spec.serviceAccountName === 'string' ? spec.serviceAccountName : 'default',
            automountServiceAccountToken: true,
            ...(isPlainObject(spec.securityContext) ? { securityContext: spec.securityContext } : {}),
            ...(isPlainObject(spec.nodeSelector) ? { nodeSelector: spec.nodeSelector } : {}),
            terminationGracePeriodSeconds: 600,
            containers: [
              {
                name: 'prometheus',
                image: typeof spec.image === 'string' && spec.image !== '' ? spec.image : `quay.io/prometheus/prometheus:${version}`,
                args: prometheusArgs(prometheus),
                ports: [{ name: 'web', containerPort: 9090, protocol: 'TCP' }],
                readinessProbe: { httpGet: { path: '/-/ready', port: 'web', scheme: 'HTTP' }, periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 3 },
                ...(isPlainObject(spec.resources) ? { resources: spec.resources } : {}),
                volumeMounts: [
                  { name: 'config-out', mountPath: '/etc/prometheus/config_out', readOnly: true },
                  { name: dbVolume, mountPath: '/prometheus' },
                  { name: 'web-config', mountPath: '/etc/prometheus/web_config/web-config.yaml', subPath: 'web-config.yaml', readOnly: true },
                ],
              },
              {
                name: 'config-reloader',
                image: configReloaderImage(operator),
                command: ['/bin/prometheus-config-reloader'],
                args: [
                  '--listen-address=:8080',
                  '--reload-url=http://127.0.0.1:9090/-/reload',
                  '--config-file=/etc/prometheus/config/prometheus.yaml.gz',
                  '--config-envsubst-file=/etc/prometheus/config_out/prometheus.env.yaml',
                ],
                ports: [{ name: 'reloader-web', containerPort: 8080, protocol: 'TCP' }],
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/prometheus/config' },
                  { name: 'config-out', mountPath: '/etc/prometheus/config_out' },
                ],
              },
            ],
            volumes: [
              { name: 'config', secret: { secretName: stsName } },
              { name: 'config-out', emptyDir: { medium: 'Memory' } },
              { name: 'web-config', secret: { secretName: `${stsName}-web-config` } },
              ...(isPlainObject(claim) ? [] : [{ name: dbVolume, emptyDir: {} }]),
            ],
          },
        },
        ...(isPlainObject(claim) ? { volumeClaimTemplates: [{ ...claim, metadata: { ...(isPlainObject(claim.metadata) ? claim.metadata : {}), name: dbVolume } }] } : {}),
      });
    }
    writeOperatedStatus(prometheuses, prometheus, stsName, selector, true);
  }

  // ---- Alertmanager -----------------------------------------------------------------------

  const DEFAULT_ALERTMANAGER_CONFIG = stringify({ route: { receiver: 'null' }, receivers: [{ name: 'null' }] });

  function alertmanagerConfig(alertmanager: KubeObject): string {
    const configSecret = at(alertmanager, 'spec.configSecret');
    const secret = cluster.get(SECRET, alertmanager.metadata.namespace, typeof configSecret === 'string' && configSecret !== '' ? configSecret : `alertmanager-${alertmanager.metadata.name}`);
    const data = isPlainObject(secret?.data) ? secret.data : {};
    return typeof data['alertmanager.yaml'] === 'string' ? Buffer.from(data['alertmanager.yaml'], 'base64').toString('utf8') : DEFAULT_ALERTMANAGER_CONFIG;
  }

  function reconcileAlertmanager(namespace: string, name: string): void {
    const alertmanagers = typeOf(cluster, 'alertmanagers');
    const alertmanager = alertmanagers && cluster.get(alertmanagers, namespace, name);
    if (!alertmanagers || !alertmanager || alertmanager.metadata.deletionTimestamp || !availableOperator(cluster)) return;
    const spec = isPlainObject(alertmanager.spec) ? alertmanager.spec : {};
    const stsName = `alertmanager-${name}`;
    const version = tagOf(spec.version, DEFAULT_ALERTMANAGER_VERSION);
    const selector = { 'app.kubernetes.io/instance': name, 'app.kubernetes.io/managed-by': 'prometheus-operator', 'app.kubernetes.io/name': 'alertmanager', alertmanager: name };
    const labels = { ...selector, 'app.kubernetes.io/version': version.slice(1) };
    if (spec.paused !== true) {
      ensureSecret(alertmanager, `${stsName}-generated`, { 'alertmanager.yaml.gz': gzipped(alertmanagerConfig(alertmanager)) }, { 'managed-by': 'prometheus-operator' });
      ensureGoverningService(alertmanager, 'alertmanager-operated', { 'managed-by': 'prometheus-operator', 'operated-alertmanager': 'true' }, { 'app.kubernetes.io/name': 'alertmanager' }, [
        { name: 'tcp-mesh', port: 9094, protocol: 'TCP', targetPort: 9094 },
        { name: 'udp-mesh', port: 9094, protocol: 'UDP', targetPort: 9094 },
        { name: 'web', port: 9093, protocol: 'TCP', targetPort: 'web' },
      ]);
      ensureStatefulSet(alertmanager, stsName, labels, {
        replicas: typeof spec.replicas === 'number' ? spec.replicas : 1,
        serviceName: 'alertmanager-operated',
        podManagementPolicy: 'Parallel',
        updateStrategy: { type: 'RollingUpdate' },
        selector: { matchLabels: selector },
        template: {
          metadata: { labels, annotations: { 'kubectl.kubernetes.io/default-container': 'alertmanager' } },
          spec: {
            serviceAccountName: typeof spec.serviceAccountName === 'string' ? spec.serviceAccountName : 'default',
            automountServiceAccountToken: true,
            ...(isPlainObject(spec.securityContext) ? { securityContext: spec.securityContext } : {}),
            ...(isPlainObject(spec.nodeSelector) ? { nodeSelector: spec.nodeSelector } : {}),
            terminationGracePeriodSeconds: 120,
            containers: [
              {
                name: 'alertmanager',
                image: typeof spec.image === 'string' && spec.image !== '' ? spec.image : `quay.io/prometheus/alertmanager:${version}`,
                args: [
                  '--config.file=/etc/alertmanager/config_out/alertmanager.env.yaml',
                  '--storage.path=/alertmanager',
                  `--data.retention=${typeof spec.retention === 'string' ? spec.retention : '120h'}`,
                  '--cluster.listen-address=[$(POD_IP)]:9094',
                  '--web.listen-address=:9093',
                  `--web.route-prefix=${typeof spec.routePrefix === 'string' ? spec.routePrefix : '/'}`,
                  `--cluster.label=${namespace}/${name}`,
                ],
                env: [{ name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } }],
                ports: [
                  { name: 'web', containerPort: 9093, protocol: 'TCP' },
                  { name: 'mesh-tcp', containerPort: 9094, protocol: 'TCP' },
                  { name: 'mesh-udp', containerPort: 9094, protocol: 'UDP' },
                ],
                readinessProbe: { httpGet: { path: '/-/ready', port: 'web', scheme: 'HTTP' }, periodSeconds: 5, failureThreshold: 10, timeoutSeconds: 3, initialDelaySeconds: 3 },
                ...(isPlainObject(spec.resources) ? { resources: spec.resources } : {}),
                volumeMounts: [
                  { name: 'config-volume', mountPath: '/etc/alertmanager/config' },
                  { name: 'config-out', mountPath: '/etc/alertmanager/config_out', readOnly: true },
                  { name: `${stsName}-db`, mountPath: '/alertmanager' },
                ],
              },
            ],
            volumes: [
              { name: 'config-volume', secret: { secretName: `${stsName}-generated` } },
              { name: 'config-out', emptyDir: { medium: 'Memory' } },
              { name: `${stsName}-db`, emptyDir: {} },
            ],
          },
        },
      });
    }
    writeOperatedStatus(alertmanagers, alertmanager, stsName, selector, false);
  }

  // ---- Status ------------------------------------------------------------------------------

  /** Why a pod is not ready, as the operator's Available condition lists it. */
  function podProblem(pod: KubeObject): string {
    const ready = objectsAt(pod, 'status.conditions').find((condition) => condition.type === 'Ready');
    const waiting = objectsAt(pod, 'status.containerStatuses')
      .map((status) => ({ name: status.name, reason: at(status, 'state.waiting.reason'), message: at(status, 'state.waiting.message') }))
      .filter((status) => typeof status.reason === 'string');
    const details = waiting.map((status) => `${String(status.name)}: ${String(status.reason)}${typeof status.message === 'string' ? ` (${status.message})` : ''}`);
    const summary = typeof ready?.message === 'string' && ready.message !== '' ? ready.message : 'pod is not ready';
    return details.length > 0 ? `${summary}: ${details.join('; ')}` : summary;
  }

  function writeOperatedStatus(type: ResourceType, owner: KubeObject, stsName: string, selector: Record<string, string>, sharded: boolean): void {
    const namespace = owner.metadata.namespace;
    const desired = typeof at(owner, 'spec.replicas') === 'number' ? (at(owner, 'spec.replicas') as number) : 1;
    const statefulSet = cluster.get(STATEFUL_SET, namespace, stsName);
    const pods = statefulSet ? runtime.controlled(statefulSet, POD).filter((pod) => !pod.metadata.deletionTimestamp) : [];
    const updateRevision = at(statefulSet, 'status.updateRevision');
    const replicas = pods.length;
    const available = pods.filter(podReady).length;
    const updated = pods.filter((pod) => pod.metadata.labels?.['controller-revision-hash'] === updateRevision).length;
    const notReady = pods.filter((pod) => !podReady(pod)).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const prefix = sharded ? 'shard 0: ' : '';
    let availableCondition: Condition;
    if (available >= desired && notReady.length === 0) {
      availableCondition = { type: 'Available', status: 'True', reason: '', message: '' };
    } else {
      const problems = notReady.map((pod) => `${prefix}pod ${pod.metadata.name}: ${podProblem(pod)}`);
      if (replicas < desired) problems.push(`${prefix}${desired - replicas} of ${desired} pods not created yet`);
      availableCondition =
        available === 0
          ? { type: 'Available', status: 'False', reason: 'NoPodReady', message: problems.join('\n') }
          : { type: 'Available', status: 'Degraded', reason: 'SomePodsNotReady', message: problems.join('\n') };
    }
    const reconciled: Condition = { type: 'Reconciled', status: 'True', reason: '', message: '' };
    const previous = isPlainObject(owner.status) ? owner.status : {};
    const generation = owner.metadata.generation ?? 1;
    const conditions = mergeConditions(previous.conditions, [availableCondition, reconciled], runtime.now(), false).map((condition) => ({ ...condition, observedGeneration: generation }));
    const counts = { replicas, updatedReplicas: updated, availableReplicas: available, unavailableReplicas: replicas - available };
    const status: JsonObject = {
      ...counts,
      paused: at(owner, 'spec.paused') === true,
      selector: Object.entries(selector)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, value]) => `${key}=${value}`)
        .join(','),
      conditions,
      ...(sharded ? { shards: 1, shardStatuses: [{ shardID: '0', ...counts }] } : {}),
    };
    runtime.writeStatus(type, owner, status, MANAGER);
  }

  // ---- Routing of change events ------------------------------------------------------------

  function enqueueOne(kind: Kind, namespace: string, name: string): void {
    enqueue(`prometheus-operator|${kind}|${namespace}/${name}`, () => (kind === 'Prometheus' ? reconcilePrometheus(namespace, name) : reconcileAlertmanager(namespace, name)));
  }
  function enqueueAll(kind: Kind): void {
    const type = typeOf(cluster, kind === 'Prometheus' ? 'prometheuses' : 'alertmanagers');
    if (type) for (const object of cluster.scan(type)) enqueueOne(kind, object.metadata.namespace ?? '', object.metadata.name);
  }
  function resyncAll(): void {
    enqueueAll('Prometheus');
    enqueueAll('Alertmanager');
  }

  /** Pods and StatefulSets of an instance carry its name in these labels. */
  function ownerOfLabels(labels: Record<string, string> | undefined): [Kind, string] | undefined {
    if (labels?.['app.kubernetes.io/managed-by'] !== 'prometheus-operator') return undefined;
    if (labels['app.kubernetes.io/name'] === 'prometheus' && labels.prometheus) return ['Prometheus', labels.prometheus];
    if (labels['app.kubernetes.io/name'] === 'alertmanager' && labels.alertmanager) return ['Alertmanager', labels.alertmanager];
    return undefined;
  }

  function onEvent(event: StoredEvent): void {
    const { object, storageKey } = event;
    const namespace = object.metadata.namespace ?? '';
    switch (storageKey) {
      case `${GROUP}/prometheuses`:
        if (event.type !== 'DELETED') enqueueOne('Prometheus', namespace, object.metadata.name);
        return;
      case `${GROUP}/alertmanagers`:
        if (event.type !== 'DELETED') enqueueOne('Alertmanager', namespace, object.metadata.name);
        return;
      case `${GROUP}/servicemonitors`:
        // The generated configuration lists the selected ServiceMonitors.
        enqueueAll('Prometheus');
        return;
      case storageKeyOf(STATEFUL_SET):
      case storageKeyOf(POD): {
        const owner = ownerOfLabels(object.metadata.labels);
        if (owner) enqueueOne(owner[0], namespace, owner[1]);
        return;
      }
      case storageKeyOf(SECRET):
        if (object.metadata.name.startsWith('alertmanager-')) enqueueAll('Alertmanager');
        return;
      case storageKeyOf(SERVICE):
        // The governing Services are shared by the instances of a namespace and owned by one of them.
        if (event.type === 'DELETED' && object.metadata.name === 'prometheus-operated') enqueueAll('Prometheus');
        if (event.type === 'DELETED' && object.metadata.name === 'alertmanager-operated') enqueueAll('Alertmanager');
        return;
      case storageKeyOf(DEPLOYMENT): {
        const labels = object.metadata.labels ?? {};
        if (labels['app.kubernetes.io/component'] === PROMETHEUS_OPERATOR_COMPONENT || labels['app.kubernetes.io/name'] === PROMETHEUS_OPERATOR_COMPONENT) resyncAll();
        return;
      }
      case 'apiextensions.k8s.io/customresourcedefinitions':
        if (at(object, 'spec.group') === GROUP) resyncAll();
        return;
      default:
    }
  }

  return { onEvent, resyncAll };
}
