import type { ReconcileContext, ReconcileResult } from '@tugboat/controller-sdk';
import { isKubeClusterError, KubeClusterError, type ClusterConnection, type ClusterConnections, type KubeFailureReason } from '@tugboat/kube';
import { keyOf, type Condition, type Resource } from '@tugboat/resource-model';
import { baseConfiguration, baseConfigurationForRemoval, FIELD_MANAGER } from './base-configuration.js';
import type { ClusterDefinitionSpec, ClusterSpec, ClusterStatus } from './cluster-types.js';

export interface ClusterReconcilerOptions {
  connections: ClusterConnections;
  /** How often a healthy cluster is checked again. Default 30 s. */
  healthCheckEveryMs?: number;
  /** How soon a cluster that failed its check is tried again. Default 5 s. */
  degradedRetryMs?: number;
  /** How often a cluster waiting for the infra-controller (provider eks) is looked at. Default 60 s. */
  waitingRetryMs?: number;
}

type Ctx = ReconcileContext<ClusterStatus>;
type Cluster = Resource<ClusterSpec, ClusterStatus>;

/** Condition reasons for `Connected` by failure; the contract's words for the operator. */
const CONNECTED_REASON: Record<KubeFailureReason, string> = {
  Unreachable: 'Unreachable',
  Unauthorized: 'Unauthorized',
  InvalidKubeconfig: 'InvalidKubeconfig',
  Other: 'RequestFailed',
};

export function createClusterReconciler(options: ClusterReconcilerOptions) {
  const healthCheckEveryMs = options.healthCheckEveryMs ?? 30_000;
  const degradedRetryMs = options.degradedRetryMs ?? 5_000;
  const waitingRetryMs = options.waitingRetryMs ?? 60_000;

  async function definitionOf(ctx: Ctx, obj: Cluster): Promise<Resource<ClusterDefinitionSpec> | undefined> {
    return ctx.api.get<ClusterDefinitionSpec>({ kind: 'ClusterDefinition', name: obj.spec.definitionRef.name }, { signal: ctx.signal });
  }

  /** The kubeconfig from the API's explicit secret read (the object itself carries it redacted). */
  async function connectionOf(ctx: Ctx, obj: Cluster): Promise<ClusterConnection> {
    const secrets = await ctx.api.readSecrets(keyOf(obj), { signal: ctx.signal });
    const kubeconfig = secrets['kubeconfig'];
    if (typeof kubeconfig !== 'string' || kubeconfig.length === 0) {
      throw new KubeClusterError('invalid kubeconfig: spec.kubeconfig is empty; set it to the cluster’s kubeconfig', { reason: 'InvalidKubeconfig' });
    }
    return options.connections.connect({ uid: obj.metadata.uid, kubeconfig, ...(obj.spec.context ? { context: obj.spec.context } : {}) });
  }

  async function reconcile(ctx: Ctx, obj: Cluster): Promise<ReconcileResult> {
    const definition = await definitionOf(ctx, obj);
    if (definition === undefined) {
      ctx.setStatus({
        phase: 'Progressing',
        reason: 'DefinitionMissing',
        message: `ClusterDefinition ${obj.spec.definitionRef.name} does not exist`,
      });
      return { requeueAfterMs: degradedRetryMs };
    }
    const provider = definition.spec.provider ?? 'kubeconfig';
    if (provider === 'eks') {
      const message = `provider eks: waiting for the infra-controller to provision the cluster and publish its endpoint and credentials`;
      ctx.setStatus({
        phase: 'Progressing',
        reason: 'WaitingForInfrastructure',
        message,
        conditions: [{ type: 'Connected', status: 'Unknown', reason: 'WaitingForInfrastructure', message }],
      });
      return { requeueAfterMs: waitingRetryMs };
    }

    let endpoint = obj.status.outputs?.endpoint;
    try {
      const cluster = await connectionOf(ctx, obj);
      endpoint = cluster.endpoint;
      const version = await cluster.serverVersion({ signal: ctx.signal });
      const nodes = await cluster.listNodes({ signal: ctx.signal });
      const readyNodes = nodes.filter((node) => node.ready).length;
      for (const object of baseConfiguration(obj.metadata.name)) {
        ctx.assertLeaseHeld();
        await cluster.apply(object, { fieldManager: FIELD_MANAGER, signal: ctx.signal });
      }
      const outputs = { endpoint, serverVersion: version.gitVersion, readyNodes, nodes: nodes.length };
      const connected: Condition = {
        type: 'Connected',
        status: 'True',
        reason: 'Connected',
        message: `${endpoint} answered: Kubernetes ${version.gitVersion}, ${readyNodes}/${nodes.length} nodes ready`,
      };
      const conditions: Condition[] = [connected];
      const problems: string[] = [];
      const allowed = definition.spec.allowedVersions;
      if (allowed !== undefined && allowed.length > 0) {
        const minor = `${version.major}.${version.minor.replace(/\D+$/, '')}`;
        const ok = allowed.includes(minor);
        conditions.push({
          type: 'VersionAllowed',
          status: ok ? 'True' : 'False',
          reason: ok ? 'VersionAllowed' : 'VersionNotAllowed',
          message: ok
            ? `Kubernetes ${minor} is allowed by ClusterDefinition ${definition.metadata.name}`
            : `Kubernetes ${minor} is not in ClusterDefinition ${definition.metadata.name}'s allowedVersions (${allowed.join(', ')})`,
        });
        if (!ok) problems.push(`Kubernetes ${minor} is not in the definition's allowedVersions (${allowed.join(', ')})`);
      }
      if (readyNodes === 0) problems.push(nodes.length === 0 ? 'the cluster has no nodes' : `none of its ${nodes.length} nodes is Ready`);
      if (problems.length > 0) {
        ctx.setStatus({ phase: 'Degraded', reason: 'Unhealthy', message: problems.join('; '), conditions, outputs });
        return { requeueAfterMs: degradedRetryMs };
      }
      ctx.setStatus({
        phase: 'Ready',
        reason: 'Healthy',
        message: `${readyNodes}/${nodes.length} nodes ready; base configuration applied`,
        conditions,
        outputs,
      });
      return { requeueAfterMs: healthCheckEveryMs };
    } catch (error) {
      if (!isKubeClusterError(error) || ctx.signal.aborted) throw error;
      ctx.logger.warn({ reason: error.reason, endpoint: error.endpoint, err: error.message }, 'cluster check failed');
      ctx.setStatus({
        phase: 'Degraded',
        reason: CONNECTED_REASON[error.reason],
        message: error.message,
        conditions: [{ type: 'Connected', status: 'False', reason: CONNECTED_REASON[error.reason], message: error.message }],
        // Keep what was last seen (version, nodes) beside the endpoint: still useful while it is down.
        ...(endpoint === undefined && error.endpoint === undefined ? {} : { outputs: { ...obj.status.outputs, endpoint: (error.endpoint ?? endpoint)! } }),
      });
      return { requeueAfterMs: degradedRetryMs };
    }
  }

  async function finalize(ctx: Ctx, obj: Cluster): Promise<ReconcileResult> {
    const definition = await definitionOf(ctx, obj);
    // Nothing was installed on a cluster the controller never reached (an eks cluster waiting).
    if (definition?.spec.provider === 'eks') return;
    try {
      const cluster = await connectionOf(ctx, obj);
      for (const object of baseConfigurationForRemoval(obj.metadata.name)) {
        ctx.assertLeaseHeld();
        await cluster.delete(object, { signal: ctx.signal });
      }
      options.connections.drop(obj.metadata.uid);
    } catch (error) {
      if (!isKubeClusterError(error) || ctx.signal.aborted) throw error;
      // Say why deletion waits, then throw: the SDK retries with capped exponential backoff.
      const message = `cannot remove the base configuration (${error.message}); retrying with backoff — \`tug delete clusterinstance ${obj.metadata.name} --force\` removes the object without cleaning the cluster`;
      await writeDeletingStatus(ctx, obj, {
        type: 'Connected',
        status: 'False',
        reason: CONNECTED_REASON[error.reason],
        message,
      });
      throw new KubeClusterError(message, { reason: error.reason, ...(error.endpoint ? { endpoint: error.endpoint } : {}), cause: error });
    }
  }

  /** The SDK writes `Deleting` once before finalize; the reason it is stuck is written here. */
  async function writeDeletingStatus(ctx: Ctx, obj: Cluster, connected: Condition): Promise<void> {
    const current = await ctx.api.get<ClusterSpec, ClusterStatus>(keyOf(obj), { signal: ctx.signal });
    if (current === undefined) return;
    const now = new Date().toISOString();
    const before = current.status.conditions ?? [];
    const keep = (condition: Condition, previous: Condition | undefined): Condition => ({
      ...condition,
      lastTransitionTime: previous !== undefined && previous.status === condition.status && previous.lastTransitionTime ? previous.lastTransitionTime : now,
      observedGeneration: current.metadata.generation,
    });
    const ready: Condition = { type: 'Ready', status: 'False', reason: 'DeletionBlocked', message: connected.message ?? '' };
    const replaced = new Map(before.map((condition) => [condition.type, condition]));
    for (const condition of [ready, connected]) replaced.set(condition.type, keep(condition, replaced.get(condition.type)));
    const status: ClusterStatus = { ...current.status, phase: 'Deleting', conditions: [...replaced.values()] };
    try {
      await ctx.api.writeStatus(keyOf(obj), status, { resourceVersion: current.metadata.resourceVersion, signal: ctx.signal });
    } catch (error) {
      ctx.logger.warn({ err: error }, 'could not write why deletion waits');
    }
  }

  return { reconcile, finalize };
}
