/**
 * The Kubernetes objects the support-services-controller writes into a cluster, as pure functions
 * of the exposures, the domain and the gateway definition: the GatewayClass and Gateway (one
 * listener for http, one https listener per exposed host with its certificate), the HTTPRoutes of
 * an exposure (and its redirect to https), and cert-manager's ClusterIssuer and Certificate.
 */
import { createHash } from 'node:crypto';
import { LETS_ENCRYPT_PRODUCTION, LETS_ENCRYPT_STAGING } from '@tugboat/resource-model';
import type { KubeManifest } from '@tugboat/workloads';
import { fqdnOf, tlsEnabled, type DomainDefinitionSpec, type ExposureSpec } from './support-types.js';

/** The server-side apply field manager: never shared with another controller. */
export const SUPPORT_FIELD_MANAGER = 'tugboat-support-services';
/** Where each gateway's Gateway and the certificates of its hosts live. */
export const GATEWAY_NAMESPACE = 'tugboat-gateway';
export const CERT_MANAGER_NAMESPACE = 'cert-manager';
export const ENVOY_GATEWAY_NAMESPACE = 'envoy-gateway-system';
/** Envoy Gateway's controller name, which its GatewayClasses carry. */
export const ENVOY_GATEWAY_CONTROLLER = 'gateway.envoyproxy.io/gatewayclass-controller';
const GATEWAY_API = 'gateway.networking.k8s.io/v1';
const CERT_MANAGER_API = 'cert-manager.io/v1';
const MANAGED = { 'app.kubernetes.io/managed-by': 'tugboat' };

const hash8 = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 8);

/** A host's name in listeners, certificates and secrets: readable, unique (a hash), a DNS label. */
export function hostId(fqdn: string): string {
  const readable = fqdn.replace(/\./g, '-').slice(0, 40).replace(/-+$/, '');
  return `${readable}-${hash8(fqdn)}`;
}

export const httpsListenerName = (fqdn: string) => `https-${hostId(fqdn)}`.slice(0, 63);
export const certificateName = (fqdn: string) => `tls-${hostId(fqdn)}`;
export const gatewayClassName = (gateway: string) => `tugboat-${gateway}`;
export const issuerName = (domain: string, acme: 'production' | 'staging') => `tugboat-${domain}-${acme}`;
export const route53SecretName = (domain: string) => `tugboat-route53-${domain}`;
export const routeName = (workload: string) => `tugboat-${workload}`;
export const redirectRouteName = (workload: string) => `tugboat-${workload}-redirect`;

export function gatewayClass(gateway: string): KubeManifest {
  return {
    apiVersion: GATEWAY_API,
    kind: 'GatewayClass',
    metadata: { name: gatewayClassName(gateway), labels: MANAGED },
    spec: { controllerName: ENVOY_GATEWAY_CONTROLLER, description: `Tugboat GatewayDefinition ${gateway}` },
  };
}

/** An https host of a Gateway: its full name. */
export interface GatewayHost {
  fqdn: string;
}

/**
 * The Gateway of a GatewayDefinition on a cluster: plain http on 80 (for the redirects and the
 * exposures without TLS) and one https listener per host, terminating with its certificate.
 * Routes from every namespace may attach: each exposure's route lives beside its workload.
 */
export function gateway(name: string, hosts: readonly GatewayHost[]): KubeManifest {
  const allowedRoutes = { namespaces: { from: 'All' } };
  const https = [...new Set(hosts.map((host) => host.fqdn))].sort().map((fqdn) => ({
    name: httpsListenerName(fqdn),
    protocol: 'HTTPS',
    port: 443,
    hostname: fqdn,
    tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', group: '', name: certificateName(fqdn) }] },
    allowedRoutes,
  }));
  return {
    apiVersion: GATEWAY_API,
    kind: 'Gateway',
    metadata: { name, namespace: GATEWAY_NAMESPACE, labels: MANAGED },
    spec: { gatewayClassName: gatewayClassName(name), listeners: [{ name: 'http', protocol: 'HTTP', port: 80, allowedRoutes }, ...https] },
  };
}

/** The exposure's HTTPRoutes: to its Service (on its https listener, or http without TLS), and with TLS a redirect of http to https. */
export function exposureRoutes(spec: ExposureSpec, domain: DomainDefinitionSpec): KubeManifest[] {
  const fqdn = fqdnOf(spec, domain);
  const parent = (sectionName: string) => ({ group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: GATEWAY_NAMESPACE, name: spec.gatewayRef.name, sectionName });
  const labels = { ...MANAGED, 'tugboat.dev/exposure': spec.workload };
  const tls = tlsEnabled(spec);
  const routes: KubeManifest[] = [
    {
      apiVersion: GATEWAY_API,
      kind: 'HTTPRoute',
      metadata: { name: routeName(spec.workload), namespace: spec.namespace, labels },
      spec: {
        parentRefs: [parent(tls ? httpsListenerName(fqdn) : 'http')],
        hostnames: [fqdn],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: spec.path ?? '/' } }], backendRefs: [{ name: spec.service, port: spec.port }] }],
      },
    },
  ];
  if (tls) {
    routes.push({
      apiVersion: GATEWAY_API,
      kind: 'HTTPRoute',
      metadata: { name: redirectRouteName(spec.workload), namespace: spec.namespace, labels },
      spec: {
        parentRefs: [parent('http')],
        hostnames: [fqdn],
        rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }],
      },
    });
  }
  return routes;
}

/** Where a domain's route53 solver finds its account's secret key (in cert-manager's namespace, as ClusterIssuers require). */
export function route53Secret(domainName: string, secretAccessKey: string): KubeManifest {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: route53SecretName(domainName), namespace: CERT_MANAGER_NAMESPACE, labels: MANAGED },
    type: 'Opaque',
    stringData: { 'secret-access-key': secretAccessKey },
  };
}

export interface IssuerAccount {
  accessKeyId?: string;
  roleArn?: string;
  /** The solver's Route 53 region. */
  region: string;
  hostedZoneId: string;
}

/** The domain's ACME issuer (production or staging directory), solving DNS-01 in the domain's Route 53 zone. */
export function clusterIssuer(domainName: string, domain: DomainDefinitionSpec, acme: 'production' | 'staging', account: IssuerAccount): KubeManifest {
  const server = acme === 'staging' ? (domain.acme.stagingServer ?? LETS_ENCRYPT_STAGING) : (domain.acme.server ?? LETS_ENCRYPT_PRODUCTION);
  const route53: Record<string, unknown> = { region: account.region, hostedZoneID: account.hostedZoneId };
  if (account.accessKeyId !== undefined) {
    route53['accessKeyID'] = account.accessKeyId;
    route53['secretAccessKeySecretRef'] = { name: route53SecretName(domainName), key: 'secret-access-key' };
  }
  if (account.roleArn !== undefined) route53['role'] = account.roleArn;
  return {
    apiVersion: CERT_MANAGER_API,
    kind: 'ClusterIssuer',
    metadata: { name: issuerName(domainName, acme), labels: MANAGED },
    spec: {
      acme: {
        server,
        email: domain.acme.email,
        privateKeySecretRef: { name: `${issuerName(domainName, acme)}-account` },
        solvers: [{ selector: { dnsZones: [domain.domain] }, dns01: { route53 } }],
      },
    },
  };
}

/** The certificate of one exposed host, in the gateway's namespace (its Secret is what the https listener serves). */
export function certificate(fqdn: string, issuer: string): KubeManifest {
  return {
    apiVersion: CERT_MANAGER_API,
    kind: 'Certificate',
    metadata: { name: certificateName(fqdn), namespace: GATEWAY_NAMESPACE, labels: MANAGED },
    spec: { secretName: certificateName(fqdn), dnsNames: [fqdn], issuerRef: { kind: 'ClusterIssuer', name: issuer, group: 'cert-manager.io' } },
  };
}
