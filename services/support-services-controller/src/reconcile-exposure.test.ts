/**
 * The support-services-controller's DomainDefinition and Exposure reconcilers against the SDK's
 * fake API and a whole in-process sandbox (Route 53 on its REST-XML protocol, a simulated cluster
 * whose Envoy Gateway and cert-manager act on what is applied): a domain's zone created once; an
 * exposure to Ready with its url, Gateway, routes, Certificate and owned records; a moved load
 * balancer moves the record; a record Tugboat does not own is left alone (Degraded); a kill right
 * after the Route 53 change duplicates nothing; deletion removes what it made. The components'
 * charts are stood in for by their objects (the Helm path has its own tests).
 */
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand, ListHostedZonesCommand, ListResourceRecordSetsCommand, Route53Client, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import { createFakeApi, reconcileOnce, type FakeApi } from '@tugboat/controller-sdk/testing';
import { createClusterConnections, type ClusterConnection, type KubernetesObject } from '@tugboat/kube';
import {
  armedKillPoint,
  AWS_ACCOUNT,
  CLUSTER_DEFINITION,
  CLUSTER_INSTANCE,
  DOMAIN_DEFINITION,
  EXPOSURE,
  GATEWAY_DEFINITION,
  SUPPORT_SERVICES_CONTROLLER,
  type KillPoint,
  type Resource,
  type ResourceStatus,
} from '@tugboat/resource-model';
import { createSandboxServer, DEFAULT_ACCOUNT_ID, type SandboxServer } from '@tugboat/sandbox';
import { certManagerCrds, certManagerDeployments, envoyGatewayDeployment, gatewayApiCrds } from '@tugboat/sandbox/testing';
import type { KubeManifest } from '@tugboat/workloads';
import pino from 'pino';
import type { ChartRenderer } from './components.js';
import { ownerRecordName } from './dns-records.js';
import { certificateName } from './gateway-objects.js';
import { createSupportServicesControllers } from './support-services-controller.js';
import { supportServicesSettings } from './support-services-settings.js';

const KEY = { accessKeyId: 'AKIASUPPORTSERVICES01', secretAccessKey: 'support-services-secret' };
const DOMAIN = 'apps.example.com';

/** The charts' objects, as `helm template` renders the stand-in charts (CRDs and Deployments is what the simulations act on). */
const charts: ChartRenderer = {
  async render(input) {
    const objects = (input.source.chart === 'gateway-helm' ? [...gatewayApiCrds(), envoyGatewayDeployment(input.namespace)] : [...certManagerCrds(), ...certManagerDeployments(input.namespace)]) as unknown as KubeManifest[];
    return { objects, digest: 'sha256:test' };
  },
};

let sandbox: SandboxServer;
let url: string;
let route53: Route53Client;
let cluster: ClusterConnection;
let api: FakeApi;

beforeAll(async () => {
  // 1000x: Route 53's 5 s propagation is 5 ms, a load balancer's 15 s is 15 ms.
  sandbox = createSandboxServer({ port: 0, timeScale: 1000, credentials: [KEY], logger: pino({ level: 'silent' }) });
  ({ url } = await sandbox.start());
  route53 = new Route53Client({ endpoint: url, region: 'us-east-1', credentials: KEY, maxAttempts: 1 });
  const kubeconfig = sandbox.clusters.kubeconfig(url, ['local']);
  cluster = createClusterConnections().connect({ uid: 'observer', kubeconfig });
  api = createFakeApi({
    kinds: [AWS_ACCOUNT, CLUSTER_DEFINITION, CLUSTER_INSTANCE, DOMAIN_DEFINITION, GATEWAY_DEFINITION, EXPOSURE],
    identity: { name: SUPPORT_SERVICES_CONTROLLER, type: 'controller', controller: SUPPORT_SERVICES_CONTROLLER },
  });
  await api.create({ kind: 'AwsAccount', metadata: { name: 'dns' }, spec: { accountId: DEFAULT_ACCOUNT_ID, region: 'us-east-1', endpoint: url, accessKeyId: KEY.accessKeyId, secretAccessKey: KEY.secretAccessKey } });
  api.setStatus({ kind: 'AwsAccount', name: 'dns' }, { phase: 'Ready', conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'ok' }] });
  await api.create({ kind: 'ClusterDefinition', metadata: { name: 'local' }, spec: { provider: 'kubeconfig' } });
  await api.create({ kind: 'ClusterInstance', metadata: { name: 'local' }, spec: { definitionRef: { name: 'local' }, kubeconfig } });
  api.setStatus({ kind: 'ClusterInstance', name: 'local' }, { phase: 'Ready', conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'ok' }] });
  await api.create({ kind: 'GatewayDefinition', metadata: { name: 'public' }, spec: {} });
  await api.create({ kind: 'DomainDefinition', metadata: { name: 'example' }, spec: { domain: DOMAIN, accountRef: { name: 'dns' }, acme: { email: 'ops@example.com', stagingServer: 'https://acme-staging.example.org/directory' } } });
  // The workload the exposures lead to: a Service in its namespace (the workload-controller's part).
  await cluster.ensureNamespace('shop-web', { fieldManager: 'test' });
  await cluster.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop-web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 8080 }] } } as KubernetesObject, { fieldManager: 'test' });
});

afterAll(async () => {
  route53?.destroy();
  await sandbox?.close();
});

const settings = { ...supportServicesSettings({}), progressMs: 1, waitMs: 1, readyRecheckMs: 1, dnsPollMs: 2, dnsWaitMs: 2_000, retryMs: 1 };
const controllers = (killPoint?: KillPoint) => createSupportServicesControllers({ ...settings, connections: createClusterConnections(), charts, ...(killPoint ? { killPoint } : {}) });
const shared = controllers();

type Obj = Resource<Record<string, unknown>, ResourceStatus>;

async function once(kind: 'DomainDefinition' | 'Exposure', key: { project?: string; name: string }, set = shared) {
  const obj = api.object({ kind, project: key.project ?? '', name: key.name });
  if (obj === undefined) return { outcome: 'gone', object: undefined };
  const { report, object } = kind === 'DomainDefinition' ? await reconcileOnce(set[0], obj as never, { api }) : await reconcileOnce(set[1], obj as never, { api });
  return { outcome: report.outcome, object: object as Obj | undefined };
}

/** Reconciles until `until` holds (up to `passes`), with a short pause between passes for the simulations to act. */
async function converge(kind: 'DomainDefinition' | 'Exposure', key: { project?: string; name: string }, until: (o: Obj | undefined) => boolean, passes = 200): Promise<Obj | undefined> {
  let last: Obj | undefined;
  for (let i = 0; i < passes; i += 1) {
    last = (await once(kind, key)).object;
    if (until(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${kind} ${key.name} did not converge; last status ${JSON.stringify(last?.status)}`);
}

const isReady = (o: Obj | undefined) => o?.status.phase === 'Ready';
const condition = (o: Obj | undefined, type: string) => o?.status.conditions?.find((c) => c.type === type);

async function zoneId(): Promise<string> {
  const domain = api.object({ kind: 'DomainDefinition', name: 'example' });
  return String(domain?.status.outputs?.['hostedZoneId']);
}

async function recordsAt(name: string): Promise<ResourceRecordSet[]> {
  const answer = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: await zoneId(), StartRecordName: name, MaxItems: 20 }));
  return (answer.ResourceRecordSets ?? []).filter((set) => set.Name === `${name}.`);
}

async function expose(name: string, spec: Record<string, unknown> = {}) {
  await api.create({
    kind: 'Exposure',
    metadata: { name, project: 'shop', labels: { 'tugboat.dev/cluster': 'local', 'tugboat.dev/gateway': 'public' } },
    spec: { workload: name, clusterRef: { name: 'local' }, namespace: 'shop-web', domainRef: { name: 'example' }, gatewayRef: { name: 'public' }, host: name, service: 'web', port: 8080, ...spec },
  });
}

async function remove(name: string): Promise<void> {
  await api.delete({ kind: 'Exposure', project: 'shop', name });
  await converge('Exposure', { project: 'shop', name }, (o) => o === undefined);
}

describe('support-services-controller', () => {
  it('creates the domain zone once, then exposes a workload at https://<host>.<domain> with its Gateway, routes, Certificate and owned records', async () => {
    const domain = await converge('DomainDefinition', { name: 'example' }, isReady);
    expect(domain?.status.outputs).toMatchObject({ hostedZoneId: expect.stringMatching(/^Z0/), created: true, nameServers: expect.arrayContaining([expect.any(String)]) });
    // Again: the same zone, not a second one.
    await once('DomainDefinition', { name: 'example' });
    const zones = (await route53.send(new ListHostedZonesCommand({}))).HostedZones ?? [];
    expect(zones.filter((zone) => zone.Name === `${DOMAIN}.`)).toHaveLength(1);

    await expose('web');
    const ready = await converge('Exposure', { project: 'shop', name: 'web' }, isReady);
    expect(ready?.status.outputs).toMatchObject({ url: `https://web.${DOMAIN}`, host: `web.${DOMAIN}`, loadBalancer: expect.stringContaining('elb'), gateway: 'tugboat-gateway/public' });
    expect(ready?.status.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual(
      expect.arrayContaining(['DependenciesReady=True', 'ClusterReady=True', 'ComponentsReady=True', 'GatewayReady=True', 'RouteAccepted=True', 'RouteResolved=True', 'CertificateReady=True', 'DnsReady=True', 'Ready=True']),
    );
    const gateway = await cluster.read<KubernetesObject & { spec?: { listeners?: Array<{ name: string; hostname?: string }> } }>({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'public', namespace: 'tugboat-gateway' } });
    expect(gateway?.spec?.listeners?.map((l) => l.hostname ?? l.name)).toEqual(['http', `web.${DOMAIN}`]);
    const routes = await cluster.list('gateway.networking.k8s.io/v1', 'HTTPRoute', { namespace: 'shop-web' });
    expect(routes.map((r) => r.metadata?.name).sort()).toEqual(['tugboat-web', 'tugboat-web-redirect']);
    const cname = (await recordsAt(`web.${DOMAIN}`)).find((set) => set.Type === 'CNAME');
    expect(cname?.ResourceRecords?.[0]?.Value).toBe(ready?.status.outputs?.['loadBalancer']);
    const owner = await recordsAt(ownerRecordName(`web.${DOMAIN}`).replace(/\.$/, ''));
    expect(owner[0]?.ResourceRecords?.[0]?.Value).toBe('"heritage=tugboat,tugboat/installation=tugboat,tugboat/exposure=shop/web"');
    // The challenge record is gone once the certificate is issued.
    expect(await recordsAt(`_acme-challenge.web.${DOMAIN}`)).toEqual([]);
  });

  it('moves the record when the load balancer changes hostname', async () => {
    const before = api.object({ kind: 'Exposure', project: 'shop', name: 'web' })?.status.outputs?.['loadBalancer'];
    const services = await cluster.list('v1', 'Service', { namespace: 'envoy-gateway-system', labelSelector: 'gateway.envoyproxy.io/owning-gateway-name=public' });
    expect(services).toHaveLength(1);
    await cluster.delete(services[0]!);
    const moved = await converge('Exposure', { project: 'shop', name: 'web' }, (o) => isReady(o) && o?.status.outputs?.['loadBalancer'] !== before);
    const cname = (await recordsAt(`web.${DOMAIN}`)).find((set) => set.Type === 'CNAME');
    expect(cname?.ResourceRecords?.[0]?.Value).toBe(moved?.status.outputs?.['loadBalancer']);
  });

  it('leaves a record it does not own untouched and says so (Degraded, naming it)', async () => {
    await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: await zoneId(),
        ChangeBatch: { Changes: [{ Action: 'CREATE', ResourceRecordSet: { Name: `taken.${DOMAIN}`, Type: 'CNAME', TTL: 300, ResourceRecords: [{ Value: 'someone-else.example.net' }] } }] },
      }),
    );
    await expose('taken');
    const degraded = await converge('Exposure', { project: 'shop', name: 'taken' }, (o) => o?.status.phase === 'Degraded');
    expect(condition(degraded, 'Ready')).toMatchObject({ reason: 'RecordNotOwned', message: expect.stringContaining(`CNAME taken.${DOMAIN} (someone-else.example.net)`) });
    await remove('taken');
    const left = await recordsAt(`taken.${DOMAIN}`);
    expect(left.map((set) => `${set.Type} ${set.ResourceRecords?.[0]?.Value}`)).toEqual(['CNAME someone-else.example.net']);
  });

  it('killed right after the Route 53 change, finishes on the next pass without a second record', async () => {
    await expose('crash');
    const kills: string[] = [];
    const killing = controllers(armedKillPoint({ point: 'dns.after-change', kill: () => kills.push('dns.after-change') }));
    for (let i = 0; i < 200 && kills.length === 0; i += 1) {
      await once('Exposure', { project: 'shop', name: 'crash' }, killing);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(kills).toEqual(['dns.after-change']);
    const changesBefore = sandbox.counters.snapshot().created['route53:record-change'] ?? 0;
    await converge('Exposure', { project: 'shop', name: 'crash' }, isReady);
    expect(sandbox.counters.snapshot().created['route53:record-change'] ?? 0).toBe(changesBefore);
    expect((await recordsAt(`crash.${DOMAIN}`)).map((set) => set.Type)).toEqual(['CNAME']);
  });

  // The old host's records and certificate were left behind, and its owned records kept the host from anyone else.
  it('removes the old host\'s records and certificate when the host changes, and lets another exposure take it', async () => {
    await expose('mover', { host: 'old-host' });
    await converge('Exposure', { project: 'shop', name: 'mover' }, isReady);
    const certificates = async () => (await cluster.list('cert-manager.io/v1', 'Certificate', { namespace: 'tugboat-gateway' })).map((c) => c.metadata?.name);
    const oldCertificate = certificateName(`old-host.${DOMAIN}`);
    expect(await certificates()).toContain(oldCertificate);

    await api.patch({ kind: 'Exposure', project: 'shop', name: 'mover' }, { spec: { host: 'new-host' } });
    const moved = await converge('Exposure', { project: 'shop', name: 'mover' }, (o) => isReady(o) && o?.status.outputs?.['host'] === `new-host.${DOMAIN}`);
    expect(moved?.status.outputs).toMatchObject({ domain: 'example', url: `https://new-host.${DOMAIN}` });
    expect(await recordsAt(`old-host.${DOMAIN}`)).toEqual([]);
    expect(await recordsAt(`_tugboat.old-host.${DOMAIN}`)).toEqual([]);
    expect((await recordsAt(`new-host.${DOMAIN}`)).map((set) => set.Type)).toEqual(['CNAME']);
    expect(await certificates()).not.toContain(oldCertificate);
    expect(api.eventsOf({ kind: 'Exposure', project: 'shop', name: 'mover' }).map((e) => e.reason)).toContain('HostChanged');

    // The freed host is another exposure's to take.
    await expose('taker', { host: 'old-host' });
    await converge('Exposure', { project: 'shop', name: 'taker' }, isReady);
    await remove('taker');
    await remove('mover');

    // Taken by another before the old owner retired it: its records go, the certificate (named after
    // the host, now the other's) stays.
    await expose('racer', { host: 'race-a' });
    await converge('Exposure', { project: 'shop', name: 'racer' }, isReady);
    await api.patch({ kind: 'Exposure', project: 'shop', name: 'racer' }, { spec: { host: 'race-b' } });
    await expose('claimer', { host: 'race-a' });
    await converge('Exposure', { project: 'shop', name: 'claimer' }, (o) => condition(o, 'Ready')?.reason === 'RecordNotOwned');
    await converge('Exposure', { project: 'shop', name: 'racer' }, (o) => isReady(o) && o?.status.outputs?.['host'] === `race-b.${DOMAIN}`);
    expect(await certificates()).toContain(certificateName(`race-a.${DOMAIN}`));
    await converge('Exposure', { project: 'shop', name: 'claimer' }, isReady);
    await remove('claimer');
    await remove('racer');
  });

  it('without TLS routes plain http; deletion removes routes, certificate, listener and records', async () => {
    await expose('plain', { tls: { enabled: false } });
    const ready = await converge('Exposure', { project: 'shop', name: 'plain' }, isReady);
    expect(ready?.status.outputs?.['url']).toBe(`http://plain.${DOMAIN}`);
    expect(condition(ready, 'CertificateReady')).toBeUndefined();

    await remove('web');
    await remove('crash');
    await remove('plain');
    for (const host of ['web', 'crash', 'plain']) {
      expect(await recordsAt(`${host}.${DOMAIN}`)).toEqual([]);
      expect(await recordsAt(`_tugboat.${host}.${DOMAIN}`)).toEqual([]);
    }
    expect(await cluster.list('gateway.networking.k8s.io/v1', 'HTTPRoute', { namespace: 'shop-web' })).toEqual([]);
    expect(await cluster.list('cert-manager.io/v1', 'Certificate', { namespace: 'tugboat-gateway' })).toEqual([]);
    const gateway = await cluster.read<KubernetesObject & { spec?: { listeners?: Array<{ name: string }> } }>({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'public', namespace: 'tugboat-gateway' } });
    expect(gateway?.spec?.listeners?.map((l) => l.name)).toEqual(['http']);
  });
  it('says what cert-manager and Route 53 say when the domain\'s key is refused (Certificate not Ready with cert-manager\'s message)', async () => {
    // A key AWS refuses, behind an account and a domain that were Ready before it was revoked.
    const zone = await route53.send(new CreateHostedZoneCommand({ Name: 'revoked.example.com', CallerReference: 'revoked-test' }));
    await api.create({ kind: 'AwsAccount', metadata: { name: 'revoked' }, spec: { accountId: DEFAULT_ACCOUNT_ID, region: 'us-east-1', endpoint: url, accessKeyId: 'AKIAREVOKEDKEY000001', secretAccessKey: 'revoked' } });
    api.setStatus({ kind: 'AwsAccount', name: 'revoked' }, { phase: 'Ready', conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'ok' }] });
    await api.create({ kind: 'DomainDefinition', metadata: { name: 'revoked' }, spec: { domain: 'revoked.example.com', accountRef: { name: 'revoked' }, acme: { email: 'ops@example.com' } } });
    api.setStatus({ kind: 'DomainDefinition', name: 'revoked' }, { phase: 'Ready', outputs: { hostedZoneId: zone.HostedZone!.Id!.replace('/hostedzone/', ''), nameServers: [], created: false } });
    await expose('nokey', { domainRef: { name: 'revoked' } });
    const stuck = await converge('Exposure', { project: 'shop', name: 'nokey' }, (o) => condition(o, 'CertificateReady')?.reason === 'Failed' && condition(o, 'DnsReady') !== undefined);
    expect(condition(stuck, 'CertificateReady')?.message).toContain('InvalidClientTokenId');
    expect(condition(stuck, 'DnsReady')).toMatchObject({ status: 'False', reason: 'InvalidCredentials', message: expect.stringContaining('InvalidClientTokenId') });
    expect(stuck?.status.phase).toBe('Degraded');
    // Its deletion waits (records might exist that only this key may remove) and says why.
    await api.delete({ kind: 'Exposure', project: 'shop', name: 'nokey' });
    const deleting = await converge('Exposure', { project: 'shop', name: 'nokey' }, (o) => condition(o, 'Ready')?.reason === 'DnsRemovalFailed');
    expect(condition(deleting, 'Ready')?.message).toContain('InvalidClientTokenId');
    api.removeObject({ kind: 'Exposure', project: 'shop', name: 'nokey' });
  });
  it('adopts an existing zone by id (refusing one for another name), and issues from the staging directory when the exposure asks', async () => {
    const zone = await route53.send(new CreateHostedZoneCommand({ Name: 'adopted.example.com', CallerReference: 'adopted-test' }));
    const id = zone.HostedZone!.Id!.replace('/hostedzone/', '');
    await api.create({ kind: 'DomainDefinition', metadata: { name: 'adopted' }, spec: { domain: 'adopted.example.com', accountRef: { name: 'dns' }, hostedZone: { id }, acme: { email: 'ops@example.com', stagingServer: 'https://acme-staging.example.org/directory' } } });
    const adopted = await converge('DomainDefinition', { name: 'adopted' }, isReady);
    expect(adopted?.status.outputs).toMatchObject({ hostedZoneId: id, created: false });
    await api.create({ kind: 'DomainDefinition', metadata: { name: 'mismatch' }, spec: { domain: 'other.example.com', accountRef: { name: 'dns' }, hostedZone: { id }, acme: { email: 'ops@example.com' } } });
    const refused = await converge('DomainDefinition', { name: 'mismatch' }, (o) => o?.status.phase === 'Failed');
    expect(condition(refused, 'Ready')).toMatchObject({ reason: 'ZoneMismatch', message: expect.stringContaining(`hosted zone ${id} is for adopted.example.com, not other.example.com`) });

    await expose('staged', { domainRef: { name: 'adopted' }, tls: { acme: 'staging' } });
    const ready = await converge('Exposure', { project: 'shop', name: 'staged' }, isReady);
    expect(ready?.status.outputs?.['url']).toBe('https://staged.adopted.example.com');
    const issuer = await cluster.read<KubernetesObject & { spec?: { acme?: { server?: string } } }>({ apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'tugboat-adopted-staging' } });
    expect(issuer?.spec?.acme?.server).toBe('https://acme-staging.example.org/directory');
    await remove('staged');
  });
});
