/**
 * The charts the sandbox serves in place of real chart repositories, under their real names,
 * versions and repository URLs, and where each real repository is found on the sandbox. The one
 * place these names live: tests and `tug up` point the real URLs at the sandbox with
 * `chartMirrors(url)`, the same mirror setting a control plane uses for a registry mirror.
 */

/** A chart as a WorkloadDefinition or a support service names it (`@tugboat/helm`'s `ChartSource`). */
export interface StandinChart {
  /** `https://…` for an HTTP chart repository, `oci://host/path` for an OCI registry. */
  repository: string;
  chart: string;
  version: string;
}

export const STANDIN_CHARTS = {
  /** Envoy Gateway: the Gateway API CRDs (in `crds/`), the `envoy-gateway` Deployment and Service. */
  envoyGateway: { repository: 'oci://docker.io/envoyproxy', chart: 'gateway-helm', version: 'v1.4.1' },
  /** cert-manager: its CRDs with `crds.enabled: true`; Deployments `<fullname>`, `-webhook`, `-cainjector`. */
  certManager: { repository: 'https://charts.jetstack.io', chart: 'cert-manager', version: 'v1.17.2' },
  /**
   * External Secrets Operator: its CRDs (`installCRDs`, default true); Deployments `<fullname>`,
   * `-webhook`, `-cert-controller` (`external-secrets` for release `external-secrets`).
   */
  externalSecrets: { repository: 'https://charts.external-secrets.io', chart: 'external-secrets', version: '0.16.2' },
  /** podinfo, a demo web app, from its HTTP repository. */
  podinfo: { repository: 'https://stefanprodan.github.io/podinfo', chart: 'podinfo', version: '6.8.0' },
  /** The same chart from its OCI registry. */
  podinfoOci: { repository: 'oci://ghcr.io/stefanprodan/charts', chart: 'podinfo', version: '6.8.0' },
  /** The previous podinfo release (both repositories serve it), for version changes. */
  podinfoPrevious: { repository: 'https://stefanprodan.github.io/podinfo', chart: 'podinfo', version: '6.7.1' },
  podinfoPreviousOci: { repository: 'oci://ghcr.io/stefanprodan/charts', chart: 'podinfo', version: '6.7.1' },
  /**
   * kube-prometheus-stack: the monitoring.coreos.com CRDs (in `crds/`); Deployment
   * `<fullname>-operator` (label `app.kubernetes.io/component: prometheus-operator`, which the
   * simulated operator keys on), the Prometheus `<fullname>-prometheus` and Alertmanager
   * `<fullname>-alertmanager` custom resources, their Services and ServiceMonitors; subcharts
   * Grafana (`<release>-grafana`), kube-state-metrics (`<release>-kube-state-metrics`) and the node
   * exporter DaemonSet (`<release>-prometheus-node-exporter`). `kube-prometheus-stack` for release
   * `kube-prometheus-stack`.
   */
  kubePrometheusStack: { repository: 'https://prometheus-community.github.io/helm-charts', chart: 'kube-prometheus-stack', version: '75.6.0' },
  /**
   * Grafana Loki, `deploymentMode: SingleBinary` only: StatefulSet `<fullname>`, its configuration
   * in ConfigMap `<fullname>`, the gateway `<fullname>-gateway`, the canary DaemonSet
   * `<fullname>-canary` and the memcached StatefulSets `<fullname>-chunks-cache` / `-results-cache`.
   */
  loki: { repository: 'https://grafana.github.io/helm-charts', chart: 'loki', version: '6.30.1' },
  /** Grafana Alloy: DaemonSet (or Deployment) `<fullname>`, its configuration in ConfigMap `<fullname>`, RBAC and Service. */
  alloy: { repository: 'https://grafana.github.io/helm-charts', chart: 'alloy', version: '1.1.1' },
} as const satisfies Record<string, StandinChart>;

/** An HTTP chart repository served at `/charts/{name}/` (index.yaml and the archives). */
export interface StandinHttpRepository {
  name: string;
  /** The real repository this one stands in for. */
  realUrl: string;
  /** Chart directories under `services/sandbox/charts/` (`{chart}-{version}`). */
  charts: string[];
}

/** An OCI namespace served at `/v2/{path}/{chart}/…`: one OCI repository per chart, tags = versions. */
export interface StandinOciNamespace {
  path: string;
  realUrl: string;
  charts: string[];
}

export const STANDIN_HTTP_REPOSITORIES: readonly StandinHttpRepository[] = [
  { name: 'jetstack', realUrl: 'https://charts.jetstack.io', charts: ['cert-manager-v1.17.2'] },
  { name: 'external-secrets', realUrl: 'https://charts.external-secrets.io', charts: ['external-secrets-0.16.2'] },
  { name: 'podinfo', realUrl: 'https://stefanprodan.github.io/podinfo', charts: ['podinfo-6.8.0', 'podinfo-6.7.1'] },
  { name: 'prometheus-community', realUrl: 'https://prometheus-community.github.io/helm-charts', charts: ['kube-prometheus-stack-75.6.0'] },
  { name: 'grafana', realUrl: 'https://grafana.github.io/helm-charts', charts: ['loki-6.30.1', 'alloy-1.1.1'] },
];

export const STANDIN_OCI_NAMESPACES: readonly StandinOciNamespace[] = [
  { path: 'envoyproxy', realUrl: 'oci://docker.io/envoyproxy', charts: ['gateway-helm-v1.4.1'] },
  { path: 'stefanprodan/charts', realUrl: 'oci://ghcr.io/stefanprodan/charts', charts: ['podinfo-6.8.0', 'podinfo-6.7.1'] },
];

/**
 * The repository-mirror setting (`from=to,…`, as `TUGBOAT_HELM_MIRRORS` reads it) that sends every
 * real repository above to the sandbox at `sandboxUrl` (e.g. `http://127.0.0.1:4566`).
 */
export function chartMirrors(sandboxUrl: string): string {
  const base = new URL(sandboxUrl);
  const http = STANDIN_HTTP_REPOSITORIES.map((repo) => `${repo.realUrl}=${base.origin}/charts/${repo.name}`);
  const oci = STANDIN_OCI_NAMESPACES.map((ns) => `${ns.realUrl}=oci://${base.host}/${ns.path}`);
  return [...http, ...oci].join(',');
}

/** The hosts to reach over plain HTTP (`TUGBOAT_HELM_PLAIN_HTTP_HOSTS`): the sandbox's `host:port` when it is `http:`. */
export function chartPlainHttpHosts(sandboxUrl: string): string {
  const base = new URL(sandboxUrl);
  return base.protocol === 'http:' ? base.host : '';
}
