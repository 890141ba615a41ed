/**
 * A workload's metrics and logs. Its cluster's ObservabilityInstance (one per cluster, delivered by
 * the support-services-controller) collects the logs of every workload there that does not opt out,
 * and scrapes the metrics of those whose definition declares a metrics port, through a
 * ServiceMonitor the workload-controller applies beside the workload's other objects once the
 * cluster serves the kind. A workload that asks for either on a cluster without a stack makes one
 * from the ObservabilityDefinition marked `default` ("on first use"); the stack is the cluster's,
 * not the workload's, so it stays when the workload goes. Conditions `MetricsReady` and
 * `LogsCollected` say where each stands; neither holds the workload's own readiness back.
 */
import type { ReconcileContext } from '@tugboat/controller-sdk';
import type { ClusterConnection } from '@tugboat/kube';
import { isErrorCode, type Condition, type Resource, type ResourceStatus } from '@tugboat/resource-model';
import { serviceMonitor, type KubeManifest, type WorkloadDefinitionSpec, type WorkloadInstanceSpec } from '@tugboat/workloads';

export const STACK_KIND = 'ObservabilityInstance';
/** Marks a stack the workload-controller made on first use. */
export const MADE_ON_FIRST_USE_LABEL = 'tugboat.dev/made-on-first-use';

type ComposeContext = Pick<ReconcileContext, 'api' | 'cache' | 'signal' | 'assertLeaseHeld' | 'logger'>;
type Stack = Resource<{ definitionRef: { name: string }; clusterRef: { name: string } }, ResourceStatus>;

export const wantsLogs = (spec: WorkloadInstanceSpec) => spec.observability?.logs !== false;
export const wantsMetrics = (spec: WorkloadInstanceSpec, definition: WorkloadDefinitionSpec) => definition.metrics !== undefined && spec.observability?.metrics !== false;

/** The cluster's ObservabilityInstance (the API keeps at most one live per cluster). */
export async function stackOf(ctx: Pick<ComposeContext, 'cache' | 'signal'>, clusterName: string): Promise<Stack | undefined> {
  const stacks = await ctx.cache.list<Stack['spec'], Stack['status']>(STACK_KIND, { signal: ctx.signal });
  return stacks.find((stack) => stack.spec.clusterRef.name === clusterName && stack.metadata.deletionRequestedAt === null);
}

/** The stack of the cluster, made from the default definition when there is none; or why there is none. */
async function ensureStack(ctx: ComposeContext, clusterName: string): Promise<{ stack: Stack } | { missing: string; reason: string }> {
  const existing = await stackOf(ctx, clusterName);
  if (existing !== undefined) return { stack: existing };
  let definition: string | undefined;
  for (const candidate of await ctx.cache.list<{ default?: boolean }>('ObservabilityDefinition', { signal: ctx.signal })) {
    if (candidate.spec.default === true && candidate.metadata.deletionRequestedAt === null) definition = candidate.metadata.name;
  }
  if (definition === undefined) {
    return { reason: 'NoObservability', missing: `cluster ${clusterName} has no ObservabilityInstance and no ObservabilityDefinition is marked default: a platform admin creates one (or marks one \`default: true\`)` };
  }
  try {
    ctx.assertLeaseHeld();
    const stack = await ctx.api.create<Stack['spec']>(
      { kind: STACK_KIND, metadata: { name: clusterName, project: '', labels: { [MADE_ON_FIRST_USE_LABEL]: 'true' } }, spec: { definitionRef: { name: definition }, clusterRef: { name: clusterName } } },
      { signal: ctx.signal },
    );
    ctx.logger.info({ cluster: clusterName, definition }, 'observability stack made on first use');
    return { stack: stack as Stack };
  } catch (error) {
    // Made meanwhile (another workload, another replica) or the name is taken: the next reconcile reads it.
    if (isErrorCode(error, 'Conflict')) return { reason: 'WaitingForObservability', missing: `ObservabilityInstance for cluster ${clusterName} is being made` };
    throw error;
  }
}

const condition = (type: string, ok: boolean, reason: string, message: string): Condition => ({ type, status: ok ? 'True' : 'False', reason, message });
const readyWhy = (stack: Stack) => stack.status.conditions?.find((c) => c.type === 'Ready')?.message ?? stack.status.message ?? '';

/**
 * The ServiceMonitor to apply with the workload (when its metrics are wanted and the cluster serves
 * the kind) and the `MetricsReady` / `LogsCollected` conditions.
 */
export async function observabilityOf(
  ctx: ComposeContext,
  obj: Resource<WorkloadInstanceSpec>,
  definition: WorkloadDefinitionSpec,
  connection: ClusterConnection,
  namespace: string,
): Promise<{ objects: KubeManifest[]; conditions: Condition[] }> {
  const metrics = wantsMetrics(obj.spec, definition);
  const logs = wantsLogs(obj.spec);
  if (!metrics && !logs) return { objects: [], conditions: [] };
  const clusterName = obj.spec.clusterRef.name;
  const found = await ensureStack(ctx, clusterName);
  const objects: KubeManifest[] = [];
  const conditions: Condition[] = [];
  if (metrics) {
    const served = (await connection.isNamespaced('monitoring.coreos.com/v1', 'ServiceMonitor', { signal: ctx.signal })) !== undefined;
    if (served) objects.push(serviceMonitor({ project: obj.metadata.project, name: obj.metadata.name, uid: obj.metadata.uid }, definition.metrics!));
    const port = definition.metrics!.port;
    if ('missing' in found) conditions.push(condition('MetricsReady', false, found.reason, `metrics on port ${port} are not scraped: ${found.missing}`));
    else if (!served) conditions.push(condition('MetricsReady', false, 'WaitingForObservability', `waiting for ObservabilityInstance ${found.stack.metadata.name} to install the ServiceMonitor kind on cluster ${clusterName} (${found.stack.status.phase ?? 'Pending'}${readyWhy(found.stack) ? `: ${readyWhy(found.stack)}` : ''})`));
    else if (found.stack.status.phase !== 'Ready') conditions.push(condition('MetricsReady', false, 'WaitingForObservability', `ServiceMonitor ${namespace}/${obj.metadata.name} is applied; ObservabilityInstance ${found.stack.metadata.name} is ${found.stack.status.phase ?? 'Pending'}${readyWhy(found.stack) ? ` (${readyWhy(found.stack)})` : ''}`));
    else conditions.push(condition('MetricsReady', true, 'Scraped', `ServiceMonitor ${namespace}/${obj.metadata.name} has ObservabilityInstance ${found.stack.metadata.name} scrape port ${port}${definition.metrics!.path ?? '/metrics'}`));
  }
  if (logs) {
    if ('missing' in found) conditions.push(condition('LogsCollected', false, found.reason, `logs are not collected: ${found.missing}`));
    else {
      const collected = Array.isArray(found.stack.status.outputs?.['logNamespaces']) ? (found.stack.status.outputs['logNamespaces'] as unknown[]) : [];
      if (collected.includes(namespace)) conditions.push(condition('LogsCollected', true, 'Collected', `the log collector of ObservabilityInstance ${found.stack.metadata.name} reads namespace ${namespace}`));
      else conditions.push(condition('LogsCollected', false, 'WaitingForObservability', `waiting for ObservabilityInstance ${found.stack.metadata.name} to configure its log collector for namespace ${namespace}`));
    }
  }
  return { objects, conditions };
}
