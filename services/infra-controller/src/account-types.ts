import type { ResourceStatus } from '@tugboat/resource-model';

/** `AwsAccount.spec` (the built-in schema in `@tugboat/resource-model`). */
export interface AwsAccountSpec {
  accountId: string;
  region: string;
  /** A role assumed through STS, with the account's keys or else the controller's own credentials. */
  roleArn?: string;
  /** The external id the role's trust policy asks for (`sts:ExternalId`). */
  externalId?: string;
  accessKeyId?: string;
  /** A secret field: `"<redacted>"` here, read through the API's secrets route. */
  secretAccessKey?: string;
  /** An endpoint override (the sandbox). */
  endpoint?: string;
}

export interface AwsAccountStatus extends ResourceStatus {
  outputs?: { accountId: string; callerArn: string; region: string };
}
