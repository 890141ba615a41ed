import { ChartError } from './chart-error.js';
import { helmShowChartArguments, helmTemplateArguments } from './helm-arguments.js';
import { classifyHelmFailure, helmMessage } from './helm-errors.js';
import { canonicalJson } from './helm-renderer.js';
import { parseRenderedManifest } from './rendered-manifest.js';

describe('helm template arguments', () => {
  it('fetches from an HTTP repository with --repo, positional arguments after --', () => {
    expect(
      helmTemplateArguments({
        source: { repository: 'https://charts.jetstack.io/', chart: 'cert-manager', version: 'v1.17.2' },
        releaseName: 'cert-manager',
        namespace: 'cert-manager',
        valuesFile: '/tmp/v.json',
      }),
    ).toEqual(['template', '--namespace=cert-manager', '--version=v1.17.2', '--repo=https://charts.jetstack.io', '--skip-tests', '--values=/tmp/v.json', '--', 'cert-manager', 'cert-manager']);
  });

  it('names an OCI chart by its reference, with --plain-http for the hosts that want it', () => {
    const source = { repository: 'oci://127.0.0.1:4566/envoyproxy', chart: 'gateway-helm', version: 'v1.4.1' };
    const request = { source, releaseName: 'eg', namespace: 'envoy-gateway-system', includeCrds: true, kubeVersion: '1.32.0' };
    expect(helmTemplateArguments(request, ['127.0.0.1:4566'])).toEqual([
      'template',
      '--namespace=envoy-gateway-system',
      '--version=v1.4.1',
      '--plain-http',
      '--skip-tests',
      '--include-crds',
      '--kube-version=1.32.0',
      '--',
      'eg',
      'oci://127.0.0.1:4566/envoyproxy/gateway-helm',
    ]);
    expect(helmTemplateArguments(request, ['127.0.0.1:9999'])).not.toContain('--plain-http');
    expect(helmShowChartArguments(source, ['127.0.0.1:4566'])).toEqual(['show', 'chart', '--plain-http', '--', 'oci://127.0.0.1:4566/envoyproxy/gateway-helm']);
  });

  it('has no command line for a repository that is neither http(s) nor oci', () => {
    expect(helmTemplateArguments({ source: { repository: 'ftp://x', chart: 'a', version: '1' }, releaseName: 'a', namespace: 'b' })).toBeUndefined();
  });
});

describe('helm failures', () => {
  it.each([
    ['Error: chart "cert-manager" version "v9.9.9" not found in http://127.0.0.1:4566/charts/jetstack repository\n', 'VersionNotFound'],
    ['Error: 127.0.0.1:4566/envoyproxy/gateway-helm:v9.9.9: not found\n', 'VersionNotFound'],
    ['Error: looks like "http://127.0.0.1:1/charts" is not a valid chart repository or cannot be reached: Get "http://127.0.0.1:1/charts/index.yaml": dial tcp 127.0.0.1:1: connect: connection refused\n', 'RepositoryUnreachable'],
    ['Error: failed to fetch http://127.0.0.1:4566/charts/podinfo/podinfo-6.8.0.tgz : 404 Not Found\n', 'RepositoryUnreachable'],
    ['Error: failed to do request: Head "http://127.0.0.1:1/v2/envoyproxy/nope/manifests/v1": dial tcp 127.0.0.1:1: connect: connection refused\n', 'RepositoryUnreachable'],
    [
      'coalesce.go:237: warning: skipped value for podinfo.replicaCount: Not a table.\nError: YAML parse error on podinfo/templates/deployment.yaml: error converting YAML to JSON: yaml: line 28: did not find expected key\n\nUse --debug flag to render out invalid YAML\n',
      'RenderFailed',
    ],
    ['Error: template: cert-manager/templates/certificate.yaml:3:4: executing "x" at <.Values.a.b>: nil pointer evaluating interface {}.b\n', 'RenderFailed'],
  ])('%s → %s', (stderr, reason) => {
    expect(classifyHelmFailure(helmMessage(stderr))).toBe(reason);
  });

  it("keeps helm's message without its warnings and --debug hint", () => {
    expect(helmMessage('WARNING: x\nError: YAML parse error on a.yaml: bad\n\nUse --debug flag to render out invalid YAML\n')).toBe('YAML parse error on a.yaml: bad');
    expect(helmMessage('')).toBe('helm failed without a message');
  });
});

describe('rendered manifests', () => {
  it('reads YAML as helm does, skipping empty documents', () => {
    const objects = parseRenderedManifest(
      `---
# Source: app/templates/empty.yaml
---
# Source: app/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
  namespace: shop
data:
  created: 2025-01-01T00:00:00Z
  enabled: "on"
---
# Source: app/templates/deploy.yaml
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  template:
    spec:
      volumes: [{name: c, configMap: {name: app, defaultMode: 0644}}]
      enableServiceLinks: off
`,
      'chart "app"',
    );
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['ConfigMap/app', 'Deployment/app']);
    expect(objects[0]?.data).toEqual({ created: '2025-01-01T00:00:00Z', enabled: 'on' });
    expect(objects[1]?.spec).toEqual({ template: { spec: { volumes: [{ name: 'c', configMap: { name: 'app', defaultMode: 420 } }], enableServiceLinks: false } } });
  });

  it('refuses what is not an object, naming the template', () => {
    const attempt = (text: string) => {
      try {
        parseRenderedManifest(text, 'chart "app"');
        return undefined;
      } catch (error) {
        return error as ChartError;
      }
    };
    const list = attempt('# Source: app/templates/list.yaml\n- a\n- b\n');
    expect(list).toBeInstanceOf(ChartError);
    expect(list?.reason).toBe('RenderFailed');
    expect(list?.message).toBe('chart "app": app/templates/list.yaml renders a list, not a Kubernetes object');
    expect(attempt('# Source: app/templates/x.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n')?.message).toContain('app/templates/x.yaml renders an object without apiVersion, kind or metadata.name');
    expect(attempt('# Source: app/templates/d.yaml\na: 1\na: 2\n')?.message).toContain('app/templates/d.yaml is not valid YAML');
  });
});

describe('canonical values', () => {
  it('sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}');
  });
});
