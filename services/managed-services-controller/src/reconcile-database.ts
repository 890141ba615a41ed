/**
 * A DatabaseInstance from nothing: a DB subnet group in its cluster's private subnets (or the
 * subnets given), a security group admitting the clients on the engine's port, and the RDS instance
 * with an RDS-managed master password; then day-two changes; and, on delete, the definition's
 * deletion policy. Nothing happens until the cluster (its EksCluster) and the AwsAccount are Ready.
 * Each pass walks every step, finding what exists by name or owner tag and making only what is
 * missing, so a pass that crashes anywhere is repaired by the next; a wait is a requeue.
 */
import type { ReconcileContext, ReconcileResult } from '@tugboat/controller-sdk';
import { awsMessage, classifyAwsError, clientConfig, createAccountCredentials, MissingCredentials, type AccountCredentials, type AwsAccountSpec } from '@tugboat/aws';
import { keyOf, noKillPoint, type KillPoint, type Resource, type ResourceStatus } from '@tugboat/resource-model';
import { convergeInstance, ensureInstance, instanceOutputs, pendingChanges, rotatePassword, type DesiredInstance } from './database-instance-steps.js';
import { enginePort, instanceIdentifier } from './database-naming.js';
import { ensureParameterGroup } from './database-parameter-group.js';
import { ensureSecurityGroup, ensureSubnetGroup, resolveNetwork, type Placement } from './database-network.js';
import { awsCode, KilledAtPoint, openDatabaseRun, ProvisioningRefused, type DatabaseRun } from './database-run.js';
import { teardownDatabase } from './database-teardown.js';
import type { DatabaseDefinitionSpec, DatabaseInstanceSpec, DatabaseInstanceStatus, DatabaseOutputs, PendingChanges } from './database-types.js';

export interface DatabaseReconcilerOptions {
  /** How soon a step that waits on AWS (an instance creating or modifying, a delete) looks again. Default 15 s. */
  pollMs?: number;
  /** The first retry after a throttled or transient AWS error; doubled per failure in a row, up to 32×. Default 5 s. */
  retryMs?: number;
  /** Per AWS call. Default 15 s. */
  requestTimeoutMs?: number;
  /** Crash-test hook (`db.after-create-…`, see the README); production passes none. */
  killPoint?: KillPoint;
  credentials?: AccountCredentials;
}

type Ctx = ReconcileContext<DatabaseInstanceStatus>;
type Database = Resource<DatabaseInstanceSpec, DatabaseInstanceStatus>;
type Account = Resource<AwsAccountSpec, ResourceStatus & { outputs?: { accountId?: string } }>;
interface EksClusterView {
  accountRef: { name: string };
}
type EksStatus = ResourceStatus & { outputs?: { region?: string; vpcId?: string; subnetIds?: string[] } };

const MAX_BACKOFF_EXPONENT = 5;
/** Quotas RDS names without a "LimitExceeded": permanent, like the rest of the quotas. */
const PERMANENT_RDS = new Set(['InstanceQuotaExceeded', 'StorageQuotaExceeded', 'DBSubnetGroupQuotaExceeded', 'SnapshotQuotaExceeded', 'DBSubnetGroupDoesNotCoverEnoughAZs', 'InvalidSubnet', 'InvalidVPCNetworkState', 'StorageTypeNotSupported', 'KMSKeyNotAccessible', 'DBSubnetGroupNotFound']);

const readyReason = (status: ResourceStatus | undefined) => status?.conditions?.find((condition) => condition.type === 'Ready');

export function createDatabaseReconciler(options: DatabaseReconcilerOptions = {}) {
  const pollMs = options.pollMs ?? 15_000;
  const retryMs = options.retryMs ?? 5_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
  const killPoint = options.killPoint ?? noKillPoint;
  const credentials = options.credentials ?? createAccountCredentials({ requestTimeoutMs });

  function classify(error: unknown) {
    return PERMANENT_RDS.has(awsCode(error)) ? 'Permanent' : classifyAwsError(error);
  }

  async function readyAccount(ctx: Ctx, name: string): Promise<Account | string> {
    const account = await ctx.api.get<AwsAccountSpec, Account['status']>({ kind: 'AwsAccount', name }, { signal: ctx.signal });
    if (account === undefined) return `AwsAccount ${name} does not exist`;
    const ready = readyReason(account.status);
    const phase = account.status?.phase ?? 'Pending';
    if (phase === 'Ready' && account.status.observedGeneration === account.metadata.generation) return account;
    const why = ready?.message ? ` (${ready.reason ?? phase}: ${ready.message})` : '';
    return `AwsAccount ${name} is ${phase === 'Ready' ? 'being checked again after a change' : phase}${why}; nothing is provisioned until it is Ready`;
  }

  /** Where the database goes: the spec's network, or its cluster's EksCluster (the same name), once that has a network. */
  async function placementOf(ctx: Ctx, obj: Database): Promise<{ placement: Placement } | { waiting: string }> {
    const { network, clusterRef } = obj.spec;
    if (network !== undefined) {
      return { placement: { accountName: network.accountRef.name, region: network.region, subnetIds: network.subnetIds, ...(network.allowedCidrs ? { allowedCidrs: network.allowedCidrs } : {}) } };
    }
    const name = clusterRef?.name ?? '';
    const eks = await ctx.api.get<EksClusterView, EksStatus>({ kind: 'EksCluster', name }, { signal: ctx.signal });
    if (eks === undefined) {
      return { waiting: `ClusterInstance ${name} has no EksCluster (yet): a database joins the network of a cluster Tugboat provisioned (for another cluster, give spec.network instead)` };
    }
    const outputs = eks.status?.outputs;
    const phase = eks.status?.phase ?? 'Pending';
    // Once the database exists, a cluster that is changing (an upgrade) does not stop it: its network stays.
    const usable = phase === 'Ready' || (obj.status?.region !== undefined && outputs?.vpcId !== undefined);
    if (!usable || outputs?.vpcId === undefined || outputs.region === undefined || (outputs.subnetIds ?? []).length === 0) {
      const ready = readyReason(eks.status);
      return { waiting: `EksCluster ${name} is ${phase}${ready?.message ? ` (${ready.reason ?? phase}: ${ready.message})` : ''}; the database is made in its network once it is Ready` };
    }
    return { placement: { accountName: eks.spec.accountRef.name, region: outputs.region, subnetIds: outputs.subnetIds ?? [], vpcId: outputs.vpcId } };
  }

  function desiredOf(obj: Database, definition: DatabaseDefinitionSpec): DesiredInstance {
    const defaults = definition.defaults ?? {};
    return {
      engine: definition.engine,
      version: obj.spec.version ?? defaults.version ?? definition.allowedVersions[0] ?? '',
      instanceClass: obj.spec.instanceClass ?? defaults.instanceClass ?? definition.allowedInstanceClasses[0] ?? '',
      storageGb: obj.spec.storageGb ?? defaults.storageGb ?? definition.storageGb.min,
      databaseName: obj.spec.databaseName,
      backupRetentionDays: definition.backupRetentionDays ?? 7,
      multiAz: definition.multiAz ?? false,
      ...(definition.maintenanceWindow ? { maintenanceWindow: definition.maintenanceWindow } : {}),
      applyImmediately: (definition.applyChanges ?? 'immediately') === 'immediately',
      parameters: obj.spec.parameters ?? {},
    };
  }

  async function open(ctx: Ctx, obj: Database, account: Account, region: string): Promise<DatabaseRun> {
    const ref = { uid: account.metadata.uid, generation: account.metadata.generation, name: account.metadata.name, spec: account.spec };
    const keys = await credentials.get(ref, (signal) => ctx.api.readSecrets(keyOf(account), signal ? { signal } : {}), ctx.signal);
    return openDatabaseRun({
      config: clientConfig(account.spec, keys, requestTimeoutMs, region),
      uid: obj.metadata.uid,
      project: obj.metadata.project ?? '',
      name: obj.metadata.name,
      region,
      signal: ctx.signal,
      killPoint,
      assertLeaseHeld: () => ctx.assertLeaseHeld(),
    });
  }

  /** The fields every status write carries (what a delete goes by, and the outputs a client keeps while it changes). */
  function fields(obj: Database, step: string, retries: number, extra: Partial<DatabaseInstanceStatus> = {}): Partial<DatabaseInstanceStatus> {
    return {
      step,
      retries,
      ...(obj.status?.region !== undefined ? { region: obj.status.region } : {}),
      ...(obj.status?.accountName !== undefined ? { accountName: obj.status.accountName } : {}),
      instanceIdentifier: instanceIdentifier(obj.metadata.project ?? '', obj.metadata.name),
      // The SDK merges fields into the last status: a change that is no longer pending is dropped here.
      pendingChanges: undefined,
      ...extra,
    };
  }

  /** Throttled and transient errors back off; the rest are the object's Failed phase, with AWS's words. */
  function failure(ctx: Ctx, obj: Database, step: string, error: unknown, account: Account | undefined): ReconcileResult {
    if (error instanceof KilledAtPoint || ctx.signal.aborted) throw error;
    const outputs = obj.status?.outputs ? { outputs: obj.status.outputs } : {};
    if (error instanceof ProvisioningRefused) {
      ctx.setStatus({ phase: 'Failed', reason: error.reason, message: `${step}: ${error.message}`, ...outputs, fields: fields(obj, step, 0) });
      return { done: true };
    }
    if (error instanceof MissingCredentials) {
      ctx.setStatus({ phase: 'Failed', reason: 'InvalidCredentials', message: `${step}: ${error.message}`, fields: fields(obj, step, 0) });
      return { done: true };
    }
    const kind = classify(error);
    if (kind === 'Refused') {
      if (account) credentials.forget(account.metadata.uid);
      ctx.setStatus({ phase: 'Failed', reason: 'InvalidCredentials', message: `${step}: ${awsMessage(error)}`, fields: fields(obj, step, 0) });
      return { done: true };
    }
    if (kind === 'Permanent') {
      ctx.setStatus({ phase: 'Failed', reason: 'ProvisioningFailed', message: `${step}: ${awsMessage(error)}`, ...outputs, fields: fields(obj, step, 0) });
      return { done: true };
    }
    const retries = (obj.status?.retries ?? 0) + 1;
    const delay = retryMs * 2 ** Math.min(retries - 1, MAX_BACKOFF_EXPONENT);
    ctx.setStatus({
      phase: 'Progressing',
      reason: step,
      message: `${kind === 'Throttled' ? 'AWS throttles' : 'AWS failed'} (${awsMessage(error)}); retry ${retries} in ${delay < 1000 ? `${delay} ms` : `${Math.round(delay / 1000)} s`}`,
      ...outputs,
      fields: fields(obj, step, retries),
    });
    return { requeueAfterMs: delay };
  }

  async function reconcile(ctx: Ctx, obj: Database): Promise<ReconcileResult> {
    const definitionName = obj.spec.definitionRef.name;
    const definition = await ctx.api.get<DatabaseDefinitionSpec>({ kind: 'DatabaseDefinition', name: definitionName }, { signal: ctx.signal });
    if (definition === undefined) {
      ctx.setStatus({ phase: 'Progressing', reason: 'DefinitionMissing', message: `DatabaseDefinition ${definitionName} does not exist`, fields: fields(obj, 'DefinitionMissing', 0) });
      return { requeueAfterMs: pollMs };
    }
    const where = await placementOf(ctx, obj);
    if ('waiting' in where) {
      ctx.setStatus({ phase: 'Progressing', reason: 'WaitingForCluster', message: where.waiting, fields: fields(obj, 'WaitingForCluster', 0) });
      return { requeueAfterMs: pollMs };
    }
    const { placement } = where;
    // The account and region of the first pass stay (the API refuses a move): a delete goes by them.
    const accountName = obj.status?.accountName ?? placement.accountName;
    const region = obj.status?.region ?? placement.region;
    const account = await readyAccount(ctx, accountName);
    if (typeof account === 'string') {
      ctx.setStatus({ phase: 'Progressing', reason: 'AccountNotReady', message: account, fields: fields(obj, 'AccountNotReady', 0) });
      return { requeueAfterMs: pollMs };
    }
    if (obj.status?.region === undefined || obj.status.accountName === undefined) {
      // Recorded before the first AWS call, so a delete knows whether anything can exist in AWS, and where.
      ctx.setStatus({
        phase: 'Progressing',
        reason: 'Starting',
        message: `provisioning in ${region} with AwsAccount ${accountName}`,
        fields: { ...fields(obj, 'Starting', 0), region, accountName },
      });
      return { requeueAfterMs: 1 };
    }
    let run: DatabaseRun | undefined;
    try {
      run = await open(ctx, obj, account, region);
      const desired = desiredOf(obj, definition.spec);
      const outcome = await provision(run, obj, placement, desired, accountName);
      const kept = obj.status?.outputs ? { outputs: obj.status.outputs } : {};
      if ('waiting' in outcome) {
        ctx.setStatus({ phase: 'Progressing', reason: run.step, message: outcome.waiting, ...kept, fields: fields(obj, run.step, 0) });
        return { requeueAfterMs: pollMs };
      }
      const { outputs, pending } = outcome;
      ctx.setStatus({
        phase: 'Ready',
        reason: 'Ready',
        message: `${outputs.engine} ${outputs.engineVersion} at ${outputs.host}:${outputs.port} is available${pending ? `; pending until the maintenance window ${pending.maintenanceWindow}: ${pendingWords(pending)}` : ''}`,
        outputs,
        // The published password answers the spec's rotation token (a new database's password is new).
        fields: fields(obj, 'Ready', 0, { ...(pending ? { pendingChanges: pending } : {}), passwordRotation: obj.spec.passwordRotation ?? '' }),
      });
      // Changes waiting for the window: look again now and then, to report them applied.
      return pending ? { requeueAfterMs: pollMs } : { done: true };
    } catch (error) {
      return failure(ctx, obj, run?.step ?? 'Starting', error, account);
    } finally {
      run?.close();
    }
  }

  async function provision(
    run: DatabaseRun,
    obj: Database,
    placement: Placement,
    desired: DesiredInstance,
    accountName: string,
  ): Promise<{ waiting: string } | { outputs: DatabaseOutputs; pending: PendingChanges | undefined }> {
    run.step = 'CreatingSubnetGroup';
    const network = await resolveNetwork(run, placement, obj.spec.clusterRef !== undefined);
    const subnetGroup = await ensureSubnetGroup(run, placement.subnetIds);
    const securityGroupId = await ensureSecurityGroup(run, network.vpcId, enginePort(desired.engine), network.allowedCidrs);
    const parameterGroup = await ensureParameterGroup(run, desired.engine, desired.version, desired.parameters);
    const found = await ensureInstance(run, desired, subnetGroup, securityGroupId, parameterGroup);
    if ('waiting' in found) return found;
    const instance = await convergeInstance(run, found, desired, parameterGroup);
    if ('waiting' in instance) return instance;
    const described = await instanceOutputs(run, instance, desired, accountName);
    if ('waiting' in described) return described;
    const token = obj.spec.passwordRotation ?? '';
    if (token !== '' && token !== (obj.status?.passwordRotation ?? '')) {
      const rotating = await rotatePassword(run, described.outputs.passwordVersion, obj.status?.outputs?.passwordVersion, token);
      if (rotating !== undefined) return rotating;
    }
    run.step = 'Ready';
    return { outputs: described.outputs, pending: pendingChanges(instance) };
  }

  /**
   * The SDK writes status before finalize (phase Deleting), not after it: the teardown's progress is
   * written here, through the lease-guarded API, when it changed.
   */
  async function reportDeletion(ctx: Ctx, obj: Database, step: string, message: string, failed = false): Promise<number> {
    const current = await ctx.api.get<DatabaseInstanceSpec, DatabaseInstanceStatus>(keyOf(obj), { signal: ctx.signal });
    if (current === undefined) return 0;
    const status = current.status ?? {};
    const retries = failed ? (status.retries ?? 0) + 1 : 0;
    const ready = readyReason(status);
    if (status.step === step && ready?.reason === step && ready.message === message && status.retries === retries) return retries;
    const conditions = (status.conditions ?? []).filter((condition) => condition.type !== 'Ready');
    conditions.unshift({ type: 'Ready', status: 'False', reason: step, message, lastTransitionTime: ready?.lastTransitionTime ?? new Date().toISOString(), observedGeneration: current.metadata.generation });
    await ctx.api.writeStatus(keyOf(obj), { ...status, phase: 'Deleting', conditions, step, retries }, { resourceVersion: current.metadata.resourceVersion, signal: ctx.signal });
    return retries;
  }

  async function finalize(ctx: Ctx, obj: Database): Promise<ReconcileResult> {
    // No region recorded: no AWS call was ever made for it (see reconcile), so there is nothing to tear down.
    const region = obj.status?.region;
    const accountName = obj.status?.accountName;
    if (region === undefined || accountName === undefined) return { done: true };
    const definition = await ctx.api.get<DatabaseDefinitionSpec>({ kind: 'DatabaseDefinition', name: obj.spec.definitionRef.name }, { signal: ctx.signal });
    // The definition cannot go while this instance names it; should it have anyway, the safe choice is a snapshot.
    const policy = definition?.spec.deletionPolicy ?? 'snapshot';
    const account = await readyAccount(ctx, accountName);
    if (typeof account === 'string') {
      await reportDeletion(ctx, obj, 'AccountNotReady', `cannot delete yet: ${account}`);
      return { requeueAfterMs: pollMs };
    }
    let run: DatabaseRun | undefined;
    try {
      run = await open(ctx, obj, account, region);
      const waiting = await teardownDatabase(run, policy);
      if (waiting !== undefined) {
        await reportDeletion(ctx, obj, run.step, waiting);
        return { requeueAfterMs: pollMs };
      }
      return { done: true };
    } catch (error) {
      if (error instanceof KilledAtPoint || ctx.signal.aborted) throw error;
      const step = run?.step ?? 'Deleting';
      const kind = error instanceof MissingCredentials ? 'Refused' : classify(error);
      // Nothing is given up on a delete: a refused or permanent error waits for an operator (fix the account, or force-remove the finalizer).
      const words = kind === 'Throttled' || kind === 'Transient' ? 'retrying after' : 'blocked, retrying slowly after';
      const retries = await reportDeletion(ctx, obj, step, `${words} ${error instanceof MissingCredentials ? error.message : awsMessage(error)}`, true);
      return { requeueAfterMs: retryMs * 2 ** Math.min(Math.max(retries - 1, 0), MAX_BACKOFF_EXPONENT) };
    } finally {
      run?.close();
    }
  }

  return { reconcile, finalize };
}

function pendingWords(pending: NonNullable<DatabaseInstanceStatus['pendingChanges']>): string {
  return [pending.instanceClass ? `class ${pending.instanceClass}` : '', pending.storageGb ? `storage ${pending.storageGb} GiB` : '', pending.engineVersion ? `version ${pending.engineVersion}` : '']
    .filter((part) => part !== '')
    .join(', ');
}
