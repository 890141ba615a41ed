import { createEksAccess, eksEndpointOf, type AwsAccountSpec, type EksAccess, type EksEndpoint } from '@tugboat/aws';
import type { ReconcileContext, ReconcileResult } from '@tugboat/controller-sdk';
import { isKubeClusterError, KubeClusterError, type ClusterConnection, type ClusterConnections, type KubeFailureReason } from '@tugboat/kube';
import { isErrorCode, keyOf, sameJson, type Condition, type Resource } from '@tugboat/resource-model';
import { baseConfiguration, baseConfigurationForRemoval, FIELD_MANAGER } from './base-configuration.js';
import type { ClusterDefinitionSpec, ClusterSpec, ClusterStatus } from './cluster-types.js';
import { desiredEksSpec, EKS_CLUSTER_KIND, eksProgress, ownedBy, type EksClusterResource, type EksClusterSpec } from './eks-composition.js';

export interface ClusterReconcilerOptions {
  connections: ClusterConnections;
  /** How often a healthy cluster is checked again. Default 30 s. */
  healthCheckEveryMs?: number;
  /** How soon a cluster that failed its check is tried again. Default 5 s. */
  degradedRetryMs?: number;
  /** How often a cluster waiting for the infra-controller (provider eks) is looked at; its EksCluster's status also wakes it. Default 30 s. */
  waitingRetryMs?: number;
  /** EKS tokens for provider eks (made with the cluster's AwsAccount credentials). */
  eksAccess?: EksAccess;
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
  const waitingRetryMs = options.waitingRetryMs ?? 30_000;
  const eksAccess = options.eksAccess ?? createEksAccess();

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
    let connect: () => Promise<ClusterConnection> = () => connectionOf(ctx, obj);
    let eks: { cluster: EksClusterResource; endpoint: EksEndpoint } | undefined;
    if (provider === 'eks') {
      const composed = await composeEks(ctx, obj, definition);
      if ('result' in composed) return composed.result;
      eks = composed;
      connect = () => eksConnectionOf(ctx, obj, composed.cluster, composed.endpoint);
    }

    let endpoint = obj.status.outputs?.endpoint;
    // What a client of an eks cluster needs besides the endpoint (the workload-controller connects with it).
    const eksOutputs = eks === undefined ? {} : { provider: 'eks', clusterName: eks.endpoint.clusterName, region: eks.endpoint.region, certificateAuthority: eks.endpoint.certificateAuthority };
    try {
      const cluster = await connect();
      endpoint = cluster.endpoint;
      const version = await cluster.serverVersion({ signal: ctx.signal });
      const nodes = await cluster.listNodes({ signal: ctx.signal });
      const readyNodes = nodes.filter((node) => node.ready).length;
      for (const object of baseConfiguration(obj.metadata.name)) {
        ctx.assertLeaseHeld();
        await cluster.apply(object, { fieldManager: FIELD_MANAGER, signal: ctx.signal });
      }
      const outputs = { endpoint, serverVersion: version.gitVersion, readyNodes, nodes: nodes.length, ...eksOutputs };
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
      if (eks !== undefined && !eksSettled(eks.cluster)) {
        // Reachable, but the infra-controller is changing it (node groups, version): say which step.
        ctx.setStatus({ phase: 'Progressing', reason: 'InfrastructureChanging', message: eksProgress(eks.cluster), conditions: [...conditions, infrastructureCondition(eks.cluster)], outputs });
        return { requeueAfterMs: waitingRetryMs };
      }
      if (eks !== undefined) conditions.push(infrastructureCondition(eks.cluster));
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
        ...(endpoint === undefined && error.endpoint === undefined ? {} : { outputs: { ...obj.status.outputs, ...eksOutputs, endpoint: (error.endpoint ?? endpoint)! } }),
      });
      return { requeueAfterMs: degradedRetryMs };
    }
  }

  /**
   * The instance's EksCluster, written as the instance and its definition say; the endpoint once
   * the infra-controller has published it, or the status that says why not yet.
   */
  async function composeEks(
    ctx: Ctx,
    obj: Cluster,
    definition: Resource<ClusterDefinitionSpec>,
  ): Promise<{ cluster: EksClusterResource; endpoint: EksEndpoint } | { result: ReconcileResult }> {
    const desired = desiredEksSpec(obj.spec, definition.spec);
    if ('missing' in desired) {
      const message = `provider eks (ClusterDefinition ${definition.metadata.name}) needs ${desired.missing.join(', ')}`;
      ctx.setStatus({ phase: 'Failed', reason: 'InvalidSpec', message, conditions: [{ type: 'Infrastructure', status: 'False', reason: 'InvalidSpec', message }] });
      return { result: { done: true } };
    }
    const key = { kind: EKS_CLUSTER_KIND, name: obj.metadata.name };
    let cluster = await ctx.api.get<EksClusterSpec>(key, { signal: ctx.signal });
    const waiting = (phase: 'Progressing' | 'Failed', reason: string, message: string) => {
      ctx.setStatus({ phase, reason, message, conditions: [{ type: 'Infrastructure', status: phase === 'Failed' ? 'False' : 'Unknown', reason, message }] });
      return { result: { requeueAfterMs: waitingRetryMs } };
    };
    if (cluster === undefined) {
      ctx.assertLeaseHeld();
      try {
        cluster = await ctx.api.create<EksClusterSpec>(
          { kind: EKS_CLUSTER_KIND, metadata: { name: obj.metadata.name, ownerReferences: [{ kind: 'ClusterInstance', name: obj.metadata.name }] }, spec: desired.spec },
          { signal: ctx.signal },
        );
      } catch (error) {
        // Made in the meantime (by a user, or a create whose answer was lost): look again soon.
        if (isErrorCode(error, 'Conflict')) return { result: { requeueAfterMs: degradedRetryMs } };
        throw error;
      }
      ctx.logger.info({ eksCluster: cluster.metadata.name }, 'EksCluster created');
    } else if (!ownedBy(cluster, obj)) {
      return waiting('Failed', 'NameTaken', `EksCluster ${cluster.metadata.name} exists and does not belong to this ClusterInstance (no owner reference to it): delete it, or name this cluster differently`);
    } else if (cluster.metadata.deletionRequestedAt !== null) {
      return waiting('Progressing', 'Replacing', `${eksProgress(cluster)}; it is being deleted, and a new one is made when it is gone`);
    } else if (!sameJson(cluster.spec, desired.spec)) {
      ctx.assertLeaseHeld();
      try {
        cluster = await ctx.api.replace<EksClusterSpec>(
          { kind: EKS_CLUSTER_KIND, metadata: { name: cluster.metadata.name, resourceVersion: cluster.metadata.resourceVersion, ownerReferences: [{ kind: 'ClusterInstance', name: obj.metadata.name }] }, spec: desired.spec },
          { signal: ctx.signal },
        );
      } catch (error) {
        if (isErrorCode(error, 'Conflict')) return { result: { requeueAfterMs: degradedRetryMs } };
        throw error;
      }
    }
    const endpoint = eksEndpointOf(cluster.status.outputs);
    if (endpoint === undefined) {
      // Failed only once the infra-controller has judged this spec: a failure of the spec before
      // (just replaced) made the instance Failed at its new generation, and a Failed object is not
      // reconciled again until its spec changes, so it stayed Failed after its EksCluster was Ready.
      const failed = cluster.status.phase === 'Failed' && cluster.status.observedGeneration === cluster.metadata.generation;
      return waiting(failed ? 'Failed' : 'Progressing', failed ? 'InfrastructureFailed' : 'Provisioning', eksProgress(cluster));
    }
    return { cluster, endpoint };
  }

  /** The EKS connection: the endpoint and CA from the EksCluster, a token signed with its account's credentials. */
  async function eksConnectionOf(ctx: Ctx, obj: Cluster, cluster: EksClusterResource, endpoint: EksEndpoint): Promise<ClusterConnection> {
    const accountKey = { kind: 'AwsAccount', name: cluster.spec.accountRef.name };
    const account = await ctx.api.get<AwsAccountSpec>(accountKey, { signal: ctx.signal });
    if (account === undefined) throw new KubeClusterError(`AwsAccount ${accountKey.name} does not exist: no credentials to sign an EKS token with`, { reason: 'Unauthorized', endpoint: endpoint.endpoint });
    const api = ctx.api;
    const input = eksAccess.connection(
      endpoint,
      { uid: account.metadata.uid, generation: account.metadata.generation, name: account.metadata.name, spec: account.spec },
      (signal) => api.readSecrets(accountKey, { signal: signal ?? AbortSignal.timeout(15_000) }),
    );
    return options.connections.connect({ uid: obj.metadata.uid, ...input });
  }

  async function finalize(ctx: Ctx, obj: Cluster): Promise<ReconcileResult> {
    const definition = await definitionOf(ctx, obj);
    if (definition?.spec.provider === 'eks') return finalizeEks(ctx, obj);
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

  /**
   * An eks cluster goes with its EksCluster (the API marked it for deletion with its owner): nothing
   * to remove from a cluster that is being destroyed, but the instance stays, `Deleting` with the
   * infra-controller's step, until the EksCluster is gone.
   */
  async function finalizeEks(ctx: Ctx, obj: Cluster): Promise<ReconcileResult> {
    const key = { kind: EKS_CLUSTER_KIND, name: obj.metadata.name };
    const cluster = await ctx.api.get<EksClusterSpec>(key, { signal: ctx.signal });
    if (cluster !== undefined && ownedBy(cluster, obj)) {
      if (cluster.metadata.deletionRequestedAt === null) {
        ctx.assertLeaseHeld();
        await ctx.api.delete(key, { signal: ctx.signal });
      }
      const message = `waiting for the infra-controller to tear down the AWS resources: ${eksProgress(cluster)}`;
      await writeDeletingStatus(ctx, obj, { type: 'Infrastructure', status: 'False', reason: 'Deleting', message }, 'WaitingForInfrastructure');
      return { requeueAfterMs: Math.min(waitingRetryMs, 10_000) };
    }
    options.connections.drop(obj.metadata.uid);
    return { done: true };
  }

  /** The SDK writes `Deleting` once before finalize; the reason it is stuck is written here. */
  async function writeDeletingStatus(ctx: Ctx, obj: Cluster, connected: Condition, readyReason = 'DeletionBlocked'): Promise<void> {
    const current = await ctx.api.get<ClusterSpec, ClusterStatus>(keyOf(obj), { signal: ctx.signal });
    if (current === undefined) return;
    const now = new Date().toISOString();
    const before = current.status.conditions ?? [];
    const keep = (condition: Condition, previous: Condition | undefined): Condition => ({
      ...condition,
      lastTransitionTime: previous !== undefined && previous.status === condition.status && previous.lastTransitionTime ? previous.lastTransitionTime : now,
      observedGeneration: current.metadata.generation,
    });
    const ready: Condition = { type: 'Ready', status: 'False', reason: readyReason, message: connected.message ?? '' };
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

/** Whether the infra-controller has finished with the EksCluster's current spec. */
function eksSettled(cluster: EksClusterResource): boolean {
  return cluster.status.phase === 'Ready' && cluster.status.observedGeneration === cluster.metadata.generation;
}

function infrastructureCondition(cluster: EksClusterResource): Condition {
  const settled = eksSettled(cluster);
  return {
    type: 'Infrastructure',
    status: settled ? 'True' : 'False',
    reason: settled ? 'Provisioned' : (cluster.status.conditions?.find((c) => c.type === 'Ready')?.reason ?? 'Provisioning'),
    message: eksProgress(cluster),
  };
}
