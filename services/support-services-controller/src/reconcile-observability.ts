/**
 * An ObservabilityInstance, delivered on its cluster: kube-prometheus-stack, Loki and the Alloy
 * log collector rendered from their charts (`helm template`) and server-side applied (CRDs first),
 * every object labelled with the instance, the collector configured for the namespaces of the
 * cluster's workloads that keep their logs collected, and with `grafana.gatewayRef` an HTTPRoute
 * for Grafana on that gateway's http listener. Ready when every Deployment, StatefulSet, DaemonSet,
 * Prometheus and Alertmanager it made is; status has one condition per component, the first one
 * not ready (down to the pod and what its kubelet said) named in the message, and the addresses.
 * An object a changed definition no longer renders is pruned. Deleting the instance removes
 * everything it installed: the namespace and the cluster-wide objects (CRDs included).
 */
import { createClusterAccess, createEksAccess, KilledAtPoint, type ClusterResource, type EksAccess } from '@tugboat/aws';
import type { ReconcileContext, ReconcileResult } from '@tugboat/controller-sdk';
import { isKubeClusterError, KubeClusterError, liveReadiness, type ClusterConnection, type ClusterConnections, type KubernetesObject, type Readiness } from '@tugboat/kube';
import { keyOf, noKillPoint, type Condition, type KillPoint, type Resource, type ResourceStatus } from '@tugboat/resource-model';
import type { KubeManifest } from '@tugboat/workloads';
import { createHash } from 'node:crypto';
import type { ChartRenderer } from './components.js';
import { GATEWAY_NAMESPACE, SUPPORT_FIELD_MANAGER } from './gateway-objects.js';
import {
  COMPONENT_CONDITIONS,
  componentOf,
  grafanaEnabled,
  GRAFANA_PATH,
  namespaceOf,
  OBSERVABILITY_LABEL,
  READINESS_KINDS,
  RELEASES,
  stackAddresses,
  stackCharts,
  type ChartPart,
  type ObservabilityDefinitionSpec,
  type ObservabilityInstanceSpec,
  type StackComponent,
} from './observability-stack.js';

type Ctx = ReconcileContext<ResourceStatus>;
export type Observability = Resource<ObservabilityInstanceSpec, ResourceStatus>;

export interface ObservabilityReconcilerOptions {
  connections: ClusterConnections;
  charts: ChartRenderer;
  eksAccess?: EksAccess;
  /** How soon a stack still coming up is looked at again. Default 3 s. */
  progressMs?: number;
  /** How soon one waiting for its definition or cluster is looked at (their changes wake it first). Default 30 s. */
  waitMs?: number;
  /** How often a Ready stack is checked (a hand-deleted Deployment comes back, a new namespace is collected). Default 60 s. */
  readyRecheckMs?: number;
  killPoint?: KillPoint;
}

const GATEWAY_API = 'gateway.networking.k8s.io/v1';
const GRAFANA_ROUTE = 'tugboat-grafana';
/** Cluster-wide kinds the stack's charts render, looked for by label when the instance is removed. */
const CLUSTER_WIDE_KINDS: ReadonlyArray<{ apiVersion: string; kind: string }> = [
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration' },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration' },
  { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' },
];

const ready = (type: string, reason: string, message: string): Condition => ({ type, status: 'True', reason, message });
const notReady = (type: string, reason: string, message: string): Condition => ({ type, status: 'False', reason, message });
const isCrd = (object: KubeManifest) => object.kind === 'CustomResourceDefinition';
const identity = (object: { apiVersion?: string; kind?: string; metadata?: { namespace?: string; name?: string } }) =>
  `${object.apiVersion ?? ''}/${object.kind ?? ''}/${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
const describe = (object: { kind?: string; metadata?: { namespace?: string; name?: string } }) =>
  `${object.kind ?? '?'} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata?.name ?? '?'}`;

/** The namespaces of the cluster's workloads whose logs are collected (all but those that opt out). */
export async function logNamespaces(ctx: Pick<Ctx, 'api' | 'signal'>, clusterName: string): Promise<string[]> {
  const namespaces = new Set<string>();
  for await (const workload of ctx.api.listAll<{ clusterRef?: { name: string }; namespace?: string; observability?: { logs?: boolean } }>('WorkloadInstance', { signal: ctx.signal })) {
    if (workload.metadata.deletionRequestedAt !== null || workload.spec.clusterRef?.name !== clusterName) continue;
    if (workload.spec.observability?.logs === false || workload.spec.namespace === undefined) continue;
    namespaces.add(workload.spec.namespace);
  }
  return [...namespaces].sort();
}

export function createObservabilityReconciler(options: ObservabilityReconcilerOptions) {
  const clusterAccess = createClusterAccess({ connections: options.connections, eksAccess: options.eksAccess ?? createEksAccess() });
  const progressMs = options.progressMs ?? 3_000;
  const waitMs = options.waitMs ?? 30_000;
  const readyRecheckMs = options.readyRecheckMs ?? 60_000;
  const killPoint = options.killPoint ?? noKillPoint;
  const pass = (point: string) => {
    if (killPoint.pass(point, 1) === 0) throw new KilledAtPoint(`killed at ${point}`);
  };

  /** Renders every chart; the objects placed in the stack's namespace (or none, cluster-wide), labelled with the instance. */
  async function render(ctx: Ctx, connection: ClusterConnection, obs: Observability, definition: ObservabilityDefinitionSpec, logNamespaceList: readonly string[], grafanaBehindGateway: boolean) {
    const namespace = namespaceOf(definition);
    const placed: Array<{ part: ChartPart; object: KubeManifest }> = [];
    const charts = stackCharts({ instance: obs.metadata.name, definition, overrides: obs.spec.overrides, logNamespaces: logNamespaceList, grafanaBehindGateway });
    for (const chart of charts) {
      const { objects } = await options.charts.render({ source: chart.source, releaseName: chart.release, namespace, values: chart.values, includeCrds: chart.includeCrds, signal: ctx.signal });
      for (const object of objects) {
        const labels = { ...(object.metadata['labels'] as Record<string, string> | undefined), [OBSERVABILITY_LABEL]: obs.metadata.name };
        if (isCrd(object)) {
          placed.push({ part: chart.part, object: { ...object, metadata: { ...object.metadata, labels } } });
          continue;
        }
        const namespaced = await connection.isNamespaced(object.apiVersion, object.kind, { signal: ctx.signal });
        // A custom resource of a CRD this very render brings: namespaced, as the stack's are.
        const inNamespace = namespaced ?? objects.some((candidate) => isCrd(candidate) && crdServes(candidate, object));
        const { namespace: given, ...metadata } = object.metadata;
        const placedMetadata = inNamespace ? { ...metadata, labels, namespace: given ?? namespace } : { ...metadata, labels };
        placed.push({ part: chart.part, object: { ...object, metadata: placedMetadata } as KubeManifest });
      }
    }
    return placed;
  }

  /** The Grafana route on the gateway's http listener, or why there is none yet. */
  async function grafanaRoute(ctx: Ctx, connection: ClusterConnection, obs: Observability, definition: ObservabilityDefinitionSpec): Promise<{ route?: KubeManifest; url?: string; waiting?: string }> {
    const gatewayName = obs.spec.grafana?.gatewayRef?.name;
    if (gatewayName === undefined || !grafanaEnabled(definition)) return {};
    if ((await connection.isNamespaced(GATEWAY_API, 'Gateway', { signal: ctx.signal })) === undefined) {
      return { waiting: `cluster ${obs.spec.clusterRef.name} has no Gateway API yet: it comes with the first Exposure through GatewayDefinition ${gatewayName}` };
    }
    const live = await connection.read({ apiVersion: GATEWAY_API, kind: 'Gateway', metadata: { namespace: GATEWAY_NAMESPACE, name: gatewayName } } as KubernetesObject, { signal: ctx.signal });
    const address = (live as { status?: { addresses?: Array<{ value?: string }> } } | undefined)?.status?.addresses?.[0]?.value;
    if (live === undefined) return { waiting: `Gateway ${GATEWAY_NAMESPACE}/${gatewayName} does not exist on cluster ${obs.spec.clusterRef.name}: it is made with the first Exposure through GatewayDefinition ${gatewayName}` };
    const route: KubeManifest = {
      apiVersion: GATEWAY_API,
      kind: 'HTTPRoute',
      metadata: { name: GRAFANA_ROUTE, namespace: namespaceOf(definition), labels: { [OBSERVABILITY_LABEL]: obs.metadata.name } },
      spec: {
        parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: GATEWAY_NAMESPACE, name: gatewayName, sectionName: 'http' }],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: GRAFANA_PATH } }], backendRefs: [{ name: `${RELEASES.metrics}-grafana`, port: 80 }] }],
      },
    };
    if (address === undefined) return { route, waiting: `Gateway ${GATEWAY_NAMESPACE}/${gatewayName} has no load balancer address yet` };
    return { route, url: `http://${address}${GRAFANA_PATH}/` };
  }

  async function reconcile(ctx: Ctx, obs: Observability): Promise<ReconcileResult> {
    const spec = obs.spec;
    const signal = ctx.signal;
    const [definition, cluster] = await Promise.all([
      ctx.api.get<ObservabilityDefinitionSpec>({ kind: 'ObservabilityDefinition', name: spec.definitionRef.name }, { signal }),
      ctx.api.get<Record<string, unknown>>({ kind: 'ClusterInstance', name: spec.clusterRef.name }, { signal }),
    ]);
    if (definition === undefined) {
      ctx.setStatus({ phase: 'Progressing', reason: 'DefinitionMissing', message: `ObservabilityDefinition ${spec.definitionRef.name} does not exist`, conditions: [notReady('DependenciesReady', 'DefinitionMissing', `ObservabilityDefinition ${spec.definitionRef.name} does not exist`)] });
      return { requeueAfterMs: waitMs };
    }
    if (cluster === undefined || cluster.status.phase !== 'Ready') {
      const why = cluster?.status.conditions?.find((condition) => condition.type === 'Ready')?.message;
      const message = cluster === undefined ? `ClusterInstance ${spec.clusterRef.name} does not exist` : `ClusterInstance ${spec.clusterRef.name} is ${cluster.status.phase ?? 'Pending'}${why ? ` (${why})` : ''}`;
      ctx.setStatus({ phase: obs.status.phase === 'Ready' ? 'Degraded' : 'Progressing', reason: 'WaitingForCluster', message, conditions: [notReady('ClusterReady', 'WaitingForCluster', message)] });
      return { requeueAfterMs: waitMs };
    }
    const namespace = namespaceOf(definition.spec);
    const collected = await logNamespaces(ctx, spec.clusterRef.name);
    const outputs: Record<string, unknown> = { namespace, ...stackAddresses(definition.spec), logNamespaces: collected };
    const conditions: Condition[] = [ready('ClusterReady', 'ClusterReady', `ClusterInstance ${spec.clusterRef.name} is Ready`)];

    try {
      const connection = await clusterAccess.connect(ctx.api, cluster as unknown as ClusterResource, signal);
      const grafana = await grafanaRoute(ctx, connection, obs, definition.spec);
      let placed: Array<{ part: ChartPart; object: KubeManifest }>;
      try {
        placed = await render(ctx, connection, obs, definition.spec, collected, grafana.route !== undefined);
      } catch (error) {
        const chartReason = (error as { reason?: unknown }).reason;
        if (typeof chartReason !== 'string' || isKubeClusterError(error) || signal.aborted) throw error;
        const reason = `Chart${chartReason.replace(/^Chart/, '')}`;
        const message = `cannot render the stack's charts: ${(error as Error).message}`;
        ctx.setStatus({ phase: 'Degraded', reason, message, conditions: [...conditions, notReady('Applied', reason, message)], outputs });
        return { requeueAfterMs: waitMs };
      }
      if (grafana.route !== undefined) placed.push({ part: 'metrics', object: grafana.route });

      ctx.assertLeaseHeld();
      await connection.ensureNamespace(namespace, { fieldManager: SUPPORT_FIELD_MANAGER, labels: { 'app.kubernetes.io/managed-by': 'tugboat', [OBSERVABILITY_LABEL]: obs.metadata.name }, signal });
      // CRDs first: the rest includes custom resources of them.
      const ordered = [...placed.filter((entry) => isCrd(entry.object)), ...placed.filter((entry) => !isCrd(entry.object))];
      const live: Array<{ part: ChartPart; object: KubernetesObject }> = [];
      for (const entry of ordered) {
        ctx.assertLeaseHeld();
        try {
          live.push({ part: entry.part, object: await connection.apply(entry.object as KubernetesObject, { fieldManager: SUPPORT_FIELD_MANAGER, signal }) });
        } catch (error) {
          if (!isKubeClusterError(error) || error.reason !== 'Other') throw error;
          // The cluster refused an object (a values override it does not accept): name it and what it said.
          throw new KubeClusterError(`${describe(entry.object)} of chart ${RELEASES[entry.part]}: ${error.message}`, { reason: error.reason, ...(error.status === undefined ? {} : { status: error.status }), cause: error });
        }
      }
      pass('observability.after-apply');
      const renderHash = createHash('sha256').update(ordered.map((entry) => identity(entry.object)).sort().join('\n')).digest('hex').slice(0, 16);
      const kinds = [...new Map(ordered.filter((entry) => !isCrd(entry.object)).map((entry) => [`${entry.object.apiVersion}/${entry.object.kind}`, { apiVersion: entry.object.apiVersion, kind: entry.object.kind }])).values()];
      const earlierKinds = Array.isArray(obs.status['kinds']) ? (obs.status['kinds'] as Array<{ apiVersion: string; kind: string }>) : [];
      let pruned = 0;
      if (obs.status['renderHash'] !== renderHash) pruned = await prune(ctx, connection, obs, new Set(ordered.map((entry) => identity(entry.object))), [...kinds, ...earlierKinds]);

      // Readiness, per component.
      const byComponent = new Map<StackComponent, Readiness[]>();
      const rows: Array<{ component: StackComponent; kind: string; name: string; ready: boolean; reason: string; message: string }> = [];
      for (const { part, object } of live) {
        if (!READINESS_KINDS.has(object.kind ?? '')) continue;
        const component = componentOf(part, object as KubeManifest);
        const readiness = await liveReadiness(connection, object, { signal });
        const described = { ...readiness, message: `${describe(object)}: ${readiness.message}` };
        byComponent.set(component, [...(byComponent.get(component) ?? []), described]);
        rows.push({ component, kind: object.kind ?? '', name: object.metadata?.name ?? '', ready: readiness.ready, reason: readiness.reason, message: readiness.message });
      }
      const components: Record<string, { ready: boolean; message: string }> = {};
      let firstFailed: Condition | undefined;
      let firstWaiting: Condition | undefined;
      for (const [component, readinesses] of byComponent) {
        const down = readinesses.find((readiness) => readiness.failed) ?? readinesses.find((readiness) => !readiness.ready);
        const type = COMPONENT_CONDITIONS[component];
        if (down === undefined) {
          const condition = ready(type, 'Available', `${component}: ${readinesses.length} workload object${readinesses.length === 1 ? '' : 's'} ready`);
          conditions.push(condition);
          components[component] = { ready: true, message: condition.message! };
          continue;
        }
        const condition = notReady(type, down.reason, `${component}: ${down.message}`);
        conditions.push(condition);
        components[component] = { ready: false, message: condition.message! };
        if (down.failed) firstFailed ??= condition;
        else firstWaiting ??= condition;
      }
      if (grafana.url !== undefined) outputs['grafanaUrl'] = grafana.url;
      if (grafana.waiting !== undefined) {
        const condition = notReady('GrafanaExposed', 'WaitingForGateway', grafana.waiting);
        conditions.push(condition);
        firstWaiting ??= condition;
      } else if (grafana.url !== undefined) {
        conditions.push(ready('GrafanaExposed', 'Exposed', `Grafana at ${grafana.url}`));
      }
      const fields = { components, objects: rows, renderHash, kinds };
      const note = pruned > 0 ? `; pruned ${pruned} object${pruned === 1 ? '' : 's'} no longer rendered` : '';
      if (firstFailed !== undefined) {
        ctx.setStatus({ phase: 'Degraded', reason: firstFailed.reason!, message: `${firstFailed.message} (a values override may be wrong: check ObservabilityDefinition ${spec.definitionRef.name} and this instance's overrides)${note}`, conditions, outputs, fields });
        return { requeueAfterMs: progressMs };
      }
      if (firstWaiting !== undefined) {
        ctx.setStatus({ phase: 'Progressing', reason: firstWaiting.reason!, message: `waiting for ${firstWaiting.message}${note}`, conditions, outputs, fields });
        return { requeueAfterMs: progressMs };
      }
      const parts = Object.keys(components).sort().join(', ');
      ctx.setStatus({ phase: 'Ready', reason: 'Ready', message: `${parts} ready in namespace ${namespace} on cluster ${spec.clusterRef.name}; logs collected from ${collected.length} namespace${collected.length === 1 ? '' : 's'}${note}`, conditions, outputs, fields });
      return { requeueAfterMs: readyRecheckMs };
    } catch (error) {
      if (error instanceof KilledAtPoint || signal.aborted || !isKubeClusterError(error)) throw error;
      const message = error.reason === 'Other' ? error.message : `cannot reach ClusterInstance ${spec.clusterRef.name}: ${error.message}`;
      ctx.setStatus({ phase: 'Degraded', reason: error.reason === 'Other' ? 'ApplyFailed' : 'ClusterUnavailable', message, conditions: [...conditions, notReady('Applied', error.reason === 'Other' ? 'ApplyFailed' : 'ClusterUnavailable', message)], outputs });
      return { requeueAfterMs: progressMs };
    }
  }

  /** Deletes the instance's objects of these kinds that this render no longer has (CRDs stay: they hold every custom resource). */
  async function prune(ctx: Ctx, connection: ClusterConnection, obs: Observability, keep: ReadonlySet<string>, kinds: ReadonlyArray<{ apiVersion: string; kind: string }>): Promise<number> {
    let pruned = 0;
    const seen = new Set<string>();
    for (const { apiVersion, kind } of kinds) {
      if (seen.has(`${apiVersion}/${kind}`) || kind === 'CustomResourceDefinition') continue;
      seen.add(`${apiVersion}/${kind}`);
      if ((await connection.isNamespaced(apiVersion, kind, { signal: ctx.signal })) === undefined) continue;
      const found = await connection.list(apiVersion, kind, { labelSelector: `${OBSERVABILITY_LABEL}=${obs.metadata.name}`, signal: ctx.signal });
      for (const object of found) {
        if (keep.has(identity({ ...object, apiVersion }))) continue;
        ctx.assertLeaseHeld();
        if (await connection.delete({ apiVersion, kind, name: object.metadata?.name ?? '', ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}) }, { signal: ctx.signal })) pruned += 1;
      }
    }
    return pruned;
  }

  async function finalize(ctx: Ctx, obs: Observability): Promise<ReconcileResult> {
    const signal = ctx.signal;
    const [definition, cluster] = await Promise.all([
      ctx.api.get<ObservabilityDefinitionSpec>({ kind: 'ObservabilityDefinition', name: obs.spec.definitionRef.name }, { signal }),
      ctx.api.get<Record<string, unknown>>({ kind: 'ClusterInstance', name: obs.spec.clusterRef.name }, { signal }),
    ]);
    if (cluster === undefined) {
      await ctx.events.record('Warning', 'ClusterGone', `ClusterInstance ${obs.spec.clusterRef.name} no longer exists; nothing was removed from it`).catch(() => undefined);
      return undefined;
    }
    const namespace = typeof obs.status.outputs?.['namespace'] === 'string' ? obs.status.outputs['namespace'] : namespaceOf(definition?.spec ?? {});
    try {
      const connection = await clusterAccess.connect(ctx.api, cluster as unknown as ClusterResource, signal);
      // The namespace takes every namespaced object with it; the cluster-wide ones are found by their label.
      ctx.assertLeaseHeld();
      await connection.delete({ apiVersion: 'v1', kind: 'Namespace', name: namespace }, { signal });
      for (const { apiVersion, kind } of CLUSTER_WIDE_KINDS) {
        for (const object of await connection.list(apiVersion, kind, { labelSelector: `${OBSERVABILITY_LABEL}=${obs.metadata.name}`, signal })) {
          ctx.assertLeaseHeld();
          await connection.delete({ apiVersion, kind, name: object.metadata?.name ?? '' }, { signal });
        }
      }
      const left = await connection.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } } as KubernetesObject, { signal });
      if (left !== undefined) {
        await writeDeletingStatus(ctx, obs, 'NamespaceTerminating', `waiting for namespace ${namespace} to be removed from cluster ${obs.spec.clusterRef.name}`);
        return { requeueAfterMs: progressMs };
      }
    } catch (error) {
      if (!isKubeClusterError(error) || signal.aborted) throw error;
      if (error.reason === 'InvalidKubeconfig' && obs.status['renderHash'] === undefined) return undefined;
      const message = `cannot remove the stack from ClusterInstance ${obs.spec.clusterRef.name} (${error.message}); retrying with backoff — \`tug delete observabilityinstance ${obs.metadata.name} --force\` removes the object without cleaning the cluster`;
      await writeDeletingStatus(ctx, obs, 'ClusterUnavailable', message);
      throw new KubeClusterError(message, { reason: error.reason, cause: error });
    }
    return undefined;
  }

  async function writeDeletingStatus(ctx: Ctx, obs: Observability, reason: string, message: string): Promise<void> {
    const current = await ctx.api.get<ObservabilityInstanceSpec>(keyOf(obs), { signal: ctx.signal });
    if (current === undefined) return;
    const status: ResourceStatus = { ...current.status, phase: 'Deleting', reason, message };
    await ctx.api.writeStatus(keyOf(obs), status, { resourceVersion: current.metadata.resourceVersion, signal: ctx.signal }).catch((error: unknown) => {
      ctx.logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'deleting status not written');
    });
  }

  return { reconcile, finalize };
}

/** Whether a CRD (as rendered) serves the object's group and kind. */
function crdServes(crd: KubeManifest, object: KubeManifest): boolean {
  const spec = (crd as { spec?: { group?: string; names?: { kind?: string } } }).spec;
  return object.apiVersion.startsWith(`${spec?.group ?? ''}/`) && spec?.names?.kind === object.kind;
}
