/**
 * A SecretInstance, kept where its definition says values live:
 * - `tugboat`: the value stays sealed in Tugboat; Ready once there is one (the workload-controller
 *   puts it into the namespaces of the apps that receive it).
 * - `aws-secrets-manager`: the value written to the secret `tugboat/<project>/<name>` with the
 *   definition's account, each generation as one version whose client request token is derived
 *   from the object's uid and generation (so a write repeated after a crash is the same version,
 *   never a second one). Status outputs: the secret's ARN and the version id. Deleting it deletes
 *   the AWS secret with the definition's recovery window (restorable meanwhile).
 * The value is read through the API's audited secret route, and never written to a status, an
 * event or a log line.
 */
import { CreateSecretCommand, DeleteSecretCommand, DescribeSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsCode, awsFailure, clientConfig, KilledAtPoint, type AccountCredentials } from '@tugboat/aws';
import type { ReconcileContext, ReconcileResult } from '@tugboat/controller-sdk';
import { keyOf, noKillPoint, type Condition, type KillPoint, type Resource, type ResourceStatus } from '@tugboat/resource-model';
import { clusterSecretStoreName } from '@tugboat/workloads';
import { createHash } from 'node:crypto';
import { accountOf, type Account } from './route53-access.js';
import type { SecretStores, StoreEntry } from './secret-stores.js';

type Ctx = ReconcileContext<ResourceStatus>;

export interface SecretDefinitionSpec {
  backend: 'tugboat' | 'aws-secrets-manager';
  accountRef?: { name: string };
  region?: string;
  recoveryWindowDays?: number;
}

export interface SecretInstanceSpec {
  definitionRef: { name: string };
  key: string;
  value?: string;
}

export type Secret = Resource<SecretInstanceSpec, ResourceStatus>;

export interface SecretReconcilerOptions {
  credentials: AccountCredentials;
  /** The External Secrets Operator's stores on the clusters of the apps that receive a Secrets Manager secret. */
  stores?: SecretStores;
  /** How soon a secret whose store is not ready yet is looked at again. Default 3 s. */
  progressMs?: number;
  /** How often a secret with stores checks them (a store deleted by hand, an account changed). Default 60 s. */
  recheckMs?: number;
  requestTimeoutMs: number;
  retryMs: number;
  waitMs: number;
  killPoint?: KillPoint;
}

/** The stores a secret's status reports (`status.stores`). */
const storesOf = (secret: Secret): StoreEntry[] => (Array.isArray(secret.status['stores']) ? (secret.status['stores'] as StoreEntry[]) : []);

/** `StoresReady`: every cluster's store ready, or the first that is not and why. */
function storesCondition(stores: readonly StoreEntry[]): Condition {
  const down = stores.find((entry) => !entry.ready);
  if (down !== undefined) return { type: 'StoresReady', status: 'False', reason: down.reason, message: down.message };
  const clusters = stores.map((entry) => entry.cluster);
  return { type: 'StoresReady', status: 'True', reason: clusters.length === 0 ? 'NoApps' : 'StoreReady', message: clusters.length === 0 ? 'no app receives it yet' : `its store is ready on cluster${clusters.length === 1 ? '' : 's'} ${clusters.join(', ')}` };
}

/** The AWS secret's name: one per SecretInstance. */
export const awsSecretName = (secret: Pick<Secret, 'metadata'>) => `tugboat/${secret.metadata.project}/${secret.metadata.name}`;

/** The client request token of a generation's version: the same on every retry, another for the next generation. */
export const versionToken = (secret: Pick<Secret, 'metadata'>) =>
  createHash('sha256').update(`${secret.metadata.uid}/${secret.metadata.generation}`).digest('hex').slice(0, 40);

export function createSecretReconciler(options: SecretReconcilerOptions) {
  const killPoint = options.killPoint ?? noKillPoint;
  const progressMs = options.progressMs ?? 3_000;
  const recheckMs = options.recheckMs ?? 60_000;
  const pass = (point: string) => {
    if (killPoint.pass(point, 1) === 0) throw new KilledAtPoint(`killed at ${point}`);
  };

  async function valueOf(ctx: Ctx, secret: Secret): Promise<string | undefined> {
    const value = (await ctx.api.readSecrets(keyOf(secret), { signal: ctx.signal }))['value'];
    return typeof value === 'string' && value !== '' ? value : undefined;
  }

  async function secretsManager(ctx: Ctx, definition: SecretDefinitionSpec): Promise<{ client: SecretsManagerClient; region: string; accountUid: string; account: Account } | string> {
    if (definition.accountRef === undefined) return 'the SecretDefinition names no accountRef';
    const account = await accountOf(ctx.api, definition.accountRef.name, ctx.signal);
    if (typeof account === 'string') return account;
    const key = { kind: 'AwsAccount', name: account.metadata.name };
    const keys = await options.credentials.get(
      { uid: account.metadata.uid, generation: account.metadata.generation, name: account.metadata.name, spec: account.spec },
      (signal) => ctx.api.readSecrets(key, { signal: signal ?? ctx.signal }),
      ctx.signal,
    );
    const region = definition.region ?? account.spec.region;
    return { client: new SecretsManagerClient(clientConfig(account.spec, keys, options.requestTimeoutMs, region)), region, accountUid: account.metadata.uid, account };
  }

  /**
   * The definition's store on each cluster where an app that receives the secret runs (installed
   * on first use), and gone from those it left when no other app there needs it.
   */
  async function deliverStores(ctx: Ctx, secret: Secret, definition: Resource<SecretDefinitionSpec, ResourceStatus>, account: Account, region: string): Promise<StoreEntry[]> {
    const stores = options.stores;
    if (stores === undefined) return [];
    const self = { project: secret.metadata.project, name: secret.metadata.name };
    const wanted = await stores.receivingClusters(ctx, self);
    const entries: StoreEntry[] = [];
    const source = {
      definition,
      region,
      account,
      secretAccessKey: async () => {
        const value = (await ctx.api.readSecrets({ kind: 'AwsAccount', name: account.metadata.name }, { signal: ctx.signal }))['secretAccessKey'];
        return typeof value === 'string' && value !== '' ? value : undefined;
      },
    };
    for (const [cluster, workloads] of [...wanted.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const state = await stores.ensure(ctx, cluster, source);
      entries.push({ cluster, store: clusterSecretStoreName(definition.metadata.name), workloads, ...state });
    }
    for (const left of storesOf(secret).filter((entry) => !wanted.has(entry.cluster))) {
      const problem = await removeStoreUnlessNeeded(ctx, secret, definition.metadata.name, left.cluster);
      if (problem !== undefined) entries.push({ ...left, workloads: [], ready: false, reason: 'StoreRemovalFailed', message: problem });
    }
    return entries;
  }

  /** Removes the store from a cluster no app of this secret is on any more, unless another secret of the definition is read there. */
  async function removeStoreUnlessNeeded(ctx: Ctx, secret: Secret, definition: string, cluster: string): Promise<string | undefined> {
    const stores = options.stores;
    if (stores === undefined) return undefined;
    if (await stores.neededOn(ctx, definition, cluster, { project: secret.metadata.project, name: secret.metadata.name })) return undefined;
    const problem = await stores.remove(ctx, cluster, definition);
    if (problem === undefined) ctx.logger.info({ cluster, store: clusterSecretStoreName(definition) }, 'removed the store: no app on the cluster receives a secret of its definition any more');
    return problem;
  }

  async function reconcile(ctx: Ctx, secret: Secret): Promise<ReconcileResult> {
    const definitionName = secret.spec.definitionRef.name;
    const definition = await ctx.api.get<SecretDefinitionSpec>({ kind: 'SecretDefinition', name: definitionName }, { signal: ctx.signal });
    if (definition === undefined) {
      ctx.setStatus({ phase: 'Progressing', reason: 'DefinitionMissing', message: `SecretDefinition ${definitionName} does not exist` });
      return { requeueAfterMs: options.waitMs };
    }
    // A Tugboat-sealed value reported at this generation needs no second (audited) read: a new value is a new generation.
    if (definition.spec.backend === 'tugboat' && secret.status.phase === 'Ready' && secret.status.observedGeneration === secret.metadata.generation) return undefined;
    const value = await valueOf(ctx, secret);
    if (value === undefined) {
      ctx.setStatus({ phase: 'Progressing', reason: 'WaitingForValue', message: `no value yet: set it with \`tug secret set secretinstance/${secret.metadata.name} -p ${secret.metadata.project} --from-file FILE\`` });
      return undefined;
    }
    if (definition.spec.backend === 'tugboat') {
      ctx.setStatus({ phase: 'Ready', reason: 'Stored', message: `the value (generation ${secret.metadata.generation}) is sealed in Tugboat`, outputs: { backend: 'tugboat', key: secret.spec.key, version: String(secret.metadata.generation) } });
      return undefined;
    }
    const opened = await secretsManager(ctx, definition.spec);
    if (typeof opened === 'string') {
      ctx.setStatus({ phase: 'Progressing', reason: 'AccountNotReady', message: opened });
      return { requeueAfterMs: options.waitMs };
    }
    const { client, region } = opened;
    const name = awsSecretName(secret);
    const token = versionToken(secret);
    const send = { abortSignal: ctx.signal };
    let step = 'WriteSecret';
    try {
      let arn: string | undefined;
      let versionId: string | undefined;
      try {
        const described = await client.send(new DescribeSecretCommand({ SecretId: name }), send);
        arn = described.ARN;
        if (described.DeletedDate !== undefined) {
          step = 'RestoreSecret';
          throw new Error(`AWS secret ${name} is scheduled for deletion (deleted ${described.DeletedDate.toISOString()}): restore it (aws secretsmanager restore-secret) or wait until it is gone`);
        }
        // This generation's version already written (a retry after a crash): nothing to do.
        if (described.VersionIdsToStages?.[token]?.includes('AWSCURRENT')) versionId = token;
      } catch (error) {
        if (awsCode(error) !== 'ResourceNotFound') throw error;
      }
      if (arn === undefined) {
        ctx.assertLeaseHeld();
        const created = await client.send(
          new CreateSecretCommand({ Name: name, SecretString: value, ClientRequestToken: token, Description: `Tugboat SecretInstance ${secret.metadata.project}/${secret.metadata.name}`, Tags: [{ Key: 'tugboat.dev/secret-uid', Value: secret.metadata.uid }] }),
          send,
        );
        pass('secret.after-write');
        arn = created.ARN;
        versionId = created.VersionId;
      } else if (versionId === undefined) {
        ctx.assertLeaseHeld();
        const put = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value, ClientRequestToken: token }), send);
        pass('secret.after-write');
        versionId = put.VersionId;
      }
      const stored = `the value (generation ${secret.metadata.generation}) is version ${versionId} of AWS secret ${name} in ${region}`;
      const outputs = { backend: 'aws-secrets-manager', key: secret.spec.key, secretArn: arn, secretName: name, region, versionId: versionId ?? token, version: String(secret.metadata.generation) };
      // Written: the apps' workload-controller may pin this version now; the stores it is read through follow.
      step = 'Stores';
      const stores = await deliverStores(ctx, secret, definition, opened.account, region);
      const down = stores.find((entry) => !entry.ready);
      if (down !== undefined) {
        ctx.setStatus({ phase: 'Progressing', reason: down.reason, message: `${stored}; ${down.message}`, outputs, fields: { retries: 0, stores }, conditions: [storesCondition(stores)] });
        return { requeueAfterMs: progressMs };
      }
      ctx.setStatus({ phase: 'Ready', reason: 'Stored', message: stored, outputs, fields: { retries: 0, stores }, conditions: [storesCondition(stores)] });
      return stores.length > 0 ? { requeueAfterMs: recheckMs } : undefined;
    } catch (error) {
      // Not AWS's answer (the API, a cluster): the SDK retries with backoff.
      if (error instanceof KilledAtPoint || ctx.signal.aborted || step === 'Stores') throw error;
      if (step === 'RestoreSecret') {
        ctx.setStatus({ phase: 'Failed', reason: 'ScheduledForDeletion', message: (error as Error).message });
        return { requeueAfterMs: options.waitMs };
      }
      const failure = awsFailure(error, { step, previousRetries: typeof secret.status['retries'] === 'number' ? secret.status['retries'] : 0, retryMs: options.retryMs });
      if (failure.credentialsRefused) options.credentials.forget(opened.accountUid);
      ctx.setStatus({ phase: failure.phase, reason: failure.reason, message: failure.message, fields: { retries: failure.retries } });
      return failure.retryAfterMs === undefined ? { done: true } : { requeueAfterMs: failure.retryAfterMs };
    } finally {
      client.destroy();
    }
  }

  async function finalize(ctx: Ctx, secret: Secret): Promise<ReconcileResult> {
    if (secret.status.outputs?.['backend'] !== 'aws-secrets-manager') return undefined;
    const definition = await ctx.api.get<SecretDefinitionSpec>({ kind: 'SecretDefinition', name: secret.spec.definitionRef.name }, { signal: ctx.signal });
    if (definition === undefined) return undefined;
    // Its apps are gone (a secret in use cannot be deleted): its stores too, where no other secret of the definition is read.
    for (const entry of storesOf(secret)) {
      const problem = await removeStoreUnlessNeeded(ctx, secret, definition.metadata.name, entry.cluster);
      if (problem !== undefined) throw new Error(problem);
    }
    const opened = await secretsManager(ctx, definition.spec);
    if (typeof opened === 'string') throw new Error(`cannot delete AWS secret ${awsSecretName(secret)}: ${opened}`);
    try {
      ctx.assertLeaseHeld();
      await opened.client.send(new DeleteSecretCommand({ SecretId: awsSecretName(secret), RecoveryWindowInDays: definition.spec.recoveryWindowDays ?? 7 }), { abortSignal: ctx.signal });
      pass('secret.after-delete');
    } catch (error) {
      // Gone already, or already scheduled for deletion by an earlier try.
      if (awsCode(error) !== 'ResourceNotFound' && awsCode(error) !== 'InvalidRequest') throw error;
    } finally {
      opened.client.destroy();
    }
    return undefined;
  }

  return { reconcile, finalize };
}
