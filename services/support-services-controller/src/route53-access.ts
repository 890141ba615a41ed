/**
 * A domain's Route 53 client: signed with its AwsAccount's credentials (Route 53 is global: its
 * calls are signed for us-east-1), with the account's endpoint override (the sandbox in tests).
 */
import { Route53Client } from '@aws-sdk/client-route-53';
import { clientConfig, type AccountCredentials, type AwsAccountSpec } from '@tugboat/aws';
import type { ApiClient } from '@tugboat/api-client';
import type { Resource } from '@tugboat/resource-model';

export const ROUTE53_REGION = 'us-east-1';

export type Account = Resource<AwsAccountSpec>;

export interface Route53Access {
  route53: Route53Client;
  account: Account;
}

/** The account (or the words why there is none ready) for a domain's `accountRef`. */
export async function accountOf(api: Pick<ApiClient, 'get'>, name: string, signal: AbortSignal): Promise<Account | string> {
  const account = await api.get<AwsAccountSpec>({ kind: 'AwsAccount', name }, { signal });
  if (account === undefined) return `AwsAccount ${name} does not exist`;
  if (account.status.phase !== 'Ready') return `AwsAccount ${name} is ${account.status.phase ?? 'Pending'}${account.status.conditions?.find((c) => c.type === 'Ready')?.message ? ` (${account.status.conditions.find((c) => c.type === 'Ready')!.message})` : ''}`;
  return account;
}

export async function openRoute53(api: Pick<ApiClient, 'readSecrets'>, account: Account, credentials: AccountCredentials, requestTimeoutMs: number, signal: AbortSignal): Promise<Route53Client> {
  const key = { kind: 'AwsAccount', name: account.metadata.name };
  const keys = await credentials.get(
    { uid: account.metadata.uid, generation: account.metadata.generation, name: account.metadata.name, spec: account.spec },
    (readSignal) => api.readSecrets(key, { signal: readSignal ?? signal }),
    signal,
  );
  return new Route53Client(clientConfig(account.spec, keys, requestTimeoutMs, ROUTE53_REGION));
}
