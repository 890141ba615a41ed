/**
 * An `AwsAccount` as its clients use it: the credentials its spec names (an access key pair whose
 * secret is read through the API's audited secret route, a role assumed through STS with an
 * external id, or both), cached until shortly before they expire.
 */
import { AssumeRoleCommand, STSClient, type STSClientConfig } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';

/** `AwsAccount.spec` (the built-in schema in `@tugboat/resource-model`). */
export interface AwsAccountSpec {
  accountId: string;
  region: string;
  /** A role assumed through STS, with the account's keys or else the process's own credentials. */
  roleArn?: string;
  /** The external id the role's trust policy asks for (`sts:ExternalId`). */
  externalId?: string;
  accessKeyId?: string;
  /** A secret field: `"<redacted>"` in a read, its value through the API's secrets route. */
  secretAccessKey?: string;
  /** An endpoint override for every AWS service (the sandbox in tests and the local demo). */
  endpoint?: string;
}

/** What the account needs to be used: the object's identity and spec, and a way to read its secret. */
export interface AccountRef {
  uid: string;
  generation: number;
  name: string;
  spec: AwsAccountSpec;
}

export type SecretReader = (signal?: AbortSignal) => Promise<Record<string, unknown>>;

/** The account's spec cannot make credentials: what to fix is in the message. */
export class MissingCredentials extends Error {
  override readonly name = 'MissingCredentials';
}

/** Assumed-role credentials are renewed this long before they expire. */
const RENEW_BEFORE_MS = 5 * 60_000;

export interface AccountCredentialsOptions {
  /** Per STS call. Default 15 s. */
  requestTimeoutMs?: number;
  now?: () => number;
}

/** The options every AWS SDK client of an account shares (region, endpoint override, timeout). */
export interface AwsClientConfig {
  region: string;
  endpoint?: string;
  credentials?: STSClientConfig['credentials'];
  maxAttempts: number;
  requestHandler: { requestTimeout: number };
}

export function clientConfig(spec: AwsAccountSpec, credentials: STSClientConfig['credentials'] | undefined, requestTimeoutMs: number, region = spec.region): AwsClientConfig {
  return {
    region,
    ...(spec.endpoint ? { endpoint: spec.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    // The controllers retry on their own schedule, with backoff; one SDK retry absorbs a blip.
    maxAttempts: 2,
    requestHandler: { requestTimeout: requestTimeoutMs },
  };
}

/**
 * Credentials per account, cached by the account's uid and generation (a changed spec is read
 * again) and, for an assumed role, until five minutes before they expire.
 */
export function createAccountCredentials(options: AccountCredentialsOptions = {}) {
  const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { generation: number; credentials: AwsCredentialIdentity }>();

  async function resolve(account: AccountRef, readSecrets: SecretReader, signal?: AbortSignal): Promise<AwsCredentialIdentity> {
    const { spec } = account;
    let credentials: AwsCredentialIdentity | undefined;
    if (spec.accessKeyId) {
      const secretAccessKey = (await readSecrets(signal))['secretAccessKey'];
      if (typeof secretAccessKey !== 'string' || secretAccessKey === '') throw new MissingCredentials(`AwsAccount ${account.name}: spec.secretAccessKey is empty: set it with spec.accessKeyId`);
      credentials = { accessKeyId: spec.accessKeyId, secretAccessKey };
    }
    if (spec.roleArn) {
      const sts = new STSClient(clientConfig(spec, credentials, requestTimeoutMs));
      try {
        const assumed = await sts.send(
          new AssumeRoleCommand({ RoleArn: spec.roleArn, RoleSessionName: `tugboat-${account.name}`.slice(0, 64), ...(spec.externalId ? { ExternalId: spec.externalId } : {}) }),
          signal ? { abortSignal: signal } : {},
        );
        const c = assumed.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey) throw new MissingCredentials(`AssumeRole ${spec.roleArn} returned no credentials`);
        credentials = {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
          ...(c.Expiration ? { expiration: c.Expiration } : {}),
        };
      } finally {
        sts.destroy();
      }
    }
    if (!credentials) throw new MissingCredentials(`AwsAccount ${account.name}: give spec.accessKeyId and spec.secretAccessKey, or spec.roleArn (with spec.externalId when the role asks for one)`);
    return credentials;
  }

  return {
    /** The account's credentials (cached); throws AWS's error or `MissingCredentials`. */
    async get(account: AccountRef, readSecrets: SecretReader, signal?: AbortSignal): Promise<AwsCredentialIdentity> {
      const held = cache.get(account.uid);
      const fresh = held !== undefined && held.generation === account.generation && (held.credentials.expiration === undefined || held.credentials.expiration.getTime() - now() > RENEW_BEFORE_MS);
      if (fresh) return held.credentials;
      const credentials = await resolve(account, readSecrets, signal);
      cache.set(account.uid, { generation: account.generation, credentials });
      return credentials;
    },
    /** Forgets an account's credentials (after AWS refused them, or the account is gone). */
    forget(uid: string): void {
      cache.delete(uid);
    },
  };
}

export type AccountCredentials = ReturnType<typeof createAccountCredentials>;
