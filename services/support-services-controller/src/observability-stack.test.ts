import { collectorConfig, componentOf, DEFAULT_METRICS_CHART, stackAddresses, stackCharts } from './observability-stack.js';

describe('the observability stack', () => {
  it('installs metrics, Loki and the collector by default, with Tugboat values under the definition values under the instance overrides', () => {
    const charts = stackCharts({
      instance: 'prod',
      definition: { metrics: { retention: '30d', values: { grafana: { replicas: 2 } } }, logs: { retention: '72h' } },
      overrides: { values: { metrics: { grafana: { replicas: 3 } } } },
      logNamespaces: ['shop-web'],
      grafanaBehindGateway: false,
    });
    expect(charts.map((chart) => [chart.part, chart.release, chart.source.chart, chart.source.version])).toEqual([
      ['metrics', 'kube-prometheus-stack', 'kube-prometheus-stack', DEFAULT_METRICS_CHART.version],
      ['logs', 'loki', 'loki', '6.30.1'],
      ['collector', 'alloy', 'alloy', '1.1.1'],
    ]);
    const metrics = charts[0]!.values as { prometheus: { prometheusSpec: Record<string, unknown> }; grafana: Record<string, unknown> };
    expect(metrics.prometheus.prometheusSpec).toMatchObject({ retention: '30d', serviceMonitorSelectorNilUsesHelmValues: false });
    expect(metrics.grafana).toEqual({ enabled: true, replicas: 3 });
    expect(charts[1]!.values).toMatchObject({ deploymentMode: 'SingleBinary', loki: { limits_config: { retention_period: '72h' } }, lokiCanary: { enabled: false } });
    const content = (charts[2]!.values as { alloy: { configMap: { content: string } } }).alloy.configMap.content;
    expect(content).toContain('names = ["shop-web"]');
    expect(content).toContain('url = "http://loki-gateway.tugboat-observability.svc.cluster.local/loki/api/v1/push"');
  });

  it('leaves out what the definition turns off, and says where Grafana, Prometheus and Loki answer', () => {
    const definition = { namespace: 'obs', metrics: { grafana: { enabled: false } }, logs: { enabled: false } };
    const charts = stackCharts({ instance: 'c', definition, logNamespaces: [], grafanaBehindGateway: false });
    expect(charts.map((chart) => chart.part)).toEqual(['metrics']);
    expect((charts[0]!.values as { grafana: { enabled: boolean } }).grafana.enabled).toBe(false);
    expect(stackAddresses(definition)).toEqual({ prometheusUrl: 'http://kube-prometheus-stack-prometheus.obs.svc.cluster.local:9090' });
  });

  it('serves Grafana under /grafana when it is behind the gateway', () => {
    const charts = stackCharts({ instance: 'c', definition: {}, logNamespaces: [], grafanaBehindGateway: true });
    expect((charts[0]!.values as { grafana: Record<string, unknown> }).grafana['grafana.ini']).toEqual({ server: { root_url: '%(protocol)s://%(domain)s/grafana/', serve_from_sub_path: true } });
  });

  it('configures a collector with no namespace to discover nothing (an empty list would mean every namespace)', () => {
    const config = collectorConfig('c', 'http://loki/push', []);
    expect(config).not.toContain('discovery.kubernetes');
    expect(config).toContain('loki.write "default"');
    expect(collectorConfig('c', 'http://loki/push', ['b', 'a"x'])).toContain('names = ["a\\"x", "b"]');
  });

  it('counts each rendered object for the component it is part of', () => {
    const meta = (name: string) => ({ metadata: { name } });
    expect(componentOf('metrics', { kind: 'Prometheus', ...meta('kube-prometheus-stack-prometheus') })).toBe('prometheus');
    expect(componentOf('metrics', { kind: 'Alertmanager', ...meta('kube-prometheus-stack-alertmanager') })).toBe('alertmanager');
    expect(componentOf('metrics', { kind: 'Deployment', ...meta('kube-prometheus-stack-grafana') })).toBe('grafana');
    expect(componentOf('logs', { kind: 'StatefulSet', ...meta('loki') })).toBe('loki');
    expect(componentOf('collector', { kind: 'DaemonSet', ...meta('alloy') })).toBe('log-collector');
  });
});
