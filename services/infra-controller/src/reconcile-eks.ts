/**
 * An EksCluster from nothing: network (unless the spec names a VPC), IAM roles, the EKS cluster, its
 * node groups, then day-two changes; and, on delete, all of it in reverse. Nothing happens until
 * the AwsAccount is Ready. Each pass walks every step, finding what exists by name, token or
 * ownership tag and making only what is missing, so a pass that crashes anywhere is repaired by
 * the next; a step that has to wait for AWS (a NAT gateway, a cluster, an update) requeues.
 */
import type { ReconcileContext, ReconcileResult } from '@tugboat/controller-sdk';
import { awsMessage, classifyAwsError, clientConfig, createAccountCredentials, MissingCredentials, type AccountCredentials, type AwsAccountSpec } from '@tugboat/aws';
import { keyOf, noKillPoint, type KillPoint, type Resource, type ResourceStatus } from '@tugboat/resource-model';
import { convergeNodegroups, ensureCluster, refuseDowngrade, teardownCluster } from './eks-cluster-steps.js';
import { deleteRoles, ensureRoles } from './eks-iam.js';
import { ensureNetwork, givenNetwork, teardownNetwork, type ClusterNetwork } from './eks-network.js';
import { KilledAtPoint, openEksRun, ProvisioningRefused, type EksRun } from './eks-run.js';
import type { EksClusterOutputs, EksClusterSpec, EksClusterStatus, InventoryItem } from './eks-types.js';

export interface EksReconcilerOptions {
  /** How soon a step that waits on AWS (CREATING, an update, a NAT gateway) looks again. Default 15 s. */
  pollMs?: number;
  /** The first retry after a throttled or transient AWS error; doubled per failure in a row, up to 32×. Default 5 s. */
  retryMs?: number;
  /** Per AWS call. Default 15 s. */
  requestTimeoutMs?: number;
  /** Crash-test hook (`eks.after-create-…`, see the README); production passes none. */
  killPoint?: KillPoint;
  credentials?: AccountCredentials;
}

type Ctx = ReconcileContext<EksClusterStatus>;
type EksCluster = Resource<EksClusterSpec, EksClusterStatus>;
type Account = Resource<AwsAccountSpec, ResourceStatus & { outputs?: { accountId?: string } }>;

const MAX_BACKOFF_EXPONENT = 5;

export function createEksReconciler(options: EksReconcilerOptions = {}) {
  const pollMs = options.pollMs ?? 15_000;
  const retryMs = options.retryMs ?? 5_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
  const killPoint = options.killPoint ?? noKillPoint;
  const credentials = options.credentials ?? createAccountCredentials({ requestTimeoutMs });

  /** The account, when it is Ready at its current generation; otherwise why not, in operator words. */
  async function readyAccount(ctx: Ctx, obj: EksCluster): Promise<Account | string> {
    const name = obj.spec.accountRef.name;
    const account = await ctx.api.get<AwsAccountSpec, Account['status']>({ kind: 'AwsAccount', name }, { signal: ctx.signal });
    if (account === undefined) return `AwsAccount ${name} does not exist`;
    const ready = account.status?.conditions?.find((condition) => condition.type === 'Ready');
    const phase = account.status?.phase ?? 'Pending';
    if (phase === 'Ready' && account.status.observedGeneration === account.metadata.generation) return account;
    const why = ready?.message ? ` (${ready.reason ?? phase}: ${ready.message})` : '';
    return `AwsAccount ${name} is ${phase === 'Ready' ? 'being checked again after a change' : phase}${why}; nothing is provisioned until it is Ready`;
  }

  /** Where this object's AWS resources are: the region of its first pass (status), else the spec's. */
  const regionOf = (obj: EksCluster) => obj.status?.region ?? obj.spec.region;

  async function open(ctx: Ctx, obj: EksCluster, account: Account): Promise<EksRun> {
    const ref = { uid: account.metadata.uid, generation: account.metadata.generation, name: account.metadata.name, spec: account.spec };
    const keys = await credentials.get(ref, (signal) => ctx.api.readSecrets(keyOf(account), signal ? { signal } : {}), ctx.signal);
    return openEksRun({
      config: clientConfig(account.spec, keys, requestTimeoutMs, regionOf(obj)),
      uid: obj.metadata.uid,
      name: obj.metadata.name,
      region: regionOf(obj),
      signal: ctx.signal,
      killPoint,
      assertLeaseHeld: () => ctx.assertLeaseHeld(),
    });
  }

  /** The inventory after a pass: exact when the pass saw everything, else what it saw added to the last one. */
  function inventoryAfter(obj: EksCluster, run: EksRun | undefined, complete: boolean): InventoryItem[] {
    const seen = [...(run?.inventory.values() ?? [])];
    if (complete) return seen;
    const merged = new Map<string, InventoryItem>();
    for (const item of [...(obj.status?.inventory ?? []), ...seen]) merged.set(`${item.type}/${item.id}`, item);
    return [...merged.values()];
  }

  /** Throttled and transient errors back off; the rest are the object's Failed phase, with AWS's words. */
  function failure(ctx: Ctx, obj: EksCluster, run: EksRun | undefined, step: string, error: unknown, accountRef: Account | undefined): ReconcileResult {
    if (error instanceof KilledAtPoint || ctx.signal.aborted) throw error;
    const inventory = inventoryAfter(obj, run, false);
    if (error instanceof ProvisioningRefused) {
      ctx.setStatus({ phase: 'Failed', reason: error.reason, message: `${step}: ${error.message}`, fields: { step, inventory, retries: 0, region: regionOf(obj) } });
      return { done: true };
    }
    if (error instanceof MissingCredentials) {
      ctx.setStatus({ phase: 'Failed', reason: 'InvalidCredentials', message: `${step}: ${error.message}`, fields: { step, inventory, retries: 0, region: regionOf(obj) } });
      return { done: true };
    }
    const kind = classifyAwsError(error);
    if (kind === 'Refused') {
      if (accountRef) credentials.forget(accountRef.metadata.uid);
      ctx.setStatus({ phase: 'Failed', reason: 'InvalidCredentials', message: `${step}: ${awsMessage(error)}`, fields: { step, inventory, retries: 0, region: regionOf(obj) } });
      return { done: true };
    }
    if (kind === 'Permanent') {
      ctx.setStatus({ phase: 'Failed', reason: 'ProvisioningFailed', message: `${step}: ${awsMessage(error)}`, fields: { step, inventory, retries: 0, region: regionOf(obj) } });
      return { done: true };
    }
    const retries = (obj.status?.retries ?? 0) + 1;
    const delay = retryMs * 2 ** Math.min(retries - 1, MAX_BACKOFF_EXPONENT);
    ctx.setStatus({
      phase: 'Progressing',
      reason: step,
      message: `${kind === 'Throttled' ? 'AWS throttles' : 'AWS failed'} (${awsMessage(error)}); retry ${retries} in ${delay < 1000 ? `${delay} ms` : `${Math.round(delay / 1000)} s`}`,
      fields: { step, inventory, retries, region: regionOf(obj) },
    });
    return { requeueAfterMs: delay };
  }

  async function reconcile(ctx: Ctx, obj: EksCluster): Promise<ReconcileResult> {
    const account = await readyAccount(ctx, obj);
    if (typeof account === 'string') {
      ctx.setStatus({ phase: 'Progressing', reason: 'AccountNotReady', message: account, fields: { step: 'AccountNotReady', inventory: obj.status?.inventory ?? [], retries: 0 } });
      return { requeueAfterMs: pollMs };
    }
    if (obj.status?.region === undefined) {
      // Recorded before the first AWS call, so a delete knows whether anything can exist in AWS
      // (an object that never got this far made nothing, whatever its account says now).
      ctx.setStatus({ phase: 'Progressing', reason: 'Starting', message: `provisioning in ${obj.spec.region} with AwsAccount ${obj.spec.accountRef.name}`, fields: { step: 'Starting', inventory: [], retries: 0, region: obj.spec.region } });
      return { requeueAfterMs: 1 };
    }
    let run: EksRun | undefined;
    try {
      if (regionOf(obj) !== obj.spec.region) {
        throw new ProvisioningRefused('RegionChangeRefused', `spec.region is ${obj.spec.region}, but this cluster lives in ${regionOf(obj)}: a cluster cannot move; set it back, or delete this EksCluster and create another`);
      }
      run = await open(ctx, obj, account);
      const outcome = await provision(run, obj, account);
      if ('waiting' in outcome) {
        ctx.setStatus({ phase: 'Progressing', reason: run.step, message: outcome.waiting, fields: { step: run.step, inventory: inventoryAfter(obj, run, false), retries: 0, region: regionOf(obj) } });
        return { requeueAfterMs: pollMs };
      }
      ctx.setStatus({
        phase: 'Ready',
        reason: 'Ready',
        message: `EKS cluster ${outcome.outputs.clusterName} ${outcome.outputs.version} is ACTIVE with ${outcome.outputs.nodegroups.length} node group(s)`,
        outputs: outcome.outputs,
        fields: { step: 'Ready', inventory: inventoryAfter(obj, run, true), retries: 0, region: regionOf(obj) },
      });
      return { done: true };
    } catch (error) {
      // Before the first AWS call (the region check, the account's credentials) the step is `Starting`.
      return failure(ctx, obj, run, run?.step ?? 'Starting', error, account);
    } finally {
      run?.close();
    }
  }

  async function provision(run: EksRun, obj: EksCluster, account: Account): Promise<{ waiting: string } | { outputs: EksClusterOutputs }> {
    const { spec } = obj;
    run.step = 'CreatingNetwork';
    let network: ClusterNetwork;
    if (spec.network?.vpcId !== undefined) {
      network = await givenNetwork(run, { ...spec.network, vpcId: spec.network.vpcId });
    } else {
      const made = await ensureNetwork(run, spec.network);
      if ('waiting' in made) return made;
      network = made;
    }
    run.step = 'CreatingIamRoles';
    const roles = await ensureRoles(run);
    const cluster = await ensureCluster(run, spec, roles, network);
    if ('waiting' in cluster) return cluster;
    refuseDowngrade(cluster, spec);
    const nodegroups = await convergeNodegroups(run, spec, obj.metadata.generation, cluster, roles, network);
    if ('waiting' in nodegroups) return nodegroups;
    run.step = 'Ready';
    return {
      outputs: {
        clusterName: cluster.name ?? run.name,
        region: run.region,
        endpoint: cluster.endpoint ?? '',
        certificateAuthority: cluster.certificateAuthority?.data ?? '',
        version: cluster.version ?? spec.version,
        arn: cluster.arn ?? '',
        accountId: account.status?.outputs?.accountId ?? account.spec.accountId,
        vpcId: network.vpcId,
        subnetIds: network.privateSubnetIds,
        publicSubnetIds: network.publicSubnetIds,
        nodegroups,
      },
    };
  }

  /**
   * The SDK writes status before finalize (phase Deleting), not after it: the teardown's progress is
   * written here, through the lease-guarded API, when it changed.
   */
  async function reportDeletion(ctx: Ctx, obj: EksCluster, step: string, message: string, inventory: InventoryItem[], failed = false): Promise<number> {
    const current = await ctx.api.get<EksClusterSpec, EksClusterStatus>(keyOf(obj), { signal: ctx.signal });
    if (current === undefined) return 0;
    const status = current.status ?? {};
    const retries = failed ? (status.retries ?? 0) + 1 : 0;
    const ready = status.conditions?.find((condition) => condition.type === 'Ready');
    const same = status.step === step && ready?.reason === step && ready.message === message && status.retries === retries && JSON.stringify(status.inventory ?? []) === JSON.stringify(inventory);
    if (same) return retries;
    const conditions = (status.conditions ?? []).filter((condition) => condition.type !== 'Ready');
    conditions.unshift({ type: 'Ready', status: 'False', reason: step, message, lastTransitionTime: ready?.lastTransitionTime ?? new Date().toISOString(), observedGeneration: current.metadata.generation });
    await ctx.api.writeStatus(keyOf(obj), { ...status, phase: 'Deleting', conditions, step, inventory, retries }, { resourceVersion: current.metadata.resourceVersion, signal: ctx.signal });
    return retries;
  }

  async function finalize(ctx: Ctx, obj: EksCluster): Promise<ReconcileResult> {
    // No region recorded: no AWS call was ever made for it (see reconcile), so there is nothing to tear down.
    if (obj.status?.region === undefined) return { done: true };
    const account = await readyAccount(ctx, obj);
    if (typeof account === 'string') {
      await reportDeletion(ctx, obj, 'AccountNotReady', `cannot delete yet: ${account}`, obj.status?.inventory ?? []);
      return { requeueAfterMs: pollMs };
    }
    let run: EksRun | undefined;
    try {
      run = await open(ctx, obj, account);
      run.step = 'DeletingNodegroups';
      const waitingOnCluster = await teardownCluster(run);
      if (waitingOnCluster !== undefined) {
        await reportDeletion(ctx, obj, run.step, waitingOnCluster, inventoryAfter(obj, run, false));
        return { requeueAfterMs: pollMs };
      }
      run.step = 'DeletingIamRoles';
      await deleteRoles(run);
      // By the owner tag only, so a VPC the spec names is never in it (nor, should the spec name one of ours, that one).
      run.step = 'DeletingNetwork';
      const keep = new Set([obj.spec.network?.vpcId, ...(obj.spec.network?.subnetIds ?? [])].filter((id): id is string => id !== undefined));
      const waitingOnNetwork = await teardownNetwork(run, keep);
      if (waitingOnNetwork !== undefined) {
        await reportDeletion(ctx, obj, run.step, waitingOnNetwork, inventoryAfter(obj, run, false));
        return { requeueAfterMs: pollMs };
      }
      return { done: true };
    } catch (error) {
      if (error instanceof KilledAtPoint || ctx.signal.aborted) throw error;
      const step = run?.step ?? 'Deleting';
      const kind = error instanceof MissingCredentials ? 'Refused' : classifyAwsError(error);
      // Nothing is given up on a delete: a refused or permanent error waits for an operator (fix the account, or force-remove the finalizer).
      const words = kind === 'Throttled' || kind === 'Transient' ? 'retrying after' : 'blocked, retrying slowly after';
      const retries = await reportDeletion(ctx, obj, step, `${words} ${error instanceof MissingCredentials ? error.message : awsMessage(error)}`, inventoryAfter(obj, run, false), true);
      return { requeueAfterMs: retryMs * 2 ** Math.min(Math.max(retries - 1, 0), MAX_BACKOFF_EXPONENT) };
    } finally {
      run?.close();
    }
  }

  return { reconcile, finalize };
}
