/**
 * An Exposure, delivered: on its workload's cluster, the gateway's components (installed on first
 * use), its GatewayClass and Gateway (an https listener per exposed host), the exposure's
 * HTTPRoutes, and with TLS the domain's ACME ClusterIssuer and the host's Certificate; in the
 * domain's Route 53 zone, a CNAME from the host to the Gateway's load balancer with Tugboat's owner
 * TXT. Status: one condition per part, the first that is not ready named in `Ready`, and outputs
 * with the url. Deleting it removes the routes, the certificate and the records it owns.
 */
import { awsFailure, createAccountCredentials, createClusterAccess, createEksAccess, KilledAtPoint, type AccountCredentials, type ClusterResource, type EksAccess } from '@tugboat/aws';
import type { ApiClient } from '@tugboat/api-client';
import { abortableSleep, type ReconcileContext, type ReconcileResult } from '@tugboat/controller-sdk';
import { isKubeClusterError, KubeClusterError, type ClusterConnection, type ClusterConnections, type KubernetesObject } from '@tugboat/kube';
import { keyOf, noKillPoint, type Condition, type KillPoint, type ResourceStatus } from '@tugboat/resource-model';
import { createComponentInstaller, type ChartRenderer, type ComponentInstaller } from './components.js';
import { createZoneBatcher, planHost, planRemoval, readHostRecords, waitInSync, type RecordOwner, type ZoneBatcher } from './dns-records.js';
import {
  certificate,
  certificateName,
  clusterIssuer,
  exposureRoutes,
  gateway,
  gatewayClass,
  GATEWAY_NAMESPACE,
  httpsListenerName,
  issuerName,
  redirectRouteName,
  route53Secret,
  routeName,
  SUPPORT_FIELD_MANAGER,
  type GatewayHost,
} from './gateway-objects.js';
import { accountOf, openRoute53, ROUTE53_REGION, type Account } from './route53-access.js';
import { EXPOSURE_LABELS, fqdnOf, tlsEnabled, type Domain, type DomainDefinitionSpec, type DomainOutputs, type Exposure, type ExposureSpec, type GatewayDefinitionSpec } from './support-types.js';

type Ctx = ReconcileContext<ResourceStatus>;

export interface ExposureReconcilerOptions {
  connections: ClusterConnections;
  charts: ChartRenderer;
  eksAccess?: EksAccess;
  credentials?: AccountCredentials;
  components?: ComponentInstaller;
  batcher?: ZoneBatcher;
  /** Names this Tugboat in the records it owns (two installations sharing a zone keep apart). Default `tugboat`. */
  installation?: string;
  requestTimeoutMs?: number;
  /** How soon an exposure still coming up is looked at again. Default 3 s. */
  progressMs?: number;
  /** How soon one waiting for its domain, gateway definition or cluster is looked at (their changes wake it first). Default 30 s. */
  waitMs?: number;
  /** How often a Ready exposure checks its load balancer and records (a moved load balancer moves the record). Default 60 s. */
  readyRecheckMs?: number;
  /** GetChange polling while a record change propagates. Default 2 s. */
  dnsPollMs?: number;
  /** How long a reconcile waits for INSYNC before it requeues instead. Default 20 s. */
  dnsWaitMs?: number;
  killPoint?: KillPoint;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const GATEWAY_API = 'gateway.networking.k8s.io/v1';
const CERT_MANAGER_API = 'cert-manager.io/v1';

interface KubeCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

const conditionOf = (conditions: KubeCondition[] | undefined, type: string) => conditions?.find((condition) => condition.type === type);
const ready = (type: string, reason: string, message: string): Condition => ({ type, status: 'True', reason, message });
const notReady = (type: string, reason: string, message: string): Condition => ({ type, status: 'False', reason, message });

export function createExposureReconciler(options: ExposureReconcilerOptions) {
  const eksAccess = options.eksAccess ?? createEksAccess();
  const credentials = options.credentials ?? createAccountCredentials({ requestTimeoutMs: options.requestTimeoutMs ?? 15_000 });
  const clusterAccess = createClusterAccess({ connections: options.connections, eksAccess });
  const components = options.components ?? createComponentInstaller({ charts: options.charts });
  const batcher = options.batcher ?? createZoneBatcher();
  const installation = options.installation ?? 'tugboat';
  const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
  const progressMs = options.progressMs ?? 3_000;
  const waitMs = options.waitMs ?? 30_000;
  const readyRecheckMs = options.readyRecheckMs ?? 60_000;
  const dnsPollMs = options.dnsPollMs ?? 2_000;
  const dnsWaitMs = options.dnsWaitMs ?? 20_000;
  const killPoint = options.killPoint ?? noKillPoint;
  const sleep = options.sleep ?? abortableSleep;
  const pass = (point: string) => {
    if (killPoint.pass(point, 1) === 0) throw new KilledAtPoint(`killed at ${point}`);
  };
  const ownerOf = (exposure: Exposure): RecordOwner => ({ installation, project: exposure.metadata.project, name: exposure.metadata.name });

  /** The https hosts of the gateway on this cluster: every live exposure through it with TLS. */
  async function gatewayHosts(api: Pick<ApiClient, 'listAll' | 'get'>, clusterName: string, gatewayName: string, domains: Map<string, Promise<Domain | undefined>>, signal: AbortSignal): Promise<GatewayHost[]> {
    const hosts: GatewayHost[] = [];
    for await (const other of api.listAll<ExposureSpec>('Exposure', { labelSelector: { [EXPOSURE_LABELS.cluster]: clusterName, [EXPOSURE_LABELS.gateway]: gatewayName }, signal })) {
      if (other.metadata.deletionRequestedAt !== null || !tlsEnabled(other.spec)) continue;
      const domainName = other.spec.domainRef.name;
      if (!domains.has(domainName)) domains.set(domainName, api.get<DomainDefinitionSpec>({ kind: 'DomainDefinition', name: domainName }, { signal }) as Promise<Domain | undefined>);
      const domain = await domains.get(domainName)!;
      if (domain !== undefined) hosts.push({ fqdn: fqdnOf(other.spec, domain.spec) });
    }
    return hosts;
  }

  /** Applies the Gateway with the listeners its live exposures need now (every reconcile of one of them converges it). */
  async function applyGateway(ctx: Ctx, connection: ClusterConnection, exposure: Exposure, domain: Domain): Promise<KubernetesObject> {
    const domains = new Map<string, Promise<Domain | undefined>>([[domain.metadata.name, Promise.resolve(domain)]]);
    const hosts = await gatewayHosts(ctx.api, exposure.spec.clusterRef.name, exposure.spec.gatewayRef.name, domains, ctx.signal);
    ctx.assertLeaseHeld();
    return connection.apply(gateway(exposure.spec.gatewayRef.name, hosts) as KubernetesObject, { fieldManager: SUPPORT_FIELD_MANAGER, signal: ctx.signal });
  }

  /** The domain's ACME issuer on the cluster, solving DNS-01 in its zone with its account's key (in cert-manager's namespace). */
  async function applyIssuer(ctx: Ctx, connection: ClusterConnection, domain: Domain, acme: 'production' | 'staging'): Promise<string | undefined> {
    const account = await accountOf(ctx.api, domain.spec.accountRef.name, ctx.signal);
    if (typeof account === 'string') return account;
    const outputs = domain.status.outputs as unknown as DomainOutputs;
    const signal = ctx.signal;
    if (account.spec.accessKeyId !== undefined) {
      const secret = (await ctx.api.readSecrets({ kind: 'AwsAccount', name: account.metadata.name }, { signal }))['secretAccessKey'];
      if (typeof secret !== 'string' || secret === '') return `AwsAccount ${account.metadata.name} has no secretAccessKey for cert-manager's DNS-01 solver`;
      ctx.assertLeaseHeld();
      await connection.apply(route53Secret(domain.metadata.name, secret) as KubernetesObject, { fieldManager: SUPPORT_FIELD_MANAGER, signal });
    }
    const issuer = clusterIssuer(domain.metadata.name, domain.spec, acme, {
      ...(account.spec.accessKeyId === undefined ? {} : { accessKeyId: account.spec.accessKeyId }),
      ...(account.spec.roleArn === undefined ? {} : { roleArn: account.spec.roleArn }),
      region: domain.spec.region ?? ROUTE53_REGION,
      hostedZoneId: outputs.hostedZoneId,
    });
    ctx.assertLeaseHeld();
    await connection.apply(issuer as KubernetesObject, { fieldManager: SUPPORT_FIELD_MANAGER, signal });
    return undefined;
  }

  /** The Gateway's load balancer and the state of this host's listener. */
  function gatewayCondition(live: KubernetesObject, listener: string, certificateIssued: boolean): { condition: Condition; loadBalancer?: string } {
    const status = (live as { status?: { addresses?: Array<{ value?: string }>; conditions?: KubeCondition[]; listeners?: Array<{ name?: string; conditions?: KubeCondition[] }> } }).status;
    const name = `Gateway ${GATEWAY_NAMESPACE}/${live.metadata?.name}`;
    const loadBalancer = status?.addresses?.find((address) => typeof address.value === 'string' && address.value !== '')?.value;
    const programmed = conditionOf(status?.conditions, 'Programmed');
    if (loadBalancer === undefined || programmed?.status !== 'True') {
      const accepted = conditionOf(status?.conditions, 'Accepted');
      const why = programmed?.message ?? accepted?.message ?? 'the gateway implementation has not reported on it yet';
      return { condition: notReady('GatewayReady', programmed?.reason ?? 'WaitingForLoadBalancer', `${name} has no load balancer yet: ${why}`) };
    }
    const ours = status?.listeners?.find((entry) => entry.name === listener);
    const refs = conditionOf(ours?.conditions, 'ResolvedRefs');
    // A listener whose certificate is still being issued waits for it: that is CertificateReady's to say.
    if (ours !== undefined && refs?.status === 'False' && certificateIssued) {
      return { condition: notReady('GatewayReady', refs.reason ?? 'ListenerNotReady', `${name} listener ${listener}: ${refs.message ?? refs.reason}`), loadBalancer };
    }
    return { condition: ready('GatewayReady', 'Programmed', `${name} is programmed with load balancer ${loadBalancer}`), loadBalancer };
  }

  /** The route's Accepted and ResolvedRefs, as the gateway implementation reports them for its parent Gateway. */
  function routeConditions(live: KubernetesObject | undefined, gatewayName: string): Condition[] {
    const name = `HTTPRoute ${live?.metadata?.namespace}/${live?.metadata?.name}`;
    const parents = (live as { status?: { parents?: Array<{ parentRef?: { name?: string }; conditions?: KubeCondition[] }> } } | undefined)?.status?.parents ?? [];
    const parent = parents.find((entry) => entry.parentRef?.name === gatewayName);
    const one = (type: string, label: string): Condition => {
      const found = conditionOf(parent?.conditions, type);
      if (found === undefined) return notReady(label, 'Pending', `${name} has no ${type} status from Gateway ${gatewayName} yet`);
      return found.status === 'True' ? ready(label, found.reason ?? type, `${name}: ${found.message ?? found.reason ?? type}`) : notReady(label, found.reason ?? type, `${name}: ${found.message ?? found.reason}`);
    };
    return [one('Accepted', 'RouteAccepted'), one('ResolvedRefs', 'RouteResolved')];
  }

  function certificateCondition(live: KubernetesObject | undefined): Condition {
    const name = `Certificate ${GATEWAY_NAMESPACE}/${live?.metadata?.name}`;
    const conditions = (live as { status?: { conditions?: KubeCondition[] } } | undefined)?.status?.conditions;
    const found = conditionOf(conditions, 'Ready');
    if (found === undefined) return notReady('CertificateReady', 'Issuing', `${name} is not issued yet (cert-manager has not reported on it)`);
    if (found.status === 'True') return ready('CertificateReady', found.reason ?? 'Ready', `${name}: ${found.message ?? 'issued'}`);
    // cert-manager says why an issuance failed on `Issuing` (Ready stays "does not exist"), and retries it itself.
    const issuing = conditionOf(conditions, 'Issuing');
    if (issuing?.status === 'False' && issuing.reason === 'Failed') return notReady('CertificateReady', 'Failed', `${name}: ${issuing.message ?? 'issuance failed'}`);
    if (issuing?.status === 'True' && issuing.message) return notReady('CertificateReady', issuing.reason ?? 'Issuing', `${name}: ${issuing.message}`);
    return notReady('CertificateReady', found.reason ?? 'NotReady', `${name}: ${found.message ?? found.reason}`);
  }

  /** The host's records (CNAME to the load balancer, owner TXT), changed only when Tugboat owns them, and waited for. */
  async function syncRecords(ctx: Ctx, exposure: Exposure, domain: Domain, fqdn: string, loadBalancer: string): Promise<{ condition: Condition; degraded?: boolean; changeId?: string }> {
    const account = await accountOf(ctx.api, domain.spec.accountRef.name, ctx.signal);
    if (typeof account === 'string') return { condition: notReady('DnsReady', 'AccountNotReady', account) };
    const zoneId = (domain.status.outputs as unknown as DomainOutputs).hostedZoneId;
    const route53 = await openRoute53(ctx.api, account, credentials, requestTimeoutMs, ctx.signal);
    try {
      const records = await readHostRecords(route53, zoneId, fqdn, ctx.signal);
      const plan = planHost(fqdn, loadBalancer, records, ownerOf(exposure));
      if (plan.kind === 'notOwned') return { condition: notReady('DnsReady', 'RecordNotOwned', `${plan.message} (zone ${zoneId})`), degraded: true };
      let changeId = typeof exposure.status['dnsChange'] === 'string' ? exposure.status['dnsChange'] : undefined;
      if (plan.kind === 'change') {
        ctx.assertLeaseHeld();
        changeId = await batcher.submit(account.metadata.uid, route53, zoneId, plan.changes);
        pass('dns.after-change');
        ctx.logger.info({ fqdn, zoneId, changeId }, plan.what);
        await ctx.events.record('Normal', 'RecordsChanged', `${plan.what} in zone ${zoneId} (change ${changeId})`).catch(() => undefined);
      }
      if (changeId !== undefined) {
        const synced = await waitInSync(route53, changeId, { pollMs: dnsPollMs, withinMs: dnsWaitMs, signal: ctx.signal, sleep });
        if (!synced) return { condition: notReady('DnsReady', 'ChangePending', `Route 53 change ${changeId} for ${fqdn} is still PENDING`), changeId };
      }
      return { condition: ready('DnsReady', 'InSync', `CNAME ${fqdn} → ${loadBalancer} in zone ${zoneId} is INSYNC`) };
    } finally {
      route53.destroy();
    }
  }

  async function reconcile(ctx: Ctx, exposure: Exposure): Promise<ReconcileResult> {
    const spec = exposure.spec;
    const signal = ctx.signal;
    const [domain, definition, cluster] = await Promise.all([
      ctx.api.get<DomainDefinitionSpec>({ kind: 'DomainDefinition', name: spec.domainRef.name }, { signal }),
      ctx.api.get<GatewayDefinitionSpec>({ kind: 'GatewayDefinition', name: spec.gatewayRef.name }, { signal }),
      ctx.api.get<Record<string, unknown>>({ kind: 'ClusterInstance', name: spec.clusterRef.name }, { signal }),
    ]);
    const waiting = (reason: string, message: string): ReconcileResult => {
      ctx.setStatus({ phase: 'Progressing', reason, message, conditions: [notReady(reason === 'WaitingForCluster' ? 'ClusterReady' : 'DependenciesReady', reason, message)] });
      return { requeueAfterMs: waitMs };
    };
    if (domain === undefined) return waiting('WaitingForDomain', `DomainDefinition ${spec.domainRef.name} does not exist`);
    const zoneId = (domain.status.outputs as Partial<DomainOutputs> | undefined)?.hostedZoneId;
    if (domain.status.phase !== 'Ready' || zoneId === undefined) {
      const why = domain.status.conditions?.find((condition) => condition.type === 'Ready')?.message;
      return waiting('WaitingForDomain', `DomainDefinition ${spec.domainRef.name} is ${domain.status.phase ?? 'Pending'}${why ? ` (${why})` : ''}`);
    }
    if (definition === undefined) return waiting('WaitingForGateway', `GatewayDefinition ${spec.gatewayRef.name} does not exist`);
    if (cluster === undefined || cluster.status.phase !== 'Ready') {
      const why = cluster?.status.conditions?.find((condition) => condition.type === 'Ready')?.message;
      return waiting('WaitingForCluster', cluster === undefined ? `ClusterInstance ${spec.clusterRef.name} does not exist` : `ClusterInstance ${spec.clusterRef.name} is ${cluster.status.phase ?? 'Pending'}${why ? ` (${why})` : ''}`);
    }
    const fqdn = fqdnOf(spec, domain.spec);
    const tls = tlsEnabled(spec);
    const acme = spec.tls?.acme ?? 'production';
    const url = `${tls ? 'https' : 'http'}://${fqdn}${spec.path && spec.path !== '/' ? spec.path : ''}`;
    const outputs: Record<string, unknown> = { url, host: fqdn, gateway: `${GATEWAY_NAMESPACE}/${spec.gatewayRef.name}`, zoneId, domain: spec.domainRef.name };
    // What it waited on is there: said, so an earlier wait's conditions do not linger.
    const conditions: Condition[] = [
      ready('DependenciesReady', 'Ready', `DomainDefinition ${spec.domainRef.name} (zone ${zoneId}) and GatewayDefinition ${spec.gatewayRef.name} are there`),
      ready('ClusterReady', 'ClusterReady', `ClusterInstance ${spec.clusterRef.name} is Ready`),
    ];

    let connection: ClusterConnection;
    try {
      connection = await clusterAccess.connect(ctx.api, cluster as unknown as ClusterResource, signal);
      const installed = await components.ensure(connection, cluster.metadata.uid, definition.spec, signal, () => ctx.assertLeaseHeld());
      if (!installed.ready) {
        ctx.setStatus({ phase: 'Progressing', reason: installed.reason, message: installed.message, conditions: [...conditions, notReady('ComponentsReady', installed.reason, installed.message)], outputs });
        return { requeueAfterMs: progressMs };
      }
      conditions.push(ready('ComponentsReady', 'Installed', `Envoy Gateway and cert-manager are installed and available on cluster ${spec.clusterRef.name}`));
      await retirePreviousHost(ctx, connection, exposure, domain as Domain, fqdn);
      ctx.assertLeaseHeld();
      await connection.apply(gatewayClass(spec.gatewayRef.name) as KubernetesObject, { fieldManager: SUPPORT_FIELD_MANAGER, signal });
      await connection.ensureNamespace(GATEWAY_NAMESPACE, { fieldManager: SUPPORT_FIELD_MANAGER, labels: { 'app.kubernetes.io/managed-by': 'tugboat' }, signal });
      const liveGateway = await applyGateway(ctx, connection, exposure, domain);
      let liveCertificate: KubernetesObject | undefined;
      if (tls) {
        const issuerProblem = await applyIssuer(ctx, connection, domain, acme);
        if (issuerProblem !== undefined) {
          ctx.setStatus({ phase: 'Progressing', reason: 'WaitingForAccount', message: issuerProblem, conditions: [...conditions, notReady('CertificateReady', 'WaitingForAccount', issuerProblem)], outputs });
          return { requeueAfterMs: waitMs };
        }
        ctx.assertLeaseHeld();
        liveCertificate = await connection.apply(certificate(fqdn, issuerName(domain.metadata.name, acme)) as KubernetesObject, { fieldManager: SUPPORT_FIELD_MANAGER, signal });
      } else {
        // TLS turned off: the redirect and the certificate of this host go.
        ctx.assertLeaseHeld();
        await connection.delete({ apiVersion: GATEWAY_API, kind: 'HTTPRoute', namespace: spec.namespace, name: redirectRouteName(spec.workload) }, { signal });
        await connection.delete({ apiVersion: CERT_MANAGER_API, kind: 'Certificate', namespace: GATEWAY_NAMESPACE, name: certificateName(fqdn) }, { signal });
      }
      const routes: KubernetesObject[] = [];
      for (const route of exposureRoutes(spec, domain.spec)) {
        ctx.assertLeaseHeld();
        routes.push(await connection.apply(route as KubernetesObject, { fieldManager: SUPPORT_FIELD_MANAGER, signal }));
      }
      // Statuses as the implementations report them now (the applies answered with the stored objects).
      const [gatewayNow, routeNow, certificateNow] = await Promise.all([
        connection.read(liveGateway, { signal }),
        connection.read(routes[0]!, { signal }),
        liveCertificate === undefined ? Promise.resolve(undefined) : connection.read(liveCertificate, { signal }),
      ]);
      const certificateState = tls ? certificateCondition(certificateNow) : undefined;
      const gatewayState = gatewayCondition(gatewayNow ?? liveGateway, tls ? httpsListenerName(fqdn) : 'http', certificateState?.status !== 'False');
      conditions.push(gatewayState.condition, ...routeConditions(routeNow, spec.gatewayRef.name));
      if (certificateState !== undefined) conditions.push(certificateState);
      if (gatewayState.loadBalancer !== undefined) {
        outputs['loadBalancer'] = gatewayState.loadBalancer;
        outputs['certificate'] = tls ? `${GATEWAY_NAMESPACE}/${certificateName(fqdn)}` : undefined;
        const dns = await syncRecords(ctx, exposure, domain, fqdn, gatewayState.loadBalancer).catch((error: unknown) => {
          if (error instanceof KilledAtPoint || signal.aborted || isKubeClusterError(error)) throw error;
          // AWS refused or failed: said on DnsReady, retried with backoff (refused credentials wait for the account to change).
          const failure = awsFailure(error, { step: 'DnsRecords', previousRetries: typeof exposure.status['retries'] === 'number' ? exposure.status['retries'] : 0, retryMs: progressMs });
          return { condition: notReady('DnsReady', failure.reason, `Route 53: ${failure.message}`), degraded: failure.phase === 'Failed', retries: failure.retries, retryAfterMs: failure.retryAfterMs ?? waitMs };
        });
        conditions.push(dns.condition);
        const firstDown = conditions.find((condition) => condition.status !== 'True');
        const fields = { ...('changeId' in dns && dns.changeId !== undefined ? { dnsChange: dns.changeId } : {}), retries: 'retries' in dns ? dns.retries : 0 };
        if (dns.degraded || 'retryAfterMs' in dns) {
          ctx.setStatus({ phase: dns.degraded ? 'Degraded' : 'Progressing', reason: dns.condition.reason!, message: dns.condition.message!, conditions, outputs, fields });
          return { requeueAfterMs: 'retryAfterMs' in dns ? dns.retryAfterMs : waitMs };
        }
        if (firstDown === undefined) {
          ctx.setStatus({ phase: 'Ready', reason: 'Exposed', message: `${url} → ${spec.service}:${spec.port} in namespace ${spec.namespace} on cluster ${spec.clusterRef.name}`, conditions, outputs, fields });
          return { requeueAfterMs: readyRecheckMs };
        }
        ctx.setStatus({ phase: certificateFailed(firstDown) ? 'Degraded' : 'Progressing', reason: firstDown.reason!, message: firstDown.message!, conditions, outputs, fields });
        return { requeueAfterMs: progressMs };
      }
      const firstDown = conditions.find((condition) => condition.status !== 'True')!;
      ctx.setStatus({ phase: 'Progressing', reason: firstDown.reason!, message: firstDown.message!, conditions, outputs });
      return { requeueAfterMs: progressMs };
    } catch (error) {
      if (error instanceof KilledAtPoint || signal.aborted) throw error;
      if (isKubeClusterError(error)) {
        components.forget(cluster.metadata.uid);
        const message = error.reason === 'Other' ? error.message : `cannot reach ClusterInstance ${spec.clusterRef.name}: ${error.message}`;
        ctx.setStatus({ phase: 'Degraded', reason: error.reason === 'Other' ? 'ApplyFailed' : 'ClusterUnavailable', message, conditions: [...conditions, notReady('Applied', 'ApplyFailed', message)], outputs });
        return { requeueAfterMs: progressMs };
      }
      const reason = typeof (error as { reason?: unknown }).reason === 'string' ? `Chart${(error as { reason: string }).reason.replace(/^Chart/, '')}` : undefined;
      if (reason !== undefined) {
        const message = `cannot render a component's chart: ${(error as Error).message}`;
        ctx.setStatus({ phase: 'Degraded', reason, message, conditions: [notReady('ComponentsReady', reason, message)], outputs });
        return { requeueAfterMs: waitMs };
      }
      throw error;
    }
  }

  /** cert-manager gave up on an issuance (it retries on its own): the exposure is Degraded, not just waiting. */
  const certificateFailed = (condition: Condition) => condition.type === 'CertificateReady' && condition.reason === 'Failed';

  async function finalize(ctx: Ctx, exposure: Exposure): Promise<ReconcileResult> {
    const spec = exposure.spec;
    const signal = ctx.signal;
    const [domain, cluster] = await Promise.all([
      ctx.api.get<DomainDefinitionSpec>({ kind: 'DomainDefinition', name: spec.domainRef.name }, { signal }),
      ctx.api.get<Record<string, unknown>>({ kind: 'ClusterInstance', name: spec.clusterRef.name }, { signal }),
    ]);
    if (domain === undefined) return undefined; // references keep it while this exposure is there: only a forced removal gets here
    const fqdn = fqdnOf(spec, domain.spec);
    // The records first (no more traffic is sent to the host), then the route and certificate.
    const zoneId = (domain.status.outputs as Partial<DomainOutputs> | undefined)?.hostedZoneId;
    if (zoneId !== undefined) await removeRecords(ctx, exposure, domain as Domain, zoneId, fqdn);
    const previous = previousDelivery(exposure, fqdn);
    const previousZone = previous === undefined ? undefined : await zoneOfPrevious(ctx, previous, domain as Domain);
    if (previous !== undefined && previousZone !== undefined) await removeRecords(ctx, exposure, previousZone.domain, previousZone.zoneId, previous.host);
    if (cluster === undefined) {
      await ctx.events.record('Warning', 'ClusterGone', `ClusterInstance ${spec.clusterRef.name} no longer exists; the route and certificate of ${fqdn} were not removed from it`).catch(() => undefined);
      return undefined;
    }
    try {
      const connection = await clusterAccess.connect(ctx.api, cluster as unknown as ClusterResource, signal);
      const removals: Array<{ apiVersion: string; kind: string; namespace: string; name: string }> = [
        { apiVersion: GATEWAY_API, kind: 'HTTPRoute', namespace: spec.namespace, name: routeName(spec.workload) },
        { apiVersion: GATEWAY_API, kind: 'HTTPRoute', namespace: spec.namespace, name: redirectRouteName(spec.workload) },
        ...[fqdn, ...(previous === undefined || (await hostInUse(ctx, exposure, previous.host, domain as Domain)) ? [] : [previous.host])].flatMap((host) => [
          { apiVersion: CERT_MANAGER_API, kind: 'Certificate', namespace: GATEWAY_NAMESPACE, name: certificateName(host) },
          { apiVersion: 'v1', kind: 'Secret', namespace: GATEWAY_NAMESPACE, name: certificateName(host) },
        ]),
      ];
      for (const object of removals) {
        if ((await connection.isNamespaced(object.apiVersion, object.kind, { signal })) === undefined) continue;
        ctx.assertLeaseHeld();
        await connection.delete(object, { signal });
      }
      // The Gateway without this host's listener (the listing no longer counts an exposure being deleted).
      if ((await connection.isNamespaced(GATEWAY_API, 'Gateway', { signal })) !== undefined) await applyGateway(ctx, connection, exposure, domain as Domain);
    } catch (error) {
      if (!isKubeClusterError(error) || signal.aborted) throw error;
      // Never delivered, on a cluster without a usable connection (an eks cluster still being made): nothing can be there.
      if (error.reason === 'InvalidKubeconfig' && exposure.status.outputs?.['loadBalancer'] === undefined) return undefined;
      const message = `cannot remove the route and certificate from ClusterInstance ${spec.clusterRef.name} (${error.message}); retrying with backoff — \`tug delete exposure ${exposure.metadata.name} -p ${exposure.metadata.project} --force\` removes the object without cleaning the cluster`;
      await writeDeletingStatus(ctx, exposure, 'ClusterUnavailable', message);
      throw new KubeClusterError(message, { reason: error.reason, cause: error });
    }
    return undefined;
  }

  /**
   * The host it delivered before, when the spec now names another (`host`, `domainRef`): its
   * records, certificate and key were left behind, and the records (owned by this exposure) kept
   * the host from anyone else.
   */
  function previousDelivery(exposure: Exposure, fqdn: string): { host: string; zoneId?: string; domain?: string } | undefined {
    const outputs = exposure.status.outputs;
    const host = outputs?.['host'];
    if (typeof host !== 'string' || host === fqdn) return undefined;
    const zoneId = outputs?.['zoneId'];
    const domain = outputs?.['domain'];
    return { host, ...(typeof zoneId === 'string' ? { zoneId } : {}), ...(typeof domain === 'string' ? { domain } : {}) };
  }

  /**
   * The zone the previous host's records are in, and the domain whose account reaches it: the domain
   * recorded with them (since 7 Dec 2026), or else the current one when its zone is the same.
   */
  async function zoneOfPrevious(ctx: Ctx, previous: { zoneId?: string; domain?: string }, current: Domain | undefined): Promise<{ domain: Domain; zoneId: string } | undefined> {
    if (previous.zoneId === undefined) return undefined;
    const currentZone = (current?.status.outputs as Partial<DomainOutputs> | undefined)?.hostedZoneId;
    const name = previous.domain ?? (currentZone === previous.zoneId ? current?.metadata.name : undefined);
    if (name === undefined) return undefined;
    const domain = current?.metadata.name === name ? current : ((await ctx.api.get<DomainDefinitionSpec>({ kind: 'DomainDefinition', name }, { signal: ctx.signal })) as Domain | undefined);
    return domain === undefined ? undefined : { domain, zoneId: previous.zoneId };
  }

  /** Whether a live TLS exposure on this exposure's cluster and gateway serves `host` now. */
  async function hostInUse(ctx: Ctx, exposure: Exposure, host: string, domain: Domain | undefined): Promise<boolean> {
    const domains = new Map<string, Promise<Domain | undefined>>(domain === undefined ? [] : [[domain.metadata.name, Promise.resolve(domain)]]);
    const hosts = await gatewayHosts(ctx.api, exposure.spec.clusterRef.name, exposure.spec.gatewayRef.name, domains, ctx.signal);
    return hosts.some((served) => served.fqdn === host);
  }

  /** Removes what the previous host had (records it owns, certificate and key), then says so in an event. */
  async function retirePreviousHost(ctx: Ctx, connection: ClusterConnection, exposure: Exposure, current: Domain, fqdn: string): Promise<void> {
    const previous = previousDelivery(exposure, fqdn);
    if (previous === undefined) return;
    const signal = ctx.signal;
    const zone = await zoneOfPrevious(ctx, previous, current);
    if (zone !== undefined) {
      const account = await accountOf(ctx.api, zone.domain.spec.accountRef.name, signal);
      if (typeof account === 'string') throw new Error(`cannot remove the records of the previous host ${previous.host}: ${account}`);
      await deleteOwnedRecords(ctx, exposure, account, zone.zoneId, previous.host);
    }
    // A certificate is named after its host: one another exposure has taken the host for since is its own.
    if (!(await hostInUse(ctx, exposure, previous.host, current))) {
      for (const kind of [
        { apiVersion: CERT_MANAGER_API, kind: 'Certificate' },
        { apiVersion: 'v1', kind: 'Secret' },
      ]) {
        if ((await connection.isNamespaced(kind.apiVersion, kind.kind, { signal })) === undefined) continue;
        ctx.assertLeaseHeld();
        await connection.delete({ ...kind, namespace: GATEWAY_NAMESPACE, name: certificateName(previous.host) }, { signal });
      }
    }
    ctx.logger.info({ from: previous.host, to: fqdn }, 'removed the records and certificate of the previous host');
    await ctx.events.record('Normal', 'HostChanged', `${previous.host} → ${fqdn}: the records and certificate of ${previous.host} were removed`).catch(() => undefined);
  }

  async function removeRecords(ctx: Ctx, exposure: Exposure, domain: Domain, zoneId: string, fqdn: string): Promise<void> {
    const account = await accountOf(ctx.api, domain.spec.accountRef.name, ctx.signal);
    if (typeof account === 'string') {
      await writeDeletingStatus(ctx, exposure, 'AccountNotReady', `cannot remove the DNS records of ${fqdn}: ${account}`);
      throw new Error(account);
    }
    try {
      if ((await deleteOwnedRecords(ctx, exposure, account, zoneId, fqdn)) === undefined) return;
      pass('dns.after-remove');
    } catch (error) {
      if (error instanceof KilledAtPoint || ctx.signal.aborted) throw error;
      // Say why deletion waits, then throw: the SDK retries with capped exponential backoff.
      const failure = awsFailure(error, { step: 'RemoveRecords', previousRetries: 0, retryMs: progressMs });
      if (failure.credentialsRefused) credentials.forget(account.metadata.uid);
      await writeDeletingStatus(
        ctx,
        exposure,
        'DnsRemovalFailed',
        `cannot remove the DNS records of ${fqdn} from zone ${zoneId} (${failure.message}); retrying with backoff — \`tug delete exposure ${exposure.metadata.name} -p ${exposure.metadata.project} --force\` removes the object and leaves the records`,
      );
      throw error;
    }
  }

  /** Deletes the host's records this exposure owns (its TXT says so); the Route 53 change, if one was needed. */
  async function deleteOwnedRecords(ctx: Ctx, exposure: Exposure, account: Account, zoneId: string, fqdn: string): Promise<string | undefined> {
    const route53 = await openRoute53(ctx.api, account, credentials, requestTimeoutMs, ctx.signal);
    try {
      const changes = planRemoval(await readHostRecords(route53, zoneId, fqdn, ctx.signal), ownerOf(exposure));
      if (changes.length === 0) return undefined;
      ctx.assertLeaseHeld();
      const changeId = await batcher.submit(account.metadata.uid, route53, zoneId, changes);
      ctx.logger.info({ fqdn, zoneId, changeId }, 'removed the records of the exposure');
      return changeId;
    } finally {
      route53.destroy();
    }
  }

  /** The SDK writes `Deleting` once before finalize; why it is not done yet is written here. */
  async function writeDeletingStatus(ctx: Ctx, exposure: Exposure, reason: string, message: string): Promise<void> {
    const current = await ctx.api.get<ExposureSpec>(keyOf(exposure), { signal: ctx.signal });
    if (current === undefined) return;
    const status = { ...current.status, phase: 'Deleting' as const, conditions: [{ type: 'Ready', status: 'False' as const, reason, message, lastTransitionTime: new Date().toISOString() }] };
    await ctx.api.writeStatus(keyOf(exposure), status, { resourceVersion: current.metadata.resourceVersion, signal: ctx.signal }).catch((error: unknown) => {
      ctx.logger.warn({ err: String(error) }, 'could not write why deletion waits');
    });
  }

  return { reconcile, finalize };
}
