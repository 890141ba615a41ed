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
import { keyOf, noKillPoint, type KillPoint, type Resource, type ResourceStatus } from '@tugboat/resource-model';
import { createHash } from 'node:crypto';
import { accountOf } from './route53-access.js';

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
  requestTimeoutMs: number;
  retryMs: number;
  waitMs: number;
  killPoint?: KillPoint;
}

/** The AWS secret's name: one per SecretInstance. */
export const awsSecretName = (secret: Pick<Secret, 'metadata'>) => `tugboat/${secret.metadata.project}/${secret.metadata.name}`;

/** The client request token of a generation's version: the same on every retry, another for the next generation. */
export const versionToken = (secret: Pick<Secret, 'metadata'>) =>
  createHash('sha256').update(`${secret.metadata.uid}/${secret.metadata.generation}`).digest('hex').slice(0, 40);

export function createSecretReconciler(options: SecretReconcilerOptions) {
  const killPoint = options.killPoint ?? noKillPoint;
  const pass = (point: string) => {
    if (killPoint.pass(point, 1) === 0) throw new KilledAtPoint(`killed at ${point}`);
  };

  async function valueOf(ctx: Ctx, secret: Secret): Promise<string | undefined> {
    const value = (await ctx.api.readSecrets(keyOf(secret), { signal: ctx.signal }))['value'];
    return typeof value === 'string' && value !== '' ? value : undefined;
  }

  async function secretsManager(ctx: Ctx, definition: SecretDefinitionSpec): Promise<{ client: SecretsManagerClient; region: string; accountUid: string } | string> {
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
    return { client: new SecretsManagerClient(clientConfig(account.spec, keys, options.requestTimeoutMs, region)), region, accountUid: account.metadata.uid };
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
      ctx.setStatus({
        phase: 'Ready',
        reason: 'Stored',
        message: `the value (generation ${secret.metadata.generation}) is version ${versionId} of AWS secret ${name} in ${region}`,
        outputs: { backend: 'aws-secrets-manager', key: secret.spec.key, secretArn: arn, secretName: name, region, versionId: versionId ?? token, version: String(secret.metadata.generation) },
        fields: { retries: 0 },
      });
      return undefined;
    } catch (error) {
      if (error instanceof KilledAtPoint || ctx.signal.aborted) throw error;
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
