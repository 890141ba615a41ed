/**
 * An AwsAccount is checked, not built: the infra-controller asks STS who the credentials are
 * (GetCallerIdentity, after AssumeRole when the account names a role) and reports `Ready` with the
 * account id and the caller, or `Failed` with AWS's own message when AWS refuses them. Nothing is
 * provisioned with an account that is not Ready (the later steps of issue 11 wait on it). A
 * transient refusal (throttling, a 5xx, the network) is retried with backoff and shown as
 * `Progressing`; a healthy account is checked again now and then, since keys are revoked and trust
 * policies change without the spec changing.
 */
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient, type STSClientConfig } from '@aws-sdk/client-sts';
import type { ReconcileContext, ReconcileResult } from '@tugboat/controller-sdk';
import { keyOf, type Resource } from '@tugboat/resource-model';
import type { AwsAccountSpec, AwsAccountStatus } from './account-types.js';

export interface AccountReconcilerOptions {
  /** How often a Ready account is checked again. Default 10 minutes. */
  recheckEveryMs?: number;
  /** How soon a transient failure is tried again (doubled per attempt, up to 16×). Default 5 s. */
  retryMs?: number;
  /** Per STS call. Default 15 s. */
  requestTimeoutMs?: number;
}

type Ctx = ReconcileContext<AwsAccountStatus>;
type Account = Resource<AwsAccountSpec, AwsAccountStatus>;

/** AWS error names that mean "these credentials are not accepted": the account is Invalid. */
const REFUSED = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'AccessDenied',
  'AccessDeniedException',
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'AuthFailure',
  'MissingAuthenticationToken',
  'RegionDisabledException',
  'CredentialsProviderError',
]);

interface AwsLikeError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** `Refused` for credentials AWS does not accept; `Transient` for what a retry may cure. */
export function classifyAwsError(error: unknown): 'Refused' | 'Transient' {
  const { name, $metadata } = (error ?? {}) as AwsLikeError;
  if (name && REFUSED.has(name)) return 'Refused';
  const status = $metadata?.httpStatusCode;
  if (status === 401 || status === 403) return 'Refused';
  return 'Transient';
}

function awsMessage(error: unknown): string {
  const { name, message } = (error ?? {}) as AwsLikeError;
  return `${name ?? 'Error'}: ${message ?? String(error)}`;
}

export function createAccountReconciler(options: AccountReconcilerOptions = {}) {
  const recheckEveryMs = options.recheckEveryMs ?? 600_000;
  const retryMs = options.retryMs ?? 5_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;

  function client(spec: AwsAccountSpec, credentials?: STSClientConfig['credentials']): STSClient {
    return new STSClient({
      region: spec.region,
      ...(spec.endpoint ? { endpoint: spec.endpoint } : {}),
      ...(credentials ? { credentials } : {}),
      // The controller retries on its own schedule; one SDK retry absorbs a blip.
      maxAttempts: 2,
      requestHandler: { requestTimeout: requestTimeoutMs },
    });
  }

  /** Who the account's credentials are, as STS says. Throws AWS's error. */
  async function callerOf(ctx: Ctx, obj: Account): Promise<{ account: string; arn: string }> {
    const { spec } = obj;
    let credentials: STSClientConfig['credentials'] | undefined;
    if (spec.accessKeyId) {
      const secrets = await ctx.api.readSecrets(keyOf(obj), { signal: ctx.signal });
      const secretAccessKey = secrets['secretAccessKey'];
      if (typeof secretAccessKey !== 'string' || secretAccessKey === '') throw new MissingCredentials('spec.secretAccessKey is empty: set it with spec.accessKeyId');
      credentials = { accessKeyId: spec.accessKeyId, secretAccessKey };
    }
    if (spec.roleArn) {
      // With the account's keys, or else the controller's own credentials (its environment, as the AWS SDK reads it).
      const base = client(spec, credentials);
      try {
        const assumed = await base.send(
          new AssumeRoleCommand({ RoleArn: spec.roleArn, RoleSessionName: `tugboat-${obj.metadata.name}`.slice(0, 64), ...(spec.externalId ? { ExternalId: spec.externalId } : {}) }),
          { abortSignal: ctx.signal },
        );
        const c = assumed.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey) throw new MissingCredentials(`AssumeRole ${spec.roleArn} returned no credentials`);
        credentials = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}) };
      } finally {
        base.destroy();
      }
    }
    if (!credentials) throw new MissingCredentials('spec: give accessKeyId and secretAccessKey, or roleArn (with externalId when the role asks for one)');
    const sts = client(spec, credentials);
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

class MissingCredentials extends Error {}
