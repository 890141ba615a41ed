import { defineController } from '@tugboat/controller-sdk';
import { INFRA_CONTROLLER } from '@tugboat/resource-model';
import type { AwsAccountSpec, AwsAccountStatus } from './account-types.js';
import { createAccountReconciler, type AccountReconcilerOptions } from './reconcile-account.js';

/**
 * The infra-controller's declaration. This first part owns `AwsAccount`: it checks the credentials
 * with STS. Provisioning EKS clusters (network, IAM roles, cluster, node groups) is issue 11's next part.
 */
export function createAccountController(options: AccountReconcilerOptions & { concurrency?: number } = {}) {
  const reconciler = createAccountReconciler(options);
  return defineController<AwsAccountSpec, AwsAccountStatus>({
    name: INFRA_CONTROLLER,
    owns: 'AwsAccount',
    concurrency: options.concurrency ?? 4,
    reconcile: reconciler.reconcile,
    finalize: reconciler.finalize,
  });
}
