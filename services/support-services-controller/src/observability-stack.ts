/**
 * What an ObservabilityInstance installs, as pure data: the charts (kube-prometheus-stack, Loki,
 * the Alloy log collector) at their pins, the values Tugboat sets on them (under the platform
 * team's and the instance's overrides), which component each rendered object belongs to, and the
 * collector's configuration for the namespaces whose logs are collected.
 */
import { mergeValues } from '@tugboat/workloads';
import type { KubeManifest } from '@tugboat/workloads';
import { pinned } from './components.js';
import type { ChartPin } from './support-types.js';

/** The real charts and versions, pinned (an ObservabilityDefinition may pin others). */
export const DEFAULT_METRICS_CHART = { repository: 'https://prometheus-community.github.io/helm-charts', chart: 'kube-prometheus-stack', version: '75.6.0' } as const;
export const DEFAULT_LOGS_CHART = { repository: 'https://grafana.github.io/helm-charts', chart: 'loki', version: '6.30.1' } as const;
export const DEFAULT_COLLECTOR_CHART = { repository: 'https://grafana.github.io/helm-charts', chart: 'alloy', version: '1.1.1' } as const;
export const DEFAULT_OBSERVABILITY_NAMESPACE = 'tugboat-observability';
export const DEFAULT_METRICS_RETENTION = '15d';
export const DEFAULT_LOGS_RETENTION = '168h';

/** The release names: the charts name their objects after them (`kube-prometheus-stack-grafana`, `loki-gateway`). */
export const RELEASES = { metrics: 'kube-prometheus-stack', logs: 'loki', collector: 'alloy' } as const;
export type ChartPart = keyof typeof RELEASES;

/** Marks every object an instance installs (how its removal finds the cluster-wide ones). */
export const OBSERVABILITY_LABEL = 'tugboat.dev/observability';


interface Resources {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

export interface ObservabilityDefinitionSpec {
  description?: string;
  default?: boolean;
  namespace?: string;
  metrics?: {
    enabled?: boolean;
    chart?: ChartPin;
    retention?: string;
    retentionSize?: string;
    resources?: Resources;
    grafana?: { enabled?: boolean };
    alertmanager?: { enabled?: boolean };
    values?: Record<string, unknown>;
  };
  logs?: {
    enabled?: boolean;
    chart?: ChartPin;
    collectorChart?: ChartPin;
    retention?: string;
    resources?: Resources;
    values?: Record<string, unknown>;
    collectorValues?: Record<string, unknown>;
  };
  overridableValues?: string[];
}

export interface ObservabilityInstanceSpec {
  definitionRef: { name: string };
  clusterRef: { name: string };
  grafana?: { gatewayRef?: { name: string } };
  overrides?: { values?: Partial<Record<ChartPart, Record<string, unknown>>> };
}

export interface StackChart {
  part: ChartPart;
  release: string;
  source: { repository: string; chart: string; version: string };
  values: Record<string, unknown>;
  includeCrds: boolean;
}

export const metricsEnabled = (definition: ObservabilityDefinitionSpec) => definition.metrics?.enabled !== false;
export const logsEnabled = (definition: ObservabilityDefinitionSpec) => definition.logs?.enabled !== false;
export const grafanaEnabled = (definition: ObservabilityDefinitionSpec) => metricsEnabled(definition) && definition.metrics?.grafana?.enabled !== false;
export const namespaceOf = (definition: ObservabilityDefinitionSpec) => definition.namespace ?? DEFAULT_OBSERVABILITY_NAMESPACE;

/** The in-cluster addresses the charts' Services answer at. */
export function stackAddresses(definition: ObservabilityDefinitionSpec): Record<string, string> {
  const namespace = namespaceOf(definition);
  const at = (service: string, port?: number) => `http://${service}.${namespace}.svc.cluster.local${port === undefined ? '' : `:${port}`}`;
  return {
    ...(metricsEnabled(definition) ? { prometheusUrl: at(`${RELEASES.metrics}-prometheus`, 9090) } : {}),
    ...(grafanaEnabled(definition) ? { grafanaUrl: at(`${RELEASES.metrics}-grafana`) } : {}),
    ...(logsEnabled(definition) ? { lokiUrl: at(`${RELEASES.logs}-gateway`) } : {}),
  };
}

/** A string as an Alloy (River) string literal. */
const riverString = (text: string) => JSON.stringify(text);

/**
 * The collector's configuration: the pods of exactly these namespaces, their logs sent to Loki
 * with namespace, pod and container labels. No namespace → nothing is discovered at all (an empty
 * `names` list would mean every namespace to Alloy).
 */
export function collectorConfig(instance: string, lokiPushUrl: string, namespaces: readonly string[]): string {
  const header = `// Managed by Tugboat (ObservabilityInstance ${instance}): the logs of the namespaces of its cluster's workloads.\n`;
  const write = `loki.write "default" {\n  endpoint {\n    url = ${riverString(lokiPushUrl)}\n  }\n}\n`;
  if (namespaces.length === 0) return `${header}// No workload on this cluster has its logs collected yet.\n${write}`;
  const names = [...namespaces].sort().map(riverString).join(', ');
  return `${header}discovery.kubernetes "pods" {
  role = "pod"
  namespaces {
    names = [${names}]
  }
}

discovery.relabel "pods" {
  targets = discovery.kubernetes.pods.targets
  rule {
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }
}

loki.source.kubernetes "pods" {
  targets    = discovery.relabel.pods.output
  forward_to = [loki.write.default.receiver]
}

${write}`;
}

/** Grafana served under `/grafana/` on the gateway's http listener. */
export const GRAFANA_PATH = '/grafana';

/**
 * The charts to install, in order, with the values Tugboat sets (retention, resources, selectors
 * that pick every ServiceMonitor, single-binary Loki on a filesystem), the platform team's values
 * over them and the instance's overrides over those.
 */
export function stackCharts(input: {
  instance: string;
  definition: ObservabilityDefinitionSpec;
  overrides?: ObservabilityInstanceSpec['overrides'];
  logNamespaces: readonly string[];
  grafanaBehindGateway: boolean;
}): StackChart[] {
  const { definition } = input;
  const overrides = input.overrides?.values ?? {};
  const namespace = namespaceOf(definition);
  const charts: StackChart[] = [];
  if (metricsEnabled(definition)) {
    const metrics = definition.metrics ?? {};
    const prometheusSpec: Record<string, unknown> = {
      retention: metrics.retention ?? DEFAULT_METRICS_RETENTION,
      ...(metrics.retentionSize === undefined ? {} : { retentionSize: metrics.retentionSize }),
      ...(metrics.resources === undefined ? {} : { resources: metrics.resources }),
      // Every ServiceMonitor and PodMonitor in the cluster, not only those labelled with the release.
      serviceMonitorSelectorNilUsesHelmValues: false,
      podMonitorSelectorNilUsesHelmValues: false,
    };
    const grafana: Record<string, unknown> = { enabled: grafanaEnabled(definition) };
    if (input.grafanaBehindGateway) grafana['grafana.ini'] = { server: { root_url: `%(protocol)s://%(domain)s${GRAFANA_PATH}/`, serve_from_sub_path: true } };
    const ours = { prometheus: { prometheusSpec }, grafana, alertmanager: { enabled: metrics.alertmanager?.enabled !== false } };
    charts.push({ part: 'metrics', release: RELEASES.metrics, source: pinned(metrics.chart, DEFAULT_METRICS_CHART), values: mergeValues(mergeValues(ours, metrics.values), overrides.metrics), includeCrds: true });
  }
  if (logsEnabled(definition)) {
    const logs = definition.logs ?? {};
    const ours = {
      deploymentMode: 'SingleBinary',
      loki: {
        auth_enabled: false,
        commonConfig: { replication_factor: 1 },
        storage: { type: 'filesystem' },
        schemaConfig: { configs: [{ from: '2024-04-01', store: 'tsdb', object_store: 'filesystem', schema: 'v13', index: { prefix: 'index_', period: '24h' } }] },
        limits_config: { retention_period: logs.retention ?? DEFAULT_LOGS_RETENTION },
        compactor: { retention_enabled: true, delete_request_store: 'filesystem' },
      },
      singleBinary: { replicas: 1, ...(logs.resources === undefined ? {} : { resources: logs.resources }) },
      // The scalable targets, the canary, the caches and the chart's test pod are off in single-binary mode.
      read: { replicas: 0 },
      write: { replicas: 0 },
      backend: { replicas: 0 },
      lokiCanary: { enabled: false },
      chunksCache: { enabled: false },
      resultsCache: { enabled: false },
      test: { enabled: false },
      gateway: { enabled: true },
    };
    charts.push({ part: 'logs', release: RELEASES.logs, source: pinned(logs.chart, DEFAULT_LOGS_CHART), values: mergeValues(mergeValues(ours, logs.values), overrides.logs), includeCrds: true });
    const pushUrl = `http://${RELEASES.logs}-gateway.${namespace}.svc.cluster.local/loki/api/v1/push`;
    const collector = { controller: { type: 'daemonset' }, alloy: { configMap: { create: true, content: collectorConfig(input.instance, pushUrl, input.logNamespaces) } } };
    charts.push({ part: 'collector', release: RELEASES.collector, source: pinned(logs.collectorChart, DEFAULT_COLLECTOR_CHART), values: mergeValues(mergeValues(collector, logs.collectorValues), overrides.collector), includeCrds: true });
  }
  return charts;
}

/** The parts of the stack whose readiness status reports, one condition each. */
export type StackComponent = 'prometheus' | 'alertmanager' | 'grafana' | 'loki' | 'log-collector';

export const COMPONENT_CONDITIONS: Record<StackComponent, string> = {
  prometheus: 'PrometheusReady',
  alertmanager: 'AlertmanagerReady',
  grafana: 'GrafanaReady',
  loki: 'LokiReady',
  'log-collector': 'LogCollectorReady',
};

/** Kinds whose readiness counts (the rest only need to exist). */
export const READINESS_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Prometheus', 'Alertmanager']);

/** Which component a rendered object's readiness counts for. */
export function componentOf(part: ChartPart, object: Pick<KubeManifest, 'kind' | 'metadata'>): StackComponent {
  if (part === 'logs') return 'loki';
  if (part === 'collector') return 'log-collector';
  if (object.kind === 'Alertmanager') return 'alertmanager';
  if ((object.metadata.name ?? '').endsWith('-grafana')) return 'grafana';
  return 'prometheus';
}
