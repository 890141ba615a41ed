/**
 * An AwsAccount is checked, not built: the infra-controller asks STS who the credentials are
 * (GetCallerIdentity, after AssumeRole when the account names a role) and reports `Ready` with the
 * account id and the caller, or `Failed` with AWS's own message when AWS refuses them. Nothing is
 * provisioned with an account that is not Ready (the later steps of issue 11 wait on it). A
 * transient refusal (throttling, a 5xx, the network) is retried with backoff and shown as
 * `Progressing`; a healthy account is checked again now and then, since keys are revoked and trust
 * policies change without the spec changing.
 */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { ReconcileContext, ReconcileResult } from '@tugboat/controller-sdk';
import { awsMessage, classifyAwsError, clientConfig, createAccountCredentials, MissingCredentials, type AccountCredentials } from '@tugboat/aws';
import { keyOf, type Resource } from '@tugboat/resource-model';
import type { AwsAccountSpec, AwsAccountStatus } from './account-types.js';

export interface AccountReconcilerOptions {
  /** How often a Ready account is checked again. Default 10 minutes. */
  recheckEveryMs?: number;
  /** How soon a transient failure is tried again (doubled per attempt, up to 16×). Default 5 s. */
  retryMs?: number;
  /** Per STS call. Default 15 s. */
  requestTimeoutMs?: number;
  credentials?: AccountCredentials;
}

type Ctx = ReconcileContext<AwsAccountStatus>;
type Account = Resource<AwsAccountSpec, AwsAccountStatus>;

export function createAccountReconciler(options: AccountReconcilerOptions = {}) {
  const recheckEveryMs = options.recheckEveryMs ?? 600_000;
  const retryMs = options.retryMs ?? 5_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;

  const credentials = options.credentials ?? createAccountCredentials({ requestTimeoutMs });

  /** Who the account's credentials are, as STS says. Throws AWS's error or `MissingCredentials`. */
  async function callerOf(ctx: Ctx, obj: Account): Promise<{ account: string; arn: string }> {
    // A check is a check: keys revoked or a trust policy changed since the last one must show.
    credentials.forget(obj.metadata.uid);
    const ref = { uid: obj.metadata.uid, generation: obj.metadata.generation, name: obj.metadata.name, spec: obj.spec };
    const keys = await credentials.get(ref, (signal) => ctx.api.readSecrets(keyOf(obj), signal ? { signal } : {}), ctx.signal);
    const sts = new STSClient(clientConfig(obj.spec, keys, requestTimeoutMs));
    try {
      const identity = await sts.send(new GetCallerIdentityCommand({}), { abortSignal: ctx.signal });
      return { account: identity.Account ?? '', arn: identity.Arn ?? '' };
    } finally {
      sts.destroy();
    }
  }

  async function reconcile(ctx: Ctx, obj: Account): Promise<ReconcileResult> {
    const how = obj.spec.roleArn ? `role ${obj.spec.roleArn}` : `access key ${obj.spec.accessKeyId ?? '-'}`;
    try {
      const caller = await callerOf(ctx, obj);
      if (caller.account !== obj.spec.accountId) {
        const message = `the credentials (${how}) belong to account ${caller.account} (${caller.arn}), not ${obj.spec.accountId}: fix spec.accountId or the credentials`;
        ctx.setStatus({ phase: 'Failed', reason: 'AccountMismatch', message, conditions: [{ type: 'CredentialsValid', status: 'False', reason: 'AccountMismatch', message }] });
        return { requeueAfterMs: recheckEveryMs };
      }
      const message = `STS GetCallerIdentity: ${caller.arn}`;
      ctx.setStatus({
        phase: 'Ready',
        reason: 'Verified',
        message,
        conditions: [{ type: 'CredentialsValid', status: 'True', reason: 'Verified', message }],
        outputs: { accountId: caller.account, callerArn: caller.arn, region: obj.spec.region },
      });
      return { requeueAfterMs: recheckEveryMs };
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      if (error instanceof MissingCredentials) {
        ctx.setStatus({ phase: 'Failed', reason: 'NoCredentials', message: error.message, conditions: [{ type: 'CredentialsValid', status: 'False', reason: 'NoCredentials', message: error.message }] });
        return { done: true };
      }
      if (classifyAwsError(error) === 'Refused') {
        // AWS's own words: what an operator fixes (a revoked key, a trust policy, an external id).
        const message = `${how} refused by AWS: ${awsMessage(error)}`;
        ctx.setStatus({ phase: 'Failed', reason: 'InvalidCredentials', message, conditions: [{ type: 'CredentialsValid', status: 'False', reason: 'Invalid', message }] });
        return { requeueAfterMs: recheckEveryMs };
      }
      const message = `could not reach STS to check ${how} (attempt ${ctx.attempt}): ${awsMessage(error)}; retrying`;
      ctx.setStatus({ phase: 'Progressing', reason: 'AwsUnavailable', message, conditions: [{ type: 'CredentialsValid', status: 'Unknown', reason: 'AwsUnavailable', message }] });
      return { requeueAfterMs: retryMs * 2 ** Math.min(Math.max(ctx.attempt - 1, 0), 4) };
    }
  }

  /** Nothing is made for an account, so nothing is torn down (clusters that use it hold its delete). */
  async function finalize(): Promise<ReconcileResult> {
    return { done: true };
  }

  return { reconcile, finalize };
}

