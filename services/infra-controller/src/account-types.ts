import type { ResourceStatus } from '@tugboat/resource-model';

/** `AwsAccount.spec`: one definition, in `@tugboat/aws`, which every client of an account shares. */
export type { AwsAccountSpec } from '@tugboat/aws';

export interface AwsAccountStatus extends ResourceStatus {
  outputs?: { accountId: string; callerArn: string; region: string };
}
