import { defineController } from '@tugboat/controller-sdk';
import { INFRA_CONTROLLER } from '@tugboat/resource-model';
import type { AwsAccountSpec, AwsAccountStatus } from './account-types.js';
import { createAccountReconciler, type AccountReconcilerOptions } from './reconcile-account.js';

/**
 * The infra-controller's `AwsAccount` declaration: it checks the credentials with STS. Its sibling
 * `createEksClusterController` (same identity) provisions EKS clusters with the accounts.
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
