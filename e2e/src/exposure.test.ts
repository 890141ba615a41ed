/**
 * Support services, part 1 (issue 13), end to end: the real API, NATS, the sandbox (Route 53 on
 * its REST-XML protocol, a simulated cluster whose Envoy Gateway and cert-manager act on what is
 * installed, a chart repository and an OCI registry of stand-in charts) and the infra-, cluster-,
 * workload- and support-services-controllers as processes; helm renders the charts.
 *
 * An app with `expose` → Ready at https://hello.<domain> (kubectl shows the Gateway, the HTTPRoutes
 * and a Ready Certificate; `aws route53` the CNAME and its owner TXT); a moved load balancer moves
 * the record; a record Tugboat does not own → Degraded, untouched; the exposure removed → route,
 * certificate and records gone; Helm-chart workloads from an HTTP repository and an OCI registry →
 * Ready, a values override rolled out; SIGKILL right after the Route 53 change and before the
 * status write, and at random moments → no duplicate or orphaned record.
 */
import { readFile } from 'node:fs/promises';
import type { Condition, Resource } from '@tugboat/resource-model';
import { waitUntil, type Child } from './harness/cli-processes.js';
import { ACCOUNT_ID, EKS_KEYS, startEksStack, type EksStack } from './harness/eks-stack.js';

const DOMAIN = 'apps.example.test';
const SUPPORT_ENV = { EXPOSURE_PROGRESS_MS: '250', EXPOSURE_WAIT_MS: '1000', EXPOSURE_RECHECK_MS: '1000', DNS_POLL_MS: '100', DNS_WAIT_MS: '5000', AWS_RETRY_MS: '200', AWS_REQUEST_TIMEOUT_MS: '5000' };

interface StatusView {
  phase?: string;
  conditions?: Condition[];
  outputs?: Record<string, unknown>;
}
const statusOf = (obj: Resource | undefined) => (obj?.status ?? {}) as StatusView;
const readyOf = (obj: Resource | undefined) => statusOf(obj).conditions?.find((c) => c.type === 'Ready');

interface RecordSet {
  Name: string;
  Type: string;
  ResourceRecords?: Array<{ Value: string }>;
}

describe('an app at its own https hostname (API, sandbox and controllers as processes)', () => {
  let stack: EksStack;
  let support: Child;
  let zoneId: string;

  const exposure = (name: string) => stack.admin.get({ kind: 'Exposure', project: 'shop', name });
  const workload = (name: string) => stack.admin.get({ kind: 'WorkloadInstance', project: 'shop', name });
  const records = async (): Promise<RecordSet[]> => ((await stack.aws('route53', 'list-resource-record-sets', '--hosted-zone-id', zoneId)) as { ResourceRecordSets: RecordSet[] }).ResourceRecordSets;
  const recordsOf = async (host: string) => (await records()).filter((set) => set.Name === `${host}.${DOMAIN}.` || set.Name === `_tugboat.${host}.${DOMAIN}.`);
  /** Record sets in Route 53 now, by the sandbox's counters (created minus deleted; the ACME challenge's come and go). */
  const recordSetsLive = async () => {
    const counters = (await (await fetch(`${stack.sandboxUrl}/_sandbox/counters`)).json()) as { created: Record<string, number>; deleted: Record<string, number> };
    return (counters.created['route53:resource-record-set'] ?? 0) - (counters.deleted['route53:resource-record-set'] ?? 0);
  };
  const expose = (name: string, extra: Record<string, unknown> = {}) =>
    stack.admin.apply([{ kind: 'WorkloadInstance', metadata: { name, project: 'shop' }, spec: { definitionRef: { name: 'hello' }, expose: { domainRef: { name: 'example' }, gatewayRef: { name: 'public' }, port: 8080, ...extra } } }]);
  const untilExposure = (name: string, check: (obj: Resource | undefined) => boolean, what: string, timeoutMs = 90_000) =>
    waitUntil(async () => {
      const obj = await exposure(name);
      return check(obj) ? (obj ?? true) : undefined;
    }, what, timeoutMs);
  const startSupport = (env: Record<string, string> = {}, options: { expectDeath?: boolean } = {}) => stack.startController('support-services-controller', { ...SUPPORT_ENV, ...env }, options);

  beforeAll(async () => {
    stack = await startEksStack({ name: 'expose-e2e', projects: ['shop'] });
    await stack.startInfraController();
    support = await startSupport();
    const kubeconfig = await readFile(stack.kubeconfigFile, 'utf8');
    await stack.admin.apply([
      { kind: 'AwsAccount', metadata: { name: 'dns' }, spec: { accountId: ACCOUNT_ID, region: 'us-east-1', endpoint: stack.sandboxUrl, ...EKS_KEYS } },
      { kind: 'ClusterDefinition', metadata: { name: 'local' }, spec: { provider: 'kubeconfig' } },
      { kind: 'ClusterInstance', metadata: { name: 'local' }, spec: { definitionRef: { name: 'local' }, kubeconfig, defaultFor: ['*'] } },
      { kind: 'DomainDefinition', metadata: { name: 'example' }, spec: { domain: DOMAIN, accountRef: { name: 'dns' }, acme: { email: 'platform@example.test' } } },
      { kind: 'GatewayDefinition', metadata: { name: 'public' }, spec: {} },
      { kind: 'WorkloadDefinition', metadata: { name: 'hello' }, spec: { container: { image: 'ghcr.io/example/hello:1.0', ports: [{ port: 8080 }] } } },
      {
        kind: 'WorkloadDefinition',
        metadata: { name: 'podinfo' },
        spec: { helm: { repository: 'https://stefanprodan.github.io/podinfo', chart: 'podinfo', version: '6.8.0', overridableValues: ['ui.message'] }, maxReplicas: 3 },
      },
      {
        kind: 'WorkloadDefinition',
        metadata: { name: 'podinfo-oci' },
        spec: { helm: { repository: 'oci://ghcr.io/stefanprodan/charts', chart: 'podinfo', version: '6.8.0', values: { replicaCount: 2 } } },
      },
    ]);
    const domain = await waitUntil(async () => {
      const obj = await stack.admin.get({ kind: 'DomainDefinition', name: 'example' });
      return statusOf(obj).phase === 'Ready' ? obj : undefined;
    }, 'the domain Ready with its zone', 60_000);
    zoneId = String(statusOf(domain).outputs?.['hostedZoneId']);
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('delivers an exposed app at https://hello.<domain>: Gateway, routes, a Ready Certificate, and the CNAME with its owner TXT', async () => {
    await expose('hello');
    const ready = await untilExposure('hello', (obj) => statusOf(obj).phase === 'Ready', 'the exposure Ready');
    const outputs = statusOf(ready as Resource).outputs!;
    expect(outputs['url']).toBe(`https://hello.${DOMAIN}`);
    const app = await waitUntil(async () => {
      const obj = await workload('hello');
      return statusOf(obj).phase === 'Ready' ? obj : undefined;
    }, 'the app Ready');
    expect(readyOf(app)?.status).toBe('True');

    const gateway = JSON.parse(await stack.kubectl('get', 'gateway', 'public', '-n', 'tugboat-gateway', '-o', 'json')) as { status: { addresses: Array<{ value: string }>; conditions: Condition[] } };
    expect(gateway.status.conditions.find((c) => c.type === 'Programmed')?.status).toBe('True');
    expect(gateway.status.addresses[0]?.value).toBe(outputs['loadBalancer']);
    const routes = JSON.parse(await stack.kubectl('get', 'httproutes', '-n', 'shop-hello', '-o', 'json')) as { items: Array<{ metadata: { name: string } }> };
    expect(routes.items.map((r) => r.metadata.name).sort()).toEqual(['tugboat-hello', 'tugboat-hello-redirect']);
    const certificates = JSON.parse(await stack.kubectl('get', 'certificates', '-n', 'tugboat-gateway', '-o', 'json')) as { items: Array<{ spec: { dnsNames: string[] }; status: { conditions: Condition[] } }> };
    const certificate = certificates.items.find((c) => c.spec.dnsNames.includes(`hello.${DOMAIN}`));
    expect(certificate?.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');

    const sets = await recordsOf('hello');
    expect(sets.map((set) => `${set.Type} ${set.Name} ${set.ResourceRecords?.[0]?.Value}`).sort()).toEqual([
      `CNAME hello.${DOMAIN}. ${outputs['loadBalancer']}`,
      `TXT _tugboat.hello.${DOMAIN}. "heritage=tugboat,tugboat/installation=tugboat,tugboat/exposure=shop/hello"`,
    ]);
  }, 150_000);

  it('moves the record when the load balancer gets another hostname', async () => {
    const before = statusOf(await exposure('hello')).outputs?.['loadBalancer'];
    await stack.kubectl('delete', 'service', '-n', 'envoy-gateway-system', '-l', 'gateway.envoyproxy.io/owning-gateway-name=public');
    const moved = await untilExposure('hello', (obj) => statusOf(obj).phase === 'Ready' && statusOf(obj).outputs?.['loadBalancer'] !== before, 'the record moved');
    const cname = (await recordsOf('hello')).find((set) => set.Type === 'CNAME');
    expect(cname?.ResourceRecords?.[0]?.Value).toBe(statusOf(moved as Resource).outputs?.['loadBalancer']);
    expect(cname?.ResourceRecords?.[0]?.Value).not.toBe(before);
  }, 120_000);

  it('leaves a record it does not own untouched: the exposure is Degraded naming it', async () => {
    const batch = JSON.stringify({ Changes: [{ Action: 'CREATE', ResourceRecordSet: { Name: `taken.${DOMAIN}`, Type: 'CNAME', TTL: 300, ResourceRecords: [{ Value: 'legacy.example.net' }] } }] });
    await stack.aws('route53', 'change-resource-record-sets', '--hosted-zone-id', zoneId, '--change-batch', batch);
    await expose('taken');
    const degraded = await untilExposure('taken', (obj) => statusOf(obj).phase === 'Degraded', 'the exposure Degraded');
    expect(readyOf(degraded as Resource)).toMatchObject({ reason: 'RecordNotOwned', message: expect.stringContaining(`CNAME taken.${DOMAIN} (legacy.example.net)`) });
    await stack.admin.delete({ kind: 'WorkloadInstance', project: 'shop', name: 'taken' });
    await waitUntil(async () => (await workload('taken')) === undefined, 'the instance gone', 60_000);
    expect((await recordsOf('taken')).map((set) => `${set.Type} ${set.ResourceRecords?.[0]?.Value}`)).toEqual(['CNAME legacy.example.net']);
  }, 120_000);

  it('removes the route, the certificate and the records when the exposure is removed', async () => {
    await stack.admin.apply([{ kind: 'WorkloadInstance', metadata: { name: 'hello', project: 'shop' }, spec: { definitionRef: { name: 'hello' } } }]);
    await waitUntil(async () => (await exposure('hello')) === undefined, 'the exposure gone', 60_000);
    expect(await recordsOf('hello')).toEqual([]);
    expect(JSON.parse(await stack.kubectl('get', 'httproutes', '-n', 'shop-hello', '-o', 'json')).items).toEqual([]);
    const certificates = JSON.parse(await stack.kubectl('get', 'certificates', '-n', 'tugboat-gateway', '-o', 'json')) as { items: Array<{ spec: { dnsNames: string[] } }> };
    expect(certificates.items.filter((c) => c.spec.dnsNames.includes(`hello.${DOMAIN}`))).toEqual([]);
    // The app itself stays.
    expect(statusOf(await workload('hello')).phase).toBe('Ready');
  }, 120_000);

  it('delivers Helm-chart workloads from an HTTP repository and an OCI registry, and rolls out a values override', async () => {
    await stack.admin.apply([
      { kind: 'WorkloadInstance', metadata: { name: 'podinfo', project: 'shop' }, spec: { definitionRef: { name: 'podinfo' }, overrides: { values: { ui: { message: 'hello from values' } } } } },
      { kind: 'WorkloadInstance', metadata: { name: 'podinfo-oci', project: 'shop' }, spec: { definitionRef: { name: 'podinfo-oci' } } },
    ]);
    const readyApp = (name: string) =>
      waitUntil(async () => {
        const obj = await workload(name);
        return statusOf(obj).phase === 'Ready' ? obj : undefined;
      }, `${name} Ready`, 90_000);
    await Promise.all([readyApp('podinfo'), readyApp('podinfo-oci')]);
    const message = async () => {
      const deployment = JSON.parse(await stack.kubectl('get', 'deployment', 'podinfo', '-n', 'shop-podinfo', '-o', 'json')) as { spec: { template: { spec: { containers: Array<{ env?: Array<{ name: string; value: string }> }> } } } };
      return deployment.spec.template.spec.containers[0]?.env?.find((e) => e.name === 'PODINFO_UI_MESSAGE')?.value;
    };
    expect(await message()).toBe('hello from values');
    const oci = JSON.parse(await stack.kubectl('get', 'deployment', 'podinfo-oci', '-n', 'shop-podinfo-oci', '-o', 'json')) as { spec: { replicas: number } };
    expect(oci.spec.replicas).toBe(2);

    await stack.admin.apply([{ kind: 'WorkloadInstance', metadata: { name: 'podinfo', project: 'shop' }, spec: { definitionRef: { name: 'podinfo' }, overrides: { values: { ui: { message: 'rolled out' } } } } }]);
    await waitUntil(async () => (await message()) === 'rolled out', 'the override rolled out', 60_000);
    await readyApp('podinfo');
  }, 180_000);

  it('serves the cluster\'s Grafana at http://<load balancer>/grafana/ through the gateway when its ObservabilityInstance names one', async () => {
    await stack.admin.apply([
      { kind: 'ObservabilityDefinition', metadata: { name: 'metrics-only' }, spec: { metrics: { alertmanager: { enabled: false } }, logs: { enabled: false } } },
      { kind: 'ObservabilityInstance', metadata: { name: 'local' }, spec: { definitionRef: { name: 'metrics-only' }, clusterRef: { name: 'local' }, grafana: { gatewayRef: { name: 'public' } } } },
    ]);
    const gateway = JSON.parse(await stack.kubectl('get', 'gateway', 'public', '-n', 'tugboat-gateway', '-o', 'json')) as { status: { addresses: Array<{ value: string }> } };
    const loadBalancer = gateway.status.addresses[0]?.value;
    expect(loadBalancer).toEqual(expect.any(String));
    const ready = await waitUntil(async () => {
      const obj = await stack.admin.get({ kind: 'ObservabilityInstance', name: 'local' });
      return statusOf(obj).phase === 'Ready' ? obj : undefined;
    }, 'the metrics stack Ready', 120_000);
    expect(statusOf(ready).outputs?.['grafanaUrl']).toBe(`http://${loadBalancer}/grafana/`);
    expect(statusOf(ready).conditions?.find((c) => c.type === 'GrafanaExposed')).toMatchObject({ status: 'True', message: `Grafana at http://${loadBalancer}/grafana/` });
    const route = JSON.parse(await stack.kubectl('get', 'httproute', 'tugboat-grafana', '-n', 'tugboat-observability', '-o', 'json')) as {
      spec: { parentRefs: Array<{ name: string; sectionName: string }>; rules: Array<{ backendRefs: Array<{ name: string; port: number }> }> };
      status: { parents: Array<{ conditions: Condition[] }> };
    };
    expect(route.spec.parentRefs).toMatchObject([{ name: 'public', sectionName: 'http' }]);
    expect(route.spec.rules[0]?.backendRefs).toEqual([{ name: 'kube-prometheus-stack-grafana', port: 80 }]);
    expect(route.status.parents[0]?.conditions.find((c) => c.type === 'Accepted')?.status).toBe('True');
    await stack.admin.delete({ kind: 'ObservabilityInstance', name: 'local' });
    await waitUntil(async () => (await stack.admin.get({ kind: 'ObservabilityInstance', name: 'local' })) === undefined, 'the metrics stack gone', 90_000);
  }, 240_000);

  it('killed right after the Route 53 change (before its status write), and at random moments: no duplicate or orphaned record', async () => {
    support.process.kill('SIGKILL');
    await support.exited;
    const before = await recordSetsLive();
    const dying = await startSupport({ TUGBOAT_TEST_HOOKS: '1', TUGBOAT_KILL_POINT: 'dns.after-change' }, { expectDeath: true });
    await expose('crash');
    const exit = await Promise.race([dying.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 90_000).unref())]);
    expect(exit?.signal).toBe('SIGKILL');
    // The change went through; the status never said so.
    expect(statusOf(await exposure('crash')).outputs?.['loadBalancer']).toBeUndefined();
    support = await startSupport();
    await untilExposure('crash', (obj) => statusOf(obj).phase === 'Ready', 'the exposure Ready after the kill');
    expect((await recordsOf('crash')).map((set) => set.Type).sort()).toEqual(['CNAME', 'TXT']);
    // Exactly two more record sets (owner TXT and CNAME): the restarted controller found them its own.
    expect((await recordSetsLive()) - before).toBe(2);

    // A bounded random run: three kills at random moments while exposures come and go.
    const seed = Date.now();
    let state = seed;
    const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 3; round += 1) {
      await expose(`random-${round}`);
      if (round > 0) await stack.admin.delete({ kind: 'WorkloadInstance', project: 'shop', name: `random-${round - 1}` });
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 1500)));
      support.process.kill('SIGKILL');
      await support.exited;
      support = await startSupport();
    }
    await untilExposure('random-2', (obj) => statusOf(obj).phase === 'Ready', `random-2 Ready (seed ${seed})`);
    await waitUntil(async () => (await workload('random-1')) === undefined, `random-1 gone (seed ${seed})`, 60_000);
    await waitUntil(async () => (await workload('random-0')) === undefined, `random-0 gone (seed ${seed})`, 60_000);
    const sets = await records();
    const named = (host: string) => sets.filter((set) => set.Name === `${host}.${DOMAIN}.` || set.Name === `_tugboat.${host}.${DOMAIN}.`).map((set) => set.Type).sort();
    expect({ seed, r0: named('random-0'), r1: named('random-1'), r2: named('random-2') }).toEqual({ seed, r0: [], r1: [], r2: ['CNAME', 'TXT'] });
    // Every record in the zone is the apex's, one Tugboat owns and can name, or the one it was told to leave alone.
    const owned = new Set(sets.filter((set) => set.Type === 'TXT' && set.Name.startsWith('_tugboat.')).map((set) => set.Name.replace(/^_tugboat\./, '')));
    const orphans = sets.filter((set) => set.Type === 'CNAME' && !owned.has(set.Name) && set.Name !== `taken.${DOMAIN}.`);
    expect(orphans).toEqual([]);
  }, 240_000);
});
