/**
 * The objects the Envoy Gateway, cert-manager, External Secrets and Prometheus Operator charts install that the sandbox's simulations of
 * those components key on: their CRDs (with permissive schemas and a status subresource) and
 * their controllers' Deployments. Tests apply them directly instead of installing the charts;
 * apply them raw (JSON), as client-node's typed models drop `x-kubernetes-preserve-unknown-fields`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_CHARTS_DIR } from '../charts/chart-repository.js';


interface CrdNames {
  group: string;
  kind: string;
  plural: string;
  scope: 'Namespaced' | 'Cluster';
  shortNames?: string[];
}

function crd(names: CrdNames, versions: string[]) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${names.group}` },
    spec: {
      group: names.group,
      scope: names.scope,
      names: { kind: names.kind, listKind: `${names.kind}List`, plural: names.plural, singular: names.kind.toLowerCase(), ...(names.shortNames ? { shortNames: names.shortNames } : {}) },
      versions: versions.map((name, index) => ({
        name,
        served: true,
        storage: index === 0,
        subresources: { status: {} },
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      })),
    },
  };
}

/** Gateway API v1 (standard channel kinds the Envoy Gateway simulation reads, plus ReferenceGrant). */
export function gatewayApiCrds() {
  const group = 'gateway.networking.k8s.io';
  return [
    crd({ group, kind: 'GatewayClass', plural: 'gatewayclasses', scope: 'Cluster', shortNames: ['gc'] }, ['v1']),
    crd({ group, kind: 'Gateway', plural: 'gateways', scope: 'Namespaced', shortNames: ['gtw'] }, ['v1']),
    crd({ group, kind: 'HTTPRoute', plural: 'httproutes', scope: 'Namespaced' }, ['v1']),
    crd({ group, kind: 'ReferenceGrant', plural: 'referencegrants', scope: 'Namespaced', shortNames: ['refgrant'] }, ['v1beta1']),
  ];
}

/** cert-manager.io/v1 and acme.cert-manager.io/v1. */
export function certManagerCrds() {
  return [
    crd({ group: 'cert-manager.io', kind: 'Certificate', plural: 'certificates', scope: 'Namespaced', shortNames: ['cert', 'certs'] }, ['v1']),
    crd({ group: 'cert-manager.io', kind: 'CertificateRequest', plural: 'certificaterequests', scope: 'Namespaced', shortNames: ['cr', 'crs'] }, ['v1']),
    crd({ group: 'cert-manager.io', kind: 'Issuer', plural: 'issuers', scope: 'Namespaced' }, ['v1']),
    crd({ group: 'cert-manager.io', kind: 'ClusterIssuer', plural: 'clusterissuers', scope: 'Cluster' }, ['v1']),
    crd({ group: 'acme.cert-manager.io', kind: 'Order', plural: 'orders', scope: 'Namespaced' }, ['v1']),
    crd({ group: 'acme.cert-manager.io', kind: 'Challenge', plural: 'challenges', scope: 'Namespaced' }, ['v1']),
  ];
}

/** external-secrets.io/v1beta1: ExternalSecret, SecretStore and the cluster-scoped ClusterSecretStore. */
export function externalSecretsCrds() {
  const group = 'external-secrets.io';
  return [
    crd({ group, kind: 'ExternalSecret', plural: 'externalsecrets', scope: 'Namespaced', shortNames: ['es'] }, ['v1beta1']),
    crd({ group, kind: 'SecretStore', plural: 'secretstores', scope: 'Namespaced', shortNames: ['ss'] }, ['v1beta1']),
    crd({ group, kind: 'ClusterSecretStore', plural: 'clustersecretstores', scope: 'Cluster', shortNames: ['css'] }, ['v1beta1']),
  ];
}

/** A controller Deployment as the charts render it (one replica; the simulation makes it Available). */
export function addOnDeployment(name: string, namespace: string, labels: Record<string, string> = {}) {
  const selector = { 'app.kubernetes.io/name': name, ...labels };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: selector },
    spec: { replicas: 1, selector: { matchLabels: selector }, template: { metadata: { labels: selector }, spec: { containers: [{ name, image: `sandbox.local/${name}:latest` }] } } },
  };
}

/** Envoy Gateway (chart gateway-helm): its Deployment `envoy-gateway` with label `control-plane: envoy-gateway`. */
export function envoyGatewayDeployment(namespace = 'envoy-gateway-system') {
  return addOnDeployment('envoy-gateway', namespace, { 'control-plane': 'envoy-gateway' });
}

/** External Secrets (chart external-secrets): the controller, webhook and cert-controller Deployments. */
export function externalSecretsDeployments(namespace = 'external-secrets') {
  return ['external-secrets', 'external-secrets-webhook', 'external-secrets-cert-controller'].map((name) => addOnDeployment(name, namespace, { 'app.kubernetes.io/instance': 'external-secrets' }));
}

/** cert-manager (chart cert-manager): the controller, webhook and cainjector Deployments. */
export function certManagerDeployments(namespace = 'cert-manager') {
  return ['cert-manager', 'cert-manager-webhook', 'cert-manager-cainjector'].map((name) => addOnDeployment(name, namespace, { 'app.kubernetes.io/instance': 'cert-manager' }));
}

/**
 * The monitoring.coreos.com/v1 CRDs (ServiceMonitor, PodMonitor, PrometheusRule, Prometheus,
 * Alertmanager) exactly as the stand-in kube-prometheus-stack chart ships them in `crds/`, with
 * their validating schemas.
 */
export function prometheusOperatorCrds(): Array<Record<string, unknown>> {
  const text = readFileSync(join(DEFAULT_CHARTS_DIR, 'kube-prometheus-stack-75.6.0', 'crds', 'monitoring.coreos.com.yaml'), 'utf8');
  return parseAllDocuments(text)
    .map((document) => document.toJS() as Record<string, unknown> | null)
    .filter((document): document is Record<string, unknown> => document !== null);
}

/** A Prometheus Operator Deployment labelled as kube-prometheus-stack labels it (`app.kubernetes.io/component: prometheus-operator`). */
export function prometheusOperatorDeployment(namespace = 'monitoring', name = 'kube-prometheus-stack-operator') {
  return addOnDeployment(name, namespace, { 'app.kubernetes.io/component': 'prometheus-operator' });
}
