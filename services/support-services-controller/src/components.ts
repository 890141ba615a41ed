/**
 * What a cluster needs before its first exposure: the Gateway API implementation (Envoy Gateway,
 * with the Gateway API CRDs its chart ships) and cert-manager, each installed from its Helm chart
 * (rendered with `helm template`, applied with server-side apply: CRDs first) and ready when every
 * Deployment the chart renders is available. Installed once per cluster and chart pin, checked
 * again every `recheckMs` (a hand-deleted Deployment comes back then).
 */
import type { HelmRenderer } from '@tugboat/helm';
import type { ClusterConnection, KubernetesObject } from '@tugboat/kube';
import type { KubeManifest } from '@tugboat/workloads';
import { CERT_MANAGER_NAMESPACE, ENVOY_GATEWAY_NAMESPACE, SUPPORT_FIELD_MANAGER } from './gateway-objects.js';
import type { ChartPin, GatewayDefinitionSpec } from './support-types.js';

/** Renders a Helm chart (`@tugboat/helm`'s renderer). */
export type ChartRenderer = HelmRenderer;

/** The real charts and versions, pinned (a GatewayDefinition may pin others). */
export const DEFAULT_GATEWAY_CHART = { repository: 'oci://docker.io/envoyproxy', chart: 'gateway-helm', version: 'v1.4.1' } as const;
export const DEFAULT_CERT_MANAGER_CHART = { repository: 'https://charts.jetstack.io', chart: 'cert-manager', version: 'v1.17.2' } as const;

export interface Component {
  name: string;
  namespace: string;
  source: { repository: string; chart: string; version: string };
  values: Record<string, unknown>;
  includeCrds: boolean;
}

/** A chart pin's fields, each the fallback's when the pin leaves it out. */
export const pinned = (pin: ChartPin | undefined, fallback: { repository: string; chart: string; version: string }) => ({
  repository: pin?.repository ?? fallback.repository,
  chart: pin?.chart ?? fallback.chart,
  version: pin?.version ?? fallback.version,
});

/** The components a gateway definition installs, in order: the gateway implementation, then cert-manager. */
export function componentsOf(definition: GatewayDefinitionSpec): Component[] {
  return [
    { name: 'envoy-gateway', namespace: ENVOY_GATEWAY_NAMESPACE, source: pinned(definition.chart, DEFAULT_GATEWAY_CHART), values: {}, includeCrds: true },
    // cert-manager's chart renders its CRDs as templates when asked (`crds.enabled`), as its docs advise for helm template.
    { name: 'cert-manager', namespace: CERT_MANAGER_NAMESPACE, source: pinned(definition.certManagerChart, DEFAULT_CERT_MANAGER_CHART), values: { crds: { enabled: true } }, includeCrds: false },
  ];
}

export type ComponentsState = { ready: true } | { ready: false; reason: string; message: string };

const isCrd = (object: KubeManifest) => object.kind === 'CustomResourceDefinition';

/** Whether a Deployment has all its replicas available at its current generation; the words when not. */
function deploymentWaiting(object: KubernetesObject | undefined, name: string): string | undefined {
  if (object === undefined) return `Deployment ${name} does not exist yet`;
  const spec = (object as { spec?: { replicas?: number } }).spec;
  const status = (object as { status?: { availableReplicas?: number; observedGeneration?: number } }).status;
  const wanted = spec?.replicas ?? 1;
  const available = status?.availableReplicas ?? 0;
  if ((status?.observedGeneration ?? 0) < (object.metadata?.generation ?? 0) || available < wanted) return `Deployment ${name} has ${available}/${wanted} replicas available`;
  return undefined;
}

export function createComponentInstaller(options: { charts: ChartRenderer; recheckMs?: number; now?: () => number }) {
  const recheckMs = options.recheckMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  /** Per cluster uid: the pins last found installed and ready, and when. */
  const settled = new Map<string, { key: string; at: number }>();

  async function install(connection: ClusterConnection, component: Component, signal: AbortSignal, assertLeaseHeld: () => void): Promise<string | undefined> {
    const { objects } = await options.charts.render({ source: component.source, releaseName: component.name, namespace: component.namespace, values: component.values, includeCrds: component.includeCrds, signal });
    assertLeaseHeld();
    await connection.ensureNamespace(component.namespace, { fieldManager: SUPPORT_FIELD_MANAGER, labels: { 'app.kubernetes.io/managed-by': 'tugboat' }, signal });
    // CRDs first: the rest may include custom resources of them.
    for (const crd of objects.filter(isCrd)) {
      assertLeaseHeld();
      await connection.apply(crd as KubernetesObject, { fieldManager: SUPPORT_FIELD_MANAGER, signal });
    }
    const waiting: string[] = [];
    for (const object of objects.filter((candidate) => !isCrd(candidate))) {
      const namespaced = await connection.isNamespaced(object.apiVersion, object.kind, { signal });
      if (namespaced === undefined) return `cluster does not serve ${object.kind} (${object.apiVersion}) that chart ${component.source.chart} renders`;
      const { namespace: given, ...metadata } = object.metadata;
      const placed = { ...object, metadata: namespaced ? { ...metadata, namespace: given ?? component.namespace } : metadata } as KubernetesObject;
      assertLeaseHeld();
      const live = await connection.apply(placed, { fieldManager: SUPPORT_FIELD_MANAGER, signal });
      if (object.kind === 'Deployment') {
        const why = deploymentWaiting(live, `${placed.metadata?.namespace}/${placed.metadata?.name}`);
        if (why !== undefined) waiting.push(why);
      }
    }
    return waiting.length === 0 ? undefined : waiting.join('; ');
  }

  return {
    /**
     * Installs (or checks) the definition's components on the cluster; ready once their
     * Deployments are available. A chart that cannot be rendered throws the renderer's error.
     */
    async ensure(connection: ClusterConnection, clusterUid: string, definition: GatewayDefinitionSpec, signal: AbortSignal, assertLeaseHeld: () => void): Promise<ComponentsState> {
      return this.ensureComponents(connection, clusterUid, componentsOf(definition), signal, assertLeaseHeld);
    },
    /** The same for any list of components (one installer per list: what is settled is kept per cluster). */
    async ensureComponents(connection: ClusterConnection, clusterUid: string, components: Component[], signal: AbortSignal, assertLeaseHeld: () => void): Promise<ComponentsState> {
      const key = JSON.stringify(components.map((component) => component.source));
      const last = settled.get(clusterUid);
      if (last !== undefined && last.key === key && now() - last.at < recheckMs) return { ready: true };
      for (const component of components) {
        const waiting = await install(connection, component, signal, assertLeaseHeld);
        if (waiting !== undefined) {
          return { ready: false, reason: 'InstallingComponents', message: `installing ${component.name} ${component.source.version} (chart ${component.source.chart}): ${waiting}` };
        }
      }
      settled.set(clusterUid, { key, at: now() });
      return { ready: true };
    },
    /** Forgets what was found on a cluster (after an error there). */
    forget(clusterUid: string): void {
      settled.delete(clusterUid);
    },
  };
}

export type ComponentInstaller = ReturnType<typeof createComponentInstaller>;

/** The External Secrets Operator's chart, pinned: 0.16.2 serves `external-secrets.io/v1beta1`, which Tugboat writes. */
export const DEFAULT_EXTERNAL_SECRETS_CHART = { repository: 'https://charts.external-secrets.io', chart: 'external-secrets', version: '0.16.2' } as const;

/**
 * The External Secrets Operator, installed on a cluster where an app receives a secret kept in AWS
 * Secrets Manager (release `external-secrets`: its Deployment is the operator; the chart renders
 * its CRDs itself with `installCRDs`, its default).
 */
export function externalSecretsComponent(namespace: string): Component {
  return { name: 'external-secrets', namespace, source: { ...DEFAULT_EXTERNAL_SECRETS_CHART }, values: { installCRDs: true }, includeCrds: false };
}
